/**
 * @module engine/task
 * The task record and the rules of the state machine (spec §5.4, §5.5), as data and pure
 * functions: `settle` turns an iteration's outcome into the next record fields, without I/O.
 */

export type TaskStatus = 'queued' | 'processing' | 'suspending' | 'error' | 'canceled' | 'completed';

export type TaskType =
  | 'create_archive'
  | 'extract_archive'
  | 'remote_download'
  | 'import'
  | 'relocate';

export const LIVE_STATUSES: ReadonlySet<TaskStatus> = new Set(['queued', 'processing', 'suspending']);

/** The transitions the real server makes; any other is refused (spec §5.4). */
export const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  queued: ['processing', 'error'],
  processing: ['processing', 'queued', 'suspending', 'completed', 'error', 'canceled'],
  suspending: ['processing', 'error'],
  completed: [],
  error: [],
  canceled: [],
};

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** One live progress value, growing linearly from `from` to `to` over [start, end] of simulated time. */
export interface ProgressTrack {
  total: number;
  from: number;
  to: number;
  start: number;
  end: number;
  identifier: string;
  /** Shown only until this simulated time (a key reported for part of an iteration). */
  hideAt?: number;
}

export interface Task {
  readonly id: number;
  readonly type: TaskType;
  readonly ownerId: number;
  /** Unix ms. */
  readonly createdAt: number;
  updatedAt: number;
  status: TaskStatus;
  phase: string;
  /** Summary props, echoed as sent (keys kept sorted when written). */
  props: Record<string, unknown>;
  /** The node the task runs on, once allocated. */
  nodeId?: number;
  /** The node asked for at creation (Pro `preferred_node_id`); allocated instead of the default. */
  preferredNodeId?: number;
  error?: string;
  errorHistory: string[];
  /** Simulated ms spent processing. */
  durationMs: number;
  /** Unix seconds of the last scheduled resume; 0 = never. */
  resumeTime: number;
  retryCount: number;
  /** Live progress by key; empty once the task is terminal. */
  progress: Map<string, ProgressTrack>;
  /** Private state of the workflow (temporary paths, counters). */
  state: Record<string, unknown>;
  /** Aborted when the task is stopped (reset, close). */
  readonly abort: AbortController;
}

/** A new task record: queued, in its first phase, with no history. */
export function newTask(init: {
  id: number;
  type: TaskType;
  ownerId: number;
  createdAt: number;
  phase: string;
  props?: Record<string, unknown>;
  state?: Record<string, unknown>;
}): Task {
  return {
    id: init.id,
    type: init.type,
    ownerId: init.ownerId,
    createdAt: init.createdAt,
    updatedAt: init.createdAt,
    status: 'queued',
    phase: init.phase,
    props: init.props ?? {},
    errorHistory: [],
    durationMs: 0,
    resumeTime: 0,
    retryCount: 0,
    progress: new Map(),
    state: init.state ?? {},
    abort: new AbortController(),
  };
}

/** Text the server appends to an error that must not be retried. */
export const NON_RETRYABLE = ' (non-retryable error)';

/** A failure of one iteration. Critical failures end the task at once; others are retried. */
export class TaskError extends Error {
  override readonly name = 'TaskError';
  readonly critical: boolean;
  private constructor(message: string, critical: boolean) {
    super(message);
    this.critical = critical;
  }
  static retryable(message: string): TaskError {
    return new TaskError(message, false);
  }
  /** The message gets the server's " (non-retryable error)" suffix. */
  static critical(message: string): TaskError {
    return new TaskError(message.endsWith(NON_RETRYABLE) ? message : message + NON_RETRYABLE, true);
  }
  /** A critical error whose text already places the marker itself (mid-text, as some server messages do). */
  static criticalVerbatim(message: string): TaskError {
    return new TaskError(message, true);
  }
}

export const MAX_RETRIES = 5;
const RETRY_BASE_MS = 100;
const RETRY_FACTOR = 2;
const RETRY_CAP_MS = 600_000;

/** Back-off before retry number `retryCount` (1-based): 200 ms, 400 ms, 0.8 s, 1.6 s, 3.2 s (spec §5.5). */
export function retryDelayMs(retryCount: number): number {
  return Math.min(RETRY_BASE_MS * RETRY_FACTOR ** retryCount, RETRY_CAP_MS);
}

/** What happened in an iteration, as the engine saw it. */
export type Outcome =
  | { kind: 'goto'; phase: string }
  | { kind: 'wait'; ms: number }
  | { kind: 'complete' }
  | { kind: 'cancel' }
  | { kind: 'fail'; message: string; critical: boolean };

/** What the engine must do after settling an outcome. */
export type Next = { kind: 'resume'; at: number } | { kind: 'terminal' };

/**
 * Applies an iteration's outcome to a processing task at simulated time `now` (pure apart from
 * mutating `task`): status, phase, retries, error history and resume time. Returns when the
 * task wants to run again, or that it is terminal.
 */
export function settle(task: Task, outcome: Outcome, now: number): Next {
  if (task.status !== 'processing') throw new Error(`Task ${task.id} settled while ${task.status}.`);
  task.updatedAt = now;
  switch (outcome.kind) {
    case 'goto':
      task.phase = outcome.phase;
      return suspendUntil(task, now);
    case 'wait':
      return suspendUntil(task, now + outcome.ms);
    case 'complete':
      task.status = 'completed';
      return { kind: 'terminal' };
    case 'cancel':
      task.status = 'canceled';
      return { kind: 'terminal' };
    case 'fail':
      if (outcome.critical || task.retryCount >= MAX_RETRIES) {
        task.status = 'error';
        task.error = outcome.message;
        return { kind: 'terminal' };
      }
      task.errorHistory.push(outcome.message);
      task.retryCount += 1;
      return suspendUntil(task, now + retryDelayMs(task.retryCount));
  }
}

function suspendUntil(task: Task, at: number): Next {
  task.status = 'suspending';
  task.resumeTime = Math.floor(at / 1000);
  return { kind: 'resume', at };
}

/** The value of a progress track at simulated time `now`. */
export function progressAt(track: ProgressTrack, now: number): number {
  if (now >= track.end || track.end <= track.start) return track.to;
  if (now <= track.start) return track.from;
  return Math.floor(track.from + ((track.to - track.from) * (now - track.start)) / (track.end - track.start));
}
