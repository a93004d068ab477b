/**
 * @module codecs/decompress
 * Streaming decompressors for the compressed tar family, all without native addons:
 * gzip and brotli from node:zlib, bzip2 with the decoder inside `unbzip2-stream` (pure JS),
 * xz with the xz-embedded WebAssembly build that `xz-decompress` ships, zstd with `fzstd` (pure
 * JS), lz4 with our own frame decoder (./lz4.ts).
 *
 * Each decompressor is a Duplex that errors on corrupt input and on input that ends early, and
 * keeps memory bounded whatever the compression ratio: output is produced only as fast as it is
 * read, one bounded piece at a time (zlib's own backpressure; for the others, an async generator
 * that yields each piece: an xz buffer of 64 KiB, at most a few zstd blocks of 128 KiB, one lz4
 * block of at most 4 MiB, one bzip2 block — 900 kB typically, tens of MB for pathological runs).
 *
 * Integrity checks: gzip CRC-32, bzip2 block and stream CRCs, xz CRC-32/CRC-64, lz4 block and
 * content checksums. Gaps: xz streams with a SHA-256 check (`xz -C sha256`) are refused, as the
 * xz-embedded build lacks SHA-256; fzstd does not verify zstd's optional content checksum, so a
 * zstd stream that still decodes after damage goes unnoticed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { Decompress as ZstdStream } from 'fzstd';
import { decodeLz4 } from './lz4.js';

/** Compressions the tar family uses, by the suffix of their archive format (`tar.gz` → `gz`). */
export type Compression = 'gz' | 'bz2' | 'xz' | 'zst' | 'br' | 'lz4';

const require = createRequire(import.meta.url);

type Source = AsyncIterable<Buffer>;

/** A new decompressing stream for `kind`: write compressed bytes, read decompressed ones. */
export function createDecompressor(kind: Compression): Duplex {
  switch (kind) {
    case 'gz':
      // Handles multi-member files (pigz, concatenated .gz) like gzip -d.
      return zlib.createGunzip();
    case 'br':
      return zlib.createBrotliDecompress();
    case 'bz2':
      return Duplex.from(decodeBzip2);
    case 'xz':
      return Duplex.from(decodeXz);
    case 'zst':
      return Duplex.from(decodeZstd);
    case 'lz4':
      return Duplex.from(decodeLz4);
  }
}

/** Collects output bytes handed over one at a time into 64 KiB pieces. */
class ByteSink {
  readonly pieces: Buffer[] = [];
  private piece = Buffer.allocUnsafe(65536);
  private used = 0;

  /** Appends one byte; bound so it can be passed around as a callback. */
  readonly byte = (b: number): void => {
    if (this.used === this.piece.length) {
      this.pieces.push(this.piece);
      this.piece = Buffer.allocUnsafe(65536);
      this.used = 0;
    }
    this.piece[this.used++] = b;
  };

  /** Everything collected so far (and resets). */
  take(): Buffer[] {
    if (this.used > 0) this.pieces.push(this.piece.subarray(0, this.used));
    const out = this.pieces.splice(0);
    this.piece = Buffer.allocUnsafe(65536);
    this.used = 0;
    return out;
  }
}

/** The decoder inside unbzip2-stream (lib/bzip2.js): a module object whose methods use `this`. */
interface Bzip2Lib {
  header(bits: BitReader): number;
  decompress(bits: BitReader, out: (b: number) => void, buf: Int32Array, size: number, streamCrc: number): number | null;
}

interface BitReader {
  (n: number | null): number;
  bytesRead: number;
}

/**
 * bzip2, with the block decoder of `unbzip2-stream` driven directly: its stream wrapper decodes
 * every complete block buffered at once (and everything left at the end in one go), which is
 * unbounded for highly compressible data. Here one block is decoded per step, and only once
 * enough input is buffered to hold it whole (the library's own margin: 25 kB + 100 kB per level),
 * or the input has ended. Block and stream CRCs are checked; concatenated streams (pbzip2) work.
 * The library keeps its scratch tables on its module object, shared by all streams; that is safe
 * because each block is decoded by one synchronous call and the tables are reset per block.
 */
async function* decodeBzip2(source: Source): AsyncGenerator<Buffer> {
  const bz2 = require('unbzip2-stream/lib/bzip2.js') as Bzip2Lib;
  const bitIterator = require('unbzip2-stream/lib/bit_iterator.js') as (next: () => Buffer | undefined) => BitReader;
  const queue: Buffer[] = [];
  const sink = new ByteSink();
  let received = 0;
  let bits: BitReader | undefined;
  let level = 0;
  let streamCrc: number | null = null;
  let work = new Int32Array(0);
  /** Set when the decoder asked for input beyond the end of what it was given. */
  let exhausted = false;

  /** One step: a stream header, a block (its output returned), or a stream end. */
  const step = (reader: BitReader): Buffer[] => {
    if (!level) {
      level = bz2.header(reader);
      streamCrc = 0;
      return [];
    }
    const size = 100000 * level;
    if (work.length !== size) work = new Int32Array(size);
    streamCrc = bz2.decompress(reader, sink.byte, work, size, streamCrc ?? 0);
    if (streamCrc === null) level = 0;
    return sink.take();
  };

  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    queue.push(chunk);
    received += chunk.length;
    bits ??= bitIterator(() => {
      const next = queue.shift();
      if (!next) exhausted = true;
      return next;
    });
    while (received - bits.bytesRead + 1 >= 25000 + 100000 * level) {
      let out: Buffer[];
      try {
        out = step(bits);
      } catch (err) {
        throw bzip2Error('corrupt data', err);
      }
      // Hand pieces over one by one, letting go of each: a block's output is not kept whole
      // while the next block is decoded.
      while (out.length > 0) yield out.shift() as Buffer;
    }
  }
  if (!bits) throw new Error('bzip2: empty input');
  while (received > bits.bytesRead) {
    let out: Buffer[];
    try {
      out = step(bits);
    } catch (err) {
      // Running out of bits mid-block fails on whatever the decoder tripped on (a TypeError on
      // the missing buffer): that is a truncation; anything else is damage.
      throw bzip2Error(exhausted ? 'unexpected end of input (truncated)' : 'corrupt data', err);
    }
    while (out.length > 0) yield out.shift() as Buffer;
  }
  if (streamCrc !== null) throw new Error('bzip2: unexpected end of input (truncated)');
}

function errorMessage(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}

function bzip2Error(what: string, err: unknown): Error {
  return new Error(`bzip2: ${what} (${errorMessage(err)})`);
}

/** xz-embedded's return codes (xz.h `enum xz_ret`). */
const XZ_OK = 0;
const XZ_STREAM_END = 1;
const XZ_ERRORS: Readonly<Record<number, string>> = {
  2: 'unsupported integrity check',
  3: 'out of memory',
  4: 'memory limit reached',
  5: 'not xz data (bad header or trailing garbage)',
  6: 'unsupported xz options (a SHA-256 integrity check, or an unknown filter)',
  7: 'corrupt data (checksum mismatch or invalid stream)',
  8: 'unexpected end of input (truncated)',
};

/** What the xz-embedded WebAssembly module exports. */
interface XzExports {
  memory: { readonly buffer: ArrayBuffer };
  create_context(): number;
  destroy_context(ptr: number): void;
  supply_input(ptr: number, length: number): void;
  get_next_output(ptr: number): number;
}

/** The global WebAssembly API (its types live in lib.dom, which this project does not load). */
function wasm(): { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: unknown } }> } {
  return (globalThis as unknown as { WebAssembly: ReturnType<typeof wasm> }).WebAssembly;
}

/**
 * The xz-embedded WebAssembly module that `xz-decompress` embeds in its bundle. Its own
 * `XzReadableStream` is not used: it serializes all streams of the process through one global
 * mutex (a second xz stream waits until the first ends, so one paused extraction would stall
 * every other) and reports truncation poorly. The module is small (20 KiB); each decompressor
 * instantiates its own copy, so streams share no state and a stream's memory (its dictionary, up
 * to 64 MiB for `xz -9`) goes away with it.
 */
async function instantiateXz(): Promise<XzExports> {
  const bundle = readFileSync(require.resolve('xz-decompress'), 'utf8');
  const match = /data:application\/wasm;base64,([A-Za-z0-9+/=]+)/.exec(bundle);
  if (!match?.[1]) throw new Error('xz: unsupported xz-decompress version (no embedded WebAssembly module)');
  const { instance } = await wasm().instantiate(Buffer.from(match[1], 'base64'), {});
  return instance.exports as unknown as XzExports;
}

/**
 * One xz-embedded decoder. Layout of the C context (xz-decompress's native side):
 * `{ u32 bufsize; struct xz_buf { in, in_pos, in_size, out, out_pos, out_size } ... }`.
 */
class XzContext {
  private readonly ptr: number;
  readonly capacity: number;
  private readonly inStart: number;
  private readonly outStart: number;

  constructor(private readonly x: XzExports) {
    this.ptr = x.create_context();
    if (!this.ptr) throw new Error(`xz: ${XZ_ERRORS[3]}`);
    const m = this.mem32();
    this.capacity = m[0] as number;
    this.inStart = m[1] as number;
    this.outStart = m[4] as number;
  }

  /** Hands the decoder its next input (at most `capacity` bytes). */
  supply(data: Uint8Array): void {
    new Uint8Array(this.x.memory.buffer, this.inStart, this.capacity).set(data);
    this.x.supply_input(this.ptr, data.length);
  }

  /** Runs the decoder once: its return code, a copy of its output, and whether it wants more input. */
  run(): { code: number; out: Buffer; needsInput: boolean } {
    const code = this.x.get_next_output(this.ptr);
    const m = this.mem32();
    const outPos = m[5] as number;
    const out = Buffer.from(new Uint8Array(this.x.memory.buffer, this.outStart, outPos));
    m[5] = 0;
    return { code, out, needsInput: m[2] === m[3] && outPos < this.capacity };
  }

  /** The part of the last input the decoder did not consume (after its stream ended). */
  leftover(): Buffer {
    const m = this.mem32();
    const pos = m[2] as number;
    return Buffer.from(new Uint8Array(this.x.memory.buffer, this.inStart + pos, (m[3] as number) - pos));
  }

  dispose(): void {
    this.x.destroy_context(this.ptr);
  }

  private mem32(): Uint32Array {
    // Made anew on each use: the memory's buffer is replaced whenever it grows.
    return new Uint32Array(this.x.memory.buffer, this.ptr, 8);
  }
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/**
 * xz. Concatenated streams and the zero padding between them are accepted (as `xz -d` does);
 * anything else after a stream is an error.
 */
async function* decodeXz(source: Source): AsyncGenerator<Buffer> {
  const x = await instantiateXz();
  let ctx: XzContext | undefined;
  let streams = 0;

  /** Runs the decoder until it needs input; returns the input left after a stream end. */
  function* drain(c: XzContext): Generator<Buffer, Buffer | undefined> {
    for (;;) {
      const r = c.run();
      if (r.out.length > 0) yield r.out;
      if (r.code === XZ_STREAM_END) {
        const left = c.leftover();
        c.dispose();
        ctx = undefined;
        streams += 1;
        return left.length > 0 ? left : undefined;
      }
      if (r.code !== XZ_OK) throw new Error(`xz: ${XZ_ERRORS[r.code] ?? `decoder error ${r.code}`}`);
      if (r.needsInput) return undefined;
    }
  }

  try {
    for await (const chunk of source) {
      let rest: Buffer = chunk;
      while (rest.length > 0) {
        if (!ctx) {
          // Between streams: skip the padding; then a new stream must begin.
          let i = 0;
          while (i < rest.length && rest[i] === 0) i++;
          rest = rest.subarray(i);
          if (rest.length === 0) break;
          if (streams > 0 && rest.length >= XZ_MAGIC.length && !XZ_MAGIC.equals(rest.subarray(0, XZ_MAGIC.length))) {
            throw new Error(`xz: ${XZ_ERRORS[5]}`);
          }
          ctx = new XzContext(x);
        }
        const slice = rest.subarray(0, ctx.capacity);
        rest = rest.subarray(slice.length);
        ctx.supply(slice);
        const left = yield* drain(ctx);
        if (left) rest = rest.length > 0 ? Buffer.concat([left, rest]) : left;
      }
    }
    if (ctx) {
      // The input ended inside a stream: xz-embedded says BUF_ERROR after two runs without progress.
      for (let i = 0; i < 2 && ctx; i++) {
        ctx.supply(new Uint8Array(0));
        yield* drain(ctx);
      }
      if (ctx) throw new Error(`xz: ${XZ_ERRORS[8]}`);
    }
    if (streams === 0) throw new Error('xz: empty input');
  } finally {
    ctx?.dispose();
  }
}

/**
 * Input slice handed to fzstd at a time. fzstd decodes every complete block of what it is given
 * in one call, and a zstd block of up to 128 KiB can take as little as 4 bytes (RLE), so small
 * slices are what bound the output of one call (here to 16 blocks, 2 MiB). Slicing is cheap:
 * fzstd only queues a slice until a whole block is there.
 */
const ZSTD_SLICE = 64;

/**
 * zstd via fzstd: concatenated and skippable frames are handled; fzstd throws on truncation
 * when told the input is final. Memory: one window (whatever the compressor chose, 8 MiB at
 * level 19) plus the bounded output above.
 */
async function* decodeZstd(source: Source): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  const inner = new ZstdStream((data) => {
    if (data.length > 0) out.push(Buffer.from(data));
  });
  let sawInput = false;
  const push = (slice: Uint8Array, final: boolean): void => {
    try {
      inner.push(slice, final);
    } catch (err) {
      throw zstdError(err);
    }
  };
  for await (const chunk of source) {
    if (chunk.length > 0) sawInput = true;
    for (let i = 0; i < chunk.length; i += ZSTD_SLICE) {
      push(chunk.subarray(i, i + ZSTD_SLICE), false);
      if (out.length > 0) yield* out.splice(0);
    }
  }
  if (!sawInput) throw new Error('zstd: empty input');
  push(new Uint8Array(0), true);
  yield* out.splice(0);
}

const ZSTD_ERRORS: Readonly<Record<number, string>> = {
  0: 'invalid data',
  1: 'window size too large',
  2: 'invalid block type',
  3: 'FSE accuracy too high',
  4: 'match distance too far back',
  5: 'unexpected end of input (truncated)',
};

function zstdError(err: unknown): Error {
  const code = (err as { code?: unknown } | null)?.code;
  const known = typeof code === 'number' ? ZSTD_ERRORS[code] : undefined;
  return new Error(`zstd: ${known ?? errorMessage(err)}`);
}
