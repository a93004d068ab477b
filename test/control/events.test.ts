/**
 * Task events: `task:created`, `task:status` and `task:phase`, per world, in-process
 * (`sim.events()`, an async iterator) and as server-sent events (GET /__sim/events).
 */
import { describe, expect, it } from 'vitest';
import { createEventHub, type SimEvent } from '../../src/control/events.js';
import { testSimulator } from '../helpers.js';
import { ALICE, ARCHIVE_RUN_MS, ctl, NAMESPACE_HEADER, START_MS, user } from './helpers.js';

const NOTES = ['cloudreve://my/notes.txt'];

/** Every event of an archive run, as [type, status, phase, from]. */
const ARCHIVE_RUN: Array<[string, string, string, string | undefined]> = [
  ['task:created', 'queued', '', undefined],
  ['task:status', 'processing', '', 'queued'],
  ['task:status', 'suspending', 'compress_files', 'processing'],
  ['task:phase', 'suspending', 'compress_files', ''],
  ['task:status', 'processing', 'compress_files', 'suspending'],
  ['task:status', 'suspending', 'upload_archive', 'processing'],
  ['task:phase', 'suspending', 'upload_archive', 'compress_files'],
  ['task:status', 'processing', 'upload_archive', 'suspending'],
  ['task:status', 'completed', 'upload_archive', 'processing'],
];
/** Simulated seconds of those events. */
const ARCHIVE_TIMES = [0, 2, 3.5, 3.5, 5.5, 7, 7, 9, 10.5].map((s) => new Date(START_MS + s * 1000).toISOString());

const shape = (events: SimEvent[]) => events.map((e) => [e.type, e.status, e.phase, e.from]);

/** Ends the stream and returns what it had queued. */
async function drain(stop: AbortController, stream: AsyncIterableIterator<SimEvent>): Promise<SimEvent[]> {
  stop.abort();
  const out: SimEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

describe('sim.events() in-process', () => {
  it('yields task:created, then task:status and task:phase events in order for an archive run while the clock advances', async () => {
    const sim = testSimulator();
    const stop = new AbortController();
    const stream = sim.events(stop.signal);
    const alice = await user(sim, 'alice');
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    for (let i = 0; i < 21; i++) await ctl(sim).advance(500);
    const events = await drain(stop, stream);
    expect(shape(events)).toEqual(ARCHIVE_RUN);
    expect(events.map((e) => e.at)).toEqual(ARCHIVE_TIMES);
    expect(new Set(events.map((e) => `${e.namespace} ${e.task} ${e.task_type} ${e.owner}`))).toEqual(
      new Set([`default ${id} create_archive ${sim.ids.encode('user', ALICE)}`]),
    );
  });

  it('gives each event its whole shape: type, simulated time, namespace, task and owner hashids, task type, status, phase and from', async () => {
    const sim = testSimulator();
    const stop = new AbortController();
    const stream = sim.events(stop.signal);
    const alice = await user(sim, 'alice');
    const id = await alice.archive(NOTES, 'cloudreve://my/n.zip');
    await sim.clock.advance(3_500);
    const common = { namespace: 'default', task: id, task_type: 'create_archive', owner: sim.ids.encode('user', ALICE) };
    expect(await drain(stop, stream)).toEqual([
      { type: 'task:created', at: '2025-05-20T04:00:00.000Z', ...common, status: 'queued', phase: '' },
      { type: 'task:status', at: '2025-05-20T04:00:02.000Z', ...common, status: 'processing', phase: '', from: 'queued' },
      { type: 'task:status', at: '2025-05-20T04:00:03.500Z', ...common, status: 'suspending', phase: 'compress_files', from: 'processing' },
      { type: 'task:phase', at: '2025-05-20T04:00:03.500Z', ...common, status: 'suspending', phase: 'compress_files', from: '' },
    ]);
  });

  it('delivers an event as soon as the clock reaches its step: a pending next() resolves during advance', async () => {
    const sim = testSimulator();
    const stream = sim.events();
    const alice = await user(sim, 'alice');
    await alice.archive(NOTES, 'cloudreve://my/n.zip');
    expect((await stream.next()).value).toMatchObject({ type: 'task:created' });
    const pending = stream.next();
    await sim.clock.advance(2_000);
    expect((await pending).value).toMatchObject({ type: 'task:status', status: 'processing', at: '2025-05-20T04:00:02.000Z' });
    await stream.return!();
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('reports a failing task: processing, then error (no phase change)', async () => {
    const sim = testSimulator();
    const stop = new AbortController();
    const stream = sim.events(stop.signal);
    const alice = await user(sim, 'alice');
    await alice.archive(NOTES, 'cloudreve://my/n.zip', 'fault=fail; message="boom"; critical=true');
    await sim.clock.runUntilIdle();
    expect(shape(await drain(stop, stream))).toEqual([
      ['task:created', 'queued', '', undefined],
      ['task:status', 'processing', '', 'queued'],
      ['task:status', 'error', '', 'processing'],
    ]);
  });

  it('reports only what happens after the iterator was made, and every task of the world', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const carol = await user(sim, 'carol');
    const early = await alice.archive(NOTES, 'cloudreve://my/early.zip');
    const stop = new AbortController();
    const stream = sim.events(stop.signal);
    const late = await carol.archive(['cloudreve://my/hello.txt'], 'cloudreve://my/late.zip');
    await sim.clock.advance(2_000);
    const events = await drain(stop, stream);
    expect(events.map((e) => [e.type, e.task, e.owner])).toEqual([
      ['task:created', late, sim.ids.encode('user', 4)],
      ['task:status', early, sim.ids.encode('user', ALICE)],
      ['task:status', late, sim.ids.encode('user', 4)],
    ]);
  });

  it('keeps namespaces apart: each stream sees only its own world’s tasks', async () => {
    const sim = testSimulator();
    const stop = new AbortController();
    const inDefault = sim.events(stop.signal);
    const inA = sim.namespace('a').events(stop.signal);
    const aliceA = await user(sim, 'alice', 'a');
    const aliceDefault = await user(sim, 'alice');
    await aliceA.archive(NOTES, 'cloudreve://my/a.zip');
    await aliceDefault.archive(NOTES, 'cloudreve://my/d.zip');
    await sim.namespace('a').clock.runUntilIdle();
    const a = await drain(stop, inA);
    const d = await drain(stop, inDefault);
    expect(shape(a)).toEqual(ARCHIVE_RUN);
    expect(new Set(a.map((e) => e.namespace))).toEqual(new Set(['a']));
    expect(shape(d)).toEqual([ARCHIVE_RUN[0]]); // the default clock did not move
    expect(d[0]).toMatchObject({ namespace: 'default' });
  });

  it('ends when its signal aborts, and a for-await loop that breaks unsubscribes', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const stop = new AbortController();
    const stream = sim.events(stop.signal);
    stop.abort();
    expect(await stream.next()).toEqual({ value: undefined, done: true });

    const seen: string[] = [];
    const loop = (async () => {
      for await (const e of sim.events()) {
        seen.push(e.type);
        break;
      }
    })();
    await alice.archive(NOTES, 'cloudreve://my/n.zip');
    await loop;
    await sim.clock.runUntilIdle();
    expect(seen).toEqual(['task:created']);
  });
});

/** Server-sent events read from a fetch body, message by message. */
function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const messages: Array<Record<string, string>> = [];
  return {
    messages,
    /** Reads until `n` messages (comments included) have arrived. */
    async until(n: number) {
      while (messages.length < n) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended after ${messages.length} messages`);
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const msg: Record<string, string> = {};
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':');
            const field = line.slice(0, colon);
            msg[field === '' ? 'comment' : field] = line.slice(colon + 1).replace(/^ /, '');
          }
          messages.push(msg);
        }
      }
      return messages;
    },
  };
}

describe('GET /__sim/events (server-sent events over a real socket)', () => {
  it('streams `event: <type>` / `data: <event JSON>` messages of an archive run driven by POST /__sim/clock/advance', async () => {
    const sim = testSimulator();
    const url = await sim.listen(0);
    const stop = new AbortController();
    try {
      const res = await fetch(`${url}/__sim/events`, { signal: stop.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const sse = sseReader(res.body!);
      expect(await sse.until(1)).toEqual([{ comment: 'events of namespace default' }]);

      const json = { 'Content-Type': 'application/json' };
      const signIn = await fetch(`${url}/api/v4/session/token`, { method: 'POST', headers: json, body: JSON.stringify({ email: 'alice@cloudreve.org', password: 'alicepass' }) });
      const token = ((await signIn.json()) as any).data.token.access_token as string;
      const created = await fetch(`${url}/api/v4/workflow/archive`, {
        method: 'POST',
        headers: { ...json, Authorization: `Bearer ${token}` },
        body: JSON.stringify({ src: NOTES, dst: 'cloudreve://my/n.zip' }),
      });
      const id = ((await created.json()) as any).data.id as string;
      const advanced = await fetch(`${url}/__sim/clock/advance`, { method: 'POST', headers: json, body: JSON.stringify({ ms: ARCHIVE_RUN_MS }) });
      expect(((await advanced.json()) as any).idle).toBe(true);

      const messages = (await sse.until(1 + ARCHIVE_RUN.length)).slice(1);
      expect(messages.map((m) => m.id)).toEqual(ARCHIVE_RUN.map((_, i) => String(i + 1)));
      expect(messages.map((m) => m.event)).toEqual(ARCHIVE_RUN.map(([type]) => type));
      const events = messages.map((m) => JSON.parse(m.data!) as SimEvent);
      expect(shape(events)).toEqual(ARCHIVE_RUN);
      expect(events.map((e) => e.at)).toEqual(ARCHIVE_TIMES);
      expect(events[0]).toEqual({
        type: 'task:created',
        at: '2025-05-20T04:00:00.000Z',
        namespace: 'default',
        task: id,
        task_type: 'create_archive',
        owner: sim.ids.encode('user', ALICE),
        status: 'queued',
        phase: '',
      });
    } finally {
      stop.abort();
    }
  });

  it('streams only the events of the namespace named by X-Sim-Namespace', async () => {
    const sim = testSimulator({ profile: 'instant' });
    const url = await sim.listen(0);
    const stop = new AbortController();
    try {
      const res = await fetch(`${url}/__sim/events`, { signal: stop.signal, headers: { [NAMESPACE_HEADER]: 'a' } });
      const sse = sseReader(res.body!);
      expect(await sse.until(1)).toEqual([{ comment: 'events of namespace a' }]);
      const inDefault = await user(sim, 'alice');
      const inA = await user(sim, 'alice', 'a');
      await inDefault.archive(NOTES, 'cloudreve://my/d.zip'); // not for this stream
      const id = await inA.archive(NOTES, 'cloudreve://my/a.zip');
      const [, first] = await sse.until(2);
      expect(first!.event).toBe('task:created');
      expect(JSON.parse(first!.data!)).toMatchObject({ namespace: 'a', task: id, status: 'queued' });
    } finally {
      stop.abort();
    }
  });

  it('refuses an invalid namespace with 400 {error}', async () => {
    const sim = testSimulator();
    const res = await ctl(sim, 'bad name!').get('/events');
    expect([res.status, res.body]).toEqual([400, { error: expect.stringMatching(/namespace/i) }]);
  });
});

describe('the event hub', () => {
  it('says whether anyone listens, so that a world builds no events nobody receives', () => {
    const hub = createEventHub();
    const seen: string[] = [];
    expect(hub.listening).toBe(false);
    const unsubscribe = hub.subscribe((e) => seen.push(e.task));
    expect(hub.listening).toBe(true);
    hub.emit({ type: 'task:created', at: '2026-01-01T00:00:00.000Z', namespace: 'default', task: 't1', task_type: 'create_archive', owner: 'u1', status: 'queued', phase: '' });
    unsubscribe();
    expect(hub.listening).toBe(false);
    expect(seen).toEqual(['t1']);
  });

  it('starts building events again once a stream subscribes after tasks were made unobserved', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    await alice.archive(NOTES, 'cloudreve://my/unseen.zip');
    const stop = new AbortController();
    const stream = sim.events(stop.signal);
    const id = await alice.archive(NOTES, 'cloudreve://my/seen.zip');
    const events = await drain(stop, stream);
    expect(events.map((e) => [e.type, e.task])).toEqual([['task:created', id]]);
  });
});
