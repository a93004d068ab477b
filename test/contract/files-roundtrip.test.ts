/**
 * An SDK's contract test, played over HTTP on the virtual clock: create a file, save 17 000
 * bytes of UTF-8 text into it, archive it (with a second file) into a new folder, list the
 * archive, extract only that member with `file_mask`, download the result and compare bytes,
 * then delete everything for good and find nothing left, on disk or in the usage.
 */
import { existsSync } from 'node:fs';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { ACCOUNTS, fetchBytes, signIn, testSimulator, tmpEntries, UUID_V4 } from '../helpers.js';

const ALICE = ACCOUNTS.alice.id;
const MY = 'w8edAQ==';
const cid = expect.stringMatching(UUID_V4);
const q = encodeURIComponent;

/** 17 000 bytes of UTF-8: ASCII, two-, three- and four-byte characters, and line breaks. */
function text17000(): Buffer {
  const line = 'Grüße, 世界! Ωmega 🚀 — line ';
  let out = '';
  for (let i = 0; Buffer.byteLength(out) < 17_000; i++) out += `${line}${i}\n`;
  // Trim to exactly 17 000 bytes without cutting a character: pad the tail with ASCII.
  while (Buffer.byteLength(out) > 17_000) out = out.slice(0, -1);
  out += 'x'.repeat(17_000 - Buffer.byteLength(out));
  return Buffer.from(out, 'utf8');
}

describe('an SDK-style round trip through the file and workflow endpoints', () => {
  it('create → save → archive into a new folder → list → extract one member → download → delete, leaving nothing', async () => {
    const sim = testSimulator();
    const { access } = await signIn(sim, 'alice');
    const auth = { Authorization: `Bearer ${access}` };
    const api = request(sim.app);
    const content = text17000();
    expect(content.length).toBe(17_000);
    const capacity = async () => (await api.get('/api/v4/user/capacity').set(auth)).body.data.used as number;
    const usedBefore = await capacity();
    const zeroEntity = sim.ids.encode('entity', 0);

    // 1. Create an empty file.
    const created = await api.post('/api/v4/file/create').set(auth).send({ type: 'file', uri: 'cloudreve://my/sdk/roundtrip.md', err_on_conflict: true });
    const node = () => sim.drive.stat(ALICE, ['sdk', 'roundtrip.md'])!;
    expect(created.body).toEqual({
      code: 0,
      data: {
        type: 0,
        id: sim.ids.encode('file', node().id),
        name: 'roundtrip.md',
        created_at: expect.any(String),
        updated_at: expect.any(String),
        size: 0,
        metadata: null,
        path: 'cloudreve://my/sdk/roundtrip.md',
        capability: MY,
        owned: true,
        primary_entity: zeroEntity,
      },
      msg: '',
    });

    // 2. Save 17 000 bytes, naming the empty content as the previous version.
    const saved = await api
      .put(`/api/v4/file/content?uri=${q('cloudreve://my/sdk/roundtrip.md')}&previous=${q(zeroEntity)}`)
      .set(auth)
      .set('Content-Type', 'text/markdown; charset=utf-8')
      .send(content);
    const entity = sim.ids.encode('entity', sim.drive.entityOf(node())!.id);
    expect(entity).not.toBe(zeroEntity);
    expect(saved.body).toEqual({ code: 0, data: { ...created.body.data, size: 17_000, updated_at: expect.any(String), primary_entity: entity }, msg: '' });

    // 3. Archive it with a second file into a folder that does not exist yet.
    const archive = await api.post('/api/v4/workflow/archive').set(auth).send({ src: ['cloudreve://my/sdk/roundtrip.md', 'cloudreve://my/notes.txt'], dst: 'cloudreve://my/sdk-out/bundle.zip' });
    expect(archive.body).toMatchObject({ code: 0, data: { type: 'create_archive', status: 'queued' } });
    await sim.clock.runUntilIdle();
    const archived = await api.get('/api/v4/workflow?page_size=10&category=general').set(auth);
    expect(archived.body.data.tasks.map((t: { id: string; status: string }) => [t.id, t.status])).toEqual([[archive.body.data.id, 'completed']]);

    // 4. List the archive: the top-level files are `/<name>`.
    const listed = await api.get(`/api/v4/file/archive?uri=${q('cloudreve://my/sdk-out/bundle.zip')}`).set(auth);
    expect(listed.body).toEqual({
      code: 0,
      data: {
        files: [
          { name: '/roundtrip.md', size: 17_000, updated_at: expect.any(String), is_directory: false },
          { name: '/notes.txt', size: 11, updated_at: expect.any(String), is_directory: false },
        ],
      },
      msg: '',
    });
    const member = (listed.body.data.files as Array<{ name: string }>).find((f) => f.name === '/roundtrip.md')!.name;

    // 5. Extract only that member into a new folder.
    const folder = await api.post('/api/v4/file/create').set(auth).send({ type: 'folder', uri: 'cloudreve://my/sdk-x', err_on_conflict: true });
    expect(folder.body.code).toBe(0);
    const extract = await api.post('/api/v4/workflow/extract').set(auth).send({ src: ['cloudreve://my/sdk-out/bundle.zip'], dst: 'cloudreve://my/sdk-x', file_mask: [member] });
    expect(extract.body).toMatchObject({ code: 0, data: { type: 'extract_archive', status: 'queued' } });
    await sim.clock.runUntilIdle();
    const extracted = await api.get(`/api/v4/file?uri=${q('cloudreve://my/sdk-x')}`).set(auth);
    expect(extracted.body.data.files.map((f: { name: string; size: number }) => [f.name, f.size])).toEqual([['roundtrip.md', 17_000]]);

    // 6. Download it through a signed URL, without credentials, and compare bytes.
    const url = await api.post('/api/v4/file/url').set(auth).send({ uris: ['cloudreve://my/sdk-x/roundtrip.md'], download: true });
    expect(url.body).toEqual({ code: 0, data: { urls: [{ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1(:\d+)?\/api\/v4\/file\/content\/[^/]+\/0\/roundtrip\.md\?download=true&sign=/) }], expires: expect.any(String) }, msg: '' });
    const u = new URL(url.body.data.urls[0].url as string);
    const got = await fetchBytes(sim, u.href);
    expect(got.status).toBe(200);
    expect(got.headers['content-disposition']).toBe('attachment; filename="roundtrip.md"');
    expect(Buffer.compare(got.body as Buffer, content)).toBe(0);

    // 7. Delete everything for good.
    const disk = ['sdk', 'sdk-out', 'sdk-x'].map((name) => sim.drive.diskPath(ALICE, [name]));
    expect(disk.every((d) => existsSync(d))).toBe(true);
    const deleted = await api.delete('/api/v4/file').set(auth).send({ uris: ['cloudreve://my/sdk', 'cloudreve://my/sdk-out', 'cloudreve://my/sdk-x'], skip_soft_delete: true });
    expect(deleted.body).toEqual({ code: 0, msg: '' });

    // Nothing is left: not in the listing, the trash, the disk, the temporary folder or the usage.
    const root = await api.get(`/api/v4/file?uri=${q('cloudreve://my')}`).set(auth);
    expect(root.body.data.files.map((f: { name: string }) => f.name).filter((n: string) => n.startsWith('sdk'))).toEqual([]);
    const trash = await api.get(`/api/v4/file?uri=${q('cloudreve://trash')}`).set(auth);
    expect(trash.body.data.files).toEqual([]);
    expect(disk.filter((d) => existsSync(d))).toEqual([]);
    expect(tmpEntries(sim)).toEqual([]);
    expect(await capacity()).toBe(usedBefore);
    const gone = await api.get(`/api/v4/file/info?uri=${q('cloudreve://my/sdk-x/roundtrip.md')}`).set(auth);
    expect(gone.body).toEqual({ code: 40016, msg: 'Path not exist', correlation_id: cid });
    // The old download URL names content that no longer exists.
    expect((await api.get(u.pathname + u.search)).body).toEqual({ code: 40077, msg: 'Entity not exist', correlation_id: cid });
  });
});
