/**
 * POST /__sim/reset and sim.reset(): a world goes back to the fixtures (accounts, sessions,
 * drive, tasks, ids, clock, journal); fault rules stay; other worlds are untouched.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { testSimulator } from '../helpers.js';
import { ALICE, clockBody, ctl, START_MS, user } from './helpers.js';

const FAULT = { id: 'kept', request: { path: '/api/v4/never/*' }, envelope: { code: 50001, msg: 'nope' } };

/** A world with history: two archives done (one file), a sign-out, a fault rule, journal entries, time gone by. */
async function busyWorld(sim: ReturnType<typeof testSimulator>, ns?: string) {
  const alice = await user(sim, 'alice', ns);
  const first = await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/n.zip');
  await alice.archive(['cloudreve://my/docs'], 'cloudreve://my/d.zip');
  await ctl(sim, ns).runUntilIdle();
  const out = await request(sim.app)
    .delete('/api/v4/session/token')
    .set('X-Sim-Namespace', ns ?? 'default')
    .send({ refresh_token: alice.refresh });
  expect(out.body).toEqual({ code: 0, data: '', msg: '' });
  return { alice, first };
}

const refresh = (sim: ReturnType<typeof testSimulator>, token: string, ns = 'default') =>
  request(sim.app).post('/api/v4/session/token/refresh').set('X-Sim-Namespace', ns).send({ refresh_token: token });

describe('POST /__sim/reset', () => {
  it('answers {namespace, took_ms} (its speed is measured by bench/reset.mjs, not here)', async () => {
    const sim = testSimulator();
    await busyWorld(sim);
    const res = await ctl(sim).post('/reset');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ namespace: 'default', took_ms: expect.any(Number) });
    expect(res.body.took_ms).toBeGreaterThanOrEqual(0);
  });

  it('empties the task list and starts task ids at 1 again (the same hashid as the first task before)', async () => {
    const sim = testSimulator();
    const { first } = await busyWorld(sim);
    expect(first).toBe(sim.ids.encode('task', 1));
    expect((await ctl(sim).post('/reset')).status).toBe(200);
    const alice = await user(sim, 'alice');
    expect(await alice.list()).toEqual({ tasks: [], pagination: { page: 0, page_size: 10, is_cursor: true } });
    expect(await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/n.zip')).toBe(first);
  });

  it('brings the drive back to the fixtures: the archives are gone, the fixture files are there', async () => {
    const sim = testSimulator();
    await busyWorld(sim);
    expect(sim.drive.stat(ALICE, ['n.zip'])?.kind).toBe('file');
    expect(sim.drive.stat(ALICE, ['d.zip'])?.kind).toBe('file');
    await ctl(sim).post('/reset');
    expect(sim.drive.stat(ALICE, ['n.zip'])).toBeUndefined();
    expect(sim.drive.stat(ALICE, ['d.zip'])).toBeUndefined();
    expect(sim.drive.stat(ALICE, ['notes.txt'])).toMatchObject({ kind: 'file', size: 11 });
    expect(sim.drive.stat(ALICE, ['docs'])?.kind).toBe('folder');
  });

  it('sets the clock back to 2025-05-20T04:00:00Z with nothing scheduled', async () => {
    const sim = testSimulator();
    await busyWorld(sim);
    await ctl(sim).advance(3_600_000);
    await ctl(sim).post('/reset');
    expect(await ctl(sim).clock()).toEqual(clockBody());
  });

  it('gives the clock back its start speed', async () => {
    const sim = testSimulator();
    await ctl(sim).post('/clock/speed', { speed: 10 });
    await ctl(sim).post('/reset');
    expect(await ctl(sim).clock()).toEqual(clockBody());
  });

  it('clears the journal', async () => {
    const sim = testSimulator();
    await busyWorld(sim);
    expect(sim.journal.count()).toBeGreaterThan(0);
    await ctl(sim).post('/reset');
    expect((await ctl(sim).get('/journal')).body).toEqual({ entries: [] });
    expect(sim.journal.count()).toBe(0);
  });

  it('starts the sessions over: a sign-out made before the reset is forgotten', async () => {
    const sim = testSimulator();
    const { alice } = await busyWorld(sim);
    expect((await refresh(sim, alice.refresh)).body.code).toBe(40020);
    await ctl(sim).post('/reset');
    expect((await refresh(sim, alice.refresh)).body.code).toBe(0);
  });

  it('keeps the fault rules, with their fired counts', async () => {
    const sim = testSimulator();
    await ctl(sim).fault(FAULT);
    await request(sim.app).get('/api/v4/never/here');
    await busyWorld(sim);
    await ctl(sim).post('/reset');
    expect(await ctl(sim).faults()).toEqual([{ ...FAULT, fired: 1 }]);
    expect((await request(sim.app).get('/api/v4/never/again')).body).toEqual({ code: 50001, msg: 'nope', correlation_id: expect.any(String) });
  });

  it('stops the tasks that were live: they never finish afterwards and leave no file', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/n.zip');
    await ctl(sim).advance(5_000);
    await ctl(sim).post('/reset');
    expect(await ctl(sim).runUntilIdle()).toEqual(clockBody());
    await sim.clock.advance(60_000);
    expect(sim.drive.stat(ALICE, ['n.zip'])).toBeUndefined();
    expect((await (await user(sim, 'alice')).list()).tasks).toEqual([]);
  });

  it('resets only the namespace named by X-Sim-Namespace: the other namespace and the default world keep everything', async () => {
    const sim = testSimulator();
    await busyWorld(sim);
    await busyWorld(sim, 'a');
    await busyWorld(sim, 'b');
    const res = await ctl(sim, 'a').post('/reset');
    expect(res.body).toEqual({ namespace: 'a', took_ms: expect.any(Number) });

    expect(await ctl(sim, 'a').clock()).toEqual(clockBody({ namespace: 'a' }));
    expect((await (await user(sim, 'alice', 'a')).list()).tasks).toEqual([]);
    expect(sim.namespace('a').drive.stat(ALICE, ['n.zip'])).toBeUndefined();

    for (const ns of ['b', undefined]) {
      expect(await ctl(sim, ns).clock()).toEqual(clockBody({ namespace: ns ?? 'default', now_ms: START_MS + 10_500 }));
      expect((await (await user(sim, 'alice', ns)).list()).tasks).toHaveLength(2);
      expect(sim.namespace(ns ?? 'default').drive.stat(ALICE, ['n.zip'])?.kind).toBe('file');
      expect(sim.namespace(ns ?? 'default').journal.count()).toBeGreaterThan(0);
    }
  });
});

describe('in-process reset', () => {
  it('sim.reset() does what POST /__sim/reset does for the default world', async () => {
    const sim = testSimulator();
    const { first } = await busyWorld(sim);
    await ctl(sim).fault(FAULT);
    sim.reset();
    expect(await ctl(sim).clock()).toEqual(clockBody());
    expect(sim.journal.entries()).toEqual([]);
    expect(sim.drive.stat(ALICE, ['n.zip'])).toBeUndefined();
    const alice = await user(sim, 'alice');
    expect((await alice.list()).tasks).toEqual([]);
    expect(await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/n.zip')).toBe(first);
    expect(sim.faults.list()).toEqual([{ ...FAULT, fired: 0 }]);
  });

  it('sim.namespace(name).reset() resets that namespace only', async () => {
    const sim = testSimulator();
    await busyWorld(sim);
    await busyWorld(sim, 'x');
    sim.namespace('x').reset();
    expect(sim.namespace('x').clock.now()).toBe(START_MS);
    expect(sim.namespace('x').drive.stat(ALICE, ['n.zip'])).toBeUndefined();
    expect(sim.clock.now()).toBe(START_MS + 10_500);
    expect(sim.drive.stat(ALICE, ['n.zip'])?.kind).toBe('file');
  });
});
