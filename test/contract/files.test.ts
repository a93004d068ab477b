/**
 * The file endpoints the web UI and the SDK browse with (spec F§5–§8, §12, §14): GET /file,
 * POST /file/create, GET /file/info, POST /file/url and the content route it signs, GET
 * /file/thumb. Whole bodies, key order where the server fixes it, every error path.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadContract } from '../../src/contract/index.js';
import { createHttpApp, fixedContext } from '../../src/http/app.js';
import { createResponseChecker } from '../../src/http/self-check.js';
import type { Simulator } from '../../src/index.js';
import { BUNDLED_FIXTURES, resolveOptions } from '../../src/options.js';
import { createServiceContext } from '../../src/simulator-context.js';
import { ACCOUNTS, as, testSimulator, TEST_SALT, UUID_V4 } from '../helpers.js';
import { readZip } from '../zip.js';

const cid = expect.stringMatching(UUID_V4);
const ALICE = ACCOUNTS.alice.id;
const CAROL = ACCOUNTS.carol.id;
const T0 = '2025-05-20T04:00:00Z';
const MY = 'w8edAQ==';
const q = encodeURIComponent;
const ORDER_PROPS = { order_by_options: ['name', 'size', 'updated_at', 'created_at'], order_direction_options: ['asc', 'desc'] };
const ALICE_FIXTURES = path.join(BUNDLED_FIXTURES, 'drive', ACCOUNTS.alice.email);

/** The File object the server sends for an object of alice's drive (seeded at T0 unless told). */
function objectOf(sim: Simulator, segments: string[], o: { metadata?: Record<string, string> | null; created?: string; updated?: string } = {}) {
  const node = sim.drive.stat(ALICE, segments)!;
  expect(node, segments.join('/')).toBeDefined();
  return {
    type: node.kind === 'folder' ? 1 : 0,
    id: sim.ids.encode('file', node.id),
    name: node.name,
    created_at: o.created ?? T0,
    updated_at: o.updated ?? T0,
    size: node.kind === 'folder' ? 0 : node.size,
    metadata: o.metadata === undefined ? {} : o.metadata,
    path: segments.length === 0 ? 'cloudreve://my/' : `cloudreve://my/${segments.map(q).join('/')}`,
    capability: MY,
    owned: true,
    primary_entity: sim.ids.encode('entity', node.kind === 'file' ? (sim.drive.entityOf(node)?.id ?? 0) : 0),
  };
}

const policyOf = (sim: Simulator) => ({ id: sim.ids.encode('policy', 1), name: 'Default storage policy', type: 'local', max_size: 0 });

/** Writes `content` into alice's drive at `segments` as a new version (a commit, like a finished upload). */
function put(sim: Simulator, segments: string[], content: string | Buffer): void {
  const file = path.join(sim.drive.makeTempDir('put'), 'part');
  writeFileSync(file, content);
  sim.drive.commitFile(ALICE, segments, file);
}

/** GET of a content URL (path and query only), the body read as bytes whatever its type. */
function fetchUrl(sim: Simulator, url: string, method: 'get' | 'head' = 'get') {
  const u = new URL(url);
  const req = request(sim.app)[method](u.pathname + u.search);
  return method === 'head'
    ? req
    : req.buffer(true).parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
}

/** POST /file/url for one URI as alice, returning the URL (asserting success). */
async function urlOf(sim: Simulator, uri: string, extra: Record<string, unknown> = {}): Promise<string> {
  const alice = await as(sim, 'alice');
  const res = await alice.post('/file/url', { uris: [uri], ...extra });
  expect(res.body.code, res.text).toBe(0);
  return res.body.data.urls[0].url as string;
}

/** Every file and folder below a fixture folder on disk (`.keep` left out). */
function fixtureTree(dir: string): { files: number; folders: number; size: number } {
  const out = { files: 0, folders: 0, size: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === '.keep') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      out.folders++;
      const sub = fixtureTree(full);
      out.files += sub.files;
      out.folders += sub.folders;
      out.size += sub.size;
    } else {
      out.files++;
      out.size += statSync(full).size;
    }
  }
  return out;
}

const ROOT_FOLDERS = ['Downloads', 'archives', 'docs', 'extracted', 'photos'];
const ROOT_FILES = ['big.bin', 'empty.txt', 'hello.txt', 'notes.txt', 't.torrent', '中文.txt'];

describe('GET /file: listing a folder', () => {
  it('lists alice’s root: folders first, then files (creation order), with parent, pagination, props, policy and view, keys in order', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.get(`/file?uri=${q('cloudreve://my')}`);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const hint = res.body.data?.context_hint;
    expect(hint).toMatch(UUID_V4);
    const expected = {
      code: 0,
      data: {
        files: [...ROOT_FOLDERS, ...ROOT_FILES].map((n) => objectOf(sim, [n])),
        parent: objectOf(sim, [], { metadata: null }),
        pagination: { page: 0, page_size: 100, is_cursor: true },
        props: { capability: MY, max_page_size: 2000, ...ORDER_PROPS },
        context_hint: hint,
        mixed_type: false,
        storage_policy: policyOf(sim),
        view: { page_size: 100, view: 'grid', thumbnail: true },
      },
      msg: '',
    };
    expect(res.text).toBe(JSON.stringify(expected));
  });

  it('sends a file object’s keys in the server order, with metadata {} and the [0,8] entity for folders and empty files', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { files } = (await alice.get(`/file?uri=${q('cloudreve://my')}`)).body.data;
    for (const f of files) {
      expect(Object.keys(f)).toEqual(['type', 'id', 'name', 'created_at', 'updated_at', 'size', 'metadata', 'path', 'capability', 'owned', 'primary_entity']);
    }
    const zero = sim.ids.encode('entity', 0);
    const byName = (n: string) => files.find((f: { name: string }) => f.name === n);
    expect(byName('docs')).toMatchObject({ type: 1, size: 0, metadata: {}, primary_entity: zero });
    expect(byName('empty.txt')).toMatchObject({ type: 0, size: 0, primary_entity: zero });
    expect(byName('notes.txt').primary_entity).not.toBe(zero);
    // A folder id is a file hashid too (type 2).
    expect(sim.ids.decode('file', byName('docs').id)).toBe(sim.drive.stat(ALICE, ['docs'])!.id);
  });

  it('always answers the folder asked for: every listing’s parent is that folder and every child lies in it', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const pending = ['cloudreve://my'];
    let listed = 0;
    while (pending.length > 0) {
      const uri = pending.shift()!;
      const { data } = (await alice.get(`/file?uri=${q(uri)}`)).body;
      listed++;
      const self = uri === 'cloudreve://my' ? 'cloudreve://my/' : uri;
      expect(data.parent.path).toBe(self);
      expect(data.parent.type).toBe(1);
      for (const f of data.files) {
        expect(f.path).toBe(`${self.replace(/\/$/, '')}/${q(f.name)}`);
        if (f.type === 1) pending.push(f.path);
      }
    }
    expect(listed).toBeGreaterThan(8);
  });

  it('lists a subfolder with its parent object and escaped child paths', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.get(`/file?uri=${q('cloudreve://my/photos')}`);
    expect(res.body.data.files).toEqual([objectOf(sim, ['photos', 'holiday 2024.jpg'])]);
    expect(res.body.data.files[0].path).toBe('cloudreve://my/photos/holiday%202024.jpg');
    expect(res.body.data.parent).toEqual(objectOf(sim, ['photos'], { metadata: null }));
  });

  it('shows what POST /file/create made, with its metadata', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.post('/file/create', { uri: 'cloudreve://my/made', type: 'folder', err_on_conflict: true, metadata: { 'customize:emoji': '📁' } });
    const { files } = (await alice.get(`/file?uri=${q('cloudreve://my')}`)).body.data;
    expect(files.map((f: { name: string }) => f.name)).toEqual([...ROOT_FOLDERS, 'made', ...ROOT_FILES]);
    expect(files[5]).toEqual(objectOf(sim, ['made'], { metadata: { 'customize:emoji': '📁' } }));
  });

  it.each(['cloudreve:%2F%2Fmy%2Fdocs', 'cloudreve://my/docs', 'cloudreve%3A%2F%2Fmy%2Fdocs'])('reads the uri however it is escaped (%s; axios leaves ":" as is)', async (raw) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.get(`/file?uri=${raw}`);
    expect([res.body.code, res.body.data?.parent.path]).toEqual([0, 'cloudreve://my/docs']);
    expect((await alice.get(`/file/info?uri=${raw}`)).body.data.path).toBe('cloudreve://my/docs');
  });

  it('answers JSON even when the client asks for an event stream', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.get(`/file?uri=${q('cloudreve://my')}`).set('Accept', 'text/event-stream');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body.code).toBe(0);
  });

  it('accepts the caller’s own id in the URI and still writes paths in the caller’s view', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.get(`/file?uri=${q(`cloudreve://${sim.ids.encode('user', ALICE)}@my/docs`)}`);
    expect(res.body.data.parent.path).toBe('cloudreve://my/docs');
  });
});

describe('GET /file: cursor pagination', () => {
  /** Every page of a listing, following next_token. */
  async function allPages(sim: Simulator, uri: string, extra: string) {
    const alice = await as(sim, 'alice');
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const res = await alice.get(`/file?uri=${q(uri)}${extra}${token ? `&next_page_token=${q(token)}` : ''}`);
      expect(res.body.code, res.text).toBe(0);
      const { files, pagination } = res.body.data;
      pages.push(files.map((f: { name: string }) => f.name));
      expect(pagination.page).toBe(0);
      expect(pagination.is_cursor).toBe(true);
      token = pagination.next_token;
      if (token !== undefined) {
        expect(token).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
        expect(Object.keys(pagination)).toEqual(['page', 'page_size', 'next_token', 'is_cursor']);
      }
    } while (token !== undefined && pages.length < 50);
    return pages;
  }

  it('pages one item at a time through every child exactly once, in the full listing’s order', async () => {
    const sim = testSimulator();
    const pages = await allPages(sim, 'cloudreve://my', '&page_size=1');
    expect(pages).toEqual([...ROOT_FOLDERS, ...ROOT_FILES].map((n) => [n]));
  });

  it('pages a sorted listing, and sends next_token only while more items follow', async () => {
    const sim = testSimulator();
    const pages = await allPages(sim, 'cloudreve://my', '&page_size=4&order_by=name&order_direction=desc');
    expect(pages).toEqual([
      ['photos', 'extracted', 'docs', 'archives'],
      ['Downloads', '中文.txt', 't.torrent', 'notes.txt'],
      ['hello.txt', 'empty.txt', 'big.bin'],
    ]);
    const exact = await allPages(sim, 'cloudreve://my', '&page_size=11');
    expect(exact).toEqual([[...ROOT_FOLDERS, ...ROOT_FILES]]);
  });

  it('goes on after the cursor even when the item it names has gone', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const first = (await alice.get(`/file?uri=${q('cloudreve://my')}&page_size=2&order_by=name`)).body.data;
    expect(first.files.map((f: { name: string }) => f.name)).toEqual(['Downloads', 'archives']);
    // A new folder sorting before the cursor is not repeated; one after it shows.
    await alice.post('/file/create', { uri: 'cloudreve://my/Aaa', type: 'folder' });
    await alice.post('/file/create', { uri: 'cloudreve://my/b-new', type: 'folder' });
    const next = (await alice.get(`/file?uri=${q('cloudreve://my')}&page_size=2&order_by=name&next_page_token=${q(first.pagination.next_token)}`)).body.data;
    expect(next.files.map((f: { name: string }) => f.name)).toEqual(['b-new', 'docs']);
  });

  it.each(['!!!', 'bm90IGpzb24=', Buffer.from('{"id":"zz","value":1,"folders_done":false}').toString('base64'), Buffer.from('{"id":"x"}').toString('base64')])(
    'answers -1 for the token %s',
    async (token) => {
      const sim = testSimulator();
      const alice = await as(sim, 'alice');
      expect((await alice.get(`/file?uri=${q('cloudreve://my')}&next_page_token=${q(token)}`)).body).toEqual({ code: -1, msg: '', correlation_id: cid });
    },
  );

  it('clamps page_size to 2000 and uses the view’s 100 when it is missing or 0', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    for (const [size, want] of [['5000', 2000], ['0', 100], ['', 100], ['7', 7]] as const) {
      const { data } = (await alice.get(`/file?uri=${q('cloudreve://my')}&page_size=${size}`)).body;
      expect([size, data.pagination.page_size, data.view.page_size]).toEqual([size, want, want]);
    }
  });
});

describe('GET /file: page-number pagination (use_cursor_pagination: false)', () => {
  it('slices by page number from 0, with total_items and no next_token', async () => {
    const sim = testSimulator({ cursorPagination: false });
    const alice = await as(sim, 'alice');
    const all = [...ROOT_FOLDERS, ...ROOT_FILES];
    for (const page of [0, 1, 2, 3]) {
      const { data } = (await alice.get(`/file?uri=${q('cloudreve://my')}&page_size=4&page=${page}`)).body;
      expect(data.files.map((f: { name: string }) => f.name)).toEqual(all.slice(page * 4, page * 4 + 4));
      expect(data.pagination).toEqual({ page, page_size: 4, total_items: 11, is_cursor: false });
      expect(Object.keys(data.pagination)).toEqual(['page', 'page_size', 'total_items', 'is_cursor']);
    }
    const empty = (await alice.get(`/file?uri=${q('cloudreve://my/docs/empty')}`)).body.data;
    expect(empty.pagination).toEqual({ page: 0, page_size: 100, is_cursor: false });
  });
});

describe('GET /file: sorting', () => {
  /** A folder with files and folders made at different times: b.txt first (rewritten last), then a.txt, C.txt… */
  async function sortFolder(sim: Simulator) {
    put(sim, ['sort', 'b.txt'], '123');
    await sim.clock.advance(1_000);
    put(sim, ['sort', 'a.txt'], '1');
    sim.drive.ensureFolder(ALICE, ['sort', 'zeta']);
    await sim.clock.advance(1_000);
    put(sim, ['sort', 'C.txt'], '123');
    sim.drive.ensureFolder(ALICE, ['sort', 'Alpha']);
    put(sim, ['sort', '\uff21.txt'], '1234'); // fullwidth A: UTF-8 EF BC A1
    put(sim, ['sort', '😀.txt'], '12'); // UTF-8 F0 9F…, but UTF-16 D83D sorts first
    await sim.clock.advance(1_000);
    put(sim, ['sort', 'b.txt'], '12345');
  }

  it.each([
    ['', ['zeta', 'Alpha', 'b.txt', 'a.txt', 'C.txt', 'Ａ.txt', '😀.txt']],
    ['&order_by=foo', ['zeta', 'Alpha', 'b.txt', 'a.txt', 'C.txt', 'Ａ.txt', '😀.txt']],
    ['&order_by=name', ['Alpha', 'zeta', 'C.txt', 'a.txt', 'b.txt', 'Ａ.txt', '😀.txt']],
    ['&order_by=name&order_direction=desc', ['zeta', 'Alpha', '😀.txt', 'Ａ.txt', 'b.txt', 'a.txt', 'C.txt']],
    ['&order_by=size', ['zeta', 'Alpha', 'a.txt', '😀.txt', 'C.txt', 'Ａ.txt', 'b.txt']],
    ['&order_by=size&order_direction=desc', ['Alpha', 'zeta', 'b.txt', 'Ａ.txt', 'C.txt', '😀.txt', 'a.txt']],
    ['&order_by=created_at', ['zeta', 'Alpha', 'b.txt', 'a.txt', 'C.txt', 'Ａ.txt', '😀.txt']],
    ['&order_by=updated_at', ['zeta', 'Alpha', 'a.txt', 'C.txt', 'Ａ.txt', '😀.txt', 'b.txt']],
    ['&order_by=updated_at&order_direction=desc', ['Alpha', 'zeta', 'b.txt', '😀.txt', 'Ａ.txt', 'C.txt', 'a.txt']],
    ['&order_direction=desc', ['Alpha', 'zeta', '😀.txt', 'Ａ.txt', 'C.txt', 'a.txt', 'b.txt']],
  ])('orders by %s: folders first, names in byte order, ties by id', async (params, names) => {
    const sim = testSimulator();
    await sortFolder(sim);
    const alice = await as(sim, 'alice');
    const res = await alice.get(`/file?uri=${q('cloudreve://my/sort')}${params}`);
    expect(res.body.data.files.map((f: { name: string }) => f.name)).toEqual(names);
  });

  it('echoes the order asked for in view, unknown values included', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const view = async (params: string) => (await alice.get(`/file?uri=${q('cloudreve://my')}${params}`)).body.data.view;
    expect(await view('&order_by=name&order_direction=desc')).toEqual({ page_size: 100, order: 'name', order_direction: 'desc', view: 'grid', thumbnail: true });
    expect(Object.keys(await view('&order_by=name&order_direction=desc'))).toEqual(['page_size', 'order', 'order_direction', 'view', 'thumbnail']);
    expect(await view('&order_by=foo&order_direction=sideways')).toEqual({ page_size: 100, order: 'foo', order_direction: 'sideways', view: 'grid', thumbnail: true });
  });
});

describe('GET /file: other file systems and searches', () => {
  it('lists the trash root as an empty list with the zero parent, AMIK and the trash view', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.get(`/file?uri=${q('cloudreve://trash')}`);
    const hint = res.body.data.context_hint;
    expect(res.text).toBe(
      JSON.stringify({
        code: 0,
        data: {
          files: [],
          parent: { type: 0, id: '', name: '', created_at: '0001-01-01T00:00:00Z', updated_at: '0001-01-01T00:00:00Z', size: 0, metadata: null },
          pagination: { page: 0, page_size: 100, is_cursor: true },
          props: { capability: 'AMIK', max_page_size: 2000, ...ORDER_PROPS },
          context_hint: hint,
          mixed_type: false,
          view: { page_size: 100, view: 'list', columns: [{ type: 0 }, { type: 2 }, { type: 8 }, { type: 7 }] },
        },
        msg: '',
      }),
    );
  });

  it('lists the shared-with-me root as empty, with its own capability', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { data } = (await alice.get(`/file?uri=${q('cloudreve://shared_with_me')}`)).body;
    expect(data.files).toEqual([]);
    expect(data.props.capability).toBe('gAKA');
    expect(data.storage_policy).toBeUndefined();
  });

  it('answers a search (a URI with a query) with an empty list and no sort options', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { data } = (await alice.get(`/file?uri=${q('cloudreve://my?name=notes')}`)).body;
    expect(data.files).toEqual([]);
    expect(data.props).toEqual({ capability: MY, max_page_size: 2000, order_by_options: null, order_direction_options: null });
    expect(data.parent.path).toBe('cloudreve://my/');
  });
});

describe('GET /file: errors in the server order', () => {
  it.each([
    ['no uri', '', { code: 40001, msg: 'Uri cannot be empty' }],
    ['an empty uri', 'uri=', { code: 40001, msg: 'Uri cannot be empty' }],
    ['a negative page', `uri=${q('cloudreve://my')}&page=-1`, { code: 40001, msg: 'Page too short' }],
    ['a non-integer page_size', `uri=${q('cloudreve://my')}&page_size=abc`, { code: 40001, msg: 'Parameter error' }],
    ['a non-integer page before a bad uri', `uri=/docs&page=x`, { code: 40001, msg: 'Parameter error' }],
  ])('binding: %s (no correlation id)', async (_, query, body) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.get(`/file?${query}`)).body).toEqual(body);
  });

  it.each([
    ['/docs', 40001, 'unknown uri'],
    ['http://x/docs', 40001, 'unknown uri'],
    ['cloudreve://my/%zz', 40001, 'unknown uri'],
    ['cloudreve://foo', -1, ''],
    ['cloudreve://my/missing', 40016, 'Path not exist'],
    ['cloudreve://my/docs/missing/deeper', 40016, 'Path not exist'],
    ['cloudreve://my/notes.txt', 40016, 'Path not exist'],
    ['cloudreve://my/notes.txt/x', 40016, 'Path not exist'],
    ['cloudreve://abc@my', 40016, 'Path not exist'],
    ['cloudreve://trash/x', 40016, 'Path not exist'],
    ['cloudreve://shared_with_me/x', 40016, 'Path not exist'],
    ['cloudreve://abc@share', 404, 'Shared file does not exist'],
  ])('%s → %i %s', async (uri, code, msg) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.get(`/file?uri=${q(uri)}`)).body).toEqual({ code, msg, correlation_id: cid });
  });

  it('refuses another user’s drive with 403 "Permission denied", admins included', async () => {
    const sim = testSimulator();
    const uri = q(`cloudreve://${sim.ids.encode('user', CAROL)}@my`);
    for (const who of ['alice', 'admin'] as const) {
      const agent = await as(sim, who);
      expect((await agent.get(`/file?uri=${uri}`)).body).toEqual({ code: 403, msg: 'Permission denied', correlation_id: cid });
    }
  });

  it.each(['cloudreve://my', 'cloudreve://trash', 'cloudreve://shared_with_me'])('answers an anonymous caller 401 in %s (no login guard: the file system refuses)', async (uri) => {
    const sim = testSimulator();
    expect((await request(sim.app).get(`/api/v4/file?uri=${q(uri)}`)).body).toEqual({ code: 401, msg: 'Login required', correlation_id: cid });
  });

  it('answers HEAD with the plain-text 404', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).head(`/api/v4/file?uri=${q('cloudreve://my')}`);
    expect([res.status, res.headers['content-type']]).toEqual([404, 'text/plain']);
  });
});

describe('POST /file/create', () => {
  it('creates a folder and its missing parents, answering the new folder with metadata null', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await sim.clock.advance(1_234);
    const res = await alice.post('/file/create', { type: 'folder', uri: 'cloudreve://my/new/deep', err_on_conflict: true });
    const at = '2025-05-20T04:00:01.234Z';
    expect(res.text).toBe(JSON.stringify({ code: 0, data: objectOf(sim, ['new', 'deep'], { metadata: null, created: at, updated: at }), msg: '' }));
    expect(res.body.data).toMatchObject({ type: 1, name: 'deep', path: 'cloudreve://my/new/deep', owned: true, primary_entity: sim.ids.encode('entity', 0) });
    expect(sim.drive.stat(ALICE, ['new'])?.kind).toBe('folder');
    expect(statSync(sim.drive.diskPath(ALICE, ['new', 'deep'])).isDirectory()).toBe(true);
  });

  it('answers an existing object of the same type (40004 with err_on_conflict), and 40004 for another type', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const made = (await alice.post('/file/create', { type: 'folder', uri: 'cloudreve://my/new/deep', err_on_conflict: true })).body.data;
    expect((await alice.post('/file/create', { type: 'folder', uri: 'cloudreve://my/new/deep', err_on_conflict: true })).body).toEqual({ code: 40004, msg: 'Object existed', correlation_id: cid });
    const again = await alice.post('/file/create', { type: 'folder', uri: 'cloudreve://my/new/deep' });
    expect(again.body).toEqual({ code: 0, data: { ...made, created_at: T0, updated_at: T0 }, msg: '' });
    expect((await alice.post('/file/create', { type: 'file', uri: 'cloudreve://my/docs' })).body).toEqual({ code: 40004, msg: 'Object existed', correlation_id: cid });
    expect((await alice.post('/file/create', { type: 'folder', uri: 'cloudreve://my/notes.txt' })).body).toEqual({ code: 40004, msg: 'Object existed', correlation_id: cid });
    expect((await alice.post('/file/create', { type: 'file', uri: 'cloudreve://my/notes.txt' })).body).toEqual({ code: 0, data: objectOf(sim, ['notes.txt'], { metadata: null }), msg: '' });
  });

  it('counts the root as an existing folder', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/file/create', { type: 'folder', uri: 'cloudreve://my' })).body).toEqual({ code: 0, data: objectOf(sim, [], { metadata: null }), msg: '' });
    expect((await alice.post('/file/create', { type: 'folder', uri: 'cloudreve://my/', err_on_conflict: true })).body).toEqual({ code: 40004, msg: 'Object existed', correlation_id: cid });
    expect((await alice.post('/file/create', { type: 'file', uri: 'cloudreve://my' })).body).toEqual({ code: 40004, msg: 'Object existed', correlation_id: cid });
  });

  it('creates an empty file without content (primary entity [0,8]) whose URL serves 0 bytes', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.post('/file/create', { type: 'file', uri: 'cloudreve://my/docs/empty.md', err_on_conflict: true });
    expect(res.body).toEqual({ code: 0, data: objectOf(sim, ['docs', 'empty.md'], { metadata: null }), msg: '' });
    expect(res.body.data).toMatchObject({ type: 0, size: 0, primary_entity: sim.ids.encode('entity', 0) });
    expect(readFileSync(sim.drive.diskPath(ALICE, ['docs', 'empty.md']), 'utf8')).toBe('');
    const got = await fetchUrl(sim, await urlOf(sim, 'cloudreve://my/docs/empty.md'));
    expect([got.status, got.headers['content-length'], (got.body as Buffer).length]).toEqual([200, '0', 0]);
  });

  it('stores the metadata it is given (listed later, not echoed)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const metadata = { 'customize:icon_color': '#ff0000', 'tag:work': 'blue', 'sys:shared_owner': sim.ids.encode('user', CAROL), 'sys:shared_redirect': 'cloudreve://abc@share/x' };
    const res = await alice.post('/file/create', { type: 'file', uri: 'cloudreve://my/m.txt', metadata });
    expect(res.body.data.metadata).toBeNull();
    expect((await alice.get(`/file/info?uri=${q('cloudreve://my/m.txt')}`)).body.data.metadata).toEqual(metadata);
  });

  it.each([
    [{ uri: 'cloudreve://my/x' }, 'Type cannot be empty'],
    [{ uri: 'cloudreve://my/x', type: '' }, 'Type cannot be empty'],
    [{ uri: 'cloudreve://my/x', type: 'dir' }, 'Invalid parameters.'],
    [{ type: 'folder' }, 'Uri cannot be empty'],
    [{}, 'Uri cannot be empty'],
    [{ uri: 'cloudreve://my/x', type: 'file', err_on_conflict: 'yes' }, 'JSON marshall error'],
    [{ uri: 'cloudreve://my/x', type: 'file', metadata: { a: 1 } }, 'JSON marshall error'],
  ])('binding %j → "%s" (no correlation id)', async (body, msg) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/file/create', body)).body).toEqual({ code: 40001, msg });
  });

  it.each([
    [{ uri: '/x', type: 'folder' }, 40001, 'unknown uri'],
    [{ uri: 'cloudreve://my/x', type: 'folder', metadata: { foo: 'bar' } }, 40001, 'Invalid metadata key'],
    [{ uri: 'cloudreve://my/x', type: 'folder', metadata: { 'nope:foo': 'bar' } }, 40001, 'Invalid metadata key'],
    [{ uri: 'cloudreve://my/x', type: 'folder', metadata: { 'sys:foo': '1' } }, 40001, 'Invalid metadata patch'],
    [{ uri: 'cloudreve://my/x', type: 'folder', metadata: { 'sys:shared_owner': 'zz' } }, 40001, 'Invalid metadata patch'],
    [{ uri: 'cloudreve://my/x', type: 'folder', metadata: { 'sys:shared_redirect': 'cloudreve://my/x' } }, 40001, 'Invalid metadata patch'],
    [{ uri: 'cloudreve://trash/x', type: 'folder' }, 403, 'Not supported action'],
    [{ uri: 'cloudreve://shared_with_me/x', type: 'folder' }, 403, 'Not supported action'],
    [{ uri: 'cloudreve://abc@share/x', type: 'folder' }, 403, 'Not supported action'],
    [{ uri: 'cloudreve://foo/x', type: 'folder' }, -1, ''],
    [{ uri: 'cloudreve://my/a:b.txt', type: 'file' }, 40052, 'Invalid object name'],
    [{ uri: 'cloudreve://my/a|b', type: 'folder' }, 40052, 'Invalid object name'],
    [{ uri: `cloudreve://my/${'x'.repeat(256)}`, type: 'folder' }, 40052, 'Invalid object name'],
    [{ uri: 'cloudreve://my/notes.txt/x', type: 'folder' }, 403, 'Not supported action'],
    [{ uri: 'cloudreve://my/notes.txt/x/y', type: 'file' }, 403, 'Not supported action'],
  ])('%j → %i %s', async (body, code, msg) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/file/create', body)).body).toEqual({ code, msg, correlation_id: cid });
  });

  it('keeps the folders made before an illegal name', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/file/create', { uri: 'cloudreve://my/made/a*b/c', type: 'folder' })).body.code).toBe(40052);
    expect(sim.drive.stat(ALICE, ['made'])?.kind).toBe('folder');
    expect(sim.drive.children(ALICE, ['made'])).toEqual([]);
  });

  it('refuses anonymous callers (401) and other users’ drives (403 "Permission denied")', async () => {
    const sim = testSimulator();
    expect((await request(sim.app).post('/api/v4/file/create').send({ uri: 'cloudreve://my/x', type: 'folder' })).body).toEqual({ code: 401, msg: 'Login required', correlation_id: cid });
    const alice = await as(sim, 'alice');
    expect((await alice.post('/file/create', { uri: `cloudreve://${sim.ids.encode('user', CAROL)}@my/x`, type: 'folder' })).body).toEqual({ code: 403, msg: 'Permission denied', correlation_id: cid });
    expect(sim.drive.stat(CAROL, ['x'])).toBeUndefined();
  });

  it('applies the storage policy’s name rules to a new file (40052), not to folders', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'files-accounts-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const accounts = path.join(dir, 'accounts.yaml');
    // Alice's group on policy 3 (refuses .exe and .iso).
    writeFileSync(accounts, readFileSync(path.join(BUNDLED_FIXTURES, 'accounts.yaml'), 'utf8').replace(/(name: Member\n)/, '$1    policy: 3\n'));
    const sim = testSimulator({ accounts });
    const alice = await as(sim, 'alice');
    expect((await alice.post('/file/create', { uri: 'cloudreve://my/tool.exe', type: 'file' })).body).toEqual({ code: 40052, msg: 'Invalid object name', correlation_id: cid });
    expect((await alice.post('/file/create', { uri: 'cloudreve://my/tool.exe', type: 'folder' })).body.code).toBe(0);
    expect((await alice.post('/file/create', { uri: 'cloudreve://my/ok.txt', type: 'file' })).body.code).toBe(0);
    expect(sim.drive.stat(ALICE, ['ok.txt'])?.policyId).toBe(3);
    expect((await alice.get(`/file?uri=${q('cloudreve://my')}`)).body.data.storage_policy).toEqual({
      id: sim.ids.encode('policy', 3),
      name: 'Small documents',
      denied_suffix: ['exe', 'iso'],
      type: 'local',
      max_size: 65536,
    });
  });
});

describe('GET /file/info', () => {
  it('answers a file like a listing entry, metadata loaded', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.get(`/file/info?uri=${q('cloudreve://my/docs/a.txt')}`);
    expect(res.text).toBe(JSON.stringify({ code: 0, data: objectOf(sim, ['docs', 'a.txt']), msg: '' }));
  });

  it('adds extended_info: the file’s policy, storage used and its content version', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.get(`/file/info?uri=${q('cloudreve://my/notes.txt')}&extended=true`);
    const file = objectOf(sim, ['notes.txt']);
    const expected = {
      ...file,
      extended_info: {
        storage_policy: policyOf(sim),
        storage_used: 11,
        entities: [
          {
            id: file.primary_entity,
            size: 11,
            type: 0,
            created_at: T0,
            storage_policy: policyOf(sim),
            created_by: { id: sim.ids.encode('user', ALICE), nickname: 'alice', created_at: '2025-04-28T09:30:00Z' },
          },
        ],
      },
    };
    expect(res.text).toBe(JSON.stringify({ code: 0, data: expected, msg: '' }));
  });

  it('shows a new content version: a new primary entity and its time', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const before = (await alice.get(`/file/info?uri=${q('cloudreve://my/notes.txt')}`)).body.data.primary_entity;
    await sim.clock.advance(60_000);
    put(sim, ['notes.txt'], 'rewritten!');
    const { data } = (await alice.get(`/file/info?uri=${q('cloudreve://my/notes.txt')}&extended=1`)).body;
    expect(data.primary_entity).not.toBe(before);
    expect(data.extended_info.entities).toEqual([expect.objectContaining({ id: data.primary_entity, size: 10, created_at: '2025-05-20T04:01:00Z' })]);
    expect(data.extended_info.storage_used).toBe(10);
  });

  it('gives an empty file and a folder no entities and no storage used (a folder no policy either)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const empty = (await alice.get(`/file/info?uri=${q('cloudreve://my/empty.txt')}&extended=T`)).body.data;
    expect(empty.extended_info).toEqual({ storage_policy: policyOf(sim), storage_used: 0 });
    expect(empty.primary_entity).toBe(sim.ids.encode('entity', 0));
    const docs = (await alice.get(`/file/info?uri=${q('cloudreve://my/docs')}&extended=true`)).body.data;
    expect(docs.extended_info).toEqual({ storage_used: 0 });
  });

  it('adds folder_summary to a folder (recursive counts, every byte below it), not to a file', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.get(`/file/info?uri=${q('cloudreve://my/docs')}&folder_summary=true`);
    const tree = fixtureTree(path.join(ALICE_FIXTURES, 'docs'));
    expect(res.text).toBe(
      JSON.stringify({ code: 0, data: { ...objectOf(sim, ['docs']), folder_summary: { size: tree.size, files: tree.files, folders: tree.folders, completed: true, calculated_at: T0 } }, msg: '' }),
    );
    expect(tree.folders).toBeGreaterThan(1);
    expect((await alice.get(`/file/info?uri=${q('cloudreve://my/notes.txt')}&folder_summary=true`)).body.data.folder_summary).toBeUndefined();
    const both = (await alice.get(`/file/info?uri=${q('cloudreve://my/docs')}&folder_summary=1&extended=1`)).body.data;
    expect(Object.keys(both).slice(-2)).toEqual(['folder_summary', 'extended_info']);
  });

  it('stops the summary at the group’s max_walked_files', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'files-accounts-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const accounts = path.join(dir, 'accounts.yaml');
    writeFileSync(accounts, readFileSync(path.join(BUNDLED_FIXTURES, 'accounts.yaml'), 'utf8').replace(/(name: Member\n(?:.*\n)*?    max_walked_files: )\d+/, '$12'));
    const sim = testSimulator({ accounts });
    const alice = await as(sim, 'alice');
    const summary = (await alice.get(`/file/info?uri=${q('cloudreve://my/docs')}&folder_summary=true`)).body.data.folder_summary;
    expect(summary.completed).toBe(false);
    expect(summary.files + summary.folders).toBe(2);
  });

  it('finds an object by id when no uri is given', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const id = sim.ids.encode('file', sim.drive.stat(ALICE, ['docs', 'a.txt'])!.id);
    expect((await alice.get(`/file/info?id=${id}`)).body).toEqual({ code: 0, data: objectOf(sim, ['docs', 'a.txt']), msg: '' });
    // uri wins over id.
    expect((await alice.get(`/file/info?id=${id}&uri=${q('cloudreve://my/notes.txt')}`)).body.data.name).toBe('notes.txt');
    const carols = sim.ids.encode('file', sim.drive.stat(CAROL, ['hello.txt'])!.id);
    expect((await alice.get(`/file/info?id=${carols}`)).body).toEqual({ code: 403, msg: 'Permission denied', correlation_id: cid });
  });

  it.each([
    ['', { code: 40001, msg: 'uri is required', correlation_id: cid }],
    ['uri=', { code: 40001, msg: 'uri is required', correlation_id: cid }],
    ['id=zz', { code: 40001, msg: 'unknown file id', correlation_id: cid }],
    ['id=' + 'placeholder-task-id', { code: 40001, msg: 'unknown file id', correlation_id: cid }],
    [`uri=${q('cloudreve://my')}`, { code: 403, msg: 'Not supported action', correlation_id: cid }],
    [`uri=${q('cloudreve://my/')}`, { code: 403, msg: 'Not supported action', correlation_id: cid }],
    [`uri=${q('cloudreve://trash')}`, { code: 403, msg: 'Not supported action', correlation_id: cid }],
    [`uri=${q('cloudreve://my/nope')}`, { code: 40016, msg: 'Path not exist', correlation_id: cid }],
    [`uri=${q('cloudreve://trash/nope')}`, { code: 40016, msg: 'Path not exist', correlation_id: cid }],
    [`uri=${q('notauri')}`, { code: 40001, msg: 'unknown uri', correlation_id: cid }],
    [`uri=${q('cloudreve://foo/x')}`, { code: -1, msg: '', correlation_id: cid }],
    [`uri=${q('cloudreve://my/docs')}&extended=yes`, { code: 40001, msg: 'Parameter error' }],
    [`uri=${q('cloudreve://my/docs')}&folder_summary=tRuE`, { code: 40001, msg: 'Parameter error' }],
  ])('?%s → the server’s error', async (query, body) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const text = query.replace('placeholder-task-id', sim.ids.encode('task', 1));
    expect((await alice.get(`/file/info?${text}`)).body).toEqual(body);
  });

  it('answers an id naming nothing with 40016, and an anonymous caller with 401', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.get(`/file/info?id=${sim.ids.encode('file', 99_999)}`)).body).toEqual({ code: 40016, msg: 'Path not exist', correlation_id: cid });
    const id = sim.ids.encode('file', sim.drive.stat(ALICE, ['notes.txt'])!.id);
    expect((await request(sim.app).get(`/api/v4/file/info?id=${id}`)).body).toEqual({ code: 401, msg: 'Login required', correlation_id: cid });
    expect((await request(sim.app).get(`/api/v4/file/info?uri=${q('cloudreve://my/notes.txt')}`)).body).toEqual({ code: 401, msg: 'Login required', correlation_id: cid });
  });
});

describe('POST /file/url', () => {
  it('signs an absolute URL of the content route for the file’s current entity, valid for an hour', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.post('/file/url', { uris: ['cloudreve://my/docs/a.txt'] });
    const entity = objectOf(sim, ['docs', 'a.txt']).primary_entity;
    expect(res.body).toEqual({ code: 0, data: { urls: [{ url: expect.any(String) }], expires: '2025-05-20T05:00:00Z' }, msg: '' });
    expect(Object.keys(res.body.data)).toEqual(['urls', 'expires']);
    const url = new URL(res.body.data.urls[0].url);
    expect(url.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url.pathname).toBe(`/api/v4/file/content/${entity}/0/a.txt`);
    expect([...url.searchParams.keys()]).toEqual(['sign']);
    expect(url.searchParams.get('sign')).toMatch(/^[A-Za-z0-9_-]+=*:1747717200$/);
  });

  it('uses the Host the request came to', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.post('/file/url', { uris: ['cloudreve://my/notes.txt'] }).set('Host', 'drive.example.test:8443');
    expect(res.body.data.urls[0].url).toMatch(/^http:\/\/drive\.example\.test:8443\/api\/v4\/file\/content\//);
  });

  it('puts download=true first, escapes the name, and signs one URL per URI in order', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.post('/file/url', { uris: ['cloudreve://my/中文.txt', 'cloudreve://my/photos/holiday 2024.jpg'], download: true });
    const [a, b] = res.body.data.urls.map((u: { url: string }) => u.url);
    expect(a).toMatch(/\/0\/%E4%B8%AD%E6%96%87\.txt\?download=true&sign=[^&]+$/);
    expect(b).toMatch(/\/0\/holiday%202024\.jpg\?download=true&sign=[^&]+$/);
    // Go escapes & in JSON strings.
    expect(res.text).toContain('?download=true\\u0026sign=');
  });

  it('answers {"urls":[],"expires":null} for no URIs', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/file/url', { uris: [] })).text).toBe('{"code":0,"data":{"urls":[],"expires":null},"msg":""}');
  });

  it('aggregates per-item failures (40081), keyed by the URI as re-serialised, sharing one correlation id', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.post('/file/url', { uris: ['cloudreve://my/docs/', 'cloudreve://my/notes.txt', 'cloudreve://my/no such', 'cloudreve://trash'] });
    const id = res.body.correlation_id;
    expect(id).toMatch(UUID_V4);
    expect(res.text).toBe(
      JSON.stringify({
        code: 40081,
        aggregated_error: {
          'cloudreve://my/docs': { code: 40077, msg: 'Entity not exist', correlation_id: id },
          'cloudreve://my/no%20such': { code: 40016, msg: 'Path not exist', correlation_id: id },
          'cloudreve://trash': { code: 403, msg: 'Not supported action', correlation_id: id },
        },
        msg: 'One or more operation failed',
        correlation_id: id,
      }),
    );
  });

  it('takes the single failure’s message as the top-level one', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/file/url', { uris: ['cloudreve://my/docs'] })).body).toEqual({
      code: 40081,
      aggregated_error: { 'cloudreve://my/docs': { code: 40077, msg: 'Entity not exist', correlation_id: cid } },
      msg: 'Entity not exist',
      correlation_id: cid,
    });
  });

  it('turns failed items into empty URLs with skip_error', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const all = await alice.post('/file/url', { uris: ['cloudreve://my/docs'], skip_error: true });
    expect(all.text).toBe('{"code":0,"data":{"urls":[{"url":""}],"expires":null},"msg":""}');
    const some = (await alice.post('/file/url', { uris: ['cloudreve://my/docs', 'cloudreve://my/notes.txt'], skip_error: true })).body.data;
    expect(some.urls[0]).toEqual({ url: '' });
    expect(some.urls[1].url).toMatch(/^http/);
    expect(some.expires).toBe('2025-05-20T05:00:00Z');
  });

  it('checks `entity` against each file’s current version (40077 otherwise)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const current = objectOf(sim, ['notes.txt']).primary_entity;
    expect((await alice.post('/file/url', { uris: ['cloudreve://my/notes.txt'], entity: current })).body.code).toBe(0);
    for (const entity of [objectOf(sim, ['hello.txt']).primary_entity, 'zz']) {
      expect((await alice.post('/file/url', { uris: ['cloudreve://my/notes.txt'], entity })).body.aggregated_error).toEqual({
        'cloudreve://my/notes.txt': { code: 40077, msg: 'Entity not exist', correlation_id: cid },
      });
    }
  });

  it('answers an anonymous caller’s items with 401 inside 40081', async () => {
    const sim = testSimulator();
    expect((await request(sim.app).post('/api/v4/file/url').send({ uris: ['cloudreve://my/docs/a.txt'] })).body).toEqual({
      code: 40081,
      aggregated_error: { 'cloudreve://my/docs/a.txt': { code: 401, msg: 'Login required', correlation_id: cid } },
      msg: 'Login required',
      correlation_id: cid,
    });
  });

  it('checks the batch size and every URI before any work', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/file/url', { uris: Array.from({ length: 3001 }, () => 'x') })).body).toEqual({ code: 40074, msg: 'Maximum allowed batch size: 3000', correlation_id: cid });
    expect((await alice.post('/file/url', { uris: ['cloudreve://my/notes.txt', '/docs'] })).body).toEqual({ code: 40001, msg: 'unknown uri', correlation_id: cid });
    expect((await alice.post('/file/url', {})).body).toEqual({ code: 40001, msg: 'Uris cannot be empty' });
    expect((await alice.post('/file/url', { uris: 'cloudreve://my/notes.txt' })).body).toEqual({ code: 40001, msg: 'JSON marshall error' });
  });

  it('archive: true needs the group’s archive-download permission (40007); the archive session is covered in files-delete-archive.test.ts', async () => {
    const sim = testSimulator();
    const user = await as(sim, 'user');
    expect((await user.post('/file/url', { uris: ['cloudreve://my/hello.txt'], archive: true })).body).toEqual({ code: 40007, msg: '', correlation_id: cid });
    const alice = await as(sim, 'alice');
    expect((await alice.post('/file/url', { uris: ['cloudreve://my/notes.txt'], archive: true })).body.code).toBe(0);
  });
});

describe('GET/HEAD /file/content/:id/:speed/:name', () => {
  it('serves the exact bytes without credentials, with the server’s headers', async () => {
    const sim = testSimulator();
    const url = await urlOf(sim, 'cloudreve://my/docs/a.txt');
    const res = await fetchUrl(sim, url);
    const bytes = readFileSync(path.join(ALICE_FIXTURES, 'docs', 'a.txt'));
    const entity = objectOf(sim, ['docs', 'a.txt']).primary_entity;
    expect(res.status).toBe(200);
    expect(res.body).toEqual(bytes);
    expect(res.headers).toMatchObject({
      'accept-ranges': 'bytes',
      'content-length': String(bytes.length),
      etag: `"${entity}"`,
      'cache-control': 'public, max-age=86400',
      'content-security-policy': 'sandbox',
      'content-type': 'text/plain; charset=utf-8',
      'access-control-allow-origin': '*',
    });
    expect(res.headers['content-disposition']).toBeUndefined();
  });

  it('serves one range (206), the last bytes, an open range; a range past the end → 416; a malformed one → 416', async () => {
    const sim = testSimulator();
    const url = await urlOf(sim, 'cloudreve://my/notes.txt');
    const get = (range: string) => fetchUrl(sim, url).set('Range', range);
    const mid = await get('bytes=2-4');
    expect([mid.status, mid.headers['content-range'], mid.headers['content-length'], mid.body.toString()]).toEqual([206, 'bytes 2-4/11', '3', 'llo']);
    const tail = await get('bytes=-5');
    expect([tail.status, tail.headers['content-range'], tail.body.toString()]).toEqual([206, 'bytes 6-10/11', 'world']);
    const open = await get('bytes=6-');
    expect([open.status, open.body.toString()]).toEqual([206, 'world']);
    const past = await get('bytes=11-');
    expect([past.status, past.headers['content-range'], past.body.toString()]).toEqual([416, 'bytes */11', 'invalid range: failed to overlap\n']);
    const bad = await get('bytes=x');
    expect([bad.status, bad.headers['content-range'], bad.body.toString()]).toEqual([416, undefined, 'invalid range\n']);
    const several = await get('bytes=0-1,4-5');
    expect([several.status, several.body.toString()]).toEqual([200, 'hello world']);
  });

  it('honours If-None-Match (304), If-Match (412) and If-Range', async () => {
    const sim = testSimulator();
    const url = await urlOf(sim, 'cloudreve://my/notes.txt');
    const etag = `"${objectOf(sim, ['notes.txt']).primary_entity}"`;
    expect((await fetchUrl(sim, url).set('If-None-Match', etag)).status).toBe(304);
    expect((await fetchUrl(sim, url).set('If-None-Match', '"other"')).status).toBe(200);
    expect((await fetchUrl(sim, url).set('If-Match', '"other"')).status).toBe(412);
    expect((await fetchUrl(sim, url).set('If-Match', etag)).status).toBe(200);
    expect((await fetchUrl(sim, url).set('Range', 'bytes=0-4').set('If-Range', etag)).status).toBe(206);
    const stale = await fetchUrl(sim, url).set('Range', 'bytes=0-4').set('If-Range', '"old"');
    expect([stale.status, stale.body.toString()]).toEqual([200, 'hello world']);
  });

  it('answers HEAD with the headers only (no Content-Security-Policy), ranges included', async () => {
    const sim = testSimulator();
    const url = await urlOf(sim, 'cloudreve://my/notes.txt', { download: true });
    const head = await fetchUrl(sim, url, 'head');
    expect([head.status, head.headers['content-length'], head.headers['content-disposition'], head.headers['content-security-policy'], head.text]).toEqual([
      200,
      '11',
      'attachment; filename="notes.txt"',
      undefined,
      undefined,
    ]);
    const ranged = await fetchUrl(sim, url, 'head').set('Range', 'bytes=0-1');
    expect([ranged.status, ranged.headers['content-range'], ranged.headers['content-length']]).toEqual([206, 'bytes 0-1/11', '2']);
    const expired = await request(sim.app).head(new URL(url).pathname);
    expect([expired.status, expired.headers['content-type']]).toEqual([200, 'application/json; charset=utf-8']);
  });

  it('sends Content-Disposition with download=true, filename* for names beyond printable ASCII', async () => {
    const sim = testSimulator();
    const plain = await fetchUrl(sim, await urlOf(sim, 'cloudreve://my/docs/a.txt', { download: true }));
    expect(plain.headers['content-disposition']).toBe('attachment; filename="a.txt"');
    const cjk = await fetchUrl(sim, await urlOf(sim, 'cloudreve://my/中文.txt', { download: true }));
    expect(cjk.headers['content-disposition']).toBe(`attachment; filename="__.txt"; filename*=UTF-8''%E4%B8%AD%E6%96%87.txt`);
    expect(cjk.body).toEqual(readFileSync(path.join(ALICE_FIXTURES, '中文.txt')));
  });

  it('takes Content-Type from the name, else from the bytes', async () => {
    const sim = testSimulator();
    const jpg = await fetchUrl(sim, await urlOf(sim, 'cloudreve://my/photos/holiday 2024.jpg'));
    expect(jpg.headers['content-type']).toBe('image/jpeg');
    const bin = await fetchUrl(sim, await urlOf(sim, 'cloudreve://my/big.bin'));
    expect(bin.headers['content-type']).toBe(readFileSync(path.join(ALICE_FIXTURES, 'big.bin')).subarray(0, 512).some((b) => b < 9) ? 'application/octet-stream' : 'text/plain; charset=utf-8');
    expect(bin.body.length).toBe(2 * 1024 * 1024);
  });

  it('checks the signature first: missing, without expiry, not an integer, changed, expired', async () => {
    const sim = testSimulator();
    const url = new URL(await urlOf(sim, 'cloudreve://my/notes.txt'));
    const sign = url.searchParams.get('sign')!;
    const at = (path: string, signValue?: string) => request(sim.app).get(signValue === undefined ? path : `${path}?sign=${q(signValue)}`);
    expect((await at(url.pathname)).body).toEqual({ code: 403, msg: 'expire timestamp is missing', correlation_id: cid });
    expect((await at(url.pathname, 'abc:')).body).toEqual({ code: 403, msg: 'expire timestamp is missing', correlation_id: cid });
    expect((await at(url.pathname, 'abc')).body).toEqual({ code: 40071, msg: 'sign expired', correlation_id: cid });
    const flipped = (sign[0] === 'A' ? 'B' : 'A') + sign.slice(1);
    expect((await at(url.pathname, flipped)).body).toEqual({ code: 40071, msg: 'invalid sign', correlation_id: cid });
    expect((await at(url.pathname.replace('notes.txt', 'other.txt'), sign)).body).toEqual({ code: 40071, msg: 'invalid sign', correlation_id: cid });
    expect((await at(url.pathname.replace('/0/', '/1/'), sign)).body).toEqual({ code: 40071, msg: 'invalid sign', correlation_id: cid });
    // The signature covers the path only: download=true may be added.
    const withDownload = await request(sim.app).get(`${url.pathname}?download=true&sign=${q(sign)}`);
    expect([withDownload.status, withDownload.headers['content-disposition']]).toEqual([200, 'attachment; filename="notes.txt"']);
    // Valid through its expiry second, expired after it.
    await sim.clock.advance(3_600_000);
    expect((await at(url.pathname, sign)).status).toBe(200);
    expect((await at(url.pathname, sign)).text).toBe('hello world');
    await sim.clock.advance(1_000);
    expect((await at(url.pathname, sign)).body).toEqual({ code: 40005, msg: 'signature expired', correlation_id: cid });
  });

  it('no longer serves a version that was replaced (40077), and a missing stored file is the plain 404', async () => {
    const sim = testSimulator();
    const url = await urlOf(sim, 'cloudreve://my/notes.txt');
    put(sim, ['notes.txt'], 'new content');
    const stale = await fetchUrl(sim, url);
    expect([stale.status, stale.headers['content-type']]).toEqual([200, 'application/json; charset=utf-8']);
    expect(JSON.parse(stale.body.toString())).toEqual({ code: 40077, msg: 'Entity not exist', correlation_id: cid });
    const fresh = await urlOf(sim, 'cloudreve://my/notes.txt');
    expect((await fetchUrl(sim, fresh)).body.toString()).toBe('new content');
    rmSync(sim.drive.diskPath(ALICE, ['notes.txt']));
    const gone = await fetchUrl(sim, fresh);
    expect([gone.status, gone.headers['content-type'], gone.body.toString()]).toEqual([404, 'text/plain', 'Entity data does not exist.']);
  });

  it('serves an archive a task produced byte for byte, whole and in ranges', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.archive(['cloudreve://my/docs', 'cloudreve://my/notes.txt'], 'cloudreve://my/out/docs.zip')).code).toBe(0);
    await sim.clock.runUntilIdle();
    const listed = (await alice.get(`/file?uri=${q('cloudreve://my/out')}`)).body.data.files;
    expect(listed.map((f: { name: string }) => f.name)).toEqual(['docs.zip']);
    const url = await urlOf(sim, listed[0].path, { download: true });
    const onDisk = readFileSync(sim.drive.diskPath(ALICE, ['out', 'docs.zip']));
    const res = await fetchUrl(sim, url);
    expect([res.status, res.headers['content-type'], res.headers['content-disposition']]).toEqual([200, 'application/zip', 'attachment; filename="docs.zip"']);
    expect(Buffer.compare(res.body, onDisk)).toBe(0);
    expect(res.body.length).toBe(listed[0].size);
    const dir = mkdtempSync(path.join(tmpdir(), 'files-zip-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'got.zip'), res.body);
    const entries = (await readZip(path.join(dir, 'got.zip'))).map((e) => e.name);
    expect(entries).toContain('/notes.txt');
    expect(entries).toContain('docs/a.txt');
    const half = Math.floor(onDisk.length / 2);
    const first = await fetchUrl(sim, url).set('Range', `bytes=0-${half - 1}`);
    const second = await fetchUrl(sim, url).set('Range', `bytes=${half}-`);
    expect(Buffer.compare(Buffer.concat([first.body, second.body]), onDisk)).toBe(0);
  });
});

describe('content route guards, behind a valid signature', () => {
  /** An app on one world's context, so that arbitrary paths can be signed with its secret. */
  function signedApp() {
    const dir = mkdtempSync(path.join(tmpdir(), 'files-ctx-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const ctx = createServiceContext(resolveOptions({ clock: 'virtual', seed: 'test', hashSalt: TEST_SALT }), dir, pino({ level: 'silent' }));
    const app = createHttpApp(loadContract(), { edition: 'pro', before: [fixedContext(ctx)], strict: true, debug: false, bodyLimit: 1024, logger: pino({ level: 'silent' }) });
    const get = (p: string) => {
      const full = `/api/v4/file/content/${p}`;
      const sign = ctx.signer.sign(decodeURIComponent(full), Math.floor(ctx.clock.now() / 1000) + 60);
      return request(app).get(`${full}?sign=${q(sign)}`);
    };
    return { ctx, get };
  }

  it('answers an id that is not an entity hashid with 40001, a non-integer speed with "Parameter error", in that order', async () => {
    const { ctx, get } = signedApp();
    expect((await get('zz!/0/a.txt')).body).toEqual({ code: 40001, msg: 'Failed to parse object ID', correlation_id: cid });
    expect((await get(`${ctx.ids.encode('file', 1)}/x/a.txt`)).body).toEqual({ code: 40001, msg: 'Failed to parse object ID', correlation_id: cid });
    expect((await get(`${ctx.ids.encode('entity', 1)}/x/a.txt`)).body).toEqual({ code: 40001, msg: 'Parameter error' });
  });

  it('answers an entity no file holds with 40077, and entity 0 with the empty content', async () => {
    const { ctx, get } = signedApp();
    expect((await get(`${ctx.ids.encode('entity', 99_999)}/0/a.txt`)).body).toEqual({ code: 40077, msg: 'Entity not exist', correlation_id: cid });
    const empty = await get(`${ctx.ids.encode('entity', 0)}/0/a.txt`);
    expect([empty.status, empty.headers['content-length'], empty.headers.etag, empty.text]).toEqual([200, '0', `"${ctx.ids.encode('entity', 0)}"`, '']);
  });

  it('serves a seeded entity through any signed name, the name choosing the type', async () => {
    const { ctx, get } = signedApp();
    const node = ctx.drive.stat(ALICE, ['notes.txt'])!;
    const res = await get(`${ctx.ids.encode('entity', ctx.drive.entityOf(node)!.id)}/0/x.json`).buffer(true).parse((r, done) => {
      let text = '';
      r.on('data', (c: Buffer) => (text += c.toString()));
      r.on('end', () => done(null, text));
    });
    expect([res.status, res.headers['content-type'], res.body]).toEqual([200, 'application/json', 'hello world']);
  });

  it('lets strict mode answer raw only with the statuses the operation declares', () => {
    const checker = createResponseChecker(loadContract());
    expect(checker.checkStatus('getFileContent', 200)).toEqual([]);
    expect(checker.checkStatus('headFileContent', 206)).toEqual([]);
    expect(checker.checkStatus('getFileContent', 416)).toEqual([]);
    expect(checker.checkStatus('getFileContent', 500).length).toBe(1);
    expect(checker.checkStatus('listFiles', 200).length).toBe(1);
  });
});

describe('GET /file/thumb', () => {
  it.each([
    ['cloudreve://my/docs', { code: 40077, msg: 'Entity not exist', correlation_id: cid }],
    ['cloudreve://my', { code: 40077, msg: 'Entity not exist', correlation_id: cid }],
    ['cloudreve://my/notes.txt', { code: 40077, msg: 'Entity not exist', correlation_id: cid }],
    ['cloudreve://my/photos/holiday 2024.jpg', { code: 40077, msg: 'Entity not exist', correlation_id: cid }],
    ['cloudreve://my/empty.txt', { code: -1, msg: '', correlation_id: cid }],
    ['cloudreve://my/missing.jpg', { code: 40016, msg: 'Path not exist', correlation_id: cid }],
    ['/x', { code: 40001, msg: 'unknown uri', correlation_id: cid }],
  ])('%s → a non-zero code', async (uri, body) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.get(`/file/thumb?uri=${q(uri)}`)).body).toEqual(body);
  });

  it('needs a uri, and refuses anonymous callers', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.get('/file/thumb')).body).toEqual({ code: 40001, msg: 'Uri cannot be empty' });
    expect((await request(sim.app).get(`/api/v4/file/thumb?uri=${q('cloudreve://my/notes.txt')}`)).body).toEqual({ code: 401, msg: 'Login required', correlation_id: cid });
  });
});
