/**
 * @module storage/policies
 * Storage policies (`<fixtures>/policies.yaml`) and what each one "holds in its storage" but no
 * drive knows yet (`<fixtures>/storage/<policy id>/…`, the tree import walks). Policy 1 is the
 * default local policy of a fresh install; without a policies file it is the only one.
 */
import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { readYamlFile } from '../util/yaml-file.js';
import { KEEP_FILE } from '../drive/drive.js';
import type { Schemas } from '../contract/index.js';
import type { IdCodec } from '../util/ids.js';

export const POLICY_TYPES = ['local', 'remote', 'oss', 'cos', 's3', 'ks3', 'obs', 'qiniu', 'upyun', 'onedrive'] as const;
export type PolicyType = (typeof POLICY_TYPES)[number];

export interface Policy {
  id: number;
  name: string;
  type: PolicyType;
  /** Largest file in bytes; 0 = no limit. */
  maxSize: number;
  /** Bytes per upload chunk (`PUT /file/upload`); 0 = the whole file in one chunk. */
  chunkSize: number;
  allowedSuffix: string[];
  deniedSuffix: string[];
  allowedNameRegexp?: string;
  deniedNameRegexp?: string;
  /** The folder standing for the policy's storage (import walks it); undefined when it holds nothing. */
  storageDir?: string;
}

/** The policy object as the API shows it (spec F§1.6), as the contract types it. */
export type PolicyDto = Schemas['StoragePolicy'];

/** The chunk size of a policy that does not set one: 25 MiB, as a fresh install's local policy. */
export const DEFAULT_CHUNK_SIZE = 26214400;

export const DEFAULT_POLICY: Policy = { id: 1, name: 'Default storage policy', type: 'local', maxSize: 0, chunkSize: DEFAULT_CHUNK_SIZE, allowedSuffix: [], deniedSuffix: [] };

export interface Policies {
  readonly all: readonly Policy[];
  byId(id: number): Policy | undefined;
  dto(policy: Policy, ids: IdCodec): PolicyDto;
}

/** Why a policy refuses a file: its size limit, or its name rules (spec F§7). */
export type PolicyRefusal = 'too_large' | 'name_refused';

/** Whether `policy` takes a file called `name` of `size` bytes. */
export function policyRefuses(policy: Policy, name: string, size: number): PolicyRefusal | undefined {
  if (policy.maxSize > 0 && size > policy.maxSize) return 'too_large';
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  if (policy.allowedSuffix.length > 0 && !policy.allowedSuffix.includes(ext)) return 'name_refused';
  if (policy.deniedSuffix.includes(ext)) return 'name_refused';
  if (policy.allowedNameRegexp && !new RegExp(policy.allowedNameRegexp).test(name)) return 'name_refused';
  if (policy.deniedNameRegexp && new RegExp(policy.deniedNameRegexp).test(name)) return 'name_refused';
  return undefined;
}

export function loadPolicies(fixtures: string): Policies {
  const file = path.join(fixtures, 'policies.yaml');
  const storageRoot = path.join(fixtures, 'storage');
  const fail = (where: string, what: string): never => {
    throw new TypeError(`Invalid storage policies ${file}: ${where}: ${what}.`);
  };
  const list: Policy[] = [];
  if (!existsSync(file)) {
    list.push({ ...DEFAULT_POLICY });
  } else {
    const doc = readYamlFile(file) as unknown;
    if (!Array.isArray(doc) || doc.length === 0) fail('top level', 'expected a non-empty list of policies');
    (doc as unknown[]).forEach((raw, i) => {
      const where = `policy ${i}`;
      if (!raw || typeof raw !== 'object') return fail(where, 'expected a mapping');
      const p = raw as Record<string, unknown>;
      const id = Number.isSafeInteger(p.id) && (p.id as number) > 0 ? (p.id as number) : fail(`${where}.id`, 'expected a positive whole number');
      if (list.some((q) => q.id === id)) fail(`${where}.id`, `${id} is declared twice`);
      const name = typeof p.name === 'string' && p.name ? p.name : fail(`${where}.name`, 'expected a string');
      const type = POLICY_TYPES.includes(p.type as PolicyType) ? (p.type as PolicyType) : fail(`${where}.type`, `expected one of ${POLICY_TYPES.join(', ')}`);
      const maxSize = p.max_size === undefined ? 0 : Number.isSafeInteger(p.max_size) && (p.max_size as number) >= 0 ? (p.max_size as number) : fail(`${where}.max_size`, 'expected bytes');
      const chunkSize =
        p.chunk_size === undefined ? DEFAULT_CHUNK_SIZE : Number.isSafeInteger(p.chunk_size) && (p.chunk_size as number) >= 0 ? (p.chunk_size as number) : fail(`${where}.chunk_size`, 'expected bytes');
      const suffixes = (v: unknown, w: string): string[] =>
        v === undefined ? [] : Array.isArray(v) && v.every((s) => typeof s === 'string') ? v.map((s: string) => s.toLowerCase()) : fail(w, 'expected a list of extensions');
      const regexp = (v: unknown, w: string): string | undefined => {
        if (v === undefined) return undefined;
        if (typeof v !== 'string') return fail(w, 'expected a regular expression');
        try {
          new RegExp(v);
        } catch (err) {
          fail(w, (err as Error).message);
        }
        return v;
      };
      const policy: Policy = {
        id,
        name,
        type,
        maxSize,
        chunkSize,
        allowedSuffix: suffixes(p.allowed_suffix, `${where}.allowed_suffix`),
        deniedSuffix: suffixes(p.denied_suffix, `${where}.denied_suffix`),
      };
      const allowed = regexp(p.allowed_name_regexp, `${where}.allowed_name_regexp`);
      const denied = regexp(p.denied_name_regexp, `${where}.denied_name_regexp`);
      if (allowed) policy.allowedNameRegexp = allowed;
      if (denied) policy.deniedNameRegexp = denied;
      list.push(policy);
    });
    if (!list.some((p) => p.id === DEFAULT_POLICY.id)) fail('policies', 'policy 1 (the default policy) is missing');
  }
  for (const policy of list) {
    const dir = path.join(storageRoot, String(policy.id));
    if (existsSync(dir) && statSync(dir).isDirectory()) policy.storageDir = dir;
  }
  const byId = new Map(list.map((p) => [p.id, p]));
  return {
    all: list,
    byId: (id) => byId.get(id),
    dto(policy, ids) {
      const out: PolicyDto = { id: ids.encode('policy', policy.id), name: policy.name, type: policy.type, max_size: policy.maxSize };
      // Rebuilt in the wire's key order.
      return {
        id: out.id,
        name: out.name,
        ...(policy.allowedSuffix.length > 0 ? { allowed_suffix: policy.allowedSuffix } : {}),
        ...(policy.deniedSuffix.length > 0 ? { denied_suffix: policy.deniedSuffix } : {}),
        ...(policy.allowedNameRegexp ? { allowed_name_regexp: policy.allowedNameRegexp } : {}),
        ...(policy.deniedNameRegexp ? { denied_name_regexp: policy.deniedNameRegexp } : {}),
        type: out.type,
        max_size: out.max_size,
      };
    },
  };
}

/** An object in a policy's storage: its path below the walked folder, and what it is. */
export interface StorageObject {
  /** Path segments relative to the walked folder. */
  path: string[];
  kind: 'file' | 'folder';
  size: number;
  /** The object's file on disk. */
  disk: string;
}

/**
 * Lists what a policy's storage holds under `src` (a storage path; `..` cannot climb above the
 * storage root, and neither can a symbolic link), folders before what they hold, names in byte
 * order. Not recursive: the folder's direct children only (folders included, not entered).
 * A `src` naming a file lists nothing (the walk skips its root). Symbolic links and `.keep`
 * files are left out. (Storage times are not used: a checkout sets them, so imported files get
 * the time of the import, as runs must repeat.)
 * @returns the objects, or the reason the storage cannot be walked there.
 */
export function listStorage(policy: Policy, src: string, recursive: boolean): StorageObject[] | { error: string } {
  const missing = { error: `failed to walk ${JSON.stringify(src)}: no such file or directory` };
  if (!policy.storageDir) return missing;
  try {
    const base = realpathSync(policy.storageDir);
    const segments = path.posix.normalize(`/${src}`).split('/').filter((s) => s !== '' && s !== '.' && s !== '..');
    const wanted = path.join(base, ...segments);
    if (!existsSync(wanted)) return missing;
    const root = realpathSync(wanted);
    const inside = (p: string) => p === base || p.startsWith(base + path.sep);
    if (!inside(root) || root !== wanted) return missing; // a link on the way leads elsewhere
    if (!statSync(root).isDirectory()) return [];
    const out: StorageObject[] = [];
    const walk = (dir: string, rel: string[]) => {
      const names = readdirSync(dir).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      for (const name of names) {
        if (name === KEEP_FILE) continue;
        const disk = path.join(dir, name);
        const st = lstatSync(disk);
        const child = [...rel, name];
        if (st.isDirectory()) {
          out.push({ path: child, kind: 'folder', size: 0, disk });
          if (recursive) walk(disk, child);
        } else if (st.isFile()) {
          out.push({ path: child, kind: 'file', size: st.size, disk });
        }
      }
    };
    walk(root, []);
    return out;
  } catch (err) {
    // ENOTDIR, ENAMETOOLONG, EACCES, a NUL byte…: the storage cannot be walked there.
    return { error: `failed to walk ${JSON.stringify(src)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}
