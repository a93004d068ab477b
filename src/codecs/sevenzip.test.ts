/**
 * codecs/sevenzip: 7z reading through 7z-wasm, on the fixtures of fixtures/archives (built by
 * fixtures/make-archives.mjs) and on archives the tests build or damage in a temporary folder.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import type { SevenZipModuleFactory } from '7z-wasm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ArchiveEntry, ArchiveReader } from './archive.js';
import { openSevenZip, SevenZipError } from './sevenzip.js';

const ARCHIVES = fileURLToPath(new URL('../../fixtures/archives/', import.meta.url));
const fixture = (name: string) => path.join(ARCHIVES, name);

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'sevenzip-test-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Readers opened by a test, closed after it whatever happened. */
const open: ArchiveReader[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});
async function read(file: string, password?: string, signal?: AbortSignal): Promise<ArchiveReader> {
  const r = await openSevenZip(file, { ...(password !== undefined ? { password } : {}), ...(signal ? { signal } : {}) });
  open.push(r);
  return r;
}
async function list(r: ArchiveReader): Promise<ArchiveEntry[]> {
  const out: ArchiveEntry[] = [];
  for await (const e of r.entries()) out.push(e);
  return out;
}
const summary = (e: ArchiveEntry) => ({ name: e.name, kind: e.kind, size: e.size, mtime: e.mtime?.toISOString(), encrypted: e.encrypted });
const byName = (entries: ArchiveEntry[], name: string) => {
  const e = entries.find((x) => x.name === name);
  if (!e) throw new Error(`no entry ${name}`);
  return e;
};
/** The rejection of `p`, which must reject. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/**
 * Builds a 7z with 7z-wasm itself from `files` (name → content, or `{ link: target }` for a
 * symlink), for cases no fixture has.
 */
async function make7z(name: string, files: Record<string, string | { link: string }>, switches: string[] = []): Promise<string> {
  const stage = mkdtempSync(path.join(scratch, 'stage-'));
  mkdirSync(path.join(stage, 'src'));
  const time = new Date('2024-01-02T03:04:06Z');
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(stage, 'src', rel);
    mkdirSync(path.dirname(p), { recursive: true });
    if (typeof content === 'string') {
      writeFileSync(p, content);
      utimesSync(p, time, time);
    } else {
      symlinkSync(content.link, p);
    }
  }
  const factory = createRequire(import.meta.url)('7z-wasm') as SevenZipModuleFactory;
  const lines: string[] = [];
  const mod = await factory({ stdin: () => null as unknown as number, print: (l) => lines.push(l), printErr: (l) => lines.push(l) });
  mod.FS.mkdir('/w');
  mod.FS.mount(mod.NODEFS, { root: stage }, '/w');
  mod.FS.chdir('/w/src');
  const exitCode = process.exitCode;
  const rc = mod.callMain(['a', '-t7z', '-bsp0', '-snl', ...switches, '--', '/w/out.7z', ...Object.keys(files).map((f) => `./${f}`)]);
  process.exitCode = exitCode;
  if (Number(rc) !== 0) throw new Error(lines.join('\n'));
  const out = path.join(scratch, name);
  copyFileSync(path.join(stage, 'out.7z'), out);
  return out;
}

const sevenZipTempDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('cloudreve-7z-'));

describe('openSevenZip: sample.7z', () => {
  it('lists every entry in archive order with kind, size and mtime', async () => {
    const r = await read(fixture('sample.7z'));
    expect(r.format).toBe('7z');
    expect((await list(r)).map(summary)).toEqual([
      { name: 'docs', kind: 'directory', size: 0, mtime: '2024-01-02T03:04:06.000Z', encrypted: undefined },
      { name: 'docs/guide', kind: 'directory', size: 0, mtime: '2024-01-02T03:04:06.000Z', encrypted: undefined },
      { name: 'empty', kind: 'directory', size: 0, mtime: '2020-05-06T07:08:10.000Z', encrypted: undefined },
      { name: '中文', kind: 'directory', size: 0, mtime: '2024-01-02T03:04:06.000Z', encrypted: undefined },
      { name: 'docs/guide/intro.txt', kind: 'file', size: 24, mtime: '2023-06-15T12:30:00.000Z', encrypted: undefined },
      { name: 'docs/readme.txt', kind: 'file', size: 15, mtime: '2024-01-02T03:04:06.000Z', encrypted: undefined },
      { name: 'link', kind: 'symlink', size: 15, mtime: '2024-01-02T03:04:06.000Z', encrypted: undefined },
      { name: '中文/你好.txt', kind: 'file', size: 16, mtime: '2022-02-22T22:22:22.000Z', encrypted: undefined },
    ]);
  });

  it('reads each file, in any order, as often as asked', async () => {
    const entries = await list(await read(fixture('sample.7z')));
    expect(await text(await byName(entries, '中文/你好.txt').open())).toBe('你好，世界\n');
    expect(await text(await byName(entries, 'docs/readme.txt').open())).toBe('Read me first.\n');
    expect(await text(await byName(entries, 'docs/guide/intro.txt').open())).toBe('Nested two levels deep.\n');
    expect(await text(await byName(entries, 'docs/readme.txt').open())).toBe('Read me first.\n');
  });

  it('opens only regular files: a folder or a symlink rejects', async () => {
    const entries = await list(await read(fixture('sample.7z')));
    expect((await rejection(byName(entries, 'docs').open())).message).toMatch(/docs is a directory/);
    expect((await rejection(byName(entries, 'link').open())).message).toMatch(/link is a symlink/);
  });

  it('gives mtimes in UTC whatever the process time zone', async () => {
    const saved = process.env.TZ;
    try {
      const expected = ['2024-01-02T03:04:06.000Z', '2024-01-02T03:04:06.000Z', '2020-05-06T07:08:10.000Z', '2024-01-02T03:04:06.000Z',
        '2023-06-15T12:30:00.000Z', '2024-01-02T03:04:06.000Z', '2024-01-02T03:04:06.000Z', '2022-02-22T22:22:22.000Z'];
      // Summer and winter dates, northern and southern daylight saving, a half-hour zone.
      for (const tz of ['Asia/Shanghai', 'America/New_York', 'Australia/Sydney', 'America/St_Johns', 'Europe/London', 'UTC']) {
        process.env.TZ = tz;
        const entries = await list(await read(fixture('sample.7z')));
        expect(entries.map((e) => e.mtime?.toISOString()), tz).toEqual(expected);
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('works with the drive copy too, and two readers at once', async () => {
    const drive = fileURLToPath(new URL('../../fixtures/drive/alice@cloudreve.org/archives/sample.7z', import.meta.url));
    const [a, b] = await Promise.all([read(drive), read(fixture('sample.7z'))]);
    const [ea, eb] = await Promise.all([list(a), list(b)]);
    expect(await text(await byName(ea, 'docs/readme.txt').open())).toBe('Read me first.\n');
    expect(await text(await byName(eb, '中文/你好.txt').open())).toBe('你好，世界\n');
  });
});

describe('openSevenZip: passwords', () => {
  it('secret.7z without a password: names listed, files flagged encrypted, open() rejects at once', async () => {
    const entries = await list(await read(fixture('secret.7z')));
    expect(entries.map(summary)).toEqual([
      { name: 'secret', kind: 'directory', size: 0, mtime: '2024-01-02T03:04:06.000Z', encrypted: undefined },
      { name: 'secret/notes.txt', kind: 'file', size: 43, mtime: '2023-06-15T12:30:00.000Z', encrypted: true },
      { name: 'secret/plan.txt', kind: 'file', size: 31, mtime: '2024-01-02T03:04:06.000Z', encrypted: true },
    ]);
    const err = await rejection(byName(entries, 'secret/plan.txt').open());
    expect(err).toBeInstanceOf(SevenZipError);
    expect(err).toMatchObject({ reason: 'password' });
    expect(err.message).toMatch(/password/);
  });

  it('secret.7z with the right password reads the files', async () => {
    const entries = await list(await read(fixture('secret.7z'), 'cloudreve'));
    expect(entries.some((e) => e.encrypted)).toBe(false);
    expect(await text(await byName(entries, 'secret/plan.txt').open())).toBe('The plan is in the other file.\n');
    expect(await text(await byName(entries, 'secret/notes.txt').open())).toBe('cloudreve is the password of this archive.\n');
  });

  it('secret.7z with a wrong password: open() rejects with a password error, and the reader goes on', async () => {
    const entries = await list(await read(fixture('secret.7z'), 'wrong'));
    const err = await rejection(byName(entries, 'secret/plan.txt').open());
    expect(err).toMatchObject({ name: 'SevenZipError', reason: 'password' });
    expect(err.message).toMatch(/wrong or missing password: cannot extract secret\/plan\.txt .*Wrong password/);
    const again = await rejection(byName(entries, 'secret/notes.txt').open());
    expect(again).toMatchObject({ reason: 'password' });
  });

  it('secret-names.7z (encrypted headers): opening without or with a wrong password rejects, never prompts', async () => {
    for (const password of [undefined, '', 'wrong']) {
      const err = await rejection(openSevenZip(fixture('secret-names.7z'), password === undefined ? {} : { password }));
      expect(err).toBeInstanceOf(SevenZipError);
      expect(err).toMatchObject({ reason: 'password' });
      expect(err.message).toMatch(/^7z: wrong or missing password: cannot list secret-names\.7z/);
    }
    const entries = await list(await read(fixture('secret-names.7z'), 'cloudreve'));
    expect(entries.map((e) => e.name)).toEqual(['secret', 'secret/notes.txt', 'secret/plan.txt']);
    expect(await text(await byName(entries, 'secret/notes.txt').open())).toBe('cloudreve is the password of this archive.\n');
  });

  it('leaves process.exitCode alone when 7-Zip fails', async () => {
    const before = process.exitCode;
    await rejection(openSevenZip(fixture('secret-names.7z'), {}));
    const entries = await list(await read(fixture('secret.7z'), 'wrong'));
    await rejection(byName(entries, 'secret/plan.txt').open());
    expect(process.exitCode).toBe(before);
  });
});

describe('openSevenZip: damaged and foreign input', () => {
  it('rejects a missing file with ENOENT', async () => {
    const err = await rejection(openSevenZip(path.join(scratch, 'missing.7z'), {}));
    expect(err).toMatchObject({ code: 'ENOENT' });
  });

  it('rejects a text file and a zip with reason "format"', async () => {
    const fake = path.join(scratch, 'fake.7z');
    copyFileSync(fixture('hostile/fake.zip'), fake);
    expect(await rejection(openSevenZip(fake, {}))).toMatchObject({ reason: 'format' });
    const zip = await rejection(openSevenZip(fixture('utf8.zip'), {}));
    expect(zip).toMatchObject({ reason: 'format' });
    expect(zip.message).toMatch(/not a 7z or rar archive \(7-Zip reads it as zip\)/);
  });

  it('rejects a truncated 7z (its header is at the end)', async () => {
    const cut = path.join(scratch, 'truncated.7z');
    copyFileSync(fixture('sample.7z'), cut);
    truncateSync(cut, Math.floor(readFileSync(cut).length / 2));
    const err = await rejection(openSevenZip(cut, {}));
    expect(err).toBeInstanceOf(SevenZipError);
    expect(err.message).toMatch(/^7z: cannot list truncated\.7z/);
  });

  it('rejects open() of an entry whose packed data was damaged', async () => {
    const bad = path.join(scratch, 'bad.7z');
    const bytes = readFileSync(fixture('sample.7z'));
    // The packed streams start right after the 32-byte signature header; damage the first ones.
    for (let i = 32; i < 48; i++) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
    writeFileSync(bad, bytes);
    const entries = await list(await read(bad));
    const err = await rejection(byName(entries, 'docs/guide/intro.txt').open());
    expect(err).toMatchObject({ name: 'SevenZipError', reason: 'data' });
    expect(err.message).toMatch(/cannot extract docs\/guide\/intro\.txt/);
  });

  it('checks the signal before opening and between entries', async () => {
    await expect(openSevenZip(fixture('sample.7z'), { signal: AbortSignal.abort(new Error('stop')) })).rejects.toThrow('stop');
    const ac = new AbortController();
    const r = await read(fixture('sample.7z'), undefined, ac.signal);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const e of r.entries()) {
          seen.push(e.name);
          if (seen.length === 2) ac.abort(new Error('stopped'));
        }
      })(),
    ).rejects.toThrow('stopped');
    expect(seen).toEqual(['docs', 'docs/guide']);
  });
});

describe('openSevenZip: names and housekeeping', () => {
  const oddNames = {
    'a*b?.txt': 'star',
    'a1b2.txt': 'plain',
    '-rf.txt': 'dash',
    '@list.txt': 'at',
    '[x].txt': 'brackets',
    'sp ace.txt': 'space',
    'empty.txt': '',
  };

  it.each([
    ['whole', {}],
    // A symlink keeps the reader from extracting the whole archive: one 7-Zip run per entry.
    ['by entry', { 'zlink': { link: 'a1b2.txt' } }],
  ])('takes names literally (extracted %s): wildcards, a leading dash or @ never act as switches, patterns or list files', async (mode, extra) => {
    const file = await make7z(`names-${mode.replace(' ', '-')}.7z`, { ...oddNames, ...extra });
    const before = sevenZipTempDirs();
    const entries = await list(await read(file));
    const dir = path.join(tmpdir(), sevenZipTempDirs().find((d) => !before.includes(d)) ?? 'none');
    await text(await byName(entries, 'a1b2.txt').open());
    expect(existsSync(path.join(dir, 'all'))).toBe(mode === 'whole');
    expect(entries.filter((e) => e.kind === 'file').map((e) => e.name).sort()).toEqual(['-rf.txt', '@list.txt', '[x].txt', 'a*b?.txt', 'a1b2.txt', 'empty.txt', 'sp ace.txt']);
    for (const [name, content] of Object.entries(oddNames)) {
      expect(await text(await byName(entries, name).open()), name).toBe(content);
    }
    expect(await text(await byName(entries, 'a*b?.txt').open()), 'again').toBe('star');
  });

  it('after a whole-archive run fails, reports the damaged entry alone and reads the others', async () => {
    // Stored (-mx=0), not solid: each file's bytes sit verbatim in the archive.
    const file = await make7z('damaged.7z', { 'one.txt': 'first file', 'two.txt': 'second file', 'three.txt': 'third file' }, ['-mx=0', '-ms=off']);
    const bytes = readFileSync(file);
    const at = bytes.indexOf('second file');
    expect(at).toBeGreaterThan(0);
    bytes[at] = 0x53; // "Second file": only the CRC can tell
    writeFileSync(file, bytes);
    const entries = await list(await read(file));
    expect(await text(await byName(entries, 'one.txt').open())).toBe('first file');
    const err = await rejection(byName(entries, 'two.txt').open());
    expect(err).toMatchObject({ name: 'SevenZipError', reason: 'data' });
    expect(err.message).toMatch(/cannot extract two\.txt .*CRC Failed/);
    expect(await text(await byName(entries, 'three.txt').open())).toBe('third file');
  });

  it('opens an archive whose own name has wildcard and switch characters', async () => {
    const odd = path.join(scratch, '-odd @name*?.7z');
    copyFileSync(fixture('sample.7z'), odd);
    const entries = await list(await read(odd));
    expect(await text(await byName(entries, 'docs/readme.txt').open())).toBe('Read me first.\n');
  });

  it('removes its temporary folder on close, and each entry’s file once read', async () => {
    const before = sevenZipTempDirs();
    const r = await openSevenZip(fixture('sample.7z'), {});
    const mine = sevenZipTempDirs().filter((d) => !before.includes(d));
    expect(mine).toHaveLength(1);
    const dir = path.join(tmpdir(), mine[0] ?? '');
    const entries = await list(r);
    const stream = await byName(entries, 'docs/readme.txt').open();
    expect(readdirSync(dir)).toHaveLength(1);
    await text(stream);
    await new Promise((resolve) => setImmediate(resolve));
    await expect.poll(() => readdirSync(dir)).toEqual([]);
    await r.close();
    expect(existsSync(dir)).toBe(false);
    await r.close(); // twice is fine
    await expect(byName(entries, 'docs/readme.txt').open()).rejects.toThrow(/closed/);
  });
});

const hasP7zip = (() => {
  try {
    execFileSync('7z', ['i'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.runIf(hasP7zip)('cross-check with the system 7z (optional)', () => {
  it('lists the same names and sizes as `7z l -slt`', async () => {
    const slt = execFileSync('7z', ['l', '-slt', '-pcloudreve', fixture('secret.7z')], { encoding: 'utf8' });
    const names = [...slt.matchAll(/^Path = (.*)$/gm)].map((m) => m[1]).slice(1); // the first Path is the archive
    const entries = await list(await read(fixture('secret.7z'), 'cloudreve'));
    expect(entries.map((e) => e.name)).toEqual(names);
  });
});
