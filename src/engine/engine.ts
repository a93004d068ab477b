/**
 * @module engine/engine
 * Runs tasks through the state machine on the simulator's clock. One scheduler: due tasks
 * wait in the clock's single timer queue; a task that falls due joins its queue's FIFO and
 * runs when one of the queue's workers is free. A worker stays busy for the simulated cost of
 * the iteration; real work happens at the start, its visible result at the end.
 */
import type { Logger } from 'pino';
import type { Clock, TimerId } from './clock.js';
import type { TimingProfile } from './profile.js';
import { TaskStore } from './store.js';
import {
  canTransition,
  LIVE_STATUSES,
  newTask,
  progressAt,
  settle,
  TaskError,
  type Outcome,
  type Task,
  type TaskStatus,
  type TaskType,
} from './task.js';
import { checkWorkflow, type ProgressReport, type QueueName, type StepResult, type WorkflowDefinition } from '../workflows/types.js';

export interface EngineOptions<S> {
  clock: Clock;
  profile: TimingProfile;
  /** Workers per queue (the real server: 15 each). */
  concurrency: Record<QueueName, number>;
  workflows: readonly WorkflowDefinition<S>[];
  services: S;
  logger: Logger;
  /** The node every task is allocated to (the master node). */
  nodeId: number;
  /** Called after every persisted transition, with the status and phase before it. */
  onTransition?: (task: Task, from: TaskStatus, fromPhase: string) => void;
  /** Called once a task has been created (queued). */
  onCreate?: (task: Task) => void;
  /** Asked before each iteration: a fault to inject instead of, or on top of, the step. */
  iterationFault?: (task: Task) => IterationFault | undefined;
}

/** A fault injected into one iteration (the control plane's task faults). */
export interface IterationFault {
  /** Fail the iteration with this error instead of running the step. */
  fail?: TaskError;
  /** The iteration never ends: the task stays processing and keeps its worker. */
  stall?: boolean;
  /** Multiply the iteration's simulated cost. */
  factor?: number;
  /** Add to the iteration's simulated cost, in ms. */
  extraMs?: number;
}

export interface ProgressValue {
  total: number;
  current: number;
  identifier: string;
}

export interface Engine {
  readonly store: TaskStore;
  /** Creates a queued task; it is picked up after the profile's pick-up delay. */
  create(type: TaskType, ownerId: number, props: Record<string, unknown>, state?: Record<string, unknown>): Task;
  /** A live (queued, processing, suspending) task, or undefined. */
  live(id: number): Task | undefined;
  /** The live progress map of a task at the current simulated time, keys sorted. */
  progress(task: Task): Record<string, ProgressValue>;
  /** True when no task is live. */
  idle(): boolean;
  /** How many tasks are live. */
  liveCount(): number;
  /** Aborts every live task and drops its timers. */
  dispose(): void;
  /** Every task as plain data, for a snapshot. */
  exportTasks(): TasksSnapshot;
  /**
   * Loads a snapshot into a fresh engine. Like a restarted server, tasks that were queued,
   * processing or suspending are queued again, with their progress starting over.
   */
  importTasks(snapshot: TasksSnapshot): void;
}

/** A task without its live parts (progress, abort signal). */
export type TaskRecord = Omit<Task, 'progress' | 'abort'>;

export interface TasksSnapshot {
  nextId: number;
  tasks: TaskRecord[];
}

interface Queue {
  concurrency: number;
  busy: number;
  ready: Task[];
}

interface Iteration {
  result: StepResult | undefined;
  failure: TaskError | undefined;
  reports: Map<string, ProgressReport>;
}

/** Creates an engine; checks every workflow definition first. */
export function createEngine<S>(o: EngineOptions<S>): Engine {
  const defs = new Map<TaskType, WorkflowDefinition<S>>();
  for (const def of o.workflows) {
    checkWorkflow(def);
    if (defs.has(def.type)) throw new Error(`Workflow ${def.type} is registered twice.`);
    defs.set(def.type, def);
  }
  for (const [name, n] of Object.entries(o.concurrency)) {
    if (!Number.isInteger(n) || n < 1) throw new TypeError(`Invalid concurrency for queue ${name}: ${n}. Use a whole number ≥ 1.`);
  }
  const { clock, profile, logger } = o;
  const store = new TaskStore();
  const liveTasks = new Map<number, Task>();
  const timers = new Map<number, TimerId>();
  const queues: Record<QueueName, Queue> = {
    io: { concurrency: o.concurrency.io, busy: 0, ready: [] },
    download: { concurrency: o.concurrency.download, busy: 0, ready: [] },
  };
  let nextId = 1;

  const defOf = (task: Task): WorkflowDefinition<S> => defs.get(task.type)!;
  const queueOf = (task: Task): Queue => queues[defOf(task).queue];

  const transition = (task: Task, to: TaskStatus, now: number): void => {
    const from = task.status;
    if (from !== to && !canTransition(from, to)) throw new Error(`Task ${task.id}: transition ${from} → ${to} is not allowed.`);
    task.status = to;
    task.updatedAt = now;
    o.onTransition?.(task, from, task.phase);
  };

  const at = (task: Task, when: number, fn: () => Promise<void>): void => {
    timers.set(task.id, clock.schedule(when, fn));
  };

  // A task falls due: after the pick-up delay it joins its queue.
  const due = (task: Task, when: number): void => {
    at(task, when + profile.pickupDelayMs, () => {
      timers.delete(task.id);
      queueOf(task).ready.push(task);
      return pump(queueOf(task));
    });
  };

  const pump = async (queue: Queue): Promise<void> => {
    const started: Promise<void>[] = [];
    while (queue.busy < queue.concurrency && queue.ready.length > 0) {
      const task = queue.ready.shift()!;
      if (!liveTasks.has(task.id)) continue;
      queue.busy += 1;
      started.push(begin(task));
    }
    await Promise.all(started);
  };

  // Start of an iteration: the real work runs now; its end is scheduled after its simulated cost.
  const begin = async (task: Task): Promise<void> => {
    const def = defOf(task);
    const startedAt = clock.now();
    if (def.usesNode && task.nodeId === undefined) task.nodeId = task.preferredNodeId ?? o.nodeId;
    transition(task, 'processing', startedAt);
    const it: Iteration = { result: undefined, failure: undefined, reports: new Map() };
    const allowed = def.progressKeys[task.phase] ?? [];
    const fault = o.iterationFault?.(task);
    try {
      if (fault?.fail) throw fault.fail;
      it.result = await def.steps[task.phase]!({
        task,
        clock,
        profile,
        signal: task.abort.signal,
        services: o.services,
        progress(key, report) {
          if (!allowed.includes(key)) {
            throw new Error(`Workflow ${task.type} reported undeclared progress key "${key}" in phase "${task.phase}".`);
          }
          it.reports.set(key, report);
        },
      });
    } catch (err) {
      it.failure = asTaskError(err, task);
    }
    if (!liveTasks.has(task.id)) return; // disposed while working
    if (fault?.stall) return; // a stalled iteration never ends; its worker stays busy
    const baseCost = it.failure ? profile.failureMs : (it.result?.costMs ?? profile.phaseMinMs);
    const cost = baseCost * (fault?.factor ?? 1) + (fault?.extraMs ?? 0);
    const endsAt = Math.max(startedAt + cost, clock.now());
    for (const [key, r] of it.reports) {
      const prev = task.progress.get(key);
      const [w0, w1] = r.window ?? [0, 1];
      const at = (f: number) => startedAt + Math.round((endsAt - startedAt) * f);
      task.progress.set(key, {
        total: r.total ?? 0,
        from: prev ? progressAt(prev, startedAt) : 0,
        to: r.current,
        start: at(w0),
        end: at(w1),
        identifier: r.identifier ?? '',
        ...(w1 < 1 ? { hideAt: at(w1) } : {}),
      });
    }
    at(task, endsAt, () => finish(task, it, endsAt - startedAt));
  };

  // End of an iteration: commit its visible effects, then settle the state machine.
  const finish = async (task: Task, it: Iteration, elapsed: number): Promise<void> => {
    timers.delete(task.id);
    const queue = queueOf(task);
    const def = defOf(task);
    let outcome: Outcome;
    if (it.failure) {
      outcome = failure(it.failure);
    } else {
      const r = it.result!;
      try {
        const committed = 'commit' in r && r.commit ? await r.commit() : undefined;
        outcome =
          committed === 'cancel' || 'cancel' in r
            ? { kind: 'cancel' }
            : 'goto' in r
              ? { kind: 'goto', phase: r.goto }
              : 'complete' in r
                ? { kind: 'complete' }
                : { kind: 'wait', ms: r.waitMs };
      } catch (err) {
        outcome = failure(asTaskError(err, task));
      }
      if (!liveTasks.has(task.id)) return; // disposed while committing: nothing more may run
    }
    if (outcome.kind === 'goto' && !def.phases.includes(outcome.phase)) {
      outcome = failure(asTaskError(new Error(`workflow ${task.type} went to undeclared phase "${outcome.phase}"`), task));
    }
    const now = clock.now();
    const from = task.status;
    const oldPhase = task.phase;
    task.durationMs += elapsed;
    const next = settle(task, outcome, now);
    if (task.phase !== oldPhase) {
      for (const key of def.progressKeys[oldPhase] ?? []) if (!def.keepProgress?.includes(key)) task.progress.delete(key);
    }
    o.onTransition?.(task, from, oldPhase);
    queue.busy -= 1;
    if (next.kind === 'resume') {
      due(task, next.at);
    } else {
      await retire(task);
    }
    await pump(queue);
  };

  const failure = (err: TaskError): Outcome => ({ kind: 'fail', message: err.message, critical: err.critical });

  const asTaskError = (err: unknown, task: Task): TaskError => {
    if (err instanceof TaskError) return err;
    if (task.abort.signal.aborted) return TaskError.critical('context canceled');
    // A crash inside a step is the simulator's bug: the task ends like a panicking server task.
    logger.error({ err, taskId: task.id, type: task.type, phase: task.phase }, 'workflow step crashed');
    return TaskError.critical(`panic error: ${err instanceof Error ? err.message : String(err)}`);
  };

  // A terminal task leaves the live registry; its temporary files go.
  const retire = async (task: Task): Promise<void> => {
    liveTasks.delete(task.id);
    task.progress.clear();
    store.finished(task);
    try {
      await defOf(task).cleanup?.(task, o.services);
    } catch (err) {
      logger.warn({ err, taskId: task.id }, 'task cleanup failed');
    }
  };

  return {
    store,
    create(type, ownerId, props, state = {}) {
      const def = defs.get(type);
      if (!def) throw new Error(`No workflow for task type ${type}.`);
      const task = newTask({ id: nextId++, type, ownerId, createdAt: clock.now(), phase: def.phases[0]!, props, state });
      store.add(task);
      liveTasks.set(task.id, task);
      o.onCreate?.(task);
      due(task, task.createdAt);
      return task;
    },
    live: (id) => liveTasks.get(id),
    progress(task) {
      if (!LIVE_STATUSES.has(task.status)) return {};
      const now = clock.now();
      const out: Record<string, ProgressValue> = {};
      for (const key of [...task.progress.keys()].sort()) {
        const t = task.progress.get(key)!;
        // A key reported for part of an iteration shows only in that part.
        if (now < t.start || (t.hideAt !== undefined && now >= t.hideAt)) continue;
        out[key] = { total: t.total, current: progressAt(t, now), identifier: t.identifier };
      }
      return out;
    },
    exportTasks() {
      const tasks: TaskRecord[] = [];
      for (let id = 1; id < nextId; id++) {
        const t = store.get(id);
        if (!t) continue;
        const { progress: _p, abort: _a, ...record } = t;
        tasks.push(structuredClone(record));
      }
      return { nextId, tasks };
    },
    importTasks(snapshot) {
      if (store.size > 0) throw new Error('importTasks needs a fresh engine.');
      for (const record of snapshot.tasks) {
        if (!defs.has(record.type)) throw new Error(`Snapshot holds a task of unknown type ${record.type}.`);
        const task: Task = { ...structuredClone(record), progress: new Map(), abort: new AbortController() };
        const live = LIVE_STATUSES.has(task.status);
        if (live) task.status = 'queued';
        store.add(task);
        if (live) {
          liveTasks.set(task.id, task);
          due(task, clock.now());
        }
      }
      nextId = snapshot.nextId;
    },
    idle: () => liveTasks.size === 0,
    liveCount: () => liveTasks.size,
    dispose() {
      for (const task of liveTasks.values()) task.abort.abort(new Error('simulator stopped'));
      for (const id of timers.values()) clock.cancel(id);
      timers.clear();
      liveTasks.clear();
      for (const q of Object.values(queues)) {
        q.ready = [];
        q.busy = 0;
      }
    },
  };
}
