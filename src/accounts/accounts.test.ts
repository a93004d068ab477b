import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FixtureError, Permission, loadAccounts } from './accounts.js';
import type { Accounts } from './accounts.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/accounts.yaml', import.meta.url));
const DEFAULT_CREATED_AT = Date.UTC(2025, 0, 1);

const dir = mkdtempSync(join(tmpdir(), 'accounts-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
/** Writes `text` to a fresh YAML file and returns its path. */
function writeYaml(text: string): string {
  const file = join(dir, `accounts-${++fileCount}.yaml`);
  writeFileSync(file, text);
  return file;
}

const GROUPS = `groups:
  - id: 1
    name: Admin
    permissions: [admin, share]
  - id: 2
    name: User
    permissions: [share]
`;

/** A valid file whose users are the given YAML list items. */
function withUsers(users: string): string {
  return writeYaml(`${GROUPS}users:\n${users}`);
}

/** Loads `file` and returns the FixtureError message (or fails the test). */
function fixtureError(file: string): string {
  try {
    loadAccounts(file, DEFAULT_CREATED_AT);
  } catch (err) {
    expect(err).toBeInstanceOf(FixtureError);
    return (err as Error).message;
  }
  throw new Error(`loadAccounts(${file}) did not throw`);
}

describe('Permission', () => {
  it('numbers the permission bits as the server does', () => {
    expect(Permission).toEqual({
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
    });
  });
});

describe('FixtureError', () => {
  it('is an Error named FixtureError', () => {
    const err = new FixtureError('x');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('FixtureError');
    expect(err.message).toBe('x');
  });
});

describe('loadAccounts (fixtures/accounts.yaml)', () => {
  const accounts: Accounts = loadAccounts(FIXTURE, DEFAULT_CREATED_AT);

  it('loads the groups with their wire boolsets and limits', () => {
    expect(
      accounts.groups.map((g) => ({
        id: g.id,
        name: g.name,
        permissions: [...g.permissions].sort((a, b) => a - b),
        permission: g.permission,
        maxStorage: g.maxStorage,
        compressSize: g.compressSize,
        decompressSize: g.decompressSize,
        aria2Batch: g.aria2Batch,
        maxWalkedFiles: g.maxWalkedFiles,
        trashRetention: g.trashRetention,
      })),
    ).toEqual([
      {
        id: 1,
        name: 'Admin',
        permissions: [0, 2, 3, 4, 5, 6, 7, 9, 11, 12, 16],
        permission: '/RoB',
        maxStorage: 1099511627776,
        compressSize: 0,
        decompressSize: 0,
        aria2Batch: 50,
        maxWalkedFiles: 100000,
        trashRetention: 604800,
      },
      {
        id: 2,
        name: 'User',
        permissions: [2, 7, 11],
        permission: 'hAg=',
        maxStorage: 1073741824,
        compressSize: 0,
        decompressSize: 0,
        aria2Batch: 1,
        maxWalkedFiles: 100000,
        trashRetention: 604800,
      },
      {
        id: 3,
        name: 'Anonymous',
        permissions: [1, 7],
        permission: 'gg==',
        maxStorage: 0,
        compressSize: 0,
        decompressSize: 0,
        aria2Batch: 0,
        maxWalkedFiles: 100000,
        trashRetention: 604800,
      },
      {
        id: 4,
        name: 'Member',
        permissions: [2, 4, 5, 7, 9, 11],
        permission: 'tAo=',
        maxStorage: 16777216,
        compressSize: 1048576,
        decompressSize: 1048576,
        aria2Batch: 2,
        maxWalkedFiles: 100000,
        trashRetention: 259200,
      },
    ]);
  });

  it('loads the users with their group, status and creation time', () => {
    expect(
      accounts.users.map((u) => ({
        id: u.id,
        email: u.email,
        password: u.password,
        nickname: u.nickname,
        status: u.status,
        group: u.group.name,
        createdAt: u.createdAt,
        credentialVersion: u.credentialVersion,
      })),
    ).toEqual([
      { id: 1, email: 'admin@cloudreve.org', password: 'admin', nickname: 'admin', status: 'active', group: 'Admin', createdAt: Date.UTC(2025, 3, 26, 7, 19, 38), credentialVersion: 0 },
      { id: 2, email: 'user@cloudreve.org', password: 'userpass', nickname: 'user', status: 'active', group: 'User', createdAt: Date.UTC(2025, 3, 27, 8, 0, 0), credentialVersion: 0 },
      { id: 3, email: 'alice@cloudreve.org', password: 'alicepass', nickname: 'alice', status: 'active', group: 'Member', createdAt: Date.UTC(2025, 3, 28, 9, 30, 0), credentialVersion: 0 },
      { id: 4, email: 'carol@cloudreve.org', password: 'carolpass', nickname: 'carol', status: 'active', group: 'Member', createdAt: Date.UTC(2025, 3, 29, 10, 45, 0), credentialVersion: 0 },
      { id: 5, email: 'banned@cloudreve.org', password: 'bannedpass', nickname: 'banned', status: 'manual_banned', group: 'User', createdAt: Date.UTC(2025, 3, 30, 11, 0, 0), credentialVersion: 0 },
      { id: 6, email: 'inactive@cloudreve.org', password: 'inactivepass', nickname: 'inactive', status: 'inactive', group: 'User', createdAt: Date.UTC(2025, 4, 1, 12, 0, 0), credentialVersion: 0 },
    ]);
  });

  it('links each user to the very group object of the accounts', () => {
    expect(accounts.userById(3)?.group).toBe(accounts.groupByName('Member'));
  });

  it('has a non-admin group with the archive-task and remote-download bits (spec §2.3 SIM)', () => {
    const member = accounts.userByEmail('alice@cloudreve.org')!;
    expect(accounts.hasPermission(member, 'admin')).toBe(false);
    expect(accounts.hasPermission(member, 'archive_task')).toBe(true);
    expect(accounts.hasPermission(member, 'remote_download')).toBe(true);
  });

  it('userById finds a user by numeric id, or gives undefined', () => {
    expect(accounts.userById(2)?.email).toBe('user@cloudreve.org');
    expect(accounts.userById(99)).toBe(undefined);
  });

  it('userByEmail ignores case', () => {
    expect(accounts.userByEmail('ADMIN@Cloudreve.ORG')?.id).toBe(1);
    expect(accounts.userByEmail('admin@cloudreve.org')?.id).toBe(1);
    expect(accounts.userByEmail('nobody@cloudreve.org')).toBe(undefined);
  });

  it('groupByName matches the exact name', () => {
    expect(accounts.groupByName('Admin')?.id).toBe(1);
    expect(accounts.groupByName('admin')).toBe(undefined);
  });

  it('hasPermission reads the bits of the user group', () => {
    const admin = accounts.userById(1)!;
    const user = accounts.userById(2)!;
    expect(accounts.hasPermission(admin, 'admin')).toBe(true);
    expect(accounts.hasPermission(admin, 'archive_task')).toBe(true);
    expect(accounts.hasPermission(admin, 'remote_download')).toBe(true);
    expect(accounts.hasPermission(user, 'admin')).toBe(false);
    expect(accounts.hasPermission(user, 'archive_task')).toBe(false);
    expect(accounts.hasPermission(user, 'remote_download')).toBe(false);
    expect(accounts.hasPermission(user, 'share')).toBe(true);
  });

  it('gives each load its own objects', () => {
    const other = loadAccounts(FIXTURE, DEFAULT_CREATED_AT);
    expect(other.userById(1) === accounts.userById(1)).toBe(false);
    expect(other.groups[0] === accounts.groups[0]).toBe(false);
  });
});

describe('loadAccounts (defaults and optional fields)', () => {
  it('applies the defaults: status active, nickname from the email, default creation time, zero limits', () => {
    const accounts = loadAccounts(
      writeYaml(`groups:
  - id: 7
    name: Plain
users:
  - id: 10
    email: Someone@example.com
    password: secret
    group: 7
    language: zh-CN
    preferred_theme: "#1976d2"
`),
      DEFAULT_CREATED_AT,
    );
    const group = accounts.groups[0]!;
    expect({
      permission: group.permission,
      bits: [...group.permissions],
      maxStorage: group.maxStorage,
      compressSize: group.compressSize,
      decompressSize: group.decompressSize,
      aria2Batch: group.aria2Batch,
      maxWalkedFiles: group.maxWalkedFiles,
      trashRetention: group.trashRetention,
    }).toEqual({ permission: '', bits: [], maxStorage: 0, compressSize: 0, decompressSize: 0, aria2Batch: 0, maxWalkedFiles: 100000, trashRetention: 604800 });
    const user = accounts.userById(10)!;
    expect({
      status: user.status,
      nickname: user.nickname,
      createdAt: user.createdAt,
      group: user.group.name,
      language: user.language,
      preferredTheme: user.preferredTheme,
    }).toEqual({
      status: 'active',
      nickname: 'Someone',
      createdAt: DEFAULT_CREATED_AT,
      group: 'Plain',
      language: 'zh-CN',
      preferredTheme: '#1976d2',
    });
  });

  it('accepts permission bit numbers as well as names', () => {
    const accounts = loadAccounts(
      writeYaml(`groups:
  - id: 1
    name: G
    permissions: [16, admin, 9, 2]
users: []
`),
      DEFAULT_CREATED_AT,
    );
    expect(accounts.groups[0]!.permission).toBe('BQIB');
    expect(accounts.users).toEqual([]);
  });

  it('accepts an empty users list', () => {
    expect(loadAccounts(writeYaml(`${GROUPS}users: []\n`), DEFAULT_CREATED_AT).users).toEqual([]);
  });
});

describe('loadAccounts (malformed files)', () => {
  it('names the file when it cannot be read', () => {
    const file = join(dir, 'missing.yaml');
    expect(fixtureError(file).startsWith(`Failed to read accounts file ${file}: `)).toBe(true);
  });

  it('names the file when it is not YAML', () => {
    const file = writeYaml('groups: [\n');
    expect(fixtureError(file).startsWith(`Failed to read accounts file ${file}: `)).toBe(true);
  });

  it('rejects a top level that is not a mapping', () => {
    const file = writeYaml('- 1\n- 2\n');
    expect(fixtureError(file)).toBe(
      `Invalid accounts file ${file}: top level: expected a mapping with "groups" and "users".`,
    );
  });

  it('rejects a missing or empty groups list', () => {
    const file = writeYaml('groups: []\nusers: []\n');
    expect(fixtureError(file)).toBe(`Invalid accounts file ${file}: groups: expected a non-empty list.`);
  });

  it('rejects a missing users list', () => {
    const file = writeYaml(GROUPS);
    expect(fixtureError(file)).toBe(`Invalid accounts file ${file}: users: expected a list.`);
  });

  it('rejects an unknown permission name, naming the group entry', () => {
    const file = writeYaml(`groups:
  - id: 1
    name: Admin
    permissions: [admin, superpower]
users: []
`);
    expect(fixtureError(file)).toBe(
      `Invalid accounts file ${file}: groups[0].permissions: unknown permission "superpower" ` +
        `(use a bit number or one of ${Object.keys(Permission).join(', ')}).`,
    );
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'rejects the inherited object name %s as a permission (it must not grant a bit)',
    (name) => {
      const file = writeYaml(`groups:\n  - id: 1\n    name: A\n    permissions: [${name}]\nusers: []\n`);
      expect(fixtureError(file).startsWith(`Invalid accounts file ${file}: groups[0].permissions: unknown permission "${name}" `)).toBe(true);
    },
  );

  it('rejects a permission bit number out of range', () => {
    const file = writeYaml(`groups:
  - id: 1
    name: A
  - id: 2
    name: B
    permissions: [256]
users: []
`);
    expect(fixtureError(file).startsWith(`Invalid accounts file ${file}: groups[1].permissions: unknown permission 256 `)).toBe(true);
  });

  it('rejects a group without a positive integer id', () => {
    const file = writeYaml('groups:\n  - id: 0\n    name: A\nusers: []\n');
    expect(fixtureError(file)).toBe(`Invalid accounts file ${file}: groups[0].id: expected a positive integer.`);
  });

  it('rejects a group without a name', () => {
    const file = writeYaml('groups:\n  - id: 1\nusers: []\n');
    expect(fixtureError(file)).toBe(`Invalid accounts file ${file}: groups[0].name: expected a non-empty string.`);
  });

  it('rejects a negative group limit', () => {
    const file = writeYaml('groups:\n  - id: 1\n    name: A\n    aria2_batch: -1\nusers: []\n');
    expect(fixtureError(file)).toBe(`Invalid accounts file ${file}: groups[0].aria2_batch: expected a non-negative integer.`);
    const retention = writeYaml('groups:\n  - id: 1\n    name: A\n    trash_retention: 1.5\nusers: []\n');
    expect(fixtureError(retention)).toBe(`Invalid accounts file ${retention}: groups[0].trash_retention: expected a non-negative integer.`);
  });

  it('rejects duplicate group ids and names', () => {
    const ids = writeYaml('groups:\n  - id: 1\n    name: A\n  - id: 1\n    name: B\nusers: []\n');
    expect(fixtureError(ids)).toBe(`Invalid accounts file ${ids}: groups: duplicate id 1.`);
    const names = writeYaml('groups:\n  - id: 1\n    name: A\n  - id: 2\n    name: A\nusers: []\n');
    expect(fixtureError(names)).toBe(`Invalid accounts file ${names}: groups: duplicate name "A".`);
  });

  it('rejects a duplicate user id', () => {
    const file = withUsers(`  - { id: 1, email: a@example.com, password: aaaa, group: User }
  - { id: 1, email: b@example.com, password: bbbb, group: User }
`);
    expect(fixtureError(file)).toBe(`Invalid accounts file ${file}: users: duplicate id 1.`);
  });

  it('rejects a duplicate email, ignoring case', () => {
    const file = withUsers(`  - { id: 1, email: a@example.com, password: aaaa, group: User }
  - { id: 2, email: A@Example.com, password: bbbb, group: User }
`);
    expect(fixtureError(file)).toBe(`Invalid accounts file ${file}: users: duplicate email "a@example.com".`);
  });

  it('rejects a user whose group does not exist, naming the user entry', () => {
    const file = withUsers(`  - { id: 1, email: a@example.com, password: aaaa, group: User }
  - { id: 2, email: b@example.com, password: bbbb, group: Staff }
`);
    expect(fixtureError(file)).toBe(`Invalid accounts file ${file}: users[1].group: no group named or numbered "Staff".`);
  });

  it('rejects a user without a group', () => {
    const file = withUsers('  - { id: 1, email: a@example.com, password: aaaa }\n');
    expect(fixtureError(file)).toBe(`Invalid accounts file ${file}: users[0].group: no group named or numbered undefined.`);
  });

  it('rejects an unknown status, listing the allowed ones', () => {
    const file = withUsers('  - { id: 1, email: a@example.com, password: aaaa, group: User, status: banned }\n');
    expect(fixtureError(file)).toBe(
      `Invalid accounts file ${file}: users[0].status: use one of active, inactive, manual_banned, sys_banned.`,
    );
  });

  it('rejects a password shorter than 4 characters (the sign-in rule)', () => {
    const file = withUsers('  - { id: 1, email: a@example.com, password: abc, group: User }\n');
    expect(fixtureError(file)).toBe(
      `Invalid accounts file ${file}: users[0].password: expected a string of 4 to 128 characters (the sign-in rule).`,
    );
  });

  it('rejects a password longer than 128 characters', () => {
    const file = withUsers(`  - { id: 1, email: a@example.com, password: ${'x'.repeat(129)}, group: User }\n`);
    expect(fixtureError(file)).toBe(
      `Invalid accounts file ${file}: users[0].password: expected a string of 4 to 128 characters (the sign-in rule).`,
    );
  });

  it('rejects a non-string password', () => {
    const file = withUsers('  - { id: 1, email: a@example.com, password: 12345, group: User }\n');
    expect(fixtureError(file)).toBe(
      `Invalid accounts file ${file}: users[0].password: expected a string of 4 to 128 characters (the sign-in rule).`,
    );
  });

  it('rejects an email without "@"', () => {
    const file = withUsers('  - { id: 1, email: nobody, password: aaaa, group: User }\n');
    expect(fixtureError(file)).toBe(`Invalid accounts file ${file}: users[0].email: expected an email address.`);
  });

  it('rejects a user id that is not a positive integer', () => {
    const file = withUsers('  - { id: 1.5, email: a@example.com, password: aaaa, group: User }\n');
    expect(fixtureError(file)).toBe(`Invalid accounts file ${file}: users[0].id: expected a positive integer.`);
  });

  it('rejects an unparsable created_at', () => {
    const file = withUsers('  - { id: 1, email: a@example.com, password: aaaa, group: User, created_at: yesterday }\n');
    expect(fixtureError(file)).toBe(`Invalid accounts file ${file}: users[0].created_at: expected an RFC 3339 time.`);
  });

  it('rejects a user entry that is not a mapping', () => {
    const file = withUsers('  - just-a-string\n');
    expect(fixtureError(file)).toBe(`Invalid accounts file ${file}: users[0]: expected a mapping.`);
  });
});
