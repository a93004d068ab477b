import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createJournal, type JournalEntry } from './journal.js';

const entry = (path: string): Omit<JournalEntry, 'seq'> => ({
  namespace: 'default',
  at_ms: 0,
  at: '1970-01-01T00:00:00.000Z',
  method: 'GET',
  path,
  query: {},
  headers: {},
  body: null,
  status: 200,
  code: 0,
  response: null,
});

/** A full collection, on demand (the flag is set for this process only). */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

describe('createJournal', () => {
  it('lets a dropped entry go at once, not when the front is next cut off', async () => {
    const journal = createJournal(3);
    const dropped = new WeakRef({ ...entry('/first') });
    journal.record(dropped.deref()!);
    for (const p of ['/a', '/b', '/c']) journal.record(entry(p));
    // A WeakRef holds its target until the current job ends.
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await new Promise<void>((resolve) => process.nextTick(resolve));
    collectGarbage();
    expect([dropped.deref(), journal.entries().map((e) => e.path)]).toEqual([undefined, ['/a', '/b', '/c']]);
  });

  it('keeps the last `limit` entries', () => {
    const journal = createJournal(3);
    for (let i = 1; i <= 5; i++) journal.record(entry(`/${i}`));
    expect(journal.entries().map((e) => [e.seq, e.path])).toEqual([
      [3, '/3'],
      [4, '/4'],
      [5, '/5'],
    ]);
  });

  it('keeps its order and count across many drops (the dropped front is cut off in batches)', () => {
    const journal = createJournal(10, 10_000);
    for (let i = 1; i <= 5000; i++) journal.record(entry(`/${i}`), i % 7);
    expect(journal.count()).toBe(10);
    expect(journal.entries().map((e) => e.seq)).toEqual([4991, 4992, 4993, 4994, 4995, 4996, 4997, 4998, 4999, 5000]);
    expect(journal.entries({ path: '/4995' }).map((e) => e.path)).toEqual(['/4995']);
    // The byte budget still counts only what is kept: 10 entries weigh under 60, the new one 10 000.
    journal.record(entry('/big'), 10_000);
    expect(journal.entries().map((e) => e.path)).toEqual(['/big']);
    expect(journal.clear()).toBe(1);
    expect(journal.count()).toBe(0);
  });

  it('drops the oldest entries while the bodies it keeps weigh more than its byte budget, never the newest', () => {
    const journal = createJournal(100, 1000);
    journal.record(entry('/a'), 400);
    journal.record(entry('/b'), 400);
    expect(journal.count()).toBe(2);
    journal.record(entry('/c'), 400);
    expect(journal.entries().map((e) => e.path)).toEqual(['/b', '/c']);
    journal.record(entry('/huge'), 5000);
    expect(journal.entries().map((e) => e.path)).toEqual(['/huge']);
    journal.clear();
    journal.record(entry('/d'), 900);
    expect(journal.entries().map((e) => e.path)).toEqual(['/d']);
  });

  it('keeps a lazily computed member lazy', () => {
    const journal = createJournal();
    let reads = 0;
    const e = entry('/lazy');
    Object.defineProperty(e, 'response', { enumerable: true, get: () => (++reads, { code: 0 }) });
    journal.record(e);
    expect(reads).toBe(0);
    expect(journal.entries()[0]!.response).toEqual({ code: 0 });
    expect(reads).toBe(1);
  });
});
