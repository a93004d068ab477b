/**
 * @module codecs/detect
 * Archive format detection, as the extract task does it: by content (magic bytes) first, with
 * the file name only as a hint where the content cannot decide.
 *
 * - zip: `PK\x03\x04` (or `PK\x05\x06`, an empty zip) at offset 0. The server also takes any
 *   name containing `.zip`; here the name only widens the search: a `.zip` whose first bytes
 *   are something else (a self-extractor, data prepended) is a zip when an end-of-central-
 *   directory record sits in its last 64 KiB. A `.zip` name on content that is no zip at all is
 *   NOT a zip (→ undefined or whatever the content is): treating it as one would only turn
 *   "no formats matched" into a zip read error.
 * - 7z, rar (v1.5–v4 and v5 share the `Rar!\x1A\x07` prefix), plain tar (`ustar` at 257, or an
 *   old v7 header with a valid checksum).
 * - gzip, bzip2, xz, zstd, lz4 by magic; brotli has none, so only a name ending `.br`/`.tbr` makes
 *   us try it. A compressed stream is `tar.<x>` when its first 512 decompressed bytes are a tar
 *   header, else `{ compressedOnly: '.<x>' }`. When decompression fails before 512 bytes, the
 *   name decides: with `.tar`/`.t<x>` in it, it is `tar.<x>` (opening will report the damage),
 *   else compression only. Brotli that does not even decode is no match.
 * - Anything else (including lzip, snappy `.sz`, legacy lz4) → undefined.
 */
import { promises as fsp, createReadStream } from 'node:fs';
import type { ArchiveFormat, Detected } from './archive.js';
import { createDecompressor } from './decompress.js';
import type { Compression } from './decompress.js';

const TAR_BLOCK = 512;
/** The end-of-central-directory record is 22 bytes plus a comment of at most 64 KiB - 1. */
const EOCD_SEARCH = 22 + 0xffff;

interface Magic {
  bytes: readonly number[];
  offset?: number;
}

const ZIP: Magic = { bytes: [0x50, 0x4b, 0x03, 0x04] };
const ZIP_EMPTY: Magic = { bytes: [0x50, 0x4b, 0x05, 0x06] };
const SEVEN_Z: Magic = { bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] };
const RAR: Magic = { bytes: [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07] };
const USTAR: Magic = { bytes: [0x75, 0x73, 0x74, 0x61, 0x72], offset: 257 };

/** Compressions by magic, in the order they are tried. */
const COMPRESSIONS: readonly { kind: Compression; magic: Magic }[] = [
  { kind: 'gz', magic: { bytes: [0x1f, 0x8b] } },
  // "BZh" then the block size digit 1-9, checked below.
  { kind: 'bz2', magic: { bytes: [0x42, 0x5a, 0x68] } },
  { kind: 'xz', magic: { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] } },
  { kind: 'zst', magic: { bytes: [0x28, 0xb5, 0x2f, 0xfd] } },
  { kind: 'lz4', magic: { bytes: [0x04, 0x22, 0x4d, 0x18] } },
];

/** Short names of tarballs per compression (`.tgz`…), besides `.tar.` anywhere in the name. */
const TAR_SHORT_NAMES: Readonly<Record<Compression, readonly string[]>> = {
  gz: ['.tgz', '.taz'],
  bz2: ['.tbz', '.tbz2', '.tb2'],
  xz: ['.txz'],
  zst: ['.tzst', '.tzs'],
  br: ['.tbr'],
  lz4: ['.tlz4'],
};

/**
 * Detects the archive format of `file` (named `name` in the drive; only the name's hints are
 * used, never its directory). Reads the file's first 512 bytes, then for a compressed file only
 * what it takes to decompress 512 bytes (a few KiB; bzip2 waits for one whole block, up to
 * about 1 MB), and for a `.zip` name its last 64 KiB.
 */
export async function detectFormat(file: string, name: string): Promise<Detected> {
  const lower = name.toLowerCase();
  const { head, size } = await readHead(file, TAR_BLOCK);

  if (matches(head, ZIP) || matches(head, ZIP_EMPTY)) return { format: 'zip' };
  if (matches(head, SEVEN_Z)) return { format: '7z' };
  if (matches(head, RAR)) return { format: 'rar' };

  for (const { kind, magic } of COMPRESSIONS) {
    if (!matches(head, magic)) continue;
    if (kind === 'bz2' && !isBzip2BlockSize(head[3])) continue;
    return inner(file, kind, lower, false);
  }

  if (isTarHeader(head)) return { format: 'tar' };

  if (lower.endsWith('.br') || lower.endsWith('.tbr')) {
    const found = await inner(file, 'br', lower, true);
    if (found) return found;
  }

  if (lower.includes('.zip') && (await hasEndOfCentralDirectory(file, size))) return { format: 'zip' };
  return undefined;
}

/** Whether a 512-byte block is a tar header: `ustar` magic, or a valid header checksum. */
export function isTarHeader(block: Uint8Array): boolean {
  if (block.length < TAR_BLOCK) return false;
  if (matches(block, USTAR)) return true;
  return tarChecksumValid(block);
}

/**
 * The header checksum: the sum of the 512 bytes with the checksum field (148-155) counted as
 * spaces, stored as octal. Old tars summed signed bytes; both are accepted. An all-zero block
 * has no stored checksum and is not a header.
 */
function tarChecksumValid(block: Uint8Array): boolean {
  const field = Buffer.from(block.subarray(148, 156)).toString('latin1');
  const digits = field.replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (!/^[0-7]{1,7}$/.test(digits)) return false;
  const stored = parseInt(digits, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < TAR_BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function isBzip2BlockSize(b: number | undefined): boolean {
  return b !== undefined && b >= 0x31 && b <= 0x39;
}

function matches(buf: Uint8Array, magic: Magic): boolean {
  const at = magic.offset ?? 0;
  if (buf.length < at + magic.bytes.length) return false;
  return magic.bytes.every((b, i) => buf[at + i] === b);
}

/** Reads up to `n` bytes from the start of the file, and its size. */
async function readHead(file: string, n: number): Promise<{ head: Buffer; size: number }> {
  const fh = await fsp.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(n, size));
    let filled = 0;
    while (filled < head.length) {
      const { bytesRead } = await fh.read(head, filled, head.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { head: head.subarray(0, filled), size };
  } finally {
    await fh.close();
  }
}

/** What lies inside a compressed stream: a tarball, or compressed data only. */
async function inner(file: string, kind: Compression, lowerName: string, needsDecoding: boolean): Promise<Detected> {
  const format = `tar.${kind}` as ArchiveFormat;
  const result = await decompressHead(file, kind, TAR_BLOCK);
  if (result.ok) return isTarHeader(result.data) ? { format } : { compressedOnly: `.${kind}` };
  // Brotli, found by name alone, must at least decode: garbage named `.br` is no match.
  if (needsDecoding) return undefined;
  return namedAsTar(lowerName, kind) ? { format } : { compressedOnly: `.${kind}` };
}

function namedAsTar(lowerName: string, kind: Compression): boolean {
  return lowerName.includes('.tar.') || TAR_SHORT_NAMES[kind].some((suffix) => lowerName.endsWith(suffix));
}

/**
 * The first `n` decompressed bytes (fewer if the stream is shorter). `ok` is false when the
 * decompressor failed before producing them.
 */
async function decompressHead(file: string, kind: Compression, n: number): Promise<{ ok: boolean; data: Buffer }> {
  const source = createReadStream(file, { highWaterMark: 16 * 1024 });
  const decoder = createDecompressor(kind);
  const chunks: Buffer[] = [];
  let have = 0;
  const done = new Promise<{ ok: boolean; data: Buffer }>((resolve) => {
    const finish = (ok: boolean): void => resolve({ ok, data: Buffer.concat(chunks).subarray(0, n) });
    decoder.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      if (have >= n) finish(true);
    });
    decoder.on('end', () => finish(true));
    decoder.on('error', () => finish(have >= n));
    source.on('error', () => finish(have >= n));
  });
  source.pipe(decoder);
  try {
    return await done;
  } finally {
    source.unpipe(decoder);
    source.destroy();
    decoder.destroy();
  }
}

/** Whether an end-of-central-directory signature (`PK\x05\x06`) lies in the last 64 KiB + 22 bytes. */
async function hasEndOfCentralDirectory(file: string, size: number): Promise<boolean> {
  if (size < 22) return false;
  const length = Math.min(size, EOCD_SEARCH);
  const fh = await fsp.open(file, 'r');
  try {
    const tail = Buffer.alloc(length);
    const { bytesRead } = await fh.read(tail, 0, length, size - length);
    const data = tail.subarray(0, bytesRead);
    for (let i = data.length - 22; i >= 0; i--) {
      if (data[i] === 0x50 && data[i + 1] === 0x4b && data[i + 2] === 0x05 && data[i + 3] === 0x06) {
        // The comment must fit in the file (trailing bytes after it are tolerated, as Go's reader does).
        if (i + 22 + data.readUInt16LE(i + 20) <= data.length) return true;
      }
    }
    return false;
  } finally {
    await fh.close();
  }
}
