/**
 * @module services/workflow
 * Creating workflow tasks, with the real server's checks in its order.
 */
import type { RequestBody, Schemas } from '../contract/index.js';
import type { User } from '../accounts/accounts.js';
import { DriveError } from '../drive/drive.js';
import { escapeSegment, isLegalName, parseUri } from '../drive/uri.js';
import { ApiError, Code } from '../errors.js';
import type { ArchiveState } from '../workflows/create-archive.js';
import type { ExtractState } from '../workflows/extract-archive.js';
import type { DownloadState } from '../workflows/remote-download.js';
import type { ImportState } from '../workflows/import.js';
import type { RelocateState } from '../workflows/relocate.js';
import type { ServiceContext } from './context.js';
import { preferredNode, taskDto } from './tasks.js';
import type { Task } from '../engine/task.js';

const Messages = {
  compressNotAllowed: 'Group not allowed to compress files',
  invalidDestination: 'Invalid destination',
  objectExisted: 'Object existed',
  notSupportedAction: 'Not supported action',
  permissionDenied: 'Permission denied',
  invalidObjectName: 'Invalid object name',
  insufficientCapacity: 'Insufficient capacity',
  noSourceFiles: 'No source files',
  pathNotExist: 'Path not exist',
} as const;

/** POST /workflow/archive (spec §8.2). */
export function createArchive(ctx: ServiceContext, caller: User, body: RequestBody<'createArchive'>): Schemas['TaskResponse'] {
  if (!ctx.accounts.hasPermission(caller, 'archive_task')) throw new ApiError(Code.GroupNotAllowed, Messages.compressNotAllowed);
  const uri = parseUri(body.dst);
  if (!uri) throw new ApiError(Code.ParamErr, Messages.invalidDestination);

  // The destination probe: the server tries an upload of an empty file at dst and returns its
  // error as is; missing parent folders are created and stay.
  if (!uri.knownFs) throw new ApiError(Code.Unset, '');
  if (uri.fs !== 'my') throw new ApiError(Code.NoPermission, Messages.notSupportedAction);
  if (uri.id !== undefined && ctx.ids.decode('user', uri.id) !== caller.id) {
    throw new ApiError(Code.NoPermission, Messages.permissionDenied);
  }
  const segments = uri.segments;
  if (segments.length === 0 || ctx.drive.stat(caller.id, segments)) throw new ApiError(Code.ObjectExist, Messages.objectExisted);
  for (let i = segments.length - 1; i >= 0 && !ctx.drive.stat(caller.id, segments.slice(0, i + 1)); i--) {
    if (!isLegalName(segments[i]!)) {
      throw ctx.site.legacy ? new ApiError(Code.Unset, '') : new ApiError(Code.IllegalObjectName, Messages.invalidObjectName);
    }
  }
  const quota = caller.group.maxStorage;
  if (quota > 0 && ctx.drive.used(caller.id) > quota) throw new ApiError(Code.InsufficientCapacity, Messages.insufficientCapacity);
  try {
    ctx.drive.ensureFolder(caller.id, segments.slice(0, -1));
  } catch (err) {
    if (err instanceof DriveError && err.reason === 'exists') throw new ApiError(Code.ObjectExist, Messages.objectExisted);
    throw err;
  }

  const state: ArchiveState = { dst: { userId: caller.id, segments } };
  const task = ctx.engine.create(
    'create_archive',
    caller.id,
    { dst: body.dst, failed: 0, src_multiple: body.src },
    state as unknown as Record<string, unknown>,
  );
  preferNode(ctx, task, body.preferred_node_id);
  return taskDto(ctx, task, true);
}

/** POST /workflow/extract (spec §9.2). Only `src[0]` is used, and it is not checked until the task runs. */
export function createExtract(ctx: ServiceContext, caller: User, body: RequestBody<'extractArchive'>): Schemas['TaskResponse'] {
  if (!ctx.accounts.hasPermission(caller, 'archive_task')) throw new ApiError(Code.GroupNotAllowed, Messages.compressNotAllowed);
  const uri = parseUri(body.dst);
  if (!uri) throw new ApiError(Code.ParamErr, Messages.invalidDestination);
  if (body.src.length === 0) throw new ApiError(Code.ParamErr, Messages.noSourceFiles);
  // The destination must exist in a file system that takes new files; its code is inherited.
  const segments = resolveExisting(ctx, caller, uri, Messages.invalidDestination);

  const src = body.src[0]!;
  const state: ExtractState = {
    dst: { userId: caller.id, segments },
    ...(body.encoding ? { encoding: body.encoding } : {}),
    ...(body.password ? { password: body.password } : {}),
    ...(body.file_mask && body.file_mask.length > 0 ? { fileMask: body.file_mask } : {}),
    resumeAt: 0,
  };
  const task = ctx.engine.create('extract_archive', caller.id, { dst: body.dst, src }, state as unknown as Record<string, unknown>);
  preferNode(ctx, task, body.preferred_node_id);
  return taskDto(ctx, task, true);
}

/** POST /workflow/download (spec §10.1): one queued task per non-empty URL, plus one for `src_file`. */
export function createDownload(ctx: ServiceContext, caller: User, body: RequestBody<'createDownload'>): Schemas['TaskResponse'][] {
  if (!ctx.accounts.hasPermission(caller, 'remote_download')) throw new ApiError(Code.GroupNotAllowed, 'Group not allowed to download files');
  const urls = body.src ?? [];
  const file = body.src_file ?? '';
  if (file === '' && urls.length === 0) throw new ApiError(Code.ParamErr, Messages.noSourceFiles);
  if (file !== '' && urls.length > 0) throw new ApiError(Code.ParamErr, 'Invalid source files');
  const dst = resolveWritable(ctx, caller, body.dst, Messages.invalidDestination);
  const batch = caller.group.aria2Batch;
  // Empty strings count toward the batch limit.
  if (batch > 0 && urls.length > batch) throw new ApiError(Code.BatchSizeExceeded, '');
  let torrent: string[] | undefined;
  if (file !== '') {
    const uri = parseUri(file);
    if (!uri) throw new ApiError(Code.ParamErr, 'Invalid source file uri');
    torrent = resolveExisting(ctx, caller, uri, 'Invalid source file');
  }
  const make = (src: string, srcStr: string, torrentFile?: string[]) => {
    const state: DownloadState = { dst, polls: 0, stored: [], ...(torrentFile ? { torrentFile: { userId: caller.id, segments: torrentFile } } : {}) };
    const task = ctx.engine.create(
      'remote_download',
      caller.id,
      { download: null, dst: body.dst, failed: 0, src, src_str: srcStr },
      state as unknown as Record<string, unknown>,
    );
    preferNode(ctx, task, body.preferred_node_id);
    return taskDto(ctx, task, true);
  };
  const out = urls.filter((u) => u !== '').map((u) => make('', u));
  if (torrent) out.push(make(file, '', torrent));
  return out;
}

/** Pro: the task runs on the node `preferred_node_id` names, when the cluster has it. */
function preferNode(ctx: ServiceContext, task: Task, text: string | undefined): void {
  const id = preferredNode(ctx, text);
  if (id !== undefined) task.preferredNodeId = id;
}

/** The place a URI names in the caller's `my`, which must exist; other cases fail with `msg` and the inherited code. */
function resolveExisting(ctx: ServiceContext, caller: User, uri: NonNullable<ReturnType<typeof parseUri>>, msg: string): string[] {
  const invalid = (code: number) => new ApiError(Code.ParamErr, msg, undefined, { cause: new ApiError(code, '') });
  if (!uri.knownFs) throw invalid(Code.ParamErr);
  if (uri.fs !== 'my') throw invalid(Code.NoPermission);
  if (uri.id !== undefined && ctx.ids.decode('user', uri.id) !== caller.id) throw invalid(Code.NoPermission);
  if (!ctx.drive.stat(caller.id, uri.segments)) throw invalid(Code.ParentNotExist);
  return uri.segments;
}

/** A destination folder URI of the caller: unparsable → 40001, else as `resolveExisting`. */
function resolveWritable(ctx: ServiceContext, caller: User, text: string, msg: string) {
  const uri = parseUri(text);
  if (!uri) throw new ApiError(Code.ParamErr, msg);
  return { userId: caller.id, segments: resolveExisting(ctx, caller, uri, msg) };
}

const TASK_NOT_FOUND = 'Task not found';

/** The caller's own live task, or 404 "Task not found" (admins included). */
function ownLiveTask(ctx: ServiceContext, caller: User, taskId: number) {
  const task = ctx.engine.live(taskId);
  if (!task || task.ownerId !== caller.id) throw new ApiError(Code.NotFound, TASK_NOT_FOUND);
  return task;
}

/** PATCH /workflow/download/:id (spec §10.4). */
export function selectDownloadFiles(ctx: ServiceContext, caller: User, taskId: number, body: RequestBody<'selectDownloadFiles'>): undefined {
  const task = ownLiveTask(ctx, caller, taskId);
  if (task.status === 'queued') throw new ApiError(Code.NotFound, 'Task not in processing state');
  if (task.type !== 'remote_download' || task.phase !== 'monitor') throw new ApiError(Code.NotFound, 'Task not in monitoring loop');
  try {
    ctx.downloader.select(task.id, body.files);
  } catch (err) {
    throw new ApiError(Code.InternalSetting, 'Failed to set download files', undefined, { detail: (err as Error).message });
  }
  return undefined;
}

/** DELETE /workflow/download/:id (spec §10.5): asynchronous, the task turns canceled at its next poll. */
export function cancelDownload(ctx: ServiceContext, caller: User, taskId: number): undefined {
  const task = ownLiveTask(ctx, caller, taskId);
  // No job yet, or not a download: success with no effect; the task carries on.
  if (task.type === 'remote_download') ctx.downloader.remove(task.id);
  return undefined;
}

/** POST /workflow/import (spec §11): admin only (the guard ran); the task belongs to the target user. */
export function createImport(ctx: ServiceContext, _caller: User, body: RequestBody<'importFiles'>): Schemas['TaskResponse'] {
  const userId = ctx.ids.decode('user', body.user_id);
  if (userId === undefined) throw new ApiError(Code.ParamErr, 'Invalid user id');
  const owner = ctx.accounts.userById(userId);
  if (!owner || owner.status !== 'active') throw new ApiError(Code.DBError, 'Failed to get user');
  // The server joins the whole dst, escaped as one segment, to the target user's `my` root.
  // "." and ".." clean away to the root, which the server writes without a path.
  const escaped = escapeSegment(body.dst);
  const dst = `cloudreve://${ctx.ids.encode('user', owner.id)}@my${escaped === '.' || escaped === '..' ? '' : `/${escaped}`}`;
  const segments = body.dst.split('/').filter((s) => s !== '' && s !== '.');
  const state: ImportState = { dst: { userId: owner.id, segments: cleanSegments(segments) }, policyId: body.policy_id, recursive: body.recursive ?? false };
  const task = ctx.engine.create(
    'import',
    owner.id,
    { dst, dst_policy_id: body.policy_id > 0 ? ctx.ids.encode('policy', body.policy_id) : '', failed: 0, src_str: body.src },
    state as unknown as Record<string, unknown>,
  );
  return taskDto(ctx, task, true);
}

/** `..` climbs, and never above the root (as a cleaned path). */
function cleanSegments(segments: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of segments) {
    if (s === '..') out.pop();
    else out.push(s);
  }
  return out;
}

/** POST /workflow/reloacte (Pro, spec §12): sources are checked when the task runs. */
export function createRelocate(ctx: ServiceContext, caller: User, body: RequestBody<'relocateFiles'>): Schemas['TaskResponse'] {
  if (body.src.length === 0) throw new ApiError(Code.ParamErr, Messages.noSourceFiles);
  const policyId = ctx.ids.decode('policy', body.dst_policy_id);
  if (policyId === undefined) throw new ApiError(Code.ParamErr, 'unknown policy id');
  if (!ctx.policies.byId(policyId)) throw new ApiError(Code.ParamErr, 'unknown policy id');
  const state: RelocateState = { policyId };
  const task = ctx.engine.create(
    'relocate',
    caller.id,
    { dst_policy_id: body.dst_policy_id, failed: 0, src_multiple: body.src },
    state as unknown as Record<string, unknown>,
  );
  return taskDto(ctx, task, true);
}
