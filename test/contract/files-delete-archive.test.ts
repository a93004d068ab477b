/**
 * DELETE /file (spec F§11: soft delete to the trash, permanent delete, 40081 aggregation), the
 * trash listing it fills (F§6.3), GET /file/archive (F§13) on the fixture archives, and
 * `POST /file/url` with `archive: true` with the ZIP its signed URL streams (F§12.3).
 * Whole bodies, every error path.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/index.js';
import { BUNDLED_FIXTURES } from '../../src/options.js';
import { cleanEntryName } from '../../src/services/files-archive.js';
import { ACCOUNTS, as, fetchBytes, signIn, testSimulator, UUID_V4 } from '../helpers.js';
import { readZip } from '../zip.js';

const cid = expect.stringMatching(UUID_V4);
const ALICE = ACCOUNTS.alice.id;
const ADMIN = ACCOUNTS.admin.id;
const T0 = '2025-05-20T04:00:00Z';
const q = encodeURIComponent;
const ALICE_FIXTURES = path.join(BUNDLED_FIXTURES, 'drive', ACCOUNTS.alice.email);
const OK = '{"code":0,"msg":""}';

/** Where the simulator keeps alice's trash on disk. */
const trashDirOf = (sim: Simulator, userId: number) => path.join(path.dirname(path.dirname(sim.drive.rootOf(userId))), 'trash', String(userId));

/** Bytes of every file below a folder of alice's drive (as the index says). */
function sizeBelow(sim: Simulator, segments: string[]): number {
  let total = 0;
  for (const child of sim.drive.children(ALICE, segments) ?? []) {
    total += child.kind === 'folder' ? sizeBelow(sim, [...segments, child.name]) : child.size;
  }
  return total;
}

/** Writes a file into alice's drive as a new version. */
function put(sim: Simulator, segments: string[], content: string | Buffer): void {
  const file = path.join(sim.drive.makeTempDir('put'), 'part');
  writeFileSync(file, content);
  sim.drive.commitFile(ALICE, segments, file);
}

/** The 40081 body with one aggregated item. */
const aggregated = (items: Record<string, { code: number; msg: string }>, msg: string) => ({
  code: 40081,
  aggregated_error: Object.fromEntries(Object.entries(items).map(([k, v]) => [k, { ...v, correlation_id: cid }])),
  msg,
  correlation_id: cid,
});

// ---------------------------------------------------------------------------- DELETE /file

describe('DELETE /file — soft delete and the trash', () => {
  it('moves a file to the trash: gone from `my` and the disk, listed in the trash with its restore URI; usage unchanged (G42)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const node = sim.drive.stat(ALICE, ['notes.txt'])!;
    const entity = sim.drive.entityOf(node)!.id;
    const used = sim.drive.used(ALICE);

    const res = await alice.delete('/file').send({ uris: ['cloudreve://my/notes.txt'] });
    expect(res.text).toBe(OK);

    const my = await alice.get('/file?uri=cloudreve://my');
    expect(my.body.data.files.map((f: { name: string }) => f.name)).not.toContain('notes.txt');
    expect(existsSync(sim.drive.diskPath(ALICE, ['notes.txt']))).toBe(false);
    expect(sim.drive.used(ALICE)).toBe(used);

    const trash = await alice.get('/file?uri=cloudreve://trash');
    expect(trash.body.code, trash.text).toBe(0);
    const item = sim.drive.trashItems(ALICE)[0]!;
    expect(item.name).toMatch(UUID_V4);
    // Alice's group keeps the trash for three days (fixtures/accounts.yaml).
    const collect = String(Math.floor(sim.clock.now() / 1000) + 259200);
    expect(trash.body).toEqual({
      code: 0,
      data: {
        files: [
          {
            type: 0,
            id: sim.ids.encode('file', node.id),
            name: 'notes.txt',
            created_at: T0,
            updated_at: T0,
            size: 11,
            metadata: { 'sys:restore_uri': 'cloudreve://my/notes.txt', 'sys:expected_collect_time': collect },
            path: `cloudreve://trash/${item.name}`,
            capability: 'AMIK',
            owned: true,
            primary_entity: sim.ids.encode('entity', entity),
          },
        ],
        parent: { type: 0, id: '', name: '', created_at: '0001-01-01T00:00:00Z', updated_at: '0001-01-01T00:00:00Z', size: 0, metadata: null },
        pagination: { page: 0, page_size: 100, is_cursor: true },
        props: {
          capability: 'AMIK',
          max_page_size: 2000,
          order_by_options: ['name', 'size', 'updated_at', 'created_at'],
          order_direction_options: ['asc', 'desc'],
        },
        context_hint: expect.stringMatching(UUID_V4),
        mixed_type: false,
        view: { page_size: 100, view: 'list', columns: [{ type: 0 }, { type: 2 }, { type: 8 }, { type: 7 }] },
      },
      msg: '',
    });
    // The bytes wait in the simulator's trash folder, outside the user's drive.
    expect(readFileSync(path.join(trashDirOf(sim, ALICE), item.name), 'utf8')).toBe('hello world');

    // The capacity endpoint agrees: soft delete frees nothing.
    const capacity = await alice.get('/user/capacity');
    expect(capacity.body.data.used).toBe(used);
  });

  it('refuses to soft-delete a trash item; deletes it for good with skip_soft_delete, usage falling by its size (G43)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const used = sim.drive.used(ALICE);
    await alice.delete('/file').send({ uris: ['cloudreve://my/notes.txt'] });
    const uri = `cloudreve://trash/${sim.drive.trashItems(ALICE)[0]!.name}`;

    const soft = await alice.delete('/file').send({ uris: [uri] });
    expect(soft.body).toEqual(aggregated({ [uri]: { code: 403, msg: 'Not supported action' } }, 'Not supported action'));
    expect(soft.body.aggregated_error[uri].correlation_id).toBe(soft.body.correlation_id);
    expect(Object.keys(soft.body)).toEqual(['code', 'aggregated_error', 'msg', 'correlation_id']);

    const hard = await alice.delete('/file').send({ uris: [uri], skip_soft_delete: true });
    expect(hard.text).toBe(OK);
    expect(sim.drive.trashItems(ALICE)).toEqual([]);
    expect(sim.drive.used(ALICE)).toBe(used - 11);
    expect(readdirSync(trashDirOf(sim, ALICE))).toEqual([]);
    const trash = await alice.get('/file?uri=cloudreve://trash');
    expect(trash.body.data.files).toEqual([]);

    // Gone is gone: a second permanent delete finds nothing.
    const again = await alice.delete('/file').send({ uris: [uri], skip_soft_delete: true });
    expect(again.body).toEqual(aggregated({ [uri]: { code: 40016, msg: 'Path not exist' } }, 'Path not exist'));
  });

  it('moves a folder as one item: its children cannot be listed, and purging it frees everything below (F§6.3)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const used = sim.drive.used(ALICE);
    const docsSize = sizeBelow(sim, ['docs']);
    const docs = sim.drive.stat(ALICE, ['docs'])!;

    expect((await alice.delete('/file').send({ uris: ['cloudreve://my/docs/'] })).text).toBe(OK);
    expect(sim.drive.stat(ALICE, ['docs'])).toBeUndefined();
    expect(sim.drive.stat(ALICE, ['docs', 'a.txt'])).toBeUndefined();
    const item = sim.drive.trashItems(ALICE)[0]!;
    const trash = await alice.get('/file?uri=cloudreve://trash');
    expect(trash.body.data.files).toEqual([
      expect.objectContaining({ type: 1, id: sim.ids.encode('file', docs.id), name: 'docs', size: 0, path: `cloudreve://trash/${item.name}` }),
    ]);
    expect(trash.body.data.files[0].metadata['sys:restore_uri']).toBe('cloudreve://my/docs');

    const inside = await alice.get(`/file?uri=${q(`cloudreve://trash/${item.name}`)}`);
    expect(inside.body).toEqual({ code: 40016, msg: 'Path not exist', correlation_id: cid });
    const below = await alice.get(`/file?uri=${q(`cloudreve://trash/${item.name}/a.txt`)}`);
    expect(below.body).toEqual({ code: 40016, msg: 'Path not exist', correlation_id: cid });
    // No download from the trash.
    const url = await alice.post('/file/url', { uris: [`cloudreve://trash/${item.name}`] });
    expect(url.body).toEqual(aggregated({ [`cloudreve://trash/${item.name}`]: { code: 403, msg: 'Not supported action' } }, 'Not supported action'));

    expect((await alice.delete('/file').send({ uris: [`cloudreve://trash/${item.name}`], skip_soft_delete: true })).text).toBe(OK);
    expect(sim.drive.used(ALICE)).toBe(used - docsSize);
    expect(existsSync(path.join(trashDirOf(sim, ALICE), item.name))).toBe(false);
  });

  it('keeps the items in the trash apart: each deletion is one item, in deletion order', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.delete('/file').send({ uris: ['cloudreve://my/notes.txt', 'cloudreve://my/hello.txt'] })).text).toBe(OK);
    const trash = await alice.get('/file?uri=cloudreve://trash&order_by=name');
    expect(trash.body.data.files.map((f: { name: string }) => f.name)).toEqual(['hello.txt', 'notes.txt']);
    expect(new Set(trash.body.data.files.map((f: { path: string }) => f.path)).size).toBe(2);
    // Another user's trash stays empty.
    const carol = await as(sim, 'carol');
    expect((await carol.get('/file?uri=cloudreve://trash')).body.data.files).toEqual([]);
  });
});

describe('DELETE /file — permanent delete', () => {
  it('deletes a folder with everything below it: nothing in the trash, nothing on disk, usage falls (G47)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const used = sim.drive.used(ALICE);
    const docsSize = sizeBelow(sim, ['docs']);
    expect(docsSize).toBeGreaterThan(30);

    const res = await alice.delete('/file').send({ uris: ['cloudreve://my/docs'], skip_soft_delete: true });
    expect(res.text).toBe(OK);
    expect(sim.drive.trashItems(ALICE)).toEqual([]);
    expect((await alice.get('/file?uri=cloudreve://trash')).body.data.files).toEqual([]);
    expect(sim.drive.stat(ALICE, ['docs'])).toBeUndefined();
    expect(sim.drive.stat(ALICE, ['docs', 'sub', 'b.txt'])).toBeUndefined();
    expect(readdirSync(sim.drive.rootOf(ALICE))).not.toContain('docs');
    expect(existsSync(trashDirOf(sim, ALICE)) ? readdirSync(trashDirOf(sim, ALICE)) : []).toEqual([]);
    expect(sim.drive.used(ALICE)).toBe(used - docsSize);
    expect((await alice.get('/file?uri=cloudreve://my/docs')).body).toEqual({ code: 40016, msg: 'Path not exist', correlation_id: cid });
    // A new folder of the same name starts empty.
    const created = await alice.post('/file/create', { uri: 'cloudreve://my/docs', type: 'folder' });
    expect(created.body.code).toBe(0);
    expect((await alice.get('/file?uri=cloudreve://my/docs')).body.data.files).toEqual([]);
  });

  it('deletes a file for good; its content URL stops working', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const url = (await alice.post('/file/url', { uris: ['cloudreve://my/notes.txt'] })).body.data.urls[0].url as string;
    expect((await alice.delete('/file').send({ uris: ['cloudreve://my/notes.txt'], skip_soft_delete: true })).text).toBe(OK);
    expect(existsSync(sim.drive.diskPath(ALICE, ['notes.txt']))).toBe(false);
    const u = new URL(url);
    const res = await request(sim.app).get(u.pathname + u.search);
    expect(res.body).toEqual({ code: 40077, msg: 'Entity not exist', correlation_id: cid });
  });

  it('unlink needs the advanced-delete permission (bit 12): refused for user and alice, allowed for admin (G46)', async () => {
    const sim = testSimulator();
    for (const who of ['user', 'alice'] as const) {
      const agent = await as(sim, who);
      for (const skip of [false, true]) {
        const res = await agent.delete('/file').send({ uris: ['cloudreve://my/notes.txt'], unlink: true, skip_soft_delete: skip });
        expect(res.body).toEqual({ code: 403, msg: 'advance delete permission is required', correlation_id: cid });
      }
    }
    expect(sim.drive.stat(ALICE, ['notes.txt'])).toBeDefined();
    const admin = await as(sim, 'admin');
    await admin.post('/file/create', { uri: 'cloudreve://my/gone.txt', type: 'file' });
    const res = await admin.delete('/file').send({ uris: ['cloudreve://my/gone.txt'], unlink: true, skip_soft_delete: true });
    expect(res.text).toBe(OK);
    expect(sim.drive.stat(ADMIN, ['gone.txt'])).toBeUndefined();
  });
});

describe('DELETE /file — errors and aggregation', () => {
  it('aggregates one failure under its URI and keeps the other item done (G44)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.delete('/file').send({ uris: ['cloudreve://my/missing', 'cloudreve://my/docs/a.txt'] });
    expect(res.body).toEqual(aggregated({ 'cloudreve://my/missing': { code: 40016, msg: 'Path not exist' } }, 'Path not exist'));
    expect(res.body.aggregated_error['cloudreve://my/missing'].correlation_id).toBe(res.body.correlation_id);
    expect(sim.drive.stat(ALICE, ['docs', 'a.txt'])).toBeUndefined();
    expect(sim.drive.trashItems(ALICE).map((i) => i.node.name)).toEqual(['a.txt']);
  });

  it('with two failures says "One or more operation failed", keyed by the URIs as re-serialised (G45)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.delete('/file').send({ uris: ['cloudreve://my/missing/', 'cloudreve://my/no such'] });
    expect(res.body).toEqual(
      aggregated(
        { 'cloudreve://my/missing': { code: 40016, msg: 'Path not exist' }, 'cloudreve://my/no%20such': { code: 40016, msg: 'Path not exist' } },
        'One or more operation failed',
      ),
    );
  });

  it('refuses the roots, other file systems and other users’ files per item', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const carolNotes = `cloudreve://${sim.ids.encode('user', ACCOUNTS.carol.id)}@my/hello.txt`;
    const soft = await alice.delete('/file').send({ uris: ['cloudreve://my', 'cloudreve://trash', 'cloudreve://shared_with_me', carolNotes] });
    expect(soft.body).toEqual(
      aggregated(
        {
          'cloudreve://my': { code: 403, msg: 'Not supported action' },
          'cloudreve://trash': { code: 403, msg: 'Not supported action' },
          'cloudreve://shared_with_me': { code: 403, msg: 'Not supported action' },
          [carolNotes]: { code: 403, msg: 'Permission denied' },
        },
        'One or more operation failed',
      ),
    );
    const hard = await alice.delete('/file').send({ uris: ['cloudreve://my'], skip_soft_delete: true });
    expect(hard.body).toEqual(aggregated({ 'cloudreve://my': { code: 403, msg: 'Not supported action' } }, 'Not supported action'));
    const unknown = await alice.delete('/file').send({ uris: ['cloudreve://foo/x'] });
    expect(unknown.body).toEqual(aggregated({ 'cloudreve://foo/x': { code: -1, msg: '' } }, ''));
    expect(sim.drive.stat(ACCOUNTS.carol.id, ['hello.txt'])).toBeDefined();
  });

  it('fails the whole request with 40073 when a running upload locks a target or something below it (F§11)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { access } = await signIn(sim, 'alice');
    const upload = await request(sim.app).put('/api/v4/file/upload').set('Authorization', `Bearer ${access}`).send({ uri: 'cloudreve://my/docs/up.bin', size: 12, policy_id: sim.ids.encode('policy', 1) });
    expect(upload.body.code, upload.text).toBe(0);
    for (const skip of [false, true]) {
      for (const target of ['cloudreve://my/docs/up.bin', 'cloudreve://my/docs']) {
        const res = await alice.delete('/file').send({ uris: ['cloudreve://my/notes.txt', target], skip_soft_delete: skip });
        expect(res.body, target).toEqual({ code: 40073, msg: 'Lock conflict', correlation_id: cid });
      }
    }
    expect(sim.drive.stat(ALICE, ['notes.txt'])).toBeDefined();
    expect(sim.drive.stat(ALICE, ['docs', 'a.txt'])).toBeDefined();
    expect(sim.drive.trashItems(ALICE)).toEqual([]);
  });

  it('answers an anonymous caller per item with 401 (F§1.1)', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).delete('/api/v4/file').send({ uris: ['cloudreve://my/notes.txt'] });
    expect(res.body).toEqual(aggregated({ 'cloudreve://my/notes.txt': { code: 401, msg: 'Login required' } }, 'Login required'));
  });

  it('checks binding, the batch limit and URI parsing before any work (G45, G53)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.delete('/file').send({ uris: [] })).text).toBe('{"code":40001,"msg":"Uris too short"}');
    expect((await alice.delete('/file').send({})).text).toBe('{"code":40001,"msg":"Uris cannot be empty"}');
    expect((await alice.delete('/file').send({ uris: null })).text).toBe('{"code":40001,"msg":"Uris cannot be empty"}');
    const many = Array.from({ length: 3001 }, (_, i) => `cloudreve://my/f${i}`);
    expect((await alice.delete('/file').send({ uris: many })).body).toEqual({ code: 40074, msg: 'Maximum allowed batch size: 3000', correlation_id: cid });
    const bad = await alice.delete('/file').send({ uris: ['cloudreve://my/notes.txt', 'http://example.com/x'] });
    expect(bad.body).toEqual({ code: 40001, msg: 'unknown uri', correlation_id: cid });
    expect(sim.drive.stat(ALICE, ['notes.txt'])).toBeDefined();
  });
});

// ---------------------------------------------------------------------------- GET /file/archive

const T = {
  T0: '2024-01-02T03:04:06Z',
  T1: '2023-06-15T12:30:00Z',
  T2: '2022-02-22T22:22:22Z',
  T3: '2021-12-31T23:59:58Z',
  T4: '2020-05-06T07:08:10Z',
};
const entry = (name: string, size: number, updated_at: string, is_directory = false) => ({ name, size, updated_at, is_directory });

describe('GET /file/archive — listing the fixture archives (fixtures/archives/README.md)', () => {
  const list = async (sim: Simulator, uri: string, extra = '') => {
    const admin = await as(sim, 'admin');
    return admin.get(`/file/archive?uri=${q(uri)}${extra}`);
  };

  it('lists utf8.zip in archive order, folder names cleaned of their trailing slash', async () => {
    const sim = testSimulator();
    const res = await list(sim, 'cloudreve://my/archives/utf8.zip');
    expect(res.body).toEqual({
      code: 0,
      data: {
        files: [
          entry('docs', 0, T.T0, true),
          entry('docs/readme.txt', 15, T.T0),
          entry('docs/guide/intro.txt', 24, T.T1),
          entry('中文/你好.txt', 16, T.T2),
          entry('Ünïcødé.txt', 20, T.T3),
          entry('empty', 0, T.T4, true),
        ],
      },
      msg: '',
    });
    expect(Object.keys(res.body.data.files[0])).toEqual(['name', 'size', 'updated_at', 'is_directory']);
  });

  it('decodes gb18030.zip names with text_encoding (any case, gbk too); without it the ASCII name alone is right', async () => {
    const sim = testSimulator();
    const expected = [entry('readme.txt', 44, T.T0), entry('中文目录', 0, T.T0, true), entry('中文目录/文件.txt', 27, T.T1)];
    for (const enc of ['gb18030', 'GBK', 'gbk']) {
      const res = await list(sim, 'cloudreve://my/archives/gb18030.zip', `&text_encoding=${enc}`);
      expect(res.body, enc).toEqual({ code: 0, data: { files: expected }, msg: '' });
    }
    const raw = await list(sim, 'cloudreve://my/archives/gb18030.zip');
    expect(raw.body.data.files[0]).toEqual(expected[0]);
    expect(raw.body.data.files[2].name).not.toBe('中文目录/文件.txt');
  });

  it('lists sample.7z: folders first, as 7-Zip stores them, the symbolic link as a file', async () => {
    const sim = testSimulator();
    const res = await list(sim, 'cloudreve://my/archives/sample.7z');
    expect(res.body).toEqual({
      code: 0,
      data: {
        files: [
          entry('docs', 0, T.T0, true),
          entry('docs/guide', 0, T.T0, true),
          entry('empty', 0, T.T4, true),
          entry('中文', 0, T.T0, true),
          entry('docs/guide/intro.txt', 24, T.T1),
          entry('docs/readme.txt', 15, T.T0),
          entry('link', 15, T.T0),
          entry('中文/你好.txt', 16, T.T2),
        ],
      },
      msg: '',
    });
  });

  it('lists secret.7z with or without the password; secret-names.7z only with the right one', async () => {
    const sim = testSimulator();
    const secret = { code: 0, data: { files: [entry('secret', 0, T.T0, true), entry('secret/notes.txt', 43, T.T1), entry('secret/plan.txt', 31, T.T0)] }, msg: '' };
    expect((await list(sim, 'cloudreve://my/archives/secret.7z', '&password=cloudreve')).body).toEqual(secret);
    expect((await list(sim, 'cloudreve://my/archives/secret.7z')).body).toEqual(secret);
    expect((await list(sim, 'cloudreve://my/archives/secret-names.7z', '&password=cloudreve')).body).toEqual(secret);
    const unreadable = { code: -1, msg: '', correlation_id: cid };
    expect((await list(sim, 'cloudreve://my/archives/secret-names.7z')).body).toEqual(unreadable);
    expect((await list(sim, 'cloudreve://my/archives/secret-names.7z', '&password=wrong')).body).toEqual(unreadable);
  });

  it('lists the ZIP the archive task made of a folder x: x/1.txt and x/2.txt, each entry exactly name, size, updated_at, is_directory (I56)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    put(sim, ['x', '1.txt'], 'one');
    put(sim, ['x', '2.txt'], 'second');
    expect((await alice.archive(['cloudreve://my/x'], 'cloudreve://my/x.zip')).code).toBe(0);
    await sim.clock.runUntilIdle();
    const res = await alice.get(`/file/archive?uri=${q('cloudreve://my/x.zip')}`);
    expect(res.body).toEqual({ code: 0, data: { files: [entry('x/1.txt', 3, T0), entry('x/2.txt', 6, T0)] }, msg: '' });
    for (const f of res.body.data.files) expect(Object.keys(f)).toEqual(['name', 'size', 'updated_at', 'is_directory']);
  });

  it('lists the ZIP the archive task made of a top-level file as /<name> (I58)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/out/notes.zip')).code).toBe(0);
    await sim.clock.runUntilIdle();
    const res = await alice.get(`/file/archive?uri=${q('cloudreve://my/out/notes.zip')}`);
    expect(res.body).toEqual({ code: 0, data: { files: [entry('/notes.txt', 11, T0)] }, msg: '' });
  });

  it('lists an archive the simulator made with top-level names starting with "/" (I58)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const made = await alice.post('/file/url', { uris: ['cloudreve://my/notes.txt', 'cloudreve://my/docs/sub'], archive: true });
    const zip = await fetchBytes(sim, made.body.data.urls[0].url);
    put(sim, ['made.ZIP'], zip.body as Buffer);
    const res = await alice.get(`/file/archive?uri=${q('cloudreve://my/made.ZIP')}`);
    expect(res.body.code, res.text).toBe(0);
    expect(res.body.data.files.map((f: { name: string }) => f.name)).toEqual(['/notes.txt', '/sub/b.txt']);
    expect(res.body.data.files[0]).toEqual(entry('/notes.txt', 11, T0));
  });
});

describe('archive entry names (F§13)', () => {
  it.each([
    ['docs/', 'docs'],
    ['/notes.txt', '/notes.txt'],
    ['a\\b\\c.txt', 'a/b/c.txt'],
    ['./a//b/./c', 'a/b/c'],
    ['a/../../b', '../b'],
    ['/../a', '/a'],
    ['', '.'],
    ['./', '.'],
  ])('cleans %j to %j', (raw, clean) => {
    expect(cleanEntryName(raw)).toBe(clean);
  });
});

describe('GET /file/archive — errors, in the server’s order (I57)', () => {
  it('needs the archive-task permission (bit 5) before anything else', async () => {
    const sim = testSimulator();
    const user = await as(sim, 'user');
    const expected = { code: 40007, msg: 'Group not allowed to extract archive files', correlation_id: cid };
    expect((await user.get('/file/archive?uri=cloudreve://my/none.zip')).body).toEqual(expected);
    expect((await request(sim.app).get('/api/v4/file/archive?uri=cloudreve://my/x.zip')).body).toEqual(expected);
    expect((await user.get('/file/archive')).text).toBe('{"code":40001,"msg":"Uri cannot be empty"}');
  });

  it('answers every other failure with the server’s code', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    put(sim, ['fake.zip'], 'This is a plain text file whose name ends in .zip.');
    const entity = sim.ids.encode('entity', sim.drive.entityOf(sim.drive.stat(ALICE, ['archives', 'utf8.zip'])!)!.id);
    const cases: Array<[string, { code: number; msg: string }]> = [
      ['uri=' + q('http://x/y.zip'), { code: 40001, msg: 'unknown uri' }],
      ['uri=' + q('cloudreve://my/missing.zip'), { code: 40016, msg: 'Path not exist' }],
      ['uri=' + q(`cloudreve://${sim.ids.encode('user', ADMIN)}@my/archives/utf8.zip`), { code: 403, msg: 'Permission denied' }],
      ['uri=' + q('cloudreve://trash'), { code: 403, msg: 'Not supported action' }],
      ['uri=' + q('cloudreve://my/docs'), { code: 403, msg: 'Not supported action' }],
      ['uri=' + q('cloudreve://my/notes.txt'), { code: 403, msg: 'Not supported action' }],
      ['uri=' + q('cloudreve://my/archives/nested.tar.gz'), { code: 403, msg: 'Not supported action' }],
      // alice's decompress_size is 1 MiB: the size is checked before the name.
      ['uri=' + q('cloudreve://my/big.bin'), { code: 40049, msg: 'File is too large' }],
      ['uri=' + q('cloudreve://my/archives/utf8.zip') + '&entity=' + q(sim.ids.encode('entity', 999)), { code: 40077, msg: 'Entity not exist' }],
      ['uri=' + q('cloudreve://my/archives/utf8.zip') + '&text_encoding=foo', { code: 403, msg: 'Not supported action' }],
      ['uri=' + q('cloudreve://my/archives/utf8.zip') + '&text_encoding=iso8859_8I', { code: 403, msg: 'Not supported action' }],
      ['uri=' + q('cloudreve://my/fake.zip'), { code: -1, msg: '' }],
      ['uri=' + q('cloudreve://my/empty.txt'), { code: 403, msg: 'Not supported action' }],
    ];
    for (const [query, body] of cases) {
      const res = await alice.get(`/file/archive?${query}`);
      expect(res.body, query).toEqual({ ...body, correlation_id: cid });
    }
    // The file's own entity is accepted.
    expect((await alice.get(`/file/archive?uri=${q('cloudreve://my/archives/utf8.zip')}&entity=${q(entity)}`)).body.code).toBe(0);
  });
});

// ---------------------------------------------------------------------------- archive downloads

describe('POST /file/url with archive: true and the ZIP it serves (H54, H55)', () => {
  it('needs the archive-download permission (bit 4); the batch limit and URI parsing come first', async () => {
    const sim = testSimulator();
    const user = await as(sim, 'user');
    const res = await user.post('/file/url', { uris: ['cloudreve://my/notes.txt'], archive: true });
    expect(res.text).toMatch(/^\{"code":40007,"msg":"","correlation_id":"[0-9a-f-]{36}"\}$/);
    const anonymous = await request(sim.app).post('/api/v4/file/url').send({ uris: ['cloudreve://my/notes.txt'], archive: true });
    expect(anonymous.body).toEqual({ code: 40007, msg: '', correlation_id: cid });
    const many = Array.from({ length: 3001 }, (_, i) => `cloudreve://my/f${i}`);
    expect((await user.post('/file/url', { uris: many, archive: true })).body).toEqual({ code: 40074, msg: 'Maximum allowed batch size: 3000', correlation_id: cid });
    expect((await user.post('/file/url', { uris: ['nope'], archive: true })).body).toEqual({ code: 40001, msg: 'unknown uri', correlation_id: cid });
  });

  it('answers one signed URL valid for 600 s; the ZIP holds the files with the server’s names and the original bytes', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.post('/file/url', { uris: ['cloudreve://my/notes.txt', 'cloudreve://my/docs'], archive: true });
    expect(res.body).toEqual({
      code: 0,
      data: { urls: [{ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/api\/v4\/file\/archive\/[0-9a-f-]{36}\/archive\.zip\?sign=[^&]+$/) }], expires: '2025-05-20T04:10:00Z' },
      msg: '',
    });
    expect(Object.keys(res.body.data.urls[0])).toEqual(['url']);
    const url = res.body.data.urls[0].url as string;
    expect(new URL(url).pathname.split('/')[5]).toMatch(UUID_V4);

    const zip = await fetchBytes(sim, url);
    expect(zip.status).toBe(200);
    expect(zip.headers['content-type']).toBe('application/zip');
    expect(zip.headers['content-disposition']).toBe('attachment;');
    expect(zip.headers['content-length']).toBeUndefined();
    const dir = sim.drive.makeTempDir('zip');
    const file = path.join(dir, 'archive.zip');
    writeFileSync(file, zip.body as Buffer);
    const entries = await readZip(file);
    const expected = ['/notes.txt', 'docs/a.txt', 'docs/guide/advanced/tips.txt', 'docs/guide/intro.txt', 'docs/sub/b.txt'];
    expect(entries.map((e) => e.name)).toEqual(expected);
    for (const e of entries) {
      const source = path.join(ALICE_FIXTURES, ...e.name.replace(/^\//, '').split('/'));
      expect(e.data.equals(readFileSync(source)), e.name).toBe(true);
      expect(e.mtime.toISOString()).toBe('2025-05-20T04:00:00.000Z');
    }

    // The URL can be used again until it expires; then the signature has expired.
    expect((await fetchBytes(sim, url)).headers['content-type']).toBe('application/zip');
    await sim.clock.advance(600_000);
    expect((await fetchBytes(sim, url)).headers['content-type']).toBe('application/zip');
    await sim.clock.advance(1000);
    const late = await request(sim.app).get(new URL(url).pathname + new URL(url).search);
    expect(late.body).toEqual({ code: 40005, msg: 'signature expired', correlation_id: cid });
  });

  it('names a deeper folder’s files from its parent with a leading slash; an empty folder makes no entry', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.post('/file/url', { uris: ['cloudreve://my/docs/guide', 'cloudreve://my/docs/empty'], archive: true });
    const zip = await fetchBytes(sim, res.body.data.urls[0].url);
    const file = path.join(sim.drive.makeTempDir('zip'), 'a.zip');
    writeFileSync(file, zip.body as Buffer);
    expect((await readZip(file)).map((e) => e.name)).toEqual(['/guide/advanced/tips.txt', '/guide/intro.txt']);
  });

  it('resolves the items only when downloading: a missing one fails with its code before any byte', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const missing = await alice.post('/file/url', { uris: ['cloudreve://my/missing.txt'], archive: true });
    expect(missing.body.code).toBe(0);
    const u = new URL(missing.body.data.urls[0].url);
    expect((await request(sim.app).get(u.pathname + u.search)).body).toEqual({ code: 40016, msg: 'Failed to create archive', correlation_id: cid });

    const later = await alice.post('/file/url', { uris: ['cloudreve://my/notes.txt'], archive: true });
    await alice.delete('/file').send({ uris: ['cloudreve://my/notes.txt'] });
    const v = new URL(later.body.data.urls[0].url);
    expect((await request(sim.app).get(v.pathname + v.search)).body).toEqual({ code: 40016, msg: 'Failed to create archive', correlation_id: cid });

    const root = await alice.post('/file/url', { uris: ['cloudreve://my'], archive: true });
    const w = new URL(root.body.data.urls[0].url);
    expect((await request(sim.app).get(w.pathname + w.search)).body).toEqual({ code: 403, msg: 'Failed to create archive', correlation_id: cid });
  });

  it('skips a file whose bytes are gone, as the server skips unreadable files', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const made = await alice.post('/file/url', { uris: ['cloudreve://my/notes.txt', 'cloudreve://my/docs'], archive: true });
    rmSync(sim.drive.diskPath(ALICE, ['docs', 'a.txt']));
    const zip = await fetchBytes(sim, made.body.data.urls[0].url);
    expect(zip.status).toBe(200);
    const file = path.join(sim.drive.makeTempDir('zip'), 'archive.zip');
    writeFileSync(file, zip.body as Buffer);
    expect((await readZip(file)).map((e) => e.name)).toEqual(['/notes.txt', 'docs/guide/advanced/tips.txt', 'docs/guide/intro.txt', 'docs/sub/b.txt']);
  });

  it('checks the signature: tampered → 40071, missing → 403, another session’s path → 40071', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.post('/file/url', { uris: ['cloudreve://my/notes.txt'], archive: true });
    const u = new URL(res.body.data.urls[0].url);
    const sign = u.searchParams.get('sign')!;
    const tampered = `${sign[0] === 'A' ? 'B' : 'A'}${sign.slice(1)}`;
    expect((await request(sim.app).get(`${u.pathname}?sign=${q(tampered)}`)).body).toEqual({ code: 40071, msg: 'invalid sign', correlation_id: cid });
    expect((await request(sim.app).get(u.pathname)).body).toEqual({ code: 403, msg: 'expire timestamp is missing', correlation_id: cid });
    // Another session's path does not carry this signature.
    const other = u.pathname.replace(/archive\/[^/]+\//, 'archive/00000000-0000-4000-8000-000000000000/');
    expect((await request(sim.app).get(`${other}?sign=${q(sign)}`)).body).toEqual({ code: 40071, msg: 'invalid sign', correlation_id: cid });
  });
});
