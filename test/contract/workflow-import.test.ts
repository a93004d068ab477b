/**
 * POST /workflow/import (spec §11): admin only; the task belongs to the target user and walks
 * a storage policy's tree (fixtures/storage/<policy id>/) into that user's drive.
 * Default `realistic` profile: pick-up 2 s, shortest phase 1.5 s.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACCOUNTS, as, testSimulator, UUID_V4 } from '../helpers.js';

const cid = expect.stringMatching(UUID_V4);
const ALICE = ACCOUNTS.alice.id;

type Sim = ReturnType<typeof testSimulator>;

/** Every object of a user's drive below `segments`, as "path" (folders end in "/"), sorted. */
function tree(sim: Sim, userId: number, segments: string[] = []): string[] {
  const out: string[] = [];
  const walk = (segs: string[]) => {
    for (const n of sim.drive.children(userId, segs) ?? []) {
      const p = [...segs, n.name];
      out.push(p.slice(segments.length).join('/') + (n.kind === 'folder' ? '/' : ''));
      if (n.kind === 'folder') walk(p);
    }
  };
  walk(segments);
  return out.sort();
}

const body = (sim: Sim, extra: Record<string, unknown> = {}) => ({ src: '/path/to/existing', dst: '/', user_id: sim.ids.encode('user', ALICE), policy_id: 1, recursive: true, ...extra });

describe('POST /workflow/import: checks, in the server order', () => {
  it('answers {"code":403,"msg":""} to a non-admin before reading the body', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/workflow/import', { nonsense: true })).body).toEqual({ code: 403, msg: '', correlation_id: cid });
    expect((await alice.post('/workflow/import', body(sim))).body).toEqual({ code: 403, msg: '', correlation_id: cid });
  });

  it.each([
    [{}, 'Src cannot be empty'],
    [{ src: '/a' }, 'Dst cannot be empty'],
    [{ src: '/a', dst: '/' }, 'UserID cannot be empty'],
    [{ src: '/a', dst: '/', user_id: 'x' }, 'PolicyID cannot be empty'],
    [{ src: '/a', dst: '/', user_id: 'x', policy_id: 0 }, 'PolicyID cannot be empty'],
    [{ src: '/a', dst: '/', user_id: 'x', policy_id: '1' }, 'JSON marshall error'],
    [{ src: ['/a'], dst: '/', user_id: 'x', policy_id: 1 }, 'JSON marshall error'],
  ])('binds %j → 40001 %s (no correlation id)', async (b, msg) => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    expect((await admin.post('/workflow/import', b)).body).toEqual({ code: 40001, msg });
  });

  it('answers "Invalid user id" for what is no user hashid, and "Failed to get user" for a missing or inactive user', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    for (const user_id of ['zzzz', sim.ids.encode('task', ALICE), sim.ids.encode('policy', 1)]) {
      expect((await admin.post('/workflow/import', body(sim, { user_id }))).body).toEqual({ code: 40001, msg: 'Invalid user id', correlation_id: cid });
    }
    for (const id of [99, ACCOUNTS.banned.id, ACCOUNTS.inactive.id, 0]) {
      expect((await admin.post('/workflow/import', body(sim, { user_id: sim.ids.encode('user', id) }))).body).toEqual({ code: 50001, msg: 'Failed to get user', correlation_id: cid });
    }
    expect((await admin.list('general')).tasks).toEqual([]);
  });

  it('takes the seed page’s request as written (its user id belongs to another server: "Invalid user id"), and runs it with our ids', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    const seed = '{\n    "src": "/path/to/existing",\n    "dst": "/",\n    "extract_media_meta": false,\n    "user_id": "lpua",\n    "recursive": true,\n    "policy_id": 1\n}';
    const send = (text: string) => admin.postText('/workflow/import', text);
    expect((await send(seed)).body).toEqual({ code: 40001, msg: 'Invalid user id', correlation_id: cid });
    const alice = sim.ids.encode('user', ALICE);
    const res = await send(seed.replace('"lpua"', JSON.stringify(alice)));
    expect(res.body).toEqual({
      code: 0,
      data: {
        created_at: '2025-05-20T04:00:00Z',
        updated_at: '2025-05-20T04:00:00Z',
        id: sim.ids.encode('task', 1),
        status: 'queued',
        type: 'import',
        summary: { props: { dst: `cloudreve://${alice}@my/%2F`, dst_policy_id: sim.ids.encode('policy', 1), failed: 0, src_str: '/path/to/existing' } },
      },
      msg: '',
    });
    expect(res.text).toContain(`"props":{"dst":"cloudreve://${alice}@my/%2F","dst_policy_id":"${sim.ids.encode('policy', 1)}","failed":0,"src_str":"/path/to/existing"}`);
  });

  it.each([
    ['/a b/c', '%2Fa%20b%2Fc'],
    ['/a/b', '%2Fa%2Fb'],
    ['x', 'x'],
    ['/中文', '%2F%E4%B8%AD%E6%96%87'],
  ])('builds dst for %j as cloudreve://<user>@my/%s (the whole path escaped as one segment)', async (dst, escaped) => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    const { body: b } = await admin.post('/workflow/import', body(sim, { dst }));
    expect(b.data.summary.props.dst).toBe(`cloudreve://${sim.ids.encode('user', ALICE)}@my/${escaped}`);
  });
});

describe('import: the task belongs to the target user', () => {
  it('shows in the target’s general list, not the admin’s; the admin reads its progress but cannot cancel it', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    const alice = await as(sim, 'alice');
    const carol = await as(sim, 'carol');
    const id = (await admin.post('/workflow/import', body(sim))).body.data.id;
    expect((await alice.list('general')).tasks.map((t) => t.id)).toEqual([id]);
    expect((await admin.list('general')).tasks).toEqual([]);
    await sim.clock.advance(2_100);
    expect((await admin.get(`/workflow/progress/${id}`)).body.data).toEqual({ indexed: { total: 0, current: expect.any(Number), identifier: '' } });
    expect((await carol.get(`/workflow/progress/${id}`)).body).toEqual({ code: 0, data: {}, msg: '' });
    expect((await admin.delete(`/workflow/download/${id}`)).body).toEqual({ code: 404, msg: 'Task not found', correlation_id: cid });
    expect((await alice.delete(`/workflow/download/${id}`)).text).toBe('{"code":0,"msg":""}'); // no effect
    await sim.clock.runUntilIdle();
    const t = await alice.task(id);
    expect(t).toEqual({
      created_at: '2025-05-20T04:00:00Z',
      updated_at: expect.any(String),
      id,
      status: 'completed',
      type: 'import',
      summary: { props: { dst: `cloudreve://${sim.ids.encode('user', ALICE)}@my/%2F`, dst_policy_id: sim.ids.encode('policy', 1), failed: 0, src_str: '/path/to/existing' } },
      duration: expect.any(Number),
    });
  });
});

const IMPORTED = ['empty/', 'photos/', 'photos/2024/', 'photos/2024/trip.txt', 'photos/beach.txt', 'readme.md', 'report.csv'];

describe('import: the walk', () => {
  it('recursive: creates every folder and file of the tree under dst, on the request’s policy; progress indexed, then imported', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    const id = (await admin.post('/workflow/import', body(sim, { dst: '/in', policy_id: 2, src: '/backup' }))).body.data.id;
    await sim.clock.advance(2_050); // the iteration started at 2 s; a quarter of it lists
    expect((await admin.get(`/workflow/progress/${id}`)).body.data).toEqual({ indexed: { total: 0, current: expect.any(Number), identifier: '' } });
    await sim.clock.advance(1_000);
    expect((await admin.get(`/workflow/progress/${id}`)).body.data).toEqual({ imported: { total: 3, current: expect.any(Number), identifier: '' } });
    await sim.clock.runUntilIdle();
    expect(tree(sim, ALICE, ['in'])).toEqual(['db/', 'db/dump.sql', 'notes.txt']);
    expect(sim.drive.stat(ALICE, ['in', 'db', 'dump.sql'])).toMatchObject({ kind: 'file', size: statSync('fixtures/storage/2/backup/db/dump.sql').size, policyId: 2 });
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(sim.drive.diskPath(ALICE, ['in', 'notes.txt']), 'utf8')).toBe('notes kept in cold storage\n');
    expect((await admin.get(`/workflow/progress/${id}`)).body.data).toEqual({});
  });

  it('recursive and non-recursive walks match the fixture tree (non-recursive creates the folders, empty)', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    await admin.post('/workflow/import', body(sim, { dst: '/r' }));
    await admin.post('/workflow/import', body(sim, { dst: '/n', recursive: false }));
    await sim.clock.runUntilIdle();
    expect(tree(sim, ALICE, ['r'])).toEqual(IMPORTED);
    expect(tree(sim, ALICE, ['n'])).toEqual(['empty/', 'photos/', 'readme.md', 'report.csv']);
    expect((await (await as(sim, 'alice')).list('general')).tasks.map((t) => [t.status, t.summary.props.failed])).toEqual([
      ['completed', 0],
      ['completed', 0],
    ]);
  });

  it('skips files that already exist (no failure) and leaves them as they were', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    await admin.post('/workflow/import', body(sim, { dst: '/r' }));
    await sim.clock.runUntilIdle();
    const before = sim.drive.stat(ALICE, ['r', 'readme.md'])!;
    const { body: again } = await admin.post('/workflow/import', body(sim, { dst: '/r' }));
    await sim.clock.runUntilIdle();
    const alice = await as(sim, 'alice');
    expect(await alice.task(again.data.id)).toMatchObject({ status: 'completed', summary: { props: { failed: 0 } } });
    expect(sim.drive.stat(ALICE, ['r', 'readme.md'])).toEqual(before);
    expect(tree(sim, ALICE, ['r'])).toEqual(IMPORTED);
  });

  it('counts in failed what cannot be created (policy size and extension rules, a file in the way); 4.0.0 always shows 0', async () => {
    // A copy of the fixtures whose policy-3 storage also holds sub/x.txt.
    const fx = mkdtempSync(path.join(tmpdir(), 'import-fx-'));
    try {
      cpSync('fixtures', fx, { recursive: true });
      mkdirSync(`${fx}/storage/3/inbox/sub`);
      writeFileSync(`${fx}/storage/3/inbox/sub/x.txt`, 'x');
      for (const [version, failed] of [['4.18.0', 4], ['4.0.0', 0]] as const) {
        const sim = testSimulator({ version, fixtures: fx });
        const admin = await as(sim, 'admin');
        writeFileSync(`${sim.dataDir}/blocker`, 'x');
        sim.drive.commitFile(ALICE, ['in', 'sub'], `${sim.dataDir}/blocker`); // a file where the folder sub goes
        // Policy 3 takes at most 64 KiB and no .exe: too-big.txt and setup.exe fail, and so do sub and sub/x.txt.
        const id = (await admin.post('/workflow/import', body(sim, { src: '/inbox', dst: '/in', policy_id: 3 }))).body.data.id;
        await sim.clock.runUntilIdle();
        expect(await (await as(sim, 'alice')).task(id)).toMatchObject({ status: 'completed', summary: { props: { failed } } });
        expect(tree(sim, ALICE, ['in'])).toEqual(['letter.txt', 'sub']);
      }
    } finally {
      rmSync(fx, { recursive: true, force: true });
    }
  });

  it('fails (retryable, then error) for a src the storage does not hold, or a policy that does not exist', async () => {
    const sim = testSimulator({ profile: 'fast' });
    const admin = await as(sim, 'admin');
    const missing = (await admin.post('/workflow/import', body(sim, { src: '/not/exist' }))).body.data.id;
    const policy = (await admin.post('/workflow/import', body(sim, { policy_id: 9 }))).body.data;
    expect(policy.summary.props.dst_policy_id).toBe(sim.ids.encode('policy', 9));
    await sim.clock.runUntilIdle();
    const alice = await as(sim, 'alice');
    expect(await alice.task(missing)).toMatchObject({ status: 'error', retry_count: 5, error: 'failed to list physical files: failed to walk "/not/exist": no such file or directory' });
    expect(await alice.task(policy.id)).toMatchObject({ status: 'error', retry_count: 5, error: 'failed to list physical files: failed to get policy: storage policy 9 not found' });
    expect(tree(sim, ALICE).filter((p) => p.startsWith('path') || p === 'readme.md')).toEqual([]);
  });

  it('never leaves the storage root or the user’s drive, whatever src and dst say', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    await admin.post('/workflow/import', body(sim, { src: '../../../../path/to/existing/../existing', dst: '/../../esc' }));
    await sim.clock.runUntilIdle();
    expect(tree(sim, ALICE, ['esc'])).toEqual(IMPORTED);
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${sim.dataDir}/worlds/default/drives/esc`)).toBe(false);
  });
});

describe('import: hostile and changing storage', () => {
  /** A private copy of the fixtures, for tests that change the storage. */
  const copyFixtures = () => {
    const fx = mkdtempSync(path.join(tmpdir(), 'import-fx-'));
    cpSync('fixtures', fx, { recursive: true });
    return fx;
  };

  it('counts files over the target user’s capacity and names no drive accepts in failed', async () => {
    const fx = copyFixtures();
    try {
      writeFileSync(`${fx}/storage/2/backup/a:b.txt`, 'colon'); // ':' is legal on disk, not in a drive
      writeFileSync(`${fx}/storage/2/backup/large.bin`, Buffer.alloc(20 * 1024 * 1024)); // alice has 16 MiB
      const sim = testSimulator({ fixtures: fx });
      const admin = await as(sim, 'admin');
      const id = (await admin.post('/workflow/import', body(sim, { src: '/backup', dst: '/in', policy_id: 2 }))).body.data.id;
      await sim.clock.runUntilIdle();
      expect(await (await as(sim, 'alice')).task(id)).toMatchObject({ status: 'completed', summary: { props: { failed: 2 } } });
      expect(tree(sim, ALICE, ['in'])).toEqual(['db/', 'db/dump.sql', 'notes.txt']);
    } finally {
      rmSync(fx, { recursive: true, force: true });
    }
  });

  it('completes with nothing for a src naming a file, and fails retryably for a path through a file', async () => {
    const sim = testSimulator({ profile: 'fast' });
    const admin = await as(sim, 'admin');
    const file = (await admin.post('/workflow/import', body(sim, { src: '/path/to/existing/readme.md', dst: '/f' }))).body.data.id;
    const through = (await admin.post('/workflow/import', body(sim, { src: '/path/to/existing/readme.md/x' }))).body.data.id;
    await sim.clock.runUntilIdle();
    const alice = await as(sim, 'alice');
    expect(await alice.task(file)).toMatchObject({ status: 'completed', summary: { props: { failed: 0 } } });
    expect(sim.drive.stat(ALICE, ['f'])).toBeUndefined();
    expect(await alice.task(through)).toMatchObject({
      status: 'error',
      retry_count: 5,
      error: 'failed to list physical files: failed to walk "/path/to/existing/readme.md/x": no such file or directory',
    });
  });

  it('never follows a link out of the storage', async () => {
    const fx = copyFixtures();
    const outside = mkdtempSync(path.join(tmpdir(), 'outside-'));
    try {
      mkdirSync(`${outside}/inner`);
      writeFileSync(`${outside}/inner/secret.txt`, 'secret');
      const { symlinkSync } = await import('node:fs');
      symlinkSync(outside, `${fx}/storage/1/lnk`);
      const sim = testSimulator({ fixtures: fx, profile: 'fast' });
      const admin = await as(sim, 'admin');
      const inner = (await admin.post('/workflow/import', body(sim, { src: '/lnk/inner', dst: '/x' }))).body.data.id;
      await admin.post('/workflow/import', body(sim, { src: '/', dst: '/all' }));
      await sim.clock.runUntilIdle();
      expect(await (await as(sim, 'alice')).task(inner)).toMatchObject({ status: 'error' });
      expect(tree(sim, ALICE, ['all']).some((p) => p.includes('secret') || p.startsWith('lnk'))).toBe(false);
      expect(sim.drive.stat(ALICE, ['x'])).toBeUndefined();
    } finally {
      rmSync(fx, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('counts a storage file that disappears between the listing and the import in failed, and imports the rest', async () => {
    const fx = copyFixtures();
    try {
      const sim = testSimulator({ fixtures: fx });
      const admin = await as(sim, 'admin');
      const id = (await admin.post('/workflow/import', body(sim, { dst: '/r' }))).body.data.id;
      await sim.clock.advance(2_100); // listed; the files land when the iteration ends
      rmSync(`${fx}/storage/1/path/to/existing/report.csv`);
      await sim.clock.runUntilIdle();
      expect(await (await as(sim, 'alice')).task(id)).toMatchObject({ status: 'completed', summary: { props: { failed: 1 } } });
      expect(tree(sim, ALICE, ['r'])).toEqual(IMPORTED.filter((p) => p !== 'report.csv'));
    } finally {
      rmSync(fx, { recursive: true, force: true });
    }
  });

  it('writes dst "." and ".." as the root, which the server writes without a path', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    for (const dst of ['.', '..']) {
      expect((await admin.post('/workflow/import', body(sim, { dst }))).body.data.summary.props.dst).toBe(`cloudreve://${sim.ids.encode('user', ALICE)}@my`);
    }
  });
});
