/**
 * Snapshot and restore of a whole world: drive files, tasks, clock and sessions.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import * as tar from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNTS, as, signIn, testSimulator } from '../helpers.js';

const ALICE = ACCOUNTS.alice.id;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'snap-'));
  dirs.push(d);
  return d;
};

describe('snapshot and restore', () => {
  it('brings back files, finished and live tasks, the clock and signed-out sessions', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const done = await alice.archive(['cloudreve://my/docs'], 'cloudreve://my/done.zip');
    await sim.clock.runUntilIdle();
    const live = await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/live.zip');
    await sim.clock.advance(6_000); // mid-run: compressing
    const session = await signIn(sim, 'carol');
    await request(sim.app).delete('/api/v4/session/token').send({ refresh_token: session.refresh });
    const zip = readFileSync(sim.drive.diskPath(ALICE, ['done.zip']));
    const before = (await alice.list('general')).tasks;
    const file = path.join(tempDir(), 'world.tar');

    const saved = await sim.snapshot(file);
    expect(saved).toEqual({ namespace: 'default', file, tasks: 2, at: '2025-05-20T04:00:16.500Z' });

    sim.reset();
    expect((await alice.list('general')).tasks).toEqual([]);
    expect(sim.drive.stat(ALICE, ['done.zip'])).toBeUndefined();

    expect(await sim.restore(file)).toEqual(saved);
    expect(sim.clock.now()).toBe(Date.parse('2025-05-20T04:00:16.500Z'));
    expect(readFileSync(sim.drive.diskPath(ALICE, ['done.zip'])).equals(zip)).toBe(true);
    const after = (await alice.list('general')).tasks;
    // The finished task is as it was; the live one is queued again, like after a restart.
    expect(after.find((t: { id: string }) => t.id === done.data.id)).toEqual(before.find((t: { id: string }) => t.id === done.data.id));
    expect(after.find((t: { id: string }) => t.id === live.data.id).status).toBe('queued');
    await sim.clock.runUntilIdle();
    expect((await alice.task(live.data.id)).status).toBe('completed');
    expect(sim.drive.stat(ALICE, ['live.zip'])?.kind).toBe('file');
    // The sign-out survived, and task numbers go on after the snapshot's.
    expect((await request(sim.app).post('/api/v4/session/token/refresh').send({ refresh_token: session.refresh })).body.code).toBe(40020);
    const next = await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/next.zip');
    expect(next.data.id).toBe(sim.ids.encode('task', 3));
  });

  it('keeps a remote download’s downloader job: a download restored in monitor carries on and completes', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { body } = await alice.post('/workflow/download', { src: ['https://example.com/slow/kept.bin'], dst: 'cloudreve://my/Downloads' });
    const id = body.data[0].id;
    await sim.clock.advance(5_000); // polled: in monitor, downloading
    const file = path.join(tempDir(), 'world.tar');
    await sim.snapshot(file);
    sim.reset();
    await sim.restore(file);
    await sim.clock.runUntilIdle();
    const t = (await alice.list('downloaded', 25)).tasks.find((x: { id: string }) => x.id === id);
    expect(t).toMatchObject({ status: 'completed', summary: { phase: 'seeding', props: { download: { name: 'kept.bin', state: 'completed' } } } });
    expect(sim.drive.stat(ALICE, ['Downloads', 'kept.bin'])?.size).toBe(t.summary.props.download.total);
  });

  it('works over HTTP, and a snapshot can be loaded into another namespace', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/n.zip');
    await sim.clock.runUntilIdle();
    const file = path.join(tempDir(), 'w.tar');
    const saved = await request(sim.app).post('/__sim/snapshot').send({ file });
    expect(saved.status).toBe(200);
    expect(saved.body).toEqual({ namespace: 'default', file, tasks: 1, at: expect.any(String) });
    const loaded = await request(sim.app).post('/__sim/restore').set('X-Sim-Namespace', 'copy').send({ file });
    expect(loaded.body).toEqual({ ...saved.body, namespace: 'copy' });
    expect(sim.namespace('copy').drive.stat(ALICE, ['n.zip'])?.kind).toBe('file');
  });

  it('keeps the trash with its bytes, the node settings and the site settings', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const admin = await as(sim, 'admin');
    expect((await alice.delete('/file').send({ uris: ['cloudreve://my/docs'] })).body).toEqual({ code: 0, msg: '' });
    const { access } = await signIn(sim, 'admin');
    const node = await request(sim.app).put('/api/v4/admin/node/1').set('Authorization', `Bearer ${access}`).send({ node: { settings: { interval: 9, url_validation: { disabled: true } } } });
    expect(node.body.code).toBe(0);
    expect((await admin.patch('/admin/settings', { settings: { siteURL: 'https://drive.example.test' } })).body.code).toBe(0);
    const trashBefore = (await alice.get('/file?uri=cloudreve://trash')).body.data.files;
    const used = sim.drive.used(ALICE);
    const file = path.join(tempDir(), 'trash.tar');
    await sim.snapshot(file);

    sim.reset();
    expect(sim.drive.trashItems(ALICE)).toEqual([]);
    expect((await admin.post('/admin/settings', { keys: ['siteURL'] })).body.data).toEqual({ siteURL: '' });
    await sim.restore(file);

    const again = await as(sim, 'alice');
    expect((await again.get('/file?uri=cloudreve://trash')).body.data.files).toEqual(trashBefore);
    expect(sim.drive.used(ALICE)).toBe(used);
    const adminAgain = await as(sim, 'admin');
    expect((await adminAgain.get('/admin/node/1')).body.data.settings).toEqual({ interval: 9, url_validation: { disabled: true } });
    expect((await adminAgain.post('/admin/settings', { keys: ['siteURL'] })).body.data).toEqual({ siteURL: 'https://drive.example.test' });
    // The restored item's bytes came back: purging it frees them.
    const purged = await again.delete('/file').send({ uris: [trashBefore[0].path], skip_soft_delete: true });
    expect(purged.body).toEqual({ code: 0, msg: '' });
    expect(sim.drive.used(ALICE)).toBeLessThan(used);
  });

  it.each([
    ['a file that is not a tar', (f: string) => writeFileSync(f, 'not a tar at all')],
    ['a tar without the snapshot state', async (f: string) => {
      const d = tempDir();
      writeFileSync(path.join(d, 'x.txt'), 'x');
      await tar.create({ file: f, cwd: d }, ['x.txt']);
    }],
  ])('refuses %s with 400 and leaves the world as it was', async (_, make) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/keep.zip');
    const file = path.join(tempDir(), 'bad.tar');
    await make(file);
    const res = await request(sim.app).post('/__sim/restore').send({ file });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: expect.stringContaining('bad.tar') });
    expect((await alice.list('general')).tasks).toHaveLength(1);
  });

  it('refuses a missing file and an empty path', async () => {
    const sim = testSimulator();
    const missing = await request(sim.app).post('/__sim/restore').send({ file: path.join(tempDir(), 'none.tar') });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatch(/none\.tar/);
    const empty = await request(sim.app).post('/__sim/snapshot').send({ file: '' });
    expect(empty.status).toBe(400);
  });

  it('extracts nothing outside the world, whatever paths the tar holds', async () => {
    const sim = testSimulator();
    const good = path.join(tempDir(), 'good.tar');
    await sim.snapshot(good);
    const unpacked = tempDir();
    await tar.extract({ file: good, cwd: unpacked, filter: (p) => p === 'snapshot.json' });
    const state = readFileSync(path.join(unpacked, 'snapshot.json'));
    // A hand-made archive: the real state plus entries that climb out of the world's folder.
    const file = path.join(tempDir(), 'evil.tar');
    writeFileSync(
      file,
      rawTar([
        ['snapshot.json', state],
        ['drives/../../escaped.txt', Buffer.from('x')],
        ['drives/../../../escaped.txt', Buffer.from('x')],
        ['/tmp/escaped-absolute.txt', Buffer.from('x')],
      ]),
    );
    await sim.restore(file).catch(() => undefined);
    expect(existsSync(path.join(sim.dataDir, 'worlds', 'escaped.txt'))).toBe(false);
    expect(existsSync(path.join(sim.dataDir, 'escaped.txt'))).toBe(false);
    expect(existsSync('/tmp/escaped-absolute.txt')).toBe(false);
  });
});

/** A ustar archive written byte by byte, so any entry name can be put in it. */
function rawTar(entries: Array<[string, Buffer]>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, data] of entries) {
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148); // checksum placeholder: spaces
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
