/**
 * Contract fuzzing: ten thousand requests, valid and invalid, across every operation of the
 * contract, with fast-check arbitraries derived from the operations' OpenAPI schemas, then
 * broken on purpose: malformed JSON, wrong types, huge and deeply nested bodies, odd unicode,
 * hostile URIs (`..`, encoded slashes, other users' ids), random tokens and path segments. The
 * simulator runs strict (every envelope checked against the contract, a mismatch is a 500),
 * and the virtual clock moves now and then so the tasks the fuzzer creates really run.
 *
 * One request in six is well-formed instead, aimed at live targets the run renews (signed URLs,
 * an upload session, a download in its monitoring loop), so that success paths are reached too.
 *
 * Properties: no 5xx; every request answered within a bound; every JSON answer an envelope;
 * every operation answered success at least once; every task the fuzz made has ended an hour
 * later, with a server message rather than a leaked exception; no file written outside the
 * users' folders, and the drives of users never signed in as unchanged (but for an admin's
 * import for them); the heap stays bounded. FUZZ_SEED and FUZZ_RUNS
 * change the seed and the number of requests (a failure prints the seed and path to replay).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContract, resolveRef, type JsonSchema, type OpenApiOperation, type OpenApiParameter } from '../../src/contract/index.js';
import type { Simulator } from '../../src/index.js';
import { ACCOUNTS, signIn, testSimulator } from '../helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
/** Longest a request may take before it counts as a hang (real time: the server is real). */
const ANSWER_WITHIN_MS = 10_000;
const doc = loadContract();

interface Operation {
  method: string;
  template: string;
  op: OpenApiOperation;
  params: OpenApiParameter[];
}

const operations: Operation[] = Object.entries(doc.paths).flatMap(([template, item]) =>
  Object.entries(item)
    .filter(([, op]) => op && typeof op === 'object' && 'operationId' in (op as object))
    .map(([method, op]) => ({
      method: method.toUpperCase(),
      template,
      op: op as OpenApiOperation,
      params: ((op as OpenApiOperation).parameters ?? []).map((p) => resolveRef<OpenApiParameter>(doc, p)),
    })),
);

// ---------------------------------------------------------------------------- hostile values

const ESCAPE = 'fuzz-escape';
const oddUnicode = fc.constantFrom('中文', 'Ünïcødé', '\u202e\u0000', '😀'.repeat(40), 'a\u0301', '\uFEFF', '\\', 'con', 'a'.repeat(300), ' ', '');
const hostileSegment = fc.constantFrom('..', '.', '%2e%2e', '%2F', '..%2F..', '%00', '%ZZ', '-1', '1.0', '9'.repeat(30), '0x1', 'null', `..%2F..%2F${ESCAPE}`);

/** URIs of every kind the server parses, and many it must refuse. */
function uriArb(ids: Ids): fc.Arbitrary<string> {
  const known = fc.constantFrom(...KNOWN_URIS, 'cloudreve://my/fuzz-{{n}}.zip', 'cloudreve://my/fuzz-{{n}}');
  const fsName = fc.constantFrom('my', 'trash', 'share', 'shared_with_me', 'foo', 'MY');
  const segment = fc.oneof(fc.constantFrom('hello.txt', 'docs', 'notes.txt', 'archives', 'archives/utf8.zip', 'Downloads', 'x.zip'), hostileSegment, oddUnicode, fc.string({ maxLength: 12 }));
  const who = fc.constantFrom('', ...ids.users.map((u) => `${u}@`));
  return fc.oneof(
    { weight: 3, arbitrary: known },
    { weight: 6, arbitrary: fc.tuple(who, fsName, fc.array(segment, { maxLength: 4 })).map(([w, f, s]) => `cloudreve://${w}${f}${s.length ? `/${s.join('/')}` : ''}`) },
    { weight: 1, arbitrary: fc.constantFrom(`cloudreve://my/../../../${ESCAPE}`, `cloudreve://my/..%2F..%2F${ESCAPE}`, `cloudreve://my/a/../../${ESCAPE}.zip`, 'cloudreve://my?name=x', 'http://127.0.0.1:1/x', 'magnet:?xt=urn:btih:00', '/docs', 'cloudreve:/my', '') },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  );
}

/** A 6 GB download of the downloader's catalogue: `renew` leaves one in its monitoring loop each round. */
const LONG_DOWNLOAD = 'https://downloads.example.com/ubuntu-24.04.iso';

/** Files and folders every fixture drive holds (or alice's does), so URIs often name something real. */
const KNOWN_URIS = [
  'cloudreve://my',
  'cloudreve://my/hello.txt',
  'cloudreve://my/notes.txt',
  'cloudreve://my/docs',
  'cloudreve://my/docs/guide/intro.txt',
  'cloudreve://my/Downloads',
  'cloudreve://my/extracted',
  'cloudreve://my/archives/utf8.zip',
  'cloudreve://my/archives/plain.tar',
  'cloudreve://my/archives/sample.7z',
  'cloudreve://my/t.torrent',
  'cloudreve://my/photos/holiday 2024.jpg',
];

interface Ids {
  users: string[];
  tasks: string[];
  entities: string[];
  uploads: string[];
  archives: string[];
}

// ---------------------------------------------------------------------------- schema → arbitrary

/** Values for a schema of the contract; strings named like URIs get URIs, hostile ones included. */
function arbOf(schema: JsonSchema | { $ref: string }, ids: Ids, name = '', depth = 0): fc.Arbitrary<unknown> {
  const s = resolveRef<JsonSchema>(doc, schema);
  if (depth > 5) return fc.constant(null);
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  const alternatives = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map((a) => arbOf(a, ids, name, depth + 1)));
  const types = Array.isArray(s.type) ? s.type : [s.type];
  const type = types.find((t) => t !== 'null');
  switch (type) {
    case 'string':
      if (/uri|src|dst|url/i.test(name)) return uriArb(ids);
      if (s.format === 'email' || name === 'email') return fc.oneof(fc.constantFrom(...Object.values(ACCOUNTS).map((a) => a.email)), fc.emailAddress(), fc.string());
      if (/(^|_)id$|entity|previous|policy/i.test(name)) return fc.oneof(fc.constantFrom(...ids.tasks, ...ids.entities, ...ids.users, ...ids.uploads), hostileSegment, fc.string({ maxLength: 10 }));
      return fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: typeof s.maxLength === 'number' ? Math.min(s.maxLength, 40) : 40 }) }, { weight: 1, arbitrary: oddUnicode });
    case 'integer':
      return fc.oneof(fc.integer({ min: typeof s.minimum === 'number' ? s.minimum : -5, max: typeof s.maximum === 'number' ? Math.min(s.maximum, 2 ** 40) : 2 ** 31 }), fc.constantFrom(0, -1, 2 ** 53 - 1));
    case 'number':
      return fc.double({ noNaN: true, min: -1e9, max: 1e9 });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(arbOf((s.items as JsonSchema) ?? {}, ids, name, depth + 1), { minLength: typeof s.minItems === 'number' ? s.minItems : 0, maxLength: 4 });
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, JsonSchema>;
      const keys = Object.keys(props);
      if (keys.length === 0) return fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), { maxKeys: 4 });
      const required = (s.required ?? []).filter((k) => keys.includes(k));
      return fc.record(Object.fromEntries(keys.map((k) => [k, arbOf(props[k]!, ids, k, depth + 1)])), { requiredKeys: required });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A JSON body: usually valid for its schema, often broken in one of the ways clients break them. */
function bodyArb(schema: JsonSchema, ids: Ids): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: arbOf(schema, ids).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.constantFrom('{', '', 'null', '[]', '{"src":', '{"uris":[null]}', '{"a":1}{"b":2}', '\u0000', '{"uri":"\ud800"}') },
    { weight: 1, arbitrary: fc.integer({ min: 10, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((n) => JSON.stringify({ src: ['x'.repeat(n * 400_000)], uri: 'y'.repeat(n * 300_000) })) },
  );
}

interface FuzzRequest {
  /** The contract operation, `METHOD /template`. */
  operation: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

function requestArb(ids: Ids, tokens: Record<string, string>): fc.Arbitrary<FuzzRequest> {
  const value = (p: OpenApiParameter): fc.Arbitrary<string> => {
    const known: Record<string, string[]> = {
      id: [...ids.tasks, ...ids.users, ...ids.entities, '1', '2'],
      section: ['basic', 'login', 'explorer', 'thumb', 'emojis', 'app', 'vas'],
      speed: ['0', '1024'],
      name: ['hello.txt', 'a.txt'],
      sessionId: ids.uploads,
      sessionID: ids.archives,
      index: ['0', '1', '2'],
    };
    const schemaValue = arbOf(p.schema, ids, p.name).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
    return fc.oneof({ weight: 3, arbitrary: known[p.name]?.length ? fc.constantFrom(...known[p.name]!) : schemaValue }, { weight: 2, arbitrary: schemaValue }, { weight: 1, arbitrary: hostileSegment }, { weight: 1, arbitrary: oddUnicode });
  };
  return fc.constantFrom(...operations).chain((o) => {
    const pathParams = o.params.filter((p) => p.in === 'path');
    const queryParams = o.params.filter((p) => p.in === 'query');
    const json = o.op.requestBody?.content['application/json']?.schema;
    const raw = o.op.requestBody?.content['application/octet-stream'];
    return fc.record({
      path: fc.tuple(...pathParams.map(value)).map((vals) =>
        pathParams.reduce((t, p, i) => t.replace(`{${p.name}}`, /^[\w%.~-]*$/.test(vals[i]!) ? vals[i]! || 'x' : encodeURIComponent(vals[i]!) || 'x'), o.template),
      ),
      query: fc.tuple(...queryParams.map((p) => fc.option(value(p), { nil: undefined }))).map((vals) => {
        const q = new URLSearchParams();
        queryParams.forEach((p, i) => vals[i] !== undefined && q.append(p.name, vals[i]!));
        return q.toString();
      }),
      extraQuery: fc.option(fc.constantFrom('page=1&page=2', 'uri=%ZZ', 'sign=abc', 'sign=x%3A1', 'download=true', '%00=1'), { nil: undefined }),
      auth: fc.constantFrom('admin', 'alice', 'user', 'none', 'none', 'garbage', 'refresh', 'bearer-lower'),
      body: json ? bodyArb(resolveRef<JsonSchema>(doc, json), ids) : fc.constant(undefined),
      bytes: raw ? fc.uint8Array({ maxLength: 64 }) : fc.constant(undefined),
      contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', undefined),
    }).map((r): FuzzRequest => {
      const headers: Record<string, string> = {};
      if (r.auth === 'garbage') headers.Authorization = 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA';
      else if (r.auth === 'bearer-lower') headers.Authorization = `bearer ${tokens.alice}`;
      else if (r.auth !== 'none') headers.Authorization = `Bearer ${tokens[r.auth]}`;
      if (r.contentType && (r.body !== undefined || r.bytes !== undefined)) headers['Content-Type'] = raw ? 'application/octet-stream' : r.contentType;
      const query = [r.query, r.extraQuery].filter((q) => q).join('&');
      return { operation: `${o.method} ${o.template}`, method: o.method, url: `/api/v4${r.path}${query ? `?${query}` : ''}`, headers, body: r.body ?? r.bytes };
    });
  });
}

// ---------------------------------------------------------------------------- well-formed requests

/**
 * What well-formed requests point at: alice's signed URLs, upload session, download in its
 * monitoring loop, refresh token and a file to delete. The fuzzer deletes, cancels, signs out
 * and lets URLs expire, so the run renews these every round; requests name them as `{{key}}`,
 * filled in when sent (`{{n}}` is a fresh number each time).
 */
interface Live {
  content: string;
  archive: string;
  upload: string;
  uploadUri: string;
  download: string;
  refresh: string;
  doomed: string;
  alice: string;
  policy: string;
}

/** Requests each operation accepts, so that the fuzz reaches every success path, not only the refusals. */
function wellFormedArb(tokens: Record<string, string>): fc.Arbitrary<FuzzRequest> {
  const req = (operation: string, url: string, body?: unknown, who = 'alice', headers: Record<string, string> = {}): FuzzRequest => ({
    operation,
    method: operation.split(' ')[0]!,
    url: `/api/v4${url}`,
    headers: { ...(who === 'none' ? {} : { Authorization: `Bearer ${tokens[who]}` }), ...(body === undefined ? {} : { 'Content-Type': body instanceof Uint8Array ? 'application/octet-stream' : 'application/json' }), ...headers },
    body: body === undefined || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const q = (uri: string) => encodeURIComponent(uri);
  const range = fc.constantFrom<Record<string, string>>({}, { Range: 'bytes=0-3' }, { Range: 'bytes=2-' }, { Range: 'bytes=-4' }, { Range: 'bytes=99-' });
  const archiveSrc = fc.constantFrom('cloudreve://my/archives/utf8.zip', 'cloudreve://my/archives/plain.tar', 'cloudreve://my/archives/sample.7z', 'cloudreve://my/archives/nested.tar.gz');
  return fc.oneof(
    fc.constant(req('GET /site/ping', '/site/ping', undefined, 'none')),
    fc.constantFrom('basic', 'login', 'explorer', 'emojis', 'app', 'thumb').map((section) => req('GET /site/config/{section}', `/site/config/${section}`, undefined, 'none')),
    fc.constant(req('GET /session/prepare', `/session/prepare?email=${q(ACCOUNTS.alice.email)}`, undefined, 'none')),
    fc.constant(req('GET /user/capacity', '/user/capacity')),
    fc.constantFrom(...KNOWN_URIS.filter((u) => !/\.\w+$/.test(u))).map((uri) => req('GET /file', `/file?uri=${q(uri)}`)),
    fc.constantFrom(...KNOWN_URIS).map((uri) => req('GET /file/info', `/file/info?uri=${q(uri)}`)),
    fc.constant(req('POST /file/url', '/file/url', { uris: ['cloudreve://my/hello.txt'], download: true })),
    fc.constant(req('POST /file/create', '/file/create', { uri: 'cloudreve://my/docs/fuzz-{{n}}', type: 'folder' })),
    fc.constantFrom('general', 'downloading', 'downloaded').map((category) => req('GET /workflow', `/workflow?page_size=10&category=${category}`)),
    fc.constant(req('GET /workflow/progress/{id}', '/workflow/progress/{{download}}')),
    fc.constant(req('POST /admin/settings', '/admin/settings', { keys: ['siteName', 'siteURL'] }, 'admin')),
    fc.constant(req('PATCH /admin/settings', '/admin/settings', { settings: { siteName: 'Fuzz {{n}}' } }, 'admin')),
    range.map((h) => req('GET /file/content/{id}/{speed}/{name}', '{{content}}', undefined, 'alice', h)),
    range.map((h) => req('HEAD /file/content/{id}/{speed}/{name}', '{{content}}', undefined, 'alice', h)),
    fc.constant(req('GET /file/archive/{sessionID}/archive.zip', '{{archive}}')),
    fc.constant(req('PUT /file/upload', '/file/upload', { uri: 'cloudreve://my/fuzz-{{n}}.bin', size: 10 })),
    fc.constant(req('POST /file/upload/{sessionId}/{index}', '/file/upload/{{upload}}/0', new Uint8Array(10).fill(7))),
    fc.constant(req('DELETE /file/upload', '/file/upload', { id: '{{upload}}', uri: '{{uploadUri}}' })),
    fc.constant(req('DELETE /file', '/file', { uris: ['{{doomed}}'] })),
    fc.constant(req('PUT /file/content', `/file/content?uri=${q('cloudreve://my/fuzz-{{n}}.txt')}`, new Uint8Array(5).fill(65))),
    fc.constant(req('GET /file/thumb', `/file/thumb?uri=${q('cloudreve://my/photos/holiday 2024.jpg')}`)),
    archiveSrc.map((src) => req('GET /file/archive', `/file/archive?uri=${q(src)}`)),
    fc.constant(req('POST /workflow/archive', '/workflow/archive', { src: ['cloudreve://my/notes.txt', 'cloudreve://my/docs'], dst: 'cloudreve://my/fuzz-{{n}}.zip' })),
    archiveSrc.map((src) => req('POST /workflow/extract', '/workflow/extract', { src: [src], dst: 'cloudreve://my/extracted' })),
    fc.constant(req('POST /workflow/download', '/workflow/download', { src: ['https://example.com/fixtures/hello.txt'], dst: 'cloudreve://my/Downloads' })),
    fc.constant(req('POST /workflow/download', '/workflow/download', { src_file: 'cloudreve://my/t.torrent', dst: 'cloudreve://my/Downloads' })),
    fc.constant(req('PATCH /workflow/download/{id}', '/workflow/download/{{download}}', { files: [] })),
    fc.constant(req('DELETE /workflow/download/{id}', '/workflow/download/{{download}}')),
    fc.constant(req('POST /workflow/import', '/workflow/import', { src: '/', dst: '/fuzz-{{n}}', user_id: '{{alice}}', policy_id: 1 }, 'admin')),
    fc.constant(req('POST /workflow/reloacte', '/workflow/reloacte', { src: ['cloudreve://my/hello.txt'], dst_policy_id: '{{policy}}' })),
    fc.constant(req('GET /user/avatar/{id}', '/user/avatar/{{alice}}')),
    fc.constant(req('GET /admin/node/{id}', '/admin/node/1', undefined, 'admin')),
    fc.constant(req('PUT /admin/node/{id}', '/admin/node/1', { node: { settings: { interval: 0 } } }, 'admin')),
    fc.constant(req('POST /session/token', '/session/token', { email: ACCOUNTS.alice.email, password: ACCOUNTS.alice.password }, 'none')),
    fc.constant(req('POST /session/token/refresh', '/session/token/refresh', { refresh_token: '{{refresh}}' }, 'none')),
    fc.constant(req('DELETE /session/token', '/session/token', { refresh_token: '{{refresh}}' }, 'none')),
  );
}

/**
 * The answer that counts as an operation's success where the simulator has no code 0 for it:
 * it makes no thumbnails (spec F§14 recommends 40077), and no fixture user has an avatar (an
 * empty 404, spec F§4.2).
 */
const SUCCESS_WITHOUT_ZERO: Record<string, string> = { 'GET /file/thumb': '40077', 'GET /user/avatar/{id}': 'HTTP 404' };

/** The request with its `{{key}}` placeholders filled in from `live`; `{{n}}` takes the next number. */
function fill(req: FuzzRequest, live: Live, next: () => number): FuzzRequest {
  const value = (key: string) => (key === 'n' ? String(next()) : (live[key as keyof Live] ?? ''));
  const text = (t: string) => t.replace(/\{\{(\w+)\}\}/g, (_, key: string) => value(key)).replace(/%7B%7B(\w+)%7D%7D/gi, (_, key: string) => encodeURIComponent(value(key)));
  return { ...req, url: text(req.url), body: typeof req.body === 'string' ? text(req.body) : req.body };
}

// ---------------------------------------------------------------------------- the run

/** Every file below `dir`, relative to it. */
function filesBelow(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel)).flatMap((name) => {
    const r = path.join(rel, name);
    return statSync(path.join(dir, r)).isDirectory() ? filesBelow(dir, r) : [r];
  });
}

/** `global.gc`, for heap readings after a collection. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('contract fuzzing', () => {
  let sim: Simulator;
  let base: string;
  let ids: Ids;
  let tokens: Record<string, string>;
  let live: Live;
  const gc = collector();
  const post = async (p: string, body: unknown, who = 'alice', method = 'POST') =>
    (await (await fetch(`${base}/api/v4${p}`, { method, headers: { Authorization: `Bearer ${tokens[who]}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).json()) as {
      code: number;
      data: any;
    };
  /** Path and query of a signed URL the server gave, below `/api/v4`. */
  const below = (url: string) => {
    const u = new URL(url);
    return `${u.pathname.replace(/^\/api\/v4/, '')}${u.search}`;
  };
  let round = 0;
  /** New targets for the well-formed requests; a download is left in its monitoring loop. */
  const renew = async (): Promise<Live> => {
    round++;
    // Only the root and files made here: the fuzz may have deleted any fixture file by now.
    const must = async (what: string, answer: Promise<{ code: number; data: any }>) => {
      const a = await answer;
      if (a.code !== 0) throw new Error(`round ${round}: ${what} answered ${JSON.stringify(a)}`);
      return a.data;
    };
    const file = `cloudreve://my/renew-${round}.txt`;
    const saved = await fetch(`${base}/api/v4/file/content?uri=${encodeURIComponent(file)}`, { method: 'PUT', headers: { Authorization: `Bearer ${tokens.alice}` }, body: 'renewed text' });
    await must('PUT /file/content', saved.json() as Promise<{ code: number; data: unknown }>);
    const upload = await must('PUT /file/upload', post('/file/upload', { uri: `cloudreve://my/renew-${round}.bin`, size: 10 }, 'alice', 'PUT'));
    await must('POST /file/create', post('/file/create', { uri: `cloudreve://my/doomed-${round}.txt`, type: 'file' }));
    const download = (await must('POST /workflow/download', post('/workflow/download', { src: [LONG_DOWNLOAD], dst: 'cloudreve://my' })))[0].id;
    await sim.clock.advance(4_000);
    return {
      content: below((await must('POST /file/url', post('/file/url', { uris: [file] }))).urls[0].url),
      archive: below((await must('POST /file/url archive', post('/file/url', { uris: [file], archive: true }))).urls[0].url),
      upload: upload.session_id,
      uploadUri: `cloudreve://my/renew-${round}.bin`,
      download,
      refresh: (await signIn(sim, 'alice')).refresh,
      doomed: `cloudreve://my/doomed-${round}.txt`,
      alice: sim.ids.encode('user', ACCOUNTS.alice.id),
      policy: sim.ids.encode('policy', 3),
    };
  };

  beforeAll(async () => {
    sim = testSimulator({ fetchAllow: [] });
    base = await sim.listen(0, '127.0.0.1');
    tokens = {
      admin: (await signIn(sim, 'admin')).access,
      alice: (await signIn(sim, 'alice')).access,
      user: (await signIn(sim, 'user')).access,
      refresh: (await signIn(sim, 'alice')).refresh,
    };
    const task = await post('/workflow/archive', { src: ['cloudreve://my/notes.txt'], dst: 'cloudreve://my/seed.zip' });
    const upload = await post('/file/upload', { uri: 'cloudreve://my/seed-upload.bin', size: 10 }, 'alice', 'PUT');
    const archive = await post('/file/url', { uris: ['cloudreve://my/notes.txt'], archive: true });
    const entity = sim.drive.entityOf(sim.drive.stat(ACCOUNTS.alice.id, ['notes.txt'])!)!.id;
    ids = {
      users: Object.values(ACCOUNTS).map((a) => sim.ids.encode('user', a.id)),
      tasks: [task.data.id],
      entities: [sim.ids.encode('entity', entity), sim.ids.encode('entity', 0)],
      uploads: [upload.data.session_id],
      archives: [new URL(archive.data.urls[0].url).pathname.split('/')[5]!],
    };
    live = await renew();
  }, 60_000);

  afterAll(async () => {
    await sim?.close();
  });

  it(`answers ${RUNS} fuzzed requests: no 5xx, no hang, envelopes only, nothing written outside the drives, the heap bounded`, { timeout: 300_000 }, async () => {
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    // Users the fuzz never signs in as: carol, and the banned and inactive accounts.
    const bystanders = [ACCOUNTS.carol.id, ACCOUNTS.banned.id, ACCOUNTS.inactive.id];
    const driveOf = (id: number) => path.join(sim.dataDir, 'worlds', 'default', 'drives', String(id));
    const driveFiles = (id: number) => {
      try {
        return filesBelow(driveOf(id)).sort();
      } catch {
        return [];
      }
    };
    const bystanderFiles = bystanders.map(driveFiles);
    let sent = 0;
    const statuses = new Map<number, number>();
    const answers: Record<string, Set<string>> = {};
    const succeeded = new Set<string>();
    let fresh = 0;
    const arb = fc.oneof({ weight: 5, arbitrary: requestArb(ids, tokens) }, { weight: 1, arbitrary: wellFormedArb(tokens) });
    await fc.assert(
      fc.asyncProperty(arb, async (generated) => {
        if (++sent % 500 === 0) {
          await sim.clock.advance(60_000); // let the tasks created so far run
          live = await renew();
        }
        const req = fill(generated, live, () => ++fresh);
        const res = await fetch(`${base}${req.url}`, { method: req.method, headers: req.headers, body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req.body, redirect: 'manual', signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
        const bytes = Buffer.from(await res.arrayBuffer());
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const json = (res.headers.get('content-type') ?? '').startsWith('application/json') && bytes.length > 0;
        const answer = json ? /^\{"code":(-?\d+)/.exec(bytes.toString('latin1', 0, 24))?.[1] : `HTTP ${res.status}`;
        (answers[req.operation] ??= new Set()).add(String(answer));
        // A trailing slash's redirect (301/307) is the router's answer, not the operation's.
        const slashRedirect = (res.status === 301 || res.status === 307) && (req.url.split('?')[0] ?? '').endsWith('/');
        if (answer === '0' || (answer === `HTTP ${res.status}` && res.status < 400 && !slashRedirect) || answer === SUCCESS_WITHOUT_ZERO[req.operation]) succeeded.add(req.operation);
        expect(res.status, `${req.method} ${req.url}`).toBeLessThan(500);
        if (json) {
          const body = JSON.parse(bytes.toString('utf8')) as { code?: unknown; msg?: unknown };
          expect(Number.isInteger(body.code), `${req.method} ${req.url}: ${bytes.toString('utf8').slice(0, 200)}`).toBe(true);
          expect(typeof body.msg).toBe('string');
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    // An hour later every task the fuzzer made has ended (the 6 GB downloads of `renew` aside),
    // and no task error is a leaked exception rather than one of the server's messages.
    await sim.clock.advance(3_600_000);
    const tasks = sim.tasks(100_000);
    expect(tasks.length).toBeGreaterThan(RUNS / 100);
    expect(tasks.filter((t) => !['completed', 'error', 'canceled'].includes(t.status) && t.props.src_str !== LONG_DOWNLOAD).map((t) => `${t.type} ${t.status} ${JSON.stringify(t.props)}`)).toEqual([]);
    expect(tasks.map((t) => t.error ?? '').filter((e) => /Error\b|undefined|Cannot |is not |ENOENT|EACCES|EISDIR/.test(e))).toEqual([]);
    if (process.env.FUZZ_REPORT) console.info([...new Set(tasks.map((t) => `${t.type} ${t.status} ${t.error ?? ''}`))].sort().join('\n'));
    // FUZZ_REPORT=1 prints which codes each route answered.
    if (process.env.FUZZ_REPORT) console.info(Object.entries(answers).map(([k, v]) => `${k}: ${[...v].sort().join(' ')}`).sort().join('\n'));
    // Every file the simulator holds is inside a user's drive, the trash or its work folders.
    const world = path.join(sim.dataDir, 'worlds', 'default');
    const outside = filesBelow(sim.dataDir).filter((f) => !/^worlds\/default\/(drives\/\d+|trash\/\d+|tmp)\//.test(f));
    expect(outside).toEqual([]);
    const escaped = [...filesBelow(world).filter((f) => f.includes(ESCAPE) && !/^(drives\/\d+|trash\/\d+|tmp)\//.test(f)), ...readdirSync(path.dirname(sim.dataDir)).filter((f) => f.includes(ESCAPE))];
    expect(escaped).toEqual([]);
    // Nobody else's requests touched the bystanders' drives: nothing of theirs is lost, and only
    // an admin's import for that user (active ones only) may add files.
    bystanders.forEach((id, i) => {
      const now = driveFiles(id);
      expect(bystanderFiles[i]!.filter((f) => !now.includes(f)), `lost from user ${id}`).toEqual([]);
      const imported = tasks.some((t) => t.type === 'import' && t.owner.id === sim.ids.encode('user', id) && t.status === 'completed');
      if (!imported) expect(now, `files added to user ${id}`).toEqual(bystanderFiles[i]);
    });
    expect(bystanderFiles[0]!.length).toBeGreaterThan(0);
    gc();
    const growth = process.memoryUsage().heapUsed - heapBefore;
    expect(growth, `heap grew by ${Math.round(growth / 2 ** 20)} MiB`).toBeLessThan(256 * 2 ** 20);
    // The fuzzer reached the server's answers broadly, not one kind of refusal.
    expect(sent).toBe(RUNS);
    expect([...statuses.keys()]).toContain(200);
    // … and every operation's success, not only its refusals (a short replay may not get there).
    if (RUNS >= 5_000) expect(operations.map((o) => `${o.method} ${o.template}`).filter((o) => !succeeded.has(o))).toEqual([]);
  });
});
