/**
 * A built web frontend on the API's origin (`web`, `--web`): static files, the SPA fallback,
 * `index.html` with the site's placeholders filled in, `/manifest.json`; and CORS for a
 * frontend on another origin (`cors`, `--cors`). The API and the control plane do not change.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator } from '../src/index.js';
import { findWebUi } from './browser/setup.js';
import { signIn, testSimulator } from './helpers.js';

const INDEX = [
  '<!doctype html><html><head>',
  '<link rel="shortcut icon" href="{pwa_small_icon}" sizes="64x64" />',
  '<meta name="description" content="{siteDes}" />',
  '<title>{siteName}</title><script>window.subTitle = "{siteName}";</script>',
  '<style>.logo { background-image: url("{pwa_medium_icon}"); }</style>',
  '<script type="module" src="/assets/index-AbC123.js"></script>',
  '</head><body><div id="root"></div></body>{siteScript}</html>',
].join('\n');

/** INDEX as the simulator serves it. */
const FILLED = [
  '<!doctype html><html><head>',
  '<link rel="shortcut icon" href="/static/img/favicon.ico" sizes="64x64" />',
  '<meta name="description" content="Cloudreve Workflow Simulator" />',
  '<title>Cloudreve</title><script>window.subTitle = "Cloudreve";</script>',
  '<style>.logo { background-image: url("/static/img/logo192.png"); }</style>',
  '<script type="module" src="/assets/index-AbC123.js"></script>',
  '</head><body><div id="root"></div></body></html>',
].join('\n');

const MANIFEST = {
  background_color: '#ffffff',
  display: 'standalone',
  icons: [
    { sizes: '64x64 32x32 24x24 16x16', src: '/static/img/favicon.ico', type: 'image/x-icon' },
    { sizes: '192x192', src: '/static/img/logo192.png', type: 'image/png' },
    { sizes: '512x512', src: '/static/img/logo512.png', type: 'image/png' },
  ],
  name: 'Cloudreve',
  short_name: 'Cloudreve',
  start_url: '.',
  theme_color: '#000000',
};

const PLAIN_404 = [404, 'text/plain', '404 page not found'];
const plain = (res: request.Response) => [res.status, res.headers['content-type'], res.text];
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A small built frontend: index.html with the placeholders, a hashed asset, an image, a dotfile. */
function webFolder(files: Record<string, string | Buffer> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sim-web-'));
  dirs.push(dir);
  const all: Record<string, string | Buffer> = {
    'index.html': INDEX,
    'assets/index-AbC123.js': 'console.log("app");\n',
    'assets/index-Xy9.css': 'body{margin:0}\n',
    'static/img/logo192.png': PNG,
    'locales/en-US/common.json': '{"hello":"Hello"}',
    '.env': 'SECRET=1\n',
    ...files,
  };
  for (const [name, content] of Object.entries(all)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

describe('web: static files', () => {
  it('serves the build’s files with their content types; hashed assets are cached for good, others revalidated', async () => {
    const sim = testSimulator({ web: webFolder() });
    const js = await request(sim.app).get('/assets/index-AbC123.js');
    expect([js.status, js.headers['content-type'], js.text]).toEqual([200, 'text/javascript; charset=utf-8', 'console.log("app");\n']);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const css = await request(sim.app).get('/assets/index-Xy9.css');
    expect([css.status, css.headers['content-type'], css.text]).toEqual([200, 'text/css; charset=utf-8', 'body{margin:0}\n']);
    const png = await request(sim.app).get('/static/img/logo192.png');
    expect([png.status, png.headers['content-type'], png.headers['cache-control']]).toEqual([200, 'image/png', 'public, max-age=0, must-revalidate']);
    expect(Buffer.compare(png.body as Buffer, PNG)).toBe(0);
    const json = await request(sim.app).get('/locales/en-US/common.json');
    expect([json.status, json.headers['content-type'], json.body]).toEqual([200, 'application/json; charset=utf-8', { hello: 'Hello' }]);
    const head = await request(sim.app).head('/assets/index-AbC123.js');
    expect([head.status, head.headers['content-length'], head.text]).toEqual([200, '20', undefined]);
  });

  it('fills the placeholders of index.html for / and /index.html (no-cache, text/html)', async () => {
    const sim = testSimulator({ web: webFolder() });
    for (const p of ['/', '/index.html']) {
      const res = await request(sim.app).get(p);
      expect([res.status, res.headers['content-type'], res.headers['cache-control'], res.text]).toEqual([200, 'text/html; charset=utf-8', 'no-cache', FILLED]);
    }
  });

  it('answers every other page path with index.html (the app routes on the client): deep links, missing files, dotfiles', async () => {
    const sim = testSimulator({ web: webFolder() });
    const escapes = ['/%2e%2e/%2e%2e/etc/passwd', '/assets/..%2f..%2f..%2fetc%2fpasswd', '/static/%2e%2e%2findex.html'];
    for (const p of ['/home?path=cloudreve%3A%2F%2Fmy%2Fdocs', '/home', '/tasks', '/session?redirect=%2Fhome', '/s/AbCd/x', '/assets/gone-123.js', '/.env', '/static/img', '/api-docs', '/__simulator', ...escapes]) {
      const res = await request(sim.app).get(p);
      expect([p, res.status, res.headers['content-type'], res.text]).toEqual([p, 200, 'text/html; charset=utf-8', FILLED]);
    }
    const head = await request(sim.app).head('/home?path=x');
    expect([head.status, head.headers['content-type'], head.headers['content-length'], head.text]).toEqual([
      200,
      'text/html; charset=utf-8',
      String(Buffer.byteLength(FILLED)),
      undefined,
    ]);
  });

  it('reads index.html on every request, so a rebuilt frontend shows without a restart', async () => {
    const dir = webFolder();
    const sim = testSimulator({ web: dir });
    writeFileSync(path.join(dir, 'index.html'), '<title>{siteName} v2</title>');
    expect((await request(sim.app).get('/home')).text).toBe('<title>Cloudreve v2</title>');
  });

  it('answers GET /manifest.json with the web app manifest the server builds from its PWA settings', async () => {
    const sim = testSimulator({ web: webFolder() });
    const res = await request(sim.app).get('/manifest.json');
    expect([res.status, res.headers['content-type']]).toEqual([200, 'application/json; charset=utf-8']);
    expect(res.text).toBe(JSON.stringify(MANIFEST));
  });

  it('takes the site name from the site config’s title, as the real server fills both from one setting', async () => {
    const sim = testSimulator({ web: webFolder(), siteConfig: { basic: { title: 'Team Drive' } } });
    expect((await request(sim.app).get('/home')).text).toBe(FILLED.replaceAll('Cloudreve<', 'Team Drive<').replace('"Cloudreve"', '"Team Drive"'));
    expect((await request(sim.app).get('/manifest.json')).body).toEqual({ ...MANIFEST, name: 'Team Drive', short_name: 'Team Drive' });
  });

  it('answers only GET and HEAD: another method on a page path is the plain 404', async () => {
    const sim = testSimulator({ web: webFolder() });
    for (const res of [
      await request(sim.app).post('/home').send({}),
      await request(sim.app).put('/assets/index-AbC123.js'),
      await request(sim.app).delete('/'),
      await request(sim.app).options('/'),
    ]) {
      expect(plain(res)).toEqual(PLAIN_404);
    }
  });
});

describe('web: the API and the control plane do not change', () => {
  it('keeps the plain-text 404 for unknown or mis-cased API routes, HEAD and OPTIONS, and any path under /api', async () => {
    const sim = testSimulator({ web: webFolder() });
    for (const res of [
      await request(sim.app).get('/api/v4/nope'),
      await request(sim.app).get('/api/v4'),
      await request(sim.app).get('/api/v4/workflow/archive'),
      await request(sim.app).get('/API/V4/site/ping'),
      await request(sim.app).options('/api/v4/site/ping'),
      await request(sim.app).get('/api/v3/site/ping'),
      await request(sim.app).get('/api'),
      await request(sim.app).get('/api/index.html'),
    ]) {
      expect(plain(res)).toEqual(PLAIN_404);
    }
    const head = await request(sim.app).head('/api/v4/site/ping');
    expect([head.status, head.headers['content-type']]).toEqual([404, 'text/plain']);
    expect((await request(sim.app).get('/api/v4/site/ping')).text).toBe('{"code":0,"data":"4.18.0-pro","msg":""}');
    const { access } = await signIn(sim, 'alice');
    const list = await request(sim.app).get('/api/v4/workflow?page_size=10&category=general').set('Authorization', `Bearer ${access}`);
    expect(list.body).toEqual({ code: 0, data: { tasks: [], pagination: { page: 0, page_size: 10, is_cursor: true } }, msg: '' });
  });

  it('leaves /__sim alone: its routes, its JSON 404, and the plain 404 when the control plane is off', async () => {
    const sim = testSimulator({ web: webFolder() });
    expect((await request(sim.app).get('/__sim/clock')).body).toMatchObject({ namespace: 'default', mode: 'virtual' });
    const missing = await request(sim.app).get('/__sim/nothing');
    expect([missing.status, missing.body]).toEqual([404, { error: expect.any(String) }]);
    const off = testSimulator({ web: webFolder(), control: false });
    expect(plain(await request(off.app).get('/__sim/clock'))).toEqual(PLAIN_404);
    expect(plain(await request(off.app).get('/__sim'))).toEqual(PLAIN_404);
    expect((await request(off.app).get('/home')).text).toBe(FILLED);
  });

  it('without `web`, pages, files and the manifest are the plain 404 as before', async () => {
    const sim = testSimulator();
    for (const p of ['/', '/index.html', '/home?path=x', '/manifest.json', '/assets/index-AbC123.js']) {
      expect(plain(await request(sim.app).get(p))).toEqual(PLAIN_404);
    }
    expect(sim.options.web).toBeUndefined();
    expect(sim.options.cors).toBeUndefined();
  });
});

describe('web: the option', () => {
  it('resolves the folder to an absolute path', () => {
    const dir = webFolder();
    const rel = path.relative(process.cwd(), dir);
    expect(testSimulator({ web: rel }).options.web).toBe(dir);
  });

  it('refuses at once a folder that does not exist, a file, or a folder without index.html', () => {
    const dir = webFolder();
    const empty = mkdtempSync(path.join(tmpdir(), 'sim-web-'));
    dirs.push(empty);
    const fix = 'Use a folder holding a built web frontend (with index.html).';
    for (const bad of [path.join(dir, 'nope'), path.join(dir, 'index.html'), empty, '']) {
      expect(() => createSimulator({ web: bad })).toThrow(new TypeError(`Invalid option web: ${JSON.stringify(bad)}. ${fix}`));
    }
  });
});

describe('cors', () => {
  const ORIGIN = 'http://localhost:5173';
  const PING = '/api/v4/site/ping';

  it('echoes an allowed Origin on API answers, with credentials and Vary: Origin; the body does not change', async () => {
    const sim = testSimulator({ cors: ORIGIN });
    const res = await request(sim.app).get(PING).set('Origin', ORIGIN);
    expect(res.headers).toMatchObject({ 'access-control-allow-origin': ORIGIN, 'access-control-allow-credentials': 'true', vary: 'Origin' });
    expect(res.text).toBe('{"code":0,"data":"4.18.0-pro","msg":""}');
    // Envelopes of errors and the plain 404 carry them too, so the browser lets the app read them.
    const err = await request(sim.app).get('/api/v4/workflow?page_size=10&category=general').set('Origin', ORIGIN);
    expect([err.body.code, err.headers['access-control-allow-origin']]).toEqual([401, ORIGIN]);
    const missing = await request(sim.app).get('/api/v4/nope').set('Origin', ORIGIN);
    expect([...plain(missing), missing.headers['access-control-allow-origin']]).toEqual([...PLAIN_404, ORIGIN]);
  });

  it('answers a preflight from an allowed origin with 204, the methods and the requested headers, without journaling it', async () => {
    const sim = testSimulator({ cors: [ORIGIN, 'https://ui.example.org'] });
    const res = await request(sim.app)
      .options('/api/v4/workflow/archive')
      .set('Origin', 'https://ui.example.org')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type,x-cr-purchase-ticket');
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(res.headers).toMatchObject({
      'access-control-allow-origin': 'https://ui.example.org',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
      'access-control-allow-headers': 'authorization,content-type,x-cr-purchase-ticket',
      'access-control-max-age': '600',
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    });
    expect(sim.journal.entries()).toEqual([]);
    // The request that follows works as usual.
    const { access } = await signIn(sim, 'alice');
    const post = await request(sim.app).post('/api/v4/workflow/archive').set('Origin', 'https://ui.example.org').set('Authorization', `Bearer ${access}`).send({});
    expect([post.body.code, post.headers['access-control-allow-origin']]).toEqual([40001, 'https://ui.example.org']);
  });

  it('gives a disallowed origin, or a request without one, no CORS headers; its preflight stays the plain 404', async () => {
    const sim = testSimulator({ cors: ORIGIN });
    for (const res of [await request(sim.app).get(PING).set('Origin', 'http://evil.example'), await request(sim.app).get(PING)]) {
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers.vary).toBe('Origin');
      expect(res.body.code).toBe(0);
    }
    const pre = await request(sim.app).options(PING).set('Origin', 'http://localhost:5174').set('Access-Control-Request-Method', 'GET');
    expect(plain(pre)).toEqual(PLAIN_404);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    // An OPTIONS that is not a preflight (no Access-Control-Request-Method) is not answered either.
    const notPre = await request(sim.app).options(PING).set('Origin', ORIGIN);
    expect(plain(notPre)).toEqual(PLAIN_404);
  });

  it('with "*", allows any origin, echoing it (credentials forbid a literal *)', async () => {
    const sim = testSimulator({ cors: '*' });
    const res = await request(sim.app).get(PING).set('Origin', 'http://192.168.1.20:3000');
    expect(res.headers['access-control-allow-origin']).toBe('http://192.168.1.20:3000');
    const pre = await request(sim.app).options(PING).set('Origin', 'https://a.test').set('Access-Control-Request-Method', 'GET');
    expect([pre.status, pre.headers['access-control-allow-origin'], pre.headers['access-control-allow-headers']]).toEqual([204, 'https://a.test', undefined]);
  });

  it('covers only /api/v4: pages and /__sim get no CORS headers', async () => {
    const sim = testSimulator({ cors: '*', web: webFolder() });
    for (const p of ['/__sim/clock', '/home', '/assets/index-AbC123.js']) {
      const res = await request(sim.app).get(p).set('Origin', ORIGIN);
      expect([p, res.status, res.headers['access-control-allow-origin'], res.headers.vary]).toEqual([p, 200, undefined, undefined]);
    }
  });

  it('normalizes origins and refuses anything that is not one', () => {
    expect(testSimulator({ cors: ' http://LocalHost:5173/ ,https://x.test:443,*' }).options.cors).toEqual(['http://localhost:5173', 'https://x.test', '*']);
    expect(testSimulator({ cors: [] }).options.cors).toBeUndefined();
    expect(testSimulator({ cors: '' }).options.cors).toBeUndefined();
    const fix = 'Use "*" or origins like "http://localhost:5173", comma-separated.';
    for (const bad of ['localhost:5173', 'http://localhost:5173/app', 'http://x.test?a=1', 'file:///tmp', 'not a url']) {
      expect(() => createSimulator({ cors: bad })).toThrow(new TypeError(`Invalid option cors: ${JSON.stringify(bad)}. ${fix}`));
    }
    expect(() => createSimulator({ cors: [1] as never })).toThrow(/Invalid option cors: \[1\]/);
  });

  it('without `cors`, OPTIONS is the plain 404 and API answers carry no CORS or Vary header', async () => {
    const sim = testSimulator();
    const pre = await request(sim.app).options(PING).set('Origin', ORIGIN).set('Access-Control-Request-Method', 'GET');
    expect(plain(pre)).toEqual(PLAIN_404);
    const res = await request(sim.app).get(PING).set('Origin', ORIGIN);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers.vary).toBeUndefined();
  });
});

/** The official build, where the browser test looks for it (CLOUDREVE_SIM_WEB_UI, then beside the repository). */
const found = findWebUi();
const DIST = 'dir' in found ? found.dir : '(no build)';
const HAS_DIST = 'dir' in found;

describe('the official frontend build', () => {
  it.skipIf(!HAS_DIST)(`serves ${DIST} with every placeholder filled, its entry script, icons and manifest icons (skipped when that build is absent)`, async () => {
    const sim = testSimulator({ web: DIST });
    const page = await request(sim.app).get('/home?path=cloudreve%3A%2F%2Fmy');
    expect([page.status, page.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
    expect(page.text).not.toMatch(/\{(siteName|siteDes|siteScript|pwa_small_icon|pwa_medium_icon)\}/);
    expect(page.text).toContain('<title>Cloudreve</title>');
    expect(page.text).toContain('window.subTitle = "Cloudreve";');
    expect(page.text).toBe((await request(sim.app).get('/')).text);
    const entry = /<script[^>]* src="(\/assets\/index-[^"]+\.js)"/.exec(page.text)?.[1];
    expect(entry).toBeDefined();
    const js = await request(sim.app).get(entry!);
    expect([js.status, js.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(js.text).toBe(readFileSync(path.join(DIST, entry!), 'utf8'));
    const manifest = (await request(sim.app).get('/manifest.json')).body as typeof MANIFEST;
    for (const src of manifest.icons.map((i) => i.src)) {
      const res = await request(sim.app).get(src);
      expect([src, res.status, res.headers['content-type']]).toEqual([src, 200, expect.stringMatching(/^image\//)]);
      expect(Buffer.compare(res.body as Buffer, readFileSync(path.join(DIST, src)))).toBe(0);
    }
  });
});
