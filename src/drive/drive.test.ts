import { describe, it, expect } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { driveFixture } from '../../test/drive-fixture.js';
import { createClock } from '../engine/clock.js';
import { DriveError, KEEP_FILE, createDrive, removeTempDir, type Drive, type DriveErrorReason } from './drive.js';

const T0 = Date.UTC(2025, 4, 20, 4, 0, 0);
const ALICE = 1;
const BOB = 2; // no fixture folder
const CAROL = 3; // a fixture folder holding only .keep

// Fixtures: <fixtures>/<email>/…
const { fixtures, accounts, makeDrive } = driveFixture(
  'drive-test',
  [
    {
      id: ALICE,
      email: 'alice@example.com',
      password: 'alicepass',
      files: {
        'hello.txt': 'hello',
        'notes.txt': 'some notes\n',
        'docs/readme.md': '# readme',
        'docs/sub/b.txt': 'bb',
        'empty/.keep': '',
        'docs/sub/.keep': '',
      },
    },
    { id: BOB, email: 'bob@example.com', password: 'bobpass' },
    { id: CAROL, email: 'carol@example.com', password: 'carolpass', files: { [KEEP_FILE]: '' } },
  ],
  T0,
);
const aliceFx = path.join(fixtures, 'alice@example.com');
symlinkSync(path.join(aliceFx, 'hello.txt'), path.join(aliceFx, 'link.txt'));
symlinkSync(path.join(aliceFx, 'docs'), path.join(aliceFx, 'linkdir'));
mkdirSync(path.join(fixtures, 'stranger@example.com'));
writeFileSync(path.join(fixtures, 'stranger@example.com', 'x.txt'), 'x');

const SEEDED_BYTES = 5 + 11 + 8 + 2;

/** Writes a file in a fresh temporary folder of the drive and returns its path. */
function tempFile(drive: Drive, content: string): string {
  const file = path.join(drive.makeTempDir('upload'), 'part');
  writeFileSync(file, content);
  return file;
}

function reasonOf(fn: () => unknown): DriveErrorReason | string {
  try {
    fn();
  } catch (err) {
    return err instanceof DriveError ? err.reason : `not a DriveError: ${String(err)}`;
  }
  return 'did not throw';
}

/** Every path under a folder, with file contents, for before/after comparisons. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) {
        out[child + '/'] = '';
        walk(child);
      } else if (entry.isFile()) out[child] = readFileSync(path.join(dir, child), 'utf8');
      else out[child] = '<link>';
    }
  };
  walk('');
  return out;
}

const names = (nodes: { name: string }[] | undefined): string[] | undefined => nodes?.map((n) => n.name);

describe('createDrive: seeding', () => {
  it('indexes every fixture file and folder of a user with id, kind, name, size and the seed time', () => {
    const { drive } = makeDrive();
    const node = (kind: 'file' | 'folder', name: string, size: number) => ({
      id: expect.any(Number),
      kind,
      name,
      size,
      createdAt: T0,
      updatedAt: T0,
      // Files are on their owner's group policy.
      ...(kind === 'file' ? { policyId: 1 } : {}),
    });
    expect(drive.stat(ALICE, [])).toEqual(node('folder', '', 0));
    expect(drive.stat(ALICE, ['hello.txt'])).toEqual(node('file', 'hello.txt', 5));
    expect(drive.stat(ALICE, ['notes.txt'])).toEqual(node('file', 'notes.txt', 11));
    expect(drive.stat(ALICE, ['docs'])).toEqual(node('folder', 'docs', 0));
    expect(drive.stat(ALICE, ['docs', 'readme.md'])).toEqual(node('file', 'readme.md', 8));
    expect(drive.stat(ALICE, ['docs', 'sub'])).toEqual(node('folder', 'sub', 0));
    expect(drive.stat(ALICE, ['docs', 'sub', 'b.txt'])).toEqual(node('file', 'b.txt', 2));
    expect(drive.stat(ALICE, ['empty'])).toEqual(node('folder', 'empty', 0));
  });

  it('copies each user\'s folder to disk, content included', () => {
    const { drive } = makeDrive();
    expect(tree(drive.rootOf(ALICE))).toEqual({
      'docs/': '',
      'docs/readme.md': '# readme',
      'docs/sub/': '',
      'docs/sub/b.txt': 'bb',
      'empty/': '',
      'hello.txt': 'hello',
      'notes.txt': 'some notes\n',
    });
  });

  it('gives every object a distinct id', () => {
    const { drive } = makeDrive();
    const paths = [[], ['hello.txt'], ['notes.txt'], ['docs'], ['docs', 'readme.md'], ['docs', 'sub'], ['docs', 'sub', 'b.txt'], ['empty']];
    const ids = [...paths.map((p) => drive.stat(ALICE, p)!.id), drive.stat(BOB, [])!.id, drive.stat(CAROL, [])!.id];
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
  });

  it('skips .keep files but keeps their folder', () => {
    const { drive } = makeDrive();
    expect(drive.stat(ALICE, ['empty'])?.kind).toBe('folder');
    expect(drive.stat(ALICE, ['empty', KEEP_FILE])).toBe(undefined);
    expect(drive.stat(ALICE, ['docs', 'sub', KEEP_FILE])).toBe(undefined);
    expect(readdirSync(drive.diskPath(ALICE, ['empty']))).toEqual([]);
    expect(drive.children(ALICE, ['empty'])).toEqual([]);
  });

  it('ignores symbolic links in the fixtures', () => {
    const { drive } = makeDrive();
    expect(drive.stat(ALICE, ['link.txt'])).toBe(undefined);
    expect(drive.stat(ALICE, ['linkdir'])).toBe(undefined);
    expect(readdirSync(drive.rootOf(ALICE)).sort()).toEqual(['docs', 'empty', 'hello.txt', 'notes.txt']);
  });

  it('gives an empty root to a user without a fixture folder, or with only .keep in it', () => {
    const { drive } = makeDrive();
    for (const user of [BOB, CAROL]) {
      expect(drive.stat(user, [])).toMatchObject({ kind: 'folder', name: '', size: 0 });
      expect(drive.children(user, [])).toEqual([]);
      expect(readdirSync(drive.rootOf(user))).toEqual([]);
      expect(drive.used(user)).toBe(0);
    }
  });

  it('counts the seeded bytes as used', () => {
    const { drive } = makeDrive();
    expect(drive.used(ALICE)).toBe(SEEDED_BYTES);
  });

  it('seeds files as hard links to the fixtures when on the same disk', () => {
    const { drive } = makeDrive();
    for (const rel of ['hello.txt', 'docs/sub/b.txt']) {
      const seeded = statSync(drive.diskPath(ALICE, rel.split('/')));
      const fixture = statSync(path.join(aliceFx, rel));
      expect([seeded.ino, seeded.dev]).toEqual([fixture.ino, fixture.dev]);
      expect(seeded.nlink).toBeGreaterThan(1);
    }
  });

  it('never changes the fixtures when the drive changes', () => {
    const before = tree(fixtures);
    const { drive } = makeDrive();
    const hello = drive.stat(ALICE, ['hello.txt'])!.id;
    const node = drive.commitFile(ALICE, ['hello.txt'], tempFile(drive, 'replaced content'));
    drive.commitFile(ALICE, ['docs', 'sub', 'b.txt'], tempFile(drive, 'B'));
    drive.commitFile(ALICE, ['docs', 'new.txt'], tempFile(drive, 'new'));
    drive.ensureFolder(ALICE, ['docs', 'made']);
    expect(node.id).toBe(hello);
    expect(readFileSync(drive.diskPath(ALICE, ['hello.txt']), 'utf8')).toBe('replaced content');
    expect(readFileSync(path.join(aliceFx, 'hello.txt'), 'utf8')).toBe('hello');
    expect(tree(fixtures)).toEqual(before);
  });
});

describe('Drive.stat', () => {
  it('finds the root and returns undefined for a missing path', () => {
    const { drive } = makeDrive();
    expect(drive.stat(ALICE, [])?.kind).toBe('folder');
    expect(drive.stat(ALICE, ['missing'])).toBe(undefined);
    expect(drive.stat(ALICE, ['docs', 'missing.txt'])).toBe(undefined);
    expect(drive.stat(ALICE, ['hello.txt', 'below-a-file'])).toBe(undefined);
  });

  it('keeps users apart', () => {
    const { drive } = makeDrive();
    expect(drive.stat(BOB, ['hello.txt'])).toBe(undefined);
    expect(drive.stat(ALICE, [])!.id).not.toBe(drive.stat(BOB, [])!.id);
    expect(drive.rootOf(ALICE)).not.toBe(drive.rootOf(BOB));
  });
});

describe('Drive: one segment names one object', () => {
  it.each([['docs/sub'], ['..'], ['.'], [''], ['a\\b'], ['a\0b']])(
    'finds nothing at the segment %j (no alias of another path) and refuses to create it',
    (segment) => {
      const { drive } = makeDrive();
      expect(drive.stat(ALICE, [segment])).toBe(undefined);
      expect(drive.children(ALICE, [segment])).toBe(undefined);
      expect(reasonOf(() => drive.ensureFolder(ALICE, [segment]))).toBe('illegal_path');
      expect(reasonOf(() => drive.diskPath(ALICE, [segment]))).toBe('illegal_path');
    },
  );
});

describe('Drive.children', () => {
  it('lists a folder\'s children sorted by name', () => {
    const { drive } = makeDrive();
    expect(names(drive.children(ALICE, []))).toEqual(['docs', 'empty', 'hello.txt', 'notes.txt']);
    expect(names(drive.children(ALICE, ['docs']))).toEqual(['readme.md', 'sub']);
    expect(drive.children(ALICE, ['docs', 'sub'])).toEqual([drive.stat(ALICE, ['docs', 'sub', 'b.txt'])]);
  });

  it('sorts by code unit whatever the creation order', () => {
    const { drive } = makeDrive();
    for (const name of ['b.txt', 'B.txt', 'a.txt', '中文.txt', '10.txt', '9.txt']) {
      drive.commitFile(ALICE, ['mix', name], tempFile(drive, name));
    }
    expect(names(drive.children(ALICE, ['mix']))).toEqual(['10.txt', '9.txt', 'B.txt', 'a.txt', 'b.txt', '中文.txt']);
  });

  it('is undefined for a file or a missing path', () => {
    const { drive } = makeDrive();
    expect(drive.children(ALICE, ['hello.txt'])).toBe(undefined);
    expect(drive.children(ALICE, ['missing'])).toBe(undefined);
    expect(drive.children(BOB, ['docs'])).toBe(undefined);
  });

  it('lists only indexed objects, not stray files on disk', () => {
    const { drive } = makeDrive();
    writeFileSync(path.join(drive.rootOf(ALICE), 'stray.tmp'), 'x');
    expect(names(drive.children(ALICE, []))).toEqual(['docs', 'empty', 'hello.txt', 'notes.txt']);
  });
});

describe('Drive.ensureFolder', () => {
  it('creates a folder and its missing parents, on disk and in the index', async () => {
    const { drive, clock } = makeDrive();
    await clock.advance(1_000);
    const node = drive.ensureFolder(ALICE, ['a', 'b', 'c']);
    expect(node).toEqual({ id: expect.any(Number), kind: 'folder', name: 'c', size: 0, createdAt: T0 + 1_000, updatedAt: T0 + 1_000 });
    expect(drive.stat(ALICE, ['a', 'b', 'c'])).toBe(node);
    for (const p of [['a'], ['a', 'b'], ['a', 'b', 'c']]) {
      expect(drive.stat(ALICE, p)?.kind).toBe('folder');
      expect(statSync(drive.diskPath(ALICE, p)).isDirectory()).toBe(true);
    }
    expect(names(drive.children(ALICE, ['a']))).toEqual(['b']);
  });

  it('is idempotent: the same node comes back and nothing new is made', () => {
    const { drive } = makeDrive();
    const first = drive.ensureFolder(ALICE, ['x', 'y']);
    const parent = drive.stat(ALICE, ['x']);
    expect(drive.ensureFolder(ALICE, ['x', 'y'])).toBe(first);
    expect(drive.stat(ALICE, ['x'])).toBe(parent);
    expect(drive.ensureFolder(ALICE, ['docs'])).toBe(drive.stat(ALICE, ['docs']));
    expect(drive.ensureFolder(ALICE, [])).toBe(drive.stat(ALICE, []));
    expect(names(drive.children(ALICE, ['x']))).toEqual(['y']);
  });

  it('throws DriveError "exists" when a file is in the way, and creates nothing', () => {
    const { drive } = makeDrive();
    expect(reasonOf(() => drive.ensureFolder(ALICE, ['hello.txt']))).toBe('exists');
    expect(reasonOf(() => drive.ensureFolder(ALICE, ['hello.txt', 'inner']))).toBe('exists');
    expect(drive.stat(ALICE, ['hello.txt'])?.kind).toBe('file');
    expect(statSync(drive.diskPath(ALICE, ['hello.txt'])).isFile()).toBe(true);
  });

  it('rejects an illegal segment with DriveError "illegal_path"', () => {
    const { drive } = makeDrive();
    expect(reasonOf(() => drive.ensureFolder(ALICE, ['..', 'escape']))).toBe('illegal_path');
    expect(existsSync(path.join(drive.rootOf(ALICE), '..', 'escape'))).toBe(false);
  });
});

describe('Drive.commitFile', () => {
  it('renames the source into place, creating parents and counting its bytes', async () => {
    const { drive, clock } = makeDrive();
    await clock.advance(2_000);
    const source = tempFile(drive, 'abc');
    const node = drive.commitFile(ALICE, ['new', 'deep', 'f.txt'], source);
    // A new file goes to its owner's group policy (1 here).
    expect(node).toEqual({ id: expect.any(Number), kind: 'file', name: 'f.txt', size: 3, createdAt: T0 + 2_000, updatedAt: T0 + 2_000, policyId: 1 });
    expect(existsSync(source)).toBe(false);
    expect(readFileSync(drive.diskPath(ALICE, ['new', 'deep', 'f.txt']), 'utf8')).toBe('abc');
    expect(drive.stat(ALICE, ['new', 'deep', 'f.txt'])).toBe(node);
    expect(drive.stat(ALICE, ['new'])?.kind).toBe('folder');
    expect(drive.stat(ALICE, ['new', 'deep'])?.kind).toBe('folder');
    expect(drive.used(ALICE)).toBe(SEEDED_BYTES + 3);
  });

  it('commits onto an existing file as a new version: same id, new size and time, usage adjusted', async () => {
    const { drive, clock } = makeDrive();
    const v1 = drive.commitFile(ALICE, ['v.txt'], tempFile(drive, 'abc'));
    const v1Copy = { ...v1 };
    await clock.advance(5_000);
    const v2 = drive.commitFile(ALICE, ['v.txt'], tempFile(drive, 'abcdefgh'));
    expect(v2).toEqual({ ...v1Copy, size: 8, updatedAt: T0 + 5_000 });
    expect(drive.used(ALICE)).toBe(SEEDED_BYTES + 8);
    await clock.advance(1_000);
    drive.commitFile(ALICE, ['v.txt'], tempFile(drive, 'a'));
    expect(drive.used(ALICE)).toBe(SEEDED_BYTES + 1);
    expect(readFileSync(drive.diskPath(ALICE, ['v.txt']), 'utf8')).toBe('a');
    expect(names(drive.children(ALICE, []))).toEqual(['docs', 'empty', 'hello.txt', 'notes.txt', 'v.txt']);
  });

  it('replaces a seeded file as a new version', async () => {
    const { drive, clock } = makeDrive();
    const seeded = { ...drive.stat(ALICE, ['hello.txt'])! };
    await clock.advance(3_000);
    const node = drive.commitFile(ALICE, ['hello.txt'], tempFile(drive, 'hello, world'));
    expect(node).toEqual({ ...seeded, size: 12, updatedAt: T0 + 3_000 });
    expect(drive.used(ALICE)).toBe(SEEDED_BYTES - 5 + 12);
  });

  it('throws DriveError "exists" onto a folder, the root or below a file, and leaves the source in place', () => {
    const { drive } = makeDrive();
    const source = tempFile(drive, 'abc');
    expect(reasonOf(() => drive.commitFile(ALICE, ['docs'], source))).toBe('exists');
    expect(reasonOf(() => drive.commitFile(ALICE, [], source))).toBe('exists');
    expect(reasonOf(() => drive.commitFile(ALICE, ['hello.txt', 'x'], source))).toBe('exists');
    expect(readFileSync(source, 'utf8')).toBe('abc');
    expect(drive.used(ALICE)).toBe(SEEDED_BYTES);
    expect(drive.stat(ALICE, ['docs'])?.kind).toBe('folder');
  });

  it('keeps users\' usage apart', () => {
    const { drive } = makeDrive();
    drive.commitFile(BOB, ['b.txt'], tempFile(drive, '1234'));
    expect([drive.used(ALICE), drive.used(BOB), drive.used(CAROL)]).toEqual([SEEDED_BYTES, 4, 0]);
  });
});

describe('Drive.diskPath', () => {
  const ILLEGAL: string[][] = [
    ['..'],
    ['.'],
    [''],
    ['a/b'],
    ['/etc'],
    ['a\\b'],
    ['a\0b'],
    ['docs', '..'],
    ['docs', '..', '..', 'x'],
    ['..', String(BOB)],
    ['docs', ''],
  ];

  it('rejects "..", ".", "", and segments holding "/", "\\" or NUL with DriveError "illegal_path"', () => {
    const { drive } = makeDrive();
    for (const segments of ILLEGAL) {
      expect([segments, reasonOf(() => drive.diskPath(ALICE, segments))]).toEqual([segments, 'illegal_path']);
    }
  });

  it('maps the empty path to the user\'s root and a path to a place below it', () => {
    const { drive } = makeDrive();
    const root = drive.rootOf(ALICE);
    expect(drive.diskPath(ALICE, [])).toBe(root);
    expect(drive.diskPath(ALICE, ['docs', 'readme.md'])).toBe(path.join(root, 'docs', 'readme.md'));
  });

  it('never returns a path outside the user\'s root, even for odd but legal names', () => {
    const { drive } = makeDrive();
    const root = drive.rootOf(ALICE);
    const odd = [['...'], ['..a'], ['a..'], [' '], ['~'], ['%2e%2e'], ['docs', '...'], ['.hidden'], ['a:b'], ['x', '..y']];
    for (const segments of odd) {
      const p = drive.diskPath(ALICE, segments);
      const rel = path.relative(root, p);
      expect([segments, p.startsWith(root + path.sep), rel.split(path.sep)[0] === '..', path.isAbsolute(rel)]).toEqual([segments, true, false, false]);
    }
  });

  it('keeps every user inside their own root', () => {
    const { drive } = makeDrive();
    const p = drive.diskPath(BOB, ['x']);
    expect(p.startsWith(drive.rootOf(BOB) + path.sep)).toBe(true);
    expect(p.startsWith(drive.rootOf(ALICE) + path.sep)).toBe(false);
  });
});

describe('Drive.makeTempDir and removeTempDir', () => {
  it('makes distinct, existing folders under the data folder, on the same disk as the drives', () => {
    const { drive, dataDir } = makeDrive();
    const a = drive.makeTempDir('archive');
    const b = drive.makeTempDir('archive');
    expect(a).not.toBe(b);
    for (const dir of [a, b]) {
      expect(dir.startsWith(dataDir + path.sep)).toBe(true);
      expect(path.basename(dir).startsWith('archive-')).toBe(true);
      expect(statSync(dir).isDirectory()).toBe(true);
      expect(statSync(dir).dev).toBe(statSync(drive.rootOf(ALICE)).dev);
      expect(dir.startsWith(drive.rootOf(ALICE))).toBe(false);
    }
  });

  it('removeTempDir removes a folder with its content and tolerates a missing one', () => {
    const { drive } = makeDrive();
    const dir = drive.makeTempDir('work');
    writeFileSync(path.join(dir, 'file'), 'x');
    mkdirSync(path.join(dir, 'sub'));
    removeTempDir(dir);
    expect(existsSync(dir)).toBe(false);
    expect(() => removeTempDir(dir)).not.toThrow();
    expect(() => removeTempDir(undefined)).not.toThrow();
  });
});

describe('Drive: storage policies', () => {
  it('puts a new file on the policy asked for, keeps it on a new version, and moves it with setPolicy', () => {
    const { drive } = makeDrive();
    const a = drive.commitFile(ALICE, ['p.txt'], tempFile(drive, 'one'), undefined, 2);
    expect(a.policyId).toBe(2);
    drive.commitFile(ALICE, ['p.txt'], tempFile(drive, 'two'));
    expect(drive.stat(ALICE, ['p.txt'])).toMatchObject({ id: a.id, policyId: 2, size: 3 });
    drive.setPolicy(ALICE, ['p.txt'], 3);
    expect(drive.stat(ALICE, ['p.txt'])?.policyId).toBe(3);
    expect(readFileSync(drive.diskPath(ALICE, ['p.txt']), 'utf8')).toBe('two');
    expect(() => drive.setPolicy(ALICE, ['docs'], 2)).toThrow(/no file/);
    expect(drive.exportIndex().users[String(ALICE)]!.find((e) => e.path.join('/') === 'p.txt')).toMatchObject({ policyId: 3 });
  });
});

describe('Drive: content versions (entities), metadata and locating objects', () => {
  it('gives every seeded file with content an entity; folders and empty files have none', () => {
    const { drive } = makeDrive();
    const ids = [['hello.txt'], ['notes.txt'], ['docs', 'readme.md'], ['docs', 'sub', 'b.txt']].map((p) => drive.entityOf(drive.stat(ALICE, p)!)?.id);
    expect(ids.every((id) => Number.isInteger(id) && id! > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(drive.entityOf(drive.stat(ALICE, ['hello.txt'])!)).toEqual({ id: expect.any(Number), createdAt: T0 });
    expect(drive.entityOf(drive.stat(ALICE, ['docs'])!)).toBe(undefined);
    expect(drive.entityOf(drive.stat(ALICE, [])!)).toBe(undefined);
  });

  it('makes a new entity on every commit; the replaced one is no longer found', async () => {
    const { drive, clock } = makeDrive();
    const node = drive.stat(ALICE, ['hello.txt'])!;
    const v1 = drive.entityOf(node)!;
    expect(drive.findEntity(v1.id)).toEqual({ userId: ALICE, segments: ['hello.txt'], node, entity: v1 });
    await clock.advance(1_000);
    drive.commitFile(ALICE, ['hello.txt'], tempFile(drive, 'v2'));
    const v2 = drive.entityOf(node)!;
    expect(v2.id).not.toBe(v1.id);
    expect(v2.createdAt).toBe(T0 + 1_000);
    expect(drive.findEntity(v1.id)).toBe(undefined);
    expect(drive.findEntity(v2.id)?.segments).toEqual(['hello.txt']);
    const fresh = drive.commitFile(ALICE, ['new.txt'], tempFile(drive, ''));
    expect(drive.entityOf(fresh)?.id).toBeGreaterThan(v2.id);
    expect(drive.findEntity(0)).toBe(undefined);
  });

  it('createFile makes an empty file without an entity, refusing what is in the way', () => {
    const { drive } = makeDrive();
    const node = drive.createFile(ALICE, ['docs', 'e.txt']);
    expect(node).toMatchObject({ kind: 'file', name: 'e.txt', size: 0, createdAt: T0, updatedAt: T0, policyId: 1 });
    expect(drive.entityOf(node)).toBe(undefined);
    expect(readFileSync(drive.diskPath(ALICE, ['docs', 'e.txt']), 'utf8')).toBe('');
    expect(drive.stat(ALICE, ['docs', 'e.txt'])).toBe(node);
    expect(reasonOf(() => drive.createFile(ALICE, ['docs', 'e.txt']))).toBe('exists');
    expect(reasonOf(() => drive.createFile(ALICE, ['docs']))).toBe('exists');
    expect(reasonOf(() => drive.createFile(ALICE, ['missing', 'x']))).toBe('not_found');
    expect(reasonOf(() => drive.createFile(ALICE, ['hello.txt', 'x']))).toBe('not_folder');
    expect(drive.used(ALICE)).toBe(SEEDED_BYTES);
  });

  it('locates any object, roots included, by its id', () => {
    const { drive } = makeDrive();
    const b = drive.stat(ALICE, ['docs', 'sub', 'b.txt'])!;
    expect(drive.locate(b.id)).toEqual({ userId: ALICE, segments: ['docs', 'sub', 'b.txt'], node: b });
    const made = drive.ensureFolder(BOB, ['x', 'y']);
    expect(drive.locate(made.id)).toEqual({ userId: BOB, segments: ['x', 'y'], node: made });
    expect(drive.locate(drive.stat(CAROL, [])!.id)).toEqual({ userId: CAROL, segments: [], node: drive.stat(CAROL, [])! });
    expect(drive.locate(99_999)).toBe(undefined);
  });

  it('keeps public metadata per object', () => {
    const { drive } = makeDrive();
    const docs = drive.stat(ALICE, ['docs'])!;
    expect(drive.metadataOf(docs)).toEqual({});
    drive.patchMetadata(docs, { 'customize:emoji': '📁' });
    drive.patchMetadata(docs, { 'tag:work': 'blue' });
    expect(drive.metadataOf(docs)).toEqual({ 'customize:emoji': '📁', 'tag:work': 'blue' });
    expect(drive.metadataOf(drive.stat(ALICE, ['hello.txt'])!)).toEqual({});
  });

  it('exports entities and metadata, and a drive rebuilt from the export has the same ones', () => {
    const { drive, dataDir } = makeDrive();
    drive.commitFile(ALICE, ['hello.txt'], tempFile(drive, 'v2'));
    const empty = drive.createFile(ALICE, ['e.txt']);
    drive.patchMetadata(empty, { 'thumb:disabled': '' });
    const snap = JSON.parse(JSON.stringify(drive.exportIndex()));
    const clock = createClock({ mode: 'virtual', start: T0 });
    const again = createDrive({ dataDir, fixturesDrive: fixtures, accounts, clock, restore: snap });
    for (const p of [['hello.txt'], ['notes.txt'], ['e.txt'], ['docs']]) {
      expect(again.entityOf(again.stat(ALICE, p)!)).toEqual(drive.entityOf(drive.stat(ALICE, p)!));
    }
    expect(again.metadataOf(again.stat(ALICE, ['e.txt'])!)).toEqual({ 'thumb:disabled': '' });
    const next = again.commitFile(ALICE, ['n.txt'], tempFile(again, 'n'));
    const seen = [['hello.txt'], ['notes.txt'], ['docs', 'readme.md'], ['docs', 'sub', 'b.txt']].map((p) => again.entityOf(again.stat(ALICE, p)!)!.id);
    expect(seen.every((id) => id < again.entityOf(next)!.id)).toBe(true);
  });

  it('gives the files of an older snapshot without entities new ones', () => {
    const { drive, dataDir } = makeDrive();
    const { entities: _entities, ...old } = drive.exportIndex();
    const again = createDrive({ dataDir, fixturesDrive: fixtures, accounts, clock: createClock({ mode: 'virtual', start: T0 }), restore: JSON.parse(JSON.stringify(old)) });
    const hello = again.stat(ALICE, ['hello.txt'])!;
    expect(again.entityOf(hello)?.id).toBeGreaterThan(0);
    expect(again.findEntity(again.entityOf(hello)!.id)?.node).toBe(hello);
  });
});
