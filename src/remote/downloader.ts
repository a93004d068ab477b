/**
 * @module remote/downloader
 * A simulated downloader standing in for aria2 / qBittorrent. A job's files, sizes and content
 * come from one of four sources: the fixtures catalogue, content fetched for real (an allowed
 * host, or a torrent's allowed web seeds), a `.torrent` file, or — for anything else — the
 * simulator's seed and the source text (deterministic: the same seed and URL give the same
 * bytes). Progress is a function of simulated time. Special sources reproduce failures:
 * a host ending in `.invalid` or a path with `/404` → state `error`; a path with `/stall` →
 * never progresses; a path with `/slow` → 16 KiB/s.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { existsSync, statSync } from 'node:fs';
import type { Faker } from '@faker-js/faker';
import type { Schemas } from '../contract/index.js';
import { EMPTY_CATALOGUE, type Catalogue, type CatalogueEntry } from './catalogue.js';
import type { TorrentInfo } from './torrent.js';
import { lazy } from '../util/lazy.js';

export interface JobFile {
  /** 1-based, as aria2 counts. */
  index: number;
  /** Path relative to the download root, '/'-separated. */
  name: string;
  size: number;
  selected: boolean;
  /** The file holding this file's real content (a fixture, or fetched); synthesized when absent. */
  local?: string;
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
  /** Seed of the synthesized content (see {@link contentSeed}). */
  seed: string;
  /** Bytes per piece of the `pieces` bitfield. */
  pieceLength: number;
  /** How long a finished torrent seeds before it reports `completed`; undefined = for ever. */
  seedForMs?: number;
  /** Bytes per second uploaded while seeding. */
  uploadRate: number;
}

/** Where a job's content comes from. */
export type JobSource =
  /** Simulated: the catalogue entry of the URL or magnet link, else synthesized. */
  | { url: string }
  /** A URL fetched for real: its content is in `file`. */
  | { fetched: { name: string; file: string; size: number } }
  /** A torrent; `local[i]` holds the content of file i+1 when it came from a web seed. */
  | { torrent: TorrentInfo; local?: string[] }
  /** The downloader could not start the job: it reports state `error` with `error`. */
  | { failed: { name: string; error: string; torrent: boolean } };

/** The `download` object of a task's props (spec §10.3), as the contract types it. */
export type DownloadStatus = Schemas['DownloadStatus'];

/** Piece size of synthesized downloads. */
export const PIECE_SIZE = 1024 * 1024;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** A size from `min` to `max` bytes derived from a text. */
function sizeOf(text: string, min: number, max: number): number {
  return min + (digest(text).readUInt32BE(0) % (max - min + 1));
}

/** The seed of the synthesized content of `source` (a URL or magnet link) in a simulator seeded with `simSeed`. */
export function contentSeed(simSeed: string, source: string): string {
  return `${simSeed}\0${source}`;
}

const CHUNK = 256 * 1024;

/**
 * Deterministic content of file `index` of a job seeded `seed`: an AES-256-CTR key stream keyed
 * by the SHA-256 of `seed:index`, produced as it is read (fast, and no memory whatever the size).
 */
export function contentStream(seed: string, index: number, size: number): Readable {
  const cipher = createCipheriv('aes-256-ctr', digest(`${seed}:${index}`), Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  let produced = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (produced >= size) return void this.push(null);
      const n = Math.min(CHUNK, size - produced);
      produced += n;
      this.push(cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n)));
    },
  });
}

export interface Downloader {
  /** Starts the job of a task. */
  start(taskId: number, source: JobSource, now: number, bytesPerSec: number): Promise<Job>;
  get(taskId: number): Job | undefined;
  /** Removes a job (cancel); false when there is none. */
  remove(taskId: number): boolean;
  /** Changes the selection; throws for an unknown index (as aria2 refuses it). */
  select(taskId: number, changes: Array<{ index?: number; download?: boolean }>): void;
  /** Bytes of the selected files downloaded at `now`. */
  downloaded(job: Job, now: number): number;
  status(job: Job, now: number): DownloadStatus;
  /** Every job, as JSON-safe data (for a snapshot). */
  exportJobs(): Job[];
  /** Replaces the jobs with exported ones; a job whose fetched content is gone reports an error. */
  importJobs(jobs: readonly Job[]): void;
}

export interface DownloaderOptions {
  catalogue?: Catalogue;
  /** The simulator's seed: synthesized sizes, names and content derive from it. */
  seed?: string;
}

export function createDownloader(o: DownloaderOptions = {}): Downloader {
  const catalogue = o.catalogue ?? EMPTY_CATALOGUE;
  const simSeed = o.seed ?? '';
  const jobs = new Map<number, Job>();
  const selectedTotal = (job: Job) => job.files.filter((f) => f.selected).reduce((a, f) => a + f.size, 0);
  const downloaded = (job: Job, now: number) =>
    job.error ? 0 : Math.min(selectedTotal(job), job.rate === Infinity ? Infinity : Math.floor((job.rate * Math.max(0, now - job.startedAt)) / 1000));
  /** When the selected files are all there (Infinity: never). */
  const doneAt = (job: Job) => {
    const total = selectedTotal(job);
    if (total === 0 || job.rate === Infinity) return job.startedAt;
    return job.rate === 0 ? Infinity : job.startedAt + Math.ceil((total * 1000) / job.rate);
  };

  const base = (taskId: number, name: string, now: number, rate: number, seed: string): Job => ({
    taskId,
    name,
    torrent: false,
    files: [],
    startedAt: now,
    rate,
    seed,
    pieceLength: PIECE_SIZE,
    uploadRate: 0,
  });

  const fromUrl = async (taskId: number, url: string, now: number, rate: number): Promise<Job> => {
    const seed = contentSeed(simSeed, url);
    if (url.startsWith('magnet:')) {
      const params = new URLSearchParams(url.slice(url.indexOf('?') + 1));
      const btih = (params.get('xt') ?? '').replace(/^urn:btih:/i, '').toLowerCase() || digest(url).toString('hex').slice(0, 40);
      const entry = catalogue.byHash.get(btih);
      const name = entry?.name ?? (params.get('dn') || `torrent-${btih.slice(0, 8)}`);
      const job: Job = { ...base(taskId, name, now, rate, seed), torrent: true, hash: btih };
      if (entry) applyEntry(job, entry, name);
      else job.files = await synthesizedTorrentFiles(name, seed);
      return job;
    }
    const name = nameOfUrl(url);
    const job: Job = { ...base(taskId, name, now, rate, seed), files: [{ index: 1, name, size: sizeOf(seed, 64 * 1024, 4 * 1024 * 1024), selected: true }] };
    const entry = catalogue.byUrl.get(url);
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (entry) applyEntry(job, entry, name);
    else if (!parsed || !/^https?:$/.test(parsed.protocol)) job.error = `unsupported or invalid URL ${JSON.stringify(url)}`;
    else if (parsed.hostname.endsWith('.invalid') || parsed.pathname.includes('/404')) job.error = '404 Not Found';
    else if (parsed.pathname.includes('/stall')) job.rate = 0;
    else if (parsed.pathname.includes('/slow')) job.rate = 16 * 1024;
    return job;
  };

  return {
    async start(taskId, source, now, bytesPerSec) {
      let job: Job;
      if ('url' in source) {
        job = await fromUrl(taskId, source.url, now, bytesPerSec);
      } else if ('fetched' in source) {
        const f = source.fetched;
        job = { ...base(taskId, f.name, now, bytesPerSec, f.file), files: [{ index: 1, name: f.name, size: f.size, selected: true, local: f.file }] };
      } else if ('torrent' in source) {
        const t = source.torrent;
        job = {
          ...base(taskId, t.name, now, bytesPerSec, contentSeed(simSeed, t.hash)),
          torrent: true,
          hash: t.hash,
          pieceLength: t.pieceLength,
          files: t.files.map((f, i) => {
            const file: JobFile = { index: i + 1, name: f.name, size: f.size, selected: true };
            const local = source.local?.[i];
            if (local) file.local = local;
            return file;
          }),
        };
      } else {
        const f = source.failed;
        job = { ...base(taskId, f.name, now, bytesPerSec, f.name), torrent: f.torrent, error: f.error };
      }
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
    exportJobs: () => [...jobs.values()].map((j) => ({ ...structuredClone(j), rate: j.rate === Infinity ? -1 : j.rate })),
    importJobs(list) {
      jobs.clear();
      for (const j of list) {
        const job: Job = { ...structuredClone(j), rate: j.rate === -1 ? Infinity : j.rate };
        if (job.files.some((f) => f.local && !existsSync(f.local))) job.error ??= 'downloaded content was not kept in the snapshot';
        jobs.set(job.taskId, job);
      }
    },
    status(job, now) {
      const total = selectedTotal(job);
      const got = downloaded(job, now);
      const done = !job.error && got >= total;
      const finished = doneAt(job);
      const seedingEnds = job.seedForMs === undefined ? Infinity : finished + job.seedForMs;
      const state: DownloadStatus['state'] = job.error
        ? 'error'
        : !done
          ? 'downloading'
          : job.torrent && now < seedingEnds
            ? 'seeding'
            : 'completed';
      const seedingMs = job.torrent && done ? Math.max(0, Math.min(now, seedingEnds) - finished) : 0;
      // Files fill one after another, in index order.
      let left = got;
      const have: number[] = [];
      const files = job.files.map((f) => {
        const mine = f.selected ? Math.min(left, f.size) : 0;
        if (f.selected) left -= mine;
        have.push(mine);
        const progress = f.size === 0 ? (f.selected && done ? 1 : 0) : Math.round((mine / f.size) * 10_000) / 10_000;
        return { index: f.index, name: f.name, size: f.size, progress, selected: f.selected };
      });
      const status: DownloadStatus = {
        name: job.name,
        state,
        total,
        downloaded: got,
        download_speed: state === 'downloading' && job.rate !== Infinity ? job.rate : 0,
        uploaded: Math.floor((job.uploadRate * seedingMs) / 1000),
        upload_speed: state === 'seeding' ? job.uploadRate : 0,
      };
      if (job.hash) status.hash = job.hash;
      if (files.length > 0) status.files = files;
      if (job.torrent && job.files.length > 0) {
        const bits = pieceBits(job.files, have, job.pieceLength);
        status.pieces = bits.bits.toString('base64');
        status.num_pieces = bits.count;
      }
      if (job.error) status.error_message = job.error;
      return status;
    },
  };
}

/**
 * The bitfield of the pieces a torrent has, piece i at bit `i % 8` (least significant first) of
 * byte `i >> 3`, as the web UI reads it: a piece counts when every byte of it lies in the
 * downloaded prefix of its files.
 */
export function pieceBits(files: ReadonlyArray<{ size: number }>, have: readonly number[], pieceLength: number): { bits: Buffer; count: number } {
  const total = files.reduce((a, f) => a + f.size, 0);
  const count = Math.ceil(total / pieceLength);
  const bits = Buffer.alloc(Math.ceil(count / 8));
  // Walk pieces and files together: a piece is had while no file overlapping it misses a byte.
  let fileIndex = 0;
  let fileStart = 0;
  for (let p = 0; p < count; p++) {
    const start = p * pieceLength;
    const end = Math.min(total, start + pieceLength);
    while (fileIndex < files.length && fileStart + files[fileIndex]!.size <= start) fileStart += files[fileIndex++]!.size;
    let ok = true;
    for (let i = fileIndex, at = fileStart; i < files.length && at < end; at += files[i]!.size, i++) {
      const from = Math.max(start, at) - at;
      const to = Math.min(end, at + files[i]!.size) - at;
      if (to > from && (have[i] ?? 0) < to) {
        ok = false;
        break;
      }
    }
    if (ok) bits[p >> 3]! |= 1 << (p % 8);
  }
  return { bits, count };
}

/** Shapes a job after its catalogue entry. */
function applyEntry(job: Job, entry: CatalogueEntry, defaultName: string): void {
  if (entry.name) job.name = entry.name;
  if (entry.files) {
    job.torrent = true;
    job.files = entry.files.map((f, i) => ({ index: i + 1, name: `${job.name}/${f.name}`, size: f.size, selected: true }));
  } else if (entry.file) {
    job.files = [{ index: 1, name: entry.name ?? defaultName, size: statSync(entry.file).size, selected: true, local: entry.file }];
  } else if (entry.size !== undefined) {
    job.files = [{ index: 1, name: entry.name ?? defaultName, size: entry.size, selected: true }];
  }
  if (entry.error) job.error = entry.error;
  if (entry.stall) job.rate = 0;
  else if (entry.rate !== undefined) job.rate = entry.rate;
  if (entry.seedFor !== undefined) job.seedForMs = entry.seedFor * 1000;
  if (entry.uploadRate !== undefined) job.uploadRate = entry.uploadRate;
}

/** Faker with the English locale, loaded on first use (it is not needed to start). */
const loadFaker = lazy(async (): Promise<Faker> => (await import('@faker-js/faker/locale/en')).faker);

/**
 * The files of a torrent nobody declared: a video, a poster and a text file, named by faker and
 * sized from the seed — the same seed and magnet link always give the same files.
 */
async function synthesizedTorrentFiles(name: string, seed: string): Promise<JobFile[]> {
  const faker = await loadFaker();
  faker.seed(digest(seed).readUInt32BE(4));
  const video = faker.system.commonFileName('mkv');
  const extras = [faker.system.commonFileName('jpg'), `${faker.word.noun()}.txt`];
  const names = [video, `extras/${extras[0]}`, extras[1]!];
  const sizes = [sizeOf(`${seed}:1`, 512 * 1024, 4 * 1024 * 1024), sizeOf(`${seed}:2`, 16 * 1024, 256 * 1024), sizeOf(`${seed}:3`, 100, 8 * 1024)];
  return names.map((n, i) => ({ index: i + 1, name: `${name}/${n}`, size: sizes[i]!, selected: true }));
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
