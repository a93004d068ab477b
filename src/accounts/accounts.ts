/**
 * @module accounts/accounts
 * Groups and users, loaded from the fixtures' accounts file. Each simulator owns its own
 * `Accounts`: nothing here is shared between instances.
 */
import { readYamlFile } from '../util/yaml-file.js';
import { encodeBoolset } from '../util/boolset.js';

/** Permission bits by name (spec §2.3). */
export const Permission = {
  admin: 0,
  anonymous: 1,
  share: 2,
  webdav: 3,
  archive_download: 4,
  archive_task: 5,
  webdav_proxy: 6,
  share_download: 7,
  remote_download: 9,
  redirected_source: 11,
  advance_delete: 12,
} as const;

export type PermissionName = keyof typeof Permission;

export type UserStatus = 'active' | 'inactive' | 'manual_banned' | 'sys_banned';
const USER_STATUSES: readonly UserStatus[] = ['active', 'inactive', 'manual_banned', 'sys_banned'];

/** A group's trash retention when the fixtures give none: seven days, as on a fresh install (spec F§1.4). */
export const DEFAULT_TRASH_RETENTION = 604800;

export interface Group {
  id: number;
  name: string;
  permissions: ReadonlySet<number>;
  /** The permission boolset as the wire carries it. */
  permission: string;
  maxStorage: number;
  compressSize: number;
  decompressSize: number;
  aria2Batch: number;
  maxWalkedFiles: number;
  /** Seconds a deleted object stays in the trash before it is due for collection. */
  trashRetention: number;
  /** The storage policy new files of its users go to. */
  policyId: number;
}

export interface User {
  id: number;
  email: string;
  password: string;
  nickname: string;
  status: UserStatus;
  group: Group;
  /** Unix ms. */
  createdAt: number;
  language?: string;
  preferredTheme?: string;
  /** Bumped when the password changes: refresh tokens issued before then stop working. */
  credentialVersion: number;
}

export interface Accounts {
  readonly groups: readonly Group[];
  readonly users: readonly User[];
  userById(id: number): User | undefined;
  userByEmail(email: string): User | undefined;
  groupByName(name: string): Group | undefined;
  hasPermission(user: User, bit: PermissionName): boolean;
}

/** Thrown for a malformed accounts file; the message names the file and the entry at fault. */
export class FixtureError extends Error {
  override readonly name = 'FixtureError';
}

type Raw = Record<string, unknown>;

/** Loads and checks an accounts file (YAML). */
export function loadAccounts(file: string, defaultCreatedAt: number): Accounts {
  let doc: unknown;
  try {
    doc = readYamlFile(file);
  } catch (err) {
    throw new FixtureError(`Failed to read accounts file ${file}: ${(err as Error).message}`);
  }
  const fail = (where: string, what: string): never => {
    throw new FixtureError(`Invalid accounts file ${file}: ${where}: ${what}.`);
  };
  if (!isObject(doc)) fail('top level', 'expected a mapping with "groups" and "users"');
  const root = doc as Raw;
  if (!Array.isArray(root.groups) || root.groups.length === 0) fail('groups', 'expected a non-empty list');
  if (!Array.isArray(root.users)) fail('users', 'expected a list');

  const groups: Group[] = (root.groups as unknown[]).map((g, i) => {
    const where = `groups[${i}]`;
    if (!isObject(g)) return fail(where, 'expected a mapping');
    const id = positiveInt(g.id, `${where}.id`, fail);
    if (typeof g.name !== 'string' || !g.name) fail(`${where}.name`, 'expected a non-empty string');
    const perms = g.permissions ?? [];
    if (!Array.isArray(perms)) fail(`${where}.permissions`, 'expected a list of bit numbers or names');
    const bits = new Set<number>();
    for (const p of perms as unknown[]) {
      if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p < 256) bits.add(p);
      else if (typeof p === 'string' && Object.hasOwn(Permission, p)) bits.add(Permission[p as PermissionName]);
      else fail(`${where}.permissions`, `unknown permission ${JSON.stringify(p)} (use a bit number or one of ${Object.keys(Permission).join(', ')})`);
    }
    return {
      id,
      name: g.name as string,
      permissions: bits,
      permission: encodeBoolset([...bits].sort((a, b) => a - b)),
      maxStorage: nonNegativeInt(g.max_storage ?? 0, `${where}.max_storage`, fail),
      compressSize: nonNegativeInt(g.compress_size ?? 0, `${where}.compress_size`, fail),
      decompressSize: nonNegativeInt(g.decompress_size ?? 0, `${where}.decompress_size`, fail),
      aria2Batch: nonNegativeInt(g.aria2_batch ?? 0, `${where}.aria2_batch`, fail),
      maxWalkedFiles: nonNegativeInt(g.max_walked_files ?? 100000, `${where}.max_walked_files`, fail),
      trashRetention: nonNegativeInt(g.trash_retention ?? DEFAULT_TRASH_RETENTION, `${where}.trash_retention`, fail),
      policyId: positiveInt(g.policy ?? 1, `${where}.policy`, fail),
    };
  });
  unique(groups.map((g) => g.id), 'groups', 'id', fail);
  unique(groups.map((g) => g.name), 'groups', 'name', fail);

  const users: User[] = (root.users as unknown[]).map((u, i) => {
    const where = `users[${i}]`;
    if (!isObject(u)) return fail(where, 'expected a mapping');
    const id = positiveInt(u.id, `${where}.id`, fail);
    if (typeof u.email !== 'string' || !u.email.includes('@')) fail(`${where}.email`, 'expected an email address');
    if (typeof u.password !== 'string' || u.password.length < 4 || u.password.length > 128) {
      fail(`${where}.password`, 'expected a string of 4 to 128 characters (the sign-in rule)');
    }
    const group = groups.find((g) => g.name === u.group || g.id === u.group);
    if (!group) fail(`${where}.group`, `no group named or numbered ${JSON.stringify(u.group)}`);
    const status = (u.status ?? 'active') as UserStatus;
    if (!USER_STATUSES.includes(status)) fail(`${where}.status`, `use one of ${USER_STATUSES.join(', ')}`);
    let createdAt = defaultCreatedAt;
    if (u.created_at !== undefined) {
      const t = u.created_at instanceof Date ? u.created_at.getTime() : Date.parse(String(u.created_at));
      if (Number.isNaN(t)) fail(`${where}.created_at`, 'expected an RFC 3339 time');
      createdAt = t;
    }
    const user: User = {
      id,
      email: u.email as string,
      password: u.password as string,
      nickname: typeof u.nickname === 'string' && u.nickname ? u.nickname : (u.email as string).split('@')[0]!,
      status,
      group: group!,
      createdAt,
      credentialVersion: 0,
    };
    if (typeof u.language === 'string') user.language = u.language;
    if (typeof u.preferred_theme === 'string') user.preferredTheme = u.preferred_theme;
    return user;
  });
  unique(users.map((u) => u.id), 'users', 'id', fail);
  unique(users.map((u) => u.email.toLowerCase()), 'users', 'email', fail);

  const byId = new Map(users.map((u) => [u.id, u]));
  const byEmail = new Map(users.map((u) => [u.email.toLowerCase(), u]));
  return {
    groups,
    users,
    userById: (id) => byId.get(id),
    userByEmail: (email) => byEmail.get(email.toLowerCase()),
    groupByName: (name) => groups.find((g) => g.name === name),
    hasPermission: (user, bit) => user.group.permissions.has(Permission[bit]),
  };
}

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type Fail = (where: string, what: string) => never;

function positiveInt(v: unknown, where: string, fail: Fail): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) fail(where, 'expected a positive integer');
  return v as number;
}

function nonNegativeInt(v: unknown, where: string, fail: Fail): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(where, 'expected a non-negative integer');
  return v as number;
}

function unique(values: unknown[], list: string, key: string, fail: Fail): void {
  const seen = new Set<unknown>();
  for (const v of values) {
    if (seen.has(v)) fail(list, `duplicate ${key} ${JSON.stringify(v)}`);
    seen.add(v);
  }
}
