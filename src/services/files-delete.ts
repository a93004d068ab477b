/**
 * @module services/files-delete
 * `DELETE /file` (spec F§11): each URI on its own, to the trash (soft delete, `my` only) or
 * for good (`my` and `trash`), failures aggregated into 40081 (spec F§1.3). A trash item keeps
 * the deleted object (a folder with everything below it) under an internal UUID name, with the
 * URI to restore it to and the time it is due for collection in its metadata.
 */
import type { User } from '../accounts/accounts.js';
import type { RequestBody } from '../contract/index.js';
import { buildUri } from '../drive/uri.js';
import { ApiError, Code } from '../errors.js';
import type { ServiceContext } from './context.js';
import { aggregatedKey, batchFailure, notSupported, parseBatch, resolve } from './files.js';
import { lockConflict } from './locks.js';
import { sweepUploads } from './uploads.js';

export const DeleteMessages = {
  advanceDeleteRequired: 'advance delete permission is required',
} as const;

/** DELETE /file (spec F§11). */
export function deleteFiles(ctx: ServiceContext, caller: User | undefined, body: RequestBody<'deleteFiles'>): void {
  const uris = parseBatch(body.uris);
  if (body.unlink && !(caller && ctx.accounts.hasPermission(caller, 'advance_delete'))) {
    throw new ApiError(Code.NoPermission, DeleteMessages.advanceDeleteRequired);
  }
  const permanent = body.skip_soft_delete ?? false;
  // A running upload or save locks its path: a target at or above it fails the whole request first.
  sweepUploads(ctx);
  for (const uri of uris) {
    let target;
    try {
      target = resolve(ctx, caller, uri);
    } catch {
      continue;
    }
    if (target.fs === 'my' && target.object.segments.length > 0 && ctx.locks.within(target.object.ownerId, target.object.segments)) {
      throw lockConflict();
    }
  }
  const failures: Array<readonly [string, ApiError]> = [];
  uris.forEach((uri, i) => {
    try {
      const target = resolve(ctx, caller, uri);
      if (permanent) {
        // `unlink` would keep the stored data; here the data is removed either way (nothing can reach it).
        if (target.fs === 'my' && target.object.segments.length > 0) ctx.drive.remove(target.object.ownerId, target.object.segments);
        else if (target.fs === 'trash' && 'item' in target) ctx.drive.purge(target.ownerId, target.item.name);
        else throw notSupported();
        return;
      }
      if (target.fs !== 'my' || target.object.segments.length === 0) throw notSupported();
      const { ownerId, segments } = target.object;
      const now = ctx.clock.now();
      const item = ctx.drive.trash(ownerId, segments, ctx.random.uuid(), now);
      ctx.drive.patchMetadata(item.node, {
        'sys:restore_uri': buildUri('my', segments),
        'sys:expected_collect_time': String(Math.floor(now / 1000) + ctx.accounts.userById(ownerId)!.group.trashRetention),
      });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      failures.push([aggregatedKey(body.uris[i]!), err]);
    }
  });
  if (failures.length > 0) throw batchFailure(failures);
}
