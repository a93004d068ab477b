/**
 * @module codecs/untar
 * Streaming reader of tar archives, plain or compressed (gzip, bzip2, xz, zstd, brotli, lz4; see
 * ./decompress.ts), on the `tar` package's Parser in strict mode: a bad header checksum, an entry
 * cut short or an input that is not tar at all is an error, as it is for Go's archive/tar on the
 * server (the lenient default would skip damaged headers silently).
 *
 * One pass, in archive order, nothing read ahead: the file is read only as fast as the consumer
 * takes entries and their content, so memory stays bounded whatever the entry sizes (about one
 * read chunk plus one decompressor piece). An entry the consumer moves past without opening is
 * skipped (its content read and dropped).
 *
 * Names are the header's (pax and GNU long names applied), decoded as UTF-8; links are reported,
 * never followed. Limitation: tar-level damage inside file data cannot be noticed (tar has no
 * content checksum); only the compression layer's checks (gzip CRC…) catch it, at the end of
 * the compressed stream.
 */
import { promises as fsp } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { Parser } from 'tar';
import type { ReadEntry } from 'tar';
import type { ArchiveEntry, ArchiveReader, OpenArchiveOptions } from './archive.js';
import { createDecompressor } from './decompress.js';
import type { Compression } from './decompress.js';

/** The tar family of archive formats. */
export type TarFormat = 'tar' | 'tar.gz' | 'tar.bz2' | 'tar.xz' | 'tar.zst' | 'tar.br' | 'tar.lz4';

const COMPRESSION: Readonly<Record<TarFormat, Compression | undefined>> = {
  tar: undefined,
  'tar.gz': 'gz',
  'tar.bz2': 'bz2',
  'tar.xz': 'xz',
  'tar.zst': 'zst',
  'tar.br': 'br',
  'tar.lz4': 'lz4',
};

const BLOCK = 512;
/** Read size from the file. */
const CHUNK = 64 * 1024;

/** The entry kind of a tar header type, as the tar package names them. */
function kindOf(type: string): ArchiveEntry['kind'] {
  switch (type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file';
    case 'Directory':
    case 'GNUDumpDir':
      return 'directory';
    case 'SymbolicLink':
      return 'symlink';
    case 'Link':
      return 'hardlink';
    default:
      // Devices, FIFOs, and the types the parser skips (sparse, volume headers, unknown).
      return 'other';
  }
}

/**
 * Opens a tar archive for one sequential pass. Rejects when the file cannot be opened or the
 * format is not of the tar family; everything else (not tar, damage, truncation) surfaces as
 * an error of the iteration or of the open entry's stream.
 */
export async function openTar(file: string, format: TarFormat, options: OpenArchiveOptions): Promise<ArchiveReader> {
  if (!Object.hasOwn(COMPRESSION, format)) throw new Error(`tar: unsupported format ${String(format)}`);
  options.signal?.throwIfAborted();
  const handle = await fsp.open(file, 'r');
  const compression = COMPRESSION[format];
  const raw = handle.createReadStream({ highWaterMark: CHUNK });
  return new TarReader(format, raw, compression, options.signal);
}

/** One item of the iteration: an entry, and the parser's entry behind it when it has content to skip. */
interface Item {
  entry: ArchiveEntry;
  source: ReadEntry | undefined;
  stream: EntryStream | undefined;
}

class TarReader implements ArchiveReader {
  private readonly parser: Parser;
  private readonly input: Readable;
  private readonly raw: Readable;
  private readonly queue: Item[] = [];
  private current: Item | undefined;
  /**
   * The archive's first error. Entries parsed before it are still handed out (and those whose
   * content was complete can still be read), as Go's tar reader serves every header before the
   * damaged one; then the iteration throws it.
   */
  private failure: Error | undefined;
  /** An abort or close: the iteration stops at once. */
  private stopped: Error | undefined;
  private ended = false;
  private closed = false;
  private iterated = false;
  private sawEof = false;
  private bytesIn = 0;
  /** Wakes the consumer waiting for an item. */
  private wakeConsumer: (() => void) | undefined;
  /** Wakes the pump waiting for the parser to drain. */
  private wakePump: (() => void) | undefined;
  private readonly onAbort = (): void => this.stop(toError(this.signal?.reason ?? new Error('tar: aborted')));

  constructor(
    readonly format: TarFormat,
    raw: Readable,
    compression: Compression | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.raw = raw;
    if (compression) {
      // pipeline carries read errors into the decompressor, and our destroying it back to the file.
      this.input = pipeline(raw, createDecompressor(compression), (err) => {
        if (err) this.fail(err);
      });
    } else {
      this.input = raw;
      raw.on('error', (err) => this.fail(err));
    }
    // We decompress ourselves: the parser must not sniff compression in the (already plain) data.
    this.parser = new Parser({ strict: true, zstd: false, brotli: false });
    this.parser.on('entry', (entry: ReadEntry) => this.enqueue(entry, entry));
    // Entries the parser skips by type (sparse files, volume headers, unknown types); oversized
    // pax headers arrive here too, and are metadata, not entries.
    this.parser.on('ignoredEntry', (entry: ReadEntry) => {
      if (!entry.meta) this.enqueue(entry, undefined);
    });
    this.parser.on('eof', () => {
      this.sawEof = true;
    });
    this.parser.on('error', (err: Error) => this.fail(tarError(err)));
    // Strict mode turns warnings into errors; keep a listener all the same.
    this.parser.on('warn', () => {});
    this.parser.on('end', () => {
      // The parser ignores a partial header at the very end; Go calls that an unexpected EOF.
      if (!this.sawEof && this.bytesIn % BLOCK !== 0) {
        this.fail(new Error('tar: unexpected end of input (truncated header)'));
        return;
      }
      this.ended = true;
      this.wake();
    });
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  entries(): AsyncIterable<ArchiveEntry> {
    if (this.iterated) throw new Error('tar: entries() can only be iterated once');
    this.iterated = true;
    return this.iterate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop(new Error('tar: archive closed'));
  }

  private async *iterate(): AsyncGenerator<ArchiveEntry> {
    void this.pump();
    for (;;) {
      this.release();
      const item = await this.next();
      if (!item) return;
      this.current = item;
      yield item.entry;
    }
  }

  /** The next item, once the parser has one; undefined at the end. Throws the first failure. */
  private async next(): Promise<Item | undefined> {
    for (;;) {
      if (this.stopped) throw this.stopped;
      const item = this.queue.shift();
      if (item) return item;
      if (this.failure) throw this.failure;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
    }
  }

  /** Lets the parser move past the current entry: its unread content is dropped. */
  private release(): void {
    const item = this.current;
    this.current = undefined;
    if (!item) return;
    if (item.stream) {
      // Opened but not read to the end (a contract breach, or an abandoned read): drop the rest.
      if (!item.stream.readableEnded) item.stream.destroy();
    } else item.source?.resume();
  }

  private enqueue(entry: ReadEntry, source: ReadEntry | undefined): void {
    const kind = source ? kindOf(entry.type) : 'other';
    const name = entry.path;
    const item: Item = {
      entry: {
        name,
        kind,
        size: entry.size ?? 0,
        ...(entry.mtime instanceof Date && !Number.isNaN(entry.mtime.getTime()) ? { mtime: entry.mtime } : {}),
        open: async () => {
          if (kind !== 'file') throw new Error(`tar: "${name}" is a ${kind}, not a file`);
          if (item.stream) throw new Error(`tar: "${name}" was already opened`);
          if (this.current !== item) throw new Error(`tar: "${name}" is no longer the current entry; entries are read in order, once`);
          if (this.stopped) throw this.stopped;
          const content = source as ReadEntry;
          // After a failure only content that arrived whole can be read.
          if (this.failure && !complete(content)) throw this.failure;
          item.stream = new EntryStream(content);
          return item.stream;
        },
      },
      source,
      stream: undefined,
    };
    this.queue.push(item);
    this.wake();
  }

  /** Feeds the parser as fast as it takes the data: it refuses more while the current entry is unread. */
  private async pump(): Promise<void> {
    try {
      for await (const chunk of this.input) {
        if (this.failure || this.stopped) return;
        const data = chunk as Buffer;
        this.bytesIn += data.length;
        if (!this.parser.write(data)) await this.drained();
      }
      if (this.failure || this.stopped) return;
      this.parser.end();
    } catch (err) {
      this.fail(err);
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.parser.off('drain', done);
        this.wakePump = undefined;
        resolve();
      };
      this.wakePump = done;
      this.parser.on('drain', done);
    });
  }

  private wake(): void {
    const consumer = this.wakeConsumer;
    this.wakeConsumer = undefined;
    consumer?.();
    if (this.stopped || this.failure) this.wakePump?.();
  }

  /**
   * Records the archive's first error and stops reading. An open entry whose content is not
   * whole errors with it; the iteration throws it once the entries parsed before it are out.
   */
  private fail(err: unknown): void {
    if (this.failure || this.stopped) return;
    this.failure = toError(err);
    const item = this.current;
    if (item?.stream && item.source && !complete(item.source) && !item.stream.readableEnded) item.stream.destroy(this.failure);
    this.halt();
  }

  /** Stops everything at once (abort, close): the iteration and any open entry stream error with `reason`. */
  private stop(reason: Error): void {
    if (this.stopped) return;
    this.stopped = reason;
    const stream = this.current?.stream;
    if (stream && !stream.readableEnded) stream.destroy(reason);
    this.halt();
  }

  private halt(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.input.destroy();
    this.raw.destroy();
    this.wake();
  }
}

/** Whether the parser has written all of an entry's content into it (a truncated entry ends short). */
function complete(entry: ReadEntry): boolean {
  return entry.remain === 0;
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * A node Readable over one tar entry's content (a minipass stream): reads resume the entry,
 * a full buffer pauses it, and the pause reaches the parser and so the file.
 */
class EntryStream extends Readable {
  private readonly onData = (chunk: Buffer): void => {
    if (!this.push(chunk)) this.source.pause();
  };
  private readonly onEnd = (): void => {
    this.push(null);
  };

  constructor(private readonly source: ReadEntry) {
    super();
    source.on('end', this.onEnd);
    // Attaching a data listener starts the flow; the first full buffer pauses it.
    source.on('data', this.onData);
  }

  override _read(): void {
    this.source.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    // With no data listener left, the entry drops the rest of its content and lets the parser go on.
    this.source.resume();
    callback(err);
  }
}

function tarError(err: Error): Error {
  const message = err.message.startsWith('tar: ') ? err.message : `tar: ${err.message}`;
  return new Error(message, { cause: err });
}
