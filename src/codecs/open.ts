/** @module codecs/open — opens an archive of a detected format with the matching reader. */
import type { ArchiveFormat, ArchiveReader, OpenArchiveOptions } from './archive.js';
import { openSevenZip } from './sevenzip.js';
import { openTar } from './untar.js';
import { openZip } from './unzip.js';

export async function openArchive(file: string, format: ArchiveFormat, options: OpenArchiveOptions): Promise<ArchiveReader> {
  switch (format) {
    case 'zip':
      return openZip(file, options);
    case '7z':
      return openSevenZip(file, options);
    case 'rar':
      // No maintained pure-JS/wasm rar reader fits here; the README says so.
      throw new Error('rar archives are not supported by the simulator');
    default:
      return openTar(file, format, options);
  }
}
