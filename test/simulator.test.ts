/**
 * The Simulator object: isolation between instances, options checked early, listen/close.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createSimulator } from '../src/index.js';
import { ACCOUNTS, signIn, testSimulator } from './helpers.js';

const LIST = '/api/v4/workflow?page_size=10&category=general';

describe('two simulators in one process', () => {
  it('do not accept each other’s tokens (each has its own secret by default)', async () => {
    const a = testSimulator({ jwtSecret: undefined, seed: undefined });
    const b = testSimulator({ jwtSecret: undefined, seed: undefined });
    const { access } = await signIn(a, 'alice');
    expect((await request(a.app).get(LIST).set('Authorization', access)).body.code).toBe(0);
    expect((await request(b.app).get(LIST).set('Authorization', access)).body.code).toBe(401);
  });

  it('have their own clocks', async () => {
    const a = testSimulator();
    const b = testSimulator();
    await a.clock.advance(60_000);
    expect(a.clock.now() - b.clock.now()).toBe(60_000);
  });

  it('have their own sessions: signing out in one leaves the other alone', async () => {
    const a = testSimulator();
    const b = testSimulator();
    const sa = await signIn(a, 'alice');
    const sb = await signIn(b, 'alice');
    // Same secret, seed and clock: the two sign-ins are byte-identical, yet revocation stays local.
    expect(sa.refresh).toBe(sb.refresh);
    await request(a.app).delete('/api/v4/session/token').send({ refresh_token: sa.refresh });
    expect((await request(a.app).post('/api/v4/session/token/refresh').send({ refresh_token: sa.refresh })).body.code).toBe(40020);
    expect((await request(b.app).post('/api/v4/session/token/refresh').send({ refresh_token: sb.refresh })).body.code).toBe(0);
  });

  it('have their own accounts objects and data folders', () => {
    const a = testSimulator();
    const b = testSimulator();
    expect(a.accounts).not.toBe(b.accounts);
    expect(a.accounts.userById(3)).not.toBe(b.accounts.userById(3));
    expect(a.dataDir).not.toBe(b.dataDir);
  });

  it('can use different salts, editions and versions side by side', async () => {
    const a = testSimulator({ hashSalt: 'one', version: '4.0.0', edition: 'community' });
    const b = testSimulator({ hashSalt: 'two', edition: 'pro' });
    expect(a.ids.encode('user', 3)).not.toBe(b.ids.encode('user', 3));
    expect((await request(a.app).get('/api/v4/site/ping')).body.data).toBe('4.0.0');
    expect((await request(b.app).get('/api/v4/site/ping')).body.data).toBe('4.18.0-pro');
  });
});

describe('options', () => {
  it.each([
    [{ clock: 'fake' }, /Invalid option clock: "fake". Use one of: virtual, real./],
    [{ edition: 'enterprise' }, /Invalid option edition: "enterprise". Use one of: community, pro./],
    [{ speed: 0 }, /Invalid option speed: 0/],
    [{ accessTokenTtl: -1 }, /Invalid option accessTokenTtl: -1/],
    [{ refreshTokenTtl: 1.5 }, /Invalid option refreshTokenTtl: 1.5/],
    [{ waitForSeeding: 'yes' as unknown as boolean }, /Invalid option waitForSeeding: "yes". Use true or false./],
    [{ utcOffset: '8' }, /Invalid option utcOffset: "8"/],
    [{ startTime: 'yesterday' }, /Invalid option startTime: "yesterday"/],
    [{ logLevel: 'loud' }, /Invalid option logLevel: "loud"/],
    [{ jwtSecret: '' }, /Invalid option jwtSecret/],
    [{ profile: 'slow' }, /Invalid option profile: "slow". Unknown timing profile "slow": use one of realistic, fast, instant/],
    [{ profile: { pickupDelayMs: -1 } }, /Invalid timing profile setting pickupDelayMs: -1/],
    [{ profile: { warp: 1 } }, /Unknown timing profile setting "warp"/],
    [{ concurrency: { io: 0 } }, /Invalid option concurrency.io: 0/],
  ])('reject %j with a message naming the value and the fix', (options, message) => {
    expect(() => createSimulator(options as never)).toThrow(message);
  });

  it('reject an accounts file that does not exist, naming it', () => {
    expect(() => createSimulator({ accounts: '/nonexistent/accounts.yaml' })).toThrow(/\/nonexistent\/accounts.yaml/);
  });

  it('take accounts from another file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'accounts-'));
    try {
      const file = path.join(dir, 'accounts.yaml');
      writeFileSync(
        file,
        'groups:\n  - { id: 1, name: Admin, permissions: [admin] }\nusers:\n  - { id: 7, email: dev@example.com, password: devpass, group: Admin }\n',
      );
      const sim = testSimulator({ accounts: file });
      const res = await request(sim.app).post('/api/v4/session/token').send({ email: 'dev@example.com', password: 'devpass' });
      expect(res.body.data.user).toEqual({
        id: sim.ids.encode('user', 7),
        email: 'dev@example.com',
        nickname: 'dev',
        status: 'active',
        created_at: '2025-05-20T04:00:00Z',
        group: { id: sim.ids.encode('group', 1), name: 'Admin', permission: 'AQ==', trash_retention: 604800 },
      });
      const alice = await request(sim.app).post('/api/v4/session/token').send(ACCOUNTS.alice);
      expect(alice.body.code).toBe(40080);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('start virtual time at 2025-05-20T04:00:00Z unless told otherwise', () => {
    expect(new Date(testSimulator().clock.now()).toISOString()).toBe('2025-05-20T04:00:00.000Z');
    expect(new Date(testSimulator({ startTime: '2030-01-01T00:00:00Z' }).clock.now()).toISOString()).toBe('2030-01-01T00:00:00.000Z');
  });
});

describe('listen and close', () => {
  it('serve over HTTP on the given port and stop cleanly', async () => {
    const sim = testSimulator();
    const url = await sim.listen(0);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.url).toBe(url);
    const res = await fetch(`${url}/api/v4/site/ping`);
    expect(await res.text()).toBe('{"code":0,"data":"4.18.0-pro","msg":""}');
    await sim.close();
    expect(sim.url).toBeUndefined();
    await expect(fetch(`${url}/api/v4/site/ping`)).rejects.toThrow();
  });

  it('refuse a second listen', async () => {
    const sim = testSimulator();
    await sim.listen(0);
    await expect(sim.listen(0)).rejects.toThrow(/already listening/);
  });

  it('remove the temporary data folder on close, but never a folder given by the user', async () => {
    const own = testSimulator();
    expect(existsSync(own.dataDir)).toBe(true);
    await own.close();
    expect(existsSync(own.dataDir)).toBe(false);

    const dir = mkdtempSync(path.join(tmpdir(), 'data-'));
    try {
      const given = testSimulator({ dataDir: path.join(dir, 'drives') });
      expect(existsSync(given.dataDir)).toBe(true);
      await given.close();
      expect(existsSync(given.dataDir)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
