/**
 * Transport and envelope rules (spec §1.1–§1.5): routing, plain-text 404, envelope key order,
 * correlation ids, Cache-Control, body decoding.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { signIn, testSimulator, UUID_V4 } from '../helpers.js';

describe('routing', () => {
  it.each([
    ['GET', '/api/v4/workflow/nope'],
    ['GET', '/nope'],
    ['GET', '/api/v4'],
    ['PUT', '/api/v4/workflow/archive'],
    ['GET', '/api/v4/workflow/archive'],
    ['GET', '/api/v4/workflow/download'],
    ['GET', `/api/v4/workflow/download/abc`],
    ['DELETE', '/api/v4/workflow/download'],
    ['POST', '/api/v4/workflow/relocate'],
    ['POST', '/api/v4/workflow/rebuildFtsIndex'],
    ['GET', '/api/v4/Workflow?page_size=10&category=general'],
    ['GET', '/API/V4/site/ping'],
  ])('%s %s → HTTP 404, text/plain "404 page not found" (no JSON, no 405)', async (method, path) => {
    const sim = testSimulator();
    const res = await request(sim.app)[method.toLowerCase() as 'get'](path);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(res.text).toBe('404 page not found');
    expect(res.headers['cache-control']).toBeUndefined();
  });

  it.each([
    ['GET', '/api/v4/file/content/%ZZ/0/a.txt'],
    ['GET', '/api/v4/workflow/progress/%'],
    ['GET', '/api/v4/user/avatar/%FF'],
    ['POST', '/api/v4/file/upload/x/%E0%A4%A'],
    ['GET', '/nope/%zz'],
  ])('%s %s (a path that does not percent-decode) → HTTP 400, text/plain "400 Bad Request", as Go answers', async (method, path) => {
    const sim = testSimulator();
    const res = await request(sim.app)[method.toLowerCase() as 'get'](path);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.text).toBe('400 Bad Request');
  });

  it.each(['HEAD', 'OPTIONS'])('%s on a GET route → the plain-text 404 (express would answer it itself)', async (method) => {
    const sim = testSimulator();
    const res = await request(sim.app)[method.toLowerCase() as 'head']('/api/v4/site/ping');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(res.headers.allow).toBeUndefined();
  });

  it('answers the plain-text 404 to unknown routes whatever the token', async () => {
    const sim = testSimulator();
    const { refresh } = await signIn(sim, 'alice');
    const res = await request(sim.app).get('/api/v4/workflow/nope').set('Authorization', refresh);
    expect(res.status).toBe(404);
    expect(res.text).toBe('404 page not found');
  });

  it('serves POST /workflow/reloacte (the real spelling) only in the pro edition', async () => {
    const sim = testSimulator({ edition: 'pro' });
    const { access } = await signIn(sim, 'alice');
    const res = await request(sim.app).post('/api/v4/workflow/reloacte').set('Authorization', access).send({});
    expect(res.body).toEqual({ code: 40001, msg: 'Src cannot be empty' });
    const typo = await request(sim.app).post('/api/v4/workflow/relocate').set('Authorization', access).send({});
    expect(typo.status).toBe(404);
    const community = testSimulator({ edition: 'community' });
    const plain = await request(community.app).post('/api/v4/workflow/reloacte').send({});
    expect([plain.status, plain.headers['content-type'], plain.text]).toEqual([404, 'text/plain', '404 page not found']);
  });
});

describe('GET /site/ping', () => {
  it('answers the version, keys in order', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get('/api/v4/site/ping');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.text).toBe('{"code":0,"data":"4.18.0-pro","msg":""}');
  });

  it('appends -pro in the pro edition and reports the configured version', async () => {
    const sim = testSimulator({ edition: 'pro', version: '4.17.1' });
    expect((await request(sim.app).get('/api/v4/site/ping')).text).toBe('{"code":0,"data":"4.17.1-pro","msg":""}');
  });

  it('ignores a body and a query', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get('/api/v4/site/ping?x=1').send('{');
    expect(res.text).toBe('{"code":0,"data":"4.18.0-pro","msg":""}');
  });
});

describe('the envelope', () => {
  it('puts error keys in the order code, msg, correlation_id and never sends "error" outside debug mode', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get('/api/v4/workflow?page_size=10&category=general');
    expect(res.text).toMatch(/^\{"code":401,"msg":"Login required","correlation_id":"[0-9a-f-]{36}"\}$/);
  });

  it('sends a success with exactly code, data, msg', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).post('/api/v4/session/token').send({ email: 'alice@cloudreve.org', password: 'alicepass' });
    expect(Object.keys(res.body)).toEqual(['code', 'data', 'msg']);
  });

  it('sends binding errors without correlation_id', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).post('/api/v4/session/token').send({});
    expect(res.text).toBe('{"code":40001,"msg":"Email cannot be empty"}');
  });

  it('adds the raw error text as "error" in debug mode, where there is one', async () => {
    const sim = testSimulator({ debug: true });
    const res = await request(sim.app).get('/api/v4/workflow?page_size=10&category=general');
    expect(res.body).toEqual({ code: 401, msg: 'Login required', correlation_id: expect.stringMatching(UUID_V4) });
  });
});

describe('correlation ids', () => {
  const PATH = '/api/v4/workflow?page_size=10&category=general';

  it('echo a valid X-Cr-Correlation-Id', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get(PATH).set('X-Cr-Correlation-Id', '5b0f5f05-451e-4dcd-9c65-474315dd7d20');
    expect(res.body.correlation_id).toBe('5b0f5f05-451e-4dcd-9c65-474315dd7d20');
    expect(res.headers['x-cr-correlation-id']).toBeUndefined();
  });

  it.each([
    '5B0F5F05-451E-4DCD-9C65-474315DD7D20',
    '{5b0f5f05-451e-4dcd-9c65-474315dd7d20}',
    'urn:uuid:5b0f5f05-451e-4dcd-9c65-474315dd7d20',
    '5b0f5f05451e4dcd9c65474315dd7d20',
  ])('are written in canonical lower-case form (header %s)', async (header) => {
    const sim = testSimulator();
    const res = await request(sim.app).get(PATH).set('X-Cr-Correlation-Id', header);
    expect(res.body.correlation_id).toBe('5b0f5f05-451e-4dcd-9c65-474315dd7d20');
  });

  it.each(['abc', '5b0f5f05-451e-4dcd-9c65-474315dd7d2', 'zzzzzzzz-451e-4dcd-9c65-474315dd7d20'])(
    'are a fresh UUID v4 when the header (%s) is not a UUID',
    async (header) => {
      const sim = testSimulator();
      const res = await request(sim.app).get(PATH).set('X-Cr-Correlation-Id', header);
      expect(res.body.correlation_id).toMatch(UUID_V4);
    },
  );

  it('differ between requests', async () => {
    const sim = testSimulator();
    const a = await request(sim.app).get(PATH);
    const b = await request(sim.app).get(PATH);
    expect(a.body.correlation_id).not.toBe(b.body.correlation_id);
  });

  it('are reproducible with a seed', async () => {
    const one = testSimulator({ seed: 'same' });
    const two = testSimulator({ seed: 'same' });
    const a = await request(one.app).get(PATH);
    const b = await request(two.app).get(PATH);
    expect(a.body.correlation_id).toBe(b.body.correlation_id);
  });
});

describe('Cache-Control', () => {
  it('is "private, no-cache" on every answer past token checking, errors included', async () => {
    const sim = testSimulator();
    for (const res of [
      await request(sim.app).get('/api/v4/site/ping'),
      await request(sim.app).get('/api/v4/workflow?page_size=10&category=general'),
      await request(sim.app).post('/api/v4/session/token').send({}),
    ]) {
      expect(res.headers['cache-control']).toBe('private, no-cache');
    }
  });
});

describe('request bodies', () => {
  const SIGN_IN = '/api/v4/session/token';

  it('are read as JSON whatever the Content-Type says', async () => {
    const sim = testSimulator();
    const res = await request(sim.app)
      .post(SIGN_IN)
      .set('Content-Type', 'text/plain')
      .send(JSON.stringify({ email: 'alice@cloudreve.org', password: 'alicepass' }));
    expect(res.body.code).toBe(0);
  });

  it('are read as JSON without a Content-Type', async () => {
    const sim = testSimulator();
    const res = await request(sim.app)
      .post(SIGN_IN)
      .set('Content-Type', '')
      .send(Buffer.from(JSON.stringify({ email: 'alice@cloudreve.org', password: 'alicepass' })));
    expect(res.body.code).toBe(0);
  });

  it.each([
    ['malformed JSON', '{'],
    ['an empty body', ''],
    ['whitespace only', '   '],
    ['trailing garbage', '{"email":"a@b.c"} x'],
  ])('→ "Parameter error" for %s', async (_, body) => {
    const sim = testSimulator();
    const res = await request(sim.app).post(SIGN_IN).set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"code":40001,"msg":"Parameter error"}');
  });

  it.each([
    ['an array', '[]'],
    ['a string', '"x"'],
    ['a number', '1'],
  ])('→ "JSON marshall error" for %s at the top level', async (_, body) => {
    const sim = testSimulator();
    const res = await request(sim.app).post(SIGN_IN).set('Content-Type', 'application/json').send(body);
    expect(res.text).toBe('{"code":40001,"msg":"JSON marshall error"}');
  });

  it('treat a JSON null body like an empty object', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).post(SIGN_IN).set('Content-Type', 'application/json').send('null');
    expect(res.text).toBe('{"code":40001,"msg":"Email cannot be empty"}');
  });

  it('→ "Parameter error" when larger than the body limit, without hanging', async () => {
    const sim = testSimulator({ bodyLimit: 1024 });
    const big = JSON.stringify({ email: 'alice@cloudreve.org', password: 'x'.repeat(5000) });
    const res = await request(sim.app).post(SIGN_IN).set('Content-Type', 'application/json').send(big);
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"code":40001,"msg":"Parameter error"}');
  });

  it('→ "Parameter error" for a 2 MiB body with the default limit, over a real socket', async () => {
    const sim = testSimulator();
    const url = await sim.listen(0);
    const res = await fetch(`${url}/api/v4/session/token`, { method: 'POST', body: 'a'.repeat(2 * 1024 * 1024) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"code":40001,"msg":"Parameter error"}');
  });

  it('→ "Parameter error" for bytes that are not UTF-8 JSON', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).post(SIGN_IN).set('Content-Type', 'application/octet-stream').send(Buffer.from([0xff, 0xfe, 0x00]));
    expect(res.text).toBe('{"code":40001,"msg":"Parameter error"}');
  });
});
