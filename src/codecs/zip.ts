/** @module codecs/zip — streaming ZIP writer (Deflate, ZIP64 when needed, UTF-8 names) built on yazl. */
import { createWriteStream, promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { Transform, pipeline } from 'node:stream';
import { ZipFile } from 'yazl';

/** One file to put in the archive. */
export interface ZipEntrySource {
  /** Entry name exactly as it must appear in the archive (may start with '/', keep it as is). */
  name: string;
  /** Uncompressed size in bytes (known in advance). */
  size: number;
  /** Entry modification time. */
  mtime: Date;
  /** Opens the content. */
  open(): NodeJS.ReadableStream | Readable;
}

/** Options of {@link writeZip}. */
export interface WriteZipOptions {
  /** Aborting stops reading and writing; the promise rejects with the signal's reason and the partial output file is removed. */
  signal?: AbortSignal;
  /** Called after each entry has been fully read, with running totals. */
  onProgress?: (p: { entries: number; bytes: number }) => void;
  /** Deflate level 0-9, default 6 (what `zip -6` uses). */
  level?: number;
}

/** What {@link writeZip} wrote: entry count, uncompressed bytes read, and the archive's size in bytes. */
export interface ZipResult {
  entries: number;
  bytes: number;
  size: number;
}

/** Longest name a ZIP header can carry: its length field is 16 bits. */
const MAX_NAME_BYTES = 0xffff;

/**
 * The only yazl internal we touch: each queued entry keeps its encoded name here, and every
 * header is built from it. yazl's public API refuses names starting with '/' (and rewrites '\\'),
 * but Cloudreve archives keep names verbatim, so we hand yazl a harmless placeholder and put the
 * real bytes in place before any header is written.
 */
interface YazlEntryRecord {
  utf8FileName: Buffer;
}

/** Name yazl validates in place of the real one; it never reaches the output. */
const PLACEHOLDER_NAME = 'entry';

/**
 * Writes a ZIP (Deflate; ZIP64 automatically when sizes/offsets need it) of `entries`, in order, to `outPath`.
 *
 * Entries are pulled from the iterable one at a time and each entry's stream is opened only when
 * yazl is about to compress it, so at most one source is open and memory stays flat whatever the
 * sizes. Level 0 stores entries uncompressed (method 0), as yazl does for `compressionLevel: 0`.
 * On any failure (a source or the output erroring, a size mismatch, an abort) the promise rejects
 * and the partial `outPath` is removed.
 */
export async function writeZip(
  entries: Iterable<ZipEntrySource> | AsyncIterable<ZipEntrySource>,
  outPath: string,
  options: WriteZipOptions = {},
): Promise<ZipResult> {
  const { signal, onProgress } = options;
  const level = options.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new RangeError(`zip: level must be an integer 0-9, got ${String(level)}`);
  }
  // Checked before the output is created so an early abort leaves nothing behind.
  signal?.throwIfAborted();

  const zip = new ZipFile();
  // Before the output exists, so an unsupported yazl cannot leave a file behind.
  const setName = nameOverride(zip);
  const out = createWriteStream(outPath);

  // The first failure wins; every later error (teardown echoes, premature-close notices) is
  // swallowed here, which is also what keeps any 'error' event from going unhandled.
  let failed = false;
  let failure: unknown;
  let rejectFailure: (err: unknown) => void = () => {};
  const failed$ = new Promise<never>((_, reject) => {
    rejectFailure = reject;
  });
  failed$.catch(() => {}); // observed through the races below; never an unhandled rejection
  const fail = (err: unknown): void => {
    if (failed) return;
    failed = true;
    failure = err;
    rejectFailure(err);
  };
  // Guard: run `p` but give up as soon as anything fails.
  const guard = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failed$]);

  // yazl reports size mismatches and lazy-open errors here.
  zip.on('error', fail);
  // pipeline() below reports these too; the direct listeners stay attached after it settles so
  // a late 'error' can never go unhandled.
  zip.outputStream.on('error', fail);
  out.on('error', fail);
  // Only a file we opened is ours to remove; a failed open may have hit someone else's file.
  let created = false;
  out.once('open', () => {
    created = true;
  });
  const outputDone = new Promise<void>((resolve) => {
    pipeline(zip.outputStream, out, (err) => (err ? fail(err) : resolve()));
  });

  // The stream yazl is currently reading, so teardown can stop it.
  let current: Transform | undefined;
  const onAbort = (): void => fail(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });

  /** Queues one entry and resolves with its byte count once yazl has read all of it. */
  const addEntry = (src: ZipEntrySource): Promise<number> =>
    new Promise<number>((resolve) => {
      const name = entryName(src);
      const size = src.size;
      if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`zip: bad size for ${src.name}: ${String(size)}`);
      if (!(src.mtime instanceof Date) || Number.isNaN(src.mtime.getTime())) throw new TypeError(`zip: bad mtime for ${src.name}`);
      const entryOptions = {
        mtime: src.mtime,
        // yazl asserts compress and compressionLevel agree, so level 0 means "store".
        compress: level > 0,
        compressionLevel: level,
        // Known up front: yazl picks ZIP64 from it and checks the stream delivers exactly this much.
        size,
      };
      setName(name, () =>
        zip.addReadStreamLazy(PLACEHOLDER_NAME, entryOptions, (cb) => {
          // yazl may call this after a failure elsewhere; opening would only leak a stream.
          if (failed) return;
          let source: NodeJS.ReadableStream | Readable;
          try {
            source = src.open();
          } catch (err) {
            fail(err);
            return;
          }
          source.on('error', fail);
          let read = 0;
          const counter = new Transform({
            transform(chunk: Buffer, _encoding, done) {
              read += chunk.length;
              done(null, chunk);
            },
          });
          counter.on('error', fail);
          current = counter;
          // 'end' on the counter means yazl has consumed every byte of this entry.
          counter.once('end', () => resolve(read));
          // pipeline, not pipe: it forwards source errors and turns a source that closes without
          // ending into an error instead of a silent hang.
          pipeline(source, counter, (err) => {
            if (err) fail(err);
          });
          cb(null, counter);
        }),
      );
    });

  try {
    let count = 0;
    let bytes = 0;
    const iterator = iterate(entries);
    let exhausted = false;
    try {
      for (;;) {
        // An abort (possibly from onProgress) stops us pulling further entries.
        if (failed) throw failure;
        const step = await guard(iterator.next());
        if (step.done) {
          exhausted = true;
          break;
        }
        // One entry at a time: the next is queued only after yazl has read the previous one,
        // so sources are never opened ahead of need.
        bytes += await guard(addEntry(step.value));
        count += 1;
        onProgress?.({ entries: count, bytes });
      }
    } finally {
      // Stopped early: let a generator run its cleanup. Not awaited, since an async generator
      // parked in a pending next() only runs return() after that settles.
      // The async wrapper turns a synchronous throw from return() into an ignored rejection.
      const stop = async (): Promise<unknown> => iterator.return?.();
      if (!exhausted) void stop().catch(() => {});
    }
    zip.end();
    await guard(outputDone);
    await closed(out);
    if (failed) throw failure;
    const { size } = await fsp.stat(outPath);
    return { entries: count, bytes, size };
  } catch (err) {
    fail(err);
    current?.destroy();
    // Cut yazl off from the file: nothing more is written once teardown starts.
    (zip.outputStream as Readable).destroy();
    out.destroy();
    // Wait for the fd to close: unlinking before a pending open completes would let it recreate the file.
    await closed(out);
    // A failed removal must not hide the error that caused it.
    if (created) await fsp.rm(outPath, { force: true }).catch(() => {});
    throw failure;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * A ZIP of `entries` as a readable stream, made while it is read (an archive download served
 * on the fly): yazl opens each entry's source only when it reaches it. Level 0 (the default
 * here) stores entries uncompressed. A source failing midway errors the stream.
 */
export function zipStream(entries: readonly ZipEntrySource[], options: { level?: number } = {}): Readable {
  const level = options.level ?? 0;
  const zip = new ZipFile();
  const setName = nameOverride(zip);
  const output = zip.outputStream as Readable;
  zip.on('error', (err: Error) => output.destroy(err));
  for (const src of entries) {
    setName(entryName(src), () =>
      zip.addReadStreamLazy(PLACEHOLDER_NAME, { mtime: src.mtime, compress: level > 0, compressionLevel: level, size: src.size }, (cb) => {
        try {
          const source = src.open() as Readable;
          source.on('error', (err: Error) => output.destroy(err));
          cb(null, source);
        } catch (err) {
          output.destroy(err as Error);
        }
      }),
    );
  }
  zip.end();
  return output;
}

/** Encodes and checks an entry name; the bytes go into the archive untouched. */
function entryName(src: ZipEntrySource): Buffer {
  if (typeof src.name !== 'string' || src.name === '') throw new TypeError('zip: entry name must be a non-empty string');
  const bytes = Buffer.from(src.name, 'utf8');
  if (bytes.length > MAX_NAME_BYTES) throw new RangeError(`zip: entry name longer than ${MAX_NAME_BYTES} bytes: ${src.name.slice(0, 64)}…`);
  return bytes;
}

/**
 * Lets the caller give yazl's next queued entry an exact name. yazl pushes each new entry onto
 * `zip.entries` before it can write that entry's local header, so swapping the name at push time
 * covers both the local header and the central directory.
 */
function nameOverride(zip: ZipFile): (name: Buffer, add: () => void) => void {
  const records: unknown = (zip as unknown as { entries?: unknown }).entries;
  if (!Array.isArray(records)) throw new Error('zip: unsupported yazl version (no entries array)');
  const list = records as YazlEntryRecord[];
  let pending: Buffer | undefined;
  Object.defineProperty(list, 'push', {
    value(this: YazlEntryRecord[], ...items: YazlEntryRecord[]): number {
      for (const item of items) {
        if (pending) item.utf8FileName = pending;
        pending = undefined;
      }
      return Array.prototype.push.apply(this, items);
    },
  });
  return (name, add) => {
    pending = name;
    try {
      add();
    } finally {
      pending = undefined;
    }
    // Fail loudly rather than write placeholder names if yazl's internals ever change.
    if (list[list.length - 1]?.utf8FileName !== name) throw new Error('zip: unsupported yazl version (cannot set entry names)');
  };
}

/** One iterator interface over sync and async iterables. */
function iterate<T>(source: Iterable<T> | AsyncIterable<T>): {
  next(): Promise<IteratorResult<T>>;
  return?(): unknown;
} {
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  const it = source[Symbol.iterator]();
  return {
    next: async () => it.next(),
    return: () => it.return?.(),
  };
}

/** Resolves once the file stream has released its descriptor (at once if it already has). */
function closed(stream: { closed: boolean; once(event: 'close', fn: () => void): unknown }): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('close', resolve);
  });
}
