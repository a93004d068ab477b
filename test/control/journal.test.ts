/**
 * The journal: every request under /api/v4 with its answer, at simulated time, per world;
 * filters and verify-style statistics ("polled no faster than N ms", "never retried a POST").
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { testSimulator } from '../helpers.js';
import { ctl, LIST, NAMESPACE_HEADER, START_MS, user } from './helpers.js';

const NOTES = ['cloudreve://my/notes.txt'];
const PING = '/api/v4/site/ping';

/** The headers supertest sends, beside the ones a test sets. */
const sentHeaders = (extra: Record<string, string> = {}) => ({
  host: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
  'accept-encoding': 'gzip, deflate',
  connection: 'close',
  ...extra,
});

describe('journal entries', () => {
  it('record method, path, query, headers, decoded JSON body, status, envelope code, response and the simulated time', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await sim.clock.advance(3_000);
    const body = { src: NOTES, dst: 'cloudreve://my/n.zip' };
    const res = await alice.post('/workflow/archive', body).set('X-Cr-Correlation-Id', 'not-a-uuid');
    const [entry] = (await ctl(sim).get('/journal?method=POST&path=/api/v4/workflow/archive')).body.entries;
    expect(entry).toEqual({
      seq: 2,
      namespace: 'default',
      at_ms: START_MS + 3_000,
      at: '2025-05-20T04:00:03.000Z',
      method: 'POST',
      path: '/api/v4/workflow/archive',
      query: {},
      headers: sentHeaders({
        authorization: `Bearer ${alice.access}`,
        'content-type': 'application/json',
        'content-length': String(JSON.stringify(body).length),
        'x-cr-correlation-id': 'not-a-uuid',
      }),
      body,
      status: 200,
      code: 0,
      response: res.body,
    });
  });

  it('record GET requests with body null, and the query string without its path', async () => {
    const sim = testSimulator();
    await request(sim.app).get(`${PING}?x=1`);
    expect(sim.journal.entries()).toEqual([
      {
        seq: 1,
        namespace: 'default',
        at_ms: START_MS,
        at: '2025-05-20T04:00:00.000Z',
        method: 'GET',
        path: PING,
        query: { x: '1' },
        headers: sentHeaders(),
        body: null,
        status: 200,
        code: 0,
        response: { code: 0, data: '4.18.0-pro', msg: '' },
      },
    ]);
  });

  it('record the query as the client sent it (strings), not as the binding rewrote it', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await alice.list();
    expect(sim.journal.entries({ path: '/api/v4/workflow' })[0]!.query).toEqual({ page_size: '10', category: 'general' });
  });

  it('record answers that are not envelopes: a 404 page with code null and its text', async () => {
    const sim = testSimulator();
    await request(sim.app).get('/api/v4/nowhere');
    expect(sim.journal.entries()).toEqual([
      expect.objectContaining({ method: 'GET', path: '/api/v4/nowhere', status: 404, code: null, response: '404 page not found' }),
    ]);
  });

  it('record the body of a POST that a fault answered', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await ctl(sim).fault({ request: { path: '/api/v4/workflow/archive' }, envelope: { code: 40073, msg: 'Lock conflict' } });
    const body = { src: NOTES, dst: 'cloudreve://my/n.zip' };
    await alice.post('/workflow/archive', body);
    expect(sim.journal.entries({ path: '/api/v4/workflow/archive' })[0]).toMatchObject({ code: 40073, body });
  });

  it('record a body that is not JSON as its text', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await alice.post('/workflow/archive', 'src=a&dst=b').set('Content-Type', 'text/plain');
    const [entry] = sim.journal.entries({ path: '/api/v4/workflow/archive' });
    expect(entry).toMatchObject({ body: 'src=a&dst=b', status: 200, code: 40001, response: { code: 40001, msg: 'Parameter error' } });
  });

  it('record a body or an answer over 256 KiB by its size only', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const big = JSON.stringify({ src: ['x'.repeat(300_000)], dst: 'cloudreve://my/a.zip' });
    await alice.post('/workflow/archive', big).set('Content-Type', 'application/json');
    const [entry] = sim.journal.entries({ path: '/api/v4/workflow/archive' });
    expect(entry).toMatchObject({ body: `<${Buffer.byteLength(big)} bytes>`, status: 200, code: 0 });
  });

  it('record error envelopes with their code', async () => {
    const sim = testSimulator();
    await request(sim.app).get(LIST);
    expect(sim.journal.entries()[0]).toMatchObject({ status: 200, code: 401, response: { code: 401, msg: 'Login required', correlation_id: expect.any(String) } });
  });

  it('record a connection reset by a fault with status 0, code null and no response', async () => {
    const sim = testSimulator();
    const url = await sim.listen(0);
    await ctl(sim).fault({ request: { path: PING }, transport: 'reset', times: 1 });
    await expect(fetch(`${url}${PING}`)).rejects.toThrow();
    expect(sim.journal.entries()).toHaveLength(1);
    expect(sim.journal.entries()[0]).toMatchObject({ method: 'GET', path: PING, status: 0, code: null, response: null });
  });

  it('record an injected envelope fault as what the client got', async () => {
    const sim = testSimulator();
    await ctl(sim).fault({ request: { path: PING }, envelope: { code: 40073, msg: 'Lock conflict' } });
    const res = await request(sim.app).get(PING);
    expect(sim.journal.entries()[0]).toMatchObject({ status: 200, code: 40073, response: res.body });
  });

  it('do not record calls to /__sim', async () => {
    const sim = testSimulator();
    await ctl(sim).get('/clock');
    await ctl(sim).post('/clock/advance', { ms: 1 });
    await ctl(sim).get('/journal');
    await ctl(sim).get('/journal/stats');
    await ctl(sim).get('/namespaces');
    expect((await ctl(sim).get('/journal')).body).toEqual({ entries: [] });
    expect(sim.journal.count()).toBe(0);
  });

  it('number entries from 1 in order of arrival, oldest first', async () => {
    const sim = testSimulator();
    for (let i = 0; i < 3; i++) {
      await request(sim.app).get(PING);
      await sim.clock.advance(1_000);
    }
    expect(sim.journal.entries().map((e) => [e.seq, e.at])).toEqual([
      [1, '2025-05-20T04:00:00.000Z'],
      [2, '2025-05-20T04:00:01.000Z'],
      [3, '2025-05-20T04:00:02.000Z'],
    ]);
  });
});

describe('GET /__sim/journal filters', () => {
  /** Sign-in at 0, archive at 0, progress polls at 1 s and 2 s, a 404 at 3 s, a list at 4 s. */
  async function history() {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    await sim.clock.advance(1_000);
    await alice.get(`/workflow/progress/${id}`);
    await sim.clock.advance(1_000);
    await alice.get(`/workflow/progress/${id}`);
    await sim.clock.advance(1_000);
    await request(sim.app).get('/api/v4/workflow/nothing');
    await sim.clock.advance(1_000);
    await request(sim.app).get(LIST);
    const pick = async (q: string) => {
      const res = await ctl(sim).get(`/journal${q}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return (res.body.entries as any[]).map((e) => `${e.seq} ${e.method} ${e.path}`);
    };
    return { sim, id, pick };
  }

  it('without filters: every entry, oldest first', async () => {
    const { pick, id } = await history();
    expect(await pick('')).toEqual([
      '1 POST /api/v4/session/token',
      '2 POST /api/v4/workflow/archive',
      `3 GET /api/v4/workflow/progress/${id}`,
      `4 GET /api/v4/workflow/progress/${id}`,
      '5 GET /api/v4/workflow/nothing',
      '6 GET /api/v4/workflow',
    ]);
  });

  it('method (any case)', async () => {
    const { pick } = await history();
    expect(await pick('?method=post')).toEqual(['1 POST /api/v4/session/token', '2 POST /api/v4/workflow/archive']);
  });

  it('path glob: /api/v4/workflow/progress/* matches the polls only', async () => {
    const { pick, id } = await history();
    expect(await pick('?path=/api/v4/workflow/progress/*')).toEqual([`3 GET /api/v4/workflow/progress/${id}`, `4 GET /api/v4/workflow/progress/${id}`]);
    expect(await pick('?path=/api/v4/workflow')).toEqual(['6 GET /api/v4/workflow']);
    expect(await pick('?path=*/session/*')).toEqual(['1 POST /api/v4/session/token']);
  });

  it('code: only answers with this envelope code', async () => {
    const { pick } = await history();
    expect(await pick('?code=401')).toEqual(['6 GET /api/v4/workflow']);
    expect(await pick('?code=0&method=GET')).toHaveLength(2);
  });

  it('since: only requests at or after this simulated time', async () => {
    const { pick, id } = await history();
    expect(await pick(`?since=${START_MS + 2_000}`)).toEqual([`4 GET /api/v4/workflow/progress/${id}`, '5 GET /api/v4/workflow/nothing', '6 GET /api/v4/workflow']);
  });

  it('limit: only the last N matching entries', async () => {
    const { pick, id } = await history();
    expect(await pick('?limit=2')).toEqual(['5 GET /api/v4/workflow/nothing', '6 GET /api/v4/workflow']);
    expect(await pick('?limit=1&path=/api/v4/workflow/progress/*')).toEqual([`4 GET /api/v4/workflow/progress/${id}`]);
  });

  it.each([['?code=abc'], ['?since=yesterday'], ['?limit=0'], ['?colour=red']])('refuses the query %s with 400 {error}', async (q) => {
    const sim = testSimulator();
    const res = await ctl(sim).get(`/journal${q}`);
    expect([res.status, res.body]).toEqual([400, { error: expect.any(String) }]);
  });
});

describe('GET /__sim/journal/stats', () => {
  it('count, first_at, last_at and the shortest simulated interval: polls at 0, 5 s and 7 s → min 2000 ms', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    for (const wait of [0, 5_000, 2_000]) {
      await sim.clock.advance(wait);
      await alice.get(`/workflow/progress/${id}`);
    }
    const res = await ctl(sim).get('/journal/stats?path=/api/v4/workflow/progress/*');
    expect([res.status, res.body]).toEqual([
      200,
      { count: 3, first_at: '2025-05-20T04:00:00.000Z', last_at: '2025-05-20T04:00:07.000Z', min_interval_ms: 2_000 },
    ]);
    // "polled no faster than every 2 s" holds, "every 5 s" does not.
    expect(res.body.min_interval_ms).toBeGreaterThanOrEqual(2_000);
    expect(res.body.min_interval_ms).toBeLessThan(5_000);
  });

  it('verifies "never retried a POST": one POST /api/v4/workflow/archive', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await alice.archive(NOTES, 'cloudreve://my/n.zip');
    for (let i = 0; i < 3; i++) {
      await alice.list();
      await sim.clock.advance(5_000);
    }
    expect((await ctl(sim).get('/journal/stats?method=POST&path=/api/v4/workflow/archive')).body).toEqual({
      count: 1,
      first_at: '2025-05-20T04:00:00.000Z',
      last_at: '2025-05-20T04:00:00.000Z',
      min_interval_ms: null,
    });
  });

  it('answers count 0 and nulls when nothing matches', async () => {
    const sim = testSimulator();
    expect((await ctl(sim).get('/journal/stats')).body).toEqual({ count: 0, first_at: null, last_at: null, min_interval_ms: null });
  });

  it('takes the same filters as the journal (method, path, code, since)', async () => {
    const sim = testSimulator();
    await request(sim.app).get(LIST); // 401 at 0
    await sim.clock.advance(1_000);
    await request(sim.app).get(PING); // 0 at 1 s
    await sim.clock.advance(1_500);
    await request(sim.app).get(LIST); // 401 at 2.5 s
    await sim.clock.advance(500);
    await request(sim.app).get(LIST); // 401 at 3 s
    expect((await ctl(sim).get(`/journal/stats?code=401&since=${START_MS + 1}`)).body).toEqual({
      count: 2,
      first_at: '2025-05-20T04:00:02.500Z',
      last_at: '2025-05-20T04:00:03.000Z',
      min_interval_ms: 500,
    });
    expect((await ctl(sim).get('/journal/stats?method=GET&code=401')).body).toMatchObject({ count: 3, min_interval_ms: 500 });
  });
});

describe('DELETE /__sim/journal', () => {
  it('forgets every entry and says how many; later entries go on numbering', async () => {
    const sim = testSimulator();
    await request(sim.app).get(PING);
    await request(sim.app).get(PING);
    expect((await ctl(sim).delete('/journal')).body).toEqual({ cleared: 2 });
    expect((await ctl(sim).get('/journal')).body).toEqual({ entries: [] });
    await request(sim.app).get(PING);
    expect(sim.journal.entries().map((e) => e.seq)).toEqual([3]);
    expect((await ctl(sim).delete('/journal')).body).toEqual({ cleared: 1 });
  });

  it('clears only the world named by X-Sim-Namespace', async () => {
    const sim = testSimulator();
    await request(sim.app).get(PING);
    await request(sim.app).get(PING).set(NAMESPACE_HEADER, 'a');
    expect((await ctl(sim, 'a').delete('/journal')).body).toEqual({ cleared: 1 });
    expect(sim.journal.count()).toBe(1);
  });
});

describe('in-process sim.journal', () => {
  it('entries / count / stats / clear answer what the HTTP routes answer', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    await sim.clock.advance(5_000);
    await alice.get(`/workflow/progress/${id}`);
    await sim.clock.advance(5_000);
    await alice.get(`/workflow/progress/${id}`);

    const filter = { path: '/api/v4/workflow/progress/*' };
    expect(sim.journal.entries()).toEqual((await ctl(sim).get('/journal')).body.entries);
    expect(sim.journal.entries(filter)).toEqual((await ctl(sim).get('/journal?path=/api/v4/workflow/progress/*')).body.entries);
    expect(sim.journal.count()).toBe(4);
    expect(sim.journal.count({ method: 'post' })).toBe(2);
    expect(sim.journal.count({ code: 0, since: START_MS + 5_000 })).toBe(2);
    expect(sim.journal.stats(filter)).toEqual({ count: 2, first_at: '2025-05-20T04:00:05.000Z', last_at: '2025-05-20T04:00:10.000Z', min_interval_ms: 5_000 });
    expect(sim.journal.stats(filter)).toEqual((await ctl(sim).get('/journal/stats?path=/api/v4/workflow/progress/*')).body);
    expect(sim.journal.clear()).toBe(4);
    expect(sim.journal.entries()).toEqual([]);
    expect((await ctl(sim).get('/journal')).body).toEqual({ entries: [] });
  });
});
