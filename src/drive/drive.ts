/**
 * @module drive/drive
 * Each user's `my` file system is a real folder under the data folder, seeded from
 * `fixtures/drive/<email>/`. An index beside it keeps what responses need (ids, sizes, times).
 * Every change goes through here: files are written elsewhere and renamed into place, and no
 * path ever resolves outside the user's folder.
 */
import {
  copyFileSync,
  constants as fsConstants,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Accounts } from '../accounts/accounts.js';
import type { Clock } from '../engine/clock.js';

export type NodeKind = 'file' | 'folder';

export interface DriveNode {
  /** Object id (hashid type 2, files and folders alike). */
  readonly id: number;
  readonly kind: NodeKind;
  readonly name: string;
  size: number;
  readonly createdAt: number;
  updatedAt: number;
  /** The storage policy holding a file's content (files only). */
  policyId?: number;
}

/**
 * A content version of a file (spec F§1.7). Kept beside the node, not on it: a file's node
 * stays the same object across versions, while every commit makes a new entity.
 */
export interface FileEntity {
  /** Entity id (hashid type 8); ids count from 1, 0 means "no content". */
  readonly id: number;
  /** Unix ms when the content was committed. */
  readonly createdAt: number;
}

/** Where an object lives: its owner and path. */
export interface Located {
  userId: number;
  segments: string[];
  node: DriveNode;
}

/** Why a drive operation failed; services turn it into the server's code and message. */
export type DriveErrorReason = 'not_found' | 'exists' | 'not_folder' | 'illegal_path';

export class DriveError extends Error {
  override readonly name = 'DriveError';
  constructor(
    readonly reason: DriveErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/** Files named like this in the fixtures only make git keep an empty folder; they are not copied. */
export const KEEP_FILE = '.keep';

export interface Drive {
  /** The user's folder on disk. */
  rootOf(userId: number): string;
  /** The object at a path; undefined when there is none (or the path cannot name one). */
  stat(userId: number, segments: readonly string[]): DriveNode | undefined;
  /** Children of a folder, sorted by name; undefined when it is not a folder. */
  children(userId: number, segments: readonly string[]): DriveNode[] | undefined;
  /** Creates a folder and its missing parents; a file in the way → DriveError 'exists'. */
  ensureFolder(userId: number, segments: readonly string[]): DriveNode;
  /**
   * Moves a finished file (on the same disk) into place at `segments`, creating missing
   * parents. An existing file there gets the new content as a new version (same id).
   * `mtime` (Unix ms) sets its modification time; the clock's now by default. A new file goes
   * to `policyId`, by default the policy of its owner's group.
   */
  commitFile(userId: number, segments: readonly string[], source: string, mtime?: number, policyId?: number): DriveNode;
  /**
   * Creates an empty file with no content version (primary entity 0), as `POST /file/create`
   * does; missing parents must exist already. Anything at `segments` → DriveError 'exists'.
   */
  createFile(userId: number, segments: readonly string[], policyId?: number): DriveNode;
  /** The current content version of a file; undefined for folders and files created empty. */
  entityOf(node: DriveNode): FileEntity | undefined;
  /** The file whose current content is entity `entityId`; undefined once a newer version replaced it. */
  findEntity(entityId: number): (Located & { entity: FileEntity }) | undefined;
  /** Owner and path of the object with id `nodeId`. */
  locate(nodeId: number): Located | undefined;
  /** An object's public metadata (name → value); empty when it has none. */
  metadataOf(node: DriveNode): Readonly<Record<string, string>>;
  /** Sets public metadata keys of an object (an empty patch changes nothing). */
  patchMetadata(node: DriveNode, patch: Readonly<Record<string, string>>): void;
  /** Removes public metadata keys of an object. */
  unsetMetadata(node: DriveNode, keys: readonly string[]): void;
  /** Moves a file's content to another storage policy (its bytes stay as they are). */
  setPolicy(userId: number, segments: readonly string[], policyId: number): void;
  /** Bytes used by the user's files. */
  used(userId: number): number;
  /** The disk path of an object of the user. */
  diskPath(userId: number, segments: readonly string[]): string;
  /** A fresh private folder for work in progress, on the same disk as the drives. */
  makeTempDir(prefix: string): string;
  /** The index, for a snapshot (the files themselves are under `<dataDir>/drives`). */
  exportIndex(): DriveSnapshot;
  /**
   * Deletes an object for good (a folder with everything below it) from the index and the
   * disk; the user's usage falls by the bytes freed, which are returned. Not the root.
   */
  remove(userId: number, segments: readonly string[]): number;
  /**
   * Moves an object (a folder with everything below it) out of `my` into the user's trash as
   * the item `name`; sizes and usage stay. Its content moves to `<dataDir>/trash/<user>/<name>`.
   */
  trash(userId: number, segments: readonly string[], name: string, deletedAt: number): TrashItem;
  /** The user's trash items, in deletion order. */
  trashItems(userId: number): readonly TrashItem[];
  /** Deletes a trash item for good; usage falls by the bytes freed, which are returned. */
  purge(userId: number, name: string): number;
}

/** An object in a user's trash: the root of what was deleted, with everything that was below it. */
export interface TrashItem {
  /** The internal name (a UUID given at deletion): `cloudreve://trash/<name>`. */
  readonly name: string;
  /** The deleted object, keeping its id, original name, size and times. */
  readonly node: DriveNode;
  /** Where it was in `my`. */
  readonly restore: readonly string[];
  /** Unix ms. */
  readonly deletedAt: number;
  /** What was below it (folders only), paths relative to it, parents before children. */
  readonly entries: ReadonlyArray<{ path: readonly string[]; node: DriveNode }>;
}

/** What a snapshot keeps of the drives besides their files. */
export interface DriveSnapshot {
  nextId: number;
  /** Per user id: every object but the root, parents before children. */
  users: Record<string, Array<{ path: string[] } & Omit<DriveNode, 'name'>>>;
  roots: Record<string, Omit<DriveNode, 'name'>>;
  /** Content versions by node id, and the next entity id (absent in older snapshots: files with content then get new ones). */
  entities?: { next: number; files: Record<string, FileEntity> };
  /** Public metadata by node id (absent when nothing has any). */
  metadata?: Record<string, Record<string, string>>;
  /** Trash items per user id (absent when every trash is empty). */
  trash?: Record<string, TrashItem[]>;
}

/** Refuses segments that could name anything but one object inside its parent. */
function checkSegments(segments: readonly string[]): void {
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0')) {
      throw new DriveError('illegal_path', `illegal path segment ${JSON.stringify(s)}`);
    }
  }
}

/** The index key of a path; checks the segments, so no alias of another path can be formed. */
const key = (segments: readonly string[]): string => {
  checkSegments(segments);
  return '/' + segments.join('/');
};

/**
 * Creates the drives under `dataDir` and seeds every user's `my` from `fixturesDrive`
 * (`<fixturesDrive>/<email>/…`; missing folders give empty drives).
 */
export function createDrive(options: {
  dataDir: string;
  fixturesDrive: string;
  accounts: Accounts;
  clock: Clock;
  /** Rebuild from a snapshot whose files are already in `<dataDir>/drives`, instead of seeding. */
  restore?: DriveSnapshot;
}): Drive {
  const drivesDir = path.join(options.dataDir, 'drives');
  const tmpDir = path.join(options.dataDir, 'tmp');
  const trashDir = path.join(options.dataDir, 'trash');
  mkdirSync(drivesDir, { recursive: true });
  mkdirSync(tmpDir, { recursive: true });
  // Trash items per user, in deletion order; their content lives under `trashDir`.
  const trashes = new Map<number, TrashItem[]>();
  const indexes = new Map<number, Map<string, DriveNode>>();
  // Names in each folder, keyed by user and folder path: the index, not the disk, says what exists.
  const folders = new Map<number, Map<string, Set<string>>>();
  const usage = new Map<number, number>();
  // Where each object is (by node id), each file's current content version (by node id), and
  // which file holds each current entity (by entity id).
  const places = new Map<number, { userId: number; key: string }>();
  const primary = new Map<number, FileEntity>();
  const entityFiles = new Map<number, number>();
  const metadata = new Map<number, Record<string, string>>();
  let nextId = 1;
  let nextEntityId = 1;

  const node = (kind: NodeKind, name: string, size: number, time: number): DriveNode => ({
    id: nextId++,
    kind,
    name,
    size,
    createdAt: time,
    updatedAt: time,
  });

  const rootOf = (userId: number): string => path.join(drivesDir, String(userId));
  const groupPolicy = (userId: number): number => options.accounts.userById(userId)?.group.policyId ?? 1;

  const diskPath = (userId: number, segments: readonly string[]): string => {
    checkSegments(segments);
    const root = rootOf(userId);
    const full = path.join(root, ...segments);
    // Defence in depth: the checks above already make this impossible.
    if (full !== root && !full.startsWith(root + path.sep)) throw new DriveError('illegal_path', 'path leaves the drive');
    return full;
  };

  const indexOf = (userId: number): Map<string, DriveNode> => {
    let index = indexes.get(userId);
    if (!index) {
      const root = node('folder', '', 0, options.clock.now());
      index = new Map([['/', root]]);
      indexes.set(userId, index);
      places.set(root.id, { userId, key: '/' });
      folders.set(userId, new Map([['/', new Set()]]));
      mkdirSync(rootOf(userId), { recursive: true });
    }
    return index;
  };

  /** Records a new object in the index and in its parent's list of names. */
  const remember = (userId: number, segments: readonly string[], n: DriveNode): void => {
    indexOf(userId).set(key(segments), n);
    places.set(n.id, { userId, key: key(segments) });
    const names = folders.get(userId)!;
    names.get(key(segments.slice(0, -1)))!.add(n.name);
    if (n.kind === 'folder') names.set(key(segments), new Set());
  };

  /** Makes `entity` the file's current content; the version it replaces is gone (no version retention). */
  const setEntity = (n: DriveNode, entity: FileEntity): void => {
    const old = primary.get(n.id);
    if (old) entityFiles.delete(old.id);
    primary.set(n.id, entity);
    entityFiles.set(entity.id, n.id);
  };
  const newEntity = (n: DriveNode, time: number): void => setEntity(n, { id: nextEntityId++, createdAt: time });

  const addUsage = (userId: number, delta: number): void => {
    usage.set(userId, (usage.get(userId) ?? 0) + delta);
  };

  // Seeding: hard links where the disk allows (nothing ever writes a drive file in place, so a
  // link never lets a change reach the fixtures), a copy otherwise.
  const place = (from: string, to: string): void => {
    try {
      linkSync(from, to);
    } catch {
      copyFileSync(from, to, fsConstants.COPYFILE_FICLONE);
    }
  };

  const seedFolder = (userId: number, from: string, segments: string[], time: number): void => {
    for (const name of readdirSync(from).sort()) {
      if (name === KEEP_FILE) continue;
      const src = path.join(from, name);
      const info = lstatSync(src);
      const child = [...segments, name];
      if (info.isDirectory()) {
        mkdirSync(diskPath(userId, child));
        remember(userId, child, node('folder', name, 0, time));
        seedFolder(userId, src, child, time);
      } else if (info.isFile()) {
        place(src, diskPath(userId, child));
        const file: DriveNode = { ...node('file', name, info.size, time), policyId: groupPolicy(userId) };
        remember(userId, child, file);
        // A seeded file with content was uploaded once; an empty one counts as created empty.
        if (info.size > 0) newEntity(file, time);
        addUsage(userId, info.size);
      }
      // Symbolic links and other special files in the fixtures are ignored.
    }
  };

  const restoreFrom = (snap: DriveSnapshot): void => {
    for (const [uid, root] of Object.entries(snap.roots)) {
      const userId = Number(uid);
      indexes.set(userId, new Map([['/', { ...root, name: '' }]]));
      places.set(root.id, { userId, key: '/' });
      folders.set(userId, new Map([['/', new Set()]]));
      usage.set(userId, 0);
      for (const entry of snap.users[uid] ?? []) {
        const { path: segments, ...rest } = entry;
        const n: DriveNode = { ...rest, name: segments[segments.length - 1]! };
        // Every indexed file must really be there, inside the user's folder.
        const onDisk = statSync(diskPath(userId, segments), { throwIfNoEntry: false });
        if (!onDisk || (n.kind === 'file') !== onDisk.isFile()) throw new DriveError('not_found', `snapshot file missing: ${key(segments)}`);
        remember(userId, segments, n);
        if (n.kind === 'file') addUsage(userId, n.size);
      }
    }
    nextId = snap.nextId;
    for (const [id, meta] of Object.entries(snap.metadata ?? {})) metadata.set(Number(id), { ...meta });
    for (const [uid, items] of Object.entries(snap.trash ?? {})) {
      const userId = Number(uid);
      for (const item of items) {
        checkSegments([item.name]);
        if (!existsSync(trashPath(userId, item.name))) throw new DriveError('not_found', `snapshot trash item missing: ${item.name}`);
        addUsage(userId, sizeOf(item));
      }
      trashes.set(userId, items.map((item) => ({ ...item, node: { ...item.node }, entries: item.entries.map((e) => ({ path: [...e.path], node: { ...e.node } })) })));
    }
    if (snap.entities) {
      nextEntityId = snap.entities.next;
      for (const [id, entity] of Object.entries(snap.entities.files)) {
        const n = locateNode(Number(id)) ?? trashedNode(Number(id));
        if (n) setEntity(n, { id: entity.id, createdAt: entity.createdAt });
      }
    } else {
      // An older snapshot: every file with content gets a version, as seeding does.
      for (const index of indexes.values()) {
        for (const n of index.values()) if (n.kind === 'file' && n.size > 0) newEntity(n, n.updatedAt);
      }
    }
  };

  /** A node inside some trash item, by id. */
  const trashedNode = (nodeId: number): DriveNode | undefined => {
    for (const items of trashes.values()) {
      for (const item of items) {
        if (item.node.id === nodeId) return item.node;
        const inside = item.entries.find((e) => e.node.id === nodeId);
        if (inside) return inside.node;
      }
    }
    return undefined;
  };
  const trashPath = (userId: number, name: string): string => path.join(trashDir, String(userId), name);
  /** Bytes of the files of a trash item. */
  const sizeOf = (item: TrashItem): number =>
    (item.node.kind === 'file' ? item.node.size : 0) + item.entries.reduce((sum, e) => sum + (e.node.kind === 'file' ? e.node.size : 0), 0);

  /** Every object at or below `segments` (index key and node), parents before children. */
  const subtree = (userId: number, segments: readonly string[]): Array<[string, DriveNode]> => {
    const top = key(segments);
    return [...indexOf(userId).entries()].filter(([k]) => k === top || k.startsWith(top + '/'));
  };

  /** Takes an object and what is below it out of the index (not the disk, not the usage). */
  const forget = (userId: number, segments: readonly string[]): Array<[string, DriveNode]> => {
    const nodes = subtree(userId, segments);
    const index = indexOf(userId);
    const names = folders.get(userId)!;
    for (const [k, n] of nodes) {
      index.delete(k);
      places.delete(n.id);
      names.delete(k);
    }
    names.get(key(segments.slice(0, -1)))?.delete(segments[segments.length - 1]!);
    return nodes;
  };

  /** Drops what the index keeps beside deleted nodes: content versions and metadata. */
  const dropRecords = (nodes: readonly DriveNode[]): number => {
    let freed = 0;
    for (const n of nodes) {
      const entity = primary.get(n.id);
      if (entity) entityFiles.delete(entity.id);
      primary.delete(n.id);
      metadata.delete(n.id);
      if (n.kind === 'file') freed += n.size;
    }
    return freed;
  };

  function locateNode(nodeId: number): DriveNode | undefined {
    const place = places.get(nodeId);
    const n = place ? indexes.get(place.userId)?.get(place.key) : undefined;
    return n && n.id === nodeId ? n : undefined;
  }

  if (options.restore) {
    restoreFrom(options.restore);
  } else {
    const seedTime = options.clock.now();
    for (const user of options.accounts.users) {
      indexOf(user.id);
      usage.set(user.id, 0);
      const from = path.join(options.fixturesDrive, user.email);
      if (existsSync(from) && statSync(from).isDirectory()) seedFolder(user.id, from, [], seedTime);
    }
  }

  /** A path that cannot name an object (illegal segments) simply does not exist. */
  const lookupKey = (segments: readonly string[]): string | undefined => {
    try {
      return key(segments);
    } catch {
      return undefined;
    }
  };

  const stat = (userId: number, segments: readonly string[]): DriveNode | undefined => {
    const k = lookupKey(segments);
    return k === undefined ? undefined : indexOf(userId).get(k);
  };

  function locate(nodeId: number): Located | undefined {
    const place = places.get(nodeId);
    const n = locateNode(nodeId);
    return place && n ? { userId: place.userId, segments: place.key === '/' ? [] : place.key.slice(1).split('/'), node: n } : undefined;
  }

  const ensureFolder = (userId: number, segments: readonly string[]): DriveNode => {
    const index = indexOf(userId);
    let current = index.get('/')!;
    for (let i = 1; i <= segments.length; i++) {
      const part = segments.slice(0, i);
      const existing = index.get(key(part));
      if (existing) {
        if (existing.kind !== 'folder') throw new DriveError('exists', `${key(part)} is a file`);
        current = existing;
        continue;
      }
      mkdirSync(diskPath(userId, part), { recursive: true });
      current = node('folder', part[part.length - 1]!, 0, options.clock.now());
      remember(userId, part, current);
    }
    return current;
  };

  return {
    rootOf,
    stat,
    children(userId, segments) {
      const k = lookupKey(segments);
      const names = k === undefined ? undefined : folders.get(userId)?.get(k);
      if (!names) return undefined;
      const index = indexOf(userId);
      return [...names].sort().map((name) => index.get(key([...segments, name]))!);
    },
    ensureFolder,
    commitFile(userId, segments, source, mtime, policyId) {
      if (segments.length === 0) throw new DriveError('exists', 'the root is a folder');
      ensureFolder(userId, segments.slice(0, -1));
      const index = indexOf(userId);
      const existing = index.get(key(segments));
      if (existing && existing.kind === 'folder') throw new DriveError('exists', `${key(segments)} is a folder`);
      const size = statSync(source).size;
      renameSync(source, diskPath(userId, segments));
      const now = mtime ?? options.clock.now();
      if (existing) {
        addUsage(userId, size - existing.size);
        existing.size = size;
        existing.updatedAt = now;
        if (policyId !== undefined) existing.policyId = policyId;
        newEntity(existing, options.clock.now());
        return existing;
      }
      const created: DriveNode = { ...node('file', segments[segments.length - 1]!, size, now), policyId: policyId ?? groupPolicy(userId) };
      remember(userId, segments, created);
      newEntity(created, options.clock.now());
      addUsage(userId, size);
      return created;
    },
    createFile(userId, segments, policyId) {
      if (segments.length === 0 || stat(userId, segments)) throw new DriveError('exists', `${key(segments)} exists`);
      const parent = stat(userId, segments.slice(0, -1));
      if (!parent) throw new DriveError('not_found', `${key(segments.slice(0, -1))} does not exist`);
      if (parent.kind !== 'folder') throw new DriveError('not_folder', `${key(segments.slice(0, -1))} is a file`);
      // An empty file is never seen half-written; the index, not the disk, says what exists.
      writeFileSync(diskPath(userId, segments), '');
      const created: DriveNode = { ...node('file', segments[segments.length - 1]!, 0, options.clock.now()), policyId: policyId ?? groupPolicy(userId) };
      remember(userId, segments, created);
      return created;
    },
    entityOf: (n) => primary.get(n.id),
    findEntity(entityId) {
      const nodeId = entityFiles.get(entityId);
      const found = nodeId === undefined ? undefined : locate(nodeId);
      const entity = found ? primary.get(found.node.id) : undefined;
      return found && entity?.id === entityId ? { ...found, entity } : undefined;
    },
    locate,
    metadataOf: (n) => metadata.get(n.id) ?? {},
    patchMetadata(n, patch) {
      if (Object.keys(patch).length === 0) return;
      metadata.set(n.id, { ...metadata.get(n.id), ...patch });
    },
    unsetMetadata(n, keys) {
      const meta = metadata.get(n.id);
      if (!meta) return;
      for (const k of keys) delete meta[k];
      if (Object.keys(meta).length === 0) metadata.delete(n.id);
    },
    setPolicy(userId, segments, policyId) {
      const n = stat(userId, segments);
      if (!n || n.kind !== 'file') throw new DriveError('not_found', `${segments.join('/')} is no file`);
      n.policyId = policyId;
    },
    used: (userId) => usage.get(userId) ?? 0,
    diskPath,
    makeTempDir: (prefix) => mkdtempSync(path.join(tmpDir, `${prefix}-`)),
    exportIndex() {
      const snap: DriveSnapshot = { nextId, users: {}, roots: {}, entities: { next: nextEntityId, files: {} } };
      for (const [id, entity] of primary) snap.entities!.files[id] = { ...entity };
      if (metadata.size > 0) snap.metadata = Object.fromEntries([...metadata].map(([id, meta]) => [id, { ...meta }]));
      for (const [userId, index] of indexes) {
        const { name: _root, ...root } = index.get('/')!;
        snap.roots[userId] = root;
        // Map order is insertion order: a folder always precedes what it holds.
        snap.users[userId] = [...index.entries()]
          .filter(([k]) => k !== '/')
          .map(([k, n]) => {
            const { name: _name, ...rest } = n;
            return { path: k.slice(1).split('/'), ...rest };
          });
      }
      for (const [userId, items] of trashes) if (items.length > 0) (snap.trash ??= {})[userId] = items.map((item) => ({ ...item }));
      return snap;
    },
    remove(userId, segments) {
      if (segments.length === 0 || !stat(userId, segments)) throw new DriveError('not_found', `${key(segments)} does not exist`);
      const disk = diskPath(userId, segments);
      const freed = dropRecords(forget(userId, segments).map(([, n]) => n));
      rmSync(disk, { recursive: true, force: true });
      addUsage(userId, -freed);
      return freed;
    },
    trash(userId, segments, name, deletedAt) {
      checkSegments([name]);
      const top = segments.length === 0 ? undefined : stat(userId, segments);
      if (!top) throw new DriveError('not_found', `${key(segments)} does not exist`);
      const target = trashPath(userId, name);
      mkdirSync(path.dirname(target), { recursive: true });
      renameSync(diskPath(userId, segments), target);
      const prefix = key(segments).length + 1;
      const entries = forget(userId, segments)
        .filter(([, n]) => n !== top)
        .map(([k, n]) => ({ path: k.slice(prefix).split('/'), node: n }));
      const item: TrashItem = { name, node: top, restore: [...segments], deletedAt, entries };
      trashes.set(userId, [...(trashes.get(userId) ?? []), item]);
      return item;
    },
    trashItems: (userId) => trashes.get(userId) ?? [],
    purge(userId, name) {
      const items = trashes.get(userId) ?? [];
      const item = items.find((i) => i.name === name);
      if (!item) throw new DriveError('not_found', `trash item ${name} does not exist`);
      trashes.set(userId, items.filter((i) => i !== item));
      const freed = dropRecords([item.node, ...item.entries.map((e) => e.node)]);
      rmSync(trashPath(userId, name), { recursive: true, force: true });
      addUsage(userId, -freed);
      return freed;
    },
  };
}

/** Removes a temporary folder made by `makeTempDir`, ignoring one that is already gone. */
export function removeTempDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
