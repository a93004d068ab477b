/**
 * @module workflows/create-archive
 * `create_archive` on the master node (spec §8.3): "" allocates a work folder,
 * `compress_files` writes a real ZIP there, `upload_archive` moves it into place at `dst`.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ZipEntrySource } from '../codecs/zip.js';
import type { DriveNode } from '../drive/drive.js';
import { costOf } from '../engine/profile.js';
import { TaskError, type Task } from '../engine/task.js';
import { lazy } from '../util/lazy.js';
import { removeWorkDir, resolveMy, workDirOf, type Resolved, type WithWorkDir, type WorkflowServices } from './services.js';
import type { StepContext, WorkflowDefinition } from './types.js';

const loadZip = lazy(() => import('../codecs/zip.js'));

/** What the archive task keeps between iterations. */
export interface ArchiveState extends WithWorkDir {
  /** Where the archive goes. */
  dst: Resolved;
}

const stateOf = (task: Task): ArchiveState => task.state as unknown as ArchiveState;

interface Collected {
  entries: ZipEntrySource[];
  failed: number;
}

/**
 * Gathers the ZIP entries of the sources, named as the server names them: a top-level file is
 * `/<name>`; a file inside a selected folder is its path relative to the folder's parent
 * (`docs/sub/b.txt` for a folder at the root, `/docs/sub/b.txt` deeper). Folders make no entries.
 */
async function collect(ctx: StepContext<WorkflowServices>): Promise<Collected> {
  const { task, services } = ctx;
  const owner = services.accounts.userById(task.ownerId)!;
  const limit = owner.group.compressSize;
  const maxWalked = owner.group.maxWalkedFiles;
  const sources = task.props.src_multiple as string[];
  const out: Collected = { entries: [], failed: 0 };
  let total = 0;

  const entryOf = (r: Resolved, node: DriveNode, name: string): ZipEntrySource => {
    const file = services.drive.diskPath(r.userId, r.segments);
    return { name, size: node.size, mtime: new Date(node.updatedAt), open: () => createReadStream(file) };
  };

  for (const src of sources) {
    const r = resolveMy(services, owner, src);
    if (typeof r === 'string') {
      if (r === 'unparsable') throw TaskError.critical(`failed to create uri from strings: invalid uri ${JSON.stringify(src)}`);
      throw TaskError.retryable(`failed to compress files: failed to get file ${src}: ${r === 'permission_denied' ? 'Permission denied' : 'Not supported action'}`);
    }
    const node = r.segments.length === 0 ? undefined : services.drive.stat(r.userId, r.segments);
    if (!node) throw TaskError.retryable(`failed to compress files: failed to get file ${src}: Path not exist`);
    if (node.kind === 'file') {
      total += node.size;
      if (limit > 0 && total > limit) {
        throw TaskError.critical(
          'failed to compress files: File is too large: total size of to-be compressed file exceed group limit',
        );
      }
      if (await readable(services, r)) out.entries.push(entryOf(r, node, `/${node.name}`));
      else out.failed += 1;
      continue;
    }
    // A folder: walk it; a walk that breaks a limit abandons only this folder (spec §8.3).
    const parentPrefix = '/' + r.segments.slice(0, -1).join('/');
    const walked: ZipEntrySource[] = [];
    let walkedBytes = 0;
    let walkedFiles = 0;
    let abandoned = false;
    const walk = async (segments: string[]): Promise<void> => {
      for (const child of services.drive.children(r.userId, segments) ?? []) {
        if (abandoned) return;
        const childSegments = [...segments, child.name];
        if (child.kind === 'folder') {
          await walk(childSegments);
          continue;
        }
        walkedFiles += 1;
        walkedBytes += child.size;
        if ((maxWalked > 0 && walkedFiles > maxWalked) || (limit > 0 && total + walkedBytes > limit)) {
          abandoned = true;
          return;
        }
        const full = '/' + childSegments.join('/');
        const name = parentPrefix === '/' ? full.slice(1) : full.slice(parentPrefix.length);
        const childRef = { userId: r.userId, segments: childSegments };
        if (await readable(services, childRef)) walked.push(entryOf(childRef, child, name));
        else out.failed += 1;
      }
    };
    await walk(r.segments);
    if (abandoned) {
      out.failed += 1;
      continue;
    }
    total += walkedBytes;
    out.entries.push(...walked);
  }
  return out;
}

async function readable(services: WorkflowServices, r: Resolved): Promise<boolean> {
  try {
    return (await stat(services.drive.diskPath(r.userId, r.segments))).isFile();
  } catch {
    return false;
  }
}

export const createArchive: WorkflowDefinition<WorkflowServices> = {
  type: 'create_archive',
  queue: 'io',
  phases: ['', 'compress_files', 'upload_archive'],
  progressKeys: { compress_files: ['archive_count', 'archive_size'], upload_archive: ['upload'] },
  usesNode: true,
  steps: {
    async ''({ task, services }) {
      workDirOf(stateOf(task), services, task.id);
      return { goto: 'compress_files' };
    },
    async compress_files(ctx) {
      const { task, services, profile, signal } = ctx;
      const state = stateOf(task);
      workDirOf(stateOf(task), services, task.id);
      const { entries, failed } = await collect(ctx);
      const out = path.join(state.workDir!, 'archive.zip');
      let result;
      try {
        result = await (await loadZip()).writeZip(entries, out, { signal });
      } catch (err) {
        if (signal.aborted) throw err;
        throw TaskError.retryable(`failed to compress files: ${(err as Error).message}`);
      }
      task.props.failed = failed;
      // Both counters grow while the phase runs; their total stays unknown (spec §7).
      ctx.progress('archive_count', { current: result.entries });
      ctx.progress('archive_size', { current: result.bytes });
      return { goto: 'upload_archive', costMs: costOf(profile, result.bytes, profile.compressBytesPerSec) };
    },
    async upload_archive(ctx) {
      const { task, services, profile } = ctx;
      const state = stateOf(task);
      const zip = path.join(state.workDir ?? '', 'archive.zip');
      let size: number;
      try {
        size = (await stat(zip)).size;
      } catch {
        // The work folder is gone (it never survives a restart): compress again.
        return { goto: 'compress_files' };
      }
      ctx.progress('upload', { current: size, total: size });
      return {
        complete: true,
        costMs: costOf(profile, size, profile.uploadBytesPerSec),
        commit: async () => {
          try {
            services.drive.commitFile(state.dst.userId, state.dst.segments, zip);
          } catch (err) {
            throw TaskError.retryable(`failed to upload archive: ${(err as Error).message}`);
          }
        },
      };
    },
  },
  cleanup: removeWorkDir,
};
