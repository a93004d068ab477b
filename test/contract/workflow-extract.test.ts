/**
 * POST /workflow/extract: creation checks (spec §9.2) and the extract_archive task (§9.3).
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Simulator } from '../../src/index.js';
import { ACCOUNTS, as, testSimulator, UUID_V4 } from '../helpers.js';

const cid = expect.stringMatching(UUID_V4);

describe('POST /workflow/extract: checks, in the server order', () => {
  it('refuses a group without the archive permission with 40007 (the archive message)', async () => {
    const sim = testSimulator();
    const user = await as(sim, 'user');
    expect((await user.post('/workflow/extract', { src: ['cloudreve://my/x.zip'], dst: 'cloudreve://my' })).body).toEqual({
      code: 40007,
      msg: 'Group not allowed to compress files',
      correlation_id: cid,
    });
  });

  it('checks the destination before the sources: bad dst with empty src → "Invalid destination"', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/workflow/extract', { src: [], dst: '/nope' })).body).toEqual({ code: 40001, msg: 'Invalid destination', correlation_id: cid });
  });

  it('answers 40001 "No source files" for src []', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/workflow/extract', { src: [], dst: 'cloudreve://my' })).body).toEqual({ code: 40001, msg: 'No source files', correlation_id: cid });
  });

  it.each([
    ['a missing folder', 'cloudreve://my/missing', 40016],
    ['the trash', 'cloudreve://trash', 403],
    ['a share', 'cloudreve://abc@share/x', 403],
    ['shared_with_me', 'cloudreve://shared_with_me', 403],
    ['an unknown file system', 'cloudreve://nofs/x', 40001],
    ['not a URI', 'http://x/y', 40001],
  ])('answers "Invalid destination" with the inherited code for %s', async (_, dst, code) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/workflow/extract', { src: ['cloudreve://my/x.zip'], dst })).body).toEqual({ code, msg: 'Invalid destination', correlation_id: cid });
  });

  it('answers 403 "Invalid destination" in another user’s my', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const carol = sim.ids.encode('user', ACCOUNTS.carol.id);
    expect((await alice.post('/workflow/extract', { src: ['cloudreve://my/x.zip'], dst: `cloudreve://${carol}@my` })).body).toEqual({
      code: 403,
      msg: 'Invalid destination',
      correlation_id: cid,
    });
  });

  it('accepts a file as dst, and answers a queued task with props {dst, src: src[0]} as sent', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.post('/workflow/extract', {
      src: ['cloudreve://my/archives/utf8.zip', 'cloudreve://my/other'],
      dst: 'cloudreve://my/notes.txt',
      encoding: 'gbk',
      preferred_node_id: 'm9uO',
    });
    expect(res.body).toEqual({
      code: 0,
      data: {
        created_at: '2025-05-20T04:00:00Z',
        updated_at: '2025-05-20T04:00:00Z',
        id: sim.ids.encode('task', 1),
        status: 'queued',
        type: 'extract_archive',
        summary: { props: { dst: 'cloudreve://my/notes.txt', src: 'cloudreve://my/archives/utf8.zip' } },
      },
      msg: '',
    });
  });

  it('does not check the source at creation', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/workflow/extract', { src: ['cloudreve://my/missing.zip'], dst: 'cloudreve://my' })).body.code).toBe(0);
  });
});

// ---------------------------------------------------------------- execution


const ALICE = ACCOUNTS.alice.id;
const FIXTURES = fileURLToPath(new URL('../../fixtures/archives/', import.meta.url));
const T = {
  T0: '2024-01-02T03:04:06.000Z',
  T1: '2023-06-15T12:30:00.000Z',
  T2: '2022-02-22T22:22:22.000Z',
  T3: '2021-12-31T23:59:58.000Z',
  T4: '2020-05-06T07:08:10.000Z',
};

/** Puts a library fixture (fixtures/archives/…) into alice's drive at /in/<name>. */
function place(sim: Simulator, fixture: string): string {
  const name = path.basename(fixture);
  const tmp = path.join(sim.dataDir, `upload-${name}`);
  copyFileSync(path.join(FIXTURES, fixture), tmp);
  sim.drive.commitFile(ALICE, ['in', name], tmp);
  return `cloudreve://my/in/${encodeURIComponent(name)}`;
}

/** Every file under a drive folder: relative path → content (folders end with "/"). */
function tree(sim: Simulator, segments: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (segs: string[], prefix: string) => {
    for (const n of sim.drive.children(ALICE, segs) ?? []) {
      const rel = prefix + n.name;
      if (n.kind === 'folder') {
        out[`${rel}/`] = '';
        walk([...segs, n.name], `${rel}/`);
      } else {
        out[rel] = readFileSync(sim.drive.diskPath(ALICE, [...segs, n.name]), 'utf8');
      }
    }
  };
  walk(segments, '');
  return out;
}

/** Every file name anywhere under the simulator's data folder (to prove nothing escaped). */
function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).map((d) => path.join(d.parentPath, d.name));
}

async function extract(sim: Simulator, body: Record<string, unknown>) {
  const alice = await as(sim, 'alice');
  const res = await alice.post('/workflow/extract', { dst: 'cloudreve://my/extracted', ...body });
  expect(res.body.code, JSON.stringify(res.body)).toBe(0);
  await sim.clock.runUntilIdle();
  return alice.task(res.body.data.id);
}

describe('extract_archive: formats', () => {
  it('unpacks utf8.zip: the tree, the bytes, empty folders and the entries’ times (4.18)', async () => {
    const sim = testSimulator();
    const t = await extract(sim, { src: ['cloudreve://my/archives/utf8.zip'] });
    expect(t).toMatchObject({ status: 'completed', type: 'extract_archive', summary: { props: { dst: 'cloudreve://my/extracted', src: 'cloudreve://my/archives/utf8.zip' } } });
    expect(t.summary.phase).toBeUndefined();
    expect(t.retry_count).toBeUndefined();
    expect(tree(sim, ['extracted'])).toEqual({
      'docs/': '',
      'docs/guide/': '',
      'docs/guide/intro.txt': 'Nested two levels deep.\n',
      'docs/readme.txt': 'Read me first.\n',
      'empty/': '',
      'Ünïcødé.txt': 'Ünïcødé content\n',
      '中文/': '',
      '中文/你好.txt': '你好，世界\n',
    });
    expect(new Date(sim.drive.stat(ALICE, ['extracted', 'docs', 'guide', 'intro.txt'])!.updatedAt).toISOString()).toBe(T.T1);
    expect(new Date(sim.drive.stat(ALICE, ['extracted', '中文', '你好.txt'])!.updatedAt).toISOString()).toBe(T.T2);
  });

  it('gives extracted files the upload time in 4.0.0 mode', async () => {
    const sim = testSimulator({ version: '4.0.0', profile: 'instant' });
    await extract(sim, { src: ['cloudreve://my/archives/utf8.zip'] });
    // Extracted when the task ran: the start of virtual time, not the entry's T0.
    expect(new Date(sim.drive.stat(ALICE, ['extracted', 'docs', 'readme.txt'])!.updatedAt).toISOString()).toBe('2025-05-20T04:00:00.000Z');
  });

  it.each(['gb18030', 'gbk', 'GBK'])('decodes GB18030 names with encoding %s', async (encoding) => {
    const sim = testSimulator();
    await extract(sim, { src: ['cloudreve://my/archives/gb18030.zip'], encoding });
    expect(Object.keys(tree(sim, ['extracted'])).sort()).toEqual(['readme.txt', '中文目录/', '中文目录/文件.txt'].sort());
    expect(tree(sim, ['extracted'])['中文目录/文件.txt']).toBe('GB18030 编码的文件名\n');
  });

  it.each([[undefined], ['utf8'], ['no-such-charset']])('leaves GB18030 names as stored with encoding %s', async (encoding) => {
    const sim = testSimulator();
    const t = await extract(sim, { src: ['cloudreve://my/archives/gb18030.zip'], ...(encoding ? { encoding } : {}) });
    expect(t.status).toBe('completed');
    const names = Object.keys(tree(sim, ['extracted']));
    expect(names).toContain('readme.txt');
    expect(names.some((n) => n.includes('中文'))).toBe(false);
  });

  it('decodes Shift-JIS names whose bytes hold 0x5C, without splitting them', async () => {
    const sim = testSimulator();
    await extract(sim, { src: ['cloudreve://my/archives/shiftjis.zip'], encoding: 'shiftjis' });
    expect(tree(sim, ['extracted'])).toMatchObject({ '日本語/ファイル.txt': 'Shift-JIS のファイル名\n', 'ソフト/表.txt': '0x5C trail bytes\n' });
  });

  it('unpacks nested.tar.gz, empty folders and times included', async () => {
    const sim = testSimulator();
    const t = await extract(sim, { src: ['cloudreve://my/archives/nested.tar.gz'] });
    expect(t.status).toBe('completed');
    const files = tree(sim, ['extracted']);
    expect(Object.keys(files).sort()).toEqual(
      ['project/', 'project/README.md', 'project/src/', 'project/src/main.c', 'project/src/lib/', 'project/src/lib/util.c', 'project/empty/', 'project/中文/', 'project/中文/说明.txt'].sort(),
    );
    expect(new Date(sim.drive.stat(ALICE, ['extracted', 'project', 'src', 'lib', 'util.c'])!.updatedAt).toISOString()).toBe(T.T2);
  });

  it('unpacks plain.tar, a long ustar name included', async () => {
    const sim = testSimulator();
    const t = await extract(sim, { src: ['cloudreve://my/archives/plain.tar'] });
    expect(t.status).toBe('completed');
    const names = Object.keys(tree(sim, ['extracted']));
    expect(names).toEqual(expect.arrayContaining(['a.txt', 'dir/b.txt']));
    expect(names.some((n) => n.endsWith('file-with-a-long-name.txt'))).toBe(true);
  });

  it('unpacks sample.7z and never creates its symbolic link', async () => {
    const sim = testSimulator();
    const t = await extract(sim, { src: ['cloudreve://my/archives/sample.7z'] });
    expect(t.status).toBe('completed');
    expect(tree(sim, ['extracted'])).toEqual({
      'docs/': '',
      'docs/guide/': '',
      'docs/guide/intro.txt': 'Nested two levels deep.\n',
      'docs/readme.txt': 'Read me first.\n',
      'empty/': '',
      '中文/': '',
      '中文/你好.txt': '你好，世界\n',
    });
  });

  it('cannot extract 7z in 4.0.0 mode (no formats matched, retried)', async () => {
    const sim = testSimulator({ version: '4.0.0', profile: 'instant' });
    const t = await extract(sim, { src: ['cloudreve://my/archives/sample.7z'] });
    expect(t).toMatchObject({ status: 'error', error: 'failed to identify archive format: no formats matched', retry_count: 5 });
  });

  it.each(['secret.7z', 'secret-names.7z'])('unpacks %s with its password', async (name) => {
    const sim = testSimulator();
    const t = await extract(sim, { src: [`cloudreve://my/archives/${name}`], password: 'cloudreve' });
    expect(t.status).toBe('completed');
    expect(tree(sim, ['extracted'])).toMatchObject({ 'secret/notes.txt': 'cloudreve is the password of this archive.\n' });
  });

  it.each([[undefined], ['wrong']])('fails (retryable, then error) on secret.7z with password %s, writing no file', async (password) => {
    const sim = testSimulator({ profile: 'instant' });
    const t = await extract(sim, { src: ['cloudreve://my/archives/secret.7z'], ...(password ? { password } : {}) });
    expect(t.status).toBe('error');
    expect(t.retry_count).toBe(5);
    expect(Object.keys(tree(sim, ['extracted'])).filter((n) => !n.endsWith('/'))).toEqual([]);
  });

  it('keeps only the entries under file_mask (4.18)', async () => {
    const sim = testSimulator();
    await extract(sim, { src: ['cloudreve://my/archives/utf8.zip'], file_mask: ['docs/guide'] });
    expect(tree(sim, ['extracted'])).toEqual({ 'docs/': '', 'docs/guide/': '', 'docs/guide/intro.txt': 'Nested two levels deep.\n' });
  });

  it('reports extract_count and extract_size (total 0) growing with simulated time', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.post('/workflow/extract', { src: ['cloudreve://my/archives/utf8.zip'], dst: 'cloudreve://my/extracted' });
    await sim.clock.advance(2_000); // picked up: the one phase runs from 2 s to 3.5 s
    await sim.clock.advance(750);
    expect((await alice.get(`/workflow/progress/${res.body.data.id}`)).body.data).toEqual({
      extract_count: { total: 0, current: 3, identifier: '' },
      extract_size: { total: 0, current: 37, identifier: '' },
    });
    await sim.clock.runUntilIdle();
    expect((await alice.get(`/workflow/progress/${res.body.data.id}`)).body.data).toEqual({});
  });
});

describe('extract_archive: failures', () => {
  it('fails at once on a missing source', async () => {
    const sim = testSimulator();
    const t = await extract(sim, { src: ['cloudreve://my/missing.zip'] });
    expect(t).toMatchObject({ status: 'error', error: 'failed to get archive file: Path not exist (non-retryable error)' });
    expect(t.retry_count).toBeUndefined();
  });

  it('fails at once on a source that is not a URI', async () => {
    const sim = testSimulator();
    const t = await extract(sim, { src: ['notauri'] });
    expect(t.error).toMatch(/^failed to parse src uri: .* \(non-retryable error\)$/);
  });

  it('fails at once when the archive exceeds the group decompress_size', async () => {
    const sim = testSimulator();
    const t = await extract(sim, { src: ['cloudreve://my/big.bin'] });
    expect(t).toMatchObject({ status: 'error', error: 'file size 2097152 exceeds the limit 1048576 (non-retryable error)' });
  });

  it('retries "no formats matched" 5 times for a file that is no archive, then fails', async () => {
    const sim = testSimulator({ profile: 'instant' });
    const t = await extract(sim, { src: ['cloudreve://my/notes.txt'] });
    const text = 'failed to identify archive format: no formats matched';
    expect(t).toMatchObject({ status: 'error', error: text, retry_count: 5, error_history: [text, text, text, text, text] });
  });

  it.each([
    ['4.18.0', 'format not an extractor ".gz"'],
    ['4.0.0', 'format not an extractor %!s(MISSING)'],
  ])('names a compression-only file as version %s does', async (version, text) => {
    const sim = testSimulator({ version, profile: 'instant' });
    const src = place(sim, 'hostile/notes.gz');
    const t = await extract(sim, { src: [src] });
    expect(t).toMatchObject({ status: 'error', error: text, retry_count: 5 });
  });

  it('fails on a conflict with an existing file after 5 retries, with the server’s text', async () => {
    const sim = testSimulator({ profile: 'instant' });
    await extract(sim, { src: ['cloudreve://my/archives/utf8.zip'] });
    const t = await extract(sim, { src: ['cloudreve://my/archives/utf8.zip'] });
    expect(t.status).toBe('error');
    expect(t.retry_count).toBe(5);
    expect(t.error).toBe(
      'failed to extract archive: handling file 1: docs/readme.txt: failed to upload file "/extracted/docs/readme.txt" in archive file: faield to prepare uplaod: Object existed',
    );
  });
});

describe('extract_archive: hostile archives', () => {
  const escaped = (sim: Simulator) => allFiles(sim.dataDir).filter((f) => /evil|outside|passwd/.test(path.basename(f)));

  it('skips zip-slip entries silently and writes only inside dst', async () => {
    const sim = testSimulator();
    const t = await extract(sim, { src: [place(sim, 'hostile/zip-slip.zip')] });
    expect(t.status).toBe('completed');
    expect(tree(sim, ['extracted'])).toEqual({ 'ok.txt': 'ok\n' });
    expect(escaped(sim)).toEqual([]);
  });

  it('joins an absolute entry path under dst', async () => {
    const sim = testSimulator();
    await extract(sim, { src: [place(sim, 'hostile/absolute.zip')] });
    expect(Object.keys(tree(sim, ['extracted']))).toEqual(['etc/', 'etc/evil.txt']);
    expect(escaped(sim).every((f) => f.includes(path.join('extracted', 'etc')))).toBe(true);
  });

  it('treats backslashes as separators: ..\\ is skipped, dir\\file.txt lands in dir/', async () => {
    const sim = testSimulator();
    await extract(sim, { src: [place(sim, 'hostile/backslash.zip')] });
    expect(Object.keys(tree(sim, ['extracted']))).toEqual(['dir/', 'dir/file.txt']);
    expect(escaped(sim)).toEqual([]);
  });

  it('skips drive-letter paths (C: is no legal name)', async () => {
    const sim = testSimulator();
    const t = await extract(sim, { src: [place(sim, 'hostile/drive-letter.zip')] });
    expect(t.status).toBe('completed');
    expect(tree(sim, ['extracted'])).toEqual({});
    expect(escaped(sim)).toEqual([]);
  });

  it('never creates or follows tar symlinks', async () => {
    const sim = testSimulator();
    const t = await extract(sim, { src: [place(sim, 'hostile/symlink.tar')] });
    expect(t.status).toBe('completed');
    expect(Object.keys(tree(sim, ['extracted']))).toEqual(['link2/', 'link2/x.txt']);
    expect(allFiles(sim.dataDir).filter((f) => lstatSync(f).isSymbolicLink())).toEqual([]);
    expect(escaped(sim)).toEqual([]);
  });

  it('never creates tar hard links nor copies the files they name', async () => {
    const sim = testSimulator();
    const t = await extract(sim, { src: [place(sim, 'hostile/hardlink.tar')] });
    expect(t.status).toBe('completed');
    expect(tree(sim, ['extracted'])).toEqual({ 'ok.txt': 'ok\n' });
    expect(escaped(sim)).toEqual([]);
  });

  it.each(['hostile/bomb.zip', 'hostile/overlap.zip'])('stops %s at the user’s capacity and fails cleanly', async (fixture) => {
    const sim = testSimulator({ profile: 'instant' });
    const t = await extract(sim, { src: [place(sim, fixture)] });
    expect(t.status).toBe('error');
    expect(sim.drive.used(ALICE)).toBeLessThanOrEqual(16 * 1024 * 1024);
    // Still healthy.
    expect((await as(sim, 'alice')).get('/workflow?page_size=10&category=general')).toBeTruthy();
  });

  it('fails on a bad CRC after writing the good entry before it', async () => {
    const sim = testSimulator({ profile: 'instant' });
    const t = await extract(sim, { src: [place(sim, 'hostile/bad-crc.zip')] });
    expect(t).toMatchObject({ status: 'error', retry_count: 5 });
    expect(Object.keys(tree(sim, ['extracted']))).toEqual(['good.txt']);
  });

  it.each(['hostile/truncated.zip', 'hostile/truncated.tar.gz', 'hostile/fake.zip'])('fails cleanly on %s', async (fixture) => {
    const sim = testSimulator({ profile: 'instant' });
    const t = await extract(sim, { src: [place(sim, fixture)] });
    expect(t).toMatchObject({ status: 'error', retry_count: 5 });
    expect(Object.keys(tree(sim, ['extracted'])).every((n) => /^part[1-3]\.txt$/.test(n))).toBe(true);
  });

  it('resumes a retry after the last good entry: the history never shows a conflict on the files already written', async () => {
    const sim = testSimulator({ profile: 'instant' });
    const t = await extract(sim, { src: [place(sim, 'hostile/truncated.tar.gz')] });
    expect(Object.keys(tree(sim, ['extracted']))).toEqual(['part1.txt', 'part2.txt', 'part3.txt']);
    expect(t.error_history).toHaveLength(5);
    for (const text of [...t.error_history, t.error]) {
      expect(text).toMatch(/^failed to extract archive: /);
      expect(text).not.toContain('Object existed');
    }
  });

  it('writes the plain entry of an encrypted zip, never the encrypted one, and fails', async () => {
    const sim = testSimulator({ profile: 'instant' });
    const t = await extract(sim, { src: [place(sim, 'hostile/encrypted.zip')], password: 'secret' });
    expect(t.status).toBe('error');
    expect(Object.keys(tree(sim, ['extracted']))).toEqual(['readme.txt']);
  });

  it('keeps the first of duplicate entries and fails on the second with "Object existed"', async () => {
    const sim = testSimulator({ profile: 'instant' });
    const t = await extract(sim, { src: [place(sim, 'hostile/duplicates.zip')] });
    expect(t.error).toBe(
      'failed to extract archive: handling file 1: same.txt: failed to upload file "/extracted/same.txt" in archive file: faield to prepare uplaod: Object existed',
    );
    expect(tree(sim, ['extracted'])).toEqual({ 'same.txt': 'first\n' });
  });

  it('unpacks 10 000 tiny entries', async () => {
    const sim = testSimulator({ profile: 'instant' });
    const t = await extract(sim, { src: [place(sim, 'hostile/many.zip')] });
    expect(t.status).toBe('completed');
    expect(sim.drive.children(ALICE, ['extracted'])).toHaveLength(10_000);
    expect(readFileSync(sim.drive.diskPath(ALICE, ['extracted', '1234.txt']), 'utf8')).toBe('4');
  }, 60_000);
});
