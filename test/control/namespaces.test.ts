/**
 * Namespaces: `X-Sim-Namespace` selects an isolated world (accounts, sessions, drive, tasks,
 * ids, clock, journal, events), created from the fixtures on first use; `/__sim/namespaces`
 * lists and drops them; `sim.namespace(name)` is the same world in-process.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { SimEvent } from '../../src/control/events.js';
import { testSimulator } from '../helpers.js';
import { ALICE, clockBody, ctl, LIST, NAMESPACE_HEADER, START_MS, user } from './helpers.js';

const SRC = ['cloudreve://my/notes.txt'];
const invalidNamespace = (name: string) => `Invalid namespace ${JSON.stringify(name)}: use 1 to 64 letters, digits, ".", "_" or "-".`;

describe('X-Sim-Namespace', () => {
  it('creates a world from the fixtures on first use: sign-in works and the drive holds the fixture files', async () => {
    const sim = testSimulator();
    expect(sim.namespaces()).toEqual(['default']);
    const alice = await user(sim, 'alice', 'fresh');
    expect((await alice.list()).tasks).toEqual([]);
    expect(sim.namespaces()).toEqual(['default', 'fresh']);
    expect(sim.namespace('fresh').drive.stat(ALICE, ['notes.txt'])).toMatchObject({ kind: 'file', size: 11 });
    expect(await ctl(sim, 'fresh').clock()).toEqual(clockBody({ namespace: 'fresh' }));
  });

  it('keeps tasks apart: an archive in a is invisible in b and in the default world, and each world numbers its tasks from 1', async () => {
    const sim = testSimulator();
    const inA = await user(sim, 'alice', 'a');
    const inB = await user(sim, 'alice', 'b');
    const inDefault = await user(sim, 'alice');
    const id = await inA.archive(SRC, 'cloudreve://my/a.zip');
    expect((await inA.list()).tasks.map((t) => t.id)).toEqual([id]);
    expect((await inB.list()).tasks).toEqual([]);
    expect((await inDefault.list()).tasks).toEqual([]);
    // The same id in another world is that world's own first task.
    expect(await inB.archive(SRC, 'cloudreve://my/b.zip')).toBe(id);
    expect((await inB.task(id)).summary.props.dst).toBe('cloudreve://my/b.zip');
    expect((await inA.task(id)).summary.props.dst).toBe('cloudreve://my/a.zip');
  });

  it('keeps drives apart: the archive made in a exists only in a', async () => {
    const sim = testSimulator();
    const inA = await user(sim, 'alice', 'a');
    await user(sim, 'alice', 'b');
    await inA.archive(SRC, 'cloudreve://my/a.zip');
    await ctl(sim, 'a').runUntilIdle();
    expect(sim.namespace('a').drive.stat(ALICE, ['a.zip'])?.kind).toBe('file');
    expect(sim.namespace('b').drive.stat(ALICE, ['a.zip'])).toBeUndefined();
    expect(sim.drive.stat(ALICE, ['a.zip'])).toBeUndefined();
    // And the destination is free in b: the same request succeeds there.
    expect(await (await user(sim, 'alice', 'b')).archive(SRC, 'cloudreve://my/a.zip')).toBe(sim.ids.encode('task', 1));
  });

  it('keeps clocks apart: advancing a moves neither b nor the default world, nor their tasks', async () => {
    const sim = testSimulator();
    const inA = await user(sim, 'alice', 'a');
    const inB = await user(sim, 'alice', 'b');
    const idA = await inA.archive(SRC, 'cloudreve://my/a.zip');
    const idB = await inB.archive(SRC, 'cloudreve://my/b.zip');
    expect(await ctl(sim, 'a').advance(60_000)).toEqual(clockBody({ namespace: 'a', now_ms: START_MS + 60_000 }));
    expect(await ctl(sim, 'b').clock()).toEqual(clockBody({ namespace: 'b', pending_timers: 1, idle: false }));
    expect(await ctl(sim).clock()).toEqual(clockBody());
    expect((await inA.task(idA)).status).toBe('completed');
    expect((await inB.task(idB)).status).toBe('queued');
    expect(sim.namespace('b').clock.now()).toBe(START_MS);
  });

  it('keeps journals apart: each world journals only its own requests, under its own name', async () => {
    const sim = testSimulator();
    await request(sim.app).get('/api/v4/site/ping').set(NAMESPACE_HEADER, 'a');
    await request(sim.app).get('/api/v4/site/ping').set(NAMESPACE_HEADER, 'a');
    await request(sim.app).get('/api/v4/site/ping').set(NAMESPACE_HEADER, 'b');
    const a = (await ctl(sim, 'a').get('/journal')).body.entries;
    const b = (await ctl(sim, 'b').get('/journal')).body.entries;
    expect(a.map((e: any) => [e.seq, e.namespace, e.path])).toEqual([
      [1, 'a', '/api/v4/site/ping'],
      [2, 'a', '/api/v4/site/ping'],
    ]);
    expect(b.map((e: any) => [e.seq, e.namespace, e.path])).toEqual([[1, 'b', '/api/v4/site/ping']]);
    expect((await ctl(sim).get('/journal')).body).toEqual({ entries: [] });
  });

  it('keeps sessions apart: a sign-out in a does not revoke the same refresh token in b', async () => {
    const sim = testSimulator();
    const inA = await user(sim, 'alice', 'a');
    const inB = await user(sim, 'alice', 'b');
    // Same seed, secret and clock: the two sign-ins are byte-identical, yet revocation stays in a.
    expect(inA.refresh).toBe(inB.refresh);
    await request(sim.app).delete('/api/v4/session/token').set(NAMESPACE_HEADER, 'a').send({ refresh_token: inA.refresh });
    const refresh = (ns: string) => request(sim.app).post('/api/v4/session/token/refresh').set(NAMESPACE_HEADER, ns).send({ refresh_token: inA.refresh });
    expect((await refresh('a')).body.code).toBe(40020);
    expect((await refresh('b')).body.code).toBe(0);
  });

  it('200 namespaces used in parallel never see each other: each sees exactly its own task', async () => {
    const sim = testSimulator();
    const names = Array.from({ length: 200 }, (_, i) => `par-${i}`);
    const seen = await Promise.all(
      names.map(async (ns) => {
        const alice = await user(sim, 'alice', ns);
        await alice.archive(SRC, `cloudreve://my/${ns}.zip`);
        return (await alice.list()).tasks.map((t) => [t.id, t.summary.props.dst]);
      }),
    );
    expect(seen).toEqual(names.map((ns) => [[sim.ids.encode('task', 1), `cloudreve://my/${ns}.zip`]]));
    const listed = (await ctl(sim).get('/namespaces')).body.namespaces;
    expect(listed).toHaveLength(201);
    expect(listed.filter((n: any) => n.name !== 'default').every((n: any) => n.tasks === 1 && n.live_tasks === 1)).toBe(true);
  });

  it.each(['bad name!', 'a'.repeat(65), 'a/b', 'ünïcode'])('refuses the namespace %j on /api/v4 with HTTP 400 text/plain', async (name) => {
    const sim = testSimulator();
    const res = await request(sim.app).get('/api/v4/site/ping').set(NAMESPACE_HEADER, name);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(res.text).toBe(invalidNamespace(name));
    expect(sim.namespaces()).toEqual(['default']);
  });

  it.each(['bad name!', 'a'.repeat(65)])('refuses the namespace %j on /__sim with HTTP 400 JSON {error}', async (name) => {
    const sim = testSimulator();
    for (const res of [await ctl(sim, name).get('/clock'), await ctl(sim, name).post('/reset'), await ctl(sim, name).get('/journal')]) {
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({ error: expect.stringMatching(/namespace/i) });
    }
    expect(sim.namespaces()).toEqual(['default']);
  });

  it('accepts 64 characters of letters, digits, ".", "_" and "-"', async () => {
    const sim = testSimulator();
    const name = `Ab9._-${'x'.repeat(58)}`;
    expect(name).toHaveLength(64);
    expect((await request(sim.app).get('/api/v4/site/ping').set(NAMESPACE_HEADER, name)).body.code).toBe(0);
    expect(await ctl(sim, name).clock()).toEqual(clockBody({ namespace: name }));
  });

  it('an empty header means the default world', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice', '');
    await alice.archive(SRC, 'cloudreve://my/n.zip');
    expect(sim.namespaces()).toEqual(['default']);
    expect((await (await user(sim, 'alice')).list()).tasks).toHaveLength(1);
  });
});

describe('GET /__sim/namespaces', () => {
  it('lists the default world first, then every namespace in order of creation, with task counts', async () => {
    const sim = testSimulator();
    expect((await ctl(sim).get('/namespaces')).body).toEqual({ namespaces: [{ name: 'default', tasks: 0, live_tasks: 0 }] });
    const inA = await user(sim, 'alice', 'a');
    await inA.archive(SRC, 'cloudreve://my/1.zip');
    await inA.archive(SRC, 'cloudreve://my/2.zip');
    await ctl(sim, 'b').clock();
    expect((await ctl(sim).get('/namespaces')).body).toEqual({
      namespaces: [
        { name: 'default', tasks: 0, live_tasks: 0 },
        { name: 'a', tasks: 2, live_tasks: 2 },
        { name: 'b', tasks: 0, live_tasks: 0 },
      ],
    });
    await ctl(sim, 'a').runUntilIdle();
    expect((await ctl(sim).get('/namespaces')).body.namespaces[1]).toEqual({ name: 'a', tasks: 2, live_tasks: 0 });
  });
});

describe('DELETE /__sim/namespaces/{name}', () => {
  it('drops a namespace; the next request naming it starts a fresh world', async () => {
    const sim = testSimulator();
    const inA = await user(sim, 'alice', 'a');
    await inA.archive(SRC, 'cloudreve://my/a.zip');
    await ctl(sim, 'a').runUntilIdle();
    expect(sim.namespace('a').drive.stat(ALICE, ['a.zip'])?.kind).toBe('file');

    const res = await ctl(sim).delete('/namespaces/a');
    expect([res.status, res.body]).toEqual([200, { dropped: 'a' }]);
    expect((await ctl(sim).get('/namespaces')).body).toEqual({ namespaces: [{ name: 'default', tasks: 0, live_tasks: 0 }] });

    const again = await user(sim, 'alice', 'a');
    expect((await again.list()).tasks).toEqual([]);
    expect(await ctl(sim, 'a').clock()).toEqual(clockBody({ namespace: 'a' }));
    expect(sim.namespace('a').drive.stat(ALICE, ['a.zip'])).toBeUndefined();
    expect((await ctl(sim, 'a').get('/journal')).body.entries.map((e: any) => e.path)).toEqual(['/api/v4/session/token', '/api/v4/workflow']);
  });

  it('stops the tasks of a dropped namespace: nothing of it runs afterwards', async () => {
    const sim = testSimulator();
    const inA = await user(sim, 'alice', 'a');
    await inA.archive(SRC, 'cloudreve://my/a.zip');
    const clockA = sim.namespace('a').clock;
    await ctl(sim, 'a').advance(3_000);
    expect((await ctl(sim).delete('/namespaces/a')).status).toBe(200);
    expect(clockA.pending).toBe(0);
  });

  it('answers 404 {error} for a namespace that does not exist', async () => {
    const sim = testSimulator();
    const res = await ctl(sim).delete('/namespaces/nope');
    expect([res.status, res.body]).toEqual([404, { error: 'No namespace "nope".' }]);
  });

  it('answers 400 {error} for the default world, which stays as it was', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await alice.archive(SRC, 'cloudreve://my/n.zip');
    const res = await ctl(sim).delete('/namespaces/default');
    expect([res.status, res.body]).toEqual([400, { error: 'The default world cannot be dropped; reset it instead.' }]);
    expect((await alice.list()).tasks).toHaveLength(1);
  });
});

describe('sim.namespace(name) in-process', () => {
  it('is the same world as X-Sim-Namespace: a task created over HTTP runs on its clock and lands in its drive', async () => {
    const sim = testSimulator();
    const x = sim.namespace('x');
    expect(x.name).toBe('x');
    const alice = await user(sim, 'alice', 'x');
    const id = await alice.archive(SRC, 'cloudreve://my/x.zip');
    expect(x.journal.count({ method: 'POST', path: '/api/v4/workflow/archive' })).toBe(1);
    expect(await x.clock.runUntilIdle()).toBe(START_MS + 10_500);
    expect(x.drive.stat(ALICE, ['x.zip'])?.kind).toBe('file');
    expect((await alice.task(id)).status).toBe('completed');
    expect(sim.clock.now()).toBe(START_MS);
    expect(sim.drive.stat(ALICE, ['x.zip'])).toBeUndefined();
  });

  it('streams the events of tasks created over HTTP in that namespace', async () => {
    const sim = testSimulator();
    const stop = new AbortController();
    const stream = sim.namespace('x').events(stop.signal);
    const alice = await user(sim, 'alice', 'x');
    const id = await alice.archive(SRC, 'cloudreve://my/x.zip');
    const first = await stream.next();
    stop.abort();
    expect(first.value as SimEvent).toEqual({
      type: 'task:created',
      at: '2025-05-20T04:00:00.000Z',
      namespace: 'x',
      task: id,
      task_type: 'create_archive',
      owner: sim.ids.encode('user', ALICE),
      status: 'queued',
      phase: '',
    });
  });

  it('creates the world on first use and lists it; dropNamespace removes it (false when unknown, throws for default)', async () => {
    const sim = testSimulator();
    sim.namespace('made-in-process');
    expect(sim.namespaces()).toEqual(['default', 'made-in-process']);
    expect((await ctl(sim).get('/namespaces')).body.namespaces.map((n: any) => n.name)).toEqual(['default', 'made-in-process']);
    expect(sim.dropNamespace('made-in-process')).toBe(true);
    expect(sim.dropNamespace('made-in-process')).toBe(false);
    expect(() => sim.dropNamespace('default')).toThrow(/cannot be dropped/);
    expect(() => sim.namespace('bad name!')).toThrow(invalidNamespace('bad name!'));
    expect(sim.namespaces()).toEqual(['default']);
  });

  it('sim.namespace("default") is the default world', async () => {
    const sim = testSimulator();
    await sim.namespace('default').clock.advance(1_000);
    expect(sim.clock.now()).toBe(START_MS + 1_000);
    expect(sim.namespaces()).toEqual(['default']);
    expect((await request(sim.app).get(LIST)).body.code).toBe(401);
    expect(sim.journal.count()).toBe(1);
  });
});
