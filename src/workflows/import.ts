/**
 * @module workflows/import
 * `import` (spec §11): walks what a storage policy holds under `src` and creates those files in
 * the owner's drive under `dst`, on that policy. One phase (""), one iteration: progress
 * `indexed` (objects found, total 0) while listing, then `imported` (total = objects found).
 * A target that already exists is skipped; any other file that cannot be created counts in
 * `failed` (Δ4.18; always 0 in 4.0.0), and never fails the task.
 */
import { copyFileSync, constants as fsConstants, linkSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { DriveError } from '../drive/drive.js';
import { isLegalName } from '../drive/uri.js';
import { costOf } from '../engine/profile.js';
import { TaskError, type Task } from '../engine/task.js';
import { listStorage, policyRefuses, type Policy, type StorageObject } from '../storage/policies.js';
import { removeWorkDir, workDirOf, type Resolved, type WithWorkDir, type WorkflowServices } from './services.js';
import type { WorkflowDefinition } from './types.js';

export interface ImportState extends WithWorkDir {
  /** Where the files go: the owner's `my`, `dst` read as a path. */
  dst: Resolved;
  /** The raw policy id of the request. */
  policyId: number;
  recursive: boolean;
}

const stateOf = (task: Task): ImportState => task.state as unknown as ImportState;

/** The share of an import iteration spent listing (the `indexed` key) before importing. */
const LISTING_SHARE = 0.25;

/** Simulated time to list one object. */
const LIST_MS_PER_OBJECT = 2;

export const importFiles: WorkflowDefinition<WorkflowServices> = {
  type: 'import',
  queue: 'io',
  phases: [''],
  progressKeys: { '': ['indexed', 'imported'] },
  usesNode: false,
  steps: {
    async ''({ task, services, profile, progress }) {
      const state = stateOf(task);
      const policy = services.policies.byId(state.policyId);
      const src = task.props.src_str as string;
      if (!policy) throw TaskError.retryable(`failed to list physical files: failed to get policy: storage policy ${state.policyId} not found`);
      const objects = listStorage(policy, src, state.recursive);
      if ('error' in objects) throw TaskError.retryable(`failed to list physical files: ${objects.error}`);
      const n = objects.length;
      progress('indexed', { current: n, total: 0, window: [0, LISTING_SHARE] });
      progress('imported', { current: n, total: n, window: [LISTING_SHARE, 1] });
      const bytes = objects.reduce((a, o) => a + o.size, 0);
      const costMs = costOf(profile, bytes, profile.uploadBytesPerSec) + n * LIST_MS_PER_OBJECT;
      const commit = async () => {
        const failed = importObjects(services, task, state, objects, policy);
        task.props.failed = services.legacy ? 0 : failed;
      };
      return { complete: true, costMs, commit };
    },
  },
  async cleanup(task) {
    await removeWorkDir(task);
  },
};

/** Creates the listed objects in the drive; answers how many failed (existing targets are skipped, not failed). */
function importObjects(services: WorkflowServices, task: Task, state: ImportState, objects: readonly StorageObject[], policy: Policy): number {
  const { userId } = state.dst;
  const owner = services.accounts.userById(userId)!;
  const quota = owner.group.maxStorage;
  let failed = 0;
  for (const o of objects) {
    const target = [...state.dst.segments, ...o.path];
    try {
      if (!target.every(isLegalName)) throw new DriveError('illegal_path', 'Invalid object name');
      if (o.kind === 'folder') {
        services.drive.ensureFolder(userId, target);
        continue;
      }
      if (services.drive.stat(userId, target)) continue; // already there: skipped
      if (policyRefuses(policy, o.path[o.path.length - 1]!, o.size)) throw new DriveError('illegal_path', 'refused by the storage policy');
      if (quota > 0 && services.drive.used(userId) + o.size > quota) throw new DriveError('illegal_path', 'Insufficient capacity');
      services.drive.ensureFolder(userId, target.slice(0, -1));
      const temp = path.join(workDirOf(state, services, task.id), 'import');
      rmSync(temp, { force: true });
      try {
        linkSync(o.disk, temp);
      } catch {
        copyFileSync(o.disk, temp, fsConstants.COPYFILE_FICLONE);
      }
      // The storage may have changed since the listing: the rules apply to what is really there.
      const size = statSync(temp).size;
      if (policyRefuses(policy, o.path[o.path.length - 1]!, size) || (quota > 0 && services.drive.used(userId) + size > quota)) {
        rmSync(temp, { force: true });
        throw new DriveError('illegal_path', 'refused');
      }
      services.drive.commitFile(userId, target, temp, undefined, policy.id);
    } catch {
      // Whatever went wrong with this object (a rule, the quota, a file in the way, or the
      // storage file gone or unreadable since the listing) fails it alone.
      failed += 1;
    }
  }
  return failed;
}
