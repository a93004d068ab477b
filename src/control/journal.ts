/**
 * @module control/journal
 * What clients sent and got, per world: every request under /api/v4 with its response and the
 * simulated time, for assertions such as "polled no faster than every 5 s" or "never retried a
 * POST".
 */
import { globMatch } from './glob.js';

export interface JournalEntry {
  /** Order of arrival, from 1. */
  seq: number;
  namespace: string;
  /** Simulated time of arrival, Unix ms and RFC 3339. */
  at_ms: number;
  at: string;
  method: string;
  /** Path without the query. */
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  /** The request body as decoded JSON, the raw text when it was not JSON, or null. */
  body: unknown;
  status: number;
  /** Envelope `code`, when the answer was an envelope. */
  code: number | null;
  /** The response body as decoded JSON, or its text. */
  response: unknown;
}

export interface JournalFilter {
  method?: string;
  /** Glob on the path (`*` any run, `?` one character), e.g. `/api/v4/workflow/progress/*`. */
  path?: string;
  code?: number;
  /** Only entries at or after this simulated Unix ms. */
  since?: number;
}

export interface JournalStats {
  count: number;
  first_at: string | null;
  last_at: string | null;
  /** Shortest simulated time between two consecutive matching requests; null below 2 requests. */
  min_interval_ms: number | null;
}

export interface Journal {
  /** Keeps an exchange; `bytes` is what its bodies weigh, counted against the journal's byte budget. */
  record(entry: Omit<JournalEntry, 'seq'>, bytes?: number): void;
  entries(filter?: JournalFilter): JournalEntry[];
  count(filter?: JournalFilter): number;
  stats(filter?: JournalFilter): JournalStats;
  /** Removes every entry; returns how many there were. */
  clear(): number;
}

/**
 * An entry as readers see it, its members in the journal's order: `at`, `query`, `headers`,
 * `body` and `response` read through to what was recorded, so what is computed on first read
 * (a decoded body) is computed only when someone reads it, and once.
 */
function view(seq: number, e: Omit<JournalEntry, 'seq'>): JournalEntry {
  const out = { seq, namespace: e.namespace, at_ms: e.at_ms } as JournalEntry;
  const defer = (key: 'at' | 'query' | 'headers' | 'body' | 'response') => Object.defineProperty(out, key, { enumerable: true, get: () => e[key] });
  defer('at');
  out.method = e.method;
  out.path = e.path;
  defer('query');
  defer('headers');
  defer('body');
  out.status = e.status;
  out.code = e.code;
  defer('response');
  return out;
}

/** What stands in a dropped entry's slot until the front is cut off. */
const DROPPED = Object.freeze({}) as Omit<JournalEntry, 'seq'>;

/**
 * A journal keeping the last `limit` entries, and fewer when their bodies together weigh more
 * than `maxBytes` (the oldest go first), so a client sending large bodies cannot grow it without
 * bound. Recording is the hot path (every request): an entry is kept as given, with no wrapper
 * (its number follows from its place, its weight sits in an array of numbers), and only the
 * entries a reader asks for are turned into `JournalEntry` views.
 */
export function createJournal(limit = 10_000, maxBytes = 64 * 1024 * 1024): Journal {
  // A queue: live entries are list[head..], their weights weights[head..]; the dropped front is
  // cut off now and then. The last entry is number `seq`, so list[i] is seq - (list.length - 1 - i).
  let list: Array<Omit<JournalEntry, 'seq'>> = [];
  let weights: number[] = [];
  let head = 0;
  let total = 0;
  let seq = 0;
  const matches = (e: Omit<JournalEntry, 'seq'>, f: JournalFilter) =>
    (f.method === undefined || e.method === f.method.toUpperCase()) &&
    globMatch(f.path, e.path) &&
    (f.code === undefined || e.code === f.code) &&
    (f.since === undefined || e.at_ms >= f.since);
  const select = (f: JournalFilter = {}) => {
    const hits: Array<{ seq: number; entry: Omit<JournalEntry, 'seq'> }> = [];
    const first = seq - (list.length - 1);
    for (let i = head; i < list.length; i++) if (matches(list[i]!, f)) hits.push({ seq: first + i, entry: list[i]! });
    return hits;
  };
  return {
    record(entry, bytes = 0) {
      list.push(entry);
      weights.push(bytes);
      seq++;
      total += bytes;
      while (list.length - head > limit || (total > maxBytes && list.length - head > 1)) {
        total -= weights[head]!;
        // Let the dropped entry go now, not when the front is next cut off.
        list[head++] = DROPPED;
      }
      if (head > 1024 && head * 2 > list.length) {
        list = list.slice(head);
        weights = weights.slice(head);
        head = 0;
      }
    },
    entries: (f) => select(f).map((r) => view(r.seq, r.entry)),
    count: (f) => select(f).length,
    stats(f) {
      const hits = select(f);
      let min: number | null = null;
      for (let i = 1; i < hits.length; i++) {
        const gap = hits[i]!.entry.at_ms - hits[i - 1]!.entry.at_ms;
        if (min === null || gap < min) min = gap;
      }
      return {
        count: hits.length,
        first_at: hits[0]?.entry.at ?? null,
        last_at: hits[hits.length - 1]?.entry.at ?? null,
        min_interval_ms: min,
      };
    },
    clear() {
      const n = list.length - head;
      list = [];
      weights = [];
      head = 0;
      total = 0;
      return n;
    },
  };
}
