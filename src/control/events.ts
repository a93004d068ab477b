/**
 * @module control/events
 * Task events of one world (namespace): creation, status changes and phase changes, for
 * server-sent events over HTTP and async iteration in-process.
 */

export type SimEventType = 'task:created' | 'task:status' | 'task:phase';

export interface SimEvent {
  type: SimEventType;
  /** Simulated time, RFC 3339 UTC with milliseconds. */
  at: string;
  namespace: string;
  /** Task hashid. */
  task: string;
  task_type: string;
  /** Owner's user hashid. */
  owner: string;
  status: string;
  phase: string;
  /** The previous status (task:status) or phase (task:phase). */
  from?: string;
}

export interface EventHub {
  /** Someone is subscribed: without listeners an event need not be built at all. */
  readonly listening: boolean;
  emit(event: SimEvent): void;
  /** Calls `listener` for every event until the returned function is called. */
  subscribe(listener: (event: SimEvent) => void): () => void;
  /** Events from now on, as an async iterator; ends when `signal` aborts or `return()` is called. */
  stream(signal?: AbortSignal): AsyncIterableIterator<SimEvent>;
}

export function createEventHub(): EventHub {
  const listeners = new Set<(event: SimEvent) => void>();
  return {
    get listening() {
      return listeners.size > 0;
    },
    emit(event) {
      for (const l of [...listeners]) l(event);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stream(signal) {
      const queue: SimEvent[] = [];
      let wake: (() => void) | undefined;
      let done = false;
      const unsubscribe = this.subscribe((e) => {
        queue.push(e);
        wake?.();
      });
      const finish = () => {
        done = true;
        unsubscribe();
        wake?.();
      };
      signal?.addEventListener('abort', finish, { once: true });
      const iterator: AsyncIterableIterator<SimEvent> = {
        async next() {
          while (queue.length === 0 && !done) await new Promise<void>((r) => (wake = r));
          wake = undefined;
          if (queue.length > 0) return { value: queue.shift()!, done: false };
          return { value: undefined, done: true };
        },
        async return() {
          finish();
          return { value: undefined, done: true };
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
  };
}
