/**
 * @module codecs/sevenzip
 * 7z (and, as 7-Zip reads it, rar) through `7z-wasm`: the real 7-Zip 24.09 command line,
 * compiled to WebAssembly with an Emscripten virtual file system.
 *
 * How it works: every 7-Zip run gets a fresh wasm instance. The archive's folder is mounted (NODEFS) at
 * `/in` and reached through a symlink with a plain name, so no character of the real name can
 * reach 7-Zip's argument parser; a private temporary folder is mounted at `/out`. The entries
 * come from `7z l -slt`; a file entry is extracted to disk by 7-Zip (the whole archive at the
 * first open() when that is safe and small, else `7z x -spd -o/out/<n> -- /archive <name>`:
 * exact name, wildcards off, into an empty folder) and `open()` streams the file 7-Zip wrote,
 * removed once the stream closes. 7-Zip verifies each file's CRC as it writes it, so a corrupt
 * or truncated entry makes `open()` reject; it never resolves with a stream that ends early.
 *
 * Passwords: `-p<password>` is always passed (`-p` alone when none), and the wasm's stdin is
 * always at EOF, so 7-Zip can never sit waiting on a password prompt.
 *   - Encrypted content, names visible: listing works; without a password the encrypted
 *     entries are flagged `encrypted`; with a wrong one `open()` rejects with a
 *     {@link SevenZipError} of reason `password`.
 *   - Encrypted names (`-mhe=on`): without the right password `openSevenZip` itself rejects,
 *     reason `password`.
 *
 * Limits of the wasm approach (documented, not hidden):
 *   - Synchronous: every 7-Zip run blocks the event loop for its whole duration (callMain is a
 *     plain function call), and an AbortSignal is only checked between runs.
 *   - 7-Zip has no "extract entry #i". Archives of plain files and folders up to 64 MiB are
 *     extracted whole by the first open() (one run, one pass); any other archive takes one run
 *     per opened entry, and a solid block is then decoded from its start for every file in it:
 *     O(files × block size) CPU, some 40 ms per file for a 600 KB solid block. Fine for
 *     fixtures and small uploads, slow for big solid archives with many files.
 *   - Memory: the archive is NOT loaded into memory (NODEFS reads it in place), and output goes
 *     to disk, but during a run the wasm heap holds 7-Zip's dictionaries (up to the archive's
 *     dictionary size, e.g. 64 MiB for `-mx=9` LZMA2); each run has a fresh instance, so the
 *     heap is given back between runs. It is capped at 2 GiB (wasm32): an archive needing more
 *     fails with a SevenZipError of reason `engine`.
 *   - Disk: an opened entry is fully written to the temporary folder before its stream starts,
 *     so one entry's whole size (up to 64 MiB for the whole archive in bulk mode) is needed on
 *     disk, whatever the caller then reads. 7z sizes are declared in the header and enforced
 *     by the decoder: check `entry.size` first.
 *   - Names: 7-Zip resolves a name to every entry of that exact path; with duplicate names the
 *     last one wins for all of them. Names containing a newline cannot be listed reliably.
 *   - Times: the instance's C library is switched to UTC (a patch of four Emscripten imports of
 *     the pinned 7z-wasm 1.2.0), so the printed times are UTC and exact to the millisecond.
 *   - Start-up: each reader reads and compiles the 1.6 MB wasm once (some 20-50 ms); every run
 *     then instantiates it afresh (a few ms, more when the GC has work).
 *   - Symlinks and hard links are listed with their kind; `open()` only reads regular files.
 */
import { lstat, mkdir, mkdtemp, open as openFile, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { SevenZipModule, SevenZipModuleFactory, SevenZipModuleOptions } from '7z-wasm';
import type { ArchiveEntry, ArchiveFormat, ArchiveReader, OpenArchiveOptions } from './archive.js';

const require = createRequire(import.meta.url);

/** Why a 7z operation failed. */
export type SevenZipFailure = 'password' | 'format' | 'data' | 'unsupported' | 'engine';

/** A failure of the 7-Zip engine, with 7-Zip's own words in the message. */
export class SevenZipError extends Error {
  override readonly name = 'SevenZipError';
  constructor(
    readonly reason: SevenZipFailure,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// The engine: a fresh wasm instance for every 7-Zip run, living in UTC.
// ---------------------------------------------------------------------------------------------

/** The part of the WebAssembly global we use (the project's TypeScript libs do not declare it). */
interface WasmInstance {
  exports: Record<string, unknown>;
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: unknown): Promise<WasmInstance>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type WasmImports = { env: Record<string, unknown> };

/**
 * Makes the instance's C library see the world in UTC: `localtime` is `gmtime`, `mktime` is
 * `timegm`, `tzset` says UTC. 7-Zip prints times through FileTimeToLocalFileTime, which applies
 * *today's* UTC offset to every date (as Windows does), so local output could not be undone
 * exactly for dates on the other side of a daylight-saving change. In UTC there is nothing to undo.
 * These are the Emscripten imports of 7z-wasm 1.2.0 (pinned): `_localtime_js`, `_gmtime_js`,
 * `_mktime_js`, `_tzset_js`; if a future build renames them the patch is skipped and times shift.
 */
function runInUtc(imports: WasmImports, memory: () => { buffer: ArrayBuffer }): void {
  const env = imports.env;
  const gmtime = env._gmtime_js;
  if (typeof gmtime !== 'function' || !('_localtime_js' in env) || !('_mktime_js' in env)) return;
  const i32 = () => new Int32Array(memory().buffer);
  // struct tm: sec, min, hour, mday, mon, year (-1900), wday, yday, isdst, gmtoff (int32 each).
  env._localtime_js = (time: bigint, tm: number) => {
    (gmtime as (t: bigint, p: number) => void)(time, tm);
    const heap = i32();
    heap[(tm + 32) >> 2] = 0;
    heap[(tm + 36) >> 2] = 0;
  };
  env._mktime_js = (tm: number) => {
    const heap = i32();
    const at = (off: number) => heap[(tm + off) >> 2] ?? 0;
    const ms = Date.UTC(at(20) + 1900, at(16), at(12), at(8), at(4), at(0));
    if (Number.isNaN(ms)) return BigInt(-1);
    const d = new Date(ms);
    const fields = [d.getUTCSeconds(), d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth(), d.getUTCFullYear() - 1900, d.getUTCDay()];
    fields.forEach((v, i) => (heap[(tm + i * 4) >> 2] = v));
    heap[(tm + 28) >> 2] = Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000);
    heap[(tm + 32) >> 2] = 0;
    return BigInt(Math.floor(ms / 1000));
  };
  env._tzset_js = (timezone: number, daylight: number, stdName: number, dstName: number) => {
    const heap = i32();
    heap[timezone >> 2] = 0;
    heap[daylight >> 2] = 0;
    const bytes = new Uint8Array(memory().buffer);
    for (const at of [stdName, dstName]) bytes.set([0x55, 0x54, 0x43, 0], at); // "UTC\0"
  };
}

interface RunResult {
  code: number;
  out: string[];
  err: string[];
}

/** Where the archive and the output folder appear inside the wasm file system. */
const IN = '/in';
const OUT = '/out';

/**
 * Runs 7-Zip command lines against one archive. Each run gets a fresh instance of the module
 * compiled once per reader: 7-Zip's `main` is not meant to run twice in one process (an instance
 * reused a few hundred times ends in "memory access out of bounds"), and a dropped instance
 * hands its whole heap back to the garbage collector between runs.
 */
class Engine {
  private compiled: Promise<object> | undefined;

  constructor(
    private readonly archiveDir: string,
    private readonly archiveBase: string,
    /** The alias 7-Zip is given for the archive. */
    readonly archive: string,
    private readonly outDir: string,
  ) {}

  private compile(): Promise<object> {
    this.compiled ??= readFile(require.resolve('7z-wasm/7zz.wasm')).then((bytes) => wasm.compile(bytes));
    return this.compiled;
  }

  private async instance(out: string[], err: string[]): Promise<SevenZipModule> {
    const factory = require('7z-wasm') as SevenZipModuleFactory;
    const compiled = await this.compile();
    let instantiateFailed: (e: unknown) => void = () => undefined;
    const failure = new Promise<never>((_, reject) => {
      instantiateFailed = reject;
    });
    failure.catch(() => undefined); // observed through the race below
    const options: Partial<SevenZipModuleOptions> & { instantiateWasm: unknown } = {
      // EOF on stdin: a password prompt (or any other) reads nothing and gives up at once.
      stdin: () => null as unknown as number,
      print: (line) => out.push(line),
      printErr: (line) => err.push(line),
      instantiateWasm: (imports: WasmImports, done: (instance: WasmInstance, module: object) => void) => {
        let instance: WasmInstance | undefined;
        runInUtc(imports, () => instance?.exports.memory as { buffer: ArrayBuffer });
        wasm.instantiate(compiled, imports).then((result) => {
          instance = result;
          done(result, compiled);
        }, instantiateFailed);
        return {};
      },
    };
    const mod = await Promise.race([factory(options), failure]);
    // Unix modes from the archive (0000 included) must not make our own temp files unreadable.
    mod.FS.chmod = () => undefined;
    mod.FS.fchmod = () => undefined;
    mod.FS.mkdir(IN);
    mod.FS.mount(mod.NODEFS, { root: this.archiveDir }, IN);
    mod.FS.mkdir(OUT);
    mod.FS.mount(mod.NODEFS, { root: this.outDir }, OUT);
    mod.FS.symlink(`${IN}/${this.archiveBase}`, this.archive);
    return mod;
  }

  /** Runs one 7-Zip command line to completion (synchronously, once the instance exists). */
  async run(args: string[]): Promise<RunResult> {
    const out: string[] = [];
    const err: string[] = [];
    const mod = await this.instance(out, err);
    // The Emscripten runtime reports 7-Zip's exit status through process.exitCode: keep ours.
    const exitCode = process.exitCode;
    let code: number;
    try {
      code = Number(mod.callMain(args));
    } catch (e) {
      throw new SevenZipError('engine', `7z: the 7-Zip engine stopped: ${(e as Error).message ?? String(e)}`);
    } finally {
      process.exitCode = exitCode;
      for (const mount of [IN, OUT]) {
        try {
          mod.FS.unmount(mount);
        } catch {
          // a crashed instance may have lost it; it is dropped anyway
        }
      }
    }
    return { code, out, err };
  }
}

// ---------------------------------------------------------------------------------------------
// `7z l -slt` parsing.
// ---------------------------------------------------------------------------------------------

type Props = Map<string, string>;

interface Listing {
  type: string | undefined;
  items: Props[];
}

/** Splits `l -slt` output into the archive's properties and one property map per item. */
function parseListing(lines: string[]): Listing {
  let type: string | undefined;
  const items: Props[] = [];
  let section: 'head' | 'archive' | 'items' = 'head';
  let current: Props | undefined;
  for (const line of lines) {
    if (section === 'head') {
      if (line === '--') section = 'archive';
      continue;
    }
    if (line === '----------') {
      section = 'items';
      current = undefined;
      continue;
    }
    if (line === '') {
      current = undefined;
      continue;
    }
    const eq = line.indexOf(' = ');
    const key = eq === -1 ? (line.endsWith(' =') ? line.slice(0, -2) : undefined) : line.slice(0, eq);
    if (key === undefined) continue; // "Errors: 1", warnings…
    const value = eq === -1 ? '' : line.slice(eq + 3);
    if (section === 'archive') {
      if (key === 'Type' && type === undefined) type = value;
      continue;
    }
    if (key === 'Path' || !current) {
      current = new Map();
      items.push(current);
    }
    current.set(key, value);
  }
  return { type, items };
}

/** `2024-01-02 03:04:06.1234567`: UTC, since the instance runs in UTC (see {@link runInUtc}). */
function parseTime(value: string | undefined): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/.exec(value ?? '');
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const UNIX_MODE = /^[-dlcbps?][-rwxsStT]{9}$/;

function kindOf(p: Props): ArchiveEntry['kind'] {
  if (p.get('Anti') === '+') return 'other';
  if (p.get('Hard Link')) return 'hardlink';
  if (p.get('Symbolic Link')) return 'symlink';
  const attrs = (p.get('Attributes') ?? '').trim().split(/\s+/);
  const unix = attrs.find((t) => UNIX_MODE.test(t));
  if (unix) {
    switch (unix[0]) {
      case 'd':
        return 'directory';
      case 'l':
        return 'symlink';
      case '-':
        return 'file';
      default:
        return 'other';
    }
  }
  if (p.get('Folder') === '+') return 'directory';
  const windows = attrs[0] ?? '';
  if (/^[A-Z.]+$/.test(windows) && windows.includes('D')) return 'directory';
  return 'file';
}

/** 7-Zip's error lines, minus its decoration and counters. */
function errorText(r: RunResult): string {
  const lines = [...r.err, ...r.out]
    .map((l) => l.trim())
    .filter((l) => /^(ERROR|Open ERROR|Can ?not|Data Error|CRC Failed|Unexpected end|Headers Error|Unsupported|Is not archive|Wrong password)/.test(l))
    .map((l) => l.replace(/^ERROR: /, ''));
  return [...new Set(lines)].join('; ') || `7-Zip exit code ${r.code}`;
}

function failureOf(text: string): SevenZipFailure {
  if (/wrong password|encrypted archive/i.test(text)) return 'password';
  if (/can ?not open the file as|is not archive/i.test(text)) return 'format';
  if (/unsupported/i.test(text)) return 'unsupported';
  return 'data';
}

/** The error of a failed run, worded for the caller. */
function runError(what: string, r: RunResult): SevenZipError {
  const text = errorText(r);
  const reason = failureOf(text);
  const lead = reason === 'password' ? `wrong or missing password: cannot ${what}` : `cannot ${what}`;
  return new SevenZipError(reason, `7z: ${lead} (7-Zip: ${text})`);
}

// ---------------------------------------------------------------------------------------------
// The reader.
// ---------------------------------------------------------------------------------------------

const FORMATS: Record<string, ArchiveFormat> = { '7z': '7z', rar: 'rar', rar5: 'rar' };

/** Switches of every run: no progress lines, UTF-8 console, the password, never a prompt. */
function common(password: string | undefined): string[] {
  return ['-bsp0', '-bso1', '-bse2', '-sccUTF-8', `-p${password ?? ''}`];
}

/**
 * Largest total of declared file sizes for which the first `open()` extracts the whole archive
 * in one run (see {@link openSevenZip}); above it every entry is extracted on its own.
 */
const BULK_LIMIT = 64 * 1024 * 1024;

/** A name 7-Zip writes to exactly that relative path: no `..`, `.`, empty or absolute part, no `\`. */
const cleanName = (name: string) => name !== '' && !name.includes('\\') && name.split('/').every((s) => s !== '' && s !== '.' && s !== '..');

/**
 * Opens a 7z archive (rar archives too, as 7-Zip reads them). Rejects with a
 * {@link SevenZipError}: `format` when the file is not a 7z/rar archive or is too damaged to
 * list, `password` when its names are encrypted and the password is missing or wrong.
 *
 * Opening entries: when the archive holds only folders and regular files with clean, distinct
 * names, and their declared sizes add up to at most 64 MiB, the first `open()` extracts
 * everything in one 7-Zip run (a solid block is decoded once) and each entry then streams its
 * file, deleted once read. Otherwise, or when that run fails (a wrong password, a damaged entry:
 * the single-entry run then reports it for the entry concerned), each `open()` extracts its
 * own entry. The reader holds a temporary folder: always `close()` it.
 */
export async function openSevenZip(file: string, options: OpenArchiveOptions): Promise<ArchiveReader> {
  const { password, signal } = options;
  signal?.throwIfAborted();
  const absolute = path.resolve(file);
  const ext = /^\.[A-Za-z0-9]{1,8}$/.test(path.extname(absolute)) ? path.extname(absolute).toLowerCase() : '';
  const outDir = await mkdtemp(path.join(tmpdir(), 'cloudreve-7z-'));
  const engine = new Engine(path.dirname(absolute), path.basename(absolute), `/archive${ext}`, outDir);
  const fail = async (err: unknown): Promise<never> => {
    await rm(outDir, { recursive: true, force: true });
    throw err;
  };

  let listing: Listing;
  try {
    await lstat(absolute); // a missing file is an ordinary ENOENT, not a 7-Zip riddle
    const r = await engine.run(['l', '-slt', ...common(password), '--', engine.archive]);
    if (r.code >= 2) throw runError(`list ${path.basename(absolute)}`, r);
    listing = parseListing(r.out);
  } catch (err) {
    return fail(err);
  }
  const format = FORMATS[(listing.type ?? '').toLowerCase()];
  if (!format) {
    return fail(new SevenZipError('format', `7z: ${path.basename(absolute)} is not a 7z or rar archive (7-Zip reads it as ${listing.type ?? 'nothing'})`));
  }

  const entries = listing.items.map((item) => {
    const name = item.get('Path') ?? '';
    const kind = kindOf(item);
    const size = Number(item.get('Size') || 0);
    const mtime = parseTime(item.get('Modified'));
    // With a password we cannot tell right from wrong without decoding: open() says so then.
    const encrypted = item.get('Encrypted') === '+' && kind === 'file' && !password;
    return { name, kind, size: Number.isSafeInteger(size) && size >= 0 ? size : 0, mtime, encrypted };
  });
  const files = entries.filter((e) => e.kind === 'file');
  const names = new Set(entries.map((e) => e.name));
  const bulkAllowed =
    files.length > 1 &&
    names.size === entries.length &&
    entries.every((e) => (e.kind === 'file' || e.kind === 'directory') && cleanName(e.name) && !e.encrypted) &&
    files.reduce((sum, e) => sum + e.size, 0) <= BULK_LIMIT;

  let closed = false;
  let serial = 0;
  /** Whole-archive extraction: not tried yet, done into `bulkDir`, or not used. */
  let bulk: 'untried' | 'done' | 'off' = bulkAllowed ? 'untried' : 'off';
  const bulkDir = path.join(outDir, 'all');
  /** The folder of the entry extracted on its own last, removed when the next one is opened. */
  let previous: string | undefined;

  const extractAll = async () => {
    bulk = 'off';
    const r = await engine.run(['x', ...common(password), '-y', `-o${OUT}/all`, '--', engine.archive]);
    if (r.code >= 2) await rm(bulkDir, { recursive: true, force: true });
    else bulk = 'done';
  };

  /** Streams `file` and deletes `remove` once the stream closes. */
  const streamOf = async (file: string, remove: string): Promise<Readable> => {
    // Opened now, so the file can go (next open(), close()) while the caller still reads it.
    const stream = (await openFile(file, 'r')).createReadStream();
    stream.once('close', () => {
      if (previous === remove) previous = undefined;
      void rm(remove, { recursive: true, force: true });
    });
    return stream;
  };

  const extractOne = async (name: string): Promise<Readable> => {
    if (previous) await rm(previous, { recursive: true, force: true });
    const n = String(++serial);
    const dir = path.join(outDir, n);
    await mkdir(dir);
    previous = dir;
    // -spd: the name is a literal path, never a wildcard; -y: never ask. Only regular files are
    // ever asked for, and 7-Zip rewrites unsafe paths (`../x` → `x`) inside the -o folder.
    const r = await engine.run(['x', ...common(password), '-y', '-spd', `-o${OUT}/${n}`, '--', engine.archive, name]);
    if (r.code >= 2) throw runError(`extract ${name}`, r);
    const found = await extractedFile(dir, name);
    if (!found) throw new SevenZipError('data', `7z: ${name} was not extracted (7-Zip found no file of that name)`);
    return streamOf(found, dir);
  };

  const openEntry = async (e: (typeof entries)[number]): Promise<Readable> => {
    if (closed) throw new Error('7z: the archive reader is closed');
    if (e.kind !== 'file') throw new Error(`7z: ${e.name} is a ${e.kind}, not a file: only files can be opened`);
    if (e.encrypted) throw new SevenZipError('password', `7z: wrong or missing password: ${e.name} is encrypted and no password was given`);
    signal?.throwIfAborted();
    if (bulk === 'untried') await extractAll();
    if (bulk === 'done') {
      const file = path.join(bulkDir, ...e.name.split('/'));
      const st = await lstat(file).catch(() => undefined);
      if (st?.isFile() && st.size === e.size) return streamOf(file, file);
    }
    return extractOne(e.name); // also when the bulk copy was already read (and deleted)
  };

  const archiveEntries: ArchiveEntry[] = entries.map((e) => ({
    name: e.name,
    kind: e.kind,
    size: e.size,
    ...(e.mtime ? { mtime: e.mtime } : {}),
    ...(e.encrypted ? { encrypted: true } : {}),
    open: () => openEntry(e),
  }));

  return {
    format,
    async *entries() {
      for (const entry of archiveEntries) {
        if (closed) return;
        signal?.throwIfAborted();
        yield entry;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

/**
 * The regular file 7-Zip wrote for `name` under `dir`: the one at the entry's own path when
 * 7-Zip kept it, else the only regular file there (7-Zip rewrites unsafe paths such as `../x`).
 */
async function extractedFile(dir: string, name: string): Promise<string | undefined> {
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  await walk(dir);
  const expected = path.join(dir, ...name.split('/').filter((s) => s !== '' && s !== '.' && s !== '..'));
  if (files.includes(expected)) return expected;
  return files.length === 1 ? files[0] : undefined;
}
