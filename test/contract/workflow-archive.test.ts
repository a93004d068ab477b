/**
 * POST /workflow/archive and the create_archive task (spec §8), on the virtual clock with the
 * default `realistic` profile: pick-up 2 s, each phase at least 1.5 s, failures 1 s.
 */
import { readFileSync, rmSync, readdirSync, truncateSync, writeFileSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACCOUNTS, as, testSimulator, UUID_V4 } from '../helpers.js';
import { readZip, unzipTest, HAS_UNZIP } from '../zip.js';
import type { Simulator } from '../../src/index.js';

const cid = expect.stringMatching(UUID_V4);
const ALICE = ACCOUNTS.alice.id;

/** Content of a file in a user's drive. */
const fileOf = (sim: Simulator, userId: number, p: string) => readFileSync(sim.drive.diskPath(userId, p.split('/').filter(Boolean)));

describe('POST /workflow/archive: checks, in the server order', () => {
  it('refuses a group without the archive permission with 40007', async () => {
    const sim = testSimulator();
    const user = await as(sim, 'user');
    expect(await user.archive(['cloudreve://my/docs'], 'cloudreve://my/a.zip')).toEqual({
      code: 40007,
      msg: 'Group not allowed to compress files',
      correlation_id: cid,
    });
  });

  it.each(['/a.zip', 'http://x/a.zip', 'notauri', 'cloudreve://my/%zz.zip'])('answers 40001 "Invalid destination" for dst %s', async (dst) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect(await alice.archive([], dst)).toEqual({ code: 40001, msg: 'Invalid destination', correlation_id: cid });
  });

  it.each(['cloudreve://my/docs', 'cloudreve://my', 'cloudreve://my/', 'cloudreve://my/notes.txt', 'cloudreve://MY/docs/a.txt'])(
    'answers 40004 "Object existed" when dst %s exists (file or folder)',
    async (dst) => {
      const sim = testSimulator();
      const alice = await as(sim, 'alice');
      expect(await alice.archive([], dst)).toEqual({ code: 40004, msg: 'Object existed', correlation_id: cid });
    },
  );

  it('answers 40004 when a file stands where a parent folder would go', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect(await alice.archive([], 'cloudreve://my/notes.txt/x.zip')).toEqual({ code: 40004, msg: 'Object existed', correlation_id: cid });
  });

  it.each(['cloudreve://trash/a.zip', 'cloudreve://abc@share/a.zip', 'cloudreve://shared_with_me/a.zip'])(
    'answers 403 "Not supported action" for %s',
    async (dst) => {
      const sim = testSimulator();
      const alice = await as(sim, 'alice');
      expect(await alice.archive([], dst)).toEqual({ code: 403, msg: 'Not supported action', correlation_id: cid });
    },
  );

  it('answers 403 "Permission denied" in another user’s my, and accepts the caller’s own id', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const carol = sim.ids.encode('user', ACCOUNTS.carol.id);
    expect(await alice.archive([], `cloudreve://${carol}@my/a.zip`)).toEqual({ code: 403, msg: 'Permission denied', correlation_id: cid });
    const own = sim.ids.encode('user', ALICE);
    expect((await alice.archive([], `cloudreve://${own}@my/a.zip`)).code).toBe(0);
  });

  it.each(['a:b.zip', 'a*.zip', 'a%3F.zip', 'a"b.zip', 'a<b.zip', 'a>b.zip', 'a|b.zip', 'a%5Cb.zip', `${'x'.repeat(256)}.zip`])(
    'answers 40052 "Invalid object name" for the illegal name %s',
    async (name) => {
      const sim = testSimulator();
      const alice = await as(sim, 'alice');
      expect(await alice.archive([], `cloudreve://my/${name}`)).toEqual({ code: 40052, msg: 'Invalid object name', correlation_id: cid });
    },
  );

  it('answers 40052 for an illegal name in a missing parent folder, and creates nothing', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.archive([], 'cloudreve://my/new:dir/a.zip')).code).toBe(40052);
    expect(sim.drive.stat(ALICE, ['new:dir'])).toBeUndefined();
  });

  it('answers {"code":-1,"msg":""} for an illegal name as 4.0.0 did (version below 4.18)', async () => {
    const sim = testSimulator({ version: '4.0.0' });
    const alice = await as(sim, 'alice');
    expect(await alice.archive([], 'cloudreve://my/a:b.zip')).toEqual({ code: -1, msg: '', correlation_id: cid });
  });

  it.each(['4.18.0', '4.0.0'])('answers {"code":-1,"msg":""} for an unknown file system (version %s)', async (version) => {
    const sim = testSimulator({ version });
    const alice = await as(sim, 'alice');
    expect(await alice.archive([], 'cloudreve://foo/a.zip')).toEqual({ code: -1, msg: '', correlation_id: cid });
  });

  it('answers 40051 "Insufficient capacity" when the user is already over quota', async () => {
    const dir = mkdtempSync(path.join(sim0Tmp(), 'acc-'));
    const file = path.join(dir, 'accounts.yaml');
    writeFileSync(
      file,
      'groups:\n  - { id: 1, name: Tiny, permissions: [archive_task], max_storage: 1024 }\nusers:\n  - { id: 3, email: alice@cloudreve.org, password: alicepass, group: Tiny }\n',
    );
    try {
      const sim = testSimulator({ accounts: file });
      const alice = await as(sim, 'alice');
      expect(await alice.archive([], 'cloudreve://my/a.zip')).toEqual({ code: 40051, msg: 'Insufficient capacity', correlation_id: cid });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks the permission before the destination', async () => {
    const sim = testSimulator();
    const user = await as(sim, 'user');
    expect((await user.archive([], 'notauri')).code).toBe(40007);
  });
});

describe('POST /workflow/archive: the created task', () => {
  it('answers a queued create_archive task, props echoed as sent, and creates missing parents at once', async () => {
    const sim = testSimulator({ startTime: '2025-05-20T04:43:28.791Z' });
    const alice = await as(sim, 'alice');
    const res = await alice.post('/workflow/archive', {
      src: ['cloudreve://my/docs', 'cloudreve://my/notes.txt'],
      dst: 'cloudreve://my/new/out.zip',
    });
    expect(res.body).toEqual({
      code: 0,
      data: {
        created_at: '2025-05-20T04:43:28.791Z',
        updated_at: '2025-05-20T04:43:28.791Z',
        id: sim.ids.encode('task', 1),
        status: 'queued',
        type: 'create_archive',
        summary: { props: { dst: 'cloudreve://my/new/out.zip', failed: 0, src_multiple: ['cloudreve://my/docs', 'cloudreve://my/notes.txt'] } },
      },
      msg: '',
    });
    // Struct key order, and the map-backed props sorted.
    expect(res.text).toContain('{"created_at":"2025-05-20T04:43:28.791Z","updated_at":"2025-05-20T04:43:28.791Z","id":');
    expect(res.text).toContain('"summary":{"props":{"dst":"cloudreve://my/new/out.zip","failed":0,"src_multiple":[');
    expect(sim.drive.stat(ALICE, ['new'])?.kind).toBe('folder');
  });

  it('echoes src byte for byte (escapes and odd spellings untouched) and does not check it', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const src = ['cloudreve://my/photos/holiday%202024.jpg', 'cloudreve://MY/./docs/', 'notauri', 'cloudreve://my/missing'];
    const res = await alice.archive(src, 'cloudreve://my/%E6%96%B0.zip');
    expect(res.code).toBe(0);
    expect(res.data.summary.props).toEqual({ dst: 'cloudreve://my/%E6%96%B0.zip', failed: 0, src_multiple: src });
  });

  it('accepts src [] and produces an empty, valid zip', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.archive([], 'cloudreve://my/empty.zip');
    expect(res.code).toBe(0);
    await sim.clock.runUntilIdle();
    expect((await alice.task(res.data.id)).status).toBe('completed');
    expect(await readZip(sim.drive.diskPath(ALICE, ['empty.zip']))).toEqual([]);
  });

  it('answers 40004 for the same request once the first archive exists', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/n.zip')).code).toBe(0);
    await sim.clock.runUntilIdle();
    expect(await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/n.zip')).toEqual({ code: 40004, msg: 'Object existed', correlation_id: cid });
  });
});

describe('create_archive: the state machine on the clock', () => {
  it('goes queued → processing ("") → suspending (compress_files) → processing → suspending (upload_archive) → processing → completed', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { data } = await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/n.zip');
    const node = { id: sim.ids.encode('node', 1), name: 'Master', type: 'master', capabilities: 'Hg==' }; // Pro (the default): relocate too
    const props = { dst: 'cloudreve://my/n.zip', failed: 0, src_multiple: ['cloudreve://my/notes.txt'] };
    const base = { created_at: '2025-05-20T04:00:00Z', id: data.id, type: 'create_archive' };
    const t0 = Date.parse('2025-05-20T04:00:00Z') / 1000;
    const seen = async () => alice.task(data.id);

    expect(await seen()).toEqual({ ...base, updated_at: '2025-05-20T04:00:00Z', status: 'queued', summary: { props } });
    await sim.clock.advance(1_999);
    expect((await seen()).status).toBe('queued');
    await sim.clock.advance(1); // pick-up after 2 s; the node is allocated at the first iteration
    expect(await seen()).toEqual({ ...base, updated_at: '2025-05-20T04:00:02Z', status: 'processing', node, summary: { props } });
    await sim.clock.advance(1_500); // 3.5 s: phase "" done → compress_files, resume at once
    expect(await seen()).toEqual({
      ...base, updated_at: '2025-05-20T04:00:03Z', status: 'suspending', node,
      summary: { phase: 'compress_files', props }, duration: 1500, resume_time: t0 + 3,
    });
    await sim.clock.advance(2_000); // 5.5 s: picked up again
    expect((await seen()).status).toBe('processing');
    await sim.clock.advance(1_500); // 7 s: compressed → upload_archive
    expect(await seen()).toEqual({
      ...base, updated_at: '2025-05-20T04:00:07Z', status: 'suspending', node,
      summary: { phase: 'upload_archive', props }, duration: 3000, resume_time: t0 + 7,
    });
    expect(sim.drive.stat(ALICE, ['n.zip'])).toBeUndefined();
    await sim.clock.advance(2_000); // 9 s
    expect((await seen()).status).toBe('processing');
    expect(sim.drive.stat(ALICE, ['n.zip'])).toBeUndefined(); // visible only when the phase ends
    await sim.clock.advance(1_500); // 10.5 s
    expect(await seen()).toEqual({
      ...base, updated_at: '2025-05-20T04:00:10Z', status: 'completed', node,
      summary: { phase: 'upload_archive', props }, duration: 4500, resume_time: t0 + 7,
    });
    expect(sim.drive.stat(ALICE, ['n.zip'])?.kind).toBe('file');
  });

  it('never moves updated_at backwards nor changes created_at', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { data } = await alice.archive(['cloudreve://my/docs'], 'cloudreve://my/d.zip');
    let last = '';
    for (let i = 0; i < 30; i++) {
      const t = await alice.task(data.id);
      expect(t.created_at).toBe('2025-05-20T04:00:00Z');
      expect(Date.parse(t.updated_at)).toBeGreaterThanOrEqual(last ? Date.parse(last) : 0);
      last = t.updated_at;
      await sim.clock.advance(500);
    }
    expect((await alice.task(data.id)).status).toBe('completed');
  });

  it('shows the Pro master node capabilities (Hg==) in the pro edition', async () => {
    const sim = testSimulator({ edition: 'pro' });
    const alice = await as(sim, 'alice');
    const { data } = await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/n.zip');
    await sim.clock.runUntilIdle();
    expect((await alice.task(data.id)).node.capabilities).toBe('Hg==');
  });
});

describe('create_archive: failures', () => {
  it('retries a missing source 5 times with growing back-off, showing suspending and retry_count, then fails', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { data } = await alice.archive(['cloudreve://my/missing.txt'], 'cloudreve://my/m.zip');
    const text = 'failed to compress files: failed to get file cloudreve://my/missing.txt: Path not exist';
    // "" ends at 3.5 s; compress_files starts at 5.5 s and fails at 6.5 s.
    await sim.clock.advance(6_500);
    let t = await alice.task(data.id);
    expect(t).toMatchObject({ status: 'suspending', retry_count: 1, error_history: [text], summary: { phase: 'compress_files' } });
    expect(t.error).toBeUndefined();
    // Back-off 200 ms then the 2 s pick-up, then 1 s to fail again.
    await sim.clock.advance(200 + 2_000 + 1_000);
    t = await alice.task(data.id);
    expect(t).toMatchObject({ status: 'suspending', retry_count: 2, error_history: [text, text] });
    expect(t.error).toBeUndefined();
    await sim.clock.runUntilIdle();
    t = await alice.task(data.id);
    expect(t).toMatchObject({ status: 'error', error: text, retry_count: 5, error_history: [text, text, text, text, text] });
    expect(sim.drive.stat(ALICE, ['m.zip'])).toBeUndefined();
  });

  it.each(['cloudreve://my/a%5Cb.txt', 'cloudreve://my/../../../../etc/passwd', 'cloudreve://my/docs/%2E%2E/%2E%2E/%2E%2E/etc/hostname'])(
    'treats the hostile source %s as a missing file (never a crash, never outside the drive)',
    async (src) => {
      const sim = testSimulator({ profile: 'instant' });
      const alice = await as(sim, 'alice');
      const { data } = await alice.archive([src], 'cloudreve://my/h.zip');
      await sim.clock.runUntilIdle();
      const t = await alice.task(data.id);
      expect(t.status).toBe('error');
      expect(t.error).toBe(`failed to compress files: failed to get file ${src}: Path not exist`);
      expect(t.retry_count).toBe(5);
    },
  );

  it('fails at once, without retries, when the top-level files exceed the group compress_size', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { data } = await alice.archive(['cloudreve://my/big.bin'], 'cloudreve://my/big.zip');
    await sim.clock.runUntilIdle();
    const t = await alice.task(data.id);
    expect(t).toMatchObject({
      status: 'error',
      error: 'failed to compress files: File is too large: total size of to-be compressed file exceed group limit (non-retryable error)',
    });
    expect(t.retry_count).toBeUndefined();
    expect(t.error_history).toBeUndefined();
  });

  it('fails at once for a source that is not a URI', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { data } = await alice.archive(['notauri'], 'cloudreve://my/x.zip');
    await sim.clock.runUntilIdle();
    const t = await alice.task(data.id);
    expect(t.status).toBe('error');
    expect(t.error).toMatch(/^failed to create uri from strings: .* \(non-retryable error\)$/);
    expect(t.retry_count).toBeUndefined();
  });

  it('leaves no archive and no work files behind when it fails', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.archive(['cloudreve://my/docs', 'cloudreve://my/missing'], 'cloudreve://my/out/x.zip');
    await sim.clock.runUntilIdle();
    expect(sim.drive.children(ALICE, ['out'])).toEqual([]); // the parent folder stays, as on the server
    expect(readdirSync(path.join(sim.dataDir, 'worlds', 'default', 'tmp'))).toEqual([]); // the default world's work folders
  });

  it('counts an unreadable file in `failed` and still completes', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    rmSync(sim.drive.diskPath(ALICE, ['docs', 'a.txt'])); // its content vanished behind the drive's back
    const { data } = await alice.archive(['cloudreve://my/docs'], 'cloudreve://my/d.zip');
    await sim.clock.runUntilIdle();
    const t = await alice.task(data.id);
    expect(t.status).toBe('completed');
    expect(t.summary.props.failed).toBe(1);
    expect((await readZip(sim.drive.diskPath(ALICE, ['d.zip']))).map((e) => e.name)).not.toContain('docs/a.txt');
  });

  it('abandons only a folder whose walk goes over compress_size, counting it in `failed`', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    // Move big.bin into a folder: the folder walk exceeds alice's 1 MiB limit.
    const tmp = path.join(sim.dataDir, 'big-copy');
    writeFileSync(tmp, fileOf(sim, ALICE, 'big.bin'));
    sim.drive.commitFile(ALICE, ['heavy', 'big.bin'], tmp);
    const { data } = await alice.archive(['cloudreve://my/heavy', 'cloudreve://my/notes.txt'], 'cloudreve://my/h.zip');
    await sim.clock.runUntilIdle();
    const t = await alice.task(data.id);
    expect(t.status).toBe('completed');
    expect(t.summary.props.failed).toBe(1);
    expect((await readZip(sim.drive.diskPath(ALICE, ['h.zip']))).map((e) => e.name)).toEqual(['/notes.txt']);
  });
});

describe('create_archive: the ZIP it writes', () => {
  it('holds every source byte for byte, named as the server names entries', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { data } = await alice.archive(
      ['cloudreve://my/docs', 'cloudreve://my/notes.txt', 'cloudreve://my/%E4%B8%AD%E6%96%87.txt', 'cloudreve://my/empty.txt', 'cloudreve://my/photos'],
      'cloudreve://my/all.zip',
    );
    await sim.clock.runUntilIdle();
    expect((await alice.task(data.id)).status).toBe('completed');
    const file = sim.drive.diskPath(ALICE, ['all.zip']);
    const entries = await readZip(file);
    // Top-level files get a leading slash; files in a folder at the root are relative to it.
    // Empty folders make no entries. Entries carry the UTF-8 flag.
    expect(entries.map((e) => e.name)).toEqual([
      'docs/a.txt',
      'docs/guide/advanced/tips.txt',
      'docs/guide/intro.txt',
      'docs/sub/b.txt',
      '/notes.txt',
      '/中文.txt',
      '/empty.txt',
      'photos/holiday 2024.jpg',
    ]);
    const source: Record<string, string> = {
      'docs/a.txt': 'docs/a.txt',
      'docs/guide/advanced/tips.txt': 'docs/guide/advanced/tips.txt',
      'docs/guide/intro.txt': 'docs/guide/intro.txt',
      'docs/sub/b.txt': 'docs/sub/b.txt',
      '/notes.txt': 'notes.txt',
      '/中文.txt': '中文.txt',
      '/empty.txt': 'empty.txt',
      'photos/holiday 2024.jpg': 'photos/holiday 2024.jpg',
    };
    for (const e of entries) {
      expect(e.data.equals(fileOf(sim, ALICE, source[e.name]!)), e.name).toBe(true);
      expect(e.utf8).toBe(true);
      expect(e.mtime.toISOString()).toBe('2025-05-20T04:00:00.000Z'); // the files' updated_at
    }
    expect(entries.find((e) => e.name === '/empty.txt')!.size).toBe(0);
    if (HAS_UNZIP) expect(unzipTest(file)!.status).toBe(0);
  });

  it('names files of a deeper folder relative to its parent, with a leading slash', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.archive(['cloudreve://my/docs/guide'], 'cloudreve://my/g.zip');
    await sim.clock.runUntilIdle();
    expect((await readZip(sim.drive.diskPath(ALICE, ['g.zip']))).map((e) => e.name)).toEqual(['/guide/advanced/tips.txt', '/guide/intro.txt']);
  });

  it('writes the archive as a new version when a file appeared at dst meanwhile (one complete zip wins)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const first = await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/race.zip');
    const second = await alice.archive(['cloudreve://my/docs/a.txt'], 'cloudreve://my/race.zip');
    expect([first.code, second.code]).toEqual([0, 0]);
    await sim.clock.runUntilIdle();
    expect((await alice.task(first.data.id)).status).toBe('completed');
    expect((await alice.task(second.data.id)).status).toBe('completed');
    const names = (await readZip(sim.drive.diskPath(ALICE, ['race.zip']))).map((e) => e.name);
    expect([['/notes.txt'], ['/a.txt']]).toContainEqual(names);
    expect(sim.drive.children(ALICE, [])!.filter((n) => n.name.startsWith('race'))).toHaveLength(1);
  });

  it('counts the archive in the user’s usage', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const before = sim.drive.used(ALICE);
    await alice.archive(['cloudreve://my/docs'], 'cloudreve://my/u.zip');
    await sim.clock.runUntilIdle();
    expect(sim.drive.used(ALICE)).toBe(before + sim.drive.stat(ALICE, ['u.zip'])!.size);
  });

  it.runIf(process.env.CLOUDREVE_SIM_SLOW_TESTS === '1')(
    'uses ZIP64 for a file over 4 GiB (sparse), verified by unzip -t',
    async () => {
      const sim = testSimulator({ profile: 'instant' });
      const admin = await as(sim, 'admin');
      const big = path.join(sim.dataDir, 'huge.bin');
      writeFileSync(big, '');
      truncateSync(big, 4 * 1024 ** 3 + 1024 * 1024);
      sim.drive.commitFile(ACCOUNTS.admin.id, ['huge.bin'], big);
      const { data } = await admin.archive(['cloudreve://my/huge.bin'], 'cloudreve://my/huge.zip');
      await sim.clock.runUntilIdle();
      expect((await admin.task(data.id)).status).toBe('completed');
      const file = sim.drive.diskPath(ACCOUNTS.admin.id, ['huge.zip']);
      if (HAS_UNZIP) expect(unzipTest(file)!.status).toBe(0);
    },
    15 * 60_000,
  );
});

function sim0Tmp(): string {
  return process.env.TMPDIR ?? '/tmp';
}
