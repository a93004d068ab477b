/**
 * @module world
 * A world is one isolated simulated server: its accounts, drive, tasks, clock, journal and
 * events. The simulator has a default world and creates a named one (a namespace) for each
 * `X-Sim-Namespace` it sees, so parallel tests never see each other.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { createEventHub, type EventHub, type SimEvent } from './control/events.js';
import type { FaultRegistry } from './control/faults.js';
import { createJournal, type Journal } from './control/journal.js';
import { createClock, type Clock } from './engine/clock.js';
import type { Task } from './engine/task.js';
import type { ResolvedOptions } from './options.js';
import type { ServiceContext } from './services/context.js';
import { createServiceContext, type WorldSnapshot } from './simulator-context.js';
import { lazy } from './util/lazy.js';

const loadTar = lazy(() => import('tar'));

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
  /** Writes the whole world (drive files, tasks, clock, sessions) to a tar file. */
  snapshot(file: string): Promise<SnapshotInfo>;
  /** Replaces the world with a snapshot; its live tasks are queued again. */
  restore(file: string): Promise<SnapshotInfo>;
  /** Stops the world's tasks and removes its files. */
  dispose(): void;
}

export interface SnapshotInfo {
  namespace: string;
  file: string;
  tasks: number;
  /** Simulated time of the snapshot, RFC 3339. */
  at: string;
}

const SNAPSHOT_STATE = 'snapshot.json';
const SNAPSHOT_FORMAT = 'cloudreve-sim-snapshot/1';

/** A snapshot file that cannot be used; the message says why. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
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
    if (!events.listening) return; // every task change would otherwise build, encode and drop an event
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

  const build = (restore?: WorldSnapshot): ServiceContext =>
    createServiceContext(options, o.dataDir, o.logger, {
      clock,
      ...(restore ? { restore } : {}),
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
    async snapshot(file) {
      const target = path.resolve(file);
      const state: WorldSnapshot = {
        format: SNAPSHOT_FORMAT,
        namespace: o.name,
        clockMs: clock.now(),
        drive: ctx.drive.exportIndex(),
        tasks: ctx.engine.exportTasks(),
        revokedSessions: [...ctx.revokedSessions],
        downloads: ctx.downloader.exportJobs(),
        node: structuredClone(ctx.node),
        settings: Object.fromEntries(ctx.settings),
      };
      const stateFile = path.join(o.dataDir, SNAPSHOT_STATE);
      writeFileSync(stateFile, JSON.stringify(state));
      try {
        // The drive folders, and the trash's bytes when anything was ever deleted to it.
        const parts = [SNAPSHOT_STATE, 'drives', ...(existsSync(path.join(o.dataDir, 'trash')) ? ['trash'] : [])];
        await (await loadTar()).create({ file: target, cwd: o.dataDir, portable: true }, parts);
      } finally {
        rmSync(stateFile, { force: true });
      }
      return { namespace: o.name, file: target, tasks: state.tasks.tasks.length, at: new Date(state.clockMs).toISOString() };
    },
    async restore(file) {
      const source = path.resolve(file);
      // Read the state first, so a bad file leaves the world as it was.
      let state: WorldSnapshot | undefined;
      const tar = await loadTar();
      await tar.list({
        file: source,
        strict: true,
        filter: (p) => p === SNAPSHOT_STATE,
        onReadEntry: (entry) => {
          const chunks: Buffer[] = [];
          entry.on('data', (c: Buffer) => chunks.push(c));
          entry.on('end', () => {
            try {
              state = JSON.parse(Buffer.concat(chunks).toString('utf8')) as WorldSnapshot;
            } catch {
              state = undefined;
            }
          });
        },
      });
      if (!state || state.format !== SNAPSHOT_FORMAT) throw new SnapshotError(`${source} is not a simulator snapshot.`);
      stop();
      mkdirSync(o.dataDir, { recursive: true });
      // tar refuses absolute and '..' paths by default; only the drives, the trash and the state come out.
      const kept = (p: string) => p === SNAPSHOT_STATE || ['drives', 'trash'].some((top) => p === top || p.startsWith(`${top}/`));
      await tar.extract({ file: source, cwd: o.dataDir, strict: true, filter: kept });
      rmSync(path.join(o.dataDir, SNAPSHOT_STATE), { force: true });
      clock.reset(state.clockMs);
      journal.clear();
      try {
        ctx = build(state);
      } catch (err) {
        // A snapshot that does not hold together: fall back to the fixtures.
        rmSync(o.dataDir, { recursive: true, force: true });
        clock.reset();
        ctx = build();
        throw new SnapshotError(`${source} could not be restored: ${(err as Error).message}`);
      }
      return { namespace: o.name, file: source, tasks: state.tasks.tasks.length, at: new Date(state.clockMs).toISOString() };
    },
    dispose() {
      stop();
      clock.dispose();
    },
  };
}
