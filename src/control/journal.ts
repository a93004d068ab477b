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
 * A journal keeping the last `limit` entries, and fewer when their bodies together weigh more
 * than `maxBytes` (the oldest go first), so a client sending large bodies cannot grow it without
 * bound.
 */
export function createJournal(limit = 10_000, maxBytes = 64 * 1024 * 1024): Journal {
  let list: JournalEntry[] = [];
  let sizes: number[] = [];
  let total = 0;
  let seq = 0;
  const matches = (e: JournalEntry, f: JournalFilter) =>
    (f.method === undefined || e.method === f.method.toUpperCase()) &&
    globMatch(f.path, e.path) &&
    (f.code === undefined || e.code === f.code) &&
    (f.since === undefined || e.at_ms >= f.since);
  const select = (f: JournalFilter = {}) => list.filter((e) => matches(e, f));
  return {
    record(entry, bytes = 0) {
      // Copied with its property descriptors: a lazily decoded response stays lazy.
      list.push(Object.defineProperties({ seq: ++seq }, Object.getOwnPropertyDescriptors(entry)) as JournalEntry);
      sizes.push(bytes);
      total += bytes;
      while (list.length > limit || (total > maxBytes && list.length > 1)) {
        list.shift();
        total -= sizes.shift()!;
      }
    },
    entries: select,
    count: (f) => select(f).length,
    stats(f) {
      const hits = select(f);
      let min: number | null = null;
      for (let i = 1; i < hits.length; i++) {
        const gap = hits[i]!.at_ms - hits[i - 1]!.at_ms;
        if (min === null || gap < min) min = gap;
      }
      return {
        count: hits.length,
        first_at: hits[0]?.at ?? null,
        last_at: hits[hits.length - 1]?.at ?? null,
        min_interval_ms: min,
      };
    },
    clear() {
      const n = list.length;
      list = [];
      sizes = [];
      total = 0;
      return n;
    },
  };
}
