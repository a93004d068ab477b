import { describe, it, expect, vi } from 'vitest';
import { TaskStore, type TaskCategory } from './store.js';
import { newTask, type Task, type TaskStatus, type TaskType } from './task.js';

const T0 = Date.UTC(2025, 4, 20, 4, 0, 0);

function makeTask(id: number, type: TaskType = 'create_archive', ownerId = 1, status: TaskStatus = 'queued'): Task {
  return { ...newTask({ id, type, ownerId, createdAt: T0 + id, phase: '' }), status };
}

const ids = (page: { tasks: Task[] }): number[] => page.tasks.map((t) => t.id);

function storeWith(tasks: Task[]): TaskStore {
  const store = new TaskStore();
  for (const t of tasks) store.add(t);
  return store;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('TaskStore: add, get, size', () => {
  it('finds a task by id and counts every task', () => {
    const a = makeTask(1);
    const b = makeTask(2, 'remote_download', 2);
    const store = storeWith([a, b]);
    expect(store.size).toBe(2);
    expect(store.get(1)).toBe(a);
    expect(store.get(2)).toBe(b);
    expect(store.get(3)).toBe(undefined);
  });
});

describe('TaskStore.page: order and cursor', () => {
  it('returns the newest first, by id', () => {
    const store = storeWith(range(1, 5).map((id) => makeTask(id)));
    expect(store.page(1, 'general', 10)).toEqual({ tasks: [5, 4, 3, 2, 1].map((id) => store.get(id)), more: false });
  });

  it('holds only ids strictly lower than the `before` cursor', () => {
    const store = storeWith(range(1, 8).map((id) => makeTask(id)));
    expect(ids(store.page(1, 'general', 10, 5))).toEqual([4, 3, 2, 1]);
    expect(ids(store.page(1, 'general', 2, 5))).toEqual([4, 3]);
    expect(ids(store.page(1, 'general', 10, 1))).toEqual([]);
    expect(ids(store.page(1, 'general', 10, 100))).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('takes a cursor that is not the id of any of the owner\'s tasks', () => {
    // Owner 1 has the even ids only.
    const store = storeWith(range(1, 10).map((id) => makeTask(id, 'create_archive', id % 2 === 0 ? 1 : 2)));
    expect(ids(store.page(1, 'general', 10, 7))).toEqual([6, 4, 2]);
  });

  it('says `more` exactly when older rows exist beyond the page', () => {
    const ten = storeWith(range(1, 10).map((id) => makeTask(id)));
    expect(ten.page(1, 'general', 10).more).toBe(false);
    expect(ten.page(1, 'general', 9).more).toBe(true);
    expect(ten.page(1, 'general', 5, 6).more).toBe(false);
    expect(ten.page(1, 'general', 5, 7).more).toBe(true);
    expect(ten.page(1, 'general', 10, 1)).toEqual({ tasks: [], more: false });
  });

  it('walks 25 tasks in pages of 10 as 10, 10, 5, each cursor being the last id of the page before', () => {
    const store = storeWith(range(1, 25).map((id) => makeTask(id)));
    const pages: Array<{ ids: number[]; more: boolean }> = [];
    let before: number | undefined;
    for (;;) {
      const page = store.page(1, 'general', 10, before);
      pages.push({ ids: ids(page), more: page.more });
      if (!page.more) break;
      before = page.tasks[page.tasks.length - 1]!.id;
    }
    expect(pages).toEqual([
      { ids: range(16, 25).reverse(), more: true },
      { ids: range(6, 15).reverse(), more: true },
      { ids: range(1, 5).reverse(), more: false },
    ]);
  });

  it('gives an empty page to an owner without tasks', () => {
    const store = storeWith([makeTask(1)]);
    for (const category of ['general', 'downloading', 'downloaded'] as const) {
      expect(store.page(99, category, 10)).toEqual({ tasks: [], more: false });
    }
  });
});

describe('TaskStore.page: downloads', () => {
  it('returns every live download when the size is undefined', () => {
    const store = storeWith(range(1, 40).map((id) => makeTask(id, 'remote_download')));
    expect(store.page(1, 'downloading', undefined)).toEqual({
      tasks: range(1, 40).reverse().map((id) => store.get(id)),
      more: false,
    });
  });

  it('files a download added already finished under downloaded', () => {
    const store = storeWith([makeTask(1, 'remote_download', 1, 'error'), makeTask(2, 'remote_download', 1, 'processing')]);
    expect(ids(store.page(1, 'downloading', undefined))).toEqual([2]);
    expect(ids(store.page(1, 'downloaded', 10))).toEqual([1]);
  });

  it('finished() moves a download to downloaded, in id order even when downloads finish out of order', () => {
    const tasks = range(1, 6).map((id) => makeTask(id, 'remote_download'));
    const store = storeWith(tasks);
    for (const id of [4, 2, 6, 1]) {
      const t = store.get(id)!;
      t.status = id === 2 ? 'canceled' : 'completed';
      store.finished(t);
    }
    expect(ids(store.page(1, 'downloading', undefined))).toEqual([5, 3]);
    expect(ids(store.page(1, 'downloaded', 10))).toEqual([6, 4, 2, 1]);
    expect(ids(store.page(1, 'downloaded', 2, 4))).toEqual([2, 1]);
  });

  it('finished() twice on the same download files it once', () => {
    const store = storeWith([makeTask(1, 'remote_download'), makeTask(2, 'remote_download')]);
    const t = store.get(1)!;
    t.status = 'completed';
    store.finished(t);
    store.finished(t);
    expect(ids(store.page(1, 'downloaded', 10))).toEqual([1]);
  });

  it('finished() leaves a general task in general', () => {
    const store = storeWith([makeTask(1, 'extract_archive')]);
    const t = store.get(1)!;
    t.status = 'completed';
    store.finished(t);
    expect(ids(store.page(1, 'general', 10))).toEqual([1]);
    expect(ids(store.page(1, 'downloaded', 10))).toEqual([]);
  });
});

describe('TaskStore.page: categories and owners', () => {
  const TYPES: readonly TaskType[] = ['create_archive', 'extract_archive', 'remote_download', 'import', 'relocate'];

  it('general holds create_archive, extract_archive, relocate and import, never remote_download', () => {
    const store = storeWith(TYPES.map((type, i) => makeTask(i + 1, type)));
    const general = store.page(1, 'general', 100).tasks.map((t) => t.type);
    expect(general).toEqual(['relocate', 'import', 'extract_archive', 'create_archive']);
  });

  it('never mixes types across categories, whatever the status', () => {
    const statuses: TaskStatus[] = ['queued', 'processing', 'suspending', 'completed', 'error', 'canceled'];
    const tasks: Task[] = [];
    let id = 1;
    for (const type of TYPES) for (const status of statuses) tasks.push(makeTask(id++, type, 1, status));
    const store = storeWith(tasks);
    const page = (category: TaskCategory) => store.page(1, category, category === 'downloading' ? undefined : 100).tasks;
    expect(page('general').every((t) => t.type !== 'remote_download')).toBe(true);
    expect(page('general')).toHaveLength(4 * statuses.length);
    expect(page('downloading').map((t) => [t.type, t.status])).toEqual([
      ['remote_download', 'suspending'],
      ['remote_download', 'processing'],
      ['remote_download', 'queued'],
    ]);
    expect(page('downloaded').map((t) => [t.type, t.status])).toEqual([
      ['remote_download', 'canceled'],
      ['remote_download', 'error'],
      ['remote_download', 'completed'],
    ]);
  });

  it('keeps owners apart', () => {
    const tasks = range(1, 12).map((id) => makeTask(id, id % 3 === 0 ? 'remote_download' : 'create_archive', (id % 2) + 1));
    const store = storeWith(tasks);
    expect(ids(store.page(1, 'general', 100))).toEqual([10, 8, 4, 2]);
    expect(ids(store.page(2, 'general', 100))).toEqual([11, 7, 5, 1]);
    expect(ids(store.page(1, 'downloading', undefined))).toEqual([12, 6]);
    expect(ids(store.page(2, 'downloading', undefined))).toEqual([9, 3]);
    for (const owner of [1, 2]) {
      for (const category of ['general', 'downloading'] as const) {
        expect(store.page(owner, category, category === 'general' ? 100 : undefined).tasks.every((t) => t.ownerId === owner)).toBe(true);
      }
    }
  });
});

describe('TaskStore.page: cost', () => {
  const N = 100_000;

  /** Counts the store's reads of tasks by id and of the owner's index entries. */
  function instrument(store: TaskStore): { taskReads: () => number; indexReads: () => number } {
    const internals = store as unknown as {
      tasks: Map<number, Task>;
      owners: Map<number, { general: number[] }>;
    };
    const mapGet = vi.spyOn(internals.tasks, 'get');
    const owner = internals.owners.get(1)!;
    let indexReads = 0;
    owner.general = new Proxy(owner.general, {
      get(target, prop, receiver) {
        if (typeof prop === 'string' && /^\d+$/.test(prop)) indexReads += 1;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    return { taskReads: () => mapGet.mock.calls.length, indexReads: () => indexReads };
  }

  it('touches only the tasks of the page among 100 000 of one owner', () => {
    const store = new TaskStore();
    for (let id = 1; id <= N; id++) store.add(makeTask(id));
    const counts = instrument(store);

    const first = store.page(1, 'general', 10);
    expect(ids(first)).toEqual(range(N - 9, N).reverse());
    expect(first.more).toBe(true);
    expect(counts.taskReads()).toBe(10);
    // 10 rows plus a binary search (about 17 probes): far below the 100 000 stored.
    expect(counts.indexReads()).toBeLessThanOrEqual(10 + 2 * 17);

    const middle = store.page(1, 'general', 10, 50_001);
    expect(ids(middle)).toEqual(range(49_991, 50_000).reverse());
    expect(counts.taskReads()).toBe(20);
    expect(counts.indexReads()).toBeLessThanOrEqual(2 * (10 + 2 * 17));
  });
});
