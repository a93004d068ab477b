import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import { createJournal, type ExchangeRecord, type JournalEntry } from './journal.js';

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

const exchange = (target: string, more: Partial<ExchangeRecord> = {}): ExchangeRecord => ({
  namespace: 'default',
  at_ms: Date.UTC(2025, 4, 20, 4),
  method: 'GET',
  target,
  headers: JSON.stringify({ host: 'localhost', accept: ['a', 'b'] }),
  sent: null,
  status: 200,
  code: 0,
  response: Buffer.from('{"code":0,"data":{"tasks":[]},"msg":""}'),
  responseSize: 39,
  responseCap: 1000,
  ...more,
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

describe('createJournal: HTTP exchanges, packed', () => {
  it('reads back every member of an exchange as the journal reports it', () => {
    const journal = createJournal();
    journal.recordExchange(exchange('/api/v4/workflow?page_size=10&category=general&x=1&x=2'));
    journal.recordExchange(
      exchange('/api/v4/workflow/archive', {
        namespace: 'ci-7',
        at_ms: Date.UTC(2025, 4, 20, 4, 0, 5),
        method: 'POST',
        sent: Buffer.from('{"src":["cloudreve://my/a"],"dst":"cloudreve://my/b.zip"}'),
        status: 200,
        code: 40004,
        response: '{"code":40004,"msg":"Object existed"}',
        responseSize: 37,
      }),
    );
    journal.recordExchange(exchange('/api/v4/file/content', { method: 'PUT', sent: '<5 bytes>', status: 0, code: null, response: Buffer.alloc(0), responseSize: 0 }));
    journal.recordExchange(exchange('/api/v4/file', { method: 'PATCH', sent: Buffer.from('not json ✓'), status: 400, code: null, response: 'Bad Request', responseSize: 11 }));
    expect(journal.entries().map((e) => ({ ...e }))).toEqual([
      {
        seq: 1,
        namespace: 'default',
        at_ms: Date.UTC(2025, 4, 20, 4),
        at: '2025-05-20T04:00:00.000Z',
        method: 'GET',
        path: '/api/v4/workflow',
        query: { page_size: '10', category: 'general', x: ['1', '2'] },
        headers: { host: 'localhost', accept: 'a, b' },
        body: null,
        status: 200,
        code: 0,
        response: { code: 0, data: { tasks: [] }, msg: '' },
      },
      {
        seq: 2,
        namespace: 'ci-7',
        at_ms: Date.UTC(2025, 4, 20, 4, 0, 5),
        at: '2025-05-20T04:00:05.000Z',
        method: 'POST',
        path: '/api/v4/workflow/archive',
        query: {},
        headers: { host: 'localhost', accept: 'a, b' },
        body: { src: ['cloudreve://my/a'], dst: 'cloudreve://my/b.zip' },
        status: 200,
        code: 40004,
        response: { code: 40004, msg: 'Object existed' },
      },
      expect.objectContaining({ seq: 3, method: 'PUT', path: '/api/v4/file/content', body: '<5 bytes>', status: 0, code: null, response: null }),
      expect.objectContaining({ seq: 4, method: 'PATCH', body: 'not json ✓', status: 400, code: null, response: 'Bad Request' }),
    ]);
    expect(journal.entries({ method: 'post', code: 40004 }).map((e) => e.seq)).toEqual([2]);
    expect(journal.entries({ path: '/api/v4/workflow*' }).map((e) => e.seq)).toEqual([1, 2]);
    expect(journal.entries({ since: Date.UTC(2025, 4, 20, 4, 0, 1) }).map((e) => e.seq)).toEqual([2]);
    expect(journal.stats({ path: '/api/v4/workflow*' })).toEqual({ count: 2, first_at: '2025-05-20T04:00:00.000Z', last_at: '2025-05-20T04:00:05.000Z', min_interval_ms: 5000 });
  });

  it('says how long an answer over the cap was, and keeps object entries and exchanges in one order', () => {
    const journal = createJournal();
    journal.record(entry('/object'));
    journal.recordExchange(exchange('/big', { response: Buffer.from('{"code":0,"data":"'), responseSize: 5000, responseCap: 1000 }));
    journal.record(entry('/object-2'));
    expect(journal.entries().map((e) => [e.seq, e.path, e.code, e.response])).toEqual([
      [1, '/object', 0, null],
      [2, '/big', 0, '<5000 bytes>'],
      [3, '/object-2', 0, null],
    ]);
  });

  it('keeps the last `limit` exchanges and weighs them by their packed size against the byte budget', () => {
    const journal = createJournal(100, 20_000);
    for (let i = 1; i <= 250; i++) journal.recordExchange(exchange(`/${i}`));
    expect(journal.entries().map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 151 + i));
    // Each exchange here packs to about 200 bytes, so 5 KB answers fit three at a time in 20 000.
    const big = Buffer.from(`{"code":0,"data":"${'x'.repeat(5000)}"}`);
    for (let i = 1; i <= 5; i++) journal.recordExchange(exchange(`/big/${i}`, { response: big, responseSize: big.length, responseCap: 10_000 }));
    expect(journal.entries().map((e) => e.path)).toEqual(['/big/3', '/big/4', '/big/5']);
    // One exchange over the whole budget is still kept, alone.
    const huge = Buffer.alloc(30_000, 0x20);
    journal.recordExchange(exchange('/huge', { response: huge, responseSize: huge.length, responseCap: 100_000 }));
    expect(journal.entries().map((e) => [e.path, (e.response as string).length])).toEqual([['/huge', 30_000]]);
    expect(journal.clear()).toBe(1);
    expect(journal.entries()).toEqual([]);
  });

  it('writes slabs again once their exchanges are dropped, and a view read earlier stays as it was read', () => {
    const alloc = vi.spyOn(Buffer, 'allocUnsafeSlow');
    try {
      const journal = createJournal(50);
      const body = (i: number) => Buffer.from(JSON.stringify({ code: 0, data: { i, pad: 'p'.repeat(5000) } }));
      journal.recordExchange(exchange('/first', { response: body(0), responseSize: 5030, responseCap: 10_000 }));
      const [early] = journal.entries();
      for (let i = 1; i <= 5000; i++) journal.recordExchange(exchange(`/${i}`, { response: body(i), responseSize: 5030, responseCap: 10_000 }));
      // 50 answers of 5 KB take two slabs of 256 KiB at a time: a handful in all, not one per 50 answers.
      // (Buffer.from of a long string allocates through allocUnsafeSlow too: count slabs only.)
      expect(alloc.mock.calls.filter(([size]) => size >= 256 * 1024).length).toBeLessThanOrEqual(4);
      expect([early!.path, (early!.response as { data: { i: number } }).data.i]).toEqual(['/first', 0]);
      expect(journal.entries().map((e) => (e.response as { data: { i: number } }).data.i)).toEqual(Array.from({ length: 50 }, (_, i) => 4951 + i));
    } finally {
      alloc.mockRestore();
    }
  });

  it('leaves next to nothing on V8’s heap per exchange kept', () => {
    const journal = createJournal(10_000);
    const answer = Buffer.from(JSON.stringify({ code: 0, data: { pad: 'p'.repeat(5000) } }));
    // Slots grow by doubling: fill them once, so the measure sees only what entries add.
    for (let i = 0; i < 10_000; i++) journal.recordExchange(exchange(`/warm/${i}`, { response: answer, responseSize: answer.length, responseCap: 10_000 }));
    journal.clear();
    for (let i = 0; i < 10; i++) journal.recordExchange(exchange(`/few/${i}`, { response: answer, responseSize: answer.length, responseCap: 10_000 }));
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 10_000; i++) journal.recordExchange(exchange(`/api/v4/workflow?page=${i}`, { response: answer, responseSize: answer.length, responseCap: 10_000 }));
    collectGarbage();
    const grew = process.memoryUsage().heapUsed - before;
    expect(journal.count()).toBe(10_000);
    // An entry kept as objects (an entry, its request and answer buffers) took over 300 bytes of heap: 3 MB here.
    expect(grew).toBeLessThan(500_000);
  });
});
