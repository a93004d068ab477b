/**
 * @module world
 * A world is one isolated simulated server: its accounts, drive, tasks, clock, journal and
 * events. The simulator has a default world and creates a named one (a namespace) for each
 * `X-Sim-Namespace` it sees, so parallel tests never see each other.
 */
import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { createEventHub, type EventHub, type SimEvent } from './control/events.js';
import type { FaultRegistry } from './control/faults.js';
import { createJournal, type Journal } from './control/journal.js';
import { createClock, type Clock } from './engine/clock.js';
import type { Task } from './engine/task.js';
import type { ResolvedOptions } from './options.js';
import type { ServiceContext } from './services/context.js';
import { createServiceContext } from './simulator-context.js';

export interface World {
  readonly name: string;
  /** The world's current state; replaced by `reset()`. */
  readonly ctx: ServiceContext;
  /** The world's clock: the same object across resets. */
  readonly clock: Clock;
  readonly journal: Journal;
  readonly events: EventHub;
  /** Back to the fixtures: accounts, drive, tasks, ids, clock and journal. */
  reset(): void;
  /** Stops the world's tasks and removes its files. */
  dispose(): void;
}

export interface WorldOptions {
  name: string;
  options: ResolvedOptions;
  /** The world's own data folder (removed on reset and dispose). */
  dataDir: string;
  logger: Logger;
  faults: FaultRegistry;
}

export function createWorld(o: WorldOptions): World {
  const { options } = o;
  const clock = createClock({
    mode: options.clock,
    speed: options.speed,
    ...(options.startTime !== undefined ? { start: options.startTime } : {}),
  });
  const journal = createJournal();
  const events = createEventHub();
  const faultHooks = o.faults.taskHooks(o.name);

  let ctx: ServiceContext;
  const emit = (type: SimEvent['type'], task: Task, from?: string): void => {
    const event: SimEvent = {
      type,
      at: new Date(clock.now()).toISOString(),
      namespace: o.name,
      task: ctx.ids.encode('task', task.id),
      task_type: task.type,
      owner: ctx.ids.encode('user', task.ownerId),
      status: task.status,
      phase: task.phase,
    };
    if (from !== undefined) event.from = from;
    events.emit(event);
  };

  const build = (): ServiceContext =>
    createServiceContext(options, o.dataDir, o.logger, {
      clock,
      hooks: {
        onCreate(task) {
          faultHooks.created(task);
          emit('task:created', task);
        },
        onTransition(task, from, fromPhase) {
          if (task.status !== from) emit('task:status', task, from);
          if (task.phase !== fromPhase) emit('task:phase', task, fromPhase);
        },
        iterationFault: (task) => faultHooks.iteration(task),
      },
    });

  const stop = (): void => {
    ctx.engine.dispose();
    clock.reset();
    o.faults.forgetNamespace(o.name);
    rmSync(o.dataDir, { recursive: true, force: true });
  };

  ctx = build();
  return {
    name: o.name,
    get ctx() {
      return ctx;
    },
    clock,
    journal,
    events,
    reset() {
      stop();
      journal.clear();
      ctx = build();
    },
    dispose() {
      stop();
      clock.dispose();
    },
  };
}
