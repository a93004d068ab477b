/**
 * @module codecs/archive
 * One reading interface for every archive format the extract task handles, and format
 * detection by content (magic bytes) with the file name as a hint, as the server detects.
 * Implementations: zip (./unzip.ts), the tar family (./untar.ts), 7z (./sevenzip.ts).
 */
import type { Readable } from 'node:stream';

export type ArchiveFormat = 'zip' | 'tar' | 'tar.gz' | 'tar.bz2' | 'tar.xz' | 'tar.zst' | 'tar.br' | 'tar.lz4' | '7z' | 'rar';

/** Result of detection: an archive format, a compression-only file (".gz" without tar), or nothing. */
export type Detected = { format: ArchiveFormat } | { compressedOnly: string } | undefined;

export interface ArchiveEntry {
  /**
   * The entry's path as stored: decoded (zip names through the requested encoding when not
   * flagged UTF-8), separators and dots NOT cleaned — the caller decides what is safe.
   */
  name: string;
  kind: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  /** Declared uncompressed size in bytes (0 when unknown). */
  size: number;
  /** Modification time from the archive, when it has one. */
  mtime?: Date;
  /** Encrypted content that cannot be read without (the right) password. */
  encrypted?: boolean;
  /**
   * Opens the content (files only). Must be consumed (or destroyed) before the next entry is
   * asked for; an entry never opened is skipped. The stream errors on a CRC mismatch or a
   * truncated archive.
   */
  open(): Promise<Readable>;
}

export interface OpenArchiveOptions {
  /** Zip only: the charset of names not flagged UTF-8, by the server's names (`gbk`, `shiftjis`…); unknown names are ignored. */
  encoding?: string;
  /** 7z (and rar): the password. */
  password?: string;
  signal?: AbortSignal;
}

export interface ArchiveReader {
  readonly format: ArchiveFormat;
  /** Entries in archive order. */
  entries(): AsyncIterable<ArchiveEntry>;
  close(): Promise<void>;
}
