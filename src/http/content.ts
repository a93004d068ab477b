/**
 * @module http/content
 * Serving a content version's bytes as the real server does (spec F§12.2): conditional
 * requests on the ETag, one byte range, `Content-Type` from the name or the bytes, and the
 * download disposition. The answer is an `HttpReply` whose body streams from disk.
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import path from 'node:path';
import type { Request } from 'express';
import type { ContentSource } from '../services/files.js';
import { HttpReply } from './reply.js';

const NOT_OVERLAPPING = 'invalid range: failed to overlap';
const INVALID_RANGE = 'invalid range';

/** Content types by extension: Go's built-in table plus the common ones of a system's mime.types. */
const TYPES: Readonly<Record<string, string>> = {
  '.avif': 'image/avif',
  '.css': 'text/css; charset=utf-8',
  '.gif': 'image/gif',
  '.htm': 'text/html; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.jpeg': 'image/jpeg',
  '.jpg': 'image/jpeg',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.mjs': 'text/javascript; charset=utf-8',
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.webp': 'image/webp',
  '.xml': 'text/xml; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.zip': 'application/zip',
  '.7z': 'application/x-7z-compressed',
  '.tar': 'application/x-tar',
  '.gz': 'application/gzip',
  '.mp3': 'audio/mpeg',
  '.mp4': 'video/mp4',
  '.torrent': 'application/x-bittorrent',
};

/** Go's content sniffing, for the signatures that matter here; otherwise text or bytes. */
export function sniffContentType(head: Buffer): string {
  const starts = (sig: string) => head.subarray(0, sig.length).equals(Buffer.from(sig, 'latin1'));
  if (starts('%PDF-')) return 'application/pdf';
  if (starts('\x89PNG\r\n\x1a\n')) return 'image/png';
  if (starts('GIF87a') || starts('GIF89a')) return 'image/gif';
  if (starts('\xff\xd8\xff')) return 'image/jpeg';
  if (starts('PK\x03\x04')) return 'application/zip';
  if (starts('\x1f\x8b\x08')) return 'application/x-gzip';
  if (starts('RIFF') && head.subarray(8, 14).equals(Buffer.from('WEBPVP'))) return 'image/webp';
  const text = head.toString('latin1').trimStart().toLowerCase();
  if (text.startsWith('<!doctype html') || text.startsWith('<html')) return 'text/html; charset=utf-8';
  // Bytes no text file holds make it binary.
  return head.some((b) => b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f))
    ? 'application/octet-stream'
    : 'text/plain; charset=utf-8';
}

/** The first 512 bytes of a file, for sniffing. */
function head(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    return buf.subarray(0, readSync(fd, buf, 0, 512, 0));
  } finally {
    closeSync(fd);
  }
}

/** Go's `url.QueryEscape`: letters, digits and `-_.~` stay, a space is `+`, the rest is percent-encoded. */
function queryEscape(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += c === ' ' ? '+' : /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * `Content-Disposition` for a download: a printable-ASCII name as is; any other name with its
 * non-printable-ASCII characters, `"` and `\` replaced by `_`, plus the exact name in `filename*`.
 */
export function attachmentDisposition(name: string): string {
  if (/^[\x20-\x7e]*$/.test(name) && !/["\\]/.test(name)) return `attachment; filename="${name}"`;
  const plain = [...name].map((c) => (/[\x20-\x7e]/.test(c) && c !== '"' && c !== '\\' ? c : '_')).join('');
  return `attachment; filename="${plain}"; filename*=UTF-8''${queryEscape(name)}`;
}

/** One satisfiable byte range, first and last byte included. */
interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header as Go's `net/http` does: the satisfiable ranges, `'none'` when none
 * overlaps the content, `'invalid'` when the header is malformed.
 */
export function parseRange(header: string, size: number): ByteRange[] | 'none' | 'invalid' {
  if (!header.startsWith('bytes=')) return 'invalid';
  const ranges: ByteRange[] = [];
  let noOverlap = false;
  for (const raw of header.slice(6).split(',')) {
    const spec = raw.trim();
    if (spec === '') continue;
    const dash = spec.indexOf('-');
    if (dash < 0) return 'invalid';
    const first = spec.slice(0, dash).trim();
    const last = spec.slice(dash + 1).trim();
    if (first === '') {
      // A suffix: the last n bytes.
      if (!/^\d+$/.test(last)) return 'invalid';
      const n = Math.min(Number(last), size);
      if (n === 0) {
        noOverlap = true;
        continue;
      }
      ranges.push({ start: size - n, end: size - 1 });
      continue;
    }
    if (!/^\d+$/.test(first)) return 'invalid';
    const start = Number(first);
    if (start >= size) {
      noOverlap = true;
      continue;
    }
    let end = size - 1;
    if (last !== '') {
      if (!/^\d+$/.test(last)) return 'invalid';
      end = Number(last);
      if (end < start) return 'invalid';
      end = Math.min(end, size - 1);
    }
    ranges.push({ start, end });
  }
  if (noOverlap && ranges.length === 0) return 'none';
  return ranges;
}

/** Whether an `If-Match` / `If-None-Match` list names `etag` (`*` names anything; `weak` ignores `W/`). */
function etagListed(list: string, etag: string, weak: boolean): boolean {
  return list.split(',').some((item) => {
    const tag = item.trim();
    if (tag === '*') return true;
    if (weak) return tag.replace(/^W\//, '') === etag;
    return tag === etag;
  });
}

/**
 * The reply serving `source` under the file name `name` to `req`: the whole content (200), one
 * range (206), 304 / 412 for the conditional headers, 416 for a range that cannot be served,
 * or HTTP 404 when the stored data is gone (`source` undefined).
 */
export function contentReply(req: Request, source: ContentSource | undefined, name: string, download: boolean): HttpReply {
  if (!source) return new HttpReply(404, { 'Content-Type': 'text/plain' }, 'Entity data does not exist.');
  const etag = `"${source.etag}"`;
  const base: Record<string, string> = {
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Cache-Control': 'public, max-age=86400',
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Expose-Headers': 'Content-Range, Accept-Ranges, Content-Length, Content-Disposition, ETag',
  };
  const ifMatch = req.get('If-Match');
  if (ifMatch !== undefined && !etagListed(ifMatch, etag, false)) return new HttpReply(412, base);
  const ifNoneMatch = req.get('If-None-Match');
  if (ifNoneMatch !== undefined && etagListed(ifNoneMatch, etag, true)) return new HttpReply(304, base);

  const type = TYPES[path.extname(name).toLowerCase()] ?? sniffContentType(source.disk ? head(source.disk) : Buffer.alloc(0));
  const headers: Record<string, string> = { ...base, 'Content-Type': type };
  if (req.method === 'GET') headers['Content-Security-Policy'] = 'sandbox';
  if (download) headers['Content-Disposition'] = attachmentDisposition(name);

  const { size, disk } = source;
  const open = (start: number, end: number) => () => (disk ? createReadStream(disk, { start, end }) : Readable.from([]));
  const rangeHeader = req.get('Range');
  const ifRange = req.get('If-Range');
  // An empty content ignores Range; so does an If-Range that is not the current ETag.
  if (rangeHeader !== undefined && size > 0 && (ifRange === undefined || ifRange === etag)) {
    const ranges = parseRange(rangeHeader, size);
    if (ranges === 'none' || ranges === 'invalid') {
      const failed: Record<string, string> = {
        ...base,
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
        ...(ranges === 'none' ? { 'Content-Range': `bytes */${size}` } : {}),
      };
      return new HttpReply(416, failed, `${ranges === 'none' ? NOT_OVERLAPPING : INVALID_RANGE}\n`);
    }
    // One range is served as such; several are answered with the whole content.
    const [range] = ranges;
    if (ranges.length === 1 && range) {
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
      headers['Content-Length'] = String(range.end - range.start + 1);
      return new HttpReply(206, headers, open(range.start, range.end));
    }
  }
  headers['Content-Length'] = String(size);
  return new HttpReply(200, headers, size > 0 ? open(0, size - 1) : '');
}
