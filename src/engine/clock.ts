/**
 * @module engine/clock
 * The simulator's only source of time. `virtual` time moves only when told to; `real` time
 * follows the wall clock, optionally faster or slower (`speed`). Nothing else in `src/` reads
 * the wall clock or starts a timer: everything asks the clock.
 */

export type ClockMode = 'virtual' | 'real';

export const CLOCK_MODES: readonly ClockMode[] = ['virtual', 'real'];

export interface ClockOptions {
  mode?: ClockMode;
  /** Simulated milliseconds per real millisecond (real mode). Default 1. */
  speed?: number;
  /** Start time in Unix ms. Default: the wall clock (real) or 2025-05-20T04:00:00Z (virtual). */
  start?: number;
  /** Timers run by one `advance` / `runUntilIdle` before it gives up. Default 100 000. */
  loopLimit?: number;
}

export type TimerId = number;

export interface Clock {
  readonly mode: ClockMode;
  /** Current simulated time, Unix milliseconds (whole number). */
  now(): number;
  /** Simulated ms per real ms. Real mode only changes how fast `now` runs. */
  readonly speed: number;
  setSpeed(speed: number): void;
  /** Run `fn` when simulated time reaches `at`. Timers due at the same instant run in the order they were scheduled. */
  schedule(at: number, fn: () => unknown): TimerId;
  cancel(id: TimerId): boolean;
  /** Number of pending timers. */
  readonly pending: number;
  /** Time of the earliest pending timer, or undefined. */
  nextDue(): number | undefined;
  /**
   * Virtual mode: move time forward by `ms`, running every timer that falls due on the way
   * (each one sees `now()` equal to its due time) and awaiting the promises they return.
   * Rethrows the first error a timer threw once the target time is reached.
   * Real mode: throws; real time cannot be advanced.
   */
  advance(ms: number): Promise<number>;
  /** Virtual mode: run timers, including ones they schedule, until none is left or `maxMs` of simulated time has passed. */
  runUntilIdle(maxMs?: number): Promise<number>;
  /**
   * Virtual mode: run timers one due time at a time until `predicate` holds (checked first, and
   * after each due time). Rejects when no timer is left, or `maxMs` of simulated time passed,
   * with the condition still false.
   */
  runUntil(predicate: () => boolean | Promise<boolean>, maxMs?: number): Promise<number>;
  /** Real mode: stop time (timers wait) until `resume()`. Virtual time is always frozen between steps. */
  freeze(): void;
  resume(): void;
  readonly frozen: boolean;
  /** Drops every timer, sets time back to `start` (default: the clock's start, or the wall clock on a real clock), and restores the initial speed, unfrozen. */
  reset(start?: number): void;
  /** Stop all timers (real mode: release the wall-clock timer). */
  dispose(): void;
}

/**
 * Waits `ms` of real time. Only transport faults use it (a delayed HTTP answer is about the
 * wire, not the simulated world), so it lives here with the simulator's one wall-clock timer.
 */
export function wallDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, Math.max(0, ms));
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

interface Timer {
  id: TimerId;
  at: number;
  fn: () => unknown;
}

/** How far `runUntilIdle` / `runUntil` may move time by default: 30 days. */
const DEFAULT_RUN_LIMIT_MS = 30 * 24 * 3600 * 1000;

/** 2025-05-20T04:00:00Z: a fixed, documented start for virtual time. */
export const VIRTUAL_EPOCH = Date.UTC(2025, 4, 20, 4, 0, 0);

/** Min-heap of timers ordered by (due time, id): a total order, so runs never depend on luck. */
class TimerHeap {
  private items: Timer[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Timer | undefined {
    return this.items[0];
  }
  push(t: Timer): void {
    const a = this.items;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Timer | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
  clear(): void {
    this.items = [];
  }
}

function before(x: Timer, y: Timer): boolean {
  return x.at < y.at || (x.at === y.at && x.id < y.id);
}

function checkSpeed(speed: number): number {
  if (!Number.isFinite(speed) || speed <= 0) {
    throw new TypeError(`Invalid clock speed ${String(speed)}: use a positive number (1 = real time).`);
  }
  return speed;
}

/** Creates a clock. Throws on an unknown mode or a bad speed, naming the allowed values. */
export function createClock(options: ClockOptions = {}): Clock {
  const mode = options.mode ?? 'virtual';
  if (!CLOCK_MODES.includes(mode)) {
    throw new TypeError(`Unknown clock mode "${String(mode)}": use one of ${CLOCK_MODES.join(', ')}.`);
  }
  const initialSpeed = checkSpeed(options.speed ?? 1);
  let speed = initialSpeed;
  const loopLimit = options.loopLimit ?? 100_000;
  const heap = new TimerHeap();
  const live = new Map<TimerId, Timer>();
  let nextId = 1;

  // Virtual time is a plain number; real time is an anchor (simulated, wall) plus speed.
  const startAt = (): number => Math.floor(options.start ?? (mode === 'virtual' ? VIRTUAL_EPOCH : Date.now()));
  let virtualNow = startAt();
  let anchorSim = virtualNow;
  let anchorReal = performance.now();
  let wallTimer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;
  let frozen = false;

  const now = (): number =>
    mode === 'virtual' || frozen ? (mode === 'virtual' ? virtualNow : anchorSim) : Math.floor(anchorSim + (performance.now() - anchorReal) * speed);

  const dropCancelled = (): void => {
    while (heap.size > 0 && !live.has(heap.peek()!.id)) heap.pop();
  };

  // Real mode: one wall-clock timer, always aimed at the earliest pending timer.
  const armWallTimer = (): void => {
    if (mode !== 'real' || disposed || frozen) return;
    if (wallTimer !== undefined) clearTimeout(wallTimer);
    wallTimer = undefined;
    dropCancelled();
    const first = heap.peek();
    if (!first) return;
    const delay = Math.max(0, (first.at - now()) / speed);
    wallTimer = setTimeout(fireDueReal, Math.min(delay, 2 ** 31 - 1));
    wallTimer.unref?.();
  };

  const fireDueReal = (): void => {
    wallTimer = undefined;
    for (;;) {
      dropCancelled();
      const first = heap.peek();
      if (!first || first.at > now()) break;
      heap.pop();
      live.delete(first.id);
      try {
        const r = first.fn();
        if (r instanceof Promise) r.catch(() => undefined);
      } catch {
        // A timer's own failure is the timer owner's business; the clock keeps going.
      }
    }
    armWallTimer();
  };

  const requireVirtual = (what: string): void => {
    if (mode !== 'virtual') {
      throw new Error(`Unable to ${what} a real clock: create the simulator with clock "virtual".`);
    }
  };

  // Runs timers due up to `target` (virtual mode), each at its own instant.
  const runTo = async (target: number, stopWhenIdle: boolean): Promise<number> => {
    let firstError: unknown;
    let ran = 0;
    for (;;) {
      dropCancelled();
      const first = heap.peek();
      if (!first || first.at > target) break;
      if (++ran > loopLimit) {
        throw new Error(`Aborting after running ${loopLimit} timers, assuming an infinite loop.`);
      }
      heap.pop();
      live.delete(first.id);
      if (first.at > virtualNow) virtualNow = first.at;
      try {
        await first.fn();
      } catch (err) {
        firstError ??= err;
      }
    }
    if (!stopWhenIdle || heap.size > 0) virtualNow = Math.max(virtualNow, target);
    if (firstError !== undefined) throw firstError;
    return virtualNow;
  };

  return {
    mode,
    now,
    get speed() {
      return speed;
    },
    setSpeed(next: number) {
      const s = checkSpeed(next);
      anchorSim = now();
      anchorReal = performance.now();
      speed = s;
      armWallTimer();
    },
    get frozen() {
      return mode === 'real' ? frozen : true;
    },
    freeze() {
      if (mode !== 'real' || frozen) return;
      anchorSim = now();
      frozen = true;
      if (wallTimer !== undefined) clearTimeout(wallTimer);
      wallTimer = undefined;
    },
    resume() {
      if (mode !== 'real' || !frozen) return;
      anchorReal = performance.now();
      frozen = false;
      armWallTimer();
    },
    reset(start?: number) {
      if (wallTimer !== undefined) clearTimeout(wallTimer);
      wallTimer = undefined;
      live.clear();
      heap.clear();
      virtualNow = start === undefined ? startAt() : Math.floor(start);
      anchorSim = virtualNow;
      anchorReal = performance.now();
      speed = initialSpeed;
      frozen = false;
    },
    schedule(at: number, fn: () => unknown): TimerId {
      const t: Timer = { id: nextId++, at: Math.max(Math.floor(at), 0), fn };
      live.set(t.id, t);
      heap.push(t);
      if (mode === 'real' && heap.peek() === t) armWallTimer();
      return t.id;
    },
    cancel(id: TimerId): boolean {
      return live.delete(id);
    },
    get pending() {
      return live.size;
    },
    nextDue() {
      dropCancelled();
      return heap.peek()?.at;
    },
    async advance(ms: number) {
      requireVirtual('advance');
      if (!Number.isFinite(ms) || ms < 0) {
        throw new RangeError(`Unable to travel back in time: advance() needs a non-negative number of ms, got ${String(ms)}.`);
      }
      return runTo(virtualNow + Math.floor(ms), false);
    },
    async runUntilIdle(maxMs = DEFAULT_RUN_LIMIT_MS) {
      requireVirtual('run');
      return runTo(virtualNow + maxMs, true);
    },
    async runUntil(predicate, maxMs = DEFAULT_RUN_LIMIT_MS) {
      requireVirtual('run');
      const limit = virtualNow + maxMs;
      for (;;) {
        if (await predicate()) return virtualNow;
        dropCancelled();
        const next = heap.peek()?.at;
        if (next === undefined || next > limit) {
          const why = next === undefined ? 'no timer is left' : `the next timer is due after the ${maxMs} ms limit`;
          throw new Error(`runUntil: the condition is still false and ${why} (simulated time ${new Date(virtualNow).toISOString()}).`);
        }
        await runTo(Math.max(next, virtualNow), true);
      }
    },
    dispose() {
      disposed = true;
      if (wallTimer !== undefined) clearTimeout(wallTimer);
      wallTimer = undefined;
      live.clear();
      heap.clear();
    },
  };
}
