/**
 * @module services/uploads
 * Writing content (spec F§9, §10): `PUT /file/content` saves a request body as a file's new
 * content, and upload sessions take a file in chunks (`PUT /file/upload`, `POST
 * /file/upload/:id/:index`, `DELETE /file/upload`). Bodies are streamed to a temporary file
 * beside the drives and committed with one rename; nothing is buffered whole. Sessions live
 * in the world (`ctx.uploads`); an expired one is refused and what it left is removed when
 * sessions are next touched. Both writers hold a lock on their path (`ctx.locks`) while they
 * work, reserving the bytes they may add, so nothing else writes, deletes or overfills there.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { User } from '../accounts/accounts.js';
import type { RequestBody, RequestQuery, Schemas } from '../contract/index.js';
import { DriveError, removeTempDir, type DriveNode } from '../drive/drive.js';
import { buildUri, isLegalName } from '../drive/uri.js';
import { ApiError, Code } from '../errors.js';
import { policyRefuses, type Policy } from '../storage/policies.js';
import type { ServiceContext } from './context.js';
import { lockConflict } from './locks.js';
import { capacity } from './user.js';
import { checkMetadata, existingDepth, FileMessages, fileDto, notSupported, openFs, parse, pathNotExist, requireMyFs } from './files.js';

export const UploadMessages = {
  tooLarge: 'File is too large',
  insufficientCapacity: 'Insufficient capacity',
  staleVersion: 'File is updated during your edit',
  unknownVersion: 'Unknown version ID',
  invalidContentLength: 'invalid content length',
  unknownPolicyId: 'unknown policy id',
  sessionNotFound: 'Upload session not found',
  chunkIndexTooLarge: 'Chunk index cannot be greater than 0',
  chunkOffsetTooLarge: 'Chunk offset cannot be greater than file size',
  sizeMismatch: 'Uploaded data does not match purposed size',
  uploadFailed: 'Failed to upload file',
} as const;

/** Largest body `PUT /file/content` takes (`maxEditSize`). */
export const MAX_EDIT_SIZE = 52428800;
/** Lifetime of an upload session (`upload_session_timeout`), in seconds. */
export const UPLOAD_SESSION_TTL_SECONDS = 86400;
const SESSION_META = 'sys:upload_session_id';

/** An upload in progress. */
export interface UploadSession {
  readonly id: string;
  readonly ownerId: number;
  readonly segments: readonly string[];
  readonly size: number;
  readonly chunkSize: number;
  readonly policyId: number;
  /** Unix ms. */
  readonly expiresAt: number;
  /** Unix ms to give the file as `updated_at`; 0 for the completion time. */
  readonly lastModified: number;
  /** The session made the file (a placeholder) rather than a new version of an existing one. */
  readonly placeholder: boolean;
  /** `live_photo` uploads add a secondary entity: the file's own content stays as it is. */
  readonly entityType: '' | 'version' | 'live_photo';
  readonly tempDir: string;
  /** The temporary file the chunks are written into. */
  readonly file: string;
  readonly received: Set<number>;
  /** Chunks streaming now, each with the way to stop it and a promise settled when it has stopped. */
  readonly writers: Map<AbortController, Promise<void>>;
  /** The last chunk has arrived and the file is being committed: no chunk is taken any more. */
  completing: boolean;
}

/**
 * Ends a session: chunks still streaming are stopped (they answer 40011), its lock and
 * temporary data go; with `dropPlaceholder`, so does a placeholder it made that is still one.
 */
function endSession(ctx: ServiceContext, session: UploadSession, dropPlaceholder: boolean): void {
  ctx.uploads.delete(session.id);
  ctx.locks.release(session.ownerId, session.segments, session.id);
  for (const writer of session.writers.keys()) writer.abort();
  removeTempDir(session.tempDir);
  const node = ctx.drive.stat(session.ownerId, session.segments);
  if (!node || ctx.drive.metadataOf(node)[SESSION_META] !== session.id) return;
  if (dropPlaceholder && session.placeholder && !ctx.drive.entityOf(node)) ctx.drive.remove(session.ownerId, session.segments);
  else ctx.drive.unsetMetadata(node, [SESSION_META]);
}

/** Removes every expired session and what it left (not one being completed: it is done already). */
export function sweepUploads(ctx: ServiceContext): void {
  const now = ctx.clock.now();
  for (const s of [...ctx.uploads.values()]) if (s.expiresAt <= now && !s.completing) endSession(ctx, s, true);
}

/** The owner's quota and usage, what running uploads and saves reserve included. */
const capacityOf = (ctx: ServiceContext, userId: number) => capacity(ctx, ctx.accounts.userById(userId)!);

const sessionGone = () => new ApiError(Code.UploadSessionExpired, '');

/**
 * Name rules for every segment still to be made, then the policy's rules for the file; a
 * refused name is 40052, or a plain error (-1) in 4.0.0 mode (spec F§16).
 */
function checkNewFile(ctx: ServiceContext, ownerId: number, segments: readonly string[], policy: Policy, size: number): void {
  const invalidName = () => (ctx.site.legacy ? new ApiError(Code.Unset, '') : new ApiError(Code.IllegalObjectName, FileMessages.invalidName));
  for (let i = 0; i < segments.length; i++) {
    if (!ctx.drive.stat(ownerId, segments.slice(0, i + 1)) && !isLegalName(segments[i]!)) throw invalidName();
  }
  const refusal = policyRefuses(policy, segments[segments.length - 1]!, size);
  if (refusal === 'name_refused') throw invalidName();
  if (refusal === 'too_large') throw new ApiError(Code.FileTooLarge, UploadMessages.tooLarge);
}

/** `previous` against the file's current entity (`[0,8]` for a file without content). */
function checkPrevious(ctx: ServiceContext, node: DriveNode, previous: string | undefined): void {
  if (!previous) return;
  const id = ctx.ids.decode('entity', previous);
  if (id === undefined) throw new ApiError(Code.ParamErr, UploadMessages.unknownVersion);
  if (id !== (ctx.drive.entityOf(node)?.id ?? 0)) throw new ApiError(Code.StaleVersion, UploadMessages.staleVersion);
}

/**
 * Streams `body` into `file` at byte `start`, refusing more than `expected` bytes; fewer
 * (the client gave up) → 50004. `signal` stops the writing at once (the session ended under
 * it); the request itself is left alone, so it can still be answered.
 */
async function receive(body: Readable, file: string, start: number, expected: number, signal?: AbortSignal): Promise<void> {
  let got = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      got += chunk.length;
      done(got > expected ? new Error('body longer than announced') : null, chunk);
    },
  });
  const stop = () => count.destroy(new Error('the upload ended while this body streamed'));
  const left = () => {
    if (!body.readableEnded) count.destroy(new Error('the client left before the body ended'));
  };
  signal?.addEventListener('abort', stop, { once: true });
  body.once('close', left);
  body.pipe(count);
  try {
    await pipeline(count, createWriteStream(file, { flags: 'r+', start }));
  } catch (err) {
    throw new ApiError(Code.IOFailed, UploadMessages.sizeMismatch, undefined, { detail: (err as Error).message });
  } finally {
    signal?.removeEventListener('abort', stop);
    body.off('close', left);
    body.unpipe(count);
  }
  if (got !== expected) throw new ApiError(Code.IOFailed, UploadMessages.sizeMismatch);
}

// ---------------------------------------------------------------------------- PUT /file/content

/** The largest length Go reads from a header (an int64). */
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The declared size of a body: `Content-Length`, else `X-Expected-Entity-Length`, else 0. A
 * value that is not a length Go can read → 40001; a huge one is returned as it is (and then
 * refused as too large).
 */
function declaredSize(header: (name: string) => string | undefined): number {
  const text = (header('content-length') ?? header('x-expected-entity-length'))?.trim();
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text) || BigInt(text) > INT64_MAX) throw new ApiError(Code.ParamErr, UploadMessages.invalidContentLength);
  return Number(text);
}

/** PUT /file/content (spec F§9): the body (a stream) becomes the file's new content. */
export async function updateFileContent(
  ctx: ServiceContext,
  caller: User | undefined,
  query: RequestQuery<'updateFileContent'>,
  body: Readable,
  header: (name: string) => string | undefined,
): Promise<Schemas['File']> {
  const chunked = header('content-length') === undefined && header('x-expected-entity-length') === undefined;
  const size = declaredSize(header);
  if (size > MAX_EDIT_SIZE) throw new ApiError(Code.FileTooLarge, UploadMessages.tooLarge);
  const uri = parse(query.uri);
  requireMyFs(uri);
  const { ownerId } = openFs(ctx, caller, uri);
  const segments = uri.segments;
  if (segments.length === 0) throw new ApiError(Code.ObjectExist, FileMessages.objectExisted);
  sweepUploads(ctx);
  const existing = ctx.drive.stat(ownerId, segments);
  if (existing?.kind === 'folder') throw new ApiError(Code.ObjectExist, FileMessages.objectExisted);
  if (!existing) existingDepth(ctx, ownerId, segments);
  if (ctx.locks.at(ownerId, segments)) throw lockConflict();
  const owner = ctx.accounts.userById(ownerId)!;
  const policy = ctx.policies.byId(existing?.policyId ?? owner.group.policyId)!;
  checkNewFile(ctx, ownerId, segments, policy, size);
  const { total, used } = capacityOf(ctx, ownerId);
  const growth = size - (existing?.size ?? 0);
  if (used + growth > total) throw new ApiError(Code.InsufficientCapacity, UploadMessages.insufficientCapacity);
  if (existing) checkPrevious(ctx, existing, query.previous);

  // Hold the path while the body streams: another save, an upload or a delete there → 40073.
  const holder = ctx.random.uuid();
  ctx.locks.acquire({ userId: ownerId, segments, holder, reserved: Math.max(0, growth) });
  let dir: string | undefined;
  try {
    dir = ctx.drive.makeTempDir('content');
    const file = path.join(dir, 'content');
    writeFileSync(file, '');
    if (chunked) body.resume(); // the server writes an empty version for a body of unknown length
    else await receive(body, file, 0, size);
    let node: DriveNode;
    try {
      node = ctx.drive.commitFile(ownerId, segments, file, undefined, policy.id);
    } catch (err) {
      if (err instanceof DriveError) throw new ApiError(Code.ObjectExist, FileMessages.objectExisted, undefined, { detail: err.message });
      throw err;
    }
    return fileDto(ctx, { ownerId, segments: [...segments], node }, { metadata: false, fresh: true });
  } finally {
    ctx.locks.release(ownerId, segments, holder);
    removeTempDir(dir);
  }
}

// ---------------------------------------------------------------------------- PUT /file/upload

/** 32 characters from the world's random source (the unused `callback_secret`). */
function secret(ctx: ServiceContext): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...ctx.random.bytes(32)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** PUT /file/upload (spec F§10.1). */
export function createUploadSession(ctx: ServiceContext, caller: User | undefined, body: RequestBody<'createUploadSession'>): Schemas['UploadSession'] {
  const uri = parse(body.uri);
  if (body.policy_id && ctx.ids.decode('policy', body.policy_id) === undefined) throw new ApiError(Code.ParamErr, UploadMessages.unknownPolicyId);
  checkMetadata(ctx, body.metadata);
  requireMyFs(uri);
  const { ownerId } = openFs(ctx, caller, uri);
  const segments = uri.segments;
  sweepUploads(ctx);
  const size = body.size ?? 0;
  const existing = segments.length === 0 ? ctx.drive.stat(ownerId, []) : ctx.drive.stat(ownerId, segments);
  const version = body.entity_type === 'version';
  if (existing && (!body.entity_type || existing.kind === 'folder')) throw new ApiError(Code.ObjectExist, FileMessages.objectExisted);
  if (!existing && body.entity_type === 'live_photo') throw pathNotExist();
  if (!existing) existingDepth(ctx, ownerId, segments);
  if (ctx.locks.at(ownerId, segments)) throw lockConflict();
  const owner = ctx.accounts.userById(ownerId)!;
  const policy = ctx.policies.byId(owner.group.policyId)!;
  checkNewFile(ctx, ownerId, segments, policy, size);
  const { total, used } = capacityOf(ctx, ownerId);
  if (used + size > total) throw new ApiError(Code.InsufficientCapacity, UploadMessages.insufficientCapacity);
  if (existing && version) checkPrevious(ctx, existing, body.previous);

  const id = ctx.random.uuid();
  const expiresAt = ctx.clock.now() + UPLOAD_SESSION_TTL_SECONDS * 1000;
  // The session's folder first: a placeholder never stands without a session behind it.
  const tempDir = ctx.drive.makeTempDir('upload');
  const file = path.join(tempDir, 'data');
  let node = existing;
  try {
    writeFileSync(file, '');
    if (!node) {
      ctx.drive.ensureFolder(ownerId, segments.slice(0, -1));
      node = ctx.drive.createFile(ownerId, segments, policy.id);
      ctx.drive.patchMetadata(node, body.metadata ?? {});
    }
  } catch (err) {
    removeTempDir(tempDir);
    if (err instanceof DriveError) throw new ApiError(Code.ObjectExist, FileMessages.objectExisted, undefined, { detail: err.message });
    throw err;
  }
  ctx.drive.patchMetadata(node, { [SESSION_META]: id });
  // The lock reserves the declared size in the owner's usage until the session ends.
  ctx.locks.acquire({ userId: ownerId, segments, holder: id, reserved: size, expiresAt });
  ctx.uploads.set(id, {
    id,
    ownerId,
    segments: [...segments],
    size,
    chunkSize: policy.chunkSize,
    policyId: policy.id,
    expiresAt,
    lastModified: body.last_modified && body.last_modified > 0 ? body.last_modified : 0,
    placeholder: !existing,
    entityType: body.entity_type ?? '',
    tempDir,
    file,
    received: new Set(),
    writers: new Map(),
    completing: false,
  });
  return {
    session_id: id,
    upload_id: '',
    chunk_size: policy.chunkSize,
    expires: Math.floor(expiresAt / 1000),
    storage_policy: ctx.policies.dto(policy, ctx.ids),
    uri: buildUri('my', segments),
    callback_secret: secret(ctx),
  };
}

// ---------------------------------------------------------------------------- POST /file/upload/:id/:index

/** How many chunks a session takes. */
const chunkCount = (s: UploadSession): number => (s.size === 0 || s.chunkSize === 0 ? 1 : Math.ceil(s.size / s.chunkSize));

/** POST /file/upload/:sessionId/:index (spec F§10.2): one chunk, streamed; the last missing one completes the file. */
export async function uploadChunk(
  ctx: ServiceContext,
  caller: User | undefined,
  sessionId: string,
  index: number,
  body: Readable,
  header: (name: string) => string | undefined,
): Promise<void> {
  sweepUploads(ctx);
  const session = ctx.uploads.get(sessionId);
  if (!session || session.completing || !caller || session.ownerId !== caller.id) throw sessionGone();
  const node = ctx.drive.stat(session.ownerId, session.segments);
  if (!node || node.kind !== 'file') throw pathNotExist();
  // Only local storage takes chunks through the server; other policies upload to their storage.
  if (ctx.policies.byId(session.policyId)?.type !== 'local') throw new ApiError(Code.PolicyNotAllowed, '');
  if (session.chunkSize === 0 && index > 0) throw new ApiError(Code.InvalidChunkIndex, UploadMessages.chunkIndexTooLarge);
  const start = index * session.chunkSize;
  if (index > 0 && start >= session.size) throw new ApiError(Code.InvalidChunkIndex, UploadMessages.chunkOffsetTooLarge);
  const expected = session.chunkSize === 0 ? session.size : Math.min(session.chunkSize, session.size - start);
  const length = Number(header('content-length') ?? '0');
  if (length !== expected) throw new ApiError(Code.InvalidContentLength, `Invalid Content-Length (expected: ${expected})`);

  // The session may end while the chunk streams (cancelled, expired, or completed by another
  // request): the writing stops then, and the chunk is answered as one of an ended session.
  const ended = () => ctx.uploads.get(sessionId) !== session || session.completing;
  const writer = new AbortController();
  const writing = receive(body, session.file, start, expected, writer.signal);
  session.writers.set(
    writer,
    writing.then(
      () => undefined,
      () => undefined,
    ),
  );
  try {
    await writing;
  } catch (err) {
    throw ended() ? sessionGone() : err;
  } finally {
    session.writers.delete(writer);
  }
  if (ended()) throw sessionGone();
  session.received.add(index);
  // 4.18 completes once every chunk has arrived; 4.0.0 on the highest index, whatever is missing (spec F§16).
  const last = chunkCount(session) - 1;
  if (ctx.site.legacy ? index !== last : session.received.size <= last) return;
  await complete(ctx, session);
}

/**
 * The last missing chunk has arrived: chunks still streaming (re-sent ones) are stopped and
 * awaited, so nothing writes into the file once it is in the drive; then the file is
 * committed (a live photo is a secondary entity, and the file's content stays). The lock is
 * held until it is done. A failure ends the session as a cancel would.
 */
async function complete(ctx: ServiceContext, session: UploadSession): Promise<void> {
  session.completing = true;
  for (const writer of session.writers.keys()) writer.abort();
  await Promise.all(session.writers.values());
  try {
    if (session.entityType !== 'live_photo') {
      ctx.drive.commitFile(session.ownerId, session.segments, session.file, session.lastModified || undefined, session.policyId);
    }
    const done = ctx.drive.stat(session.ownerId, session.segments);
    if (done) ctx.drive.unsetMetadata(done, [SESSION_META]);
  } catch (err) {
    endSession(ctx, session, true);
    throw new ApiError(Code.Unset, '', undefined, { detail: `failed to complete upload: ${(err as Error).message}` });
  }
  ctx.uploads.delete(session.id);
  ctx.locks.release(session.ownerId, session.segments, session.id);
  removeTempDir(session.tempDir);
}

// ---------------------------------------------------------------------------- DELETE /file/upload

/** DELETE /file/upload (spec F§10.3). */
export function deleteUploadSession(ctx: ServiceContext, caller: User | undefined, body: RequestBody<'deleteUploadSession'>): void {
  const uri = parse(body.uri);
  requireMyFs(uri);
  const { ownerId } = openFs(ctx, caller, uri);
  sweepUploads(ctx);
  const node = ctx.drive.stat(ownerId, uri.segments);
  if (!node) throw pathNotExist();
  if (uri.segments.length === 0) throw notSupported();
  const session = ctx.uploads.get(body.id);
  if (session && (session.ownerId !== ownerId || session.segments.join('/') !== uri.segments.join('/'))) {
    throw new ApiError(Code.NotFound, UploadMessages.sessionNotFound);
  }
  // A session whose last chunk is being committed has finished: there is nothing to cancel.
  if (session?.completing) return;
  if (!session) {
    // An unknown or finished session: only the upload marks go (spec F§10.3 step 5).
    ctx.drive.unsetMetadata(node, [SESSION_META, 'thumb:disabled']);
    return;
  }
  endSession(ctx, session, true);
}
