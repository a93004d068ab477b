/**
 * Shared test helpers: a strict, virtual-clock simulator with fixed secrets, sign-in, and
 * forged tokens for the token-error paths.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import request from 'supertest';
import { afterEach, expect } from 'vitest';
import { createSimulator, type Simulator, type SimulatorOptions } from '../src/index.js';

export const TEST_SECRET = 'cloudreve-sim-test-secret';
export const TEST_SALT = 'this is my salt';

/** Every fixture account, as the README lists them. */
export const ACCOUNTS = {
  admin: { email: 'admin@cloudreve.org', password: 'admin', id: 1 },
  user: { email: 'user@cloudreve.org', password: 'userpass', id: 2 },
  alice: { email: 'alice@cloudreve.org', password: 'alicepass', id: 3 },
  carol: { email: 'carol@cloudreve.org', password: 'carolpass', id: 4 },
  banned: { email: 'banned@cloudreve.org', password: 'bannedpass', id: 5 },
  inactive: { email: 'inactive@cloudreve.org', password: 'inactivepass', id: 6 },
} as const;
export type AccountName = keyof typeof ACCOUNTS;

/** Any UUID in canonical lower-case form. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A random (version 4) UUID. */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const open: Simulator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

/** A simulator as tests want it: virtual clock, fixed seed/secret/salt, every response checked against the contract. Closed after each test. */
export function testSimulator(options: SimulatorOptions = {}): Simulator {
  const sim = createSimulator({
    clock: 'virtual',
    seed: 'test',
    strict: true,
    jwtSecret: TEST_SECRET,
    hashSalt: TEST_SALT,
    ...options,
  });
  open.push(sim);
  return sim;
}

export interface Session {
  access: string;
  refresh: string;
  body: any;
}

/** Signs in through the API and returns the tokens. */
export async function signIn(sim: Simulator, who: AccountName): Promise<Session> {
  const { email, password } = ACCOUNTS[who];
  const res = await request(sim.app).post('/api/v4/session/token').send({ email, password });
  expect(res.body.code, JSON.stringify(res.body)).toBe(0);
  return { access: res.body.data.token.access_token, refresh: res.body.data.token.refresh_token, body: res.body };
}

/** Forges a JWT with arbitrary claims (signed with the test secret unless told otherwise). */
export async function forgeToken(
  claims: Record<string, unknown>,
  { secret = TEST_SECRET, alg = 'HS256' }: { secret?: string; alg?: string } = {},
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

/** Unix seconds of the simulator's clock. */
export const nowSeconds = (sim: Simulator): number => Math.floor(sim.clock.now() / 1000);

/** An access token for the user `id` of `sim`, valid for an hour of simulated time. */
export function accessTokenFor(sim: Simulator, userId: number, extra: Record<string, unknown> = {}): Promise<string> {
  const now = nowSeconds(sim);
  return forgeToken({ token_type: 'access', sub: sim.ids.encode('user', userId), exp: now + 3600, nbf: now, ...extra });
}

/** An authorized supertest agent for one signed-in account. */
export async function as(sim: Simulator, who: AccountName) {
  const { access } = await signIn(sim, who);
  const auth = `Bearer ${access}`;
  const app = request(sim.app);
  return {
    get: (path: string) => app.get(`/api/v4${path}`).set('Authorization', auth),
    post: (path: string, body: unknown) => app.post(`/api/v4${path}`).set('Authorization', auth).send(body as object),
    patch: (path: string, body: unknown) => app.patch(`/api/v4${path}`).set('Authorization', auth).send(body as object),
    put: (path: string, body: unknown) => app.put(`/api/v4${path}`).set('Authorization', auth).send(body as object),
    delete: (path: string, body?: unknown) => {
      const req = app.delete(`/api/v4${path}`).set('Authorization', auth);
      return body === undefined ? req : req.send(body as object);
    },
    /** PUT /file/content with raw bytes. */
    save: (uri: string, content: string | Buffer, previous?: string) =>
      app
        .put(`/api/v4/file/content?uri=${encodeURIComponent(uri)}${previous === undefined ? '' : `&previous=${encodeURIComponent(previous)}`}`)
        .set('Authorization', auth)
        .set('Content-Type', 'text/plain')
        .send(Buffer.from(content)),
    /** One upload chunk, as the clients send it. */
    chunk: (sid: string, index: number | string, content: string | Buffer) =>
      app.post(`/api/v4/file/upload/${sid}/${index}`).set('Authorization', auth).set('Content-Type', 'application/octet-stream').send(Buffer.from(content)),
    /** POST with a body sent exactly as written (a doc page's example, say). */
    postText: (path: string, text: string) => app.post(`/api/v4${path}`).set('Authorization', auth).set('Content-Type', 'application/json').send(text),
    /** GET /workflow, returning `data` (asserting code 0). */
    async list(category: 'general' | 'downloading' | 'downloaded', pageSize = 10, token?: string) {
      const q = `?page_size=${pageSize}&category=${category}${token === undefined ? '' : `&next_page_token=${encodeURIComponent(token)}`}`;
      const res = await app.get(`/api/v4/workflow${q}`).set('Authorization', auth);
      expect(res.body.code, JSON.stringify(res.body)).toBe(0);
      return res.body.data as { tasks: any[]; pagination: Record<string, unknown> };
    },
    /** The task with `id` as the list shows it. */
    async task(id: string, category: 'general' | 'downloading' | 'downloaded' = 'general') {
      const data = await this.list(category, 100);
      return data.tasks.find((t) => t.id === id);
    },
    /** POST /workflow/archive, returning the response body. */
    async archive(src: string[], dst: string) {
      return (await app.post('/api/v4/workflow/archive').set('Authorization', auth).send({ src, dst })).body;
    },
  };
}

/** ISO time of the simulator clock. */
export const simTime = (sim: Simulator): string => new Date(sim.clock.now()).toISOString();

/** GET of a URL the simulator made (path and query only, no credentials), the body read as bytes whatever its type. */
export function fetchBytes(sim: Simulator, url: string) {
  const u = new URL(url);
  return request(sim.app)
    .get(u.pathname + u.search)
    .buffer(true)
    .parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });
}

/** What stands in the default world's temporary folder (uploads, saves, archive work in progress). */
export function tmpEntries(sim: Simulator): string[] {
  const probe = sim.drive.makeTempDir('probe');
  rmSync(probe, { recursive: true });
  return readdirSync(path.dirname(probe));
}
