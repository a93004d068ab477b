/**
 * The clock of the control plane (`/__sim/clock…`, openapi/control.yaml) and its in-process
 * equivalents (`sim.clock`), on the default `realistic` profile: an archive of one small file
 * is picked up at 2 s, changes phase at 3.5 s and 7 s and completes at 10.5 s.
 */
import { describe, expect, it } from 'vitest';
import { testSimulator } from '../helpers.js';
import { ALICE, archiveProps, ARCHIVE_RUN_MS, clockBody, ctl, masterNode, START, START_MS, T0, user } from './helpers.js';

const SRC = ['cloudreve://my/notes.txt'];
const DST = 'cloudreve://my/n.zip';

describe('GET /__sim/clock', () => {
  it('answers the virtual clock at 2025-05-20T04:00:00Z, frozen, idle, with nothing scheduled, at start', async () => {
    const sim = testSimulator();
    const res = await ctl(sim).get('/clock');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      namespace: 'default',
      mode: 'virtual',
      now_ms: 1747713600000,
      now: '2025-05-20T04:00:00.000Z',
      speed: 1,
      frozen: true,
      pending_timers: 0,
      idle: true,
    });
  });

  it('shows a pending timer and idle false while a task is live', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await alice.archive(SRC, DST);
    expect(await ctl(sim).clock()).toEqual(clockBody({ pending_timers: 1, idle: false }));
  });
});

describe('POST /__sim/clock/advance', () => {
  it('moves virtual time forward by ms and answers the clock after the move', async () => {
    const sim = testSimulator();
    const res = await ctl(sim).post('/clock/advance', { ms: 90_061_001 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(clockBody({ now_ms: START_MS + 90_061_001, now: '2025-05-21T05:01:01.001Z' }));
    expect(sim.clock.now()).toBe(START_MS + 90_061_001);
    expect(await ctl(sim).clock()).toEqual(res.body);
  });

  it('accepts ms 0 and leaves the time where it is', async () => {
    const sim = testSimulator();
    expect(await ctl(sim).advance(0)).toEqual(clockBody());
  });

  it('runs the task steps that fall due on the way: an archive is processing at 10.499 s and completed at 10.5 s', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const id = await alice.archive(SRC, DST);
    expect(await ctl(sim).advance(ARCHIVE_RUN_MS - 1)).toEqual(clockBody({ now_ms: START_MS + ARCHIVE_RUN_MS - 1, pending_timers: 1, idle: false }));
    expect((await alice.task(id)).status).toBe('processing');
    expect(sim.drive.stat(ALICE, ['n.zip'])).toBeUndefined();

    expect(await ctl(sim).advance(1)).toEqual(clockBody({ now_ms: START_MS + ARCHIVE_RUN_MS }));
    expect(await alice.task(id)).toEqual({
      created_at: '2025-05-20T04:00:00Z',
      updated_at: '2025-05-20T04:00:10Z',
      id,
      status: 'completed',
      type: 'create_archive',
      node: masterNode(sim),
      summary: { phase: 'upload_archive', props: archiveProps(SRC, DST) },
      duration: 4500,
      resume_time: T0 + 7,
    });
    expect(sim.drive.stat(ALICE, ['n.zip'])?.kind).toBe('file');
  });

  it('shows each step at its own instant when advanced in small steps (suspending in compress_files at 3.5 s)', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const id = await alice.archive(SRC, DST);
    await ctl(sim).advance(2_000);
    expect(await alice.task(id)).toMatchObject({ status: 'processing', updated_at: '2025-05-20T04:00:02Z' });
    await ctl(sim).advance(1_500);
    expect(await alice.task(id)).toMatchObject({ status: 'suspending', summary: { phase: 'compress_files' }, duration: 1500, resume_time: T0 + 3 });
  });

  it.each([
    ['ms missing', {}, "/body/ms: must have required property 'ms'"],
    ['ms negative', { ms: -1 }, '/body/ms: must be >= 0'],
    ['ms not an integer', { ms: 1.5 }, '/body/ms: must be integer'],
    ['ms a string', { ms: '5' }, '/body/ms: must be integer'],
    ['an unknown field', { ms: 5, by: 1 }, '/body/by: must NOT have additional properties'],
  ])('refuses %s with 400 {error} naming the field, and leaves the clock alone', async (_what, body, message) => {
    const sim = testSimulator();
    const res = await ctl(sim).post('/clock/advance', body);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ error: expect.stringContaining(message) });
    expect(await ctl(sim).clock()).toEqual(clockBody());
  });

  it('answers 409 {error} on a real clock', async () => {
    const sim = testSimulator({ clock: 'real' });
    const res = await ctl(sim).post('/clock/advance', { ms: 1000 });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ error: 'Only a virtual clock can be moved: start the simulator with --clock virtual.' });
  });
});

describe('POST /__sim/clock/run-until-idle', () => {
  it('runs every task to its end and stops when nothing is live (10.5 s for an archive)', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const id = await alice.archive(SRC, DST);
    expect(await ctl(sim).runUntilIdle()).toEqual(clockBody({ now_ms: START_MS + ARCHIVE_RUN_MS }));
    expect((await alice.task(id)).status).toBe('completed');
    expect(sim.drive.stat(ALICE, ['n.zip'])?.kind).toBe('file');
  });

  it('honours max_ms: stops after that much simulated time with the task still live', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const id = await alice.archive(SRC, DST);
    expect(await ctl(sim).runUntilIdle(3_000)).toEqual(clockBody({ now_ms: START_MS + 3_000, pending_timers: 1, idle: false }));
    expect(await alice.task(id)).toMatchObject({ status: 'processing', updated_at: '2025-05-20T04:00:02Z' });
    expect(await ctl(sim).runUntilIdle(60_000)).toEqual(clockBody({ now_ms: START_MS + ARCHIVE_RUN_MS }));
  });

  it('does not move time when nothing is scheduled, with or without a body', async () => {
    const sim = testSimulator();
    const bare = await ctl(sim).post('/clock/run-until-idle');
    expect([bare.status, bare.body]).toEqual([200, clockBody()]);
    expect(await ctl(sim).runUntilIdle()).toEqual(clockBody());
  });

  it.each([
    [{ max_ms: -1 }, '/body/max_ms: must be >= 0'],
    [{ max_ms: 0.5 }, '/body/max_ms: must be integer'],
  ])('refuses %j with 400 {error}', async (body, message) => {
    const sim = testSimulator();
    const res = await ctl(sim).post('/clock/run-until-idle', body);
    expect([res.status, res.body]).toEqual([400, { error: expect.stringContaining(message) }]);
  });

  it('answers 409 {error} on a real clock', async () => {
    const sim = testSimulator({ clock: 'real' });
    const res = await ctl(sim).post('/clock/run-until-idle', {});
    expect([res.status, res.body]).toEqual([409, { error: 'Only a virtual clock can be moved: start the simulator with --clock virtual.' }]);
  });
});

describe('POST /__sim/clock/speed', () => {
  it('stores the speed on a virtual clock and leaves time where it is', async () => {
    const sim = testSimulator();
    const res = await ctl(sim).post('/clock/speed', { speed: 10 });
    expect([res.status, res.body]).toEqual([200, clockBody({ speed: 10 })]);
    expect(sim.clock.speed).toBe(10);
    expect(await ctl(sim).clock()).toEqual(clockBody({ speed: 10 }));
  });

  it('sets the speed of a real clock', async () => {
    const sim = testSimulator({ clock: 'real' });
    const res = await ctl(sim).post('/clock/speed', { speed: 0.25 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ mode: 'real', speed: 0.25, frozen: false });
    expect(sim.clock.speed).toBe(0.25);
  });

  it.each([
    [{ speed: 0 }, '/body/speed: must be > 0'],
    [{ speed: -2 }, '/body/speed: must be > 0'],
    [{}, "/body/speed: must have required property 'speed'"],
    [{ speed: 'fast' }, '/body/speed: must be number'],
  ])('refuses %j with 400 {error}', async (body, message) => {
    const sim = testSimulator();
    const res = await ctl(sim).post('/clock/speed', body);
    expect([res.status, res.body]).toEqual([400, { error: expect.stringContaining(message) }]);
    expect(sim.clock.speed).toBe(1);
  });
});

describe('POST /__sim/clock/freeze and /resume', () => {
  it('freeze stops a real clock: frozen true, and two reads show the same time', async () => {
    const sim = testSimulator({ clock: 'real' });
    const before = await ctl(sim).clock();
    expect(before).toMatchObject({ mode: 'real', frozen: false, speed: 1 });
    const frozen = await ctl(sim).post('/clock/freeze');
    expect(frozen.status).toBe(200);
    expect(frozen.body).toMatchObject({ mode: 'real', frozen: true });
    expect(frozen.body.now_ms).toBeGreaterThanOrEqual(before.now_ms);
    const first = await ctl(sim).clock();
    const second = await ctl(sim).clock();
    expect(first).toEqual(frozen.body);
    expect(second).toEqual(frozen.body);
    expect(sim.clock.now()).toBe(frozen.body.now_ms);
  });

  it('resume lets a frozen real clock run again from where it stopped', async () => {
    const sim = testSimulator({ clock: 'real' });
    const frozen = (await ctl(sim).post('/clock/freeze')).body;
    const resumed = await ctl(sim).post('/clock/resume');
    expect(resumed.status).toBe(200);
    expect(resumed.body).toEqual({ ...frozen, now_ms: expect.any(Number), now: expect.any(String), frozen: false });
    expect(resumed.body.now_ms).toBeGreaterThanOrEqual(frozen.now_ms);
    expect(sim.clock.frozen).toBe(false);
  });

  it('leaves a virtual clock as it is: always frozen between steps', async () => {
    const sim = testSimulator();
    expect((await ctl(sim).post('/clock/freeze')).body).toEqual(clockBody());
    expect((await ctl(sim).post('/clock/resume')).body).toEqual(clockBody());
    expect(await ctl(sim).advance(1_000)).toEqual(clockBody({ now_ms: START_MS + 1_000 }));
  });
});

describe('in-process sim.clock', () => {
  it('sim.clock.advance(ms) moves time and runs due steps, as POST /__sim/clock/advance does', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const id = await alice.archive(SRC, DST);
    expect(await sim.clock.advance(7_000)).toBe(START_MS + 7_000);
    expect(await alice.task(id)).toMatchObject({ status: 'suspending', summary: { phase: 'upload_archive' } });
    expect(await ctl(sim).clock()).toEqual(clockBody({ now_ms: START_MS + 7_000, pending_timers: 1, idle: false }));
    await sim.clock.advance(3_500);
    expect((await alice.task(id)).status).toBe('completed');
  });

  it('sim.clock.runUntilIdle() runs the archive to its end at 10.5 s; runUntilIdle(maxMs) stops after maxMs', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const id = await alice.archive(SRC, DST);
    expect(await sim.clock.runUntilIdle(4_000)).toBe(START_MS + 4_000);
    expect((await alice.task(id)).status).toBe('suspending');
    expect(await sim.clock.runUntilIdle()).toBe(START_MS + ARCHIVE_RUN_MS);
    expect((await alice.task(id)).status).toBe('completed');
    expect(new Date(sim.clock.now()).toISOString()).toBe('2025-05-20T04:00:10.500Z');
  });

  it('sim.clock.runUntil(predicate) stops as soon as the predicate holds (upload_archive begins at 7 s)', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const id = await alice.archive(SRC, DST);
    const at = await sim.clock.runUntil(async () => (await alice.task(id)).summary.phase === 'upload_archive');
    expect(at).toBe(START_MS + 7_000);
    expect(sim.clock.now()).toBe(START_MS + 7_000);
    expect(await sim.clock.runUntil(() => sim.drive.stat(ALICE, ['n.zip']) !== undefined)).toBe(START_MS + ARCHIVE_RUN_MS);
  });

  it('sim.clock.runUntil rejects when the condition can never hold, naming why', async () => {
    const sim = testSimulator();
    await expect(sim.clock.runUntil(() => false)).rejects.toThrow(/condition is still false and no timer is left/);
    const alice = await user(sim, 'alice');
    await alice.archive(SRC, DST);
    await expect(sim.clock.runUntil(() => false, 1_000)).rejects.toThrow(/after the 1000 ms limit/);
  });

  it('sim.clock.advance refuses a real clock and a negative time', async () => {
    const real = testSimulator({ clock: 'real' });
    await expect(real.clock.advance(1)).rejects.toThrow(/real clock/);
    const sim = testSimulator();
    await expect(sim.clock.advance(-1)).rejects.toThrow(/non-negative/);
    expect(new Date(sim.clock.now()).toISOString()).toBe(START);
  });
});
