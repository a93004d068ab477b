/** The drive's trash and permanent deletion: index, disk, usage, snapshots. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { driveFixture } from '../../test/drive-fixture.js';
import { createClock } from '../engine/clock.js';
import { createDrive, DriveError } from './drive.js';

const T0 = Date.UTC(2025, 4, 20, 4, 0, 0);
const ALICE = 1;
const { fixtures, accounts, makeDrive } = driveFixture(
  'trash-test',
  [{ id: ALICE, email: 'alice@example.com', password: 'alicepass', files: { 'hello.txt': 'hello', 'docs/readme.md': '# readme', 'docs/sub/b.txt': 'bb' } }],
  T0,
);

describe('drive trash', () => {
  it('moves a folder with everything below it out of the index and the drive folder; usage stays', () => {
    const { drive, dataDir } = makeDrive();
    const used = drive.used(ALICE);
    const docs = drive.stat(ALICE, ['docs'])!;
    const item = drive.trash(ALICE, ['docs'], 'item-1', T0 + 5);
    expect(item).toMatchObject({ name: 'item-1', node: docs, restore: ['docs'], deletedAt: T0 + 5 });
    expect(item.entries.map((e) => e.path.join('/'))).toEqual(['readme.md', 'sub', 'sub/b.txt']);
    expect(drive.stat(ALICE, ['docs'])).toBeUndefined();
    expect(drive.stat(ALICE, ['docs', 'sub', 'b.txt'])).toBeUndefined();
    expect(drive.children(ALICE, [])!.map((n) => n.name)).toEqual(['hello.txt']);
    expect(existsSync(drive.diskPath(ALICE, ['docs']))).toBe(false);
    expect(readFileSync(path.join(dataDir, 'trash', String(ALICE), 'item-1', 'sub', 'b.txt'), 'utf8')).toBe('bb');
    expect(drive.used(ALICE)).toBe(used);
    expect(drive.locate(docs.id)).toBeUndefined();
    // The name is free again.
    expect(drive.ensureFolder(ALICE, ['docs']).id).not.toBe(docs.id);
  });

  it('purges a trash item: gone from the trash and the disk, usage falls by its bytes', () => {
    const { drive, dataDir } = makeDrive();
    const used = drive.used(ALICE);
    drive.trash(ALICE, ['docs'], 'x', T0);
    expect(drive.purge(ALICE, 'x')).toBe(8 + 2);
    expect(drive.trashItems(ALICE)).toEqual([]);
    expect(existsSync(path.join(dataDir, 'trash', String(ALICE), 'x'))).toBe(false);
    expect(drive.used(ALICE)).toBe(used - 10);
    expect(() => drive.purge(ALICE, 'x')).toThrow(DriveError);
  });

  it('removes objects for good: index, disk, content versions and usage', () => {
    const { drive } = makeDrive();
    const used = drive.used(ALICE);
    const hello = drive.stat(ALICE, ['hello.txt'])!;
    const entity = drive.entityOf(hello)!.id;
    expect(drive.remove(ALICE, ['hello.txt'])).toBe(5);
    expect(drive.findEntity(entity)).toBeUndefined();
    expect(drive.remove(ALICE, ['docs'])).toBe(10);
    expect(drive.children(ALICE, [])).toEqual([]);
    expect(existsSync(drive.diskPath(ALICE, ['docs']))).toBe(false);
    expect(drive.used(ALICE)).toBe(used - 15);
    expect(() => drive.remove(ALICE, [])).toThrow(DriveError);
    expect(() => drive.remove(ALICE, ['nope'])).toThrow(DriveError);
  });

  it('keeps the trash across a snapshot', () => {
    const { drive, dataDir } = makeDrive();
    const readme = drive.entityOf(drive.stat(ALICE, ['docs', 'readme.md'])!)!;
    drive.trash(ALICE, ['docs'], 'kept', T0);
    drive.patchMetadata(drive.trashItems(ALICE)[0]!.node, { 'sys:restore_uri': 'cloudreve://my/docs' });
    const snap = JSON.parse(JSON.stringify(drive.exportIndex()));
    const again = createDrive({ dataDir, fixturesDrive: fixtures, accounts, clock: createClock({ mode: 'virtual', start: T0 }), restore: snap });
    expect(again.trashItems(ALICE).map((i) => i.name)).toEqual(['kept']);
    expect(again.used(ALICE)).toBe(drive.used(ALICE));
    const item = again.trashItems(ALICE)[0]!;
    expect(again.metadataOf(item.node)).toEqual({ 'sys:restore_uri': 'cloudreve://my/docs' });
    expect(again.entityOf(item.entries.find((e) => e.path.join('/') === 'readme.md')!.node)).toEqual(readme);
    expect(again.purge(ALICE, 'kept')).toBe(10);
  });
});
