/**
 * Resolving the caller from Authorization (spec §2.1) and the route guards (spec §2.2, §3).
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { accessTokenFor, forgeToken, nowSeconds, signIn, testSimulator, UUID_V4 } from '../helpers.js';

const LIST = '/api/v4/workflow?page_size=10&category=general';
const LOGIN_REQUIRED = { code: 401, msg: 'Login required', correlation_id: expect.stringMatching(UUID_V4) };
const EMPTY_LIST = { code: 0, data: { tasks: [], pagination: { page: 0, page_size: 10, is_cursor: true } }, msg: '' };
const EMPTY_PROGRESS = { code: 0, data: {}, msg: '' };

describe('anonymous callers', () => {
  it('get 401 "Login required" on a workflow route without Authorization, keys in order', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get(LIST);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(LOGIN_REQUIRED);
    expect(Object.keys(res.body)).toEqual(['code', 'msg', 'correlation_id']);
  });

  it.each([
    ['garbage', 'Bearer garbage'],
    ['an empty bearer', 'Bearer '],
    ['a node signature', 'Bearer Cr abc:123'],
  ])('are anonymous with %s', async (_, header) => {
    const sim = testSimulator();
    expect((await request(sim.app).get(LIST).set('Authorization', header)).body).toEqual(LOGIN_REQUIRED);
  });

  it('are anonymous with the lower-case prefix "bearer "', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    expect((await request(sim.app).get(LIST).set('Authorization', `bearer ${access}`)).body).toEqual(LOGIN_REQUIRED);
  });

  it('are anonymous with an expired token', async () => {
    const sim = testSimulator();
    const token = await accessTokenFor(sim, 3, { exp: nowSeconds(sim) - 1 });
    expect((await request(sim.app).get(LIST).set('Authorization', `Bearer ${token}`)).body).toEqual(LOGIN_REQUIRED);
  });

  it('are anonymous once a token already used expires on the virtual clock, and valid once its nbf comes', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    expect((await request(sim.app).get(LIST).set('Authorization', `Bearer ${access}`)).body.code).toBe(0);
    await sim.clock.advance(3600 * 1000);
    expect((await request(sim.app).get(LIST).set('Authorization', `Bearer ${access}`)).body).toEqual(LOGIN_REQUIRED);
    const early = await accessTokenFor(sim, 3, { nbf: nowSeconds(sim) + 60 });
    expect((await request(sim.app).get(LIST).set('Authorization', `Bearer ${early}`)).body).toEqual(LOGIN_REQUIRED);
    await sim.clock.advance(60_000);
    expect((await request(sim.app).get(LIST).set('Authorization', `Bearer ${early}`)).body.code).toBe(0);
    expect((await request(sim.app).get(LIST).set('Authorization', `Bearer ${early}`)).body.code).toBe(0);
  });

  it('are anonymous with a token not valid yet (nbf in the future)', async () => {
    const sim = testSimulator();
    const token = await accessTokenFor(sim, 3, { nbf: nowSeconds(sim) + 60 });
    expect((await request(sim.app).get(LIST).set('Authorization', `Bearer ${token}`)).body).toEqual(LOGIN_REQUIRED);
  });

  it('are anonymous with a token signed by another secret', async () => {
    const sim = testSimulator();
    const now = nowSeconds(sim);
    const token = await forgeToken(
      { token_type: 'access', sub: sim.ids.encode('user', 3), exp: now + 3600, nbf: now },
      { secret: 'another secret' },
    );
    expect((await request(sim.app).get(LIST).set('Authorization', `Bearer ${token}`)).body).toEqual(LOGIN_REQUIRED);
  });

  it('are anonymous with an unsigned (alg none) token', async () => {
    const sim = testSimulator();
    const now = nowSeconds(sim);
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = `${part({ alg: 'none', typ: 'JWT' })}.${part({ token_type: 'access', sub: sim.ids.encode('user', 3), exp: now + 60, nbf: now })}.`;
    expect((await request(sim.app).get(LIST).set('Authorization', `Bearer ${token}`)).body).toEqual(LOGIN_REQUIRED);
  });

  it('get 401 before any binding error (no query at all)', async () => {
    const sim = testSimulator();
    expect((await request(sim.app).get('/api/v4/workflow')).body).toEqual(LOGIN_REQUIRED);
  });

  it('get 401 before a bad task id', async () => {
    const sim = testSimulator();
    expect((await request(sim.app).get('/api/v4/workflow/progress/not-a-task')).body).toEqual(LOGIN_REQUIRED);
  });

  it('can still ping and sign in', async () => {
    const sim = testSimulator();
    expect((await request(sim.app).get('/api/v4/site/ping')).body.code).toBe(0);
    expect((await signIn(sim, 'alice')).access).toBeTruthy();
  });
});

describe('valid access tokens', () => {
  it('are accepted with "Bearer "', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    expect((await request(sim.app).get(LIST).set('Authorization', `Bearer ${access}`)).body).toEqual(EMPTY_LIST);
  });

  it('are accepted bare, without "Bearer "', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    expect((await request(sim.app).get(LIST).set('Authorization', access)).body).toEqual(EMPTY_LIST);
  });

  it.each(['HS384', 'HS512'])('are accepted when signed with %s (any HMAC verifies)', async (alg) => {
    const sim = testSimulator();
    const now = nowSeconds(sim);
    const token = await forgeToken({ token_type: 'access', sub: sim.ids.encode('user', 3), exp: now + 60, nbf: now }, { alg });
    expect((await request(sim.app).get(LIST).set('Authorization', `Bearer ${token}`)).body).toEqual(EMPTY_LIST);
  });
});

describe('token errors beat everything', () => {
  it('a refresh token gets 40020 "Invalid token type" on a workflow route', async () => {
    const sim = testSimulator();
    const { refresh } = await signIn(sim, 'alice');
    const res = await request(sim.app).get(LIST).set('Authorization', `Bearer ${refresh}`);
    expect(res.body).toEqual({ code: 40020, msg: 'Invalid token type', correlation_id: expect.stringMatching(UUID_V4) });
    expect(res.headers['cache-control']).toBeUndefined();
  });

  it.each([
    ['GET', '/api/v4/site/ping'],
    ['POST', '/api/v4/session/token'],
    ['GET', '/api/v4/workflow'],
    ['GET', '/api/v4/workflow/progress/not-a-task'],
    ['PATCH', '/api/v4/workflow/download/zz!'],
    ['POST', '/api/v4/workflow/import'],
  ])('a refresh token gets 40020 on %s %s, before guards and binding', async (method, path) => {
    const sim = testSimulator();
    const { refresh } = await signIn(sim, 'alice');
    const res = await request(sim.app)[method.toLowerCase() as 'get'](path).set('Authorization', refresh).send('{');
    expect(res.body).toEqual({ code: 40020, msg: 'Invalid token type', correlation_id: expect.stringMatching(UUID_V4) });
  });

  it('a token of a banned user gets 50001 "failed to get login user"', async () => {
    const sim = testSimulator();
    const token = await accessTokenFor(sim, 5);
    const res = await request(sim.app).get(LIST).set('Authorization', `Bearer ${token}`);
    expect(res.body).toEqual({ code: 50001, msg: 'failed to get login user', correlation_id: expect.stringMatching(UUID_V4) });
    expect(res.headers['cache-control']).toBeUndefined();
  });

  it('a token of an inactive user gets 50001', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get(LIST).set('Authorization', await accessTokenFor(sim, 6));
    expect(res.body.code).toBe(50001);
  });

  it('a token of a user that does not exist gets 50001', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get(LIST).set('Authorization', await accessTokenFor(sim, 999));
    expect(res.body).toEqual({ code: 50001, msg: 'failed to get login user', correlation_id: expect.stringMatching(UUID_V4) });
  });

  it('a token whose sub is not a user hashid gets 404 "User not found"', async () => {
    const sim = testSimulator();
    const res = await request(sim.app)
      .get(LIST)
      .set('Authorization', await accessTokenFor(sim, 3, { sub: sim.ids.encode('task', 3) }));
    expect(res.body).toEqual({ code: 404, msg: 'User not found', correlation_id: expect.stringMatching(UUID_V4) });
  });

  it('a banned user’s token gets 50001 even on /site/ping', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get('/api/v4/site/ping').set('Authorization', await accessTokenFor(sim, 5));
    expect(res.body.code).toBe(50001);
  });
});

describe('admin guard', () => {
  it('answers a non-admin on import with 403 and an empty msg, before binding', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    const res = await request(sim.app).post('/api/v4/workflow/import').set('Authorization', access).send('{');
    expect(res.body).toEqual({ code: 403, msg: '', correlation_id: expect.stringMatching(UUID_V4) });
    expect(res.text.startsWith('{"code":403,"msg":"",')).toBe(true);
  });

  it('lets an admin through to binding', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'admin');
    const res = await request(sim.app).post('/api/v4/workflow/import').set('Authorization', access).send({});
    expect(res.body).toEqual({ code: 40001, msg: 'Src cannot be empty' });
  });
});

describe('task id guard', () => {
  it.each([
    ['garbage', 'not-a-task'],
    ['characters outside the alphabet', 'zz!'],
  ])('rejects %s with 40001 "Failed to parse object ID"', async (_, id) => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    const res = await request(sim.app).get(`/api/v4/workflow/progress/${encodeURIComponent(id)}`).set('Authorization', access);
    expect(res.body).toEqual({ code: 40001, msg: 'Failed to parse object ID', correlation_id: expect.stringMatching(UUID_V4) });
  });

  it.each([
    ['user', 1],
    ['node', 1],
    ['policy', 1],
  ] as const)('rejects the hashid of a %s', async (type, id) => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    const res = await request(sim.app).get(`/api/v4/workflow/progress/${sim.ids.encode(type, id)}`).set('Authorization', access);
    expect(res.body.msg).toBe('Failed to parse object ID');
  });

  it('rejects a hashid made under another salt', async () => {
    const sim = testSimulator();
    const other = testSimulator({ hashSalt: 'another salt' });
    const { access } = await signIn(sim, 'alice');
    const res = await request(sim.app).get(`/api/v4/workflow/progress/${other.ids.encode('task', 7)}`).set('Authorization', access);
    expect(res.body.msg).toBe('Failed to parse object ID');
  });

  it('accepts a task hashid', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    const res = await request(sim.app).get(`/api/v4/workflow/progress/${sim.ids.encode('task', 42)}`).set('Authorization', access);
    expect(res.body).toEqual(EMPTY_PROGRESS);
  });

  it('checks the id before the body (PATCH with a bad id and a bad body)', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    const res = await request(sim.app).patch('/api/v4/workflow/download/zz!').set('Authorization', access).send('{');
    expect(res.body).toEqual({ code: 40001, msg: 'Failed to parse object ID', correlation_id: expect.stringMatching(UUID_V4) });
  });
});
