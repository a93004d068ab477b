/**
 * Tokens for tests (POST /__sim/tokens, sim.mintToken) and the safety of the control plane:
 * the control token, `control: false`, the served contract, and no change to the Cloudreve
 * API's wire behaviour without a fault.
 */
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { ACCOUNTS, testSimulator } from '../helpers.js';
import { cid, clockBody, ctl, LIST, NAMESPACE_HEADER, START_MS } from './helpers.js';

const PING = '/api/v4/site/ping';
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;
const EMPTY_LIST = { code: 0, data: { tasks: [], pagination: { page: 0, page_size: 10, is_cursor: true } }, msg: '' };
const listWith = (sim: ReturnType<typeof testSimulator>, token: string) => request(sim.app).get(LIST).set('Authorization', `Bearer ${token}`);

describe('POST /__sim/tokens', () => {
  it('mints a working token pair for alice without signing in', async () => {
    const sim = testSimulator();
    const res = await ctl(sim).post('/tokens', { email: ACCOUNTS.alice.email });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      user_id: sim.ids.encode('user', ACCOUNTS.alice.id),
      access_token: expect.stringMatching(JWT),
      refresh_token: expect.stringMatching(JWT),
      access_expires: '2025-05-20T05:00:00Z',
      refresh_expires: '2025-06-03T04:00:00Z',
    });
    expect((await listWith(sim, res.body.access_token)).body).toEqual(EMPTY_LIST);
    const refreshed = await request(sim.app).post('/api/v4/session/token/refresh').send({ refresh_token: res.body.refresh_token });
    expect(refreshed.body.code).toBe(0);
    // Minting is not a request to the API: nothing is journaled.
    expect(sim.journal.entries().map((e) => e.path)).toEqual(['/api/v4/workflow', '/api/v4/session/token/refresh']);
  });

  it('mints tokens for the banned account too, which the API refuses with 50001', async () => {
    const sim = testSimulator();
    const res = await ctl(sim).post('/tokens', { email: ACCOUNTS.banned.email });
    expect(res.status).toBe(200);
    expect(res.body.user_id).toBe(sim.ids.encode('user', ACCOUNTS.banned.id));
    expect((await listWith(sim, res.body.access_token)).body).toEqual({ code: 50001, msg: 'failed to get login user', correlation_id: cid });
  });

  it('answers 404 {error} for an unknown email', async () => {
    const sim = testSimulator();
    const res = await ctl(sim).post('/tokens', { email: 'nobody@cloudreve.org' });
    expect([res.status, res.body]).toEqual([404, { error: 'No account with email "nobody@cloudreve.org".' }]);
  });

  it('answers 400 {error} without an email', async () => {
    const sim = testSimulator();
    const res = await ctl(sim).post('/tokens', {});
    expect([res.status, res.body]).toEqual([400, { error: expect.stringContaining('email') }]);
  });

  it('mints on the world’s clock: a token minted in a namespace whose clock moved expires an hour after that time', async () => {
    const sim = testSimulator();
    await ctl(sim, 'later').advance(3_600_000);
    const res = await ctl(sim, 'later').post('/tokens', { email: ACCOUNTS.alice.email });
    expect(res.body.access_expires).toBe('2025-05-20T06:00:00Z');
    const list = await request(sim.app).get(LIST).set(NAMESPACE_HEADER, 'later').set('Authorization', `Bearer ${res.body.access_token}`);
    expect(list.body).toEqual(EMPTY_LIST);
  });
});

describe('sim.mintToken in-process', () => {
  it('gives the same pair as POST /__sim/tokens, and throws for an unknown email', async () => {
    const sim = testSimulator();
    const minted = await sim.mintToken(ACCOUNTS.carol.email);
    expect(minted).toEqual({
      user_id: sim.ids.encode('user', ACCOUNTS.carol.id),
      access_token: expect.stringMatching(JWT),
      refresh_token: expect.stringMatching(JWT),
      access_expires: '2025-05-20T05:00:00Z',
      refresh_expires: '2025-06-03T04:00:00Z',
    });
    expect((await listWith(sim, minted.access_token)).body).toEqual(EMPTY_LIST);
    await expect(sim.mintToken('nobody@cloudreve.org')).rejects.toThrow('No account with email "nobody@cloudreve.org".');
    await expect(sim.namespace('ns').mintToken(ACCOUNTS.admin.email)).resolves.toMatchObject({ user_id: sim.ids.encode('user', ACCOUNTS.admin.id) });
  });
});

describe('the control token', () => {
  it('refuses calls without a bearer or with a wrong one (401 {error}) and accepts the right one', async () => {
    const sim = testSimulator({ controlToken: 's3cret' });
    const refused = { error: 'This control plane needs Authorization: Bearer <control token>.' };
    for (const auth of [undefined, 'Bearer wrong', 's3cret', 'Basic czNjcmV0']) {
      const t = request(sim.app).get('/__sim/clock');
      const res = await (auth === undefined ? t : t.set('Authorization', auth));
      expect([res.status, res.body]).toEqual([401, refused]);
    }
    const reset = await request(sim.app).post('/__sim/reset');
    expect([reset.status, reset.body]).toEqual([401, refused]);
    const ok = await request(sim.app).get('/__sim/clock').set('Authorization', 'Bearer s3cret');
    expect([ok.status, ok.body]).toEqual([200, clockBody()]);
    const advanced = await request(sim.app).post('/__sim/clock/advance').set('Authorization', 'Bearer s3cret').send({ ms: 1_000 });
    expect(advanced.body).toEqual(clockBody({ now_ms: START_MS + 1_000 }));
  });

  it('leaves the Cloudreve API alone: no control token is needed, and user tokens work as before', async () => {
    const sim = testSimulator({ controlToken: 's3cret' });
    expect((await request(sim.app).get(PING)).text).toBe('{"code":0,"data":"4.18.0-pro","msg":""}');
    const signIn = await request(sim.app).post('/api/v4/session/token').send({ email: ACCOUNTS.alice.email, password: ACCOUNTS.alice.password });
    expect(signIn.body.code).toBe(0);
    expect((await listWith(sim, signIn.body.data.token.access_token)).body).toEqual(EMPTY_LIST);
    // The control token is not a user token.
    expect((await request(sim.app).get(LIST).set('Authorization', 'Bearer s3cret')).body).toEqual({ code: 401, msg: 'Login required', correlation_id: cid });
  });
});

describe('control: false', () => {
  it('removes /__sim: every control route answers the API’s plain-text 404', async () => {
    const sim = testSimulator({ control: false });
    for (const res of [
      await request(sim.app).get('/__sim/clock'),
      await request(sim.app).post('/__sim/reset'),
      await request(sim.app).post('/__sim/tokens').send({ email: ACCOUNTS.alice.email }),
      await request(sim.app).get('/__sim/openapi.yaml'),
    ]) {
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toBe('text/plain');
      expect(res.text).toBe('404 page not found');
    }
    expect((await request(sim.app).get(PING)).body.code).toBe(0);
  });

  it('still honours X-Sim-Namespace on the API', async () => {
    const sim = testSimulator({ control: false });
    expect((await request(sim.app).get(PING).set(NAMESPACE_HEADER, 'a')).body.code).toBe(0);
    expect(sim.namespaces()).toEqual(['default', 'a']);
  });
});

describe('GET /__sim/openapi.yaml', () => {
  it('returns the control contract text as YAML', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get('/__sim/openapi.yaml').buffer(true).parse((r, cb) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (text += c));
      r.on('end', () => cb(null, text));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/yaml; charset=utf-8');
    expect(res.body).toBe(readFileSync(new URL('../../openapi/control.yaml', import.meta.url), 'utf8'));
    expect(res.body).toMatch(/^openapi: 3\.1\.0\n/);
  });

  it('answers 404 {error} for an unknown control route', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get('/__sim/nothing');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: expect.any(String) });
  });
});

describe('the API’s wire behaviour without faults', () => {
  it('is the same before and after using /__sim (ping, unknown path, OPTIONS, 401): status, headers and body', async () => {
    const sim = testSimulator();
    const probe = async () => {
      const out = [];
      for (const res of [
        await request(sim.app).get(PING),
        await request(sim.app).get('/api/v4/nope'),
        await request(sim.app).options(PING),
        await request(sim.app).get(LIST).set('X-Cr-Correlation-Id', '0f6c8a3e-1111-4222-8333-944445555666'),
      ]) {
        const { date: _date, ...headers } = res.headers;
        out.push({ status: res.status, headers, text: res.text });
      }
      return out;
    };
    const before = await probe();
    expect(before[0]).toEqual({
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'private, no-cache', 'content-length': '39', connection: 'close' },
      text: '{"code":0,"data":"4.18.0-pro","msg":""}',
    });

    await ctl(sim).get('/clock');
    await ctl(sim).get('/journal');
    await ctl(sim).get('/faults');
    await ctl(sim).post('/tokens', { email: ACCOUNTS.alice.email });
    await ctl(sim).post('/clock/speed', { speed: 2 });
    await ctl(sim, 'other').get('/clock');
    await ctl(sim).post('/faults', { request: { path: '/api/v4/elsewhere' }, envelope: { code: 1 } });
    await ctl(sim).delete('/journal');
    await ctl(sim).post('/reset');

    expect(await probe()).toEqual(before);
  });

  it('keeps /api/v4 routing and the journal out of /__sim, and /__sim out of the API', async () => {
    const sim = testSimulator();
    expect((await request(sim.app).get('/api/v4/__sim/clock')).text).toBe('404 page not found');
    expect((await request(sim.app).get('/__sim/api/v4/site/ping')).status).toBe(404);
    expect(sim.journal.entries().map((e) => e.path)).toEqual(['/api/v4/__sim/clock']);
  });
});
