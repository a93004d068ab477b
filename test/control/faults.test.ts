/**
 * Declarative faults, observed by a plain HTTP client: request rules (any envelope, connection
 * reset, truncated body, late answer), task rules (fail retryable or critical, stall, slow),
 * per-request `Prefer` faults, the rules API under /__sim/faults and scenario files.
 *
 * Timetable of an archive of one small file (realistic profile): picked up at 2 s, "" ends at
 * 3.5 s, compress_files runs 5.5–7 s, upload_archive 9–10.5 s; a failing iteration takes 1 s
 * and a retry waits 200 ms × 2^(n-1) plus the 2 s pick-up.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createSimulator } from '../../src/index.js';
import { testSimulator } from '../helpers.js';
import { ALICE, archiveProps, cid, ctl, LIST, masterNode, NAMESPACE_HEADER, START_MS, T0, tempDir, user } from './helpers.js';

const NOTES = ['cloudreve://my/notes.txt'];
const PING = '/api/v4/site/ping';
const PING_TEXT = '{"code":0,"data":"4.18.0-pro","msg":""}';

/** A GET over a real socket with node:http, reporting what arrived even when the connection is cut. */
function rawGet(url: string): Promise<{ status?: number; headers: http.IncomingHttpHeaders; body: string; complete: boolean; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      const chunks: Buffer[] = [];
      let error: string | undefined;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => (error = e.message));
      res.on('close', () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), complete: res.complete, ...(error ? { error } : {}) }),
      );
    });
    req.on('error', (e) => resolve({ headers: {}, body: '', complete: false, error: e.message }));
  });
}

describe('envelope faults', () => {
  it('answer any envelope in place of the real answer (50001 on GET /api/v4/workflow), HTTP 200 JSON with a correlation id', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ request: { method: 'GET', path: '/api/v4/workflow' }, envelope: { code: 50001, msg: 'Database error' } });
    const res = await alice.get('/workflow?page_size=10&category=general');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('private, no-cache');
    expect(res.body).toEqual({ code: 50001, msg: 'Database error', correlation_id: cid });
  });

  it('send data when the rule has it, in envelope key order, and the handler never runs (no task is created)', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({
      request: { path: '/api/v4/workflow/archive' },
      envelope: { code: 40073, msg: 'Lock conflict', data: [{ path: 'cloudreve://my/n.zip', token: 'lock-1', type: 0 }] },
    });
    const res = await alice.post('/workflow/archive', { src: NOTES, dst: 'cloudreve://my/n.zip' }).set('X-Cr-Correlation-Id', '0f6c8a3e-1111-4222-8333-944445555666');
    expect(res.body).toEqual({
      code: 40073,
      data: [{ path: 'cloudreve://my/n.zip', token: 'lock-1', type: 0 }],
      msg: 'Lock conflict',
      correlation_id: '0f6c8a3e-1111-4222-8333-944445555666',
    });
    expect(res.text).toMatch(/^\{"code":40073,"data":\[.*\],"msg":"Lock conflict","correlation_id":"0f6c8a3e-1111-4222-8333-944445555666"\}$/);
    expect((await alice.list()).tasks).toEqual([]);
  });

  it('leave the correlation id out when correlation_id is false, and msg empty when not given', async () => {
    const sim = testSimulator();
    await ctl(sim).fault({ request: { path: PING }, envelope: { code: 0, data: '4.0.0', correlation_id: false } });
    expect((await request(sim.app).get(PING)).text).toBe('{"code":0,"data":"4.0.0","msg":""}');
    await ctl(sim).post('/faults', { request: { path: '/api/v4/x' }, envelope: { code: 500 } });
    expect((await request(sim.app).get('/api/v4/x')).body).toEqual({ code: 500, msg: '', correlation_id: cid });
  });

  it('fire `times` times, then the real answer returns', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const [rule] = await ctl(sim).fault({ request: { path: '/api/v4/workflow' }, envelope: { code: 50001, msg: 'Database error' }, times: 2 });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await alice.get('/workflow?page_size=10&category=general')).body.code);
    expect(codes).toEqual([50001, 50001, 0, 0]);
    expect(await ctl(sim).faults()).toEqual([{ ...rule, fired: 2 }]);
  });

  it('match the method (any case) and a path glob: POST /api/v4/workflow/* hits archive only', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ request: { method: 'post', path: '/api/v4/workflow/*' }, envelope: { code: 40073, msg: 'Lock conflict' } });
    expect((await alice.get('/workflow?page_size=10&category=general')).body.code).toBe(0); // no "/" after workflow
    expect((await alice.get(`/workflow/progress/${sim.ids.encode('task', 1)}`)).body.code).toBe(0); // GET
    expect((await request(sim.app).post('/api/v4/session/token').send({ email: 'alice@cloudreve.org', password: 'alicepass' })).body.code).toBe(0);
    expect((await alice.post('/workflow/archive', { src: NOTES, dst: 'cloudreve://my/n.zip' })).body).toEqual({ code: 40073, msg: 'Lock conflict', correlation_id: cid });
    expect((await alice.post('/workflow/download', { src: ['https://x/y'], dst: 'cloudreve://my' })).body.code).toBe(40073);
  });

  it('match "?" as one character of the path', async () => {
    const sim = testSimulator();
    await ctl(sim).fault({ request: { path: '/api/v4/site/p?ng' }, envelope: { code: 1 } });
    expect((await request(sim.app).get(PING)).body.code).toBe(1);
    expect((await request(sim.app).get('/api/v4/site/piing')).status).toBe(404);
  });

  it('fire only in their namespace: a rule for a leaves b and the default world alone; "default" names the default world', async () => {
    const sim = testSimulator();
    await ctl(sim).fault({ namespace: 'a', request: { path: PING }, envelope: { code: 50001, msg: 'in a' } });
    await ctl(sim).fault({ namespace: 'default', request: { path: PING }, envelope: { code: 50002, msg: 'in default' } });
    const ping = async (ns?: string) => (await (ns ? request(sim.app).get(PING).set(NAMESPACE_HEADER, ns) : request(sim.app).get(PING))).body;
    expect(await ping('a')).toEqual({ code: 50001, msg: 'in a', correlation_id: cid });
    expect(await ping('b')).toEqual({ code: 0, data: '4.18.0-pro', msg: '' });
    expect(await ping()).toEqual({ code: 50002, msg: 'in default', correlation_id: cid });
  });

  it('with probability 0 never fire, with probability 1 always fire', async () => {
    const sim = testSimulator();
    const [never] = await ctl(sim).fault({ probability: 0, request: { path: PING }, envelope: { code: 1 } });
    for (let i = 0; i < 20; i++) expect((await request(sim.app).get(PING)).text).toBe(PING_TEXT);
    await ctl(sim).delete(`/faults/${never!.id}`);
    await ctl(sim).fault({ probability: 1, request: { path: PING }, envelope: { code: 2 } });
    for (let i = 0; i < 20; i++) expect((await request(sim.app).get(PING)).body.code).toBe(2);
    expect((await ctl(sim).faults()).map((r) => r.fired)).toEqual([20]);
  });
});

describe('transport faults (real socket)', () => {
  it('reset cuts the connection without an answer: fetch rejects', async () => {
    const sim = testSimulator();
    const url = await sim.listen(0);
    await ctl(sim).fault({ request: { path: PING }, transport: 'reset', times: 1 });
    await expect(fetch(url + PING)).rejects.toThrow(/fetch failed/);
    expect(await (await fetch(url + PING)).text()).toBe(PING_TEXT);
  });

  it('truncate sends the full Content-Length but only half of the body, then cuts the connection', async () => {
    const sim = testSimulator();
    const url = await sim.listen(0);
    await ctl(sim).fault({ request: { path: PING }, transport: 'truncate' });
    const got = await rawGet(url + PING);
    expect(got.status).toBe(200);
    expect(got.headers['content-length']).toBe(String(PING_TEXT.length));
    expect(got.body).toBe(PING_TEXT.slice(0, Math.floor(PING_TEXT.length / 2)));
    expect(got.complete).toBe(false);
    expect(got.error).toBe('aborted');
    // fetch sees the headers, then fails reading the body.
    const res = await fetch(url + PING);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it('delay answers the real answer late, by at least delay_ms of real time, without moving simulated time', async () => {
    const sim = testSimulator();
    const url = await sim.listen(0);
    await ctl(sim).fault({ request: { path: PING }, transport: { delay_ms: 150 }, times: 1 });
    const started = performance.now();
    const res = await fetch(url + PING);
    const text = await res.text();
    const took = performance.now() - started;
    expect(text).toBe(PING_TEXT);
    expect(took).toBeGreaterThanOrEqual(149); // timers may fire up to 1 ms early
    expect(sim.clock.now()).toBe(START_MS);
  });
});

describe('task faults', () => {
  it('fail (retryable) with times N fails N iterations, then the task completes with retry_count N and error_history of N messages', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const [rule] = await ctl(sim).fault({ task: {}, fail: { message: 'disk hiccup' }, times: 2 });
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    // 2 s: "" fails → 3 s suspending (retry 1, back-off 200 ms) → 5.2 s fails → 6.2 s (retry 2, 400 ms) → 8.6 s "" runs …
    await sim.clock.advance(3_000);
    expect(await alice.task(id)).toMatchObject({ status: 'suspending', retry_count: 1, error_history: ['disk hiccup'], resume_time: T0 + 3 });
    expect(await ctl(sim).runUntilIdle()).toMatchObject({ now_ms: START_MS + 17_100, idle: true });
    expect(await alice.task(id)).toEqual({
      created_at: '2025-05-20T04:00:00Z',
      updated_at: '2025-05-20T04:00:17Z',
      id,
      status: 'completed',
      type: 'create_archive',
      node: masterNode(sim),
      summary: { phase: 'upload_archive', props: archiveProps(NOTES, 'cloudreve://my/n.zip') },
      error_history: ['disk hiccup', 'disk hiccup'],
      duration: 6_500,
      resume_time: T0 + 13,
      retry_count: 2,
    });
    expect(sim.drive.stat(ALICE, ['n.zip'])?.kind).toBe('file');
    expect(await ctl(sim).faults()).toEqual([{ ...rule, fired: 2 }]);
  });

  it('fail (retryable) without times exhausts the 5 retries and ends in error with the message', async () => {
    const sim = testSimulator({ profile: 'instant' });
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ task: {}, fail: { message: 'always' } });
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    await sim.clock.runUntilIdle();
    expect(await alice.task(id)).toMatchObject({ status: 'error', error: 'always', retry_count: 5, error_history: Array(5).fill('always') });
  });

  it('fail critical ends the task at once with "<message> (non-retryable error)" and no retries', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ task: {}, fail: { message: 'disk full', critical: true } });
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    await ctl(sim).runUntilIdle();
    expect(await alice.task(id)).toEqual({
      created_at: '2025-05-20T04:00:00Z',
      updated_at: '2025-05-20T04:00:03Z',
      id,
      status: 'error',
      type: 'create_archive',
      node: masterNode(sim),
      summary: { props: archiveProps(NOTES, 'cloudreve://my/n.zip') },
      error: 'disk full (non-retryable error)',
      duration: 1_000,
    });
    expect(sim.drive.stat(ALICE, ['n.zip'])).toBeUndefined();
  });

  it('matches by phase: a compress_files rule lets "" pass and fails in compress_files (5.5 s → 6.5 s)', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ task: { phase: 'compress_files' }, fail: { message: 'no space', critical: true } });
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    await ctl(sim).runUntilIdle();
    expect(await alice.task(id)).toEqual({
      created_at: '2025-05-20T04:00:00Z',
      updated_at: '2025-05-20T04:00:06Z',
      id,
      status: 'error',
      type: 'create_archive',
      node: masterNode(sim),
      summary: { phase: 'compress_files', props: archiveProps(NOTES, 'cloudreve://my/n.zip') },
      error: 'no space (non-retryable error)',
      duration: 2_500,
      resume_time: T0 + 3,
    });
    expect(sim.clock.now()).toBe(START_MS + 6_500);
  });

  it('matches by type: a rule for extract_archive leaves archive tasks alone', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ task: { type: 'extract_archive' }, fail: { message: 'x', critical: true } });
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    await ctl(sim).runUntilIdle();
    expect((await alice.task(id)).status).toBe('completed');
    expect((await ctl(sim).faults())[0]!.fired).toBe(0);
  });

  it('matches by src glob (any source) and by dst glob', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ task: { src: 'cloudreve://my/docs*' }, fail: { message: 'src hit', critical: true } });
    await ctl(sim).fault({ task: { dst: 'cloudreve://my/fail-*.zip' }, fail: { message: 'dst hit', critical: true } });
    const plain = await alice.archive(NOTES, 'cloudreve://my/ok.zip');
    const bySrc = await alice.archive([...NOTES, 'cloudreve://my/docs'], 'cloudreve://my/docs.zip');
    const byDst = await alice.archive(NOTES, 'cloudreve://my/fail-1.zip');
    await ctl(sim).runUntilIdle();
    expect((await alice.task(plain)).status).toBe('completed');
    expect(await alice.task(bySrc)).toMatchObject({ status: 'error', error: 'src hit (non-retryable error)' });
    expect(await alice.task(byDst)).toMatchObject({ status: 'error', error: 'dst hit (non-retryable error)' });
  });

  it('nth: only the 2nd matching task created fails', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ task: { nth: 2 }, fail: { message: 'second', critical: true } });
    const ids = [];
    for (let i = 1; i <= 4; i++) ids.push(await alice.archive(NOTES, `cloudreve://my/${i}.zip`));
    await ctl(sim).runUntilIdle();
    const tasks = await Promise.all(ids.map((id) => alice.task(id)));
    expect(tasks.map((t) => [t.status, t.error])).toEqual([
      ['completed', undefined],
      ['error', 'second (non-retryable error)'],
      ['completed', undefined],
      ['completed', undefined],
    ]);
    expect((await ctl(sim).faults())[0]!.fired).toBe(1);
  });

  it('nth counts only the tasks the rule matches (the 2nd archive into fail-*)', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ task: { nth: 2, dst: 'cloudreve://my/fail-*' }, fail: { message: 'second', critical: true } });
    const a = await alice.archive(NOTES, 'cloudreve://my/fail-1.zip');
    const b = await alice.archive(NOTES, 'cloudreve://my/ok.zip');
    const c = await alice.archive(NOTES, 'cloudreve://my/fail-2.zip');
    await ctl(sim).runUntilIdle();
    expect([(await alice.task(a)).status, (await alice.task(b)).status, (await alice.task(c)).status]).toEqual(['completed', 'completed', 'error']);
  });

  it('nth counts the tasks of each namespace on their own (a rule for every namespace)', async () => {
    const sim = testSimulator({ profile: 'instant' });
    await ctl(sim).fault({ task: { nth: 2 }, fail: { message: 'second', critical: true } });
    const inA = await user(sim, 'alice', 'a');
    const inB = await user(sim, 'alice', 'b');
    const firstA = await inA.archive(NOTES, 'cloudreve://my/1.zip');
    const firstB = await inB.archive(NOTES, 'cloudreve://my/1.zip');
    await sim.namespace('a').clock.runUntilIdle();
    await sim.namespace('b').clock.runUntilIdle();
    expect((await inA.task(firstA)).status).toBe('completed');
    expect((await inB.task(firstB)).status).toBe('completed');
  });

  it('stall keeps the task processing forever: nothing is scheduled and the clock is never idle', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ task: { phase: 'compress_files' }, stall: true });
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    expect(await ctl(sim).runUntilIdle()).toEqual({
      namespace: 'default',
      mode: 'virtual',
      now_ms: START_MS + 5_500,
      now: '2025-05-20T04:00:05.500Z',
      speed: 1,
      frozen: true,
      pending_timers: 0,
      idle: false,
    });
    await ctl(sim).advance(24 * 3600_000);
    const later = await user(sim, 'alice'); // the first token expired meanwhile
    expect(await later.task(id)).toEqual({
      created_at: '2025-05-20T04:00:00Z',
      updated_at: '2025-05-20T04:00:05Z',
      id,
      status: 'processing',
      type: 'create_archive',
      node: masterNode(sim),
      summary: { phase: 'compress_files', props: archiveProps(NOTES, 'cloudreve://my/n.zip') },
      duration: 1_500,
      resume_time: T0 + 3,
    });
    expect(await ctl(sim).clock()).toMatchObject({ idle: false, pending_timers: 0 });
    expect((await ctl(sim).get('/namespaces')).body.namespaces).toEqual([{ name: 'default', tasks: 1, live_tasks: 1 }]);
  });

  it('slow factor makes a phase take factor× longer: compress_files ×3 runs 5.5–10 s, the task completes at 13.5 s', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ task: { phase: 'compress_files' }, slow: { factor: 3 } });
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    await ctl(sim).advance(7_000); // without the fault: suspending before upload_archive
    expect(await alice.task(id)).toMatchObject({ status: 'processing', summary: { phase: 'compress_files' }, duration: 1_500 });
    await ctl(sim).advance(2_999);
    expect((await alice.task(id)).status).toBe('processing');
    await ctl(sim).advance(1); // 10 s
    expect(await alice.task(id)).toMatchObject({
      status: 'suspending',
      updated_at: '2025-05-20T04:00:10Z',
      summary: { phase: 'upload_archive' },
      duration: 6_000,
      resume_time: T0 + 10,
    });
    expect(await ctl(sim).runUntilIdle()).toMatchObject({ now_ms: START_MS + 13_500 });
    expect(await alice.task(id)).toMatchObject({ status: 'completed', updated_at: '2025-05-20T04:00:13Z', duration: 7_500 });
  });

  it('slow extra_ms adds simulated time to every matching iteration', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ task: {}, slow: { extra_ms: 1_000 } });
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    expect(await ctl(sim).runUntilIdle()).toMatchObject({ now_ms: START_MS + 10_500 + 3 * 1_000 });
    expect(await alice.task(id)).toMatchObject({ status: 'completed', duration: 4_500 + 3 * 1_000 });
  });

  it('with probability 0 never fire, with probability 1 always fire', async () => {
    const sim = testSimulator({ profile: 'instant' });
    const alice = await user(sim, 'alice');
    const [never] = await ctl(sim).fault({ probability: 0, task: {}, fail: { message: 'never', critical: true } });
    const spared = [];
    for (let i = 0; i < 5; i++) spared.push(await alice.archive(NOTES, `cloudreve://my/a${i}.zip`));
    await sim.clock.runUntilIdle();
    for (const id of spared) expect((await alice.task(id)).status).toBe('completed');
    expect((await ctl(sim).faults())[0]!.fired).toBe(0);

    await ctl(sim).delete(`/faults/${never!.id}`);
    await ctl(sim).fault({ probability: 1, task: {}, fail: { message: 'always', critical: true } });
    const hit = [];
    for (let i = 0; i < 5; i++) hit.push(await alice.archive(NOTES, `cloudreve://my/b${i}.zip`));
    await sim.clock.runUntilIdle();
    for (const id of hit) expect(await alice.task(id)).toMatchObject({ status: 'error', error: 'always (non-retryable error)' });
    expect((await ctl(sim).faults())[0]!.fired).toBe(5);
  });

  it('fire only in their namespace', async () => {
    const sim = testSimulator({ profile: 'instant' });
    await ctl(sim).fault({ namespace: 'a', task: {}, fail: { message: 'only a', critical: true } });
    const inA = await user(sim, 'alice', 'a');
    const inB = await user(sim, 'alice', 'b');
    const idA = await inA.archive(NOTES, 'cloudreve://my/n.zip');
    const idB = await inB.archive(NOTES, 'cloudreve://my/n.zip');
    await sim.namespace('a').clock.runUntilIdle();
    await sim.namespace('b').clock.runUntilIdle();
    expect((await inA.task(idA)).status).toBe('error');
    expect((await inB.task(idB)).status).toBe('completed');
  });
});

describe('the Prefer header (one request)', () => {
  it('Prefer: fault=envelope; code=40073; msg="Lock conflict" answers that envelope to this request only', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const res = await alice.get('/workflow?page_size=10&category=general').set('Prefer', 'fault=envelope; code=40073; msg="Lock conflict"');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ code: 40073, msg: 'Lock conflict', correlation_id: cid });
    expect((await alice.get('/workflow?page_size=10&category=general')).body.code).toBe(0);
    expect(await ctl(sim).faults()).toEqual([]);
  });

  it('Prefer: fault=envelope with data=<JSON> sends that data (quoted when it holds "," or ";")', async () => {
    const sim = testSimulator();
    const plain = await request(sim.app).get(PING).set('Prefer', 'fault=envelope; code=40073; msg="Lock conflict"; data={"a":1}');
    expect(plain.body).toEqual({ code: 40073, data: { a: 1 }, msg: 'Lock conflict', correlation_id: cid });
    const quoted = await request(sim.app).get(PING).set('Prefer', 'fault=envelope; code=40073; data="{\\"a\\":[1,2]}"');
    expect(quoted.body).toEqual({ code: 40073, data: { a: [1, 2] }, msg: '', correlation_id: cid });
  });

  it('Prefer: fault=reset cuts this request only (real socket)', async () => {
    const sim = testSimulator();
    const url = await sim.listen(0);
    await expect(fetch(url + PING, { headers: { Prefer: 'fault=reset' } })).rejects.toThrow(/fetch failed/);
    expect(await (await fetch(url + PING)).text()).toBe(PING_TEXT);
  });

  it('Prefer: fault=delay; delay_ms=150 answers late (real socket)', async () => {
    const sim = testSimulator();
    const url = await sim.listen(0);
    const started = performance.now();
    expect(await (await fetch(url + PING, { headers: { Prefer: 'fault=delay; delay_ms=150' } })).text()).toBe(PING_TEXT);
    expect(performance.now() - started).toBeGreaterThanOrEqual(149);
  });

  it('Prefer: fault=fail; message="boom"; critical=true on POST /api/v4/workflow/archive makes only that request’s task fail', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const before = await alice.archive(NOTES, 'cloudreve://my/0.zip');
    const doomed = await alice.archive(NOTES, 'cloudreve://my/1.zip', 'fault=fail; message="boom"; critical=true');
    const after = await alice.archive(NOTES, 'cloudreve://my/2.zip');
    await ctl(sim).runUntilIdle();
    expect(await alice.task(doomed)).toEqual({
      created_at: '2025-05-20T04:00:00Z',
      updated_at: '2025-05-20T04:00:03Z',
      id: doomed,
      status: 'error',
      type: 'create_archive',
      node: masterNode(sim),
      summary: { props: archiveProps(NOTES, 'cloudreve://my/1.zip') },
      error: 'boom (non-retryable error)',
      duration: 1_000,
    });
    expect((await alice.task(before)).status).toBe('completed');
    expect((await alice.task(after)).status).toBe('completed');
    expect(await ctl(sim).faults()).toEqual([]);
  });

  it('Prefer: fault=fail; message="flaky"; times=2 fails that task’s first two iterations, then it completes', async () => {
    const sim = testSimulator({ profile: 'instant' });
    const alice = await user(sim, 'alice');
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip', 'fault=fail; message="flaky"; times=2');
    await sim.clock.runUntilIdle();
    expect(await alice.task(id)).toMatchObject({ status: 'completed', retry_count: 2, error_history: ['flaky', 'flaky'] });
  });

  it('a Prefer header that names no fault changes nothing', async () => {
    const sim = testSimulator();
    expect((await request(sim.app).get(PING).set('Prefer', 'return=minimal')).text).toBe(PING_TEXT);
  });

  it.each([
    ['fault=explode', 'Prefer: unknown fault "explode" (use envelope, reset, truncate, delay, fail, stall or slow)'],
    ['fault=envelope; code=abc', 'Prefer.envelope: give {code, msg?, data?}'],
    ['fault=envelope', 'Prefer.envelope: give {code, msg?, data?}'],
    ['fault=envelope; code=40073; data={oops', 'Prefer: data must be JSON'],
    ['fault=delay', 'Prefer.transport: use "reset", "truncate" or {"delay_ms": n}'],
    ['fault=delay; delay_ms=-5', 'Prefer.transport: use "reset", "truncate" or {"delay_ms": n}'],
  ])('refuses the malformed Prefer %j with HTTP 400 text/plain naming the problem, before the route runs', async (prefer, message) => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const res = await alice.post('/workflow/archive', { src: NOTES, dst: 'cloudreve://my/n.zip' }).set('Prefer', prefer);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(res.text).toBe(message);
    expect((await alice.list()).tasks).toEqual([]);
  });

  it('refuses a Prefer task fault that a declared rule would refuse (fail without a message) with 400 text/plain', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const res = await alice.post('/workflow/archive', { src: NOTES, dst: 'cloudreve://my/n.zip' }).set('Prefer', 'fault=fail');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('text/plain');
    expect((await alice.list()).tasks).toEqual([]);
  });
});

describe('the Prefer header: probability', () => {
  it('Prefer: probability=0 never fires (envelope and fail)', async () => {
    const sim = testSimulator({ profile: 'instant' });
    for (let i = 0; i < 5; i++) {
      expect((await request(sim.app).get(PING).set('Prefer', 'fault=envelope; code=1; probability=0')).text).toBe(PING_TEXT);
    }
    const alice = await user(sim, 'alice');
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip', 'fault=fail; message="x"; critical=true; probability=0');
    await sim.clock.runUntilIdle();
    expect((await alice.task(id)).status).toBe('completed');
  });
});

describe('the rules API: /__sim/faults', () => {
  const RULE = { request: { method: 'GET', path: PING }, envelope: { code: 50001, msg: 'Database error' } };

  it('POST adds one rule and answers it with an id and fired 0; GET lists the rules with how often they fired', async () => {
    const sim = testSimulator();
    const res = await ctl(sim).post('/faults', RULE);
    expect([res.status, res.body]).toEqual([200, { faults: [{ ...RULE, id: 'fault-1', fired: 0 }] }]);
    const second = await ctl(sim).post('/faults', { task: { phase: 'compress_files' }, stall: true, times: 1 });
    expect(second.body).toEqual({ faults: [{ task: { phase: 'compress_files' }, stall: true, times: 1, id: 'fault-2', fired: 0 }] });
    await request(sim.app).get(PING);
    await request(sim.app).get(PING);
    expect((await ctl(sim).get('/faults')).body).toEqual({
      faults: [
        { ...RULE, id: 'fault-1', fired: 2 },
        { task: { phase: 'compress_files' }, stall: true, times: 1, id: 'fault-2', fired: 0 },
      ],
    });
  });

  it('keeps an id given with the rule, and refuses a second rule with the same id (400)', async () => {
    const sim = testSimulator();
    expect((await ctl(sim).post('/faults', { ...RULE, id: 'ping-down' })).body).toEqual({ faults: [{ ...RULE, id: 'ping-down', fired: 0 }] });
    const again = await ctl(sim).post('/faults', { ...RULE, id: 'ping-down' });
    expect([again.status, again.body]).toEqual([400, { error: 'fault id "ping-down" is already in use' }]);
    expect(await ctl(sim).faults()).toHaveLength(1);
  });

  it('POST {"faults": [rules]} adds several rules at once', async () => {
    const sim = testSimulator();
    const res = await ctl(sim).post('/faults', { faults: [RULE, { task: {}, stall: true }] });
    expect([res.status, res.body]).toEqual([
      200,
      { faults: [{ ...RULE, id: 'fault-1', fired: 0 }, { task: {}, stall: true, id: 'fault-2', fired: 0 }] },
    ]);
  });

  it('DELETE /__sim/faults/{id} removes that rule only; 404 {error} for an unknown id', async () => {
    const sim = testSimulator();
    await ctl(sim).post('/faults', RULE);
    await ctl(sim).post('/faults', { ...RULE, id: 'other' });
    const res = await ctl(sim).delete('/faults/fault-1');
    expect([res.status, res.body]).toEqual([200, { removed: 1 }]);
    expect((await ctl(sim).faults()).map((r) => r.id)).toEqual(['other']);
    const again = await ctl(sim).delete('/faults/fault-1');
    expect([again.status, again.body]).toEqual([404, { error: 'No fault rule "fault-1".' }]);
  });

  it('DELETE /__sim/faults removes every rule and says how many; the real answers return', async () => {
    const sim = testSimulator();
    await ctl(sim).post('/faults', RULE);
    await ctl(sim).post('/faults', { task: {}, stall: true });
    expect((await ctl(sim).delete('/faults')).body).toEqual({ removed: 2 });
    expect((await ctl(sim).get('/faults')).body).toEqual({ faults: [] });
    expect((await request(sim.app).get(PING)).text).toBe(PING_TEXT);
    expect((await ctl(sim).delete('/faults')).body).toEqual({ removed: 0 });
  });

  it.each([
    ['no action', { request: {} }, /give exactly one action of envelope, transport, fail, stall, slow/],
    ['two actions', { request: {}, envelope: { code: 1 }, transport: 'reset' }, /give exactly one action/],
    ['an envelope without a request match', { envelope: { code: 1 } }, /"envelope" needs a "request" match/],
    ['a fail without a task match', { fail: { message: 'x' } }, /"fail" needs a "task" match/],
    ['a non-integer code', { request: {}, envelope: { code: 'x' } }, /envelope\/code/],
    ['times 0', { request: {}, envelope: { code: 1 }, times: 0 }, /times/],
    ['probability 2', { task: {}, fail: { message: 'x' }, probability: 2 }, /probability/],
    ['nth 0', { task: { nth: 0 }, stall: true }, /nth/],
    ['a fail without message', { task: {}, fail: {} }, /fail/],
    ['an empty slow', { task: {}, slow: {} }, /slow/],
    ['stall false', { task: {}, stall: false }, /stall/],
    ['an unknown transport', { request: {}, transport: 'boom' }, /transport/],
    ['an unknown field in the match', { request: { verb: 'GET' }, envelope: { code: 1 } }, /verb/],
  ])('refuses %s with 400 {error} naming the field', async (_what, rule, message) => {
    const sim = testSimulator();
    const res = await ctl(sim).post('/faults', rule);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: expect.stringMatching(message) });
    expect(await ctl(sim).faults()).toEqual([]);
  });
});

describe('in-process sim.faults', () => {
  it('use / list / remove / clear manage the same rules as /__sim/faults', async () => {
    const sim = testSimulator();
    const [a, b] = sim.faults.use({ request: { path: PING }, envelope: { code: 1 } }, { id: 'slow', task: {}, slow: { factor: 2 } });
    expect(a).toEqual({ request: { path: PING }, envelope: { code: 1 }, id: 'fault-1', fired: 0 });
    expect(b).toEqual({ id: 'slow', task: {}, slow: { factor: 2 }, fired: 0 });
    expect((await request(sim.app).get(PING)).body.code).toBe(1);
    expect(await ctl(sim).faults()).toEqual([{ ...a, fired: 1 }, b]);
    expect(sim.faults.remove('fault-1')).toBe(true);
    expect(sim.faults.remove('fault-1')).toBe(false);
    expect(sim.faults.list().map((r) => r.id)).toEqual(['slow']);
    expect(sim.faults.clear()).toBe(1);
    expect(sim.faults.list()).toEqual([]);
  });

  it('use throws naming the field of a bad rule, and adds none of the rules given with it', () => {
    const sim = testSimulator();
    expect(() => sim.faults.use({ task: {}, stall: true }, { task: {}, fail: { message: 'x' }, times: 0 } as never)).toThrow('faults[1].times: use a whole number ≥ 1');
    expect(sim.faults.list()).toEqual([]);
  });
});

describe('scenario files', () => {
  it('installs the faults of a scenario file given at start', async () => {
    const file = path.join(tempDir(), 'scenario.yaml');
    writeFileSync(
      file,
      [
        'faults:',
        '  - id: ping-down',
        '    request: { path: /api/v4/site/ping }',
        '    envelope: { code: 50001, msg: Database error }',
        '    times: 1',
        '  - task: { phase: compress_files }',
        '    fail: { message: from scenario, critical: true }',
        '',
      ].join('\n'),
    );
    const sim = testSimulator({ scenario: file });
    expect((await ctl(sim).get('/faults')).body).toEqual({
      faults: [
        { id: 'ping-down', request: { path: PING }, envelope: { code: 50001, msg: 'Database error' }, times: 1, fired: 0 },
        { task: { phase: 'compress_files' }, fail: { message: 'from scenario', critical: true }, id: 'fault-1', fired: 0 },
      ],
    });
    expect((await request(sim.app).get(PING)).body).toEqual({ code: 50001, msg: 'Database error', correlation_id: cid });
    expect((await request(sim.app).get(PING)).text).toBe(PING_TEXT);
    const alice = await user(sim, 'alice');
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    await sim.clock.runUntilIdle();
    expect(await alice.task(id)).toMatchObject({ status: 'error', error: 'from scenario (non-retryable error)' });
  });

  it('refuses a scenario with a bad rule at createSimulator, naming the file and the field', () => {
    const file = path.join(tempDir(), 'bad.yaml');
    writeFileSync(file, 'faults:\n  - task: {}\n    stall: true\n  - request: {}\n    envelope: { code: 1 }\n    times: 0\n');
    expect(() => createSimulator({ scenario: file })).toThrow(`Invalid scenario ${file}: faults[1].times: use a whole number ≥ 1`);
  });

  it('refuses a scenario without a faults list, naming the file', () => {
    const file = path.join(tempDir(), 'empty.yaml');
    writeFileSync(file, 'rules: []\n');
    expect(() => createSimulator({ scenario: file })).toThrow(`Invalid scenario ${file}: expected a "faults" list.`);
  });

  it('refuses a scenario file that is missing or not YAML, naming the file', () => {
    const dir = tempDir();
    const missing = path.join(dir, 'missing.yaml');
    expect(() => createSimulator({ scenario: missing })).toThrow(`Failed to read scenario ${missing}: `);
    const broken = path.join(dir, 'broken.yaml');
    writeFileSync(broken, 'faults: [\n  - {\n');
    expect(() => createSimulator({ scenario: broken })).toThrow(`Failed to read scenario ${broken}: `);
  });
});

describe('without faults', () => {
  it('the list is answered as the real server does (the rules API leaves the wire alone)', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ request: { path: '/api/v4/elsewhere' }, envelope: { code: 1 } });
    const res = await request(sim.app).get(LIST).set('Authorization', `Bearer ${alice.access}`);
    expect(res.text).toBe('{"code":0,"data":{"tasks":[],"pagination":{"page":0,"page_size":10,"is_cursor":true}},"msg":""}');
  });
});
