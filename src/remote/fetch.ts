/**
 * @module remote/fetch
 * Real sources: a URL whose host is allowed (`fetchAllow`, loopback by default) is fetched for
 * real over HTTP(S), redirects followed; its bytes become the download's content. Any other URL
 * stays simulated, so tests never reach the network unless told to.
 */
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { globMatch } from '../control/glob.js';

/** Hosts fetched for real unless told otherwise: loopback only. */
export const DEFAULT_FETCH_ALLOW: readonly string[] = ['127.0.0.1', 'localhost', '::1'];

/** Whether a URL is to be fetched for real: http(s) and a host matching one of the patterns (`*` globs). */
export function fetchAllowed(url: string, patterns: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return patterns.some((p) => globMatch(p, host));
}

/**
 * Fetches `url` into `file`, at most `limit` bytes. Resolves to the size, or to an error text
 * as a downloader would report it ("404 Not Found", "fetch failed: …").
 */
export async function fetchInto(url: string, file: string, limit: number, signal: AbortSignal): Promise<{ size: number } | { error: string }> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal });
  } catch (err) {
    if (signal.aborted) throw err;
    return { error: `fetch failed: ${(err as Error).message}` };
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    return { error: `${res.status} ${res.statusText}`.trim() };
  }
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      done(size > limit ? new Error(`larger than ${limit} bytes`) : null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as never), counter, createWriteStream(file), { signal });
  } catch (err) {
    if (signal.aborted) throw err;
    return { error: `fetch failed: ${(err as Error).message}` };
  }
  return { size };
}
