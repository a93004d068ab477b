/**
 * @module control/routes
 * The control plane over HTTP (`/__sim`, contract `openapi/control.yaml`): one route per
 * simulator verb, plain JSON answers, `{"error"}` with a 4xx when refused.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { loadContract } from '../contract/index.js';
import type { ConformanceReport } from './conformance.js';
import { requestValidator } from '../contract/validator.js';
import type { DriveNode } from '../drive/drive.js';
import { formatTime } from '../util/time.js';
import { SnapshotError, type World } from '../world.js';
import { loadDashboard } from './dashboard.js';
import { FaultError, type FaultRegistry, type FaultRuleInput } from './faults.js';
import type { JournalFilter } from './journal.js';
import { NAMESPACE_HEADER, NamespaceError } from './middleware.js';
import { worldTasks } from './tasks.js';

export const CONTROL_CONTRACT_FILE = fileURLToPath(new URL('../../openapi/control.yaml', import.meta.url));

/** What the control routes act on; the Simulator provides it. */
export interface ControlHost {
  worldFor(name: string | undefined): World;
  worlds(): World[];
  drop(name: string): boolean;
  faults: FaultRegistry;
  mintToken(world: World, email: string): Promise<MintedToken | undefined>;
  /** The behaviour coverage so far; absent when the simulator collects none. */
  conformance?: (() => ConformanceReport) | undefined;
  /** When set, every call needs `Authorization: Bearer <token>`. */
  token?: string;
}

export interface MintedToken {
  user_id: string;
  access_token: string;
  refresh_token: string;
  access_expires: string;
  refresh_expires: string;
}

/** A refusal: HTTP status and message. */
class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The state of a world's clock, as every clock route answers it. */
export function clockState(world: World) {
  const c = world.clock;
  return {
    namespace: world.name,
    mode: c.mode,
    now_ms: c.now(),
    now: new Date(c.now()).toISOString(),
    speed: c.speed,
    frozen: c.frozen,
    pending_timers: c.pending,
    idle: world.ctx.engine.idle(),
  };
}

/** The routes that accept the control token as a query parameter. */
const QUERY_TOKEN_PATHS = /^\/(?:ui|events)\/?$/;

export function controlRouter(host: ControlHost): express.Router {
  const doc = loadContract(CONTROL_CONTRACT_FILE);
  const router = express.Router({ caseSensitive: true });

  router.use(function controlAuth(req, _res, next) {
    if (host.token === undefined || req.get('Authorization') === `Bearer ${host.token}`) return next();
    // A browser opening the dashboard (or an EventSource) cannot set headers: these two GETs,
    // and only they, may carry the token as `?token=` instead.
    const inQuery = req.method === 'GET' && QUERY_TOKEN_PATHS.test(req.path) && (req.query as { token?: unknown }).token === host.token;
    if (inQuery) return next();
    next(new ControlError(401, 'This control plane needs Authorization: Bearer <control token>.'));
  });
  router.use(express.json({ limit: '1mb', strict: false }));
  // Made on the first control request: a simulator that is never steered never pays for it.
  const validation = express.Router();
  let ready = false;
  router.use(function controlValidation(req, res, next) {
    if (!ready) validation.use(...requestValidator(doc, { lenientQuery: false }));
    ready = true;
    validation(req, res, next);
  });

  const world = (req: Request): World => {
    try {
      return host.worldFor(req.get(NAMESPACE_HEADER));
    } catch (err) {
      if (err instanceof NamespaceError) throw new ControlError(400, err.message);
      throw err;
    }
  };
  const route =
    (fn: (req: Request, res: Response) => Promise<unknown> | unknown): RequestHandler =>
    async (req, res, next) => {
      try {
        const out = await fn(req, res);
        if (out !== undefined) res.json(out);
      } catch (err) {
        next(err);
      }
    };
  const virtualOnly = (w: World) => {
    if (w.clock.mode !== 'virtual') throw new ControlError(409, 'Only a virtual clock can be moved: start the simulator with --clock virtual.');
  };
  const filterOf = (req: Request): JournalFilter => {
    const q = req.query as Record<string, unknown>;
    const f: JournalFilter = {};
    if (typeof q.method === 'string') f.method = q.method;
    if (typeof q.path === 'string') f.path = q.path;
    if (typeof q.code === 'number') f.code = q.code;
    if (typeof q.since === 'number') f.since = q.since;
    return f;
  };

  router.get('/clock', route((req) => clockState(world(req))));
  router.post(
    '/clock/advance',
    route(async (req) => {
      const w = world(req);
      virtualOnly(w);
      await w.clock.advance((req.body as { ms: number }).ms);
      return clockState(w);
    }),
  );
  router.post(
    '/clock/run-until-idle',
    route(async (req) => {
      const w = world(req);
      virtualOnly(w);
      await w.clock.runUntilIdle((req.body as { max_ms?: number } | undefined)?.max_ms);
      return clockState(w);
    }),
  );
  router.post(
    '/clock/speed',
    route((req) => {
      const w = world(req);
      w.clock.setSpeed((req.body as { speed: number }).speed);
      return clockState(w);
    }),
  );
  router.post('/clock/freeze', route((req) => (world(req).clock.freeze(), clockState(world(req)))));
  router.post('/clock/resume', route((req) => (world(req).clock.resume(), clockState(world(req)))));

  router.post(
    '/reset',
    route((req) => {
      const w = world(req);
      const started = performance.now();
      w.reset();
      return { namespace: w.name, took_ms: Math.round((performance.now() - started) * 100) / 100 };
    }),
  );
  const snapshotRoute = (verb: 'snapshot' | 'restore') =>
    route(async (req) => {
      const w = world(req);
      const file = (req.body as { file: string }).file;
      try {
        return await (verb === 'snapshot' ? w.snapshot(file) : w.restore(file));
      } catch (err) {
        if (err instanceof SnapshotError) throw new ControlError(400, err.message);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR' || code?.startsWith('TAR_')) {
          throw new ControlError(400, `Cannot ${verb} ${file}: ${(err as Error).message}`);
        }
        throw err;
      }
    });
  router.post('/snapshot', snapshotRoute('snapshot'));
  router.post('/restore', snapshotRoute('restore'));

  router.get(
    '/namespaces',
    route(() => ({
      namespaces: host.worlds().map((w) => ({
        name: w.name,
        tasks: w.ctx.engine.store.size,
        live_tasks: w.ctx.engine.liveCount(),
      })),
    })),
  );
  router.delete(
    '/namespaces/:name',
    route((req) => {
      const name = String(req.params.name);
      try {
        if (!host.drop(name)) throw new ControlError(404, `No namespace "${name}".`);
      } catch (err) {
        if (err instanceof NamespaceError) throw new ControlError(400, err.message);
        throw err;
      }
      return { dropped: name };
    }),
  );

  router.get(
    '/journal',
    route((req) => {
      const entries = world(req).journal.entries(filterOf(req));
      const limit = (req.query as { limit?: number }).limit;
      return { entries: limit === undefined ? entries : entries.slice(-limit) };
    }),
  );
  router.get('/journal/stats', route((req) => world(req).journal.stats(filterOf(req))));
  router.delete('/journal', route((req) => ({ cleared: world(req).journal.clear() })));

  router.get('/events', (req, res, next) => {
    let w: World;
    try {
      w = world(req);
    } catch (err) {
      return next(err);
    }
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Connection', 'keep-alive');
    res.flushHeaders();
    res.write(`: events of namespace ${w.name}\n\n`);
    let id = 0;
    const unsubscribe = w.events.subscribe((event) => {
      res.write(`id: ${++id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    });
    req.on('close', unsubscribe);
  });

  router.get(
    '/tasks',
    route((req) => {
      const w = world(req);
      return { namespace: w.name, tasks: worldTasks(w, (req.query as { limit?: number }).limit) };
    }),
  );

  router.get(
    '/conformance',
    route(() => {
      if (!host.conformance) throw new ControlError(409, 'This simulator collects no coverage: start it with --coverage (or { coverage: true }), or through `cloudreve-sim conformance`.');
      return host.conformance();
    }),
  );

  const dashboard = loadDashboard();
  router.get('/ui', (_req, res) => {
    res.status(200);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', dashboard.csp);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.end(dashboard.html);
  });

  router.get('/faults', route(() => ({ faults: host.faults.list() })));
  router.post(
    '/faults',
    route((req) => {
      const body = req.body as { faults?: FaultRuleInput[] } & FaultRuleInput;
      try {
        return { faults: host.faults.add(Array.isArray(body.faults) ? body.faults : body) };
      } catch (err) {
        if (err instanceof FaultError) throw new ControlError(400, err.message);
        throw err;
      }
    }),
  );
  router.delete('/faults', route(() => ({ removed: host.faults.clear() })));
  router.delete(
    '/faults/:id',
    route((req) => {
      if (!host.faults.remove(String(req.params.id))) throw new ControlError(404, `No fault rule "${String(req.params.id)}".`);
      return { removed: 1 };
    }),
  );

  router.post(
    '/tokens',
    route(async (req) => {
      const email = (req.body as { email: string }).email;
      const minted = await host.mintToken(world(req), email);
      if (!minted) throw new ControlError(404, `No account with email "${email}".`);
      return minted;
    }),
  );

  router.get(
    '/drive',
    route((req) => {
      const ctx = world(req).ctx;
      const q = req.query as { user: string; path?: string };
      const user = /^\d+$/.test(q.user) ? ctx.accounts.userById(Number(q.user)) : ctx.accounts.userByEmail(q.user);
      if (!user) throw new ControlError(404, `No user ${JSON.stringify(q.user)}.`);
      const segments = (q.path ?? '/').split('/').filter(Boolean);
      const node = ctx.drive.stat(user.id, segments);
      if (!node) throw new ControlError(404, `No object at ${JSON.stringify('/' + segments.join('/'))} in the drive of ${user.email}.`);
      const describe = (n: DriveNode) => {
        const policy = n.kind === 'file' ? ctx.policies.byId(n.policyId ?? user.group.policyId) : undefined;
        return {
          name: n.name,
          kind: n.kind,
          size: n.size,
          id: ctx.ids.encode('file', n.id), // files and folders alike (type 2)
          created_at: formatTime(n.createdAt, ctx.site.utcOffsetMinutes),
          updated_at: formatTime(n.updatedAt, ctx.site.utcOffsetMinutes),
          ...(policy ? { policy: ctx.policies.dto(policy, ctx.ids) } : {}),
        };
      };
      const children = ctx.drive.children(user.id, segments);
      return { ...describe(node), ...(children ? { children: children.map(describe) } : {}) };
    }),
  );

  router.get('/policies', route((req) => ({ policies: world(req).ctx.policies.all.map((p) => world(req).ctx.policies.dto(p, world(req).ctx.ids)) })));

  const contractText = readFileSync(CONTROL_CONTRACT_FILE, 'utf8');
  router.get('/openapi.yaml', (_req, res) => {
    res.status(200).setHeader('Content-Type', 'application/yaml; charset=utf-8');
    res.end(contractText);
  });

  router.use((_req: Request, _res: Response, next: NextFunction) => next(new ControlError(404, 'No such control operation.')));
  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; message?: string; errors?: Array<{ path: string; message: string }> };
    const status = err instanceof ControlError ? err.status : typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
    const message =
      err instanceof ControlError
        ? err.message
        : Array.isArray(e.errors) && e.errors.length > 0
          ? e.errors.map((x) => `${x.path}: ${x.message}`).join('; ')
          : status === 500
            ? 'Internal error'
            : (e.message ?? 'Bad request');
    res.status(status).json({ error: message });
  });
  return router;
}
