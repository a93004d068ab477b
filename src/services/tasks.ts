/**
 * @module services/tasks
 * Tasks as the wire shows them: TaskResponse (spec §5.1) with the omit-when-empty rules, the
 * node object (§5.2), and the list (§6) and progress (§7) endpoints.
 */
import type { RequestQuery, Schemas } from '../contract/index.js';
import type { User } from '../accounts/accounts.js';
import type { Task } from '../engine/task.js';
import { ApiError, Code } from '../errors.js';
import { encodeBoolset } from '../util/boolset.js';
import { formatTime } from '../util/time.js';
import type { ServiceContext } from './context.js';

/** The master node's number; its capabilities are create/extract archive and remote download (+ relocate on Pro). */
export const MASTER_NODE_ID = 1;

/** A node of the simulated cluster. The simulator runs a single node, the master (spec §8.3). */
export interface SimNode {
  id: number;
  name: string;
  type: 'master' | 'slave';
}

export const MASTER_NODE: SimNode = { id: MASTER_NODE_ID, name: 'Master', type: 'master' };

/** The master's capabilities per edition: create/extract archive and remote download, plus relocate on Pro. */
const NODE_CAPABILITIES = { community: encodeBoolset([1, 2, 3]), pro: encodeBoolset([1, 2, 3, 4]) } as const;

export function nodeDto(ctx: ServiceContext, nodeId = MASTER_NODE_ID): Schemas['Node'] {
  const node = ctx.site.nodes.find((n) => n.id === nodeId) ?? MASTER_NODE;
  return {
    id: ctx.ids.encode('node', node.id),
    name: node.name,
    type: node.type,
    capabilities: NODE_CAPABILITIES[ctx.site.edition],
  };
}

/**
 * The node a Pro `preferred_node_id` names, when it is a node of the cluster; otherwise (and
 * always in the community edition, which ignores the field) undefined: the task gets the
 * default node, as the node pool falls back when its preferred node is not there.
 */
export function preferredNode(ctx: ServiceContext, text: string | undefined): number | undefined {
  if (ctx.site.edition !== 'pro' || !text) return undefined;
  const id = ctx.ids.decode('node', text);
  return id !== undefined && ctx.site.nodes.some((n) => n.id === id) ? id : undefined;
}

/**
 * Map-backed objects go out with sorted keys (spec §1.3). Keys already in order (the usual case)
 * give the object itself, not a copy: a DTO is serialized as soon as it is made, and a list
 * answer makes one per task, so the copy and the sort were a fifth of what it allocated.
 */
function sortedKeys<T extends Record<string, unknown>>(obj: T): T {
  let previous: string | undefined;
  for (const key in obj) {
    if (previous !== undefined && key < previous) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(obj).sort()) out[k] = obj[k];
      return out as T;
    }
    previous = key;
  }
  return obj;
}

/**
 * A task as the server writes it. `fresh` = the in-memory object of a create response
 * (fractional timestamps, no node); otherwise the stored row of a list (whole seconds).
 */
export function taskDto(ctx: ServiceContext, task: Task, fresh = false): Schemas['TaskResponse'] {
  const time = (ms: number) => formatTime(ms, ctx.site.utcOffsetMinutes, fresh);
  const dto: Schemas['TaskResponse'] = {
    created_at: time(task.createdAt),
    updated_at: time(task.updatedAt),
    id: ctx.ids.encode('task', task.id),
    status: task.status,
    type: task.type,
  } as Schemas['TaskResponse'];
  if (!fresh && task.nodeId !== undefined) dto.node = nodeDto(ctx, task.nodeId);
  dto.summary = task.phase
    ? { phase: task.phase, props: sortedKeys(task.props) as Schemas['TaskSummary']['props'] }
    : { props: sortedKeys(task.props) as Schemas['TaskSummary']['props'] };
  if (task.error) dto.error = task.error;
  if (task.errorHistory.length) dto.error_history = [...task.errorHistory];
  if (task.durationMs > 0) dto.duration = Math.round(task.durationMs);
  if (task.resumeTime > 0) dto.resume_time = task.resumeTime;
  if (task.retryCount > 0) dto.retry_count = task.retryCount;
  return dto;
}

/** `page_size` reported for the `downloading` category, which ignores the requested size. */
export const DOWNLOADING_PAGE_SIZE = 32765;

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The task number a `next_page_token` points below; throws 50001 when it is not a valid token. */
function cursorOf(ctx: ServiceContext, token: string): number {
  const invalid = () => new ApiError(Code.DBError, 'Failed to query tasks');
  if (!STD_BASE64.test(token)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    throw invalid();
  }
  const id = (parsed as { id?: unknown } | null)?.id;
  const n = typeof parsed === 'object' && parsed && !Array.isArray(parsed) && typeof id === 'string' ? ctx.ids.decode('task', id) : undefined;
  if (n === undefined) throw invalid();
  return n;
}

/** The cursor of the page after one ending with `task`. */
export function cursorAfter(ctx: ServiceContext, task: Task): string {
  return Buffer.from(JSON.stringify({ id: ctx.ids.encode('task', task.id) })).toString('base64');
}

/** GET /workflow */
export function listTasks(ctx: ServiceContext, caller: User, query: RequestQuery<'listTasks'>): Schemas['TaskListResponse'] {
  const before = query.next_page_token ? cursorOf(ctx, query.next_page_token) : undefined;
  const downloading = query.category === 'downloading';
  const size = downloading ? undefined : query.page_size;
  const page = ctx.engine.store.page(caller.id, query.category, size, before);
  const pagination: Schemas['Pagination'] = { page: 0, page_size: downloading ? DOWNLOADING_PAGE_SIZE : query.page_size, is_cursor: true };
  if (page.more && page.tasks.length > 0) {
    pagination.next_token = cursorAfter(ctx, page.tasks[page.tasks.length - 1]!);
  }
  // Key order of pagination: page, page_size, [total_items], [next_token], is_cursor.
  const { is_cursor, ...rest } = pagination;
  return { tasks: page.tasks.map((t) => taskDto(ctx, t)), pagination: { ...rest, is_cursor } };
}

/** GET /workflow/progress/:id — never an error: `{}` for unknown, finished or other users' tasks. */
export function taskProgress(ctx: ServiceContext, caller: User, taskId: number): Schemas['Progress'] {
  const task = ctx.engine.live(taskId);
  if (!task) return {};
  if (task.ownerId !== caller.id && !ctx.accounts.hasPermission(caller, 'admin')) return {};
  return ctx.engine.progress(task);
}
