/**
 * @module workflows/types
 * A workflow is data plus one step per phase: it declares its phases and progress keys; the
 * engine owns statuses, transitions, retries, durations and progress over simulated time.
 */
import type { Clock } from '../engine/clock.js';
import type { TimingProfile } from '../engine/profile.js';
import type { Task, TaskType } from '../engine/task.js';

export interface ProgressReport {
  /** The value reached by the end of this iteration. */
  current: number;
  /** 0 when unknown (drawn as an indeterminate bar). */
  total?: number;
  identifier?: string;
  /**
   * The part of the iteration (fractions from 0 to 1) in which the key is shown and grows;
   * the whole iteration when absent. A key whose window ends before 1 is gone afterwards.
   */
  window?: readonly [number, number];
}

export interface StepContext<S> {
  readonly task: Task;
  readonly clock: Clock;
  readonly profile: TimingProfile;
  /** Aborted when the task is stopped; long work must watch it. */
  readonly signal: AbortSignal;
  /** What the simulator lends workflows: drive, accounts… */
  readonly services: S;
  /** Reports the value a progress key reaches by the end of this iteration (grows with simulated time). */
  progress(key: string, report: ProgressReport): void;
}

/**
 * What one iteration leads to. `costMs` is the simulated time it takes (the profile's minimum
 * when omitted); `commit` runs when that time has passed — that is when real results become
 * visible (a file renamed into place).
 */
export type StepResult =
  | { goto: string; costMs?: number; commit?: Commit }
  | { complete: true; costMs?: number; commit?: Commit }
  | { waitMs: number; costMs?: number }
  /** The task ends `canceled` (a download whose job was removed). */
  | { cancel: true; costMs?: number };

/** Makes an iteration's results visible; answering `cancel` ends the task canceled instead (its results discarded). */
export type Commit = () => Promise<void | 'cancel'>;

export type Step<S> = (ctx: StepContext<S>) => Promise<StepResult>;

export type QueueName = 'io' | 'download';

export interface WorkflowDefinition<S> {
  type: TaskType;
  /** io: archive, extract, import, relocate; download: remote downloads (spec §5.5). */
  queue: QueueName;
  /** Phases in order; the first is the initial phase (usually ""). */
  phases: readonly string[];
  /** The progress keys each phase may report. */
  progressKeys: Readonly<Record<string, readonly string[]>>;
  /** Progress keys that stay visible after their phase ends. */
  keepProgress?: readonly string[];
  /** Whether the task runs on a node (shown as `node` from its first iteration on). */
  usesNode: boolean;
  steps: Readonly<Record<string, Step<S>>>;
  /** Runs once the task is terminal, whatever the outcome: remove temporary files. */
  cleanup?(task: Task, services: S): Promise<void>;
}

/** Checks a definition when it is registered, naming the workflow and the fix. */
export function checkWorkflow<S>(def: WorkflowDefinition<S>): void {
  const where = `Workflow ${def.type}`;
  if (def.phases.length === 0) throw new Error(`${where} has no phases: declare at least the initial phase "".`);
  if (new Set(def.phases).size !== def.phases.length) throw new Error(`${where} declares a phase twice: phases must be unique.`);
  for (const phase of def.phases) {
    if (typeof def.steps[phase] !== 'function') throw new Error(`${where} has no step for phase "${phase}": add steps["${phase}"].`);
  }
  for (const phase of Object.keys(def.steps)) {
    if (!def.phases.includes(phase)) throw new Error(`${where} has a step for undeclared phase "${phase}": add it to phases.`);
  }
  for (const phase of Object.keys(def.progressKeys)) {
    if (!def.phases.includes(phase)) throw new Error(`${where} declares progress keys for undeclared phase "${phase}".`);
  }
}
