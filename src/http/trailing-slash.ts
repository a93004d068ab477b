/**
 * @module http/trailing-slash
 * The real server's router answers a path that differs from a route only by one trailing
 * slash with a redirect to the path without it: 301 for GET, 307 for any other method (spec
 * W§1.1). Before the route runs, so nothing else happens: no token check, no
 * `Cache-Control`. The redirect is written as Go's `http.Redirect` writes it: `Location` with
 * the path re-escaped and cleaned and the query kept as sent, and for GET a short HTML body.
 */
import path from 'node:path';
import type { RequestHandler } from 'express';

/** Bytes Go leaves unescaped in a URL path: unreserved characters and `$&+,/:;=@`. */
const PATH_SAFE = /^[A-Za-z0-9\-_.~$&+,/:;=@]$/;

/** A decoded path escaped as Go's `URL.EscapedPath` escapes a path it has to encode. */
export function goEscapePath(decoded: string): string {
  let out = '';
  for (const byte of Buffer.from(decoded, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && PATH_SAFE.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Go's `path.Clean`: no empty, `.` or `..` segments, no trailing slash but the root's; `.` for nothing. */
export function goCleanPath(p: string): string {
  const clean = path.posix.normalize(p);
  return clean.length > 1 && clean.endsWith('/') ? clean.slice(0, -1) : clean;
}

/** `X-Forwarded-Prefix` as Go's router uses it: cleaned, stripped to `[a-zA-Z0-9/-]`, repeated slashes collapsed; undefined without one. */
function forwardedPrefix(header: string | undefined): string | undefined {
  const prefix = goCleanPath(header ?? '');
  return prefix === '.' ? undefined : prefix.replace(/[^a-zA-Z0-9/-]+/g, '').replace(/\/{2,}/g, '/');
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };

/**
 * Redirects a request whose path, less one trailing slash, is a route for its method
 * (`routeFor`, given the path relative to the mount and the method). Anything else goes on.
 */
export function trailingSlashRedirect(routeFor: (method: string, path: string) => unknown): RequestHandler {
  return function trailingSlash(req, res, next) {
    const relative = req.path;
    // One slash only: `/a//` is no route's path less one slash.
    if (relative.length < 2 || !relative.endsWith('/') || relative.endsWith('//')) return next();
    if (!routeFor(req.method, relative.slice(0, -1))) return next();
    const url = req.originalUrl;
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    let decoded: string;
    try {
      decoded = decodeURIComponent(rawPath);
    } catch {
      return next();
    }
    const prefix = forwardedPrefix(req.get('X-Forwarded-Prefix'));
    const target = (prefix === undefined ? '' : `${prefix}/`) + decoded.slice(0, -1);
    const location = goCleanPath(goEscapePath(target)) + (q < 0 ? '' : url.slice(q));
    const get = req.method === 'GET';
    res.status(get ? 301 : 307).setHeader('Location', location);
    if (get || req.method === 'HEAD') res.setHeader('Content-Type', 'text/html; charset=utf-8');
    const body = get ? `<a href="${location.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)}">Moved Permanently</a>.\n\n` : '';
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(body);
  };
}
