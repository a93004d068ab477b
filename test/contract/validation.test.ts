/**
 * Request binding on every route (spec §1.5 and the body tables of §6–§12, §14): the first
 * failing field in the server's declaration order, the server's messages, no correlation_id.
 * A request that passes binding reaches the handler (40019 until the behaviour is simulated).
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/index.js';
import { signIn, testSimulator, UUID_V4 } from '../helpers.js';

type Who = 'alice' | 'admin' | 'user';

interface Case {
  who?: Who;
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string | ((sim: Simulator) => string);
  body?: unknown;
  msg: string;
}


const list = (query: string) => `/api/v4/workflow${query}`;
const task = (prefix: string) => (sim: Simulator) => `/api/v4/workflow/${prefix}/${sim.ids.encode('task', 1)}`;
const fixed = (path: string) => `/api/v4/workflow/${path}`;
const pathOf = (path: Case['path'], sim: Simulator) => (typeof path === 'string' ? path : path(sim));
const labelOf = (c: Case) =>
  c.body === undefined ? String(c.path) : typeof c.body === 'string' ? c.body || '(empty body)' : JSON.stringify(c.body);

const cases: Record<string, Case[]> = {
  'GET /workflow': [
    { method: 'get', path: list('?category=general'), msg: 'PageSize cannot be empty' },
    { method: 'get', path: list('?page_size=&category=general'), msg: 'PageSize cannot be empty' },
    { method: 'get', path: list('?page_size=0&category=general'), msg: 'PageSize cannot be empty' },
    { method: 'get', path: list('?page_size=9&category=general'), msg: 'PageSize too short' },
    { method: 'get', path: list('?page_size=-5&category=general'), msg: 'PageSize too short' },
    { method: 'get', path: list('?page_size=101&category=general'), msg: 'PageSize too long' },
    { method: 'get', path: list('?page_size=abc&category=general'), msg: 'Parameter error' },
    { method: 'get', path: list('?page_size=10.5&category=general'), msg: 'Parameter error' },
    // Go's strconv.ParseInt reads base-10 digits with an optional sign, nothing else.
    { method: 'get', path: list('?page_size=10.0&category=general'), msg: 'Parameter error' },
    { method: 'get', path: list('?page_size=0x10&category=general'), msg: 'Parameter error' },
    { method: 'get', path: list('?page_size=%2010&category=general'), msg: 'Parameter error' },
    { method: 'get', path: list('?page_size=1e2&category=general'), msg: 'Parameter error' },
    { method: 'get', path: list('?page_size=%2B101&category=general'), msg: 'PageSize too long' },
    { method: 'get', path: list('?page_size=abc'), msg: 'Parameter error' },
    { method: 'get', path: list('?page_size=10'), msg: 'Category cannot be empty' },
    { method: 'get', path: list('?page_size=10&category='), msg: 'Category cannot be empty' },
    { method: 'get', path: list('?page_size=10&category=General'), msg: 'Invalid parameters.' },
    { method: 'get', path: list('?page_size=10&category=foo'), msg: 'Invalid parameters.' },
    { method: 'get', path: list('?page_size=5&category=foo'), msg: 'PageSize too short' },
    { method: 'get', path: list(''), msg: 'PageSize cannot be empty' },
  ],
  'POST /workflow/archive': [
    { method: 'post', path: fixed('archive'), body: {}, msg: 'Src cannot be empty' },
    { who: 'user', method: 'post', path: fixed('archive'), body: {}, msg: 'Src cannot be empty' },
    { method: 'post', path: fixed('archive'), body: { src: null, dst: 'cloudreve://my/a.zip' }, msg: 'Src cannot be empty' },
    { method: 'post', path: fixed('archive'), body: { src: ['cloudreve://my/docs'] }, msg: 'Dst cannot be empty' },
    { method: 'post', path: fixed('archive'), body: { src: [], dst: '' }, msg: 'Dst cannot be empty' },
    { method: 'post', path: fixed('archive'), body: { src: 'cloudreve://my/docs', dst: 'cloudreve://my/a.zip' }, msg: 'JSON marshall error' },
    { method: 'post', path: fixed('archive'), body: { src: [1], dst: 'cloudreve://my/a.zip' }, msg: 'JSON marshall error' },
    { method: 'post', path: fixed('archive'), body: { src: 'x' }, msg: 'JSON marshall error' },
    { method: 'post', path: fixed('archive'), body: { src: [], dst: 5 }, msg: 'JSON marshall error' },
    { method: 'post', path: fixed('archive'), body: { src: [], dst: 'x', encoding: 1 }, msg: 'JSON marshall error' },
    { method: 'post', path: fixed('archive'), body: { src: [], dst: 'x', file_mask: 'a' }, msg: 'JSON marshall error' },
    { method: 'post', path: fixed('archive'), body: '{', msg: 'Parameter error' },
    { method: 'post', path: fixed('archive'), body: '', msg: 'Parameter error' },
  ],
  'POST /workflow/extract': [
    { method: 'post', path: fixed('extract'), body: { dst: 'cloudreve://my' }, msg: 'Src cannot be empty' },
    { method: 'post', path: fixed('extract'), body: { src: ['cloudreve://my/x.zip'] }, msg: 'Dst cannot be empty' },
    { method: 'post', path: fixed('extract'), body: { src: 'cloudreve://my/x.zip', dst: 'cloudreve://my' }, msg: 'JSON marshall error' },
    { method: 'post', path: fixed('extract'), body: { src: [], dst: 'cloudreve://my', password: 123 }, msg: 'JSON marshall error' },
    { method: 'post', path: fixed('extract'), body: '{', msg: 'Parameter error' },
  ],
  'POST /workflow/download': [
    { method: 'post', path: fixed('download'), body: { src: ['https://e.x/a'] }, msg: 'Dst cannot be empty' },
    { method: 'post', path: fixed('download'), body: {}, msg: 'Dst cannot be empty' },
    { method: 'post', path: fixed('download'), body: { src: 'https://e.x/a', dst: 'cloudreve://my' }, msg: 'JSON marshall error' },
    { method: 'post', path: fixed('download'), body: { src_file: ['x'], dst: 'cloudreve://my' }, msg: 'JSON marshall error' },
    { method: 'post', path: fixed('download'), body: '{', msg: 'Parameter error' },
  ],
  'PATCH /workflow/download/{id}': [
    { method: 'patch', path: task('download'), body: {}, msg: 'Files cannot be empty' },
    { method: 'patch', path: task('download'), body: { files: null }, msg: 'Files cannot be empty' },
    { method: 'patch', path: task('download'), body: { files: {} }, msg: 'JSON marshall error' },
    { method: 'patch', path: task('download'), body: { files: [{ index: 'a' }] }, msg: 'JSON marshall error' },
    { method: 'patch', path: task('download'), body: { files: [{ index: 1, download: 'yes' }] }, msg: 'JSON marshall error' },
    { method: 'patch', path: task('download'), body: '{', msg: 'Parameter error' },
  ],
  'POST /workflow/import': [
    { who: 'admin', method: 'post', path: fixed('import'), body: {}, msg: 'Src cannot be empty' },
    { who: 'admin', method: 'post', path: fixed('import'), body: { src: '/data' }, msg: 'Dst cannot be empty' },
    { who: 'admin', method: 'post', path: fixed('import'), body: { src: '/data', dst: '/' }, msg: 'UserID cannot be empty' },
    { who: 'admin', method: 'post', path: fixed('import'), body: { src: '/data', dst: '/', user_id: 'x' }, msg: 'PolicyID cannot be empty' },
    { who: 'admin', method: 'post', path: fixed('import'), body: { src: '/data', dst: '/', user_id: 'x', policy_id: 0 }, msg: 'PolicyID cannot be empty' },
    { who: 'admin', method: 'post', path: fixed('import'), body: { src: '/data', dst: '/', user_id: 'x', policy_id: '1' }, msg: 'JSON marshall error' },
    { who: 'admin', method: 'post', path: fixed('import'), body: { src: '/data', dst: '/', user_id: 'x', policy_id: 1.5 }, msg: 'JSON marshall error' },
    { who: 'admin', method: 'post', path: fixed('import'), body: { src: '/data', dst: '/', user_id: 'x', policy_id: 1, recursive: 'yes' }, msg: 'JSON marshall error' },
    { who: 'admin', method: 'post', path: fixed('import'), body: { src: '/data', dst: '/', user_id: 'x', policy_id: 1, extract_media_meta: 1 }, msg: 'JSON marshall error' },
    { who: 'admin', method: 'post', path: fixed('import'), body: { dst: '/', user_id: 'x', policy_id: '1' }, msg: 'JSON marshall error' },
    { who: 'admin', method: 'post', path: fixed('import'), body: '{', msg: 'Parameter error' },
  ],
};

describe.each(Object.entries(cases))('%s binding', (_, table) => {
  it.each(table.map((c) => [labelOf(c), c] as const))(
    '%s → "%s" without correlation_id',
    async (_label, c) => {
      const sim = testSimulator();
      const { access } = await signIn(sim, c.who ?? 'alice');
      let req = request(sim.app)[c.method](pathOf(c.path, sim)).set('Authorization', `Bearer ${access}`);
      if (c.body !== undefined) req = req.set('Content-Type', 'application/json').send(typeof c.body === 'string' ? c.body : JSON.stringify(c.body));
      const res = await req;
      expect(res.status).toBe(200);
      expect(res.text).toBe(JSON.stringify({ code: 40001, msg: c.msg }));
    },
  );
});

describe('requests that pass binding reach the handler', () => {
  const EMPTY_LIST = (pageSize: number) => ({ code: 0, data: { tasks: [], pagination: { page: 0, page_size: pageSize, is_cursor: true } }, msg: '' });
  const cid = expect.stringMatching(UUID_V4);
  const ok: Array<[string, Who, Case['method'], Case['path'], unknown, unknown]> = [
    ['GET /workflow', 'alice', 'get', list('?page_size=10&category=general'), undefined, EMPTY_LIST(10)],
    ['GET /workflow (boundary 100, downloading, empty token)', 'alice', 'get', list('?page_size=100&category=downloading&next_page_token='), undefined, EMPTY_LIST(32765)],
    ['GET /workflow (repeated parameter: first wins)', 'alice', 'get', list('?page_size=10&page_size=abc&category=downloaded'), undefined, EMPTY_LIST(10)],
    ['GET /workflow (unknown parameters ignored)', 'alice', 'get', list('?page_size=10&category=general&foo=bar'), undefined, EMPTY_LIST(10)],
    ['GET /workflow/progress/{id}', 'alice', 'get', task('progress'), undefined, { code: 0, data: {}, msg: '' }],
    ['POST /workflow/archive (src [] allowed; then the group check)', 'user', 'post', fixed('archive'), { src: [], dst: 'cloudreve://my/empty.zip' }, { code: 40007, msg: 'Group not allowed to compress files', correlation_id: cid }],
    ['POST /workflow/archive (all fields; then the dst check)', 'alice', 'post', fixed('archive'), { src: ['cloudreve://my/a'], dst: 'x', encoding: 'gbk', preferred_node_id: 'm9uO', password: 'p', file_mask: ['a'] }, { code: 40001, msg: 'Invalid destination', correlation_id: cid }],
    ['POST /workflow/extract (src [] passes binding; then "No source files")', 'alice', 'post', fixed('extract'), { src: [], dst: 'cloudreve://my' }, { code: 40001, msg: 'No source files', correlation_id: cid }],
    ['POST /workflow/download (src_file only; then the file check)', 'alice', 'post', fixed('download'), { src_file: 'cloudreve://my/none.torrent', dst: 'cloudreve://my' }, { code: 40016, msg: 'Invalid source file', correlation_id: cid }],
    ['POST /workflow/download (no source: checked by the handler)', 'alice', 'post', fixed('download'), { dst: 'cloudreve://my' }, { code: 40001, msg: 'No source files', correlation_id: cid }],
    ['PATCH /workflow/download/{id} (files [] allowed; then the task check)', 'alice', 'patch', task('download'), { files: [] }, { code: 404, msg: 'Task not found', correlation_id: cid }],
    ['PATCH /workflow/download/{id} (items default)', 'alice', 'patch', task('download'), { files: [{}, { index: 2, download: false }] }, { code: 404, msg: 'Task not found', correlation_id: cid }],
    ['DELETE /workflow/download/{id}', 'alice', 'delete', task('download'), undefined, { code: 404, msg: 'Task not found', correlation_id: cid }],
    ['POST /workflow/import', 'admin', 'post', fixed('import'), { src: '/data', dst: '/', user_id: 'x', policy_id: 1, recursive: true, extract_media_meta: false }, { code: 40001, msg: 'Invalid user id', correlation_id: cid }],
    ['POST /workflow/import (negative policy id passes "required")', 'admin', 'post', fixed('import'), { src: '/data', dst: '/', user_id: 'x', policy_id: -1 }, { code: 40001, msg: 'Invalid user id', correlation_id: cid }],
  ];
  it.each(ok)('%s', async (_, who, method, path, body, expected) => {
    const sim = testSimulator();
    const { access } = await signIn(sim, who);
    let req = request(sim.app)[method](pathOf(path, sim)).set('Authorization', access);
    if (body !== undefined) req = req.send(body as object);
    expect((await req).body).toEqual(expected);
  });
});

describe('POST /workflow/reloacte binding (pro edition)', () => {
  it.each([
    [{}, 'Src cannot be empty'],
    [{ src: ['cloudreve://my/docs'] }, 'DstPolicyID cannot be empty'],
    [{ src: ['cloudreve://my/docs'], dst_policy_id: '' }, 'DstPolicyID cannot be empty'],
    [{ src: 'cloudreve://my/docs', dst_policy_id: 'x' }, 'JSON marshall error'],
    [{ src: ['cloudreve://my/docs'], dst_policy_id: 5 }, 'JSON marshall error'],
  ])('%j → "%s"', async (body, msg) => {
    const sim = testSimulator({ edition: 'pro' });
    const { access } = await signIn(sim, 'alice');
    const res = await request(sim.app).post('/api/v4/workflow/reloacte').set('Authorization', access).send(body);
    expect(res.body).toEqual({ code: 40001, msg });
  });

  it('passes a valid body to the handler', async () => {
    const sim = testSimulator({ edition: 'pro' });
    const { access } = await signIn(sim, 'alice');
    const res = await request(sim.app)
      .post('/api/v4/workflow/reloacte')
      .set('Authorization', access)
      .send({ src: ['cloudreve://my/docs'], dst_policy_id: sim.ids.encode('policy', 1) });
    expect(res.body).toMatchObject({ code: 0, data: { type: 'relocate', status: 'queued' }, msg: '' });
  });
});
