/**
 * Reading ZIP files back in tests: yauzl with sizes checked, names kept verbatim (yauzl's own
 * name decoding refuses the server's leading-slash names), and `unzip -t` when Info-ZIP exists.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import yauzl from 'yauzl';

export interface ZipEntryRead {
  name: string;
  /** Whether the entry carries the UTF-8 name flag. */
  utf8: boolean;
  size: number;
  /** Modification time: the extended timestamp when present, else the DOS fields read as UTC. */
  mtime: Date;
  data: Buffer;
}

const UTF8_FLAG = 0x800;

/** Every entry of a ZIP file with its content, in archive order. */
export async function readZip(file: string): Promise<ZipEntryRead[]> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, strictFileNames: false, validateEntrySizes: true, decodeStrings: false });
  const out: ZipEntryRead[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      const chunks: Buffer[] = [];
      for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
      out.push({
        name: (entry.fileName as unknown as Buffer).toString('utf8'),
        utf8: (entry.generalPurposeBitFlag & UTF8_FLAG) !== 0,
        size: entry.uncompressedSize,
        mtime: entry.getLastModDate({ timezone: 'UTC' }),
        data: Buffer.concat(chunks),
      });
    }
  } finally {
    zip.close();
  }
  return out;
}

export const HAS_UNZIP = existsSync('/usr/bin/unzip');

/** Runs `unzip -t` on a file; returns its exit status and output (null when Info-ZIP is absent). */
export function unzipTest(file: string): { status: number | null; output: string } | null {
  if (!HAS_UNZIP) return null;
  const r = spawnSync('/usr/bin/unzip', ['-t', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
