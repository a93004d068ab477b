/**
 * @module remote/torrent
 * Reading a `.torrent` file (BitTorrent metainfo, bencoded): its name, files with sizes, info
 * hash and web seeds. Anything that is not a well-formed torrent gives undefined.
 */
import { createHash } from 'node:crypto';
import bencode from 'bencode';

export interface TorrentInfo {
  name: string;
  /** SHA-1 of the bencoded `info` dictionary, hex. */
  hash: string;
  /** Paths relative to the download root ('/'-separated; multi-file torrents start with the name). */
  files: Array<{ name: string; size: number }>;
  /** `url-list` web seeds. */
  webSeeds: string[];
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
      files.push({ name: [name, ...(segs as string[])].join('/'), size: length });
    }
  } else {
    const length = size(info.length);
    if (length === undefined) return undefined;
    files.push({ name, size: length });
  }
  const seeds = root['url-list'];
  const webSeeds = (Array.isArray(seeds) ? seeds : seeds === undefined ? [] : [seeds]).map(text).filter((s): s is string => !!s);
  const hash = createHash('sha1').update(bencode.encode(info)).digest('hex');
  return { name, hash, files, webSeeds };
}
