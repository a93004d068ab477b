/**
 * @module services/files-archive
 * Archives seen from the file endpoints: `GET /file/archive` lists the entries of a ZIP or 7z
 * in the drive (spec F§13), and `POST /file/url` with `archive: true` opens a download session
 * whose signed URL streams a ZIP of several items made on the fly (spec F§12.3).
 */
import { createReadStream, existsSync } from 'node:fs';
import type { User } from '../accounts/accounts.js';
import type { ArchiveFormat } from '../codecs/archive.js';
import type { ZipEntrySource } from '../codecs/zip.js';
import type { RequestBody, RequestQuery, Schemas } from '../contract/index.js';
import { parseUri } from '../drive/uri.js';
import { ApiError, Code } from '../errors.js';
import { HttpReply } from '../http/reply.js';
import { lazy } from '../util/lazy.js';
import { formatTime } from '../util/time.js';
import type { ServiceContext } from './context.js';
import { entityNotExist, notSupported, parse, parseBatch, resolve } from './files.js';

const codecs = lazy(async () => ({ ...(await import('../codecs/open.js')), ...(await import('../codecs/unzip.js')), ...(await import('../codecs/zip.js')) }));

/** Lifetime of an archive download session and its URL (`archive_timeout`), in seconds. */
export const ARCHIVE_SESSION_SECONDS = 600;

export const ArchiveMessages = {
  listNotAllowed: 'Group not allowed to extract archive files',
  fileTooLarge: 'File is too large',
  sessionNotExist: 'Archive session not exist',
  requesterNotFound: 'Requester not found',
  createFailed: 'Failed to create archive',
} as const;

/** Go's zero time, for entries that carry no modification time. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

// ---------------------------------------------------------------------------- GET /file/archive

/**
 * An entry name as the server lists it: `\` → `/`, then cleaned as Go's `path.Clean` does
 * (`.` and empty segments dropped, `..` folded, trailing `/` removed, `.` for nothing), keeping
 * a leading `/`.
 */
export function cleanEntryName(name: string): string {
  const text = name.replace(/\\/g, '/');
  const rooted = text.startsWith('/');
  const out: string[] = [];
  for (const part of text.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** GET /file/archive (spec F§13), checks in the server's order. */
export async function listArchive(
  ctx: ServiceContext,
  caller: User | undefined,
  query: RequestQuery<'listArchiveFiles'>,
): Promise<Schemas['ArchiveListResponse']> {
  if (!caller || !ctx.accounts.hasPermission(caller, 'archive_task')) throw new ApiError(Code.GroupNotAllowed, ArchiveMessages.listNotAllowed);
  const target = resolve(ctx, caller, parse(query.uri));
  if (target.fs !== 'my') throw notSupported();
  const { node, ownerId, segments } = target.object;
  if (node.kind !== 'file') throw notSupported();
  const limit = caller.group.decompressSize;
  if (limit > 0 && node.size > limit) throw new ApiError(Code.FileTooLarge, ArchiveMessages.fileTooLarge);
  const entityId = ctx.drive.entityOf(node)?.id ?? 0;
  if (query.entity && ctx.ids.decode('entity', query.entity) !== entityId) throw entityNotExist();
  const { openArchive, zipCharset } = await codecs();
  const encoding = query.text_encoding ? zipCharset(query.text_encoding) : undefined;
  if (query.text_encoding && !encoding) throw notSupported();
  const extension = node.name.includes('.') ? node.name.slice(node.name.lastIndexOf('.') + 1).toLowerCase() : '';
  if (extension !== 'zip' && extension !== '7z') throw notSupported();
  const format: ArchiveFormat = extension;

  const unreadable = (err: unknown) => new ApiError(Code.Unset, '', undefined, { detail: `failed to read archive: ${(err as Error).message}` });
  const files: Schemas['ArchiveEntry'][] = [];
  let reader;
  try {
    reader = await openArchive(ctx.drive.diskPath(ownerId, segments), format, {
      ...(encoding ? { encoding: query.text_encoding } : {}),
      ...(format === '7z' && query.password ? { password: query.password } : {}),
    });
  } catch (err) {
    throw unreadable(err);
  }
  try {
    for await (const entry of reader.entries()) {
      const directory = entry.kind === 'directory';
      files.push({
        name: cleanEntryName(entry.name),
        size: directory ? 0 : entry.size,
        updated_at: entry.mtime ? formatUtc(entry.mtime) : ZERO_TIME,
        is_directory: directory,
      });
    }
  } catch (err) {
    throw unreadable(err);
  } finally {
    await reader.close().catch(() => {});
  }
  return { files };
}

/** RFC 3339 in UTC (archive times carry no offset here), fractions only when there are any. */
function formatUtc(time: Date): string {
  const iso = time.toISOString();
  const ms = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${ms ? `.${ms}` : ''}Z`;
}

// ---------------------------------------------------------------------------- archive downloads

/**
 * `POST /file/url` with `archive: true` (spec F§12.3), after binding: the batch limit, every
 * URI parses, group bit 4 (→ 40007 with an empty `msg`). The URIs are not resolved now: a
 * session keeps them with the requester for 600 s, and its signed URL is the only one answered.
 */
export function createArchiveSession(
  ctx: ServiceContext,
  caller: User | undefined,
  body: RequestBody<'getFileUrl'>,
  siteUrl: string,
): Schemas['FileUrlResponse'] {
  parseBatch(body.uris);
  if (!caller || !ctx.accounts.hasPermission(caller, 'archive_download')) throw new ApiError(Code.GroupNotAllowed, '');
  const now = ctx.clock.now();
  // Sessions past their time (valid through their last second, like the signature) are forgotten whenever a new one is made.
  for (const [id, s] of ctx.archiveSessions) if (s.expiresAt < now) ctx.archiveSessions.delete(id);
  const expiresAt = now + ARCHIVE_SESSION_SECONDS * 1000;
  const id = ctx.random.uuid();
  ctx.archiveSessions.set(id, { uris: [...body.uris], userId: caller.id, expiresAt });
  const path = `/api/v4/file/archive/${id}/archive.zip`;
  const sign = ctx.signer.sign(path, Math.floor(expiresAt / 1000));
  return {
    urls: [{ url: `${siteUrl}${path}?sign=${encodeURIComponent(sign)}` }],
    expires: formatTime(expiresAt, ctx.site.utcOffsetMinutes, true),
  };
}

/**
 * The entries of an archive download, named as the archive task names them: a top-level file
 * is `/<name>`; a file inside a selected folder is its path relative to the folder's parent
 * (`docs/sub/b.txt` for a folder at the root, `/docs/sub/b.txt` deeper). Folders make no
 * entries, nor do files whose bytes are gone. Each URI is resolved as the requester now; a missing item, a root or an item
 * without download capability fails the whole download.
 */
function collectEntries(ctx: ServiceContext, requester: User, uris: readonly string[]): ZipEntrySource[] {
  const entries: ZipEntrySource[] = [];
  const fail = (cause: unknown) => new ApiError(Code.Unset, ArchiveMessages.createFailed, undefined, { cause });
  for (const text of uris) {
    const uri = parseUri(text);
    if (!uri) throw fail(new ApiError(Code.ParamErr, 'unknown uri'));
    let target;
    try {
      target = resolve(ctx, requester, uri);
      if (target.fs !== 'my' || target.object.segments.length === 0) throw notSupported();
    } catch (err) {
      throw fail(err);
    }
    const { ownerId, segments, node } = target.object;
    // A file whose bytes cannot be found is skipped, as the server skips unreadable files.
    const add = (at: readonly string[], size: number, mtime: number, name: string): void => {
      const disk = ctx.drive.diskPath(ownerId, at);
      if (existsSync(disk)) entries.push({ name, size, mtime: new Date(mtime), open: () => createReadStream(disk) });
    };
    if (node.kind === 'file') {
      add(segments, node.size, node.updatedAt, `/${node.name}`);
      continue;
    }
    const parentPrefix = segments.length > 1 ? '/' : '';
    const base = segments.slice(0, -1).length;
    const walk = (at: string[]): void => {
      for (const child of ctx.drive.children(ownerId, at) ?? []) {
        const childAt = [...at, child.name];
        if (child.kind === 'folder') walk(childAt);
        else add(childAt, child.size, child.updatedAt, parentPrefix + childAt.slice(base).join('/'));
      }
    };
    walk(segments);
  }
  return entries;
}

/** `GET /file/archive/{sessionID}/archive.zip` (spec F§12.3), its signature already checked. */
export async function archiveDownload(ctx: ServiceContext, sessionId: string): Promise<HttpReply> {
  const session = ctx.archiveSessions.get(sessionId);
  if (!session || session.expiresAt < ctx.clock.now()) throw new ApiError(Code.NotFound, ArchiveMessages.sessionNotExist);
  const requester = ctx.accounts.userById(session.userId);
  if (!requester || requester.status !== 'active') throw new ApiError(Code.NotFound, ArchiveMessages.requesterNotFound);
  const entries = collectEntries(ctx, requester, session.uris);
  const { zipStream } = await codecs();
  return new HttpReply(200, { 'Content-Type': 'application/zip', 'Content-Disposition': 'attachment;' }, () => zipStream(entries, { level: 0 }));
}
