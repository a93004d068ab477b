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

/**
 * An HTTP exchange as the journal middleware saw it, before packing. What is text or bytes here
 * is kept as bytes and decoded only when the entry is read.
 */
export interface ExchangeRecord {
  namespace: string;
  at_ms: number;
  method: string;
  /** The request target as sent: path and query. */
  target: string;
  /** The request headers, as JSON. */
  headers: string;
  /** The request body's bytes (read back as JSON, or as text when it is not JSON), a note such as `<5 bytes>`, or null. */
  sent: Buffer | string | null;
  status: number;
  code: number | null;
  /** The response bytes kept: all of them, or the first ones of an answer over the cap. */
  response: Buffer | string;
  /** The whole response's size; above `responseCap` the entry's `response` reads `<n bytes>`. */
  responseSize: number;
  responseCap: number;
}

export interface Journal {
  /** Keeps an exchange; `bytes` is what its bodies weigh, counted against the journal's byte budget. */
  record(entry: Omit<JournalEntry, 'seq'>, bytes?: number): void;
  /**
   * Keeps an HTTP exchange packed into bytes (the hot path: every request). It weighs its packed
   * size against the byte budget.
   */
  recordExchange(exchange: ExchangeRecord): void;
  entries(filter?: JournalFilter): JournalEntry[];
  count(filter?: JournalFilter): number;
  stats(filter?: JournalFilter): JournalStats;
  /** Removes every entry; returns how many there were. */
  clear(): number;
}


/** The decoded JSON of `text`; the text itself when it is not JSON; null for no text. */
export function decodeBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The query of a request target, as sent: a repeated name gives a list. */
function queryAsSent(url: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const i = url.indexOf('?');
  if (i < 0) return out;
  for (const [k, v] of new URLSearchParams(url.slice(i + 1))) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/**
 * How an exchange is packed: a fixed head, then its texts and bodies one after another.
 * Head: at_ms (f64), code (f64, NaN for none), response size (u32), status (u16), whether a
 * request body was bytes (u8), whether the response was over the cap (u8), then the byte
 * lengths (u32) of the parts, in the order below.
 */
const HEAD = 48;
const LENGTHS = 24;
const [NAMESPACE, METHOD, TARGET, HEADERS, SENT, RESPONSE] = [0, 1, 2, 3, 4, 5] as const;
const PARTS = 6;

/** An entry's texts and bodies, with its head's offset. */
class Packed {
  constructor(
    private readonly buf: Buffer,
    private readonly at: number,
  ) {}
  private len(i: number): number {
    return this.buf.readUInt32LE(this.at + LENGTHS + 4 * i);
  }
  /** The i-th text or body: where it starts and ends. */
  private span(i: number): [number, number] {
    let start = this.at + HEAD;
    for (let k = 0; k < i; k++) start += this.len(k);
    return [start, start + this.len(i)];
  }
  /** Bytes the entry takes, head included. */
  get size(): number {
    return this.span(PARTS - 1)[1] - this.at;
  }
  /** The entry in a buffer of its own, which later writes to the slab cannot touch. */
  copy(): Packed {
    return new Packed(Buffer.from(this.buf.subarray(this.at, this.at + this.size)), 0);
  }
  text(i: number, encoding: BufferEncoding = 'utf8'): string {
    const [a, b] = this.span(i);
    return this.buf.toString(encoding, a, b);
  }
  get atMs(): number {
    return this.buf.readDoubleLE(this.at);
  }
  get code(): number | null {
    const c = this.buf.readDoubleLE(this.at + 8);
    return Number.isNaN(c) ? null : c;
  }
  get responseSize(): number {
    return this.buf.readUInt32LE(this.at + 16);
  }
  get status(): number {
    return this.buf.readUInt16LE(this.at + 20);
  }
  get sentIsBytes(): boolean {
    return this.buf[this.at + 22] === 1;
  }
  /** The response was over the cap: only its first bytes were kept. */
  get over(): boolean {
    return this.buf[this.at + 23] === 1;
  }
  get method(): string {
    return this.text(METHOD, 'latin1');
  }
  get path(): string {
    const target = this.text(TARGET);
    const q = target.indexOf('?');
    return q < 0 ? target : target.slice(0, q);
  }
}

/** An exchange's texts and bodies, in their packed order. */
const partsOf = (x: ExchangeRecord): Array<Buffer | string> => [x.namespace, x.method, x.target, x.headers, x.sent ?? '', x.response];

const byteLength = (part: Buffer | string) => (typeof part === 'string' ? Buffer.byteLength(part) : part.length);

/** Packs an exchange into `buf` at `at`: its `parts` (`partsOf`) and their byte lengths. */
function pack(x: ExchangeRecord, parts: Array<Buffer | string>, lengths: number[], buf: Buffer, at: number): void {
  buf.writeDoubleLE(x.at_ms, at);
  buf.writeDoubleLE(x.code ?? Number.NaN, at + 8);
  buf.writeUInt32LE(Math.min(x.responseSize, 0xffffffff), at + 16);
  buf.writeUInt16LE(x.status, at + 20);
  buf[at + 22] = Buffer.isBuffer(x.sent) ? 1 : 0;
  buf[at + 23] = x.responseSize > x.responseCap ? 1 : 0;
  let p = at + HEAD;
  for (let i = 0; i < parts.length; i++) {
    buf.writeUInt32LE(lengths[i]!, at + LENGTHS + 4 * i);
    const part = parts[i]!;
    if (typeof part === 'string') buf.write(part, p, lengths[i]!, 'utf8');
    else part.copy(buf, p);
    p += lengths[i]!;
  }
}

/** A packed exchange as readers see it: every member decoded on first read, then kept. */
function packedView(seq: number, p: Packed): JournalEntry {
  const out = { seq, namespace: p.text(NAMESPACE), at_ms: p.atMs } as JournalEntry;
  const memo = new Map<string, unknown>();
  const lazy = (key: keyof JournalEntry, make: () => unknown) =>
    Object.defineProperty(out, key, {
      enumerable: true,
      get: () => {
        if (!memo.has(key)) memo.set(key, make());
        return memo.get(key);
      },
    });
  lazy('at', () => new Date(out.at_ms).toISOString());
  out.method = p.method;
  out.path = p.path;
  lazy('query', () => queryAsSent(p.text(TARGET)));
  lazy('headers', () => {
    const sent = JSON.parse(p.text(HEADERS)) as Record<string, string | string[]>;
    return Object.fromEntries(Object.entries(sent).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
  });
  lazy('body', () => {
    const text = p.text(SENT);
    return p.sentIsBytes ? decodeBody(text) : text === '' ? null : text;
  });
  out.status = p.status;
  out.code = p.code;
  lazy('response', () => (p.over ? `<${p.responseSize} bytes>` : decodeBody(p.text(RESPONSE))));
  return out;
}

/**
 * An entry recorded as an object, as readers see it, its members in the journal's order: `at`,
 * `query`, `headers`, `body` and `response` read through to what was recorded, so what is
 * computed on first read is computed only when someone reads it.
 */
function objectView(seq: number, e: Omit<JournalEntry, 'seq'>): JournalEntry {
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

/** Bytes per slab of packed exchanges; a larger exchange gets a buffer of its own. */
const SLAB = 256 * 1024;
/** Slots allocated at first; doubled as needed up to the journal's limit. */
const FIRST_SLOTS = 64;

/**
 * A journal keeping the last `limit` entries, and fewer when their bodies together weigh more
 * than `maxBytes` (the oldest go first), so a client sending large bodies cannot grow it without
 * bound.
 *
 * Recording is the hot path (every request), and a busy journal holds thousands of entries for
 * seconds: long enough for V8 to move each into its old generation, whose growth then brings
 * full collections (each a pause of several milliseconds, in the tail of every latency). So an
 * HTTP exchange leaves nothing per entry on V8's heap: it is packed into slabs of bytes (outside
 * the heap), and the slots that find it are numbers in typed arrays, in a ring. A slab whose
 * entries were all dropped is written again rather than let go: memory outside the heap that
 * keeps growing brings full collections too. So a view copies its entry out of the slab.
 * Entries given as objects (`record`) are kept as they are, in the same ring. Only the entries
 * a reader asks for become `JournalEntry` views.
 */
export function createJournal(limit = 10_000, maxBytes = 64 * 1024 * 1024): Journal {
  const ring = {
    size: 0,
    /** Physical index of the oldest entry, and how many there are. */
    head: 0,
    count: 0,
    objects: [] as Array<Omit<JournalEntry, 'seq'> | undefined>,
    /** For a packed entry, its slab's number (-1 for an object entry) and its offset there. */
    slabOf: new Float64Array(0),
    offsetOf: new Uint32Array(0),
    weights: new Float64Array(0),
  };
  const slabs = {
    /** Live slabs, oldest first; `first` is the number of list[0]. */
    list: [] as Buffer[],
    live: [] as number[],
    first: 0,
    /** Bytes used in the newest slab. */
    used: SLAB,
    /** Slabs let go, to be written again. */
    free: [] as Buffer[],
  };
  const state = { seq: 0, total: 0 };

  const resize = (size: number) => {
    const objects: Array<Omit<JournalEntry, 'seq'> | undefined> = new Array(size).fill(undefined);
    const slabOf = new Float64Array(size);
    const offsetOf = new Uint32Array(size);
    const weights = new Float64Array(size);
    for (let i = 0; i < ring.count; i++) {
      const from = (ring.head + i) % ring.size;
      objects[i] = ring.objects[from];
      slabOf[i] = ring.slabOf[from]!;
      offsetOf[i] = ring.offsetOf[from]!;
      weights[i] = ring.weights[from]!;
    }
    Object.assign(ring, { size, head: 0, objects, slabOf, offsetOf, weights });
  };

  const dropOldest = () => {
    const at = ring.head;
    state.total -= ring.weights[at]!;
    ring.objects[at] = undefined;
    const slab = ring.slabOf[at]!;
    if (slab >= 0) {
      slabs.live[slab - slabs.first]! -= 1;
      // Let go of the slabs every entry of which was dropped, except the one being written.
      while (slabs.list.length > 1 && slabs.live[0] === 0) {
        const done = slabs.list.shift()!;
        if (done.length === SLAB) slabs.free.push(done);
        slabs.live.shift();
        slabs.first++;
      }
    }
    ring.head = (ring.head + 1) % ring.size;
    ring.count--;
  };

  /** Takes the next slot, dropping the oldest entries beyond the limit and the byte budget. */
  const push = (weight: number): number => {
    if (ring.count === ring.size) {
      if (ring.size < limit) resize(Math.min(limit, Math.max(FIRST_SLOTS, ring.size * 2)));
      else dropOldest();
    }
    const at = (ring.head + ring.count) % ring.size;
    ring.count++;
    state.seq++;
    ring.weights[at] = weight;
    state.total += weight;
    while (state.total > maxBytes && ring.count > 1) dropOldest();
    return at;
  };

  /** Room for `size` bytes in the newest slab (or a buffer of its own): its number and the offset. */
  const reserve = (size: number): [number, number] => {
    const own = size > SLAB / 4;
    if (own || slabs.used + size > SLAB) {
      slabs.list.push(size <= SLAB && slabs.free.length > 0 ? slabs.free.pop()! : Buffer.allocUnsafeSlow(Math.max(size, SLAB)));
      slabs.live.push(0);
      slabs.used = 0;
    }
    const offset = slabs.used;
    // A buffer of its own is not written again: the next entry starts a new slab.
    slabs.used = own ? SLAB : offset + size;
    return [slabs.first + slabs.list.length - 1, offset];
  };

  /** The live entries, oldest first, as their numbers and physical slots. */
  const each = function* (): Generator<[number, number]> {
    const first = state.seq - ring.count + 1;
    for (let i = 0; i < ring.count; i++) yield [first + i, (ring.head + i) % ring.size];
  };
  const packedAt = (slot: number) => new Packed(slabs.list[ring.slabOf[slot]! - slabs.first]!, ring.offsetOf[slot]!);
  type Facts = { method: string; path: string; code: number | null; at_ms: number };
  const facts = (slot: number): Facts => {
    const object = ring.objects[slot];
    if (object) return object;
    const p = packedAt(slot);
    return { method: p.method, path: p.path, code: p.code, at_ms: p.atMs };
  };
  const matches = (e: Facts, f: JournalFilter) =>
    (f.method === undefined || e.method === f.method.toUpperCase()) &&
    globMatch(f.path, e.path) &&
    (f.code === undefined || e.code === f.code) &&
    (f.since === undefined || e.at_ms >= f.since);
  const select = (f: JournalFilter = {}) => {
    const hits: Array<[number, number]> = [];
    for (const [seq, slot] of each()) if (matches(facts(slot), f)) hits.push([seq, slot]);
    return hits;
  };
  const viewOf = (seq: number, slot: number): JournalEntry => {
    const object = ring.objects[slot];
    if (object) return objectView(seq, object);
    // A copy: the slab is written again once its entries are dropped.
    return packedView(seq, packedAt(slot).copy());
  };

  return {
    record(entry, bytes = 0) {
      const at = push(bytes);
      ring.objects[at] = entry;
      ring.slabOf[at] = -1;
    },
    recordExchange(x) {
      const parts = partsOf(x);
      const lengths = parts.map(byteLength);
      const size = HEAD + lengths.reduce((a, b) => a + b, 0);
      const [slab, offset] = reserve(size);
      pack(x, parts, lengths, slabs.list[slab - slabs.first]!, offset);
      slabs.live[slab - slabs.first]! += 1;
      const at = push(size);
      ring.objects[at] = undefined;
      ring.slabOf[at] = slab;
      ring.offsetOf[at] = offset;
    },
    entries: (f) => select(f).map(([seq, slot]) => viewOf(seq, slot)),
    count: (f) => select(f).length,
    stats(f) {
      const slots = select(f).map(([, slot]) => slot);
      const times = slots.map((slot) => facts(slot).at_ms);
      let min: number | null = null;
      for (let i = 1; i < times.length; i++) {
        const gap = times[i]! - times[i - 1]!;
        if (min === null || gap < min) min = gap;
      }
      // An entry recorded as an object says its own `at`.
      const at = (slot: number | undefined) => (slot === undefined ? null : (ring.objects[slot]?.at ?? new Date(facts(slot).at_ms).toISOString()));
      return { count: slots.length, first_at: at(slots[0]), last_at: at(slots[slots.length - 1]), min_interval_ms: min };
    },
    clear() {
      const n = ring.count;
      Object.assign(ring, { size: 0, head: 0, count: 0, objects: [], slabOf: new Float64Array(0), offsetOf: new Uint32Array(0), weights: new Float64Array(0) });
      Object.assign(slabs, { list: [], live: [], first: 0, used: SLAB, free: [] });
      state.total = 0;
      return n;
    },
  };
}
