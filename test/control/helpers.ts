/**
 * Helpers of the control-plane tests: the control API over supertest, sign-in inside a
 * namespace, the archive task's timetable under the `realistic` profile, and temp folders.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterEach, expect } from 'vitest';
import type { Simulator } from '../../src/index.js';
import { ACCOUNTS, UUID_V4, type AccountName } from '../helpers.js';

/** Where virtual time starts: 2025-05-20T04:00:00Z. */
export const START_MS = Date.UTC(2025, 4, 20, 4, 0, 0);
export const START = '2025-05-20T04:00:00.000Z';
/** Unix seconds of the virtual start, for `resume_time`. */
export const T0 = START_MS / 1000;
/** A complete archive run (realistic profile): pick-up 2 s, three phases of 1.5 s, two resumes of 2 s. */
export const ARCHIVE_RUN_MS = 10_500;

export const NAMESPACE_HEADER = 'X-Sim-Namespace';
export const LIST = '/api/v4/workflow?page_size=10&category=general';
export const ALICE = ACCOUNTS.alice.id;

/** A fresh correlation id. */
export const cid = expect.stringMatching(UUID_V4);

/** The clock state the control plane answers, with the defaults of a fresh virtual world. */
export function clockBody(over: Partial<Record<string, unknown>> = {}) {
  const now_ms = (over.now_ms as number | undefined) ?? START_MS;
  return {
    namespace: 'default',
    mode: 'virtual',
    now_ms,
    now: new Date(now_ms).toISOString(),
    speed: 1,
    frozen: true,
    pending_timers: 0,
    idle: true,
    ...over,
  };
}

/** The master node object of a listed task. */
export const masterNode = (sim: Simulator) => ({ id: sim.ids.encode('node', 1), name: 'Master', type: 'master', capabilities: 'Hg==' }); // Pro (the default) adds relocate

/** The props of an archive task of `src` into `dst`. */
export const archiveProps = (src: string[], dst: string) => ({ dst, failed: 0, src_multiple: src });

/** Calls to the control plane, optionally in a namespace. */
export function ctl(sim: Simulator, ns?: string) {
  const app = request(sim.app);
  const h = <T extends request.Test>(t: T): T => (ns === undefined ? t : (t.set(NAMESPACE_HEADER, ns) as T));
  return {
    get: (p: string) => h(app.get(`/__sim${p}`)),
    post: (p: string, body?: unknown) => (body === undefined ? h(app.post(`/__sim${p}`)) : h(app.post(`/__sim${p}`)).send(body as object)),
    delete: (p: string) => h(app.delete(`/__sim${p}`)),
    async clock() {
      const res = await h(app.get('/__sim/clock'));
      expect(res.status).toBe(200);
      return res.body as ReturnType<typeof clockBody>;
    },
    async advance(ms: number) {
      const res = await h(app.post('/__sim/clock/advance')).send({ ms });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as ReturnType<typeof clockBody>;
    },
    async runUntilIdle(max_ms?: number) {
      const res = await h(app.post('/__sim/clock/run-until-idle')).send(max_ms === undefined ? {} : { max_ms });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as ReturnType<typeof clockBody>;
    },
    /** POST /__sim/faults with one rule; returns the rules added. */
    async fault(rule: Record<string, unknown>) {
      const res = await app.post('/__sim/faults').send(rule);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.faults as Array<Record<string, unknown> & { id: string; fired: number }>;
    },
    async faults() {
      return (await app.get('/__sim/faults')).body.faults as Array<Record<string, unknown> & { id: string; fired: number }>;
    },
  };
}

/**
 * A signed-in account in a namespace (the default world when `ns` is undefined): every call
 * carries the token and the X-Sim-Namespace header. `target` may be the URL of a listening
 * simulator (fewer short-lived servers than handing supertest the app).
 */
export async function user(sim: Simulator, who: AccountName, ns?: string, target: string | Simulator['app'] = sim.app) {
  const app = request(target);
  const h = <T extends request.Test>(t: T): T => (ns === undefined ? t : (t.set(NAMESPACE_HEADER, ns) as T));
  const { email, password } = ACCOUNTS[who];
  const res = await h(app.post('/api/v4/session/token')).send({ email, password });
  expect(res.body.code, JSON.stringify(res.body)).toBe(0);
  const access = res.body.data.token.access_token as string;
  const refresh = res.body.data.token.refresh_token as string;
  const auth = `Bearer ${access}`;
  return {
    access,
    refresh,
    get: (p: string) => h(app.get(`/api/v4${p}`)).set('Authorization', auth),
    post: (p: string, body: unknown) => h(app.post(`/api/v4${p}`)).set('Authorization', auth).send(body as object),
    /** GET /workflow (general), returning `data` (asserting code 0). */
    async list() {
      const r = await h(app.get(LIST)).set('Authorization', auth);
      expect(r.body.code, JSON.stringify(r.body)).toBe(0);
      return r.body.data as { tasks: any[]; pagination: Record<string, unknown> };
    },
    async task(id: string) {
      return (await this.list()).tasks.find((t) => t.id === id);
    },
    /** POST /workflow/archive; returns the body (asserting code 0) and the task id. */
    async archive(src: string[], dst: string, prefer?: string) {
      let t = h(app.post('/api/v4/workflow/archive')).set('Authorization', auth);
      if (prefer !== undefined) t = t.set('Prefer', prefer);
      const r = await t.send({ src, dst });
      expect(r.body.code, JSON.stringify(r.body)).toBe(0);
      return r.body.data.id as string;
    },
  };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temporary folder, removed after the test. */
export function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'sim-control-'));
  dirs.push(d);
  return d;
}
