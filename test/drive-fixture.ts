/**
 * A throw-away fixture world for the drive's own tests: a temporary folder with
 * `fixtures/<email>/…` files and an accounts file, and fresh drives seeded from it, each in its
 * own data folder on a virtual clock. The folder is removed after the test file.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { loadAccounts, type Accounts } from '../src/accounts/accounts.js';
import { createClock, type Clock } from '../src/engine/clock.js';
import { createDrive, type Drive } from '../src/drive/drive.js';

export interface FixtureUser {
  id: number;
  email: string;
  password: string;
  /** Fixture files by path below the user's folder; no entry means no fixture folder. */
  files?: Record<string, string>;
}

export interface DriveFixture {
  /** The temporary folder holding everything. */
  work: string;
  /** The fixtures' drive folder (`<fixtures>/<email>/…`). */
  fixtures: string;
  accounts: Accounts;
  /** The first simulated instant of every drive's clock. */
  start: number;
  /** A fresh drive in its own data folder, seeded from the fixtures. */
  makeDrive(): { drive: Drive; clock: Clock; dataDir: string };
}

/** Users all in one group, "User", which may share. */
export function driveFixture(name: string, users: FixtureUser[], start: number): DriveFixture {
  const work = mkdtempSync(path.join(tmpdir(), `${name}-`));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const fixtures = path.join(work, 'fixtures');
  mkdirSync(fixtures);
  for (const user of users) {
    for (const [rel, content] of Object.entries(user.files ?? {})) {
      const file = path.join(fixtures, user.email, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
  }
  const accountsFile = path.join(work, 'accounts.yaml');
  const entries = users.map((u) => `  - id: ${u.id}\n    email: ${u.email}\n    password: ${u.password}\n    group: User\n`);
  writeFileSync(accountsFile, `groups:\n  - id: 1\n    name: User\n    permissions: [share]\nusers:\n${entries.join('')}`);
  const accounts = loadAccounts(accountsFile, 0);
  const made = { count: 0 };
  return {
    work,
    fixtures,
    accounts,
    start,
    makeDrive() {
      const dataDir = path.join(work, `data-${++made.count}`);
      const clock = createClock({ mode: 'virtual', start });
      return { drive: createDrive({ dataDir, fixturesDrive: fixtures, accounts, clock }), clock, dataDir };
    },
  };
}
