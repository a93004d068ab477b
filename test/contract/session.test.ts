/**
 * POST /session/token, POST /session/token/refresh, DELETE /session/token (spec §14).
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { ACCOUNTS, signIn, testSimulator, UUID_V4 } from '../helpers.js';

const SIGN_IN = '/api/v4/session/token';
const REFRESH = '/api/v4/session/token/refresh';

describe('POST /session/token', () => {
  it.each([
    ['admin', 'admin', 1, 'Admin', '/RoB', 604800, '2025-04-26T07:19:38Z'],
    ['user', 'user', 2, 'User', 'hAg=', 604800, '2025-04-27T08:00:00Z'],
    ['alice', 'alice', 4, 'Member', 'tAo=', 259200, '2025-04-28T09:30:00Z'],
    ['carol', 'carol', 4, 'Member', 'tAo=', 259200, '2025-04-29T10:45:00Z'],
  ] as const)('signs in %s with the user object (its group’s trash retention included) and a token pair', async (who, nickname, groupId, group, permission, retention, createdAt) => {
    const sim = testSimulator();
    const { email, password, id } = ACCOUNTS[who];
    const res = await request(sim.app).post(SIGN_IN).send({ email, password });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual({
      code: 0,
      data: {
        user: {
          id: sim.ids.encode('user', id),
          email,
          nickname,
          status: 'active',
          created_at: createdAt,
          group: { id: sim.ids.encode('group', groupId), name: group, permission, trash_retention: retention },
        },
        token: {
          access_token: expect.any(String),
          refresh_token: expect.any(String),
          // Virtual time starts at 2025-05-20T04:00:00Z; access lives 1 h, refresh 14 days.
          access_expires: '2025-05-20T05:00:00Z',
          refresh_expires: '2025-06-03T04:00:00Z',
        },
      },
      msg: '',
    });
    // Key order of the envelope, user and token as the server writes them.
    expect(res.text).toMatch(/^\{"code":0,"data":\{"user":\{"id":"[^"]+","email":"[^"]+","nickname":"[^"]+","status":"active","created_at":"[^"]+","group":\{"id":"[^"]+","name":"[^"]+","permission":"[^"]+","trash_retention":\d+\}\},"token":\{"access_token":"[^"]+","refresh_token":"[^"]+","access_expires":"[^"]+","refresh_expires":"[^"]+"\}\},"msg":""\}$/);
  });

  it('issues HS256 tokens with the server claims in order (access: token_type, sub, exp, nbf)', async () => {
    const sim = testSimulator();
    const { access, refresh } = await signIn(sim, 'alice');
    const sub = sim.ids.encode('user', 3);
    const now = Math.floor(sim.clock.now() / 1000);
    expect(decodeProtectedHeader(access)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const accessClaims = decodeJwt(access);
    expect(accessClaims).toEqual({ token_type: 'access', sub, exp: now + 3600, nbf: now });
    expect(Object.keys(accessClaims)).toEqual(['token_type', 'sub', 'exp', 'nbf']);
    const refreshClaims = decodeJwt(refresh);
    expect(refreshClaims).toEqual({
      token_type: 'refresh',
      sub,
      exp: now + 1_209_600,
      nbf: now,
      state_hash: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
      root_token_id: expect.stringMatching(UUID_V4),
    });
    expect(Object.keys(refreshClaims)).toEqual(['token_type', 'sub', 'exp', 'nbf', 'state_hash', 'root_token_id']);
  });

  it('matches the email case-insensitively', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).post(SIGN_IN).send({ email: 'Alice@Cloudreve.org', password: 'alicepass' });
    expect(res.body.code).toBe(0);
  });

  it.each([
    ['a wrong password', { email: 'alice@cloudreve.org', password: 'wrong-pass' }],
    ['an unknown email', { email: 'nobody@cloudreve.org', password: 'whatever' }],
  ])('answers 40080 for %s', async (_, body) => {
    const sim = testSimulator();
    const res = await request(sim.app).post(SIGN_IN).send(body);
    expect(res.body).toEqual({ code: 40080, msg: 'Incorrect password or email address', correlation_id: expect.stringMatching(UUID_V4) });
  });

  it('answers 40017 for a banned account with the right password', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).post(SIGN_IN).send(ACCOUNTS.banned);
    expect(res.body).toEqual({ code: 40017, msg: 'This account has been blocked', correlation_id: expect.stringMatching(UUID_V4) });
  });

  it('answers 40080, not 40017, for a banned account with a wrong password', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).post(SIGN_IN).send({ email: ACCOUNTS.banned.email, password: 'nope-nope' });
    expect(res.body.code).toBe(40080);
  });

  it('answers 40018 for an inactive account', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).post(SIGN_IN).send(ACCOUNTS.inactive);
    expect(res.body).toEqual({ code: 40018, msg: 'This account is not activated', correlation_id: expect.stringMatching(UUID_V4) });
  });

  it.each([
    [{}, 'Email cannot be empty'],
    [{ password: 'alicepass' }, 'Email cannot be empty'],
    [{ email: '', password: 'alicepass' }, 'Email cannot be empty'],
    [{ email: null, password: 'alicepass' }, 'Email cannot be empty'],
    [{ email: 'x', password: '12345' }, 'Email format error'],
    [{ email: 'x', password: '1' }, 'Email format error'],
    [{ email: 'alice@cloudreve.org' }, 'Password cannot be empty'],
    [{ email: 'alice@cloudreve.org', password: '' }, 'Password cannot be empty'],
    [{ email: 'alice@cloudreve.org', password: '123' }, 'Password too short'],
    [{ email: 'alice@cloudreve.org', password: 'x'.repeat(129) }, 'Password too long'],
    [{ email: 1, password: '' }, 'JSON marshall error'],
    [{ email: 'alice@cloudreve.org', password: 1234 }, 'JSON marshall error'],
    [{ email: 'alice@cloudreve.org', password: 'alicepass', captcha: 5 }, 'JSON marshall error'],
  ])('binding: %j → "%s", without correlation_id', async (body, msg) => {
    const sim = testSimulator();
    const res = await request(sim.app).post(SIGN_IN).send(body);
    expect(res.body).toEqual({ code: 40001, msg });
  });

  it('accepts a 128-character password rule boundary (fails only on credentials)', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).post(SIGN_IN).send({ email: 'alice@cloudreve.org', password: 'x'.repeat(128) });
    expect(res.body.code).toBe(40080);
  });

  it('ignores unknown keys in the body', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).post(SIGN_IN).send({ ...ACCOUNTS.alice, remember: true, extra: { a: 1 } });
    expect(res.body.code).toBe(0);
  });
});

describe('POST /session/token/refresh', () => {
  it('returns a new token pair, and the refresh token can be used again', async () => {
    const sim = testSimulator();
    const { refresh } = await signIn(sim, 'alice');
    await sim.clock.advance(30_000);
    const first = await request(sim.app).post(REFRESH).send({ refresh_token: refresh });
    expect(first.body).toEqual({
      code: 0,
      data: {
        access_token: expect.any(String),
        refresh_token: expect.any(String),
        access_expires: '2025-05-20T05:00:30Z',
        refresh_expires: '2025-06-03T04:00:30Z',
      },
      msg: '',
    });
    await sim.clock.advance(1_000);
    const second = await request(sim.app).post(REFRESH).send({ refresh_token: refresh });
    expect(second.body.code).toBe(0);
    expect(second.body.data.access_token).not.toBe(first.body.data.access_token);
    // The new access token works.
    const list = await request(sim.app)
      .get('/api/v4/workflow?page_size=10&category=general')
      .set('Authorization', `Bearer ${second.body.data.access_token}`);
    expect(list.body.code).not.toBe(401);
  });

  it('keeps the sign-in (root_token_id) across refreshes', async () => {
    const sim = testSimulator();
    const { refresh } = await signIn(sim, 'alice');
    const res = await request(sim.app).post(REFRESH).send({ refresh_token: refresh });
    expect(decodeJwt(res.body.data.refresh_token).root_token_id).toBe(decodeJwt(refresh).root_token_id);
  });

  it('lets parallel refreshes with the same refresh token all succeed (the web UI sends them)', async () => {
    const sim = testSimulator();
    const { refresh } = await signIn(sim, 'alice');
    await sim.clock.advance(60_000);
    const replies = await Promise.all(Array.from({ length: 5 }, () => request(sim.app).post(REFRESH).send({ refresh_token: refresh })));
    for (const res of replies) {
      expect(res.body).toEqual({
        code: 0,
        data: {
          access_token: expect.any(String),
          refresh_token: expect.any(String),
          access_expires: '2025-05-20T05:01:00Z',
          refresh_expires: '2025-06-03T04:01:00Z',
        },
        msg: '',
      });
      const capacity = await request(sim.app).get('/api/v4/user/capacity').set('Authorization', `Bearer ${res.body.data.access_token}`);
      expect(capacity.body.code).toBe(0);
    }
    // Every pair's refresh token keeps working, and so does the original one.
    const again = await Promise.all(
      [refresh, ...replies.map((r) => r.body.data.refresh_token as string)].map((t) => request(sim.app).post(REFRESH).send({ refresh_token: t })),
    );
    expect(again.map((r) => r.body.code)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('answers 40020 "Failed to issue token pair" for an access token', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    const res = await request(sim.app).post(REFRESH).send({ refresh_token: access });
    expect(res.body).toEqual({ code: 40020, msg: 'Failed to issue token pair', correlation_id: expect.stringMatching(UUID_V4) });
  });

  it.each(['garbage', 'a.b.c'])('answers 40020 "Failed to issue token pair" for %s', async (token) => {
    const sim = testSimulator();
    const res = await request(sim.app).post(REFRESH).send({ refresh_token: token });
    expect(res.body).toEqual({ code: 40020, msg: 'Failed to issue token pair', correlation_id: expect.stringMatching(UUID_V4) });
  });

  it('answers 40020 once the refresh token has expired (14 days of simulated time)', async () => {
    const sim = testSimulator();
    const { refresh } = await signIn(sim, 'alice');
    await sim.clock.advance(1_209_600_000 + 1_000);
    const res = await request(sim.app).post(REFRESH).send({ refresh_token: refresh });
    expect(res.body.code).toBe(40020);
  });

  it('answers 40020 "Invalid token type" when the refresh token is sent as Authorization', async () => {
    const sim = testSimulator();
    const { refresh } = await signIn(sim, 'alice');
    const res = await request(sim.app).post(REFRESH).set('Authorization', `Bearer ${refresh}`).send({ refresh_token: refresh });
    expect(res.body).toEqual({ code: 40020, msg: 'Invalid token type', correlation_id: expect.stringMatching(UUID_V4) });
  });

  it.each([
    [{}, 'RefreshToken cannot be empty'],
    [{ refresh_token: '' }, 'RefreshToken cannot be empty'],
    [{ refresh_token: 5 }, 'JSON marshall error'],
  ])('binding: %j → "%s"', async (body, msg) => {
    const sim = testSimulator();
    const res = await request(sim.app).post(REFRESH).send(body);
    expect(res.body).toEqual({ code: 40001, msg });
  });
});

describe('DELETE /session/token', () => {
  it('signs out with data "" and revokes the refresh token', async () => {
    const sim = testSimulator();
    const { refresh, access } = await signIn(sim, 'alice');
    const out = await request(sim.app).delete(SIGN_IN).send({ refresh_token: refresh });
    expect(out.text).toBe('{"code":0,"data":"","msg":""}');
    const again = await request(sim.app).post(REFRESH).send({ refresh_token: refresh });
    expect(again.body).toEqual({ code: 40020, msg: 'Failed to issue token pair', correlation_id: expect.stringMatching(UUID_V4) });
    // Access tokens stay valid until they expire.
    const list = await request(sim.app).get('/api/v4/workflow?page_size=10&category=general').set('Authorization', access);
    expect(list.body.code).not.toBe(401);
  });

  it('revokes every refresh token descending from the same sign-in, and no other', async () => {
    const sim = testSimulator();
    const one = await signIn(sim, 'alice');
    const other = await signIn(sim, 'alice');
    const child = await request(sim.app).post(REFRESH).send({ refresh_token: one.refresh });
    await request(sim.app).delete(SIGN_IN).send({ refresh_token: one.refresh });
    expect((await request(sim.app).post(REFRESH).send({ refresh_token: child.body.data.refresh_token })).body.code).toBe(40020);
    expect((await request(sim.app).post(REFRESH).send({ refresh_token: other.refresh })).body.code).toBe(0);
  });

  it('answers 40020 "Failed to parse token" for a token that does not parse', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).delete(SIGN_IN).send({ refresh_token: 'garbage' });
    expect(res.body).toEqual({ code: 40020, msg: 'Failed to parse token', correlation_id: expect.stringMatching(UUID_V4) });
  });

  it('binding: {} → "RefreshToken cannot be empty"', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).delete(SIGN_IN).send({});
    expect(res.body).toEqual({ code: 40001, msg: 'RefreshToken cannot be empty' });
  });
});

describe('token lifetimes', () => {
  it('lets access tokens expire on the simulated clock (1 hour by default)', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    const list = () => request(sim.app).get('/api/v4/workflow?page_size=10&category=general').set('Authorization', `Bearer ${access}`);
    await sim.clock.advance(3_599_000);
    expect((await list()).body.code).not.toBe(401);
    await sim.clock.advance(1_000);
    expect((await list()).body).toEqual({ code: 401, msg: 'Login required', correlation_id: expect.stringMatching(UUID_V4) });
  });

  it('takes both lifetimes from options', async () => {
    const sim = testSimulator({ accessTokenTtl: 60, refreshTokenTtl: 120 });
    const { body } = await signIn(sim, 'alice');
    expect(body.data.token.access_expires).toBe('2025-05-20T04:01:00Z');
    expect(body.data.token.refresh_expires).toBe('2025-05-20T04:02:00Z');
  });

  it('writes token expiries with the configured UTC offset and fractional seconds', async () => {
    const sim = testSimulator({ utcOffset: '+08:00', startTime: '2025-05-20T04:43:28.791Z' });
    const { body } = await signIn(sim, 'alice');
    expect(body.data.token.access_expires).toBe('2025-05-20T13:43:28.791+08:00');
    expect(body.data.user.created_at).toBe('2025-04-28T17:30:00+08:00');
  });
});
