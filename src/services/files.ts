/**
 * @module services/files
 * The file endpoints the web UI and the SDK browse with (spec F§5–§8, §12, §14): listing,
 * creating, info, download URLs and the content they serve, thumbnails. The file routes have
 * no login guard: the file system refuses anonymous callers itself. Checks run in the
 * server's order; errors are the server's codes and messages.
 */
import { statSync } from 'node:fs';
import type { User } from '../accounts/accounts.js';
import type { RequestBody, RequestQuery, Schemas } from '../contract/index.js';
import { DriveError, type DriveNode, type TrashItem } from '../drive/drive.js';
import { buildUri, isLegalName, parseUri, type CloudreveUri } from '../drive/uri.js';
import { ApiError, Code, Msg } from '../errors.js';
import { policyRefuses } from '../storage/policies.js';
import { encodeBoolset } from '../util/boolset.js';
import { formatTime } from '../util/time.js';
import type { ServiceContext } from './context.js';

export const FileMessages = {
  unknownUri: 'unknown uri',
  permissionDenied: 'Permission denied',
  notSupported: 'Not supported action',
  pathNotExist: 'Path not exist',
  objectExisted: 'Object existed',
  invalidName: 'Invalid object name',
  entityNotExist: 'Entity not exist',
  shareNotExist: 'Shared file does not exist',
  invalidMetadataKey: 'Invalid metadata key',
  invalidMetadataPatch: 'Invalid metadata patch',
  uriRequired: 'uri is required',
  unknownFileId: 'unknown file id',
  batchFailed: 'One or more operation failed',
  entityDataMissing: 'Entity data does not exist.',
} as const;

/** Capability bits of each file system (spec F§1.5). */
const CAPABILITY_BITS = {
  my: [0, 1, 6, 7, 8, 9, 10, 14, 15, 16, 18, 19, 20, 23, 24],
  trash: [9, 14, 15, 17, 19],
  share: [7, 9, 10, 15, 19, 20, 23, 24],
  shared_with_me: [7, 9, 23],
} as const;
export type FsName = keyof typeof CAPABILITY_BITS;

/** The capability boolset each file system sends (`my` → `w8edAQ==`, `trash` → `AMIK`, …). */
export const CAPABILITIES: Readonly<Record<FsName, string>> = {
  my: encodeBoolset(CAPABILITY_BITS.my),
  trash: encodeBoolset(CAPABILITY_BITS.trash),
  share: encodeBoolset(CAPABILITY_BITS.share),
  shared_with_me: encodeBoolset(CAPABILITY_BITS.shared_with_me),
};

/** Listing limits and sort options (spec F§6). */
export const MAX_PAGE_SIZE = 2000;
export const DEFAULT_PAGE_SIZE = 100;
export const ORDER_BY_OPTIONS = ['name', 'size', 'updated_at', 'created_at'] as const;
export const ORDER_DIRECTION_OPTIONS = ['asc', 'desc'] as const;
/** Most URIs one batch request may carry (`max_batched_file`). */
export const MAX_BATCHED_FILES = 3000;
/** Lifetime of a signed content URL, in seconds. */
export const URL_TTL_SECONDS = 3600;

/** Go's zero time, as a zero File object carries it. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

type FileDto = Schemas['File'];

// ---------------------------------------------------------------------------- resolution

const unknownFs = () => new ApiError(Code.Unset, '');
export const pathNotExist = () => new ApiError(Code.ParentNotExist, FileMessages.pathNotExist);
export const notSupported = () => new ApiError(Code.NoPermission, FileMessages.notSupported);
export const entityNotExist = () => new ApiError(Code.EntityNotExist, FileMessages.entityNotExist);

export function parse(text: string): CloudreveUri {
  const uri = parseUri(text);
  if (!uri) throw new ApiError(Code.ParamErr, FileMessages.unknownUri);
  return uri;
}

/**
 * Opens the file system a URI names, as `caller` (spec F§1.2, F§6.2): an unknown host → -1,
 * an anonymous caller in `my`, `trash` or `shared_with_me` → 401, a share → 404 (shares are
 * not simulated), another user's `my` → 403 (admins included), a `my` id that names no user
 * → 40016. Returns the file system and, for `my`, the owner.
 */
export function openFs(ctx: ServiceContext, caller: User | undefined, uri: CloudreveUri): { fs: FsName; ownerId: number } {
  if (!uri.knownFs) throw unknownFs();
  const fs = uri.fs as FsName;
  if (fs === 'share') throw new ApiError(Code.NotFound, FileMessages.shareNotExist);
  if (!caller) throw new ApiError(Code.LoginRequired, Msg.loginRequired);
  if (fs !== 'my' || uri.id === undefined) return { fs, ownerId: caller.id };
  const owner = ctx.ids.decode('user', uri.id);
  if (owner === undefined || !ctx.accounts.userById(owner)) throw pathNotExist();
  if (owner !== caller.id) throw new ApiError(Code.NoPermission, FileMessages.permissionDenied);
  return { fs, ownerId: owner };
}

/** An object of a `my` file system, with where it is. */
export interface MyObject {
  ownerId: number;
  segments: string[];
  node: DriveNode;
}

/**
 * What a URI names: an object of `my`, an item of the caller's trash, or the root of another
 * file system (nothing is ever shared here, so those roots are all there is).
 */
export type Resolved =
  | { fs: 'my'; object: MyObject }
  | { fs: 'trash'; item: TrashItem; ownerId: number }
  | { fs: Exclude<FsName, 'my'>; root: true };

/** Resolves a URI to an existing object; a missing one → 40016 (so is a path below a trash item). */
export function resolve(ctx: ServiceContext, caller: User | undefined, uri: CloudreveUri): Resolved {
  const { fs, ownerId } = openFs(ctx, caller, uri);
  if (fs === 'my') {
    const node = ctx.drive.stat(ownerId, uri.segments);
    if (!node) throw pathNotExist();
    return { fs, object: { ownerId, segments: uri.segments, node } };
  }
  if (fs === 'trash' && uri.segments.length === 1) {
    const item = ctx.drive.trashItems(ownerId).find((i) => i.name === uri.segments[0]);
    if (item) return { fs, item, ownerId };
  }
  if (uri.segments.length > 0) throw pathNotExist();
  return { fs, root: true };
}

// ---------------------------------------------------------------------------- file objects

/** The URI of an object of the caller's own `my`; the root carries a trailing slash. */
export const myPath = (segments: readonly string[]): string => (segments.length === 0 ? 'cloudreve://my/' : buildUri('my', segments));

/** The primary entity id of an object: its current content version, 0 for folders and files without content. */
const primaryEntityId = (ctx: ServiceContext, node: DriveNode): number => (node.kind === 'file' ? (ctx.drive.entityOf(node)?.id ?? 0) : 0);

interface DtoOptions {
  /** Load public metadata (`{}` when none); otherwise `metadata` is null. */
  metadata: boolean;
  /** Made by this request: times carry fractions, as the server's in-memory values do. */
  fresh?: boolean;
}

/** The File object (spec F§5) of a node, keys in the server's order; where it is seen from fills the rest. */
function nodeDto(
  ctx: ServiceContext,
  node: DriveNode,
  view: { path: string; capability: string; metadata: boolean; fresh?: boolean },
): FileDto {
  const time = (ms: number) => formatTime(ms, ctx.site.utcOffsetMinutes, view.fresh ?? false);
  return {
    type: node.kind === 'folder' ? 1 : 0,
    id: ctx.ids.encode('file', node.id),
    name: node.name,
    created_at: time(node.createdAt),
    updated_at: time(node.updatedAt),
    size: node.kind === 'folder' ? 0 : node.size,
    metadata: view.metadata ? { ...ctx.drive.metadataOf(node) } : null,
    path: view.path,
    capability: view.capability,
    owned: true,
    primary_entity: ctx.ids.encode('entity', primaryEntityId(ctx, node)),
  };
}

/** The File object (spec F§5) of an object of the caller's `my`, keys in the server's order. */
export function fileDto(ctx: ServiceContext, object: MyObject, options: DtoOptions): FileDto {
  return nodeDto(ctx, object.node, { path: myPath(object.segments), capability: CAPABILITIES.my, ...options });
}

/**
 * The File object of a trash item (spec F§6.3): its original name, `path`
 * `cloudreve://trash/<internal name>`, and metadata with `sys:restore_uri` and
 * `sys:expected_collect_time`, set when it was deleted.
 */
export function trashFileDto(ctx: ServiceContext, item: TrashItem): FileDto {
  return nodeDto(ctx, item.node, { path: buildUri('trash', [item.name]), capability: CAPABILITIES.trash, metadata: true });
}

/** The zero File object a virtual root (trash, shared with me) lists as its `parent`. */
const zeroFile = (): FileDto => ({ type: 0, id: '', name: '', created_at: ZERO_TIME, updated_at: ZERO_TIME, size: 0, metadata: null });

/** The upload policy of a user's group (spec F§1.6). */
function groupPolicy(ctx: ServiceContext, userId: number): Schemas['StoragePolicy'] {
  const user = ctx.accounts.userById(userId)!;
  return ctx.policies.dto(ctx.policies.byId(user.group.policyId)!, ctx.ids);
}

// ---------------------------------------------------------------------------- GET /file

/** A sort key: the order option, or the id (creation order) for anything else. */
type OrderKey = (typeof ORDER_BY_OPTIONS)[number] | 'id';

const sortValue = (node: DriveNode, key: OrderKey): string | number => {
  switch (key) {
    case 'name':
      return node.name;
    case 'size':
      return node.kind === 'folder' ? 0 : node.size;
    case 'updated_at':
      return node.updatedAt;
    case 'created_at':
      return node.createdAt;
    case 'id':
      return node.id;
  }
};

/** A position in the ordered list: folders before files, then the sort value, then the id. */
interface Position {
  file: boolean;
  value: string | number;
  id: number;
}

const positionOf = (node: DriveNode, key: OrderKey): Position => ({ file: node.kind === 'file', value: sortValue(node, key), id: node.id });

/**
 * Compares strings in UTF-8 byte order (the database's), which is code point order: UTF-16
 * surrogates (D800–DFFF) stand for code points above every other unit, so they move up.
 */
function compareNames(a: string, b: string): number {
  const unit = (c: number) => (c >= 0xe000 ? c - 0x800 : c >= 0xd800 ? c + 0x2000 : c);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = unit(a.charCodeAt(i)) - unit(b.charCodeAt(i));
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Compares two positions; `desc` reverses value and id, never the folders-first rule. */
function comparePositions(a: Position, b: Position, desc: boolean): number {
  if (a.file !== b.file) return a.file ? 1 : -1;
  let c: number;
  if (typeof a.value === 'string' && typeof b.value === 'string') c = compareNames(a.value, b.value);
  else c = Number(a.value) - Number(b.value);
  if (c === 0) c = a.id - b.id;
  return desc ? -c : c;
}

/** The cursor a `next_token` carries: the last item's hashid, its sort value and whether folders are done. */
interface Cursor {
  id: string;
  value: string | number;
  folders_done: boolean;
}

const encodeCursor = (ctx: ServiceContext, p: Position): string =>
  Buffer.from(JSON.stringify({ id: ctx.ids.encode('file', p.id), value: p.value, folders_done: p.file } satisfies Cursor)).toString('base64');

/** Reads a `next_page_token`; anything but a cursor of this listing's order → -1. */
function decodeCursor(ctx: ServiceContext, token: string, key: OrderKey): Position {
  const fail = () => new ApiError(Code.Unset, '', undefined, { detail: 'invalid list cursor' });
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(token)) throw fail();
  let cursor: Partial<Cursor>;
  try {
    cursor = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as Partial<Cursor>;
  } catch {
    throw fail();
  }
  const id = typeof cursor?.id === 'string' ? ctx.ids.decode('file', cursor.id) : undefined;
  const wantType = key === 'name' ? 'string' : 'number';
  if (id === undefined || typeof cursor.value !== wantType || typeof cursor.folders_done !== 'boolean') throw fail();
  return { file: cursor.folders_done, value: cursor.value!, id };
}

/** The text of a URI has a query part (a search): everything before a fragment holding a `?`. */
const isSearch = (text: string): boolean => (text.split('#')[0] ?? '').includes('?');

/** GET /file (spec F§6). */
export function listFiles(ctx: ServiceContext, caller: User | undefined, query: RequestQuery<'listFiles'>): Schemas['ListFilesResponse'] {
  const uri = parse(query.uri);
  const target = resolve(ctx, caller, uri);
  if (target.fs === 'my' && target.object.node.kind !== 'folder') throw pathNotExist();
  if ('item' in target) throw pathNotExist();

  const pageSize = !query.page_size || query.page_size <= 0 ? DEFAULT_PAGE_SIZE : Math.min(query.page_size, MAX_PAGE_SIZE);
  const key: OrderKey = (ORDER_BY_OPTIONS as readonly string[]).includes(query.order_by ?? '') ? (query.order_by as OrderKey) : 'id';
  const desc = query.order_direction === 'desc';
  const search = isSearch(query.uri);

  // Every child, in order; the trash root holds the trash items, shared-with-me nothing.
  const trashItems = target.fs === 'trash' && !search ? ctx.drive.trashItems(caller!.id) : [];
  const nodes =
    target.fs === 'my' && !search ? (ctx.drive.children(target.object.ownerId, target.object.segments) ?? []) : trashItems.map((i) => i.node);
  const children = nodes.map((node) => ({ node, at: positionOf(node, key) })).sort((a, b) => comparePositions(a.at, b.at, desc));

  let page: typeof children;
  let pagination: Schemas['FilePagination'];
  if (ctx.site.cursorPagination) {
    const after = query.next_page_token ? decodeCursor(ctx, query.next_page_token, key) : undefined;
    const rest = after ? children.filter((c) => comparePositions(c.at, after, desc) > 0) : children;
    page = rest.slice(0, pageSize);
    const last = page[page.length - 1];
    pagination = { page: 0, page_size: pageSize, ...(rest.length > pageSize && last ? { next_token: encodeCursor(ctx, last.at) } : {}), is_cursor: true };
  } else {
    const number = query.page ?? 0;
    page = children.slice(number * pageSize, (number + 1) * pageSize);
    pagination = { page: number, page_size: pageSize, ...(children.length > 0 ? { total_items: children.length } : {}), is_cursor: false };
  }

  const view: Schemas['ExplorerView'] = {
    page_size: pageSize,
    ...(query.order_by ? { order: query.order_by } : {}),
    ...(query.order_direction ? { order_direction: query.order_direction } : {}),
    ...(target.fs === 'trash'
      ? { view: 'list' as const, columns: [{ type: 0 }, { type: 2 }, { type: 8 }, { type: 7 }] }
      : { view: 'grid' as const, thumbnail: true }),
  };
  const capability = CAPABILITIES[target.fs];
  const props: Schemas['ListProps'] = {
    capability,
    max_page_size: MAX_PAGE_SIZE,
    order_by_options: search ? null : [...ORDER_BY_OPTIONS],
    order_direction_options: search ? null : [...ORDER_DIRECTION_OPTIONS],
  };

  if (target.fs !== 'my') {
    const files = page.map(({ node }) => trashFileDto(ctx, trashItems.find((i) => i.node === node)!));
    return { files, parent: zeroFile(), pagination, props, context_hint: ctx.random.uuid(), mixed_type: false, view };
  }
  const { ownerId, segments } = target.object;
  return {
    files: page.map(({ node }) => fileDto(ctx, { ownerId, segments: [...segments, node.name], node }, { metadata: true })),
    parent: fileDto(ctx, target.object, { metadata: false }),
    pagination,
    props,
    context_hint: ctx.random.uuid(),
    mixed_type: false,
    storage_policy: groupPolicy(ctx, ownerId),
    view,
  };
}

// ---------------------------------------------------------------------------- POST /file/create

const METADATA_CATEGORIES = new Set(['sys', 'dav', 'thumb', 'customize', 'tag', 'props']);

/** Checks a metadata patch: known categories, and only the two `sys:` keys clients may set (spec F§7). */
export function checkMetadata(ctx: ServiceContext, metadata: Readonly<Record<string, string>> | undefined): void {
  for (const [k, value] of Object.entries(metadata ?? {})) {
    const colon = k.indexOf(':');
    if (colon <= 0 || !METADATA_CATEGORIES.has(k.slice(0, colon))) throw new ApiError(Code.ParamErr, FileMessages.invalidMetadataKey);
    if (k.slice(0, colon) !== 'sys') continue;
    const valid =
      (k === 'sys:shared_owner' && ctx.ids.decode('user', value) !== undefined) ||
      (k === 'sys:shared_redirect' && parseUri(value)?.fs === 'share');
    if (!valid) throw new ApiError(Code.ParamErr, FileMessages.invalidMetadataPatch);
  }
}

/** Writing happens in `my` only: an unknown file system → -1, another one (trash, shares) → 403. */
export function requireMyFs(uri: CloudreveUri): void {
  if (!uri.knownFs) throw unknownFs();
  if (uri.fs !== 'my') throw notSupported();
}

/**
 * How many leading segments of a path exist; the nearest existing one must be a folder (a file
 * on the way to a new object → 403 "Not supported action").
 */
export function existingDepth(ctx: ServiceContext, ownerId: number, segments: readonly string[]): number {
  let depth = 0;
  while (depth < segments.length && ctx.drive.stat(ownerId, segments.slice(0, depth + 1))) depth++;
  if (ctx.drive.stat(ownerId, segments.slice(0, depth))?.kind !== 'folder') throw notSupported();
  return depth;
}

/** POST /file/create (spec F§7). */
export function createFile(ctx: ServiceContext, caller: User | undefined, body: RequestBody<'createFile'>): FileDto {
  const uri = parse(body.uri);
  checkMetadata(ctx, body.metadata);
  requireMyFs(uri);
  const { ownerId } = openFs(ctx, caller, uri);
  const segments = uri.segments;
  const folder = body.type === 'folder';

  const existing = ctx.drive.stat(ownerId, segments);
  if (existing) {
    if ((existing.kind === 'folder') !== folder || body.err_on_conflict) throw new ApiError(Code.ObjectExist, FileMessages.objectExisted);
    return fileDto(ctx, { ownerId, segments, node: existing }, { metadata: false });
  }

  // The nearest existing ancestor must be a folder; each missing segment is then made in turn.
  const depth = existingDepth(ctx, ownerId, segments);
  const owner = ctx.accounts.userById(ownerId)!;
  let node: DriveNode | undefined;
  for (let i = depth; i < segments.length; i++) {
    const name = segments[i]!;
    const part = segments.slice(0, i + 1);
    const last = i === segments.length - 1;
    if (!isLegalName(name)) throw new ApiError(Code.IllegalObjectName, FileMessages.invalidName);
    try {
      if (last && !folder) {
        if (policyRefuses(ctx.policies.byId(owner.group.policyId)!, name, 0)) throw new ApiError(Code.IllegalObjectName, FileMessages.invalidName);
        node = ctx.drive.createFile(ownerId, part);
      } else {
        node = ctx.drive.ensureFolder(ownerId, part);
      }
    } catch (err) {
      if (err instanceof DriveError) throw new ApiError(Code.ObjectExist, FileMessages.objectExisted, undefined, { detail: err.message });
      throw err;
    }
  }
  ctx.drive.patchMetadata(node!, body.metadata ?? {});
  return fileDto(ctx, { ownerId, segments, node: node! }, { metadata: false, fresh: true });
}

// ---------------------------------------------------------------------------- GET /file/info

/** GET /file/info (spec F§8). */
export function fileInfo(ctx: ServiceContext, caller: User | undefined, query: RequestQuery<'getFileInfo'>): FileDto {
  let text = query.uri ?? '';
  if (text === '' && query.id) {
    const id = ctx.ids.decode('file', query.id);
    if (id === undefined) throw new ApiError(Code.ParamErr, FileMessages.unknownFileId);
    const found = ctx.drive.locate(id);
    if (!found) throw pathNotExist();
    // The object's URI in its owner's view.
    text = found.userId === caller?.id ? myPath(found.segments) : buildUri('my', found.segments, ctx.ids.encode('user', found.userId));
  }
  if (text === '') throw new ApiError(Code.ParamErr, FileMessages.uriRequired);
  const target = resolve(ctx, caller, parse(text));
  if (target.fs !== 'my' || target.object.segments.length === 0) throw notSupported();

  const { object } = target;
  const out = fileDto(ctx, object, { metadata: true });
  if (query.folder_summary && object.node.kind === 'folder') out.folder_summary = folderSummary(ctx, object);
  if (query.extended) out.extended_info = extendedInfo(ctx, object);
  return out;
}

/** Recursive counts below a folder, stopping at the group's `max_walked_files` (spec F§5). */
function folderSummary(ctx: ServiceContext, object: MyObject): Schemas['FolderSummary'] {
  const limit = ctx.accounts.userById(object.ownerId)!.group.maxWalkedFiles;
  const summary = { size: 0, files: 0, folders: 0, completed: true };
  const walk = (segments: string[]): void => {
    for (const child of ctx.drive.children(object.ownerId, segments) ?? []) {
      if (summary.files + summary.folders >= limit) {
        summary.completed = false;
        return;
      }
      if (child.kind === 'folder') {
        summary.folders++;
        walk([...segments, child.name]);
      } else {
        summary.files++;
        summary.size += ctx.drive.entityOf(child) ? child.size : 0;
      }
    }
  };
  walk(object.segments);
  return { ...summary, calculated_at: formatTime(ctx.clock.now(), ctx.site.utcOffsetMinutes, true) };
}

/** Storage details of an object: its policy and content versions (spec F§5). */
function extendedInfo(ctx: ServiceContext, object: MyObject): Schemas['ExtendedInfo'] {
  const { node } = object;
  if (node.kind === 'folder') return { storage_used: 0 };
  const policy = ctx.policies.byId(node.policyId ?? 1);
  const policyDto = policy ? ctx.policies.dto(policy, ctx.ids) : undefined;
  const entity = ctx.drive.entityOf(node);
  const owner = ctx.accounts.userById(object.ownerId)!;
  const time = (ms: number) => formatTime(ms, ctx.site.utcOffsetMinutes);
  return {
    ...(policyDto ? { storage_policy: policyDto } : {}),
    storage_used: entity ? node.size : 0,
    ...(entity
      ? {
          entities: [
            {
              id: ctx.ids.encode('entity', entity.id),
              size: node.size,
              type: 0,
              created_at: time(entity.createdAt),
              ...(policyDto ? { storage_policy: policyDto } : {}),
              created_by: { id: ctx.ids.encode('user', owner.id), nickname: owner.nickname, created_at: time(owner.createdAt) },
            },
          ],
        }
      : {}),
  };
}

// ---------------------------------------------------------------------------- POST /file/url

/** A batch item's key in `aggregated_error`: the URI as the server writes it back (spec F§1.3). */
export const aggregatedKey = (text: string): string => text.replace(/\/$/, '').replace(/ /g, '%20');

/**
 * Escapes a file name as a URL path segment the way Go's `url.PathEscape` does: letters,
 * digits, `-_.~` and `$&+:=@` stay, everything else is percent-encoded (upper-case hex).
 */
export function pathEscape(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+:=@]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A batch's URIs, before any work (spec F§1.3): more than `max_batched_file` → 40074; one that does not parse → 40001. */
export function parseBatch(texts: readonly string[]): CloudreveUri[] {
  if (texts.length > MAX_BATCHED_FILES) throw new ApiError(Code.BatchLimitExceeded, `Maximum allowed batch size: ${MAX_BATCHED_FILES}`);
  return texts.map(parse);
}

/** The 40081 of a batch whose items failed (spec F§1.3): one failure's own message, else "One or more operation failed". */
export function batchFailure(failures: ReadonlyArray<readonly [string, ApiError]>): ApiError {
  const msg = failures.length === 1 ? failures[0]![1].message : FileMessages.batchFailed;
  return new ApiError(Code.BatchOperationFailed, msg, undefined, { aggregated: failures });
}

/** POST /file/url (spec F§12.1). `siteUrl` is the origin the URLs start with. */
export function fileUrls(ctx: ServiceContext, caller: User | undefined, body: RequestBody<'getFileUrl'>, siteUrl: string): Schemas['FileUrlResponse'] {
  const uris = parseBatch(body.uris);
  // `archive: true` is answered by services/files-archive.ts (the route sends it there).
  const wanted = body.entity ? (ctx.ids.decode('entity', body.entity) ?? -1) : undefined;

  const nowMs = ctx.clock.now();
  const expiresMs = nowMs + URL_TTL_SECONDS * 1000;
  const expires = Math.floor(expiresMs / 1000);
  const urls: Schemas['FileUrlItem'][] = [];
  const failures: Array<readonly [string, ApiError]> = [];
  uris.forEach((uri, i) => {
    try {
      const target = resolve(ctx, caller, uri);
      if (target.fs === 'trash') throw notSupported();
      if (target.fs !== 'my' || target.object.node.kind === 'folder') throw entityNotExist();
      const { node } = target.object;
      const entityId = primaryEntityId(ctx, node);
      if (wanted !== undefined && wanted !== entityId) throw entityNotExist();
      const hash = ctx.ids.encode('entity', entityId);
      const speed = 0;
      const sign = ctx.signer.sign(`/api/v4/file/content/${hash}/${speed}/${node.name}`, expires);
      urls.push({
        url: `${siteUrl}/api/v4/file/content/${hash}/${speed}/${pathEscape(node.name)}?${body.download ? 'download=true&' : ''}sign=${encodeURIComponent(sign)}`,
      });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      failures.push([aggregatedKey(body.uris[i]!), err]);
      urls.push({ url: '' });
    }
  });
  if (failures.length > 0 && !body.skip_error) throw batchFailure(failures);
  const signed = urls.some((u) => u.url !== '');
  return { urls, expires: signed ? formatTime(expiresMs, ctx.site.utcOffsetMinutes, true) : null };
}

// ---------------------------------------------------------------------------- content

/** What a content URL serves: the entity's bytes on disk (none for the empty content, entity 0). */
export interface ContentSource {
  /** Entity hashid, the ETag. */
  etag: string;
  size: number;
  /** The file holding the bytes; undefined for the empty content. */
  disk?: string;
}

/**
 * The content of entity `entityId` (signature and id already checked, spec F§12.2): an entity
 * that is no file's current content → 40077; stored data gone → undefined (HTTP 404).
 */
export function contentSource(ctx: ServiceContext, entityId: number): ContentSource | undefined {
  const etag = ctx.ids.encode('entity', entityId);
  if (entityId === 0) return { etag, size: 0 };
  const found = ctx.drive.findEntity(entityId);
  if (!found) throw entityNotExist();
  const disk = ctx.drive.diskPath(found.userId, found.segments);
  const info = statSync(disk, { throwIfNoEntry: false });
  if (!info?.isFile()) return undefined;
  return { etag, size: info.size, disk };
}

// ---------------------------------------------------------------------------- GET /file/thumb

/** GET /file/thumb (spec F§14): the simulator makes no thumbnails, so every file answers an error. */
export function fileThumb(ctx: ServiceContext, caller: User | undefined, query: RequestQuery<'getFileThumb'>): Schemas['ThumbResponse'] {
  const target = resolve(ctx, caller, parse(query.uri));
  if (target.fs !== 'my' || target.object.node.kind === 'folder') throw entityNotExist();
  if (!ctx.drive.entityOf(target.object.node)) throw new ApiError(Code.Unset, '', undefined, { detail: 'file has no content' });
  throw entityNotExist();
}
