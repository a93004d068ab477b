/**
 * @module remote/fetch
 * Real sources: a URL whose host is allowed (`fetchAllow`, loopback by default) is fetched for
 * real over HTTP(S), redirects followed; its bytes become the download's content. Any other URL
 * stays simulated, so tests never reach the network unless told to.
 */
import { createWriteStream } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { globMatch } from '../control/glob.js';

/** Hosts fetched for real unless told otherwise: loopback only. */
export const DEFAULT_FETCH_ALLOW: readonly string[] = ['127.0.0.1', 'localhost', '::1'];

/** The host of an http(s) URL (IPv6 without brackets), or undefined for anything else. */
function httpHost(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  return u.hostname.replace(/^\[|\]$/g, '');
}

/** Whether a URL is to be fetched for real: http(s) and a host matching one of the patterns (`*` globs). */
export function fetchAllowed(url: string, patterns: readonly string[]): boolean {
  const host = httpHost(url);
  return host !== undefined && patterns.some((p) => globMatch(p, host));
}

/** Addresses of the server's own networks: loopback, private, shared, link-local, unspecified. */
const INTERNAL = (() => {
  const list = new BlockList();
  for (const [net, bits] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
  ] as const) {
    list.addSubnet(net, bits, 'ipv4');
  }
  for (const [net, bits] of [
    ['::', 128],
    ['::1', 128],
    ['fc00::', 7],
    ['fe80::', 10],
  ] as const) {
    list.addSubnet(net, bits, 'ipv6');
  }
  return list;
})();

/** What a node lets through its URL check although it looks internal (`url_validation`). */
export interface InternalAllowance {
  /** Host names, any case. */
  hosts?: readonly string[];
  /** Networks as `address/bits`; an entry that is not one is ignored. */
  cidrs?: readonly string[];
}

/** A block list of the networks of `cidrs` that parse. */
function networks(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net, bits, extra] = cidr.trim().split('/');
    const family = isIP(net ?? '');
    const prefix = Number(bits);
    if (extra !== undefined || family === 0 || !/^\d+$/.test(bits ?? '') || prefix > (family === 4 ? 32 : 128)) continue;
    list.addSubnet(net!, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

/**
 * Δ4.18's SSRF rule for download URLs: the reason a URL is refused, or undefined. Refused are
 * `localhost` names and literal addresses of the server's own networks (IPv4-mapped IPv6
 * included), unless `allow` lets the host name or its network through. Host names are not
 * resolved: the simulator never looks them up.
 */
export function internalTarget(url: string, allow: InternalAllowance = {}): string | undefined {
  const host = httpHost(url)?.toLowerCase();
  if (host === undefined) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)?.[1] ?? /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host)?.slice(1);
  const v4 = typeof mapped === 'string' ? mapped : mapped ? hexPairToV4(mapped[0]!, mapped[1]!) : isIP(host) === 4 ? host : undefined;
  const v6 = v4 === undefined && isIP(host) === 6 ? host : undefined;
  const inside = (list: BlockList) => (v4 !== undefined && list.check(v4, 'ipv4')) || (v6 !== undefined && list.check(v6, 'ipv6'));
  const internal = host === 'localhost' || host.endsWith('.localhost') || inside(INTERNAL);
  if (!internal) return undefined;
  if (allow.hosts?.some((h) => h.trim().toLowerCase() === host)) return undefined;
  if (allow.cidrs?.length && inside(networks(allow.cidrs))) return undefined;
  return `host ${JSON.stringify(host)} is an internal address`;
}

const hexPairToV4 = (hi: string, lo: string): string => {
  const a = parseInt(hi, 16);
  const b = parseInt(lo, 16);
  return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
};

/**
 * Fetches `url` into `file`, at most `limit` bytes. Resolves to the size and content type, or to
 * an error text as a downloader would report it ("404 Not Found", "fetch failed: …").
 */
export async function fetchInto(url: string, file: string, limit: number, signal: AbortSignal): Promise<{ size: number; contentType: string } | { error: string }> {
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
  return { size, contentType: res.headers.get('content-type') ?? '' };
}
