/**
 * @module remote/torrent
 * Reading a `.torrent` file (BitTorrent metainfo, bencoded): its name, files with sizes, info
 * hash and web seeds. Anything that is not a well-formed torrent gives undefined.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import bencode from 'bencode';

export interface TorrentInfo {
  name: string;
  /** SHA-1 of the bencoded `info` dictionary, hex. */
  hash: string;
  /**
   * Paths relative to the download root ('/'-separated; multi-file torrents start with the name),
   * and each file's own path inside a multi-file torrent (empty for a single-file torrent).
   */
  files: Array<{ name: string; size: number; path: string[] }>;
  /** `url-list` web seeds. */
  webSeeds: string[];
  /** Bytes per piece (`piece length`). */
  pieceLength: number;
  /** The SHA-1 of each piece, 20 bytes each, concatenated. */
  pieces: Buffer;
}

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const text = (v: unknown): string | undefined => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : undefined);
const size = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);

export function parseTorrent(data: Uint8Array): TorrentInfo | undefined {
  let root: unknown;
  try {
    root = bencode.decode(data);
  } catch {
    return undefined;
  }
  if (!isDict(root) || !isDict(root.info)) return undefined;
  const info = root.info;
  const name = text(info['name.utf-8']) ?? text(info.name);
  if (!name) return undefined;
  const files: TorrentInfo['files'] = [];
  if (Array.isArray(info.files)) {
    for (const f of info.files) {
      if (!isDict(f)) return undefined;
      const parts = (Array.isArray(f['path.utf-8']) ? f['path.utf-8'] : f.path) as unknown;
      const length = size(f.length);
      if (!Array.isArray(parts) || parts.length === 0 || length === undefined) return undefined;
      const segs = parts.map(text);
      if (segs.some((s) => s === undefined)) return undefined;
      files.push({ name: [name, ...(segs as string[])].join('/'), size: length, path: segs as string[] });
    }
  } else {
    const length = size(info.length);
    if (length === undefined) return undefined;
    files.push({ name, size: length, path: [] });
  }
  const pieceLength = size(info['piece length']);
  if (!pieceLength || !(info.pieces instanceof Uint8Array) || info.pieces.length % 20 !== 0) return undefined;
  const pieces = Buffer.from(info.pieces);
  const total = files.reduce((a, f) => a + f.size, 0);
  if (pieces.length / 20 !== Math.ceil(total / pieceLength)) return undefined;
  const seeds = root['url-list'];
  const webSeeds = (Array.isArray(seeds) ? seeds : seeds === undefined ? [] : [seeds]).map(text).filter((s): s is string => !!s);
  const hash = createHash('sha1').update(bencode.encode(info)).digest('hex');
  return { name, hash, files, webSeeds, pieceLength, pieces };
}

/**
 * The URL of each file of a torrent on one web seed (BEP 19): a seed ending in `/` is a folder
 * that holds the torrent's name; otherwise a single-file torrent's seed is the file itself and a
 * multi-file torrent's seed is the folder holding the name.
 */
export function webSeedUrls(seed: string, torrent: TorrentInfo): string[] {
  const single = torrent.files.length === 1 && torrent.files[0]!.path.length === 0;
  if (single && !seed.endsWith('/')) return [seed];
  const root = seed.endsWith('/') ? seed : `${seed}/`;
  const name = encodeURIComponent(torrent.name);
  return torrent.files.map((f) => [root + name, ...f.path.map(encodeURIComponent)].join('/'));
}

/**
 * Checks files against a torrent's piece hashes, reading them in order (pieces span files).
 * Resolves to the index of the first bad piece, or -1 when every piece matches.
 */
export async function firstBadPiece(files: readonly string[], torrent: TorrentInfo): Promise<number> {
  let piece = 0;
  let left = torrent.pieceLength;
  let hash = createHash('sha1');
  const check = (): boolean => {
    const ok = hash.digest().equals(torrent.pieces.subarray(piece * 20, piece * 20 + 20));
    piece += 1;
    left = torrent.pieceLength;
    hash = createHash('sha1');
    return ok;
  };
  for (const file of files) {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      let at = 0;
      while (at < chunk.length) {
        const n = Math.min(left, chunk.length - at);
        hash.update(chunk.subarray(at, at + n));
        at += n;
        left -= n;
        if (left === 0 && !check()) return piece - 1;
      }
    }
  }
  if (left < torrent.pieceLength && !check()) return piece - 1;
  return piece === torrent.pieces.length / 20 ? -1 : piece;
}
