/**
 * Transport and envelope rules (spec §1.1–§1.5): routing, plain-text 404, envelope key order,
 * correlation ids, Cache-Control, body decoding.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { as, signIn, testSimulator, UUID_V4 } from '../helpers.js';

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

  describe('a trailing slash (spec W§1.1), redirected before the route runs, as Go writes it', () => {
    it('GET → 301 to the path without it, the query kept, a short HTML body; no token check, no Cache-Control', async () => {
      const sim = testSimulator();
      const res = await request(sim.app).get('/api/v4/workflow/?category=general&page_size=10').set('Authorization', 'Bearer garbage');
      expect(res.status).toBe(301);
      expect(res.headers.location).toBe('/api/v4/workflow?category=general&page_size=10');
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.text).toBe('<a href="/api/v4/workflow?category=general&amp;page_size=10">Moved Permanently</a>.\n\n');
      expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.text)));
      expect(res.headers['cache-control']).toBeUndefined();
      const ping = await request(sim.app).get('/api/v4/site/ping/');
      expect([ping.status, ping.headers.location]).toEqual([301, '/api/v4/site/ping']);
    });

    it('any other method → 307 without a body, and the route does nothing', async () => {
      const sim = testSimulator();
      const alice = await as(sim, 'alice');
      const res = await alice.post('/workflow/archive/', { src: ['cloudreve://my/notes.txt'], dst: 'cloudreve://my/out.zip' });
      expect([res.status, res.headers.location, res.headers['content-type'], res.headers['content-length'], res.text]).toEqual([307, '/api/v4/workflow/archive', undefined, '0', '']);
      expect((await alice.list('general')).tasks).toEqual([]);
      const patch = await alice.patch('/workflow/download/abc/', { files_to_download: [] });
      expect([patch.status, patch.headers.location]).toEqual([307, '/api/v4/workflow/download/abc']);
    });

    it('reaches routes with path parameters; the path is re-escaped as Go escapes a path', async () => {
      const sim = testSimulator();
      const location = async (path: string) => (await request(sim.app).get(path)).headers.location;
      expect(await location('/api/v4/workflow/progress/abc/')).toBe('/api/v4/workflow/progress/abc');
      expect(await location('/api/v4/workflow/progress/a%20b/')).toBe('/api/v4/workflow/progress/a%20b');
      expect(await location('/api/v4/workflow/progress/%7Eme/')).toBe('/api/v4/workflow/progress/~me');
      expect(await location('/api/v4/workflow/progress/a!b%21/')).toBe('/api/v4/workflow/progress/a%21b%21');
      expect(await location('/api/v4/workflow/progress/%C3%A9t%C3%A9/?x=%3cy%3E&z')).toBe('/api/v4/workflow/progress/%C3%A9t%C3%A9?x=%3cy%3E&z');
      expect((await request(sim.app).get('/api/v4/workflow/progress/%3Cb%3E/')).text).toBe('<a href="/api/v4/workflow/progress/%3Cb%3E">Moved Permanently</a>.\n\n');
    });

    it('puts a sanitized X-Forwarded-Prefix in front, as the router does behind a proxy', async () => {
      const sim = testSimulator();
      const behind = (prefix: string) => request(sim.app).get('/api/v4/site/ping/').set('X-Forwarded-Prefix', prefix);
      expect((await behind('/cloud')).headers.location).toBe('/cloud/api/v4/site/ping');
      expect((await behind('/cloud/')).headers.location).toBe('/cloud/api/v4/site/ping');
      expect((await behind('/a b<>/x_y')).headers.location).toBe('/ab/xy/api/v4/site/ping');
      expect((await behind('.')).headers.location).toBe('/api/v4/site/ping');
    });

    it.each([
      ['GET', '/api/v4/workflow//?category=general&page_size=10'],
      ['GET', '/api/v4/nope/'],
      ['PUT', '/api/v4/workflow/archive/'],
      ['HEAD', '/api/v4/site/ping/'],
      ['GET', '/api/v4/Workflow/'],
      ['GET', '/api/v4/workflow/progress//'],
    ])('%s %s (no route less one slash) → the plain-text 404', async (method, path) => {
      const sim = testSimulator();
      const res = await request(sim.app)[method.toLowerCase() as 'get'](path);
      expect([res.status, res.headers['content-type'], res.headers.location]).toEqual([404, 'text/plain', undefined]);
    });

    it('leaves a Pro route on the community edition to the plain-text 404', async () => {
      const community = testSimulator({ edition: 'community' });
      const res = await request(community.app).post('/api/v4/workflow/reloacte/').send({});
      expect([res.status, res.text]).toEqual([404, '404 page not found']);
    });
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
