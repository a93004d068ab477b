/**
 * Building test archives byte by byte (zip entries with chosen name bytes, flags and attributes;
 * tar headers of any type), compressing with the Debian CLI tools when they are installed, and
 * reading an ArchiveReader back into plain records.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { Header } from 'tar';
import type { HeaderData } from 'tar';
import type { ArchiveEntry, ArchiveReader } from '../src/codecs/archive.js';

/** Deterministic incompressible bytes (SHA-256 in counter mode). */
export function noise(length: number, seed: string): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < length; i++) blocks.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(blocks).subarray(0, length);
}

export interface RawZipEntry {
  /** Name bytes exactly as stored (a string is written as UTF-8). */
  name: Buffer | string;
  data?: Buffer;
  /** General purpose flags (bit 0 encrypted, bit 11 UTF-8). */
  flags?: number;
  /** Compression method recorded (the data is always written as given). */
  method?: number;
  /** "Version made by": host in the high byte (0 MS-DOS, 3 unix). */
  madeBy?: number;
  externalAttributes?: number;
  /** DOS date and time fields. */
  dosDate?: number;
  dosTime?: number;
  /** CRC-32 to record instead of the real one. */
  crc?: number;
  /** Bytes stored as the entry's data instead of `data` (sizes still describe `data`). */
  stored?: Buffer;
  comment?: Buffer;
}

/** A DOS date/time pair for a UTC date, as zip headers store it. */
export function dosDateTime(d: Date): { dosDate: number; dosTime: number } {
  return {
    dosDate: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    dosTime: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

/** A zip of stored entries whose every header field the test controls. */
export function rawZip(entries: RawZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = typeof e.name === 'string' ? Buffer.from(e.name, 'utf8') : e.name;
    const data = e.data ?? Buffer.alloc(0);
    const stored = e.stored ?? data;
    const crc = e.crc ?? zlib.crc32(data);
    const { dosDate, dosTime } = e.dosDate === undefined ? dosDateTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 6))) : { dosDate: e.dosDate, dosTime: e.dosTime ?? 0 };
    const flags = e.flags ?? 0;
    const method = e.method ?? 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, stored);
    const comment = e.comment ?? Buffer.alloc(0);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(e.madeBy ?? 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(stored.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30);
    central.writeUInt16LE(comment.length, 32);
    central.writeUInt32LE((e.externalAttributes ?? 0) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name, comment);
    offset += local.length + name.length + stored.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** One tar entry: its header block (ustar, built by the tar package) and its padded data. */
export function tarEntry(header: HeaderData, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = new Header({ mode: 0o644, uid: 0, gid: 0, mtime: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), size: data.length, ...header });
  const block = Buffer.alloc(512);
  h.encode(block, 0);
  const pad = (512 - (data.length % 512)) % 512;
  return Buffer.concat([block, data, Buffer.alloc(pad)]);
}

/** The two zero blocks that end a tar archive. */
export const TAR_END = Buffer.alloc(1024);

/** Whether a command is on the PATH. */
export function hasTool(tool: string): boolean {
  return (process.env['PATH'] ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, tool)));
}

export const TOOLS = {
  bzip2: hasTool('bzip2'),
  xz: hasTool('xz'),
  zstd: hasTool('zstd'),
  lz4: hasTool('lz4'),
};

/** Compresses bytes with a CLI tool (`bzip2`, `xz`, `zstd`, `lz4`) writing to stdout. */
export function compressWithTool(tool: 'bzip2' | 'xz' | 'zstd' | 'lz4', input: Buffer, args: string[] = []): Buffer {
  const r = spawnSync(tool, [...args, '-c'], { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${tool} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

/** Compresses a stream with a CLI tool without holding the input in memory. */
export async function compressStreamWithTool(tool: 'bzip2' | 'xz' | 'zstd' | 'lz4' | 'gzip', input: Readable, args: string[] = []): Promise<Buffer> {
  const child = spawn(tool, [...args, '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  input.pipe(child.stdin);
  const status = await exited;
  if (status !== 0) throw new Error(`${tool} exited with ${String(status)}`);
  return Buffer.concat(out);
}

/** A Readable of `size` zero bytes, in 1 MiB chunks. */
export function zeros(size: number): Readable {
  const chunk = Buffer.alloc(1 << 20);
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

export interface EntryRecord {
  name: string;
  kind: ArchiveEntry['kind'];
  size: number;
  mtime: Date | undefined;
  encrypted: boolean;
  /** Content of files (others: undefined). */
  data: Buffer | undefined;
}

/** Reads every entry (and every file's content) of an archive. */
export async function readAll(reader: ArchiveReader, options: { content?: boolean } = {}): Promise<EntryRecord[]> {
  const out: EntryRecord[] = [];
  for await (const e of reader.entries()) {
    let data: Buffer | undefined;
    if (e.kind === 'file' && !e.encrypted && options.content !== false) {
      const chunks: Buffer[] = [];
      for await (const c of await e.open()) chunks.push(c as Buffer);
      data = Buffer.concat(chunks);
    }
    out.push({ name: e.name, kind: e.kind, size: e.size, mtime: e.mtime, encrypted: e.encrypted === true, data });
  }
  return out;
}

/** Drains a stream, returning its byte count. */
export async function drain(stream: Readable): Promise<number> {
  let n = 0;
  for await (const c of stream) n += (c as Buffer).length;
  return n;
}
