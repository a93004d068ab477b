import { describe, it, expect } from 'vitest';
import { pino } from 'pino';
import { createClock, type Clock } from './clock.js';
import { createEngine, type Engine } from './engine.js';
import type { TimingProfile } from './profile.js';
import { TaskError, type Task, type TaskStatus } from './task.js';
import type { QueueName, StepContext, StepResult, WorkflowDefinition } from '../workflows/types.js';

// A whole second, so resume times in seconds are easy to read.
const T0 = Date.UTC(2025, 4, 20, 4, 0, 0);
const PICKUP = 100;
const PHASE_MIN = 1_000;
const FAILURE = 500;
const NODE = 1;

const profile: TimingProfile = {
  pickupDelayMs: PICKUP,
  phaseMinMs: PHASE_MIN,
  failureMs: FAILURE,
  compressBytesPerSec: 1_000,
  uploadBytesPerSec: 1_000,
  extractBytesPerSec: 1_000,
  downloadBytesPerSec: 1_000,
  pollIntervalMs: 1_000,
};

interface Services {
  name: string;
}
const services: Services = { name: 'test services' };

type Def = WorkflowDefinition<Services>;
type Ctx = StepContext<Services>;

/** A one-phase io workflow that completes after the profile's minimum; override what a test needs. */
function workflow(overrides: Partial<Def> = {}): Def {
  return {
    type: 'create_archive',
    queue: 'io',
    phases: [''],
    progressKeys: {},
    usesNode: true,
    steps: { '': async () => ({ complete: true }) },
    ...overrides,
  };
}

interface Setup {
  clock: Clock;
  engine: Engine;
  transitions: Array<{ id: number; from: TaskStatus; to: TaskStatus; at: number }>;
}

function setup(workflows: Def[], concurrency: Record<QueueName, number> = { io: 15, download: 15 }): Setup {
  const clock = createClock({ mode: 'virtual', start: T0 });
  const transitions: Setup['transitions'] = [];
  const engine = createEngine<Services>({
    clock,
    profile,
    concurrency,
    workflows,
    services,
    logger: pino({ level: 'silent' }),
    nodeId: NODE,
    onTransition: (task, from) => transitions.push({ id: task.id, from, to: task.status, at: clock.now() }),
  });
  return { clock, engine, transitions };
}

/** Moves virtual time to exactly T0 + `ms`. */
async function at(clock: Clock, ms: number): Promise<void> {
  const target = T0 + ms;
  expect(target).toBeGreaterThanOrEqual(clock.now());
  await clock.advance(target - clock.now());
}

/** A readable slice of a task at one instant. */
function view(task: Task) {
  return {
    status: task.status,
    phase: task.phase,
    retryCount: task.retryCount,
    errorHistory: [...task.errorHistory],
    error: task.error,
    resumeTime: task.resumeTime,
    durationMs: task.durationMs,
  };
}

describe('createEngine: checks', () => {
  it('rejects a workflow type registered twice', () => {
    expect(() => setup([workflow(), workflow()])).toThrow('Workflow create_archive is registered twice.');
  });

  it('rejects a definition without a step for a phase, naming the workflow and the phase', () => {
    const def = workflow({ type: 'extract_archive', phases: ['', 'download_zip'], steps: { '': async () => ({ complete: true }) } });
    expect(() => setup([def])).toThrow('Workflow extract_archive has no step for phase "download_zip"');
  });

  it('rejects a concurrency of 0', () => {
    expect(() => setup([workflow()], { io: 0, download: 15 })).toThrow(TypeError);
    expect(() => setup([workflow()], { io: 15, download: 0 })).toThrow('Invalid concurrency for queue download: 0');
  });

  it('refuses to create a task of a type without a workflow', () => {
    const { engine } = setup([workflow()]);
    expect(() => engine.create('import', 1, {})).toThrow('No workflow for task type import.');
  });
});

describe('engine.create', () => {
  it('creates a queued task in the first phase, with ascending ids, stored and live', () => {
    const { engine } = setup([workflow({ phases: ['start', 'end'], steps: { start: async () => ({ goto: 'end' }), end: async () => ({ complete: true }) } })]);
    const props = { dst: 'cloudreve://my/a.zip', failed: 0 };
    const a = engine.create('create_archive', 3, props, { secret: 1 });
    const b = engine.create('create_archive', 3, {});
    expect({ ...a, abort: undefined, progress: [...a.progress] }).toEqual({
      id: 1,
      type: 'create_archive',
      ownerId: 3,
      createdAt: T0,
      updatedAt: T0,
      status: 'queued',
      phase: 'start',
      props,
      errorHistory: [],
      durationMs: 0,
      resumeTime: 0,
      retryCount: 0,
      progress: [],
      state: { secret: 1 },
      abort: undefined,
    });
    expect(a.nodeId).toBe(undefined);
    expect(b.id).toBe(2);
    expect(engine.store.get(1)).toBe(a);
    expect(engine.live(1)).toBe(a);
    expect(engine.idle()).toBe(false);
  });
});

describe('engine: one iteration', () => {
  it('keeps a task queued until the pick-up delay has passed, then runs its step', async () => {
    let calls = 0;
    const { clock, engine } = setup([workflow({ steps: { '': async () => (calls++, { complete: true }) } })]);
    const task = engine.create('create_archive', 1, {});
    await at(clock, PICKUP - 1);
    expect([task.status, calls]).toEqual(['queued', 0]);
    await at(clock, PICKUP);
    expect([task.status, calls, task.updatedAt]).toEqual(['processing', 1, T0 + PICKUP]);
  });

  it('stays processing for exactly the iteration cost, then completes', async () => {
    const { clock, engine } = setup([workflow({ steps: { '': async () => ({ complete: true, costMs: 2_500 }) } })]);
    const task = engine.create('create_archive', 1, {});
    await at(clock, PICKUP);
    expect(task.status).toBe('processing');
    await at(clock, PICKUP + 2_499);
    expect(task.status).toBe('processing');
    await at(clock, PICKUP + 2_500);
    expect(task.status).toBe('completed');
    expect(task.updatedAt).toBe(T0 + PICKUP + 2_500);
  });

  it('takes the profile minimum when a step gives no cost', async () => {
    const { clock, engine } = setup([workflow()]);
    const task = engine.create('create_archive', 1, {});
    await at(clock, PICKUP + PHASE_MIN - 1);
    expect(task.status).toBe('processing');
    await at(clock, PICKUP + PHASE_MIN);
    expect([task.status, task.durationMs]).toEqual(['completed', PHASE_MIN]);
  });

  it('runs commit only once the cost has elapsed', async () => {
    const commits: number[] = [];
    const { clock, engine } = setup([
      workflow({ steps: { '': async ({ clock: c }) => ({ complete: true, costMs: 300, commit: async () => void commits.push(c.now()) }) } }),
    ]);
    const task = engine.create('create_archive', 1, {});
    await at(clock, PICKUP + 299);
    expect(commits).toEqual([]);
    await at(clock, PICKUP + 300);
    expect(commits).toEqual([T0 + PICKUP + 300]);
    expect(task.status).toBe('completed');
    await at(clock, 10_000);
    expect(commits).toHaveLength(1);
  });

  it('gives the step the task, clock, profile, signal and services', async () => {
    let seen: Ctx | undefined;
    const { clock, engine } = setup([workflow({ steps: { '': async (ctx) => ((seen = ctx), { complete: true }) } })]);
    const task = engine.create('create_archive', 1, {});
    await at(clock, PICKUP);
    expect(seen).toBeDefined();
    expect(seen!.task).toBe(task);
    expect(seen!.clock).toBe(clock);
    expect(seen!.profile).toBe(profile);
    expect(seen!.signal).toBe(task.abort.signal);
    expect(seen!.services).toBe(services);
  });
});

describe('engine: phases, waits and completion', () => {
  const twoPhases = (cleanup: (t: Task) => void): Def =>
    workflow({
      phases: ['', 'compress_files'],
      steps: {
        '': async () => ({ goto: 'compress_files', costMs: 1_000 }),
        compress_files: async () => ({ complete: true, costMs: 2_000 }),
      },
      cleanup: async (t) => cleanup(t),
    });

  it('suspends at a phase change with resume time now, and runs the next phase after the pick-up delay', async () => {
    const cleaned: number[] = [];
    const { clock, engine } = setup([twoPhases((t) => cleaned.push(t.id))]);
    const task = engine.create('create_archive', 1, {});
    await at(clock, PICKUP + 999);
    expect([task.status, task.phase]).toEqual(['processing', '']);
    await at(clock, PICKUP + 1_000);
    expect(view(task)).toEqual({
      status: 'suspending',
      phase: 'compress_files',
      retryCount: 0,
      errorHistory: [],
      error: undefined,
      resumeTime: Math.floor((T0 + PICKUP + 1_000) / 1000),
      durationMs: 1_000,
    });
    await at(clock, 2 * PICKUP + 999);
    expect(task.status).toBe('suspending');
    await at(clock, 2 * PICKUP + 1_000);
    expect([task.status, task.phase]).toEqual(['processing', 'compress_files']);
    expect(engine.live(task.id)).toBe(task);
    await at(clock, 2 * PICKUP + 2_999);
    expect(task.status).toBe('processing');
    expect(cleaned).toEqual([]);
    await at(clock, 2 * PICKUP + 3_000);
    expect(view(task)).toEqual({
      status: 'completed',
      phase: 'compress_files',
      retryCount: 0,
      errorHistory: [],
      error: undefined,
      resumeTime: Math.floor((T0 + PICKUP + 1_000) / 1000),
      durationMs: 3_000,
    });
  });

  it('a completed task leaves the live registry, stays in the store, and is cleaned up once', async () => {
    const cleaned: number[] = [];
    const { clock, engine } = setup([twoPhases((t) => cleaned.push(t.id))]);
    const task = engine.create('create_archive', 1, {});
    await clock.runUntilIdle();
    expect(task.status).toBe('completed');
    expect(engine.live(task.id)).toBe(undefined);
    expect(engine.store.get(task.id)).toBe(task);
    expect(engine.idle()).toBe(true);
    expect(cleaned).toEqual([task.id]);
    expect(clock.pending).toBe(0);
  });

  it('counts in durationMs the sum of iteration costs, not the waits between them', async () => {
    let calls = 0;
    const { clock, engine } = setup([
      workflow({
        steps: { '': async () => (++calls === 1 ? { waitMs: 5_000, costMs: 300 } : { complete: true, costMs: 700 }) },
      }),
    ]);
    const task = engine.create('create_archive', 1, {});
    await at(clock, PICKUP + 300);
    expect([task.status, task.resumeTime, task.durationMs]).toEqual(['suspending', Math.floor((T0 + PICKUP + 300 + 5_000) / 1000), 300]);
    await at(clock, PICKUP + 300 + 5_000 + PICKUP - 1);
    expect([task.status, calls]).toEqual(['suspending', 1]);
    await at(clock, PICKUP + 300 + 5_000 + PICKUP);
    expect([task.status, calls]).toEqual(['processing', 2]);
    await at(clock, PICKUP + 300 + 5_000 + PICKUP + 700);
    expect([task.status, task.durationMs]).toEqual(['completed', 1_000]);
  });

  it('allocates the node at the first iteration, only for workflows that use one', async () => {
    const { clock, engine } = setup([
      workflow({ type: 'create_archive', usesNode: true }),
      workflow({ type: 'import', usesNode: false }),
    ]);
    const archive = engine.create('create_archive', 1, {});
    const imp = engine.create('import', 1, {});
    await at(clock, PICKUP - 1);
    expect([archive.nodeId, imp.nodeId]).toEqual([undefined, undefined]);
    await at(clock, PICKUP);
    expect([archive.nodeId, imp.nodeId]).toEqual([NODE, undefined]);
    await clock.runUntilIdle();
    expect([archive.nodeId, imp.nodeId]).toEqual([NODE, undefined]);
  });

  it('calls onTransition after each transition with the status before it', async () => {
    const { clock, engine, transitions } = setup([
      workflow({
        phases: ['', 'b'],
        steps: { '': async () => ({ goto: 'b', costMs: 1_000 }), b: async () => ({ complete: true, costMs: 1_000 }) },
      }),
    ]);
    engine.create('create_archive', 1, {});
    await clock.runUntilIdle();
    expect(transitions).toEqual([
      { id: 1, from: 'queued', to: 'processing', at: T0 + PICKUP },
      { id: 1, from: 'processing', to: 'suspending', at: T0 + PICKUP + 1_000 },
      { id: 1, from: 'suspending', to: 'processing', at: T0 + 2 * PICKUP + 1_000 },
      { id: 1, from: 'processing', to: 'completed', at: T0 + 2 * PICKUP + 2_000 },
    ]);
  });
});

describe('engine: failures', () => {
  it('retries a retryable failure after 200, 400, 800, 1600 and 3200 ms (plus pick-up), then ends in error', async () => {
    let calls = 0;
    const starts: number[] = [];
    const { clock, engine } = setup([
      workflow({
        steps: {
          '': async ({ clock: c }) => {
            calls += 1;
            starts.push(c.now() - T0);
            throw TaskError.retryable(`failure ${calls}`);
          },
        },
      }),
    ]);
    const task = engine.create('create_archive', 1, {});
    // First failure shows after failureMs; back-off 200 ms; then the pick-up delay.
    await at(clock, PICKUP + FAILURE);
    expect(view(task)).toEqual({
      status: 'suspending',
      phase: '',
      retryCount: 1,
      errorHistory: ['failure 1'],
      error: undefined,
      resumeTime: Math.floor((T0 + PICKUP + FAILURE + 200) / 1000),
      durationMs: FAILURE,
    });
    await at(clock, PICKUP + FAILURE + 200 + PICKUP - 1);
    expect([task.status, calls]).toEqual(['suspending', 1]);
    await at(clock, PICKUP + FAILURE + 200 + PICKUP);
    expect([task.status, calls]).toEqual(['processing', 2]);

    await clock.runUntilIdle();
    let expected = PICKUP;
    const expectedStarts = [expected];
    for (const delay of [200, 400, 800, 1600, 3200]) {
      expected += FAILURE + delay + PICKUP;
      expectedStarts.push(expected);
    }
    expect(starts).toEqual(expectedStarts);
    expect(view(task)).toEqual({
      status: 'error',
      phase: '',
      retryCount: 5,
      errorHistory: ['failure 1', 'failure 2', 'failure 3', 'failure 4', 'failure 5'],
      error: 'failure 6',
      resumeTime: Math.floor((T0 + expectedStarts[5]! - PICKUP) / 1000),
      durationMs: 6 * FAILURE,
    });
    expect(task.updatedAt).toBe(T0 + expectedStarts[5]! + FAILURE);
    expect(engine.live(task.id)).toBe(undefined);
  });

  it('ends a critical failure in error at once, without retry fields', async () => {
    let calls = 0;
    const { clock, engine } = setup([workflow({ steps: { '': async () => (calls++, Promise.reject(TaskError.critical('disk full'))) } })]);
    const task = engine.create('create_archive', 1, {});
    await at(clock, PICKUP + FAILURE - 1);
    expect(task.status).toBe('processing');
    await at(clock, PICKUP + FAILURE);
    expect(view(task)).toEqual({
      status: 'error',
      phase: '',
      retryCount: 0,
      errorHistory: [],
      error: 'disk full (non-retryable error)',
      resumeTime: 0,
      durationMs: FAILURE,
    });
    await clock.runUntilIdle();
    expect(calls).toBe(1);
  });

  it('ends a step that crashes with a plain Error as a panic, not retried', async () => {
    const { clock, engine } = setup([
      workflow({
        steps: {
          '': async () => {
            throw new Error('undefined is not a function');
          },
        },
      }),
    ]);
    const task = engine.create('create_archive', 1, {});
    await clock.runUntilIdle();
    expect([task.status, task.error, task.retryCount, task.errorHistory]).toEqual([
      'error',
      'panic error: undefined is not a function (non-retryable error)',
      0,
      [],
    ]);
  });

  it('ends a task that reports an undeclared progress key as a panic', async () => {
    const { clock, engine } = setup([
      workflow({
        progressKeys: { '': ['files'] },
        steps: {
          '': async (ctx) => {
            ctx.progress('bytes', { current: 1 });
            return { complete: true };
          },
        },
      }),
    ]);
    const task = engine.create('create_archive', 1, {});
    await clock.runUntilIdle();
    expect(task.status).toBe('error');
    expect(task.error).toMatch(/^panic error: .*undeclared progress key "bytes".* \(non-retryable error\)$/);
    expect(task.retryCount).toBe(0);
  });

  it('ends a task that goes to an undeclared phase in error', async () => {
    const { clock, engine } = setup([workflow({ steps: { '': async () => ({ goto: 'nowhere' }) } })]);
    const task = engine.create('create_archive', 1, {});
    await clock.runUntilIdle();
    expect([task.status, task.phase, task.retryCount]).toEqual(['error', '', 0]);
    expect(task.error).toMatch(/undeclared phase "nowhere".* \(non-retryable error\)$/);
  });

  it('retries a commit that throws a retryable error, running the step again', async () => {
    let steps = 0;
    let commits = 0;
    const { clock, engine } = setup([
      workflow({
        steps: {
          '': async () => {
            steps += 1;
            return {
              complete: true,
              costMs: 1_000,
              commit: async () => {
                commits += 1;
                if (commits === 1) throw TaskError.retryable('rename failed');
              },
            };
          },
        },
      }),
    ]);
    const task = engine.create('create_archive', 1, {});
    await at(clock, PICKUP + 1_000);
    expect(view(task)).toEqual({
      status: 'suspending',
      phase: '',
      retryCount: 1,
      errorHistory: ['rename failed'],
      error: undefined,
      resumeTime: Math.floor((T0 + PICKUP + 1_000 + 200) / 1000),
      durationMs: 1_000,
    });
    await clock.runUntilIdle();
    expect([task.status, task.retryCount, task.errorHistory, steps, commits]).toEqual(['completed', 1, ['rename failed'], 2, 2]);
  });

  it('cleans up a task that ends in error once', async () => {
    const cleaned: number[] = [];
    const { clock, engine } = setup([
      workflow({
        steps: { '': async () => Promise.reject(TaskError.critical('no')) },
        cleanup: async (t) => void cleaned.push(t.id),
      }),
    ]);
    const task = engine.create('create_archive', 1, {});
    await clock.runUntilIdle();
    expect([task.status, cleaned]).toEqual(['error', [task.id]]);
  });
});

describe('engine.progress', () => {
  const progressDef = (): Def =>
    workflow({
      phases: ['', 'upload'],
      progressKeys: { '': ['files', 'bytes'], upload: ['upload'] },
      keepProgress: ['files'],
      steps: {
        '': async (ctx) => {
          ctx.progress('files', { current: 10, total: 10 });
          ctx.progress('bytes', { current: 1_000, total: 1_000, identifier: 'a.txt' });
          return { goto: 'upload', costMs: 1_000 };
        },
        upload: async (ctx) => {
          ctx.progress('upload', { current: 500, total: 500 });
          return { complete: true, costMs: 2_000 };
        },
      },
    });

  it('interpolates reported values over the iteration, keys sorted', async () => {
    const { clock, engine } = setup([progressDef()]);
    const task = engine.create('create_archive', 1, {});
    expect(engine.progress(task)).toEqual({});
    await at(clock, PICKUP);
    expect(engine.progress(task)).toEqual({
      bytes: { total: 1_000, current: 0, identifier: 'a.txt' },
      files: { total: 10, current: 0, identifier: '' },
    });
    expect(Object.keys(engine.progress(task))).toEqual(['bytes', 'files']);
    await at(clock, PICKUP + 250);
    expect(engine.progress(task)).toEqual({
      bytes: { total: 1_000, current: 250, identifier: 'a.txt' },
      files: { total: 10, current: 2, identifier: '' },
    });
    await at(clock, PICKUP + 999);
    expect(engine.progress(task)).toEqual({
      bytes: { total: 1_000, current: 999, identifier: 'a.txt' },
      files: { total: 10, current: 9, identifier: '' },
    });
  });

  it('drops a phase\'s keys when the phase ends, except those kept', async () => {
    const { clock, engine } = setup([progressDef()]);
    const task = engine.create('create_archive', 1, {});
    await at(clock, PICKUP + 1_000);
    expect(task.phase).toBe('upload');
    expect(engine.progress(task)).toEqual({ files: { total: 10, current: 10, identifier: '' } });
    await at(clock, 2 * PICKUP + 1_000 + 1_000);
    expect(engine.progress(task)).toEqual({
      files: { total: 10, current: 10, identifier: '' },
      upload: { total: 500, current: 250, identifier: '' },
    });
  });

  it('is empty once the task is terminal', async () => {
    const { clock, engine } = setup([progressDef()]);
    const task = engine.create('create_archive', 1, {});
    await clock.runUntilIdle();
    expect(task.status).toBe('completed');
    expect(engine.progress(task)).toEqual({});
    expect(task.progress.size).toBe(0);
  });

  it('continues a key from the value reached when the next iteration of the phase starts', async () => {
    let calls = 0;
    const { clock, engine } = setup([
      workflow({
        progressKeys: { '': ['files'] },
        steps: {
          '': async (ctx) => {
            calls += 1;
            ctx.progress('files', { current: calls * 100, total: 200 });
            return calls === 1 ? { waitMs: 0, costMs: 1_000 } : { complete: true, costMs: 1_000 };
          },
        },
      }),
    ]);
    const task = engine.create('create_archive', 1, {});
    await at(clock, PICKUP + 1_000);
    expect([task.status, engine.progress(task)]).toEqual(['suspending', { files: { total: 200, current: 100, identifier: '' } }]);
    await at(clock, 2 * PICKUP + 1_000);
    expect(engine.progress(task)).toEqual({ files: { total: 200, current: 100, identifier: '' } });
    await at(clock, 2 * PICKUP + 1_500);
    expect(engine.progress(task)).toEqual({ files: { total: 200, current: 150, identifier: '' } });
  });
});

describe('engine: queues and concurrency', () => {
  it('runs at most `concurrency` tasks of a queue at once, starting the others FIFO as workers free up', async () => {
    const started: number[] = [];
    const { clock, engine } = setup(
      [workflow({ steps: { '': async ({ task }) => (started.push(task.id), { complete: true, costMs: 1_000 }) } })],
      { io: 2, download: 15 },
    );
    const tasks = [1, 2, 3, 4, 5].map(() => engine.create('create_archive', 1, {}));
    const statuses = () => tasks.map((t) => t.status);
    await at(clock, PICKUP);
    expect(statuses()).toEqual(['processing', 'processing', 'queued', 'queued', 'queued']);
    await at(clock, PICKUP + 999);
    expect(statuses()).toEqual(['processing', 'processing', 'queued', 'queued', 'queued']);
    await at(clock, PICKUP + 1_000);
    expect(statuses()).toEqual(['completed', 'completed', 'processing', 'processing', 'queued']);
    await at(clock, PICKUP + 2_000);
    expect(statuses()).toEqual(['completed', 'completed', 'completed', 'completed', 'processing']);
    await at(clock, PICKUP + 3_000);
    expect(statuses()).toEqual(['completed', 'completed', 'completed', 'completed', 'completed']);
    expect(started).toEqual([1, 2, 3, 4, 5]);
  });

  it('never has more tasks processing than workers, with mixed costs', async () => {
    const costs = [300, 1_700, 200, 900, 50, 1_100, 400];
    let running = 0;
    let peak = 0;
    const { clock, engine } = setup(
      [
        workflow({
          steps: {
            '': async ({ task }) => {
              running += 1;
              peak = Math.max(peak, running);
              return { complete: true, costMs: costs[task.id - 1]!, commit: async () => void (running -= 1) };
            },
          },
        }),
      ],
      { io: 3, download: 15 },
    );
    for (const _ of costs) engine.create('create_archive', 1, {});
    await clock.runUntilIdle();
    expect([peak, running, engine.idle()]).toEqual([3, 0, true]);
  });

  it('runs the download queue independently of the io queue', async () => {
    const { clock, engine } = setup(
      [
        workflow({ type: 'create_archive', queue: 'io', steps: { '': async () => ({ complete: true, costMs: 5_000 }) } }),
        workflow({ type: 'remote_download', queue: 'download', steps: { '': async () => ({ complete: true, costMs: 5_000 }) } }),
      ],
      { io: 1, download: 1 },
    );
    const a1 = engine.create('create_archive', 1, {});
    const a2 = engine.create('create_archive', 1, {});
    const d1 = engine.create('remote_download', 1, {});
    const d2 = engine.create('remote_download', 1, {});
    await at(clock, PICKUP);
    expect([a1, a2, d1, d2].map((t) => t.status)).toEqual(['processing', 'queued', 'processing', 'queued']);
  });
});

describe('engine.dispose', () => {
  it('aborts live tasks, cancels their timers, and nothing runs afterwards', async () => {
    let steps = 0;
    let commits = 0;
    let cleanups = 0;
    const { clock, engine } = setup(
      [
        workflow({
          steps: { '': async () => (steps++, { complete: true, costMs: 1_000, commit: async () => void commits++ }) },
          cleanup: async () => void cleanups++,
        }),
      ],
      { io: 1, download: 15 },
    );
    const running = engine.create('create_archive', 1, {});
    const waiting = engine.create('create_archive', 1, {});
    await at(clock, PICKUP);
    expect([running.status, waiting.status, steps]).toEqual(['processing', 'queued', 1]);
    expect(clock.pending).toBe(1); // the end of the running iteration
    const late = engine.create('create_archive', 1, {});
    expect(clock.pending).toBe(2);

    engine.dispose();
    expect([running, waiting, late].map((t) => t.abort.signal.aborted)).toEqual([true, true, true]);
    expect(clock.pending).toBe(0);
    expect(engine.idle()).toBe(true);
    expect(engine.live(running.id)).toBe(undefined);

    await at(clock, 60_000);
    expect([steps, commits, cleanups]).toEqual([1, 0, 0]);
    expect([running.status, waiting.status, late.status]).toEqual(['processing', 'queued', 'queued']);
  });

  it('drops the result of a step still working when the engine is disposed', async () => {
    let release: () => void = () => undefined;
    let commits = 0;
    const { clock, engine } = setup([
      workflow({
        steps: {
          '': () =>
            new Promise<StepResult>((resolve) => {
              release = () => resolve({ complete: true, commit: async () => void commits++ });
            }),
        },
      }),
    ]);
    const task = engine.create('create_archive', 1, {});
    const advancing = at(clock, PICKUP);
    await Promise.resolve();
    engine.dispose();
    release();
    await advancing;
    await at(clock, 60_000);
    expect([task.status, commits, clock.pending]).toEqual(['processing', 0, 0]);
  });
});

describe('engine.dispose during a commit', () => {
  it.each([
    ['a phase change', { goto: 'b' } as const],
    ['a completion', { complete: true } as const],
  ])('stops a task whose commit was running, after %s: no transition, timer or cleanup follows', async (_, result) => {
    let release: () => void = () => undefined;
    let cleanups = 0;
    const { clock, engine, transitions } = setup([
      workflow({
        phases: ['', 'b'],
        steps: {
          '': async () => ({ ...result, commit: () => new Promise<void>((r) => (release = r)) }),
          b: async () => ({ complete: true }),
        },
        cleanup: async () => void cleanups++,
      }),
    ]);
    const task = engine.create('create_archive', 1, {});
    await at(clock, PICKUP);
    const advancing = clock.advance(PHASE_MIN);
    await Promise.resolve();
    engine.dispose();
    const seen = transitions.length;
    release();
    await advancing;
    expect([task.status, clock.pending, cleanups, transitions.length]).toEqual(['processing', 0, 0, seen]);
    await at(clock, 60_000);
    expect(task.status).toBe('processing');
  });
});

describe('engine: many waiting tasks', () => {
  it('10 000 created tasks cost one timer each and run nothing before they are due', async () => {
    let steps = 0;
    const { clock, engine } = setup([workflow({ steps: { '': async () => (steps++, { complete: true }) } })]);
    for (let i = 0; i < 10_000; i++) engine.create('create_archive', 1, {});
    expect(clock.pending).toBe(10_000);
    await at(clock, PICKUP - 1);
    expect(steps).toBe(0);
    expect(clock.pending).toBe(10_000);
    await at(clock, PICKUP);
    // Only the 15 io workers start; the rest wait in the queue without timers.
    expect(steps).toBe(15);
    expect(clock.pending).toBe(15);
    expect(engine.store.page(1, 'general', 10).tasks.map((t) => t.status)).toEqual(Array(10).fill('queued'));
  });
});

describe('engine: progress windows', () => {
  it('shows a key only in its part of the iteration, growing across that part', async () => {
    const { clock, engine } = setup([
      workflow({
        progressKeys: { '': ['first', 'second'] },
        steps: {
          '': async (ctx: Ctx) => {
            ctx.progress('first', { current: 10, total: 0, window: [0, 0.25] });
            ctx.progress('second', { current: 100, total: 100, window: [0.25, 1] });
            return { complete: true, costMs: 4_000 };
          },
        },
      }),
    ]);
    const task = engine.create('create_archive', 1, {});
    await at(clock, PICKUP + 500);
    expect(engine.progress(task)).toEqual({ first: { total: 0, current: 5, identifier: '' } });
    await at(clock, PICKUP + 1_000);
    expect(engine.progress(task)).toEqual({ second: { total: 100, current: 0, identifier: '' } });
    await at(clock, PICKUP + 2_500);
    expect(engine.progress(task)).toEqual({ second: { total: 100, current: 50, identifier: '' } });
    await at(clock, PICKUP + 3_999);
    expect(engine.progress(task).first).toBeUndefined();
  });
});
