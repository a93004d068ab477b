/** @module drive/uri — parsing, building and checking `cloudreve://` URIs and object names (spec W§13, F§7). */

/** The file systems a `cloudreve://` URI can name (the lower-cased host). */
export type FileSystemName = 'my' | 'share' | 'trash' | 'shared_with_me';

/** A parsed `cloudreve://[<id>[:<password>]@]<fs>[/<path>][?<query>][#<fragment>]` URI. */
export interface CloudreveUri {
  /** Lower-cased host as written; may be an unknown file system (e.g. 'foo') — resolving it is the caller's business. */
  fs: string;
  /** True when fs is one of the four known file systems. */
  knownFs: boolean;
  /** The id part before '@' (user hashid for `my`, share id for `share`), or undefined. */
  id?: string;
  /** The password after ':' in the id part (share links), or undefined. */
  password?: string;
  /** The clean absolute path: percent-decoded, '/'-separated, starting with '/', no trailing '/', '.' and '..' resolved and never above '/'. The root is '/'. */
  path: string;
  /** The path's segments (decoded), [] for the root. */
  segments: string[];
}

const KNOWN_FS: ReadonlySet<string> = new Set<FileSystemName>(['my', 'share', 'trash', 'shared_with_me']);

/** Characters Go's `net/url` accepts in a userinfo part (besides alphanumerics). */
const USERINFO_RE = /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/;
/** ASCII characters Go's `net/url` accepts in a host (besides percent escapes); non-ASCII passes. */
const HOST_RE = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:<>"]|[^\x00-\x7f])*$/;
/** Control bytes make Go's `url.Parse` fail ("invalid control character in URL"). */
const CTL_RE = /[\x00-\x1f\x7f]/;
/** A '%' not followed by two hex digits. */
const BAD_ESCAPE_RE = /%(?![0-9A-Fa-f]{2})/;

/**
 * Percent-decodes one URI component. Returns undefined on a malformed escape, on bytes that are
 * not valid UTF-8 (Go would keep them, but a JS string cannot carry them faithfully), or on NUL.
 * Every escape is decoded, `%2F` included; `+` stays a plus sign.
 */
function unescapeComponent(text: string): string | undefined {
  if (BAD_ESCAPE_RE.test(text)) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    return undefined;
  }
  return decoded.includes('\0') ? undefined : decoded;
}

/** Resolves '.', '..' and empty segments of a '/'-separated path, never climbing above the root. */
function cleanSegments(parts: readonly string[]): string[] {
  const out: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

/**
 * Validates and decodes a host the way Go's `net/url` does: an optional bracketed literal, an
 * optional numeric port after the last ':', only host-legal ASCII characters, and percent escapes
 * only for non-ASCII bytes (or `%25`).
 */
function parseHost(host: string): string | undefined {
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0) return undefined;
    const rest = host.slice(close + 1);
    if (rest !== '' && !/^:[0-9]*$/.test(rest)) return undefined;
    return host;
  }
  const colon = host.lastIndexOf(':');
  if (colon >= 0 && !/^:[0-9]*$/.test(host.slice(colon))) return undefined;
  if (!HOST_RE.test(host.replace(/%[0-9A-Fa-f]{2}/g, ''))) return undefined;
  for (const match of host.matchAll(/%([0-9A-Fa-f])[0-9A-Fa-f]?/g)) {
    if (parseInt(match[1] ?? '0', 16) < 8 && match[0].toUpperCase() !== '%25') return undefined;
  }
  return unescapeComponent(host);
}

/**
 * Parses a cloudreve:// URI; returns undefined when the text is not one (wrong scheme, bare path,
 * http://, unparsable, bad percent escape). Never throws.
 *
 * Follows Go's `url.Parse` as the server uses it: the scheme is matched in any case; control
 * characters anywhere make the text unparsable; the fragment (after the first '#') is ignored
 * but must still have valid escapes; the query (after the first '?') is ignored unchecked; the
 * authority runs from `//` to the next '/', its id part ends at the last '@'.
 *
 * Choices where the server's behaviour cannot be mirrored exactly:
 * - `%2F` inside a segment is decoded to '/' before the path is split (as Go does, since the
 *   server works on the decoded `URL.Path`), so `a%2Fb` names two segments `a` and `b`. This is
 *   what makes import's `cloudreve://<uid>@my/%2Fa%2Fb` read back as `/a/b`.
 * - A missing host (`cloudreve://`, `cloudreve:///x`, `cloudreve:/my`) is rejected here rather
 *   than left as an empty unknown file system.
 * - Decoded NUL bytes and byte sequences that are not UTF-8 are rejected: they can never name a file.
 * - An empty id or password (`@my`, `abc:@share`) is reported as undefined, which is how the
 *   server treats an empty one.
 */
export function parseUri(text: string): CloudreveUri | undefined {
  if (typeof text !== 'string' || CTL_RE.test(text)) return undefined;
  const match = /^cloudreve:\/\//i.exec(text);
  if (!match) return undefined;

  let rest = text.slice(match[0].length);
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    if (BAD_ESCAPE_RE.test(rest.slice(hash + 1))) return undefined;
    rest = rest.slice(0, hash);
  }
  const question = rest.indexOf('?');
  if (question >= 0) rest = rest.slice(0, question);

  const slash = rest.indexOf('/');
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const rawPath = slash >= 0 ? rest.slice(slash) : '';

  const at = authority.lastIndexOf('@');
  const rawHost = at >= 0 ? authority.slice(at + 1) : authority;
  if (rawHost === '') return undefined;
  const host = parseHost(rawHost);
  if (host === undefined) return undefined;

  let id: string | undefined;
  let password: string | undefined;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    if (!USERINFO_RE.test(userinfo)) return undefined;
    const colon = userinfo.indexOf(':');
    const rawId = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    id = unescapeComponent(rawId);
    if (id === undefined) return undefined;
    if (colon >= 0) {
      password = unescapeComponent(userinfo.slice(colon + 1));
      if (password === undefined) return undefined;
    }
  }

  const decodedPath = unescapeComponent(rawPath);
  if (decodedPath === undefined) return undefined;
  // One trailing '/' is dropped by the server; cleaning would drop it anyway.
  const segments = cleanSegments(decodedPath.split('/'));

  const fs = host.toLowerCase();
  const uri: CloudreveUri = {
    fs,
    knownFs: KNOWN_FS.has(fs),
    path: '/' + segments.join('/'),
    segments,
  };
  if (id) uri.id = id;
  if (password) uri.password = password;
  return uri;
}

/** Characters encodeURIComponent leaves alone. */
const UNRESERVED_RE = /^[A-Za-z0-9\-_.!~*'()]$/;
const UTF8 = new TextEncoder();

/**
 * Escapes one path segment the way the server builds URIs (like encodeURIComponent: everything
 * except A–Z a–z 0–9 - _ . ! ~ * ' ( ), upper-case hex). Unlike encodeURIComponent it never
 * throws: a lone surrogate is escaped as U+FFFD.
 */
export function escapeSegment(segment: string): string {
  let out = '';
  for (const char of segment) {
    if (UNRESERVED_RE.test(char)) {
      out += char;
      continue;
    }
    for (const byte of UTF8.encode(char)) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * Builds `cloudreve://[id@]fs/seg1/seg2` from parts with escapeSegment per segment; the root gives
 * `cloudreve://[id@]fs` (no trailing slash). The id is escaped like a segment except that ':' is
 * kept, so a share link's `<id>:<password>` can be passed as the id; an empty id is omitted.
 */
export function buildUri(fs: string, segments: readonly string[], id?: string): string {
  const userinfo = id ? id.split(':').map(escapeSegment).join(':') + '@' : '';
  return `cloudreve://${userinfo}${fs}${segments.map((s) => '/' + escapeSegment(s)).join('')}`;
}

/**
 * Joins a child path (already-decoded, '/'-separated, possibly containing '..' or '\\' turned into
 * '/') under `base` segments; returns undefined if the result would leave `base` (zip-slip guard).
 *
 * Backslashes count as separators, leading slashes are ignored (an absolute path is taken as
 * relative to `base`), and '.', '..' and empty segments are resolved over the whole joined path,
 * as the server does with `path.Join` before its prefix check. So only the final result matters:
 * with base `['out']`, `'../out/x'` is accepted as `['out', 'x']`. A result equal to `base` itself
 * (`''`, `'a/..'`) names nothing inside it and also gives undefined.
 */
export function joinInside(base: readonly string[], relative: string): string[] | undefined {
  const joined = cleanSegments([...base, ...relative.replace(/\\/g, '/').split('/')]);
  if (joined.length <= base.length) return undefined;
  for (let i = 0; i < base.length; i++) if (joined[i] !== base[i]) return undefined;
  return joined;
}

/** The characters a file or folder name may not contain. */
const FORBIDDEN_NAME_CHARS = /[\\/:*?"<>|]/;

/**
 * Checks a single file or folder name the way the server does for new objects: not empty,
 * < 256 UTF-8 bytes, none of \ / : * ? " < > |, not '.' or '..'.
 */
export function isLegalName(name: string): boolean {
  if (name === '' || name === '.' || name === '..') return false;
  if (UTF8.encode(name).length >= 256) return false;
  return !FORBIDDEN_NAME_CHARS.test(name);
}
