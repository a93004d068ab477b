/**
 * @module codecs/lz4
 * Streaming decoder of the LZ4 frame format (what the `lz4` tool writes; magic 04 22 4D 18),
 * written here because no npm package offers one that is pure JS, streaming and bounds-checked
 * (lz4js decodes whole frames in memory and trusts its input).
 *
 * Supported: linked and independent blocks, every block size (64 KiB – 4 MiB), block and
 * content checksums (both verified), the content-size field (checked against the output),
 * several frames one after another, skippable frames. Not supported (a clear error): the legacy
 * format (magic 02 21 4C 18, `lz4 -l`) and frames that need an external dictionary.
 * Memory: one block (at most 4 MiB) plus 64 KiB of history.
 */

const FRAME_MAGIC = 0x184d2204;
const LEGACY_MAGIC = 0x184c2102;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** How far back a match may reach. */
const WINDOW = 64 * 1024;
const MIN_MATCH = 4;
const BLOCK_SIZES: Readonly<Record<number, number>> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

function corrupt(what: string): Error {
  return new Error(`lz4: corrupt input (${what})`);
}

/**
 * Decodes one LZ4 block from `src` into `dst` at `dStart`, never writing at or past `dLimit`.
 * `dst[0..dStart)` is the history matches may refer to. Returns the end of the output.
 */
export function decodeLz4Block(src: Uint8Array, dst: Uint8Array, dStart: number, dLimit: number): number {
  const sEnd = src.length;
  let s = 0;
  let d = dStart;
  for (;;) {
    if (s >= sEnd) throw corrupt('block ends inside a sequence');
    const token = src[s++] as number;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw corrupt('literal length runs past the block');
        b = src[s++] as number;
        literals += b;
      } while (b === 255);
    }
    if (s + literals > sEnd) throw corrupt('literals run past the block');
    if (d + literals > dLimit) throw corrupt('block larger than its declared maximum');
    dst.set(src.subarray(s, s + literals), d);
    s += literals;
    d += literals;
    // The last sequence carries literals only.
    if (s === sEnd) return d;
    if (s + 2 > sEnd) throw corrupt('match offset runs past the block');
    const offset = (src[s] as number) | ((src[s + 1] as number) << 8);
    s += 2;
    if (offset === 0 || offset > d) throw corrupt('match offset outside the window');
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw corrupt('match length runs past the block');
        b = src[s++] as number;
        length += b;
      } while (b === 255);
    }
    length += MIN_MATCH;
    if (d + length > dLimit) throw corrupt('block larger than its declared maximum');
    // An overlapping match repeats the last `offset` bytes: copy the period, then ever larger
    // multiples of it (the copied region then stays a whole number of periods).
    const from = d - offset;
    for (let written = 0; written < length; ) {
      const n = Math.min(length - written, Math.max(offset, written));
      dst.copyWithin(d + written, from, from + n);
      written += n;
    }
    d += length;
  }
}

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, P2)) >>> 0, 13), P1) >>> 0;
}

/** Incremental XXH32 (seed 0 by default), as LZ4 frames use for their checksums. */
export class Xxh32 {
  private v1: number;
  private v2: number;
  private v3: number;
  private v4: number;
  private total = 0;
  private readonly tail = new Uint8Array(16);
  private tailLength = 0;

  constructor(private readonly seed = 0) {
    this.v1 = (seed + P1 + P2) >>> 0;
    this.v2 = (seed + P2) >>> 0;
    this.v3 = seed >>> 0;
    this.v4 = (seed - P1) >>> 0;
  }

  update(data: Uint8Array): this {
    this.total += data.length;
    let i = 0;
    if (this.tailLength > 0) {
      const take = Math.min(16 - this.tailLength, data.length);
      this.tail.set(data.subarray(0, take), this.tailLength);
      this.tailLength += take;
      i = take;
      if (this.tailLength < 16) return this;
      this.stripe(this.tail, 0);
      this.tailLength = 0;
    }
    for (; i + 16 <= data.length; i += 16) this.stripe(data, i);
    if (i < data.length) {
      this.tail.set(data.subarray(i), 0);
      this.tailLength = data.length - i;
    }
    return this;
  }

  digest(): number {
    let h: number;
    if (this.total >= 16) h = (rotl(this.v1, 1) + rotl(this.v2, 7) + rotl(this.v3, 12) + rotl(this.v4, 18)) >>> 0;
    else h = (this.seed + P5) >>> 0;
    h = (h + this.total) >>> 0;
    const t = this.tail;
    let i = 0;
    for (; i + 4 <= this.tailLength; i += 4) {
      h = (h + Math.imul(readU32(t, i), P3)) >>> 0;
      h = Math.imul(rotl(h, 17), P4) >>> 0;
    }
    for (; i < this.tailLength; i++) {
      h = (h + Math.imul(t[i] as number, P5)) >>> 0;
      h = Math.imul(rotl(h, 11), P1) >>> 0;
    }
    h = Math.imul(h ^ (h >>> 15), P2) >>> 0;
    h = Math.imul(h ^ (h >>> 13), P3) >>> 0;
    return (h ^ (h >>> 16)) >>> 0;
  }

  private stripe(b: Uint8Array, i: number): void {
    this.v1 = round(this.v1, readU32(b, i));
    this.v2 = round(this.v2, readU32(b, i + 4));
    this.v3 = round(this.v3, readU32(b, i + 8));
    this.v4 = round(this.v4, readU32(b, i + 12));
  }
}

/** XXH32 of one buffer. */
export function xxh32(data: Uint8Array, seed = 0): number {
  return new Xxh32(seed).update(data).digest();
}

function readU32(b: Uint8Array, i: number): number {
  return ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24)) >>> 0;
}

/** A FIFO of byte chunks that hands out exact-length slices without re-concatenating everything on each push. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Removes and returns the first `n` bytes (the caller checked `length >= n`). */
  take(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) {
      this.length -= n;
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0] as Buffer;
      const want = n - filled;
      if (c.length <= want) {
        c.copy(out, filled);
        filled += c.length;
        this.chunks.shift();
      } else {
        c.copy(out, filled, 0, want);
        this.chunks[0] = c.subarray(want);
        filled = n;
      }
    }
    this.length -= n;
    return out;
  }

  /** Drops up to `n` bytes; returns how many were dropped. */
  skip(n: number): number {
    let dropped = 0;
    while (dropped < n && this.chunks.length > 0) {
      const c = this.chunks[0] as Buffer;
      const want = n - dropped;
      if (c.length <= want) {
        dropped += c.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(want);
        dropped = n;
      }
    }
    this.length -= dropped;
    return dropped;
  }
}

interface FrameState {
  independent: boolean;
  blockChecksum: boolean;
  contentChecksum: Xxh32 | undefined;
  contentSize: bigint | undefined;
  produced: bigint;
  blockMax: number;
  /** History (last 64 KiB of output) followed by room for one block. */
  window: Uint8Array;
  historyLength: number;
}

type State =
  | { at: 'magic' }
  | { at: 'skipSize' }
  | { at: 'skip'; remaining: number }
  | { at: 'descriptor' }
  | { at: 'descriptorRest'; head: Buffer; rest: number }
  | { at: 'block'; frame: FrameState }
  | { at: 'blockData'; frame: FrameState; size: number; raw: boolean }
  | { at: 'contentChecksum'; frame: FrameState };

/**
 * Decodes LZ4 frames from an async iterable of chunks, yielding one decoded block at a time, so
 * the consumer's pace bounds memory. Throws on malformed input, on a checksum mismatch, on
 * input that ends inside a frame (truncation), and on an empty input.
 */
export async function* decodeLz4(source: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Buffer> {
  const decoder = new Lz4FrameDecoder();
  for await (const chunk of source) {
    decoder.input.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    yield* decoder.run();
  }
  decoder.finish();
}

/** The frame parser's state: input queued, a position in the frame grammar, frames seen. */
class Lz4FrameDecoder {
  readonly input = new ByteQueue();
  private state: State = { at: 'magic' };
  private frames = 0;

  /** Called once the input has ended. */
  finish(): void {
    if (this.state.at !== 'magic' || this.input.length > 0) throw new Error('lz4: unexpected end of input (truncated frame)');
    if (this.frames === 0) throw new Error('lz4: empty input');
  }

  /** Advances through everything the buffered input allows, yielding each decoded block. */
  *run(): Generator<Buffer> {
    for (;;) {
      const st = this.state;
      switch (st.at) {
        case 'magic': {
          if (this.input.length < 4) return;
          const magic = this.input.take(4).readUInt32LE(0);
          if (magic === FRAME_MAGIC) this.state = { at: 'descriptor' };
          else if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) this.state = { at: 'skipSize' };
          else if (magic === LEGACY_MAGIC) throw new Error('lz4: the legacy frame format (lz4 -l) is not supported');
          else throw corrupt(`bad frame magic 0x${magic.toString(16)}`);
          break;
        }
        case 'skipSize': {
          if (this.input.length < 4) return;
          this.state = { at: 'skip', remaining: this.input.take(4).readUInt32LE(0) };
          break;
        }
        case 'skip': {
          st.remaining -= this.input.skip(st.remaining);
          if (st.remaining > 0) return;
          this.frames += 1;
          this.state = { at: 'magic' };
          break;
        }
        case 'descriptor': {
          if (this.input.length < 2) return;
          const head = this.input.take(2);
          const flg = head[0] as number;
          const bd = head[1] as number;
          if (flg >>> 6 !== 1) throw corrupt(`unsupported frame version ${flg >>> 6}`);
          if (flg & 0x02 || bd & 0x8f) throw corrupt('reserved descriptor bits set');
          const blockMax = BLOCK_SIZES[(bd >>> 4) & 7];
          if (blockMax === undefined) throw corrupt('bad block maximum size');
          // Content size (8), dictionary id (4), then the header checksum (1).
          const rest = (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0) + 1;
          this.state = { at: 'descriptorRest', head, rest };
          break;
        }
        case 'descriptorRest': {
          const { head, rest } = st;
          if (this.input.length < rest) return;
          const flg = head[0] as number;
          const blockMax = BLOCK_SIZES[((head[1] as number) >>> 4) & 7] as number;
          const hasSize = (flg & 0x08) !== 0;
          const hasDict = (flg & 0x01) !== 0;
          const tail = this.input.take(rest);
          const descriptor = Buffer.concat([head, tail.subarray(0, rest - 1)]);
          if (((xxh32(descriptor) >>> 8) & 0xff) !== tail[rest - 1]) throw corrupt('frame descriptor checksum mismatch');
          if (hasDict) throw new Error('lz4: frames that need a dictionary are not supported');
          this.state = {
            at: 'block',
            frame: {
              independent: (flg & 0x20) !== 0,
              blockChecksum: (flg & 0x10) !== 0,
              contentChecksum: flg & 0x04 ? new Xxh32() : undefined,
              contentSize: hasSize ? tail.readBigUInt64LE(0) : undefined,
              produced: 0n,
              blockMax,
              window: new Uint8Array(WINDOW + blockMax),
              historyLength: 0,
            },
          };
          break;
        }
        case 'block': {
          if (this.input.length < 4) return;
          const word = this.input.take(4).readUInt32LE(0);
          const frame = st.frame;
          if (word === 0) {
            if (frame.contentChecksum) this.state = { at: 'contentChecksum', frame };
            else this.endFrame(frame);
            break;
          }
          const raw = (word & 0x80000000) !== 0;
          const size = word & 0x7fffffff;
          if (size > frame.blockMax) throw corrupt('block larger than its declared maximum');
          this.state = { at: 'blockData', frame, size, raw };
          break;
        }
        case 'blockData': {
          const { frame, size, raw } = st;
          const need = size + (frame.blockChecksum ? 4 : 0);
          if (this.input.length < need) return;
          const data = this.input.take(size);
          if (frame.blockChecksum) {
            const sum = this.input.take(4).readUInt32LE(0);
            if (xxh32(data) !== sum) throw corrupt('block checksum mismatch');
          }
          const out = this.decodeBlock(frame, data, raw);
          this.state = { at: 'block', frame };
          if (out.length > 0) yield out;
          break;
        }
        case 'contentChecksum': {
          if (this.input.length < 4) return;
          const sum = this.input.take(4).readUInt32LE(0);
          if (st.frame.contentChecksum?.digest() !== sum) throw corrupt('content checksum mismatch');
          this.endFrame(st.frame);
          break;
        }
      }
    }
  }

  private decodeBlock(frame: FrameState, data: Buffer, raw: boolean): Buffer {
    const start = frame.independent ? 0 : frame.historyLength;
    const w = frame.window;
    let end: number;
    if (raw) {
      w.set(data, start);
      end = start + data.length;
    } else {
      end = decodeLz4Block(data, w, start, start + frame.blockMax);
    }
    const out = Buffer.from(w.subarray(start, end));
    frame.contentChecksum?.update(out);
    frame.produced += BigInt(out.length);
    if (!frame.independent) {
      // Keep the last 64 KiB as history for the next block.
      const keep = Math.min(WINDOW, end);
      w.copyWithin(0, end - keep, end);
      frame.historyLength = keep;
    }
    return out;
  }

  private endFrame(frame: FrameState): void {
    if (frame.contentSize !== undefined && frame.contentSize !== frame.produced) {
      throw corrupt(`content size ${frame.contentSize} declared, ${frame.produced} decoded`);
    }
    this.frames += 1;
    this.state = { at: 'magic' };
  }
}
