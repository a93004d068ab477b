/**
 * Writing content (spec F§9, §10): PUT /file/content and the upload sessions (PUT /file/upload,
 * POST /file/upload/:id/:index, DELETE /file/upload). Whole bodies, every error path, bytes read
 * back through POST /file/url, and a 300 MiB upload with flat memory.
 */
import { cpSync, createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { once } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Simulator } from '../../src/index.js';
import { ACCOUNTS, as, fetchBytes, signIn, testSimulator, tmpEntries, UUID_V4 } from '../helpers.js';

const cid = expect.stringMatching(UUID_V4);
const ALICE = ACCOUNTS.alice.id;
const ADMIN = ACCOUNTS.admin.id;
const MY = 'w8edAQ==';
const q = encodeURIComponent;
const CHUNK = 26214400;

type Agent = Awaited<ReturnType<typeof as>>;

/** The bytes a file's content URL serves. */
async function download(sim: Simulator, who: Agent, uri: string): Promise<Buffer> {
  const res = await who.post('/file/url', { uris: [uri] });
  expect(res.body.code, res.text).toBe(0);
  const got = await fetchBytes(sim, res.body.data.urls[0].url as string);
  expect(got.status).toBe(200);
  return got.body as Buffer;
}

const used = async (who: Agent): Promise<number> => (await who.get('/user/capacity')).body.data.used as number;
/**
 * A request written by hand (headers exactly as given, `body` written then the request left
 * open or ended), answered as JSON: for the headers supertest would rewrite.
 */
async function rawRequest(sim: Simulator, method: string, url: string, headers: Record<string, string>, body: string, end: boolean): Promise<unknown> {
  const server = http.createServer(sim.app).listen(0);
  try {
    const { port } = server.address() as AddressInfo;
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request({ port, method, path: `/api/v4${url}`, headers }, (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve(t));
      });
      req.on('error', reject);
      req.write(body);
      if (end) req.end();
    });
    return JSON.parse(text);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
/**
 * A request kept open: the test writes its body bit by bit (`write`, `end`) or walks away
 * (`leave`), and `reply` settles with the JSON answer, which may come before the body ends.
 */
async function openRequest(sim: Simulator, method: string, url: string, headers: Record<string, string>) {
  const server = http.createServer(sim.app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const req = http.request({ host: '127.0.0.1', port, method, path: `/api/v4${url}`, headers });
  req.on('error', () => {}); // a body written after the answer may meet a closed socket
  const reply = new Promise<unknown>((resolve) => {
    req.on('response', (res) => {
      let t = '';
      res.on('data', (c: Buffer) => (t += c.toString()));
      res.on('end', () => resolve(JSON.parse(t)));
    });
  });
  req.flushHeaders();
  onTestFinished(() => {
    req.destroy();
    server.closeAllConnections();
    server.close();
  });
  return {
    write: (bytes: string) => new Promise<void>((resolve) => req.write(bytes, () => resolve())),
    end: () => req.end(),
    leave: () => req.destroy(),
    reply,
  };
}

/** Lets the event loop turn (no timer, no real-time wait) until `cond` holds; fails after a bounded number of turns. */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let turn = 0; turn < 200_000; turn++) {
    if (cond()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

/** The bytes a running upload session has in its temporary file so far. */
function sessionData(sim: Simulator): Buffer {
  const dir = tmpEntries(sim).find((d) => d.startsWith('upload-'));
  const probe = sim.drive.makeTempDir('probe');
  rmSync(probe, { recursive: true });
  return dir ? readFileSync(path.join(path.dirname(probe), dir, 'data')) : Buffer.alloc(0);
}
const entity = (sim: Simulator, n: number) => sim.ids.encode('entity', n);
const fileObj = (sim: Simulator, userId: number, segments: string[]) => {
  const node = sim.drive.stat(userId, segments)!;
  return {
    type: 0,
    id: sim.ids.encode('file', node.id),
    name: node.name,
    created_at: expect.any(String),
    updated_at: expect.any(String),
    size: node.size,
    metadata: null,
    path: `cloudreve://my/${segments.map(q).join('/')}`,
    capability: MY,
    owned: true,
    primary_entity: entity(sim, sim.drive.entityOf(node)?.id ?? 0),
  };
};

describe('PUT /file/content', () => {
  it('saves the body into a file without content ([0,8] as previous) and serves it', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const created = await alice.post('/file/create', { uri: 'cloudreve://my/new.txt', type: 'file' });
    expect(created.body.data.primary_entity).toBe(entity(sim, 0));
    const res = await alice.save('cloudreve://my/new.txt', 'hello', entity(sim, 0));
    expect(res.body).toEqual({ code: 0, data: fileObj(sim, ALICE, ['new.txt']), msg: '' });
    expect(res.body.data).toMatchObject({ size: 5, metadata: null, id: created.body.data.id });
    expect(res.body.data.primary_entity).not.toBe(entity(sim, 0));
    expect(Object.keys(res.body.data)).toEqual(['type', 'id', 'name', 'created_at', 'updated_at', 'size', 'metadata', 'path', 'capability', 'owned', 'primary_entity']);
    expect((await download(sim, alice, 'cloudreve://my/new.txt')).toString()).toBe('hello');

    // The old version is gone: saving against it again is stale.
    const stale = await alice.save('cloudreve://my/new.txt', 'again', entity(sim, 0));
    expect(stale.body).toEqual({ code: 40076, msg: 'File is updated during your edit', correlation_id: cid });
    const unknown = await alice.save('cloudreve://my/new.txt', 'again', 'zz');
    expect(unknown.body).toEqual({ code: 40001, msg: 'Unknown version ID', correlation_id: cid });
    // The current version is accepted, and each save makes a new entity.
    const first = res.body.data.primary_entity as string;
    const next = await alice.save('cloudreve://my/new.txt', 'hello, world', first);
    expect(next.body.data).toMatchObject({ size: 12 });
    expect(next.body.data.primary_entity).not.toBe(first);
    expect((await download(sim, alice, 'cloudreve://my/new.txt')).toString()).toBe('hello, world');
    expect(tmpEntries(sim)).toEqual([]);
  });

  it('creates a missing file (parents included, previous ignored); a folder → 40004; the root → 40004', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const before = await used(alice);
    const res = await alice.save('cloudreve://my/fresh/dir/f.txt', 'abc', 'zz');
    expect(res.body).toEqual({ code: 0, data: fileObj(sim, ALICE, ['fresh', 'dir', 'f.txt']), msg: '' });
    expect(res.body.data.size).toBe(3);
    expect(await used(alice)).toBe(before + 3);
    expect((await alice.save('cloudreve://my/docs', 'x')).body).toEqual({ code: 40004, msg: 'Object existed', correlation_id: cid });
    expect((await alice.save('cloudreve://my/', 'x')).body).toEqual({ code: 40004, msg: 'Object existed', correlation_id: cid });
  });

  it('answers errors in the server order', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const app = request(sim.app);
    expect((await app.put('/api/v4/file/content').send('x')).body).toEqual({ code: 40001, msg: 'Uri cannot be empty' });
    expect((await alice.save('nope://x', 'x')).body).toEqual({ code: 40001, msg: 'unknown uri', correlation_id: cid });
    expect((await app.put(`/api/v4/file/content?uri=${q('cloudreve://my/a.txt')}`).send('x')).body).toEqual({ code: 401, msg: 'Login required', correlation_id: cid });
    expect((await alice.save('cloudreve://trash/a.txt', 'x')).body).toEqual({ code: 403, msg: 'Not supported action', correlation_id: cid });
    expect((await alice.save('cloudreve://foo/a.txt', 'x')).body).toEqual({ code: -1, msg: '', correlation_id: cid });
    expect((await alice.save(`cloudreve://${sim.ids.encode('user', ADMIN)}@my/a.txt`, 'x')).body).toEqual({ code: 403, msg: 'Permission denied', correlation_id: cid });
    expect((await alice.save('cloudreve://my/notes.txt/a.txt', 'x')).body).toEqual({ code: 403, msg: 'Not supported action', correlation_id: cid });
    expect((await alice.save('cloudreve://my/a|b', 'x')).body).toEqual({ code: 40052, msg: 'Invalid object name', correlation_id: cid });
    // alice's quota is 16 MiB.
    const big = Buffer.alloc(17 * 1024 * 1024, 1);
    expect((await alice.save('cloudreve://my/big2.bin', big)).body).toEqual({ code: 40051, msg: 'Insufficient capacity', correlation_id: cid });
    // A header that is not a number.
    const auth = `Bearer ${(await signIn(sim, 'alice')).access}`;
    const url = `/file/content?uri=${q('cloudreve://my/h.txt')}`;
    const bad = await rawRequest(sim, 'PUT', url, { Authorization: auth, 'X-Expected-Entity-Length': 'abc', 'Transfer-Encoding': 'chunked' }, 'x', true);
    expect(bad).toEqual({ code: 40001, msg: 'invalid content length', correlation_id: cid });
    // No length at all (a chunked body): the server writes an empty version.
    const chunked = await rawRequest(sim, 'PUT', url, { Authorization: auth, 'Transfer-Encoding': 'chunked' }, 'some text', true);
    expect(chunked).toEqual({ code: 0, data: fileObj(sim, ALICE, ['h.txt']), msg: '' });
    expect((chunked as { data: { size: number } }).data.size).toBe(0);
    expect(tmpEntries(sim)).toEqual([]);
  });

  it('refuses a body over 52428800 bytes without reading it (40049)', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'admin');
    const headers = { Authorization: `Bearer ${access}`, 'Content-Length': String(52428801) };
    const body = await rawRequest(sim, 'PUT', `/file/content?uri=${q('cloudreve://my/huge.bin')}`, headers, 'only a few bytes', false);
    expect(body).toEqual({ code: 40049, msg: 'File is too large', correlation_id: cid });
    expect(sim.drive.stat(ADMIN, ['huge.bin'])).toBeUndefined();
  });
});

/** A copy of the fixtures whose default policy takes 5-byte chunks, files up to 100 bytes and no `.exe`. */
function smallChunkFixtures(): string {
  const fx = mkdtempSync(path.join(tmpdir(), 'upload-fx-'));
  cpSync('fixtures', fx, { recursive: true });
  const file = path.join(fx, 'policies.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('  type: local\n  max_size: 0\n', '  type: local\n  max_size: 100\n  chunk_size: 5\n  denied_suffix: [exe]\n'));
  onTestFinished(() => rmSync(fx, { recursive: true, force: true }));
  return fx;
}

const smallPolicy = (sim: Simulator) => ({ id: sim.ids.encode('policy', 1), name: 'Default storage policy', denied_suffix: ['exe'], type: 'local', max_size: 100 });

describe('upload sessions', () => {
  it('creates a session: placeholder listed with its session id, size reserved (F#33)', async () => {
    const sim = testSimulator({ fixtures: smallChunkFixtures() });
    const alice = await as(sim, 'alice');
    const before = await used(alice);
    const expiresAt = Math.floor(sim.clock.now() / 1000) + 86400;
    const res = await alice.put('/file/upload', { uri: 'cloudreve://my/up.bin', size: 12, policy_id: sim.ids.encode('policy', 1), last_modified: 1747713600000 });
    expect(res.body).toEqual({
      code: 0,
      data: {
        session_id: expect.stringMatching(UUID_V4),
        upload_id: '',
        chunk_size: 5,
        expires: expiresAt,
        storage_policy: smallPolicy(sim),
        uri: 'cloudreve://my/up.bin',
        callback_secret: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      },
      msg: '',
    });
    expect(Object.keys(res.body.data)).toEqual(['session_id', 'upload_id', 'chunk_size', 'expires', 'storage_policy', 'uri', 'callback_secret']);
    const sid = res.body.data.session_id as string;
    const list = await alice.get(`/file?uri=${q('cloudreve://my/')}`);
    const row = list.body.data.files.find((f: { name: string }) => f.name === 'up.bin');
    expect(row).toMatchObject({ size: 0, metadata: { 'sys:upload_session_id': sid }, primary_entity: entity(sim, 0) });
    expect(await used(alice)).toBe(before + 12);

    // Chunks in any order; the last one completes the file before it answers (F#34).
    expect((await alice.chunk(sid, 2, 'ld')).body).toEqual({ code: 0, msg: '' });
    expect((await alice.chunk(sid, 0, 'hello')).body).toEqual({ code: 0, msg: '' });
    expect(sim.drive.stat(ALICE, ['up.bin'])!.size).toBe(0);
    expect((await alice.chunk(sid, 0, 'hello')).body).toEqual({ code: 0, msg: '' }); // a resend is harmless
    expect((await alice.chunk(sid, 1, ', wor')).body).toEqual({ code: 0, msg: '' });
    const info = await alice.get(`/file/info?uri=${q('cloudreve://my/up.bin')}`);
    // `last_modified` became `updated_at`; the session id is gone from the metadata.
    expect(info.body).toEqual({ code: 0, data: { ...fileObj(sim, ALICE, ['up.bin']), metadata: {}, updated_at: '2025-05-20T04:00:00Z' }, msg: '' });
    expect(info.body.data.primary_entity).not.toBe(entity(sim, 0));
    expect((await download(sim, alice, 'cloudreve://my/up.bin')).toString()).toBe('hello, world');
    expect(await used(alice)).toBe(before + 12);
    expect(tmpEntries(sim)).toEqual([]);

    // After completion, an unknown id, another user: 40011 (F#35).
    expect((await alice.chunk(sid, 0, 'hello')).body).toEqual({ code: 40011, msg: '', correlation_id: cid });
    expect((await alice.chunk('nope', 0, 'hello')).body).toEqual({ code: 40011, msg: '', correlation_id: cid });
    const live = (await alice.put('/file/upload', { uri: 'cloudreve://my/other.bin', size: 3 })).body.data.session_id as string;
    const carol = await as(sim, 'carol');
    expect((await carol.chunk(live, 0, 'abc')).body).toEqual({ code: 40011, msg: '', correlation_id: cid });
    expect((await request(sim.app).post(`/api/v4/file/upload/${live}/0`).send(Buffer.from('abc'))).body).toEqual({ code: 40011, msg: '', correlation_id: cid });
  });

  it('checks chunk index and length (F#36), and completes an empty file with one empty chunk (F#37)', async () => {
    const sim = testSimulator({ fixtures: smallChunkFixtures() });
    const alice = await as(sim, 'alice');
    const sid = (await alice.put('/file/upload', { uri: 'cloudreve://my/c.bin', size: 12 })).body.data.session_id as string;
    expect((await alice.chunk(sid, 0, 'abcd')).body).toEqual({ code: 40013, msg: 'Invalid Content-Length (expected: 5)', correlation_id: cid });
    expect((await alice.chunk(sid, 2, 'abc')).body).toEqual({ code: 40013, msg: 'Invalid Content-Length (expected: 2)', correlation_id: cid });
    expect((await alice.chunk(sid, 3, 'a')).body).toEqual({ code: 40012, msg: 'Chunk offset cannot be greater than file size', correlation_id: cid });
    expect((await alice.chunk(sid, 'x', 'a')).body).toEqual({ code: 40001, msg: 'Parameter error' });
    // The index decodes as Go's base-10 integers do: no fractions, hex or spaces; a sign is fine.
    for (const spelled of ['1.0', '0x1', '%201', '1e0']) expect((await alice.chunk(sid, spelled, 'a')).body).toEqual({ code: 40001, msg: 'Parameter error' });
    expect((await alice.chunk(sid, '+3', 'a')).body).toEqual({ code: 40012, msg: 'Chunk offset cannot be greater than file size', correlation_id: cid });
    expect((await alice.chunk(sid, -1, 'a')).body).toEqual({ code: 40001, msg: 'Index too short' });

    const zero = (await alice.put('/file/upload', { uri: 'cloudreve://my/zero.bin', size: 0 })).body.data.session_id as string;
    expect((await alice.chunk(zero, 1, '')).body).toEqual({ code: 40012, msg: 'Chunk offset cannot be greater than file size', correlation_id: cid });
    expect((await alice.chunk(zero, 0, '')).body).toEqual({ code: 0, msg: '' });
    const info = await alice.get(`/file/info?uri=${q('cloudreve://my/zero.bin')}`);
    expect(info.body).toEqual({ code: 0, data: { ...fileObj(sim, ALICE, ['zero.bin']), size: 0, metadata: {} }, msg: '' });
    expect(info.body.data.primary_entity).not.toBe(entity(sim, 0));
  });

  it('refuses a chunk of a session whose placeholder is gone (40016)', async () => {
    const sim = testSimulator({ fixtures: smallChunkFixtures() });
    const alice = await as(sim, 'alice');
    const sid = (await alice.put('/file/upload', { uri: 'cloudreve://my/gone.bin', size: 3 })).body.data.session_id as string;
    sim.drive.remove(ALICE, ['gone.bin']);
    expect((await alice.chunk(sid, 0, 'abc')).body).toEqual({ code: 40016, msg: 'Path not exist', correlation_id: cid });
  });

  it('overwrites only as a version upload, and locks the path while uploading (F#38)', async () => {
    const sim = testSimulator({ fixtures: smallChunkFixtures() });
    const alice = await as(sim, 'alice');
    expect((await alice.put('/file/upload', { uri: 'cloudreve://my/notes.txt', size: 3 })).body).toEqual({ code: 40004, msg: 'Object existed', correlation_id: cid });
    expect((await alice.put('/file/upload', { uri: 'cloudreve://my/docs', size: 3, entity_type: 'version' })).body).toEqual({ code: 40004, msg: 'Object existed', correlation_id: cid });
    expect((await alice.put('/file/upload', { uri: 'cloudreve://my/new.bin', size: 3, entity_type: 'live_photo' })).body).toEqual({ code: 40016, msg: 'Path not exist', correlation_id: cid });
    const notes = sim.drive.stat(ALICE, ['notes.txt'])!;
    const stale = await alice.put('/file/upload', { uri: 'cloudreve://my/notes.txt', size: 3, entity_type: 'version', previous: entity(sim, 0) });
    expect(stale.body).toEqual({ code: 40076, msg: 'File is updated during your edit', correlation_id: cid });
    const res = await alice.put('/file/upload', { uri: 'cloudreve://my/notes.txt', size: 3, entity_type: 'version', previous: entity(sim, sim.drive.entityOf(notes)!.id) });
    expect(res.body).toEqual({
      code: 0,
      data: {
        session_id: expect.stringMatching(UUID_V4),
        upload_id: '',
        chunk_size: 5,
        expires: Math.floor(sim.clock.now() / 1000) + 86400,
        storage_policy: smallPolicy(sim),
        uri: 'cloudreve://my/notes.txt',
        callback_secret: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      },
      msg: '',
    });
    // The existing file keeps its content while the new version uploads, marked as uploading.
    expect(sim.drive.metadataOf(notes)).toEqual({ 'sys:upload_session_id': res.body.data.session_id });
    expect((await download(sim, alice, 'cloudreve://my/notes.txt')).toString()).toBe('hello world');
    const sid = res.body.data.session_id as string;
    // A second session, or a save, on the same path while it runs → 40073.
    expect((await alice.put('/file/upload', { uri: 'cloudreve://my/notes.txt', size: 3, entity_type: 'version' })).body).toEqual({ code: 40073, msg: 'Lock conflict', correlation_id: cid });
    expect((await alice.save('cloudreve://my/notes.txt', 'x')).body).toEqual({ code: 40073, msg: 'Lock conflict', correlation_id: cid });
    expect((await alice.chunk(sid, 0, 'new')).body).toEqual({ code: 0, msg: '' });
    expect(sim.drive.stat(ALICE, ['notes.txt'])!.id).toBe(notes.id);
    expect((await download(sim, alice, 'cloudreve://my/notes.txt')).toString()).toBe('new');
    expect(sim.drive.metadataOf(notes)).toEqual({});
  });

  it('validates in the server order: binding, uri, policy id, metadata, capability, names, size, capacity (F#39)', async () => {
    const sim = testSimulator({ fixtures: smallChunkFixtures() });
    const alice = await as(sim, 'alice');
    const put = async (body: Record<string, unknown>) => (await alice.put('/file/upload', body)).body;
    expect(await put({})).toEqual({ code: 40001, msg: 'Uri cannot be empty' });
    expect(await put({ uri: 'cloudreve://my/a.bin', size: -1 })).toEqual({ code: 40001, msg: 'Size too short' });
    expect(await put({ uri: 'cloudreve://my/a.bin', entity_type: 'x' })).toEqual({ code: 40001, msg: 'Invalid parameters.' });
    const many = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`customize:k${i}`, 'v']));
    expect(await put({ uri: 'cloudreve://my/a.bin', metadata: many })).toEqual({ code: 40001, msg: 'Metadata too long' });
    expect(await put({ uri: 'nope', size: 1 })).toEqual({ code: 40001, msg: 'unknown uri', correlation_id: cid });
    expect(await put({ uri: 'cloudreve://my/a.bin', policy_id: 'zz' })).toEqual({ code: 40001, msg: 'unknown policy id', correlation_id: cid });
    expect(await put({ uri: 'cloudreve://my/a.bin', metadata: { 'bad:key': 'v' } })).toEqual({ code: 40001, msg: 'Invalid metadata key', correlation_id: cid });
    expect(await put({ uri: 'cloudreve://trash/a.bin' })).toEqual({ code: 403, msg: 'Not supported action', correlation_id: cid });
    expect(await put({ uri: 'cloudreve://foo/a.bin' })).toEqual({ code: -1, msg: '', correlation_id: cid });
    expect(await put({ uri: `cloudreve://${sim.ids.encode('user', ADMIN)}@my/a.bin` })).toEqual({ code: 403, msg: 'Permission denied', correlation_id: cid });
    expect((await request(sim.app).put('/api/v4/file/upload').send({ uri: 'cloudreve://my/a.bin' })).body).toEqual({ code: 401, msg: 'Login required', correlation_id: cid });
    expect(await put({ uri: 'cloudreve://my/a|b', size: 1 })).toEqual({ code: 40052, msg: 'Invalid object name', correlation_id: cid });
    expect(await put({ uri: 'cloudreve://my/setup.exe', size: 1 })).toEqual({ code: 40052, msg: 'Invalid object name', correlation_id: cid });
    expect(await put({ uri: 'cloudreve://my/a.bin', size: 101 })).toEqual({ code: 40049, msg: 'File is too large', correlation_id: cid });
    expect((await alice.save('cloudreve://my/a.bin', Buffer.alloc(101))).body).toEqual({ code: 40049, msg: 'File is too large', correlation_id: cid });
    // Nothing was left behind by the refusals.
    expect(sim.drive.stat(ALICE, ['a.bin'])).toBeUndefined();
    expect(tmpEntries(sim)).toEqual([]);
  });

  it('counts reserved space of other sessions against the quota (40051)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const room = 16 * 1024 * 1024 - (await used(alice));
    expect((await alice.put('/file/upload', { uri: 'cloudreve://my/too.bin', size: room + 1 })).body).toEqual({ code: 40051, msg: 'Insufficient capacity', correlation_id: cid });
    const first = await alice.put('/file/upload', { uri: 'cloudreve://my/half.bin', size: room - 10 });
    expect(first.body.code).toBe(0);
    expect((await alice.put('/file/upload', { uri: 'cloudreve://my/more.bin', size: 11 })).body).toEqual({ code: 40051, msg: 'Insufficient capacity', correlation_id: cid });
    expect((await alice.save('cloudreve://my/more.txt', Buffer.alloc(11))).body).toEqual({ code: 40051, msg: 'Insufficient capacity', correlation_id: cid });
    expect((await alice.put('/file/upload', { uri: 'cloudreve://my/fits.bin', size: 10 })).body.code).toBe(0);
  });

  it('cancels: the placeholder, the reservation and the data go; later chunks → 40011 (F#40, F#41)', async () => {
    const sim = testSimulator({ fixtures: smallChunkFixtures() });
    const alice = await as(sim, 'alice');
    const before = await used(alice);
    const sid = (await alice.put('/file/upload', { uri: 'cloudreve://my/deep/part.bin', size: 12 })).body.data.session_id as string;
    expect((await alice.chunk(sid, 0, 'hello')).body).toEqual({ code: 0, msg: '' });
    expect(tmpEntries(sim)).toHaveLength(1);
    const carol = await as(sim, 'carol');
    expect((await carol.delete('/file/upload', { id: sid, uri: 'cloudreve://my/hello.txt' })).body).toEqual({ code: 404, msg: 'Upload session not found', correlation_id: cid });
    expect((await alice.delete('/file/upload', { id: sid, uri: 'cloudreve://my/notes.txt' })).body).toEqual({ code: 404, msg: 'Upload session not found', correlation_id: cid });
    expect((await alice.delete('/file/upload', { id: sid, uri: 'cloudreve://my/deep/part.bin' })).body).toEqual({ code: 0, msg: '' });
    expect(sim.drive.stat(ALICE, ['deep', 'part.bin'])).toBeUndefined();
    expect(existsSync(sim.drive.diskPath(ALICE, ['deep', 'part.bin']))).toBe(false);
    expect(await used(alice)).toBe(before);
    expect(tmpEntries(sim)).toEqual([]);
    expect((await alice.chunk(sid, 1, 'hello')).body).toEqual({ code: 40011, msg: '', correlation_id: cid });
    // Cancelling again: the path is gone.
    expect((await alice.delete('/file/upload', { id: sid, uri: 'cloudreve://my/deep/part.bin' })).body).toEqual({ code: 40016, msg: 'Path not exist', correlation_id: cid });

    expect((await alice.delete('/file/upload', { id: 'x', uri: 'cloudreve://my/nope' })).body).toEqual({ code: 40016, msg: 'Path not exist', correlation_id: cid });
    expect((await alice.delete('/file/upload', {})).body).toEqual({ code: 40001, msg: 'ID cannot be empty' });
    expect((await alice.delete('/file/upload', { id: 'x' })).body).toEqual({ code: 40001, msg: 'Uri cannot be empty' });
    expect((await alice.delete('/file/upload', { id: 'x', uri: 'bad' })).body).toEqual({ code: 40001, msg: 'unknown uri', correlation_id: cid });
    expect((await alice.delete('/file/upload', { id: 'x', uri: 'cloudreve://my/' })).body).toEqual({ code: 403, msg: 'Not supported action', correlation_id: cid });
    // An unknown session on an existing file changes nothing.
    expect((await alice.delete('/file/upload', { id: 'x', uri: 'cloudreve://my/notes.txt' })).body).toEqual({ code: 0, msg: '' });
    expect(sim.drive.stat(ALICE, ['notes.txt'])!.size).toBe(11);
  });

  it('expires sessions after 86400 s: refused, and what they left is removed', async () => {
    const sim = testSimulator({ fixtures: smallChunkFixtures() });
    const alice = await as(sim, 'alice');
    const before = await used(alice);
    const sid = (await alice.put('/file/upload', { uri: 'cloudreve://my/late.bin', size: 12 })).body.data.session_id as string;
    expect((await alice.chunk(sid, 0, 'hello')).body).toEqual({ code: 0, msg: '' });
    await sim.clock.advance(86400 * 1000);
    const alice2 = await as(sim, 'alice');
    expect((await alice2.chunk(sid, 1, 'hello')).body).toEqual({ code: 40011, msg: '', correlation_id: cid });
    expect(sim.drive.stat(ALICE, ['late.bin'])).toBeUndefined();
    expect(await used(alice2)).toBe(before);
    expect(tmpEntries(sim)).toEqual([]);
  });

  it('journals a chunk by its size, never reading the bytes before the route', async () => {
    const sim = testSimulator({ fixtures: smallChunkFixtures() });
    const alice = await as(sim, 'alice');
    const sid = (await alice.put('/file/upload', { uri: 'cloudreve://my/j.bin', size: 5 })).body.data.session_id as string;
    expect((await alice.chunk(sid, 0, 'hello')).body).toEqual({ code: 0, msg: '' });
    const entry = sim.journal.entries().find((e) => e.path === `/api/v4/file/upload/${sid}/0`);
    expect(entry).toMatchObject({ method: 'POST', body: '<5 bytes>', code: 0 });
  });
});

describe('writers at the same time, and hard cases', () => {
  it('holds the path while a save streams: another save, an upload and a delete there → 40073; the save lands whole', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    const alice = await as(sim, 'alice');
    const before = await used(alice);
    const notes = sim.drive.stat(ALICE, ['notes.txt'])!;
    const save = await openRequest(sim, 'PUT', `/file/content?uri=${q('cloudreve://my/notes.txt')}`, { Authorization: `Bearer ${access}`, 'Content-Length': '20' });
    await save.write('0123456789');
    await until('the save streams', () => tmpEntries(sim).length === 1);
    const locked = { code: 40073, msg: 'Lock conflict', correlation_id: cid };
    expect((await alice.save('cloudreve://my/notes.txt', 'other')).body).toEqual(locked);
    expect((await alice.put('/file/upload', { uri: 'cloudreve://my/notes.txt', size: 3, entity_type: 'version' })).body).toEqual(locked);
    expect((await alice.delete('/file', { uris: ['cloudreve://my/notes.txt'] })).body).toEqual(locked);
    expect((await alice.delete('/file', { uris: ['cloudreve://my/notes.txt'], skip_soft_delete: true })).body).toEqual(locked);
    // The save reserves what it may add (20 − 11 bytes) while it streams.
    expect(await used(alice)).toBe(before + 9);
    await save.write('abcdefghij');
    save.end();
    expect(await save.reply).toEqual({ code: 0, data: { ...fileObj(sim, ALICE, ['notes.txt']), size: 20 }, msg: '' });
    expect(sim.drive.stat(ALICE, ['notes.txt'])!.id).toBe(notes.id);
    expect((await download(sim, alice, 'cloudreve://my/notes.txt')).toString()).toBe('0123456789abcdefghij');
    expect(await used(alice)).toBe(before + 9);
    expect(sim.drive.trashItems(ALICE)).toEqual([]);
    expect(tmpEntries(sim)).toEqual([]);
    // The lock went with the save.
    expect((await alice.save('cloudreve://my/notes.txt', 'again')).body.code).toBe(0);
  });

  it('counts what a streaming save may add against the quota, and frees it when the client leaves (50004, nothing written)', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    const alice = await as(sim, 'alice');
    const before = await used(alice);
    const room = 16777216 - before;
    const big = await openRequest(sim, 'PUT', `/file/content?uri=${q('cloudreve://my/big-save.bin')}`, { Authorization: `Bearer ${access}`, 'Content-Length': String(room - 100) });
    await big.write('x'.repeat(1000));
    await until('the save streams', () => tmpEntries(sim).length === 1);
    expect(await used(alice)).toBe(16777216 - 100);
    expect((await alice.save('cloudreve://my/small.txt', Buffer.alloc(200))).body).toEqual({ code: 40051, msg: 'Insufficient capacity', correlation_id: cid });
    expect((await alice.put('/file/upload', { uri: 'cloudreve://my/small.bin', size: 200 })).body).toEqual({ code: 40051, msg: 'Insufficient capacity', correlation_id: cid });
    big.leave();
    await until('the abandoned save is cleaned up', () => tmpEntries(sim).length === 0);
    expect(sim.drive.stat(ALICE, ['big-save.bin'])).toBeUndefined();
    expect(await used(alice)).toBe(before);
    expect((await alice.save('cloudreve://my/small.txt', Buffer.alloc(200))).body.code).toBe(0);
  });

  it('stops a re-sent chunk that is still streaming when the last chunk completes the file: it answers 40011 and writes nothing more', async () => {
    const sim = testSimulator({ fixtures: smallChunkFixtures() });
    const { access } = await signIn(sim, 'alice');
    const alice = await as(sim, 'alice');
    const sid = (await alice.put('/file/upload', { uri: 'cloudreve://my/r.bin', size: 10 })).body.data.session_id as string;
    expect((await alice.chunk(sid, 0, 'hello')).body).toEqual({ code: 0, msg: '' });
    const resend = await openRequest(sim, 'POST', `/file/upload/${sid}/0`, { Authorization: `Bearer ${access}`, 'Content-Length': '5' });
    await resend.write('hel');
    await until('the re-sent bytes are written', () => sessionData(sim).subarray(0, 3).toString() === 'hel');
    expect((await alice.chunk(sid, 1, 'world')).body).toEqual({ code: 0, msg: '' });
    expect(await resend.reply).toEqual({ code: 40011, msg: '', correlation_id: cid });
    await resend.write('ZZ');
    resend.end();
    expect((await download(sim, alice, 'cloudreve://my/r.bin')).toString()).toBe('helloworld');
    expect(sim.drive.metadataOf(sim.drive.stat(ALICE, ['r.bin'])!)).toEqual({});
    expect(tmpEntries(sim)).toEqual([]);
  });

  it('stops a chunk that is streaming when the session is cancelled: it answers 40011, and the placeholder and reservation go', async () => {
    const sim = testSimulator({ fixtures: smallChunkFixtures() });
    const { access } = await signIn(sim, 'alice');
    const alice = await as(sim, 'alice');
    const before = await used(alice);
    const sid = (await alice.put('/file/upload', { uri: 'cloudreve://my/c.bin', size: 10 })).body.data.session_id as string;
    const chunk = await openRequest(sim, 'POST', `/file/upload/${sid}/0`, { Authorization: `Bearer ${access}`, 'Content-Length': '5' });
    await chunk.write('abc');
    await until('the chunk streams', () => sessionData(sim).subarray(0, 3).toString() === 'abc');
    expect((await alice.delete('/file/upload', { id: sid, uri: 'cloudreve://my/c.bin' })).body).toEqual({ code: 0, msg: '' });
    expect(await chunk.reply).toEqual({ code: 40011, msg: '', correlation_id: cid });
    expect(sim.drive.stat(ALICE, ['c.bin'])).toBeUndefined();
    expect(await used(alice)).toBe(before);
    expect(tmpEntries(sim)).toEqual([]);
  });

  it('ends the session as a cancel would when committing the file fails: -1, no placeholder, no reservation', async () => {
    const sim = testSimulator({ fixtures: smallChunkFixtures() });
    const alice = await as(sim, 'alice');
    const before = await used(alice);
    const sid = (await alice.put('/file/upload', { uri: 'cloudreve://my/f.bin', size: 3 })).body.data.session_id as string;
    const commit = sim.drive.commitFile;
    sim.drive.commitFile = () => {
      throw new Error('disk full');
    };
    try {
      expect((await alice.chunk(sid, 0, 'abc')).body).toEqual({ code: -1, msg: '', correlation_id: cid });
    } finally {
      sim.drive.commitFile = commit;
    }
    expect(sim.drive.stat(ALICE, ['f.bin'])).toBeUndefined();
    expect(await used(alice)).toBe(before);
    expect(tmpEntries(sim)).toEqual([]);
    expect((await alice.chunk(sid, 0, 'abc')).body).toEqual({ code: 40011, msg: '', correlation_id: cid });
  });

  it('takes a version without `previous`, and a live photo beside a file without touching its content', async () => {
    const sim = testSimulator({ fixtures: smallChunkFixtures() });
    const alice = await as(sim, 'alice');
    const version = await alice.put('/file/upload', { uri: 'cloudreve://my/docs/a.txt', size: 3, entity_type: 'version' });
    expect(version.body.code).toBe(0);
    expect((await alice.chunk(version.body.data.session_id, 0, 'v2!')).body).toEqual({ code: 0, msg: '' });
    expect((await download(sim, alice, 'cloudreve://my/docs/a.txt')).toString()).toBe('v2!');

    const notes = sim.drive.stat(ALICE, ['notes.txt'])!;
    const entityBefore = sim.drive.entityOf(notes)!.id;
    const live = await alice.put('/file/upload', { uri: 'cloudreve://my/notes.txt', size: 3, entity_type: 'live_photo' });
    expect(live.body.code).toBe(0);
    expect((await alice.chunk(live.body.data.session_id, 0, 'MOV')).body).toEqual({ code: 0, msg: '' });
    expect((await download(sim, alice, 'cloudreve://my/notes.txt')).toString()).toBe('hello world');
    expect(sim.drive.entityOf(notes)!.id).toBe(entityBefore);
    expect(sim.drive.metadataOf(notes)).toEqual({});
  });

  it('refuses chunks for a session on a storage policy that is not local (40006)', async () => {
    const fx = smallChunkFixtures();
    const accounts = path.join(fx, 'accounts.yaml');
    writeFileSync(accounts, readFileSync(accounts, 'utf8').replace('    trash_retention: 259200\n', '    trash_retention: 259200\n    policy: 2\n'));
    const sim = testSimulator({ fixtures: fx });
    const alice = await as(sim, 'alice');
    const res = await alice.put('/file/upload', { uri: 'cloudreve://my/cold.bin', size: 3 });
    expect(res.body.data.storage_policy).toEqual({ id: sim.ids.encode('policy', 2), name: 'Cold storage', type: 's3', max_size: 0 });
    expect((await alice.chunk(res.body.data.session_id, 0, 'abc')).body).toEqual({ code: 40006, msg: '', correlation_id: cid });
  });

  it('cancelling with an unknown session id only removes the upload marks of the file', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const created = await alice.post('/file/create', { type: 'file', uri: 'cloudreve://my/marked.txt', metadata: { 'thumb:disabled': '', 'customize:emoji': '🙂' } });
    expect(created.body.code).toBe(0);
    expect((await alice.delete('/file/upload', { id: 'not-a-session', uri: 'cloudreve://my/marked.txt' })).body).toEqual({ code: 0, msg: '' });
    expect(sim.drive.metadataOf(sim.drive.stat(ALICE, ['marked.txt'])!)).toEqual({ 'customize:emoji': '🙂' });
  });

  it('reads the size from X-Expected-Entity-Length for a chunked body: not a length → 40001, a huge one → 40049', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'admin');
    const put = (length: string) =>
      rawRequest(sim, 'PUT', `/file/content?uri=${q('cloudreve://my/x.bin')}`, { Authorization: `Bearer ${access}`, 'Transfer-Encoding': 'chunked', 'X-Expected-Entity-Length': length }, 'abc', true);
    expect(await put('abc')).toEqual({ code: 40001, msg: 'invalid content length', correlation_id: cid });
    expect(await put('-3')).toEqual({ code: 40001, msg: 'invalid content length', correlation_id: cid });
    expect(await put('99999999999999999999')).toEqual({ code: 40001, msg: 'invalid content length', correlation_id: cid });
    expect(await put('9007199254740993')).toEqual({ code: 40049, msg: 'File is too large', correlation_id: cid });
    expect(sim.drive.stat(ADMIN, ['x.bin'])).toBeUndefined();
    expect(tmpEntries(sim)).toEqual([]);
  });
});

describe('4.0.0 mode (version below 4.18.0, spec F§16)', () => {
  it('answers a refused name with a plain error (-1), in upload sessions and content saves', async () => {
    const sim = testSimulator({ version: '4.0.0', fixtures: smallChunkFixtures() });
    const alice = await as(sim, 'alice');
    const plain = { code: -1, msg: '', correlation_id: cid };
    expect((await alice.put('/file/upload', { uri: 'cloudreve://my/a|b', size: 1 })).body).toEqual(plain);
    expect((await alice.put('/file/upload', { uri: 'cloudreve://my/setup.exe', size: 1 })).body).toEqual(plain);
    expect((await alice.save('cloudreve://my/a:b.txt', 'x')).body).toEqual(plain);
    expect(tmpEntries(sim)).toEqual([]);
  });

  it('completes an upload when the highest index arrives, whatever is still missing', async () => {
    const sim = testSimulator({ version: '4.0.0', fixtures: smallChunkFixtures() });
    const alice = await as(sim, 'alice');
    const sid = (await alice.put('/file/upload', { uri: 'cloudreve://my/early.bin', size: 12 })).body.data.session_id as string;
    expect((await alice.chunk(sid, 0, 'hello')).body).toEqual({ code: 0, msg: '' });
    expect((await alice.chunk(sid, 2, 'ld')).body).toEqual({ code: 0, msg: '' });
    expect((await download(sim, alice, 'cloudreve://my/early.bin')).equals(Buffer.concat([Buffer.from('hello'), Buffer.alloc(5), Buffer.from('ld')]))).toBe(true);
    expect((await alice.chunk(sid, 1, ', wor')).body).toEqual({ code: 40011, msg: '', correlation_id: cid });
  });

  it('has no archive listing route (the plain-text 404)', async () => {
    const sim = testSimulator({ version: '4.0.0' });
    const alice = await as(sim, 'alice');
    const res = await alice.get(`/file/archive?uri=${q('cloudreve://my/archives/utf8.zip')}`);
    expect(res.status).toBe(404);
    expect(res.text).toBe('404 page not found');
  });
});

describe('large uploads', () => {
  it('takes a 300 MiB file in 25 MiB chunks with flat memory, then serves the same bytes', { timeout: 120_000 }, async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    const size = 300 * 1024 * 1024;
    const res = await admin.put('/file/upload', { uri: 'cloudreve://my/large.bin', size });
    expect(res.body.data.chunk_size).toBe(CHUNK);
    const sid = res.body.data.session_id as string;
    // Byte i of the file is (i * 7 + (i >> 20)) & 0xff: each chunk is generated on the fly.
    const chunkAt = (index: number): Buffer => {
      const start = index * CHUNK;
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - start));
      for (let i = 0; i < buf.length; i++) buf[i] = ((start + i) * 7 + ((start + i) >> 20)) & 0xff;
      return buf;
    };
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const count = size / CHUNK;
    for (let index = 0; index < count; index++) {
      expect((await admin.chunk(sid, index, chunkAt(index))).body).toEqual({ code: 0, msg: '' });
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(peak - base).toBeLessThan(150 * 1024 * 1024);
    expect(sim.drive.stat(ADMIN, ['large.bin'])!.size).toBe(size);
    // Compare the stored bytes with the pattern, streaming.
    const disk = sim.drive.diskPath(ADMIN, ['large.bin']);
    let offset = 0;
    for await (const part of createReadStream(disk, { highWaterMark: 4 * 1024 * 1024 }) as AsyncIterable<Buffer>) {
      for (let i = 0; i < part.length; i += 4099) expect(part[i]).toBe(((offset + i) * 7 + ((offset + i) >> 20)) & 0xff);
      offset += part.length;
    }
    expect(offset).toBe(size);
    // The content URL serves exactly that many bytes.
    const url = await admin.post('/file/url', { uris: ['cloudreve://my/large.bin'] });
    const u = new URL(url.body.data.urls[0].url as string);
    const head = await request(sim.app).head(u.pathname + u.search);
    expect(head.headers['content-length']).toBe(String(size));
    expect(tmpEntries(sim)).toEqual([]);
  });
});
