/**
 * The contract itself: generated types are fresh, every operation is served, and the
 * response self-check catches a handler that drifts from the contract.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CONTRACT_FILE, HTTP_METHODS, loadContract, type OpenApiOperation } from '../../src/contract/index.js';
import { createHttpApp, fixedContext } from '../../src/http/app.js';
import { HttpReply } from '../../src/http/reply.js';
import { handlers } from '../../src/http/routes/index.js';
import { createResponseChecker } from '../../src/http/self-check.js';
import { resolveOptions } from '../../src/options.js';
import { createServiceContext } from '../../src/simulator-context.js';
import { signIn, testSimulator } from '../helpers.js';

const GENERATED = new URL('../../src/contract/openapi.gen.ts', import.meta.url);

describe('generated types', () => {
  it('are what openapi-typescript makes of the contract now (run `npm run generate:types` when this fails)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gen-'));
    try {
      const out = path.join(dir, 'openapi.gen.ts');
      const cli = fileURLToPath(new URL('../../node_modules/openapi-typescript/bin/cli.js', import.meta.url));
      execFileSync(process.execPath, [cli, CONTRACT_FILE, '-o', out], { stdio: 'pipe' });
      expect(readFileSync(GENERATED, 'utf8')).toBe(readFileSync(out, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the route table', () => {
  const doc = loadContract();
  const operations = Object.entries(doc.paths).flatMap(([p, item]) =>
    HTTP_METHODS.filter((m) => item[m]).map((m) => [m, p, item[m] as OpenApiOperation] as const),
  );

  it('has a handler for every operation and an operation for every handler', () => {
    expect(operations.map(([, , op]) => op.operationId).sort()).toEqual(Object.keys(handlers).sort());
  });

  it.each(operations.map(([m, p, op]) => [m.toUpperCase(), p, op] as const))('serves %s %s', async (method, p, op) => {
    const sim = testSimulator({ edition: 'pro' });
    const { access } = await signIn(sim, 'admin');
    const url = `/api/v4${p.replace('{id}', sim.ids.encode('task', 1))}`;
    const call = request(sim.app)[method.toLowerCase() as 'get'](url).set('Authorization', access);
    // HEAD carries no body either way: the envelope's headers show it was routed.
    const res = method === 'HEAD' ? await call : await call.send('{}');
    expect(res.status, `${op.operationId} should be routed`).toBe(200);
    if (method === 'HEAD') expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    else expect(typeof res.body.code).toBe('number');
  });
});

describe('response self-check', () => {
  const doc = loadContract();
  const checker = createResponseChecker(doc);

  it('accepts conforming envelopes', () => {
    expect(checker.check('ping', { code: 0, data: '4.18.0', msg: '' })).toEqual([]);
    expect(checker.check('cancelDownload', { code: 0, msg: '' })).toEqual([]);
    expect(checker.check('listTasks', { code: 40001, msg: 'PageSize cannot be empty' })).toEqual([]);
    expect(
      checker.check('listTasks', { code: 0, data: { tasks: [], pagination: { page: 0, page_size: 10, is_cursor: true } }, msg: '' }),
    ).toEqual([]);
  });

  it.each([
    ['a success without data where data is required', 'ping', { code: 0, msg: '' }],
    ['data of the wrong type', 'ping', { code: 0, data: 4, msg: '' }],
    ['an unknown envelope key', 'ping', { code: 0, data: '4.18.0', msg: '', extra: 1 }],
    ['a non-empty msg on success', 'cancelDownload', { code: 0, msg: 'ok' }],
    ['a task with a null field', 'createArchive', {
      code: 0,
      data: { created_at: '2025-05-20T04:00:00Z', updated_at: '2025-05-20T04:00:00Z', id: 'x', status: 'queued', type: 'create_archive', summary: { props: { dst: 'd', failed: 0, src_multiple: [] } }, error: null },
      msg: '',
    }],
    ['a bad correlation id', 'ping', { code: 401, msg: 'Login required', correlation_id: 'nope' }],
  ])('rejects %s', (_, op, body) => {
    expect(checker.check(op, body).length).toBeGreaterThan(0);
  });

  it('turns a drifting handler into a logged HTTP 500 in strict mode', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (l: string) => lines.push(l) });
    const broken = { ...handlers, ping: () => 42 as unknown as string };
    const app = createHttpApp(loadContract(), { edition: 'community', before: [fixedContext(testContext())], strict: true, debug: false, bodyLimit: 1024, logger }, broken);
    const res = await request(app).get('/api/v4/site/ping');
    expect(res.status).toBe(500);
    expect(res.text).toBe('');
    expect(lines.join('')).toContain('response does not match the contract');
  });

  it('lets the same drift through when not strict', async () => {
    const broken = { ...handlers, ping: () => 42 as unknown as string };
    const app = createHttpApp(loadContract(), { edition: 'community', before: [fixedContext(testContext())], strict: false, debug: false, bodyLimit: 1024, logger: pino({ level: 'silent' }) }, broken);
    expect((await request(app).get('/api/v4/site/ping')).text).toBe('{"code":0,"data":42,"msg":""}');
  });
});

describe('non-envelope answers (HttpReply)', () => {
  const doc = loadContract();
  const checker = createResponseChecker(doc);
  const app = (strict: boolean, reply: HttpReply, lines: string[] = []) =>
    createHttpApp(
      doc,
      { edition: 'community', before: [fixedContext(testContext())], strict, debug: false, bodyLimit: 1024, logger: pino({ level: 'error' }, { write: (l: string) => lines.push(l) }) },
      { ...handlers, ping: () => reply },
    );

  it('are allowed only with a non-200 status the operation declares', () => {
    expect(checker.checkStatus('getUserAvatar', 404)).toEqual([]);
    expect(checker.checkStatus('getUserAvatar', 418)).toEqual(['HTTP 418 is not a declared non-envelope response of getUserAvatar']);
    expect(checker.checkStatus('getUserAvatar', 200).length).toBe(1);
    expect(checker.checkStatus('ping', 404).length).toBe(1);
  });

  it('are sent as they are: status, headers, body', async () => {
    const res = await request(app(false, new HttpReply(404, { 'X-Test': 'yes' }, 'raw'))).get('/api/v4/site/ping');
    expect(res.status).toBe(404);
    expect(res.headers['x-test']).toBe('yes');
    expect(res.headers['cache-control']).toBe('private, no-cache');
    expect(res.text).toBe('raw');
  });

  it('turn into a logged HTTP 500 in strict mode when the contract does not declare them', async () => {
    const lines: string[] = [];
    const res = await request(app(true, new HttpReply(404), lines)).get('/api/v4/site/ping');
    expect(res.status).toBe(500);
    expect(res.text).toBe('');
    expect(lines.join('')).toContain('HTTP 404 is not a declared non-envelope response of ping');
  });
});

describe('validation of a body-less request, remembered per request target', () => {
  // A handler that answers the query it was given, then spoils it (a remembered result must not carry that over).
  const seen: unknown[] = [];
  const echo = ({ query }: { query: unknown }) => {
    seen.push(structuredClone(query));
    (query as Record<string, unknown>).spoiled = true;
    return { query } as never;
  };
  const app = () =>
    createHttpApp(loadContract(), { edition: 'community', before: [fixedContext(testContext())], strict: false, debug: false, bodyLimit: 1024, logger: pino({ level: 'silent' }) }, { ...handlers, getFileInfo: echo });

  it('gives every request of a target the same normalized, coerced query, as a fresh copy', async () => {
    const a = app();
    const target = '/api/v4/file/info?uri=cloudreve%3A%2F%2Fmy&extended=1&extended=0&folder_summary=&x=y';
    const first = await request(a).get(target);
    const later = [await request(a).get(target), await request(a).get(target)];
    const want = { uri: 'cloudreve://my', extended: true, x: 'y' };
    expect(first.body).toEqual({ code: 0, data: { query: { ...want, spoiled: true } }, msg: '' });
    expect(later.map((r) => r.body)).toEqual([first.body, first.body]);
    expect(seen.slice(-3)).toEqual([want, want, want]);
  });

  it('checks a target that failed again at every request', async () => {
    const a = app();
    const bad = '/api/v4/file/info?uri=cloudreve%3A%2F%2Fmy&extended=maybe';
    for (let i = 0; i < 3; i++) {
      const res = await request(a).get(bad);
      expect(res.body).toMatchObject({ code: 40001, msg: 'Parameter error' });
    }
    // A target differing only in its query is its own target.
    expect((await request(a).get('/api/v4/file/info?uri=cloudreve%3A%2F%2Fmy&extended=t')).body).toMatchObject({ code: 0, data: { query: { extended: true } } });
  });
});

/** A service context like a simulator's (its own data folder, removed after the test), for an app built with other handlers. */
function testContext() {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctx-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return createServiceContext(resolveOptions({ clock: 'virtual', seed: 'test' }), dir, pino({ level: 'silent' }));
}
