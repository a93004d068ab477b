/**
 * @module services/locks
 * Path locks of a world (spec F§1.2, 40073 "Lock conflict"): a running upload holds its file's
 * path until it completes, is cancelled or expires; a content save holds it while the body
 * streams. A lock may reserve bytes of its owner's quota (an upload reserves its declared
 * size, a save what it may add), so two writers cannot both pass the capacity check.
 */

import { ApiError, Code } from '../errors.js';

/** 40073, for a path someone else's upload or save holds. */
export const lockConflict = (): ApiError => new ApiError(Code.LockConflict, 'Lock conflict');

export interface PathLock {
  readonly userId: number;
  readonly segments: readonly string[];
  /** Who holds it: an upload session id, or a content save's own token. */
  readonly holder: string;
  /** Bytes reserved in the owner's usage while the lock is held. */
  readonly reserved: number;
  /** Unix ms after which the lock no longer counts (an upload session's expiry). */
  readonly expiresAt?: number;
}

export interface PathLocks {
  /** Takes a lock; false when a live lock is already held on that exact path. */
  acquire(lock: PathLock): boolean;
  /** Gives a lock up (nothing happens when `holder` does not hold it). */
  release(userId: number, segments: readonly string[], holder: string): void;
  /** The live lock on exactly this path, if any. */
  at(userId: number, segments: readonly string[]): PathLock | undefined;
  /** Whether a live lock is held on this path or anywhere below it. */
  within(userId: number, segments: readonly string[]): boolean;
  /** Bytes the user's live locks reserve. */
  reserved(userId: number): number;
}

const keyOf = (userId: number, segments: readonly string[]): string => `${userId}:${segments.join('/')}`;

/** A world's lock table; `now` is the world's clock. */
export function createPathLocks(now: () => number): PathLocks {
  const locks = new Map<string, PathLock>();
  const live = (lock: PathLock | undefined): lock is PathLock => !!lock && (lock.expiresAt === undefined || lock.expiresAt > now());
  return {
    acquire(lock) {
      const key = keyOf(lock.userId, lock.segments);
      if (live(locks.get(key))) return false;
      locks.set(key, { ...lock, segments: [...lock.segments] });
      return true;
    },
    release(userId, segments, holder) {
      const key = keyOf(userId, segments);
      if (locks.get(key)?.holder === holder) locks.delete(key);
    },
    at(userId, segments) {
      const lock = locks.get(keyOf(userId, segments));
      return live(lock) ? lock : undefined;
    },
    within(userId, segments) {
      for (const lock of locks.values()) {
        if (lock.userId === userId && live(lock) && segments.length <= lock.segments.length && segments.every((s, i) => lock.segments[i] === s)) return true;
      }
      return false;
    },
    reserved(userId) {
      let sum = 0;
      for (const lock of locks.values()) if (lock.userId === userId && live(lock)) sum += lock.reserved;
      return sum;
    },
  };
}
