/**
 * @module workflows/extract-archive
 * `extract_archive` on the master node (spec §9.3): one phase ("") that checks the source,
 * detects the format and writes every entry under `dst`. Entries that would land outside
 * `dst` are skipped silently, links are never created, an existing file is a (retryable)
 * conflict, and a retry resumes after the last entry that succeeded.
 */
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArchiveEntry } from '../codecs/archive.js';
import { isLegalName, joinInside, parseUri } from '../drive/uri.js';
import { costOf } from '../engine/profile.js';
import { TaskError, type Task } from '../engine/task.js';
import { lazy } from '../util/lazy.js';
import { removeWorkDir, resolveMy, workDirOf, type Resolved, type WithWorkDir, type WorkflowServices } from './services.js';
import type { StepContext, WorkflowDefinition } from './types.js';

const codecs = lazy(async () => ({ ...(await import('../codecs/detect.js')), ...(await import('../codecs/open.js')) }));

/** What the extract task keeps between iterations. */
export interface ExtractState extends WithWorkDir {
  dst: Resolved;
  encoding?: string;
  password?: string;
  fileMask?: string[];
  /** Index of the first entry not yet extracted: retries resume here. */
  resumeAt: number;
}

/** Output one task may write, whatever the quota: a bound for archive bombs. */
export const MAX_EXTRACT_BYTES = 4 * 1024 ** 3;

const stateOf = (task: Task): ExtractState => task.state as unknown as ExtractState;

/** The entry path the server works with: backslashes as separators, then cleaned. */
function entryPath(name: string): string {
  return name.replace(/\\/g, '/');
}

/** file_mask (4.18): an entry is kept when its path is a mask item or lies under one. */
function masked(mask: string[] | undefined, p: string): boolean {
  if (!mask) return false;
  const clean = p.replace(/^\/+|\/+$/g, '');
  return !mask.some((m) => {
    const item = m.replace(/^\/+|\/+$/g, '');
    return clean === item || clean.startsWith(`${item}/`);
  });
}

/** Entries declared this small are gathered in memory and written in one call. */
const SMALL_ENTRY = 64 * 1024;

/**
 * Writes one entry's content to `temp`, refusing to go past `room` bytes (archive bombs, the
 * user's capacity); returns the bytes written. Small entries skip the write-stream machinery,
 * which dominates archives of many tiny files.
 */
async function writeEntry(input: Readable, temp: string, declared: number, room: number, signal: AbortSignal): Promise<number> {
  const tooMuch = () => new Error('Insufficient capacity');
  if (declared <= SMALL_ENTRY) {
    const chunks: Buffer[] = [];
    let seen = 0;
    for await (const chunk of input) {
      seen += (chunk as Buffer).length;
      // A lying header cannot make this buffer grow past the small-entry bound.
      if (seen > room || seen > SMALL_ENTRY) {
        input.destroy();
        throw seen > room ? tooMuch() : new Error('entry larger than its declared size');
      }
      chunks.push(chunk as Buffer);
    }
    await writeFile(temp, Buffer.concat(chunks), { signal });
    return seen;
  }
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      done(seen > room ? tooMuch() : null, chunk);
    },
  });
  await pipeline(input, counter, createWriteStream(temp), { signal });
  return seen;
}

async function extract(ctx: StepContext<WorkflowServices>) {
  const { task, services, profile, signal } = ctx;
  const state = stateOf(task);
  const owner = services.accounts.userById(task.ownerId)!;
  const src = task.props.src as string;

  // 1. The source (critical failures).
  if (!parseUri(src)) throw TaskError.critical(`failed to parse src uri: invalid uri ${JSON.stringify(src)}`);
  const r = resolveMy(services, owner, src);
  if (typeof r === 'string') throw TaskError.critical(`failed to get archive file: ${r === 'permission_denied' ? 'Permission denied' : 'Not supported action'}`);
  const node = r.segments.length === 0 ? undefined : services.drive.stat(r.userId, r.segments);
  if (!node || node.kind !== 'file') throw TaskError.critical(`failed to get archive file: ${node ? 'Not a file' : 'Path not exist'}`);
  const limit = owner.group.decompressSize;
  if (limit > 0 && node.size > limit) throw TaskError.critical(`file size ${node.size} exceeds the limit ${limit}`);
  const file = services.drive.diskPath(r.userId, r.segments);

  // 2. The format (retryable failures, as on the server).
  const { detectFormat, openArchive } = await codecs();
  const detected = await detectFormat(file, node.name);
  // 7z arrived in 4.18; 4.0.0 knows no such format.
  if (!detected || (services.legacy && 'format' in detected && detected.format === '7z')) {
    throw TaskError.retryable('failed to identify archive format: no formats matched');
  }
  if ('compressedOnly' in detected) {
    throw TaskError.retryable(services.legacy ? 'format not an extractor %!s(MISSING)' : `format not an extractor ${JSON.stringify(detected.compressedOnly)}`);
  }

  // 3. The entries, in archive order.
  let reader;
  try {
    reader = await openArchive(file, detected.format, {
      ...(state.encoding ? { encoding: state.encoding } : {}),
      ...(state.password ? { password: state.password } : {}),
      signal,
    });
  } catch (err) {
    throw TaskError.retryable(`failed to extract archive: ${(err as Error).message}`);
  }
  const workDir = workDirOf(stateOf(task), services, task.id);
  const pending: Array<{ target: string[]; temp: string; mtime: number | undefined }> = [];
  // Written in this attempt but not in the drive yet: a second entry with the same path conflicts.
  const pendingKeys = new Set<string>();
  const commit = () => {
    for (const p of pending.splice(0)) services.drive.commitFile(state.dst.userId, p.target, p.temp, p.mtime);
  };
  const quota = owner.group.maxStorage;
  let written = 0;
  let count = 0;
  let bytes = 0;
  let index = -1;
  try {
    for await (const entry of reader.entries()) {
      index += 1;
      if (signal.aborted) throw signal.reason;
      count += 1;
      bytes += entry.size;
      if (index < state.resumeAt) continue; // done by an earlier attempt
      const rel = entryPath(entry.name);
      const target = joinInside(state.dst.segments, rel);
      // Paths that leave dst (zip-slip) and names the drive refuses (drive letters, ':'…) are
      // skipped silently, and so are masked-out entries. An absolute path lands inside dst.
      if (!target || masked(state.fileMask, rel) || !target.slice(state.dst.segments.length).every(isLegalName)) continue;
      if (entry.kind === 'directory') {
        try {
          services.drive.ensureFolder(state.dst.userId, target);
        } catch (err) {
          throw conflict(index, entry, target, (err as Error).message);
        }
        continue;
      }
      // Links are never created (they could point anywhere); other special entries neither.
      if (entry.kind !== 'file') continue;
      const key = target.join('/');
      if (services.drive.stat(state.dst.userId, target) || pendingKeys.has(key)) {
        throw conflict(index, entry, target, 'Object existed');
      }
      if (entry.encrypted && !state.password) throw conflict(index, entry, target, 'encrypted entry needs a password');
      const room = Math.max(0, Math.min(MAX_EXTRACT_BYTES - written, quota > 0 ? quota - services.drive.used(state.dst.userId) - written : Infinity));
      const temp = path.join(workDir, `entry-${index}`);
      try {
        written += await writeEntry(await entry.open(), temp, entry.size, room, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        throw conflict(index, entry, target, (err as Error).message);
      }
      pending.push({ target, temp, mtime: services.legacy ? undefined : entry.mtime?.getTime() });
      pendingKeys.add(key);
      state.resumeAt = index + 1;
    }
  } catch (err) {
    // Files written before the failure stay; a retry resumes after them.
    commit();
    if (err instanceof TaskError || signal.aborted) throw err;
    throw TaskError.retryable(`failed to extract archive: ${(err as Error).message}`);
  } finally {
    await reader.close().catch(() => undefined);
  }
  ctx.progress('extract_count', { current: count });
  ctx.progress('extract_size', { current: bytes });
  return { complete: true as const, costMs: costOf(profile, bytes, profile.extractBytesPerSec), commit: async () => commit() };
}

/** The server's text for an entry that could not be written (its typos included). */
function conflict(index: number, entry: ArchiveEntry, target: string[], reason: string): TaskError {
  const where = '/' + target.join('/');
  return TaskError.retryable(
    `failed to extract archive: handling file ${index}: ${entry.name}: failed to upload file "${where}" in archive file: faield to prepare uplaod: ${reason}`,
  );
}

export const extractArchive: WorkflowDefinition<WorkflowServices> = {
  type: 'extract_archive',
  queue: 'io',
  phases: [''],
  progressKeys: { '': ['extract_count', 'extract_size'] },
  usesNode: true,
  steps: { '': extract },
  cleanup: removeWorkDir,
};
