/**
 * @module codecs/unzip
 * Reading ZIP archives (yauzl) the way the extract task does: entries in central-directory
 * order, names kept verbatim and decoded as the server decodes them, content checked against
 * the sizes and CRC-32 of the central directory.
 *
 * Names. The server (Go's archive/zip, then mholt/archives) decodes a name with the requested
 * charset when Go marks it "non-UTF-8": the name or comment is not valid UTF-8, or the UTF-8 flag
 * (bit 11) is clear and the name or comment holds a byte outside the ASCII range Go deems safe
 * (below 0x20, above 0x7D, or `\`). So a flagged, valid UTF-8 name is never re-decoded, a plain
 * ASCII name is left alone, and an invalid name is decoded even when flagged. Without a
 * (known) charset names are "stored as is": the server keeps the raw bytes; we read them as
 * UTF-8 with U+FFFD for invalid sequences, the closest a JS string gets to raw bytes. The
 * Info-ZIP Unicode Path extra field (0x7075) is ignored, as Go ignores it.
 */
import { isUtf8 } from 'node:buffer';
import { Transform, pipeline } from 'node:stream';
import type { Readable, TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import iconv from 'iconv-lite';
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import type { ArchiveEntry, ArchiveReader, OpenArchiveOptions } from './archive.js';
import { createDecompressor } from './decompress.js';
import type { Compression } from './decompress.js';

/** The charset names the server (and its UI) accept for zip names, in the server's spelling. */
export const ZIP_ENCODING_NAMES: readonly string[] = Object.freeze([
  'ibm866', 'iso8859_2', 'iso8859_3', 'iso8859_4', 'iso8859_5', 'iso8859_6', 'iso8859_7', 'iso8859_8',
  'iso8859_8I', 'iso8859_10', 'iso8859_13', 'iso8859_14', 'iso8859_15', 'iso8859_16', 'koi8r', 'koi8u',
  'macintosh', 'windows874', 'windows1250', 'windows1251', 'windows1252', 'windows1253', 'windows1254',
  'windows1255', 'windows1256', 'windows1257', 'windows1258', 'macintoshcyrillic', 'gbk', 'gb18030',
  'big5', 'eucjp', 'iso2022jp', 'shiftjis', 'euckr', 'utf16be', 'utf16le',
]);

/**
 * Server charset name → iconv-lite charset, keyed exactly as the server's table is.
 *
 * - `iso2022jp` is missing: iconv-lite 0.7 has no ISO-2022-JP decoder, so that choice leaves
 *   names as stored (the real server would decode them).
 * - `iso8859_8I` (logical-order Hebrew; the same bytes as ISO-8859-8) is kept under its
 *   mixed-case key, which the 4.18 lookup below never reaches: see {@link zipCharset}.
 * - `macintosh` is Mac OS Roman and `macintoshcyrillic` Mac Cyrillic, as in Go's charmap.
 */
export const ZIP_ENCODINGS: Readonly<Record<string, string>> = Object.freeze({
  ibm866: 'cp866',
  iso8859_2: 'iso88592',
  iso8859_3: 'iso88593',
  iso8859_4: 'iso88594',
  iso8859_5: 'iso88595',
  iso8859_6: 'iso88596',
  iso8859_7: 'iso88597',
  iso8859_8: 'iso88598',
  iso8859_8I: 'iso88598',
  iso8859_10: 'iso885910',
  iso8859_13: 'iso885913',
  iso8859_14: 'iso885914',
  iso8859_15: 'iso885915',
  iso8859_16: 'iso885916',
  koi8r: 'koi8r',
  koi8u: 'koi8u',
  macintosh: 'macintosh',
  windows874: 'windows874',
  windows1250: 'windows1250',
  windows1251: 'windows1251',
  windows1252: 'windows1252',
  windows1253: 'windows1253',
  windows1254: 'windows1254',
  windows1255: 'windows1255',
  windows1256: 'windows1256',
  windows1257: 'windows1257',
  windows1258: 'windows1258',
  macintoshcyrillic: 'maccyrillic',
  gbk: 'gbk',
  gb18030: 'gb18030',
  big5: 'big5',
  eucjp: 'eucjp',
  shiftjis: 'shiftjis',
  euckr: 'euckr',
  utf16be: 'utf16be',
  utf16le: 'utf16le',
});

/**
 * The iconv-lite charset for a server charset name, or undefined when the server would ignore
 * it. Looked up lower-cased, as 4.18 does: `GBK` works, and (4.18's quirk) `iso8859_8I` matches
 * nothing, since its key is not lower-case. 4.0.0 matched case-sensitively; a 4.0.0 simulation
 * should pass the encoding only when `name in ZIP_ENCODINGS` (and lose `iso8859_8I` all the same).
 */
export function zipCharset(name: string): string | undefined {
  const key = name.toLowerCase();
  return Object.hasOwn(ZIP_ENCODINGS, key) ? ZIP_ENCODINGS[key] : undefined;
}

/**
 * Compression methods the server reads besides store (0) and deflate (8): mholt/archives
 * registers bzip2 (12), zstd (93) and xz (95) with Go's archive/zip. Others (deflate64, LZMA…)
 * make open() reject, as they make the server fail.
 */
const EXTRA_METHODS: Readonly<Record<number, Compression>> = { 12: 'bz2', 93: 'zst', 95: 'xz' };

const UTF8_FLAG = 0x800;
const ENCRYPTED_FLAG = 0x1;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
/** "Version made by" hosts whose external attributes carry a unix mode (Go: creatorUnix, creatorMacOSX). */
const UNIX_HOSTS = new Set([3, 19]);
/** Hosts whose external attributes are MS-DOS attributes (Go: creatorFAT, creatorNTFS, creatorVFAT). */
const DOS_HOSTS = new Set([0, 11, 14]);
const DOS_DIRECTORY = 0x10;

/** Go's archive/zip detectUTF8: whether the bytes are valid UTF-8, and whether they need it. */
function detectUtf8(raw: Buffer): { valid: boolean; requires: boolean } {
  if (!isUtf8(raw)) return { valid: false, requires: false };
  // Multi-byte runes are all above 0x7D; the ASCII bytes Go distrusts: controls, `~`, DEL, `\`.
  const requires = raw.some((b) => b < 0x20 || b > 0x7d || b === 0x5c);
  return { valid: true, requires };
}

/** Go's `FileHeader.NonUTF8`, as archive/zip computes it. */
function nonUtf8(entry: Entry): boolean {
  const name = detectUtf8(entry.fileNameRaw);
  const comment = detectUtf8(entry.fileCommentRaw);
  if (!name.valid || !comment.valid) return true;
  if (!name.requires && !comment.requires) return false;
  return (entry.generalPurposeBitFlag & UTF8_FLAG) === 0;
}

/** An entry's name as the server sees it, given the iconv-lite charset requested (if any). */
export function decodeZipName(entry: Entry, charset: string | undefined): string {
  if (charset && nonUtf8(entry)) return iconv.decode(entry.fileNameRaw, charset);
  return entry.fileNameRaw.toString('utf8');
}

/** The entry kind: from the name's trailing separator, then the host's mode bits (as Go's FileHeader.Mode). */
function entryKind(entry: Entry, name: string): ArchiveEntry['kind'] {
  if (name.endsWith('/') || name.endsWith('\\')) return 'directory';
  const host = entry.versionMadeBy >>> 8;
  if (UNIX_HOSTS.has(host)) {
    const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
    if (type === S_IFLNK) return 'symlink';
    if (type === S_IFDIR) return 'directory';
    // Sockets, devices, FIFOs: not files, and Go's Mode() says so too.
    if (type !== 0 && type !== 0o100000) return 'other';
  } else if (DOS_HOSTS.has(host) && entry.externalFileAttributes & DOS_DIRECTORY) {
    return 'directory';
  }
  return 'file';
}

/**
 * Opens a ZIP file. Rejects when it is not a zip or is truncated (no end-of-central-directory
 * record), multi-disk, or otherwise unreadable. Entries come in central-directory order; a
 * damaged central directory makes the iteration throw. `entries()` may be iterated once.
 */
export async function openZip(file: string, options: OpenArchiveOptions): Promise<ArchiveReader> {
  options.signal?.throwIfAborted();
  let zip: ZipFile;
  try {
    zip = await yauzl.openPromise(file, {
      lazyEntries: true,
      decodeStrings: false,
      validateEntrySizes: true,
      autoClose: false,
      strictFileNames: false,
    });
  } catch (err) {
    throw zipError('cannot open archive', err);
  }
  const charset = options.encoding ? zipCharset(options.encoding) : undefined;
  return new ZipReader(zip, charset, options.signal);
}

class ZipReader implements ArchiveReader {
  readonly format = 'zip' as const;
  private iterated = false;
  private closed = false;
  /** yauzl stops reading after its first error; later reads must fail at once instead of hanging. */
  private failure: Error | undefined;
  /** The entry stream handed out last, so an abort or close can stop it. */
  private active: Readable | undefined;
  private readonly onAbort = (): void => {
    const reason: unknown = this.signal?.reason;
    this.active?.destroy(reason instanceof Error ? reason : new Error('zip: aborted'));
  };

  constructor(
    private readonly zip: ZipFile,
    private readonly charset: string | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    // yauzl also emits errors outside reads (a failed fd close): never let one go unhandled.
    zip.on('error', (err: unknown) => {
      this.failure ??= zipError('corrupt central directory', err);
    });
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  entries(): AsyncIterable<ArchiveEntry> {
    if (this.iterated) throw new Error('zip: entries() can only be iterated once');
    this.iterated = true;
    return this.iterate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.active?.destroy();
    this.zip.close();
  }

  private async *iterate(): AsyncGenerator<ArchiveEntry> {
    let index = 0;
    for (;;) {
      this.signal?.throwIfAborted();
      if (this.closed) throw new Error('zip: archive closed');
      const entry = await this.nextEntry();
      if (!entry) return;
      yield this.toArchiveEntry(entry, index);
      index += 1;
    }
  }

  /** The next central-directory record, or undefined at the end. */
  private nextEntry(): Promise<Entry | undefined> {
    const zip = this.zip;
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        zip.off('entry', onEntry);
        zip.off('end', onEnd);
        zip.off('error', onError);
      };
      const onEntry = (entry: Entry): void => {
        cleanup();
        resolve(entry);
      };
      const onEnd = (): void => {
        cleanup();
        resolve(undefined);
      };
      const onError = (): void => {
        cleanup();
        reject(this.failure);
      };
      zip.on('entry', onEntry);
      zip.on('end', onEnd);
      zip.on('error', onError);
      zip.readEntry();
    });
  }

  private toArchiveEntry(entry: Entry, index: number): ArchiveEntry {
    const name = decodeZipName(entry, this.charset);
    const kind = entryKind(entry, name);
    const encrypted = (entry.generalPurposeBitFlag & ENCRYPTED_FLAG) !== 0;
    let mtime: Date | undefined = entry.getLastModDate({ timezone: 'UTC' });
    if (Number.isNaN(mtime.getTime())) mtime = undefined;
    let opened = false;
    const open = async (): Promise<Readable> => {
      if (kind !== 'file') throw new Error(`zip: entry ${index} "${name}" is a ${kind}, not a file`);
      if (encrypted) throw new Error(`zip: entry ${index} "${name}" is encrypted; encrypted zip entries cannot be read`);
      if (opened) throw new Error(`zip: entry ${index} "${name}" was already opened`);
      if (this.closed) throw new Error('zip: archive closed');
      this.signal?.throwIfAborted();
      opened = true;
      const method = entry.compressionMethod;
      const codec = EXTRA_METHODS[method];
      if (method !== 0 && method !== 8 && !codec) {
        throw new Error(`zip: entry ${index} "${name}" uses unsupported compression method ${method}`);
      }
      let raw: Readable;
      try {
        // Stored and deflated entries are decoded by yauzl; for the others we take the raw bytes.
        raw = await this.zip.openReadStreamPromise(entry, codec ? { decodeFileData: false } : {});
      } catch (err) {
        throw zipError(`cannot read entry ${index} "${name}"`, err);
      }
      const checked = new CrcCheck(entry.crc32, entry.uncompressedSize, name);
      // pipeline forwards yauzl's errors (inflate failures, short data, size mismatches) and the
      // decompressor's to the stream we return; destroying that stream stops yauzl's read.
      const stream = codec ? pipeline(raw, createDecompressor(codec), checked, () => {}) : pipeline(raw, checked, () => {});
      this.active = stream;
      return stream;
    };
    return {
      name,
      kind,
      size: entry.uncompressedSize,
      ...(mtime ? { mtime } : {}),
      ...(encrypted ? { encrypted } : {}),
      open,
    };
  }
}

/** Passes the content through, checking its length and CRC-32 against the central directory at the end (yauzl checks neither for every entry). */
class CrcCheck extends Transform {
  private crc = 0;
  private bytes = 0;

  constructor(
    private readonly expectedCrc: number,
    private readonly expectedSize: number,
    private readonly name: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.crc = zlib.crc32(chunk, this.crc);
    this.bytes += chunk.length;
    if (this.bytes > this.expectedSize) {
      callback(new Error(`zip: "${this.name}" is longer than its declared ${this.expectedSize} bytes`));
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes !== this.expectedSize) {
      callback(new Error(`zip: "${this.name}" is truncated: ${this.bytes} of ${this.expectedSize} bytes`));
    } else if (this.crc >>> 0 !== this.expectedCrc >>> 0) {
      callback(new Error(`zip: CRC-32 mismatch in "${this.name}" (archive says ${hex(this.expectedCrc)}, content is ${hex(this.crc)})`));
    } else callback();
  }
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function zipError(what: string, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`zip: ${what}: ${message}`, { cause: err });
}
