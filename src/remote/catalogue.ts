/**
 * @module remote/catalogue
 * The simulated downloader's catalogue (`<fixtures>/remote/catalogue.yaml`): what known URLs
 * and magnet links serve — a fixture file, a size, a multi-file torrent, or a failure.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { readYamlFile } from '../util/yaml-file.js';

export interface CatalogueEntry {
  name?: string;
  /** Absolute path of a fixture file whose bytes are served. */
  file?: string;
  size?: number;
  files?: Array<{ name: string; size: number }>;
  error?: string;
  stall?: boolean;
  rate?: number;
  /** Seconds a finished torrent seeds before it reports `completed` (absent: for ever). */
  seedFor?: number;
  /** Bytes per second uploaded while seeding. */
  uploadRate?: number;
}

export interface Catalogue {
  byUrl: ReadonlyMap<string, CatalogueEntry>;
  /** By the lower-case info hash of magnet links. */
  byHash: ReadonlyMap<string, CatalogueEntry>;
}

export const EMPTY_CATALOGUE: Catalogue = { byUrl: new Map(), byHash: new Map() };

/** Loads and checks `<fixtures>/remote/catalogue.yaml`; no file means an empty catalogue. */
export function loadCatalogue(fixtures: string): Catalogue {
  const dir = path.join(fixtures, 'remote');
  const file = path.join(dir, 'catalogue.yaml');
  if (!existsSync(file)) return EMPTY_CATALOGUE;
  const fail = (where: string, what: string): never => {
    throw new TypeError(`Invalid catalogue ${file}: ${where}: ${what}.`);
  };
  const doc = readYamlFile(file) as unknown;
  if (!Array.isArray(doc)) fail('top level', 'expected a list of entries');
  const byUrl = new Map<string, CatalogueEntry>();
  const byHash = new Map<string, CatalogueEntry>();
  (doc as unknown[]).forEach((raw, i) => {
    const where = `entry ${i}`;
    if (!raw || typeof raw !== 'object') return fail(where, 'expected a mapping');
    const e = raw as Record<string, unknown>;
    const entry: CatalogueEntry = {};
    if (e.name !== undefined) entry.name = typeof e.name === 'string' && e.name ? e.name : fail(`${where}.name`, 'expected a string');
    if (e.file !== undefined) {
      const full = path.resolve(dir, String(e.file));
      if (!full.startsWith(dir + path.sep) || !existsSync(full) || !statSync(full).isFile()) fail(`${where}.file`, `no file ${String(e.file)} under ${dir}`);
      entry.file = full;
    }
    const bytes = (v: unknown, w: string, unit = 'bytes') => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(w, `expected a whole number of ${unit}`));
    if (e.size !== undefined) entry.size = bytes(e.size, `${where}.size`);
    if (e.rate !== undefined) entry.rate = bytes(e.rate, `${where}.rate`);
    if (e.seed_for !== undefined) entry.seedFor = bytes(e.seed_for, `${where}.seed_for`, 'seconds');
    if (e.upload_rate !== undefined) entry.uploadRate = bytes(e.upload_rate, `${where}.upload_rate`);
    if (e.error !== undefined) entry.error = String(e.error);
    if (e.stall !== undefined) entry.stall = e.stall === true;
    if (e.files !== undefined) {
      if (!Array.isArray(e.files) || e.files.length === 0) fail(`${where}.files`, 'expected a non-empty list of {name, size}');
      entry.files = (e.files as Array<Record<string, unknown>>).map((f, j) => ({
        name: typeof f?.name === 'string' && f.name ? f.name : fail(`${where}.files[${j}].name`, 'expected a string'),
        size: bytes(f?.size, `${where}.files[${j}].size`),
      }));
    }
    if (typeof e.url === 'string' && e.url) byUrl.set(e.url, entry);
    else if (typeof e.magnet === 'string' && e.magnet) byHash.set(e.magnet.replace(/^urn:btih:/i, '').toLowerCase(), entry);
    else fail(where, 'give a url or a magnet info hash');
  });
  return { byUrl, byHash };
}
