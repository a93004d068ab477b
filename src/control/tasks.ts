/**
 * @module control/tasks
 * Every task of a world, of every user, as the control plane shows them (GET /__sim/tasks, the
 * dashboard, `sim.tasks()`): the state the API spreads over lists and progress polls, in one
 * object per task.
 */
import type { ProgressValue } from '../engine/engine.js';
import type { Task, TaskStatus, TaskType } from '../engine/task.js';
import type { World } from '../world.js';

export interface SimTaskInfo {
  /** Task hashid, as the API shows it. */
  id: string;
  owner: { id: string; email: string };
  type: TaskType;
  status: TaskStatus;
  phase: string;
  /** Summary props, keys sorted. */
  props: Record<string, unknown>;
  /** The error that ended the task, or null. */
  error: string | null;
  /** Errors of the failed iterations that were retried, oldest first. */
  error_history: string[];
  retry_count: number;
  /** The live progress map (what GET /workflow/progress/{id} answers); `{}` once the task ended. */
  progress: Record<string, ProgressValue>;
  /** Simulated times, RFC 3339 UTC with milliseconds. */
  created_at: string;
  updated_at: string;
}

function sorted(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj).sort()) out[k] = obj[k];
  return out;
}

export function taskInfo(world: World, task: Task): SimTaskInfo {
  const { ctx } = world;
  return {
    id: ctx.ids.encode('task', task.id),
    owner: { id: ctx.ids.encode('user', task.ownerId), email: ctx.accounts.userById(task.ownerId)?.email ?? '' },
    type: task.type,
    status: task.status,
    phase: task.phase,
    props: sorted(task.props),
    error: task.error || null,
    error_history: [...task.errorHistory],
    retry_count: task.retryCount,
    progress: ctx.engine.progress(task),
    created_at: new Date(task.createdAt).toISOString(),
    updated_at: new Date(task.updatedAt).toISOString(),
  };
}

/** Every task of the world, newest first (only the newest `limit` when given). */
export function worldTasks(world: World, limit?: number): SimTaskInfo[] {
  return world.ctx.engine.store.newest(limit).map((t) => taskInfo(world, t));
}
