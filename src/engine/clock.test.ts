import { describe, it, expect } from 'vitest';
import { CLOCK_MODES, VIRTUAL_EPOCH, createClock } from './clock.js';
import type { ClockMode } from './clock.js';

describe('createClock', () => {
  it('defaults to virtual mode, speed 1 and the fixed epoch 2025-05-20T04:00:00Z', () => {
    const clock = createClock();
    expect(clock.mode).toBe('virtual');
    expect(clock.speed).toBe(1);
    expect(VIRTUAL_EPOCH).toBe(Date.UTC(2025, 4, 20, 4, 0, 0));
    expect(clock.now()).toBe(VIRTUAL_EPOCH);
    expect(clock.pending).toBe(0);
    expect(clock.nextDue()).toBe(undefined);
  });

  it('starts virtual time at the given start, rounded down to a whole millisecond', () => {
    expect(createClock({ start: 1_000.9 }).now()).toBe(1_000);
  });

  it('lists exactly the modes virtual and real', () => {
    expect(CLOCK_MODES).toEqual(['virtual', 'real']);
  });

  it('rejects an unknown mode with a TypeError naming the allowed modes', () => {
    const make = (): unknown => createClock({ mode: 'fast' as ClockMode });
    expect(make).toThrow(TypeError);
    expect(make).toThrow('Unknown clock mode "fast": use one of virtual, real.');
  });

  it('rejects a zero, negative, infinite or NaN speed with a TypeError asking for a positive number', () => {
    for (const speed of [0, -1, Number.POSITIVE_INFINITY, Number.NaN]) {
      const make = (): unknown => createClock({ speed });
      expect(make).toThrow(TypeError);
      expect(make).toThrow(`Invalid clock speed ${String(speed)}: use a positive number (1 = real time).`);
    }
  });
});

describe('virtual clock: schedule, cancel, pending and nextDue', () => {
  it('counts pending timers and reports the earliest due time', () => {
    const clock = createClock({ start: 0 });
    clock.schedule(300, () => undefined);
    clock.schedule(100, () => undefined);
    clock.schedule(200, () => undefined);
    expect(clock.pending).toBe(3);
    expect(clock.nextDue()).toBe(100);
  });

  it('returns distinct timer ids', () => {
    const clock = createClock({ start: 0 });
    const a = clock.schedule(10, () => undefined);
    const b = clock.schedule(10, () => undefined);
    expect(a === b).toBe(false);
  });

  it('cancel removes a pending timer: it never runs and no longer counts', async () => {
    const clock = createClock({ start: 0 });
    const ran: string[] = [];
    const a = clock.schedule(100, () => ran.push('a'));
    clock.schedule(200, () => ran.push('b'));
    expect(clock.cancel(a)).toBe(true);
    expect(clock.pending).toBe(1);
    expect(clock.nextDue()).toBe(200);
    await clock.advance(1_000);
    expect(ran).toEqual(['b']);
  });

  it('cancel returns false for an unknown, already cancelled or already run timer', async () => {
    const clock = createClock({ start: 0 });
    const a = clock.schedule(10, () => undefined);
    const b = clock.schedule(20, () => undefined);
    expect(clock.cancel(999)).toBe(false);
    expect(clock.cancel(a)).toBe(true);
    expect(clock.cancel(a)).toBe(false);
    await clock.advance(20);
    expect(clock.cancel(b)).toBe(false);
  });

  it('nextDue skips cancelled timers', () => {
    const clock = createClock({ start: 0 });
    const a = clock.schedule(5, () => undefined);
    clock.schedule(50, () => undefined);
    clock.cancel(a);
    expect(clock.nextDue()).toBe(50);
  });

  it('a timer scheduled in the past is due at once and does not move time backwards', async () => {
    const clock = createClock({ start: 1_000 });
    const seen: number[] = [];
    clock.schedule(500, () => seen.push(clock.now()));
    expect(clock.nextDue()).toBe(500);
    expect(await clock.advance(0)).toBe(1_000);
    expect(seen).toEqual([1_000]);
  });

  it('a timer scheduled before the Unix epoch is clamped to time 0', () => {
    const clock = createClock({ start: 0 });
    clock.schedule(-50, () => undefined);
    expect(clock.nextDue()).toBe(0);
  });
});

describe('virtual clock: advance', () => {
  it('runs every timer due on the way, each seeing now() equal to its own due time', async () => {
    const clock = createClock({ start: 0 });
    const seen: Array<[string, number]> = [];
    clock.schedule(30, () => seen.push(['c', clock.now()]));
    clock.schedule(10, () => seen.push(['a', clock.now()]));
    clock.schedule(20, () => seen.push(['b', clock.now()]));
    clock.schedule(100, () => seen.push(['late', clock.now()]));
    const result = await clock.advance(50);
    expect(seen).toEqual([
      ['a', 10],
      ['b', 20],
      ['c', 30],
    ]);
    expect(result).toBe(50);
    expect(clock.now()).toBe(50);
    expect(clock.pending).toBe(1);
    expect(clock.nextDue()).toBe(100);
  });

  it('runs a timer due exactly at the target', async () => {
    const clock = createClock({ start: 0 });
    const seen: number[] = [];
    clock.schedule(50, () => seen.push(clock.now()));
    await clock.advance(50);
    expect(seen).toEqual([50]);
    expect(clock.pending).toBe(0);
  });

  it('timers due at the same instant run in the order they were scheduled', async () => {
    const clock = createClock({ start: 0 });
    const order: number[] = [];
    for (let i = 0; i < 20; i++) clock.schedule(i % 2 === 0 ? 10 : 5, () => order.push(i));
    await clock.advance(10);
    expect(order).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  });

  it('timers scheduled by timers during advance run when due before the target', async () => {
    const clock = createClock({ start: 0 });
    const seen: Array<[string, number]> = [];
    clock.schedule(10, () => {
      seen.push(['first', clock.now()]);
      clock.schedule(clock.now() + 15, () => seen.push(['child', clock.now()]));
      clock.schedule(clock.now() + 500, () => seen.push(['too late', clock.now()]));
    });
    clock.schedule(40, () => seen.push(['second', clock.now()]));
    await clock.advance(100);
    expect(seen).toEqual([
      ['first', 10],
      ['child', 25],
      ['second', 40],
    ]);
    expect(clock.pending).toBe(1);
    expect(clock.nextDue()).toBe(510);
  });

  it('a timer scheduled by a timer for the same instant runs after the timers already due then', async () => {
    const clock = createClock({ start: 0 });
    const order: string[] = [];
    clock.schedule(10, () => {
      order.push('a');
      clock.schedule(10, () => order.push('c'));
    });
    clock.schedule(10, () => order.push('b'));
    await clock.advance(10);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('a timer cancelled by an earlier timer does not run', async () => {
    const clock = createClock({ start: 0 });
    const ran: string[] = [];
    const later = clock.schedule(20, () => ran.push('later'));
    clock.schedule(10, () => {
      ran.push('earlier');
      clock.cancel(later);
    });
    await clock.advance(100);
    expect(ran).toEqual(['earlier']);
  });

  it('awaits the promise an async timer returns before running the next timer', async () => {
    const clock = createClock({ start: 0 });
    const events: string[] = [];
    clock.schedule(10, async () => {
      events.push('a start');
      await Promise.resolve();
      await Promise.resolve();
      events.push('a end');
    });
    clock.schedule(10, () => events.push('b'));
    await clock.advance(10);
    expect(events).toEqual(['a start', 'a end', 'b']);
  });

  it('runs a timer that an async timer schedules after an await', async () => {
    const clock = createClock({ start: 0 });
    const seen: number[] = [];
    clock.schedule(10, async () => {
      await Promise.resolve();
      clock.schedule(clock.now() + 5, () => seen.push(clock.now()));
    });
    await clock.advance(20);
    expect(seen).toEqual([15]);
  });

  it('moves time to the target when no timer is due', async () => {
    const clock = createClock({ start: 1_000 });
    expect(await clock.advance(250)).toBe(1_250);
    expect(clock.now()).toBe(1_250);
  });

  it('advance(0) leaves time where it is', async () => {
    const clock = createClock({ start: 1_000 });
    expect(await clock.advance(0)).toBe(1_000);
  });

  it('rounds a fractional advance down to whole milliseconds', async () => {
    const clock = createClock({ start: 0 });
    expect(await clock.advance(10.9)).toBe(10);
  });

  it('rejects a negative or non-finite advance with "Unable to travel back in time"', async () => {
    const clock = createClock({ start: 0 });
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
    await expect(clock.advance(-1)).rejects.toThrow(
      'Unable to travel back in time: advance() needs a non-negative number of ms, got -1.',
    );
    await expect(clock.advance(Number.NaN)).rejects.toThrow('Unable to travel back in time');
    await expect(clock.advance(Number.POSITIVE_INFINITY)).rejects.toThrow('Unable to travel back in time');
    expect(clock.now()).toBe(0);
  });

  it('rethrows the first error a timer threw once the target is reached, after running the later timers', async () => {
    const clock = createClock({ start: 0 });
    const ran: Array<[string, number]> = [];
    const first = new Error('first failure');
    clock.schedule(10, () => {
      throw first;
    });
    clock.schedule(20, () => {
      throw new Error('second failure');
    });
    clock.schedule(30, () => ran.push(['after', clock.now()]));
    await expect(clock.advance(100)).rejects.toBe(first);
    expect(ran).toEqual([['after', 30]]);
    expect(clock.now()).toBe(100);
    expect(clock.pending).toBe(0);
  });

  it('rethrows the rejection of an async timer', async () => {
    const clock = createClock({ start: 0 });
    clock.schedule(10, async () => {
      await Promise.resolve();
      throw new Error('async failure');
    });
    await expect(clock.advance(10)).rejects.toThrow('async failure');
    expect(clock.now()).toBe(10);
  });

  it('aborts after running loopLimit timers, assuming an infinite loop', async () => {
    const clock = createClock({ start: 0, loopLimit: 5 });
    let runs = 0;
    const again = (): void => {
      runs++;
      clock.schedule(clock.now(), again);
    };
    clock.schedule(0, again);
    await expect(clock.advance(10)).rejects.toThrow('Aborting after running 5 timers, assuming an infinite loop.');
    expect(runs).toBe(5);
  });
});

describe('virtual clock: runUntilIdle', () => {
  it('runs all timers, including ones they schedule, and leaves now() at the last timer time', async () => {
    const clock = createClock({ start: 0 });
    const seen: number[] = [];
    clock.schedule(100, () => {
      seen.push(clock.now());
      clock.schedule(clock.now() + 400, () => seen.push(clock.now()));
    });
    clock.schedule(50, () => seen.push(clock.now()));
    expect(await clock.runUntilIdle()).toBe(500);
    expect(seen).toEqual([50, 100, 500]);
    expect(clock.now()).toBe(500);
    expect(clock.pending).toBe(0);
  });

  it('leaves time unchanged when nothing is pending', async () => {
    const clock = createClock({ start: 1_000 });
    expect(await clock.runUntilIdle()).toBe(1_000);
  });

  it('leaves now() at the last timer that ran even when a later one was cancelled', async () => {
    const clock = createClock({ start: 0 });
    clock.schedule(10, () => undefined);
    const late = clock.schedule(900, () => undefined);
    clock.cancel(late);
    expect(await clock.runUntilIdle()).toBe(10);
  });

  it('stops at maxMs of simulated time, leaving later timers pending', async () => {
    const clock = createClock({ start: 0 });
    const seen: number[] = [];
    clock.schedule(100, () => seen.push(clock.now()));
    clock.schedule(5_000, () => seen.push(clock.now()));
    expect(await clock.runUntilIdle(1_000)).toBe(1_000);
    expect(seen).toEqual([100]);
    expect(clock.pending).toBe(1);
    expect(clock.nextDue()).toBe(5_000);
  });

  it('aborts after running loopLimit timers with a message starting "Aborting after running"', async () => {
    const clock = createClock({ start: 0, loopLimit: 3 });
    const tick = (): void => {
      clock.schedule(clock.now() + 1, tick);
    };
    clock.schedule(1, tick);
    await expect(clock.runUntilIdle()).rejects.toThrow('Aborting after running 3 timers, assuming an infinite loop.');
  });

  it('rethrows the first error a timer threw after running the rest', async () => {
    const clock = createClock({ start: 0 });
    const ran: number[] = [];
    clock.schedule(10, () => {
      throw new Error('boom');
    });
    clock.schedule(20, () => ran.push(clock.now()));
    await expect(clock.runUntilIdle()).rejects.toThrow('boom');
    expect(ran).toEqual([20]);
    expect(clock.now()).toBe(20);
  });
});

describe('virtual clock: setSpeed and dispose', () => {
  it('setSpeed changes the reported speed and validates it', () => {
    const clock = createClock();
    clock.setSpeed(10);
    expect(clock.speed).toBe(10);
    expect(() => clock.setSpeed(0)).toThrow(TypeError);
    expect(clock.speed).toBe(10);
  });

  it('setSpeed does not move virtual time', () => {
    const clock = createClock({ start: 1_000 });
    clock.setSpeed(1_000);
    expect(clock.now()).toBe(1_000);
  });

  it('dispose drops every pending timer', async () => {
    const clock = createClock({ start: 0 });
    const ran: number[] = [];
    clock.schedule(10, () => ran.push(1));
    clock.dispose();
    expect(clock.pending).toBe(0);
    expect(clock.nextDue()).toBe(undefined);
    await clock.advance(100);
    expect(ran).toEqual([]);
  });
});

describe('real clock', () => {
  it('starts close to the wall clock', () => {
    const before = Date.now();
    const clock = createClock({ mode: 'real' });
    const now = clock.now();
    const after = Date.now();
    expect(clock.mode).toBe('real');
    expect(now >= before - 5 && now <= after + 50).toBe(true);
    clock.dispose();
  });

  it('starts at the given start time when one is given', () => {
    const clock = createClock({ mode: 'real', start: VIRTUAL_EPOCH });
    const elapsed = clock.now() - VIRTUAL_EPOCH;
    expect(elapsed >= 0 && elapsed < 1_000).toBe(true);
    clock.dispose();
  });

  it('reports whole milliseconds', () => {
    const clock = createClock({ mode: 'real', speed: 3.7 });
    expect(Number.isInteger(clock.now())).toBe(true);
    clock.dispose();
  });

  it('accepts a positive speed and rejects a bad one on creation and on setSpeed', () => {
    const clock = createClock({ mode: 'real', speed: 60 });
    expect(clock.speed).toBe(60);
    clock.setSpeed(0.5);
    expect(clock.speed).toBe(0.5);
    expect(() => clock.setSpeed(-2)).toThrow(
      new TypeError('Invalid clock speed -2: use a positive number (1 = real time).'),
    );
    expect(() => createClock({ mode: 'real', speed: 0 })).toThrow(TypeError);
    clock.dispose();
  });

  it('advance throws, naming the virtual clock', async () => {
    const clock = createClock({ mode: 'real' });
    await expect(clock.advance(10)).rejects.toThrow(
      'Unable to advance a real clock: create the simulator with clock "virtual".',
    );
    clock.dispose();
  });

  it('runUntilIdle throws, naming the virtual clock', async () => {
    const clock = createClock({ mode: 'real' });
    await expect(clock.runUntilIdle()).rejects.toThrow('clock "virtual"');
    clock.dispose();
  });

  it('schedule and cancel track pending timers without waiting', () => {
    const clock = createClock({ mode: 'real' });
    const at = clock.now() + 3_600_000;
    const a = clock.schedule(at, () => undefined);
    clock.schedule(at + 1, () => undefined);
    expect(clock.pending).toBe(2);
    expect(clock.nextDue()).toBe(at);
    expect(clock.cancel(a)).toBe(true);
    expect(clock.nextDue()).toBe(at + 1);
    clock.dispose();
  });

  it('dispose drops every pending timer', () => {
    const clock = createClock({ mode: 'real' });
    clock.schedule(clock.now() + 3_600_000, () => undefined);
    clock.dispose();
    expect(clock.pending).toBe(0);
    expect(clock.nextDue()).toBe(undefined);
  });
});

describe('runUntil', () => {
  it('runs timers one due time at a time until the condition holds, and stops there', async () => {
    const clock = createClock({ mode: 'virtual', start: 0 });
    const seen: number[] = [];
    for (const at of [10, 20, 30, 40]) clock.schedule(at, () => seen.push(at));
    const now = await clock.runUntil(() => seen.length === 2);
    expect(now).toBe(20);
    expect(seen).toEqual([10, 20]);
    expect(clock.pending).toBe(2);
  });

  it('returns at once when the condition already holds', async () => {
    const clock = createClock({ mode: 'virtual', start: 5 });
    clock.schedule(10, () => undefined);
    expect(await clock.runUntil(() => true)).toBe(5);
    expect(clock.pending).toBe(1);
  });

  it('awaits an async condition', async () => {
    const clock = createClock({ mode: 'virtual', start: 0 });
    let n = 0;
    clock.schedule(1, () => (n = 1));
    expect(await clock.runUntil(async () => n === 1)).toBe(1);
  });

  it('rejects, naming why, when no timer is left and the condition is still false', async () => {
    const clock = createClock({ mode: 'virtual', start: 0 });
    clock.schedule(10, () => undefined);
    await expect(clock.runUntil(() => false)).rejects.toThrow(/runUntil: the condition is still false and no timer is left/);
    expect(clock.now()).toBe(10);
  });

  it('rejects when the next timer lies beyond maxMs, without running it', async () => {
    const clock = createClock({ mode: 'virtual', start: 0 });
    let ran = false;
    clock.schedule(1_000, () => (ran = true));
    await expect(clock.runUntil(() => false, 500)).rejects.toThrow(/after the 500 ms limit/);
    expect(ran).toBe(false);
  });

  it('refuses a real clock', async () => {
    const clock = createClock({ mode: 'real' });
    await expect(clock.runUntil(() => true)).rejects.toThrow(/virtual/);
    clock.dispose();
  });
});
