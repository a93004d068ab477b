import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bencode from 'bencode';
import { afterEach, describe, expect, it } from 'vitest';
import { firstBadPiece, parseTorrent, webSeedUrls } from './torrent.js';
import { pieceBits } from './downloader.js';

const PIECE = 4;
const hashes = (data: Buffer) =>
  Buffer.concat(Array.from({ length: Math.ceil(data.length / PIECE) }, (_, i) => createHash('sha1').update(data.subarray(i * PIECE, (i + 1) * PIECE)).digest()));
const a = Buffer.from('abcdefg');
const b = Buffer.from('hijklm');
const multi = (extra: Record<string, unknown> = {}) =>
  Buffer.from(
    bencode.encode({
      info: { files: [{ length: 7, path: ['a.txt'] }, { length: 6, path: ['d', 'b c.txt'] }], name: 'My T', 'piece length': PIECE, pieces: hashes(Buffer.concat([a, b])) },
      'url-list': ['http://seed/x/', 'http://seed/y'],
      ...extra,
    }),
  );

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const files = (...data: Buffer[]) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'torrent-test-'));
  dirs.push(dir);
  return data.map((d, i) => {
    const f = path.join(dir, String(i));
    writeFileSync(f, d);
    return f;
  });
};

describe('parseTorrent', () => {
  it('reads name, files with their own paths, pieces and web seeds', () => {
    const t = parseTorrent(multi())!;
    expect(t).toMatchObject({
      name: 'My T',
      files: [
        { name: 'My T/a.txt', size: 7, path: ['a.txt'] },
        { name: 'My T/d/b c.txt', size: 6, path: ['d', 'b c.txt'] },
      ],
      webSeeds: ['http://seed/x/', 'http://seed/y'],
      pieceLength: 4,
    });
    expect(t.pieces.length).toBe(80);
    expect(t.hash).toMatch(/^[0-9a-f]{40}$/);
  });

  it('refuses a torrent whose piece count does not fit its size, or with no piece length', () => {
    const wrong = Buffer.from(bencode.encode({ info: { length: 9, name: 'x', 'piece length': 4, pieces: Buffer.alloc(20) } }));
    expect(parseTorrent(wrong)).toBeUndefined();
    const none = Buffer.from(bencode.encode({ info: { length: 9, name: 'x', pieces: Buffer.alloc(60) } }));
    expect(parseTorrent(none)).toBeUndefined();
    expect(parseTorrent(Buffer.from('not bencode'))).toBeUndefined();
  });
});

describe('webSeedUrls (BEP 19)', () => {
  const t = parseTorrent(multi())!;
  it('appends name and path to a multi-file seed, with or without a final slash, escaping each segment', () => {
    expect(webSeedUrls('http://seed/x/', t)).toEqual(['http://seed/x/My%20T/a.txt', 'http://seed/x/My%20T/d/b%20c.txt']);
    expect(webSeedUrls('http://seed/y', t)).toEqual(['http://seed/y/My%20T/a.txt', 'http://seed/y/My%20T/d/b%20c.txt']);
  });
  it('takes a single-file seed as the file, unless it ends in a slash', () => {
    const single = parseTorrent(Buffer.from(bencode.encode({ info: { length: 7, name: 'a b', 'piece length': PIECE, pieces: hashes(a) } })))!;
    expect(webSeedUrls('http://s/file.bin', single)).toEqual(['http://s/file.bin']);
    expect(webSeedUrls('http://s/dir/', single)).toEqual(['http://s/dir/a%20b']);
  });
});

describe('firstBadPiece', () => {
  const t = parseTorrent(multi())!;
  it('is -1 when pieces spanning files all match', async () => {
    expect(await firstBadPiece(files(a, b), t)).toBe(-1);
  });
  it('names the first piece that does not match, including the short last one', async () => {
    expect(await firstBadPiece(files(Buffer.from('abcdXfg'), b), t)).toBe(1);
    expect(await firstBadPiece(files(a, Buffer.from('hijklX')), t)).toBe(3);
  });
  it('reports missing bytes as the first piece not covered', async () => {
    expect(await firstBadPiece(files(a, Buffer.from('hij')), t)).toBe(2);
  });
});

describe('pieceBits', () => {
  it('sets piece i at bit i % 8 of byte i >> 3 when all its bytes are downloaded', () => {
    // Files of 5 and 7 bytes, 4-byte pieces: [0,4) [4,8) [8,12).
    expect(pieceBits([{ size: 5 }, { size: 7 }], [5, 7], 4)).toEqual({ bits: Buffer.from([0b111]), count: 3 });
    expect(pieceBits([{ size: 5 }, { size: 7 }], [5, 3], 4)).toEqual({ bits: Buffer.from([0b011]), count: 3 });
    expect(pieceBits([{ size: 5 }, { size: 7 }], [0, 7], 4)).toEqual({ bits: Buffer.from([0b100]), count: 3 });
    expect(pieceBits([{ size: 0 }], [0], 4)).toEqual({ bits: Buffer.alloc(0), count: 0 });
  });
  it('uses as many bytes as pieces need', () => {
    const r = pieceBits([{ size: 40 }], [40], 4);
    expect(r.count).toBe(10);
    expect([...r.bits]).toEqual([0xff, 0b11]);
  });
});
