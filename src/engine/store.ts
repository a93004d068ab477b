/**
 * @module engine/store
 * Every task of a simulator, with per-owner indexes for the three list categories, so a page
 * costs in proportion to its size, not to the number of tasks stored (spec §6).
 */
import { LIVE_STATUSES, type Task, type TaskType } from './task.js';

export type TaskCategory = 'general' | 'downloading' | 'downloaded';

const GENERAL_TYPES: ReadonlySet<TaskType> = new Set(['create_archive', 'extract_archive', 'relocate', 'import']);

interface OwnerIndex {
  /** Ascending ids; ids only grow, so creation appends. */
  general: number[];
  /** Live downloads in ascending id order (a Map keeps insertion order). */
  downloading: Map<number, true>;
  /** Finished downloads, ascending; they finish in any order, so inserts are sorted. */
  downloaded: number[];
}

export interface Page {
  tasks: Task[];
  /** True when older rows exist beyond this page. */
  more: boolean;
}

/** Index of the first element ≥ `id` in an ascending array. */
function lowerBound(ids: readonly number[], id: number): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class TaskStore {
  private readonly tasks = new Map<number, Task>();
  private readonly owners = new Map<number, OwnerIndex>();

  get size(): number {
    return this.tasks.size;
  }

  get(id: number): Task | undefined {
    return this.tasks.get(id);
  }

  /** Every task of every owner, newest first; `limit` keeps only the newest ones. */
  newest(limit?: number): Task[] {
    const all = [...this.tasks.values()].sort((a, b) => b.id - a.id);
    return limit === undefined ? all : all.slice(0, limit);
  }

  add(task: Task): void {
    this.tasks.set(task.id, task);
    const index = this.owner(task.ownerId);
    if (GENERAL_TYPES.has(task.type)) index.general.push(task.id);
    else if (LIVE_STATUSES.has(task.status)) index.downloading.set(task.id, true);
    else index.downloaded.splice(lowerBound(index.downloaded, task.id), 0, task.id);
  }

  /** Moves a download that has just finished from `downloading` to `downloaded`. */
  finished(task: Task): void {
    if (GENERAL_TYPES.has(task.type)) return;
    const index = this.owner(task.ownerId);
    if (index.downloading.delete(task.id)) index.downloaded.splice(lowerBound(index.downloaded, task.id), 0, task.id);
  }

  /**
   * One page of an owner's tasks in a category, newest first, holding only ids below
   * `before` when given. `size` undefined returns every matching row.
   */
  page(ownerId: number, category: TaskCategory, size: number | undefined, before?: number): Page {
    const index = this.owners.get(ownerId);
    if (!index) return { tasks: [], more: false };
    const ids = category === 'downloading' ? [...index.downloading.keys()] : index[category];
    const end = before === undefined ? ids.length : lowerBound(ids, before);
    const start = size === undefined ? 0 : Math.max(0, end - size);
    const tasks: Task[] = [];
    for (let i = end - 1; i >= start; i--) tasks.push(this.tasks.get(ids[i]!)!);
    return { tasks, more: start > 0 };
  }

  private owner(id: number): OwnerIndex {
    let index = this.owners.get(id);
    if (!index) {
      index = { general: [], downloading: new Map(), downloaded: [] };
      this.owners.set(id, index);
    }
    return index;
  }
}
