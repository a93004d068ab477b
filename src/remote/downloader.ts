/**
 * @module remote/downloader
 * A simulated downloader standing in for aria2 / qBittorrent: no network. A source becomes a
 * job whose files, sizes and content derive from the source text (deterministic), and whose
 * progress is a function of simulated time. Special sources reproduce failures:
 * a host ending in `.invalid` or a path with `/404` → state `error`; a path with `/stall` →
 * never progresses; a path with `/slow` → 16 KiB/s. A `.torrent` file gives its own name,
 * files, sizes and info hash; its content is synthesized (no peers, no web seeds fetched).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { statSync } from 'node:fs';
import type { Schemas } from '../contract/index.js';
import { EMPTY_CATALOGUE, type Catalogue, type CatalogueEntry } from './catalogue.js';
import type { TorrentInfo } from './torrent.js';

export interface JobFile {
  /** 1-based, as aria2 counts. */
  index: number;
  /** Path relative to the download root, '/'-separated. */
  name: string;
  size: number;
  selected: boolean;
}

export interface Job {
  taskId: number;
  name: string;
  torrent: boolean;
  hash?: string;
  files: JobFile[];
  /** Simulated Unix ms when the transfer started. */
  startedAt: number;
  /** Bytes per second; 0 = stalled. */
  rate: number;
  error?: string;
  /** Seed of the content. */
  seed: string;
  /** Content fetched for real (an allowed host): the file holding it. */
  localFile?: string;
}

/** The `download` object of a task's props (spec §10.3), as the contract types it. */
export type DownloadStatus = Schemas['DownloadStatus'];

export const PIECE_SIZE = 1024 * 1024;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** A size from `min` to `max` bytes derived from a text. */
function sizeOf(text: string, min: number, max: number): number {
  return min + (digest(text).readUInt32BE(0) % (max - min + 1));
}

/** Deterministic content: a SHA-256 counter stream, produced as it is read (no memory). */
export function contentStream(seed: string, size: number): Readable {
  let produced = 0;
  let counter = 0;
  return new Readable({
    read() {
      if (produced >= size) return void this.push(null);
      const blocks: Buffer[] = [];
      let n = 0;
      while (n < 64 * 1024 && produced + n < size) {
        const b = digest(`${seed}\0${counter++}`);
        blocks.push(b);
        n += b.length;
      }
      const chunk = Buffer.concat(blocks).subarray(0, Math.min(n, size - produced));
      produced += chunk.length;
      this.push(chunk);
    },
  });
}

export interface Downloader {
  /** Starts a job for a task: a URL or magnet link, or a torrent read from a `.torrent` file (undefined when it did not parse). */
  start(taskId: number, source: { url: string } | { torrent: TorrentInfo | undefined; file: string }, now: number, bytesPerSec: number): Job;
  /** Starts a job for a URL that was fetched for real: its content is in `file`, or the fetch failed with `error`. */
  startFetched(taskId: number, fetched: { name: string; file: string; size: number } | { name: string; error: string }, now: number, bytesPerSec: number): Job;
  get(taskId: number): Job | undefined;
  /** Removes a job (cancel); false when there is none. */
  remove(taskId: number): boolean;
  /** Changes the selection; throws for an unknown index (as aria2 refuses it). */
  select(taskId: number, changes: Array<{ index?: number; download?: boolean }>): void;
  /** Bytes of the selected files downloaded at `now`. */
  downloaded(job: Job, now: number): number;
  status(job: Job, now: number): DownloadStatus;
}

export function createDownloader(catalogue: Catalogue = EMPTY_CATALOGUE): Downloader {
  const jobs = new Map<number, Job>();
  const selectedTotal = (job: Job) => job.files.filter((f) => f.selected).reduce((a, f) => a + f.size, 0);
  const downloaded = (job: Job, now: number) =>
    job.error ? 0 : Math.min(selectedTotal(job), job.rate === Infinity ? Infinity : Math.floor((job.rate * Math.max(0, now - job.startedAt)) / 1000));

  return {
    start(taskId, source, now, bytesPerSec) {
      let job: Job;
      if ('torrent' in source) {
        const t = source.torrent;
        job = t
          ? {
              taskId,
              name: t.name,
              torrent: true,
              hash: t.hash,
              files: t.files.map((f, i) => ({ index: i + 1, name: f.name, size: f.size, selected: true })),
              startedAt: now,
              rate: bytesPerSec,
              seed: t.hash,
            }
          : { taskId, name: source.file, torrent: true, files: [], startedAt: now, rate: bytesPerSec, seed: source.file, error: 'invalid torrent file' };
      } else if (source.url.startsWith('magnet:')) {
        const params = new URLSearchParams(source.url.slice(source.url.indexOf('?') + 1));
        const btih = (params.get('xt') ?? '').replace(/^urn:btih:/i, '').toLowerCase() || digest(source.url).toString('hex').slice(0, 40);
        const entry = catalogue.byHash.get(btih);
        const name = entry?.name ?? (params.get('dn') || `torrent-${btih.slice(0, 8)}`);
        job = torrentJob(taskId, name, btih, source.url, now, bytesPerSec);
        if (entry) applyEntry(job, entry, name);
      } else {
        const url = source.url;
        let parsed: URL | undefined;
        try {
          parsed = new URL(url);
        } catch {
          parsed = undefined;
        }
        const name = nameOfUrl(url);
        job = { taskId, name, torrent: false, files: [{ index: 1, name, size: sizeOf(url, 64 * 1024, 4 * 1024 * 1024), selected: true }], startedAt: now, rate: bytesPerSec, seed: url };
        const entry = catalogue.byUrl.get(url);
        if (entry) applyEntry(job, entry, name);
        else if (!parsed || !/^https?:$/.test(parsed.protocol)) job.error = `unsupported or invalid URL ${JSON.stringify(url)}`;
        else if (parsed.hostname.endsWith('.invalid') || parsed.pathname.includes('/404')) job.error = '404 Not Found';
        else if (parsed.pathname.includes('/stall')) job.rate = 0;
        else if (parsed.pathname.includes('/slow')) job.rate = 16 * 1024;
      }
      jobs.set(taskId, job);
      return job;
    },
    startFetched(taskId, fetched, now, bytesPerSec) {
      const job: Job =
        'error' in fetched
          ? { taskId, name: fetched.name, torrent: false, files: [{ index: 1, name: fetched.name, size: 0, selected: true }], startedAt: now, rate: bytesPerSec, seed: fetched.name, error: fetched.error }
          : { taskId, name: fetched.name, torrent: false, files: [{ index: 1, name: fetched.name, size: fetched.size, selected: true }], startedAt: now, rate: bytesPerSec, seed: fetched.name, localFile: fetched.file };
      jobs.set(taskId, job);
      return job;
    },
    get: (taskId) => jobs.get(taskId),
    remove: (taskId) => jobs.delete(taskId),
    select(taskId, changes) {
      const job = jobs.get(taskId);
      if (!job) throw new Error('no such download');
      for (const c of changes) {
        const file = job.files.find((f) => f.index === (c.index ?? 0));
        if (!file) throw new Error(`no file with index ${c.index ?? 0}`);
      }
      for (const c of changes) job.files.find((f) => f.index === (c.index ?? 0))!.selected = c.download ?? false;
    },
    downloaded,
    status(job, now) {
      const total = selectedTotal(job);
      const got = downloaded(job, now);
      const done = !job.error && got >= total;
      const state: DownloadStatus['state'] = job.error ? 'error' : done ? (job.torrent ? 'seeding' : 'completed') : 'downloading';
      // Files fill one after another, in index order.
      let left = got;
      const files = job.files.map((f) => {
        const mine = f.selected ? Math.min(left, f.size) : 0;
        if (f.selected) left -= mine;
        const progress = f.size === 0 ? (f.selected && done ? 1 : 0) : Math.round((mine / f.size) * 10_000) / 10_000;
        return { index: f.index, name: f.name, size: f.size, progress, selected: f.selected };
      });
      const status: DownloadStatus = {
        name: job.name,
        state,
        total,
        downloaded: got,
        download_speed: state === 'downloading' && job.rate !== Infinity ? job.rate : 0,
        uploaded: 0,
        upload_speed: 0,
      };
      if (job.hash) status.hash = job.hash;
      status.files = files;
      if (job.torrent && total > 0) {
        const pieces = Math.ceil(total / PIECE_SIZE);
        const have = Math.floor(got / PIECE_SIZE) + (done ? 1 : 0);
        const bits = Buffer.alloc(Math.ceil(pieces / 8));
        for (let i = 0; i < Math.min(have, pieces); i++) bits[i >> 3]! |= 1 << (i % 8);
        status.pieces = bits.toString('base64');
        status.num_pieces = pieces;
      }
      if (job.error) status.error_message = job.error;
      return status;
    },
  };
}

/** Shapes a job after its catalogue entry. */
function applyEntry(job: Job, entry: CatalogueEntry, defaultName: string): void {
  if (entry.name) job.name = entry.name;
  if (entry.files) {
    job.torrent = true;
    job.files = entry.files.map((f, i) => ({ index: i + 1, name: `${job.name}/${f.name}`, size: f.size, selected: true }));
  } else if (entry.file) {
    job.localFile = entry.file;
    job.files = [{ index: 1, name: entry.name ?? defaultName, size: statSync(entry.file).size, selected: true }];
  } else if (entry.size !== undefined) {
    job.files = [{ index: 1, name: entry.name ?? defaultName, size: entry.size, selected: true }];
  }
  if (entry.error) job.error = entry.error;
  if (entry.stall) job.rate = 0;
  else if (entry.rate !== undefined) job.rate = entry.rate;
}

function torrentJob(taskId: number, name: string, hash: string, seed: string, now: number, rate: number): Job {
  const files: JobFile[] = [1, 2, 3].map((i) => ({
    index: i,
    name: `${name}/part-${i}.bin`,
    size: sizeOf(`${seed}:${i}`, 32 * 1024, 2 * 1024 * 1024),
    selected: true,
  }));
  return { taskId, name, torrent: true, hash, files, startedAt: now, rate, seed };
}

/** The file name a URL downloads as: its last path segment, or index.html. */
export function nameOfUrl(url: string): string {
  try {
    const last = new URL(url).pathname.split('/').filter(Boolean).pop();
    return (last && decodeURIComponent(last)) || 'index.html';
  } catch {
    return 'index.html';
  }
}
