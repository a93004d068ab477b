import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { createDecompressor } from './decompress.js';
import type { Compression } from './decompress.js';
import { xxh32 } from './lz4.js';
import { TOOLS, compressWithTool, noise } from '../../test/archives.js';

/** Runs bytes through a decompressor, in small chunks so every decoder sees split input. */
async function decompress(kind: Compression, data: Buffer, chunk = 7): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(parts),
    createDecompressor(kind),
    new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/** An LZ4 frame built by hand: one compressed block with an overlapping match, one stored block. */
function handmadeLz4(options: { badContentSum?: boolean } = {}): { frame: Buffer; content: Buffer } {
  const content = Buffer.from('ab'.repeat(6) + 'z' + 'XYZ');
  const flg = 0x40 | 0x20 | 0x04; // version 01, independent blocks, content checksum
  const bd = 0x40; // 64 KiB blocks
  const hc = (xxh32(Buffer.from([flg, bd])) >>> 8) & 0xff;
  // token: 2 literals, match length 4+6; literals "ab"; offset 2 (overlaps); then "z" alone.
  const block = Buffer.from([0x26, 0x61, 0x62, 0x02, 0x00, 0x10, 0x7a]);
  const stored = Buffer.from('XYZ');
  const sum = xxh32(content) ^ (options.badContentSum ? 1 : 0);
  const frame = Buffer.concat([
    Buffer.from([0x04, 0x22, 0x4d, 0x18, flg, bd, hc]),
    u32(block.length), block,
    u32(0x80000000 | stored.length), stored,
    u32(0),
    u32(sum),
  ]);
  return { frame, content };
}

describe('lz4 frame decoder', () => {
  it('xxh32 matches the reference vectors', () => {
    expect(xxh32(Buffer.alloc(0))).toBe(0x02cc5d05);
    expect(xxh32(Buffer.from('abc'))).toBe(0x32d153ff);
    expect(xxh32(Buffer.from('Nobody inspects the spammish repetition'))).toBe(0xe2293b2f);
  });

  it('decodes a handmade frame (overlapping match, stored block, content checksum), split anywhere', async () => {
    const { frame, content } = handmadeLz4();
    for (const chunk of [1, 2, 3, 5, 64]) expect((await decompress('lz4', frame, chunk)).toString()).toBe(content.toString());
  });

  it('skippable frames are skipped; frames may follow one another', async () => {
    const { frame, content } = handmadeLz4();
    const skippable = Buffer.concat([u32(0x184d2a53), u32(5), Buffer.from('junk!')]);
    expect((await decompress('lz4', Buffer.concat([skippable, frame, frame]))).toString()).toBe(content.toString().repeat(2));
  });

  it('rejects a bad content checksum, a bad header checksum, the legacy format, truncation, empty input', async () => {
    await expect(decompress('lz4', handmadeLz4({ badContentSum: true }).frame)).rejects.toThrow(/content checksum mismatch/);
    const badHeader = Buffer.from(handmadeLz4().frame);
    badHeader[6] = (badHeader[6] as number) ^ 0xff;
    await expect(decompress('lz4', badHeader)).rejects.toThrow(/descriptor checksum/);
    await expect(decompress('lz4', Buffer.concat([u32(0x184c2102), u32(0)]))).rejects.toThrow(/legacy/);
    const { frame } = handmadeLz4();
    await expect(decompress('lz4', frame.subarray(0, frame.length - 3))).rejects.toThrow(/unexpected end of input/);
    await expect(decompress('lz4', Buffer.alloc(0))).rejects.toThrow(/empty input/);
  });

  it('rejects a match reaching before the start of the output', async () => {
    const flg = 0x40 | 0x20;
    const bd = 0x40;
    const hc = (xxh32(Buffer.from([flg, bd])) >>> 8) & 0xff;
    const block = Buffer.from([0x10, 0x61, 0x05, 0x00, 0x10, 0x62]); // "a", then offset 5 with 1 byte of output
    const frame = Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18, flg, bd, hc]), u32(block.length), block, u32(0)]);
    await expect(decompress('lz4', frame)).rejects.toThrow(/offset outside the window/);
  });

  it.runIf(TOOLS.lz4)('round-trips the lz4 CLI on compressible and incompressible data', async () => {
    const data = Buffer.concat([Buffer.from('lorem ipsum dolor sit amet '.repeat(20_000)), noise(300_000, 'n'), Buffer.alloc(200_000)]);
    for (const args of [['-q'], ['-q', '-BD'], ['-q', '-B4', '-BX', '--content-size'], ['-q', '-9']]) {
      expect((await decompress('lz4', compressWithTool('lz4', data, args), 65536)).equals(data), args.join(' ')).toBe(true);
    }
  });
});

describe('decompressors: edge cases', () => {
  it.each(['bz2', 'xz', 'zst', 'lz4'] as const)('%s: empty input is an error', async (kind) => {
    await expect(decompress(kind, Buffer.alloc(0))).rejects.toThrow(/empty input/);
  });

  it.each(['bz2', 'xz', 'zst', 'lz4', 'gz', 'br'] as const)('%s: garbage is an error', async (kind) => {
    await expect(decompress(kind, noise(5000, kind))).rejects.toThrow();
  });

  it.runIf(TOOLS.xz)('xz: a SHA-256 check is refused clearly; CRC-32 and none work', async () => {
    const data = Buffer.from('check types\n'.repeat(1000));
    await expect(decompress('xz', compressWithTool('xz', data, ['-C', 'sha256']))).rejects.toThrow(/SHA-256/);
    expect((await decompress('xz', compressWithTool('xz', data, ['-C', 'crc32']), 4096)).equals(data)).toBe(true);
    expect((await decompress('xz', compressWithTool('xz', data, ['-C', 'none']), 4096)).equals(data)).toBe(true);
  });

  it.runIf(TOOLS.xz)('xz: stream padding is accepted, trailing garbage is not', async () => {
    const data = Buffer.from('padding\n'.repeat(100));
    const xz = compressWithTool('xz', data);
    expect((await decompress('xz', Buffer.concat([xz, Buffer.alloc(8), xz]), 4096)).toString()).toBe(data.toString().repeat(2));
    await expect(decompress('xz', Buffer.concat([xz, Buffer.from('garbage!')]), 4096)).rejects.toThrow(/xz: /);
  });

  it.runIf(TOOLS.bzip2)('bzip2: a damaged block fails its CRC', async () => {
    const data = Buffer.from('bzip2 block crc\n'.repeat(5000));
    const bz = Buffer.from(compressWithTool('bzip2', data));
    for (let i = 40; i < 48; i++) bz[i] = (bz[i] as number) ^ 0x55;
    await expect(decompress('bz2', bz, 4096)).rejects.toThrow(/bzip2: corrupt data/);
  });

  it.runIf(TOOLS.zstd)('zstd: skippable frames and several frames; truncation', async () => {
    const data = Buffer.from('zstd frames\n'.repeat(1000));
    const z = compressWithTool('zstd', data, ['-q']);
    const skippable = Buffer.concat([u32(0x184d2a50), u32(3), Buffer.from('abc')]);
    expect((await decompress('zst', Buffer.concat([skippable, z, z]), 4096)).toString()).toBe(data.toString().repeat(2));
    await expect(decompress('zst', z.subarray(0, z.length - 5), 4096)).rejects.toThrow(/zstd: unexpected end of input/);
  });
});
