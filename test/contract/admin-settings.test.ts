/**
 * The admin calls that configure downloading (INFERRED shapes): the master node's settings
 * (`GET`/`PUT /admin/node/{id}`) drive the download poll interval and "wait for seeding";
 * site settings (`POST`/`PATCH /admin/settings`) hold `siteURL`, used by `POST /file/url`.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/index.js';
import { as, signIn, testSimulator } from '../helpers.js';

const DL = 'cloudreve://my/Downloads';
const SLOW = 'https://example.com/slow/big.iso';
const SEEDING = 'magnet:?xt=urn:btih:c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';
const T0 = '2025-05-20T04:00:00Z';

/** A PUT as `who` (the `as` agent has no PUT). */
async function put(sim: Simulator, who: 'admin' | 'alice', path: string, body: unknown) {
  const { access } = await signIn(sim, who);
  return request(sim.app).put(`/api/v4${path}`).set('Authorization', `Bearer ${access}`).send(body as object);
}

const masterNode = (settings: Record<string, unknown>, updated = T0) =>
  `{"code":0,"data":{"id":1,"created_at":"${T0}","updated_at":"${updated}","status":"active","name":"Master","type":"master","weight":1,"settings":${JSON.stringify(settings)},"edges":{}},"msg":""}`;

describe('admin guard', () => {
  it('answers a non-admin with 403 and an empty message on every admin call', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const denied = { code: 403, msg: '', correlation_id: expect.any(String) };
    expect((await alice.get('/admin/node/1')).body).toEqual(denied);
    expect((await put(sim, 'alice', '/admin/node/1', { node: { settings: { interval: 5 } } })).body).toEqual(denied);
    expect((await alice.post('/admin/settings', { keys: ['siteURL'] })).body).toEqual(denied);
    expect((await alice.patch('/admin/settings', { settings: { siteURL: 'https://x.test' } })).body).toEqual(denied);
    // Nothing was written.
    const admin = await as(sim, 'admin');
    expect((await admin.get('/admin/node/1')).text).toBe(masterNode({}));
    expect((await admin.post('/admin/settings', { keys: ['siteURL'] })).text).toBe('{"code":0,"data":{"siteURL":""},"msg":""}');
  });

  it('asks for sign-in first', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get('/api/v4/admin/node/1');
    expect(res.body).toMatchObject({ code: 401, msg: 'Login required' });
  });
});

describe('GET/PUT /admin/node/{id}', () => {
  it('reads the master node with empty settings omitted; wait_for_seeding starts from the option', async () => {
    const sim = testSimulator({ waitForSeeding: true });
    const admin = await as(sim, 'admin');
    expect((await admin.get('/admin/node/1')).text).toBe(masterNode({ wait_for_seeding: true }));
  });

  it('replaces the settings, answers the node afterwards, and reads them back', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    await sim.clock.advance(60_000);
    const node = { id: 1, name: 'Master', type: 'master', status: 'active', weight: 1, settings: { provider: 'aria2', aria2: {}, interval: 7, wait_for_seeding: true }, edges: {} };
    const res = await put(sim, 'admin', '/admin/node/1', { node });
    expect(res.text).toBe(masterNode({ provider: 'aria2', interval: 7, wait_for_seeding: true }, '2025-05-20T04:01:00Z'));
    expect((await admin.get('/admin/node/1')).text).toBe(res.text);
    // Settings are replaced whole: leaving them out clears them (0 reads as unset).
    const cleared = await put(sim, 'admin', '/admin/node/1', { node: { settings: { interval: 0 } } });
    expect(cleared.text).toBe(masterNode({}, '2025-05-20T04:01:00Z'));
  });

  it('keeps the downloader connections and the URL check as the web UI sends them, empty values and unknown keys dropped', async () => {
    const sim = testSimulator();
    const settings = {
      provider: 'qbittorrent',
      aria2: { server: 'http://127.0.0.1:6800/jsonrpc', token: 'secret', temp_path: '', options: { 'max-connection-per-server': 4 } },
      qbittorrent: { server: 'http://127.0.0.1:8080', user: 'admin', password: 'adminadmin', temp_path: '/tmp/qb', options: {}, extra: 'x' },
      interval: 5,
      url_validation: { disabled: false, allowed_hosts: ['nas.localhost'], allowed_cidrs: [] },
      unknown_setting: 1,
    };
    const res = await put(sim, 'admin', '/admin/node/1', { node: { settings } });
    const kept = {
      provider: 'qbittorrent',
      aria2: { server: 'http://127.0.0.1:6800/jsonrpc', token: 'secret', options: { 'max-connection-per-server': 4 } },
      qbittorrent: { server: 'http://127.0.0.1:8080', user: 'admin', password: 'adminadmin', temp_path: '/tmp/qb' },
      interval: 5,
      url_validation: { allowed_hosts: ['nas.localhost'] },
    };
    expect(res.text).toBe(masterNode(kept));
    const admin = await as(sim, 'admin');
    expect((await admin.get('/admin/node/1')).text).toBe(masterNode(kept));
    expect((await put(sim, 'admin', '/admin/node/1', { node: { settings: { provider: 'transmission' } } })).body).toEqual({ code: 40001, msg: 'Invalid parameters.' });
  });

  it('answers 404 for a node the simulator does not have, and a binding error for a bad body', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    expect((await admin.get('/admin/node/2')).body).toEqual({ code: 404, msg: 'Node not found', correlation_id: expect.any(String) });
    expect((await put(sim, 'admin', '/admin/node/2', { node: {} })).body).toEqual({ code: 404, msg: 'Node not found', correlation_id: expect.any(String) });
    expect((await put(sim, 'admin', '/admin/node/1', { node: { settings: { interval: -1 } } })).body).toMatchObject({ code: 40001 });
    expect((await put(sim, 'admin', '/admin/node/1', {})).body).toMatchObject({ code: 40001 });
  });
});

describe('POST/PATCH /admin/settings', () => {
  it('writes any key, answers what was written, and reads values back as strings ("" when never written)', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    const w = await admin.patch('/admin/settings', { settings: { siteURL: 'https://drive.example.test', siteName: 'Sim' } });
    expect(w.text).toBe('{"code":0,"data":{"siteURL":"https://drive.example.test","siteName":"Sim"},"msg":""}');
    const r = await admin.post('/admin/settings', { keys: ['siteName', 'siteURL', 'unknown'] });
    expect(r.text).toBe('{"code":0,"data":{"siteName":"Sim","siteURL":"https://drive.example.test","unknown":""},"msg":""}');
    expect((await admin.post('/admin/settings', {})).body).toMatchObject({ code: 40001 });
    expect((await admin.patch('/admin/settings', { settings: { siteURL: 5 } })).body).toMatchObject({ code: 40001 });
  });

  it('siteURL decides where POST /file/url URLs start: the entry matching the Host, else the first', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    const alice = await as(sim, 'alice');
    const urlOf = async (host?: string) => {
      const req = alice.post('/file/url', { uris: ['cloudreve://my/notes.txt'] });
      const res = host ? await req.set('Host', host) : await req;
      expect(res.body.code).toBe(0);
      return res.body.data.urls[0].url as string;
    };
    expect(await urlOf('drive.example.test:8443')).toMatch(/^http:\/\/drive\.example\.test:8443\/api\/v4\/file\/content\//);
    await admin.patch('/admin/settings', { settings: { siteURL: 'https://files.example.org/, https://other.example.net' } });
    expect(await urlOf()).toMatch(/^https:\/\/files\.example\.org\/api\/v4\/file\/content\//);
    expect(await urlOf('other.example.net')).toMatch(/^https:\/\/other\.example\.net\/api\/v4\/file\/content\//);
    await admin.patch('/admin/settings', { settings: { siteURL: '' } });
    expect(await urlOf('drive.example.test:8443')).toMatch(/^http:\/\/drive\.example\.test:8443\//);
  });
});

/** The simulated seconds between changes of `download.downloaded` of a /slow download, sampled every second for 60 s. */
async function pollGaps(sim: Simulator): Promise<number[]> {
  const alice = await as(sim, 'alice');
  const id = (await alice.post('/workflow/download', { src: [SLOW], dst: DL })).body.data[0].id;
  await sim.clock.advance(5_000);
  const changes: number[] = [];
  let last = -1;
  for (let s = 0; s < 60; s++) {
    await sim.clock.advance(1_000);
    const t = await alice.task(id, 'downloading');
    expect(t.summary.props.download.state).toBe('downloading');
    if (t.summary.props.download.downloaded !== last) changes.push(s);
    last = t.summary.props.download.downloaded;
  }
  return changes.slice(1).map((c, i) => c - changes[i]!);
}

describe('node settings drive the simulated downloader', () => {
  it('url_validation: internal URLs are refused by default, and let through when listed or when the check is off', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const outcome = async (url: string) => {
      const id = (await alice.post('/workflow/download', { src: [url], dst: DL })).body.data[0].id as string;
      await sim.clock.runUntilIdle();
      const t = await alice.task(id, 'downloaded');
      return t.status === 'error' ? (t.error as string) : (t.status as string);
    };
    const rejected = (host: string) => `url rejected: host "${host}" is an internal address (non-retryable error)`;
    expect(await outcome('http://10.1.2.3/a.bin')).toBe(rejected('10.1.2.3'));
    expect(await outcome('http://nas.localhost/b.bin')).toBe(rejected('nas.localhost'));
    await put(sim, 'admin', '/admin/node/1', { node: { settings: { url_validation: { allowed_hosts: ['NAS.localhost'], allowed_cidrs: ['10.0.0.0/8'] } } } });
    expect(await outcome('http://10.1.2.3/c.bin')).toBe('completed');
    expect(await outcome('http://nas.localhost/d.bin')).toBe('completed');
    expect(await outcome('http://192.168.1.1/e.bin')).toBe(rejected('192.168.1.1'));
    await put(sim, 'admin', '/admin/node/1', { node: { settings: { url_validation: { disabled: true } } } });
    expect(await outcome('http://192.168.1.1/f.bin')).toBe('completed');
  });

  it('re-polls after the timing profile interval by default, and after `interval` seconds once set', async () => {
    // Each cycle is the wait plus the 2 s pick-up of the realistic profile.
    const byDefault = await pollGaps(testSimulator());
    expect(byDefault.length).toBeGreaterThan(10);
    expect(Math.max(...byDefault)).toBeLessThanOrEqual(3);
    const sim = testSimulator();
    expect((await put(sim, 'admin', '/admin/node/1', { node: { settings: { interval: 10 } } })).body.code).toBe(0);
    const gaps = await pollGaps(sim);
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(13);
  });

  it('a changed interval applies to a download already running, at its next poll', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const id = (await alice.post('/workflow/download', { src: [SLOW], dst: DL })).body.data[0].id;
    await sim.clock.advance(5_000);
    await put(sim, 'admin', '/admin/node/1', { node: { settings: { interval: 20 } } });
    await sim.clock.advance(4_000); // the poll already scheduled runs, then the task waits 20 s
    const before = (await alice.task(id, 'downloading')).summary.props.download.downloaded;
    await sim.clock.advance(15_000);
    expect((await alice.task(id, 'downloading')).summary.props.download.downloaded).toBe(before);
    await sim.clock.advance(8_000);
    expect((await alice.task(id, 'downloading')).summary.props.download.downloaded).toBeGreaterThan(before);
  });

  it('wait_for_seeding set through the API keeps a seeding torrent in `seeding` until it stops', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await put(sim, 'admin', '/admin/node/1', { node: { settings: { wait_for_seeding: true } } });
    const id = (await alice.post('/workflow/download', { src: [SEEDING], dst: DL })).body.data[0].id;
    const reached = await sim.clock.runUntil(async () => (await alice.task(id, 'downloading'))?.summary.phase === 'seeding');
    await sim.clock.advance(10_000);
    expect(await alice.task(id, 'downloading')).toMatchObject({ status: 'suspending', summary: { phase: 'seeding', props: { download: { state: 'seeding' } } } });
    const end = await sim.clock.runUntil(async () => (await alice.task(id, 'downloaded'))?.status === 'completed');
    expect(end - reached).toBeGreaterThanOrEqual(20_000);
    expect((await alice.task(id, 'downloaded')).summary.props.download).toMatchObject({ state: 'completed' });
  });

  it('without it (cleared through the API) the task completes right after transfer', async () => {
    const sim = testSimulator({ waitForSeeding: true });
    const alice = await as(sim, 'alice');
    await put(sim, 'admin', '/admin/node/1', { node: { settings: {} } });
    const id = (await alice.post('/workflow/download', { src: [SEEDING], dst: DL })).body.data[0].id;
    await sim.clock.runUntilIdle();
    expect(await alice.task(id, 'downloaded')).toMatchObject({ status: 'completed', summary: { phase: 'seeding', props: { download: { state: 'seeding' } } } });
  });
});
