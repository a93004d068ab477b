/**
 * @module workflows/remote-download
 * `remote_download` (spec §10.2): "" starts a job in the simulated downloader, `monitor` polls
 * it (validating the files at the first poll), `transfer` stores the selected files under
 * `dst`, `seeding` ends the task (the master does not wait for seeding).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { costOf } from '../engine/profile.js';
import { TaskError, type Task } from '../engine/task.js';
import { contentStream, nameOfUrl } from '../remote/downloader.js';
import { fetchAllowed, fetchInto } from '../remote/fetch.js';
import { parseTorrent } from '../remote/torrent.js';
import { isLegalName, joinInside } from '../drive/uri.js';
import { removeWorkDir, workDirOf, type Resolved, type WithWorkDir, type WorkflowServices } from './services.js';
import type { StepContext, WorkflowDefinition } from './types.js';

export interface DownloadState extends WithWorkDir {
  dst: Resolved;
  /** The `.torrent` file in the drive, when the source is one. */
  torrentFile?: Resolved;
  /** Successful polls so far. */
  polls: number;
  /** Files already stored by `transfer` (retries skip them). */
  stored: number[];
}

const stateOf = (task: Task): DownloadState => task.state as unknown as DownloadState;

/** The most a real source may deliver to one task. */
const MAX_FETCH_BYTES = 4 * 1024 ** 3;

async function monitor(ctx: StepContext<WorkflowServices>) {
  const { task, services, clock, profile } = ctx;
  const state = stateOf(task);
  const job = services.downloader.get(task.id);
  if (!job) {
    // The job is gone (cancelled): the task ends canceled at this poll.
    return { cancel: true as const, costMs: 0 };
  }
  const now = clock.now();
  const status = services.downloader.status(job, now);
  task.props.download = status;
  // A failed job has nothing to validate: its state decides first.
  if (status.state === 'error' || status.state === 'unknown') {
    throw TaskError.criticalVerbatim(`download task failed with state "${status.state}" (non-retryable error), errorMsg: ${status.error_message ?? ''}`);
  }
  if (state.polls++ === 0) validate(services, task, state, status.total);
  if (status.state === 'downloading') return { waitMs: profile.pollIntervalMs, costMs: 0 };
  return { goto: 'transfer', costMs: 0 };
}

/** The first poll's checks (spec §10.2): a folder of the owner, room for the files, something selected. */
function validate(services: WorkflowServices, task: Task, state: DownloadState, total: number): void {
  const fail = (why: string) => TaskError.critical(`failed to validate files: ${why}`);
  const folder = services.drive.stat(state.dst.userId, state.dst.segments);
  if (!folder || folder.kind !== 'folder') throw fail('destination is not a folder');
  const owner = services.accounts.userById(task.ownerId)!;
  const quota = owner.group.maxStorage;
  if (quota > 0 && services.drive.used(owner.id) + total > quota) throw fail('insufficient capacity');
  if (!services.downloader.get(task.id)?.files.some((f) => f.selected)) throw fail('no file is selected');
}

async function transfer(ctx: StepContext<WorkflowServices>) {
  const { task, services, profile } = ctx;
  const state = stateOf(task);
  const job = services.downloader.get(task.id);
  if (!job) return { cancel: true as const, costMs: 0 };
  const selected = job.files.filter((f) => f.selected);
  const workDir = workDirOf(state, services, task.id);
  const errors: string[] = [];
  let bytes = 0;
  const done: Array<{ target: string[]; temp: string }> = [];
  for (const [n, file] of selected.entries()) {
    if (state.stored.includes(file.index)) continue;
    // 4.18 replaces the characters no drive name may hold; 4.0.0 leaves them (and the upload fails).
    const name = services.legacy ? file.name : file.name.replace(/[\\:*?"<>|]/g, '_');
    const target = joinInside(state.dst.segments, name);
    if (!target || services.drive.stat(state.dst.userId, target)) {
      errors.push(`${file.name}: failed to upload file: Object existed`);
      continue;
    }
    if (!target.slice(state.dst.segments.length).every(isLegalName)) {
      errors.push(`${file.name}: failed to upload file: Invalid object name`);
      continue;
    }
    const temp = path.join(workDir, `file-${file.index}`);
    const source = job.localFile ? createReadStream(job.localFile) : contentStream(`${job.seed}:${file.index}`, file.size);
    await pipeline(source, createWriteStream(temp));
    done.push({ target, temp });
    bytes += file.size;
    ctx.progress(`upload_single_${n}`, { current: file.size, total: file.size, identifier: `${task.props.dst as string}/${file.name}` });
    state.stored.push(file.index);
  }
  ctx.progress('upload_count', { current: selected.length - errors.length, total: selected.length });
  ctx.progress('upload', { current: bytes, total: selected.reduce((a, f) => a + f.size, 0) });
  const commit = async () => {
    for (const d of done) services.drive.commitFile(state.dst.userId, d.target, d.temp);
  };
  if (errors.length > 0) {
    await commit();
    task.props.failed = errors.length;
    throw TaskError.retryable(`failed to transfer ${errors.length} file(s), first 5 errors: ${errors.slice(0, 5).join('; ')}`);
  }
  return { goto: 'seeding', costMs: costOf(profile, bytes, profile.uploadBytesPerSec), commit };
}

export const remoteDownload: WorkflowDefinition<WorkflowServices> = {
  type: 'remote_download',
  queue: 'download',
  phases: ['', 'monitor', 'transfer', 'seeding'],
  progressKeys: { transfer: ['upload_count', 'upload', ...Array.from({ length: 16 }, (_, i) => `upload_single_${i}`)] },
  // The transfer keys stay visible while seeding (spec §7).
  keepProgress: ['upload_count', 'upload', ...Array.from({ length: 16 }, (_, i) => `upload_single_${i}`)],
  usesNode: true,
  steps: {
    async ''({ task, services, clock, profile }) {
      const state = stateOf(task);
      if (state.torrentFile) {
        // The torrent as it is in the drive now; a file that is gone or no torrent fails the job.
        const file = state.torrentFile;
        let data: Buffer | undefined;
        try {
          data = services.drive.stat(file.userId, file.segments) ? await readFile(services.drive.diskPath(file.userId, file.segments)) : undefined;
        } catch {
          data = undefined;
        }
        const torrent = data ? parseTorrent(data) : undefined;
        services.downloader.start(task.id, { torrent, file: file.segments[file.segments.length - 1] ?? '' }, clock.now(), profile.downloadBytesPerSec);
      } else {
        const url = task.props.src_str as string;
        if (fetchAllowed(url, services.fetchAllow)) {
          // A real source: fetched now (real work), shown progressing over simulated time.
          const file = path.join(workDirOf(state, services, task.id), 'fetched');
          const got = await fetchInto(url, file, MAX_FETCH_BYTES, task.abort.signal);
          const name = nameOfUrl(url);
          services.downloader.startFetched(task.id, 'error' in got ? { name, error: got.error } : { name, file, size: got.size }, clock.now(), profile.downloadBytesPerSec);
        } else {
          services.downloader.start(task.id, { url }, clock.now(), profile.downloadBytesPerSec);
        }
      }
      return { goto: 'monitor', costMs: 0 };
    },
    monitor,
    transfer,
    async seeding() {
      return { complete: true, costMs: 0 };
    },
  },
  async cleanup(task, services) {
    services.downloader.remove(task.id);
    await removeWorkDir(task);
  },
};
