/**
 * @module workflows/remote-download
 * `remote_download` (spec §10.2): "" starts a job in the simulated downloader, `monitor` polls
 * it (validating the files at the first poll), `transfer` stores the selected files under
 * `dst`, `seeding` ends the task (the master does not wait for seeding).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { costOf } from '../engine/profile.js';
import { TaskError, type Task } from '../engine/task.js';
import { contentStream, nameOfUrl, type DownloadStatus, type JobSource } from '../remote/downloader.js';
import { fetchAllowed, fetchInto, internalTarget } from '../remote/fetch.js';
import type { TorrentInfo } from '../remote/torrent.js';
import { lazy } from '../util/lazy.js';
import { isLegalName, joinInside } from '../drive/uri.js';
import { pollWaitMs, removeWorkDir, workDirOf, type Resolved, type WithWorkDir, type WorkflowServices } from './services.js';
import type { StepContext, WorkflowDefinition } from './types.js';

const loadTorrent = lazy(() => import('../remote/torrent.js'));

export interface DownloadState extends WithWorkDir {
  dst: Resolved;
  /** The `.torrent` file in the drive, when the source is one. */
  torrentFile?: Resolved;
  /** Successful polls so far. */
  polls: number;
  /** Files already stored by `transfer` (retries skip them). */
  stored: number[];
  /** Consecutive polls that found no job before the first successful one. */
  failedPolls?: number;
  /** The selected total the files were last validated for (a change validates again). */
  validatedTotal?: number;
}

/** Failed polls in a row before the task gives up (spec §10.2). */
const MAX_FAILED_POLLS = 5;

const stateOf = (task: Task): DownloadState => task.state as unknown as DownloadState;

/** The most a real source may deliver to one task (per file of a web-seeded torrent). */
const MAX_FETCH_BYTES = 4 * 1024 ** 3;

/** The largest `.torrent` file a fetched URL is read as. */
const MAX_TORRENT_BYTES = 8 * 1024 * 1024;

const isTorrentResponse = (name: string, contentType: string, size: number): boolean =>
  size <= MAX_TORRENT_BYTES && (/application\/x-bittorrent/i.test(contentType) || name.toLowerCase().endsWith('.torrent'));

/**
 * The content of a torrent: from the first of its web seeds on an allowed host that serves every
 * file at its declared size with pieces matching their hashes; synthesized when no web seed is
 * allowed; a failed job when every allowed web seed fails.
 */
async function torrentSource(services: WorkflowServices, torrent: TorrentInfo, workDir: string, signal: AbortSignal): Promise<JobSource> {
  const seeds = torrent.webSeeds.filter((s) => fetchAllowed(s, services.fetchAllow));
  if (seeds.length === 0) return { torrent };
  const { firstBadPiece, webSeedUrls } = await loadTorrent();
  let error = '';
  for (const [n, seed] of seeds.entries()) {
    const local: string[] = [];
    let failed: string | undefined;
    for (const [i, url] of webSeedUrls(seed, torrent).entries()) {
      const file = path.join(workDir, `seed-${n}-${i + 1}`);
      local.push(file);
      const got = await fetchInto(url, file, MAX_FETCH_BYTES, signal);
      const want = torrent.files[i]!.size;
      if ('error' in got) failed = `web seed ${url}: ${got.error}`;
      else if (got.size !== want) failed = `web seed ${url}: ${got.size} bytes instead of ${want}`;
      if (failed) break;
    }
    if (!failed) {
      const bad = await firstBadPiece(local, torrent);
      if (bad < 0) return { torrent, local };
      failed = `web seed ${seed}: piece ${bad} does not match its hash`;
    }
    error = failed;
    await Promise.all(local.map((f) => rm(f, { force: true })));
  }
  return { failed: { name: torrent.name, error, torrent: true } };
}

async function monitor(ctx: StepContext<WorkflowServices>) {
  const { task, services, clock, profile } = ctx;
  const state = stateOf(task);
  const job = services.downloader.get(task.id);
  if (!job) {
    // The job is gone (cancelled): after a successful poll the task ends canceled. Before one,
    // a missing job is a failed poll, and failed polls end in an error (spec §10.5, quirk).
    if (state.polls > 0) return { cancel: true as const, costMs: 0 };
    state.failedPolls = (state.failedPolls ?? 0) + 1;
    if (state.failedPolls < MAX_FAILED_POLLS) return { waitMs: pollWaitMs(services, profile), costMs: 0 };
    state.failedPolls = 0;
    throw TaskError.retryable(`failed to get task status after ${MAX_FAILED_POLLS} retry: task not found`);
  }
  const status = poll(task, services, clock.now());
  state.failedPolls = 0;
  if (state.polls++ === 0 || status.total !== state.validatedTotal) validate(services, task, state, status.total);
  if (status.state === 'downloading') return { waitMs: pollWaitMs(services, profile), costMs: 0 };
  return { goto: 'transfer', costMs: 0 };
}

/** One poll: the job's status becomes the task's `download`; a failed job fails the task. */
function poll(task: Task, services: WorkflowServices, now: number): DownloadStatus {
  const status = services.downloader.status(services.downloader.get(task.id)!, now);
  task.props.download = status;
  if (status.state === 'error' || status.state === 'unknown') {
    throw TaskError.criticalVerbatim(`download task failed with state "${status.state}" (non-retryable error), errorMsg: ${status.error_message ?? ''}`);
  }
  return status;
}

/** The first poll's checks (spec §10.2): a folder of the owner, room for the files, something selected. */
function validate(services: WorkflowServices, task: Task, state: DownloadState, total: number): void {
  state.validatedTotal = total;
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
  const done: Array<{ index: number; target: string[]; temp: string }> = [];
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
    const source = file.local ? createReadStream(file.local) : contentStream(job.seed, file.index, file.size);
    await pipeline(source, createWriteStream(temp));
    done.push({ index: file.index, target, temp });
    bytes += file.size;
    ctx.progress(`upload_single_${n}`, { current: file.size, total: file.size, identifier: `${task.props.dst as string}/${file.name}` });
    state.stored.push(file.index);
  }
  ctx.progress('upload_count', { current: selected.length - errors.length, total: selected.length });
  ctx.progress('upload', { current: bytes, total: selected.reduce((a, f) => a + f.size, 0) });
  const commit = async () => {
    for (const d of done) services.drive.commitFile(state.dst.userId, d.target, d.temp);
  };
  // A cancel that lands while the files are on their way discards them: nothing partial stays.
  const commitUnlessCancelled = async () => {
    if (services.downloader.get(task.id)) return commit();
    await Promise.all(done.map((d) => rm(d.temp, { force: true })));
    state.stored = state.stored.filter((i) => !done.some((d) => d.index === i));
    return 'cancel' as const;
  };
  if (errors.length > 0) {
    await commit();
    task.props.failed = errors.length;
    throw TaskError.retryable(`failed to transfer ${errors.length} file(s), first 5 errors: ${errors.slice(0, 5).join('; ')}`);
  }
  return { goto: 'seeding', costMs: costOf(profile, bytes, profile.uploadBytesPerSec), commit: commitUnlessCancelled };
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
    async ''({ task, services, clock, profile, signal }) {
      const state = stateOf(task);
      const start = (source: JobSource) => services.downloader.start(task.id, source, clock.now(), profile.downloadBytesPerSec);
      const workDir = () => workDirOf(state, services, task.id);
      if (state.torrentFile) {
        // The torrent as it is in the drive now; a file that is gone or no torrent fails the job.
        const file = state.torrentFile;
        let data: Buffer | undefined;
        try {
          data = services.drive.stat(file.userId, file.segments) ? await readFile(services.drive.diskPath(file.userId, file.segments)) : undefined;
        } catch {
          data = undefined;
        }
        const torrent = data ? (await loadTorrent()).parseTorrent(data) : undefined;
        const name = file.segments[file.segments.length - 1] ?? '';
        await start(torrent ? await torrentSource(services, torrent, workDir(), signal) : { failed: { name, error: 'invalid torrent file', torrent: true } });
        return { goto: 'monitor', costMs: 0 };
      }
      const url = task.props.src_str as string;
      const allowed = fetchAllowed(url, services.fetchAllow);
      // Δ4.18: the SSRF policy refuses the server's own networks (hosts listed in fetchAllow are
      // trusted); the node's `url_validation` can turn it off or let hosts and networks through.
      const check = services.node.settings.url_validation;
      const internal = services.legacy || allowed || check?.disabled ? undefined : internalTarget(url, { hosts: check?.allowed_hosts, cidrs: check?.allowed_cidrs });
      if (internal) throw TaskError.critical(`url rejected: ${internal}`);
      if (!allowed) {
        await start({ url });
        return { goto: 'monitor', costMs: 0 };
      }
      // A real source: fetched now (real work), shown progressing over simulated time.
      const file = path.join(workDir(), 'fetched');
      const got = await fetchInto(url, file, MAX_FETCH_BYTES, signal);
      const name = nameOfUrl(url);
      if ('error' in got) {
        await start({ failed: { name, error: got.error, torrent: false } });
      } else {
        // A torrent served by the URL is followed, as aria2 does: its files are the download.
        const torrent = isTorrentResponse(name, got.contentType, got.size) ? (await loadTorrent()).parseTorrent(await readFile(file)) : undefined;
        await start(torrent ? await torrentSource(services, torrent, workDir(), signal) : { fetched: { name, file, size: got.size } });
      }
      return { goto: 'monitor', costMs: 0 };
    },
    monitor,
    transfer,
    async seeding({ task, services, clock, profile }) {
      if (!services.downloader.get(task.id)) return { cancel: true, costMs: 0 };
      const status = poll(task, services, clock.now());
      // The node waits for seeding to end only when told to (spec §10.2).
      if (status.state === 'completed' || (status.state === 'seeding' && !services.node.settings.wait_for_seeding)) return { complete: true, costMs: 0 };
      return { waitMs: pollWaitMs(services, profile), costMs: 0 };
    },
  },
  async cleanup(task, services) {
    services.downloader.remove(task.id);
    await removeWorkDir(task);
  },
};
