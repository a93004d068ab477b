/**
 * @module http/app
 * The express application. Routes are built from the contract: every operation in
 * `openapi/cloudreve-v4.yaml` becomes one route under /api/v4 whose chain is
 *   caller resolution → the operation's guards (`x-cr-guards`) → binding → handler,
 * which is the real server's precedence (spec §3). Every answer goes through one renderer.
 */
import { pipeline } from 'node:stream';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { User } from '../accounts/accounts.js';
import { routeValidator } from '../contract/validator.js';
import { HTTP_METHODS, isServed, operationMatcher, type OpenApiDocument, type OpenApiOperation, type OperationId } from '../contract/index.js';
import { ApiError, Code, Msg } from '../errors.js';
import type { Edition, ServiceContext } from '../services/context.js';
import { resolveCaller } from '../services/session.js';
import { bindingError, bindingOf, normalizeQuery, readJsonBody, type Binding } from './binding.js';
import { correlationId, envelopeBytes, errorEnvelope, type Envelope } from './envelope.js';
import { handlers as defaultHandlers, type Handler, type Handlers } from './routes/index.js';
import { HttpReply } from './reply.js';
import { createResponseChecker } from './self-check.js';
import { chain } from './chain.js';
import { trailingSlashRedirect } from './trailing-slash.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /** The world this request runs in (set before routing). */
      ctx?: ServiceContext;
      /** Wraps the handler call (the control plane binds a request's task faults this way). */
      aroundHandler?: <T>(fn: () => T) => T;
      operationId?: OperationId;
      caller?: User;
      taskId?: number;
      /** The decoded user id on operations guarded by `userId`. */
      userId?: number;
      /** The decoded entity number on operations guarded by `entityId`. */
      entityId?: number;
      /** The validated query, when it was remembered (otherwise `req.query` holds it). */
      query?: Record<string, unknown>;
      /** The envelope `code` sent, for the request log. */
      envelopeCode?: number;
    }
  }
}

export interface HttpOptions {
  /** Which operations exist (`x-cr-edition: pro` ones only on pro). */
  edition: Edition;
  /** The simulated version is below 4.18.0: operations marked `x-cr-since: 4.18.0` do not exist. */
  legacy?: boolean;
  /** Run for every request under /api/v4 before routing; one of them must set `res.locals.ctx`. */
  before: RequestHandler[];
  /** Routers mounted beside the API (the control plane). */
  mounts?: Array<[string, RequestHandler]>;
  /** Validate every response against the contract; a mismatch is logged and answered with a 500. */
  strict: boolean;
  /** Add the raw internal text (`error`) to error envelopes. */
  debug: boolean;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  logger: Logger;
  /** Run first for every request under /api/v4 (the CORS answers, when enabled). */
  cors?: RequestHandler;
  /** Tried after every route, before the plain 404 (the web frontend, when served). */
  fallback?: RequestHandler;
}

const NOT_FOUND = '404 page not found';
const NO_PROBLEMS: readonly string[] = Object.freeze([]);

/** A `before` middleware that runs every request in one fixed context. */
export function fixedContext(ctx: ServiceContext): RequestHandler {
  return function fixedContext(_req, res, next) {
    res.locals.ctx = ctx;
    next();
  };
}

const ctxOf = (res: Response): ServiceContext => {
  if (!res.locals.ctx) throw new Error('No world selected for this request.');
  return res.locals.ctx;
};

/** Builds the simulator's express app. `handlers` can be replaced (tests do). */
export function createHttpApp(doc: OpenApiDocument, options: HttpOptions, handlers: Handlers = defaultHandlers): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('case sensitive routing', true);
  app.use(chain([requestLog(options.logger), badRequestTarget]));

  const checker = options.strict ? createResponseChecker(doc) : undefined;
  const validatorFor = routeValidator(doc);

  const send = (req: Request, res: Response, env: Envelope): void => {
    const opId = res.locals.operationId;
    const problems = checker && opId ? checker.check(opId, env) : NO_PROBLEMS;
    if (problems.length > 0) {
      options.logger.error({ operationId: opId, problems, body: env }, 'response does not match the contract');
      res.status(500).end();
      return;
    }
    res.locals.envelopeCode = env.code;
    res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(envelopeBytes(env));
  };

  /** A non-envelope answer (HttpReply); strict mode checks the operation declares its status. */
  const sendReply = (res: Response, reply: HttpReply): void => {
    const opId = res.locals.operationId;
    const problems = checker && opId ? checker.checkStatus(opId, reply.status) : NO_PROBLEMS;
    if (problems.length > 0) {
      options.logger.error({ operationId: opId, problems, status: reply.status }, 'response does not match the contract');
      res.status(500).end();
      return;
    }
    res.status(reply.status);
    for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
    writeReplyBody(res, reply);
  };

  // Strict: a trailing slash is no route's path; it is redirected (see http/trailing-slash).
  const router = express.Router({ caseSensitive: true, strict: true });
  // Routes without path parameters by method and path, to skip the router's walk (see `dispatch`).
  const fixed = new Map<string, RequestHandler>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method] as OpenApiOperation | undefined;
      if (!op) continue;
      if (!isServed(op, options.edition, options.legacy ?? false)) continue;
      const handler = handlers[op.operationId as OperationId] as Handler<OperationId> | undefined;
      if (!handler) throw new Error(`No handler for contract operation ${op.operationId}.`);
      const binding = bindingOf(doc, op);
      // One handler per route: its steps run as one chain (see http/chain).
      const route = chain([
        // Express lets HEAD into GET routes; only operations declared for HEAD answer it.
        ...(method === 'get' ? [skipHead] : []),
        operation(op.operationId as OperationId),
        callerResolution(),
        ...guards(op),
        ...bind(binding, validatorFor(), options.bodyLimit),
        run(handler, (req, res, env) => send(req, res, env), sendReply),
      ]);
      router[method](expressPath(path), route);
      if (!path.includes('{') && method !== 'head') fixed.set(`${method.toUpperCase()} ${path}`, route);
    }
  }
  // The contract has no OPTIONS operations, but express would answer them by itself (with an
  // Allow list); the real server answers 404. HEAD reaches only the operations declaring it.
  for (const [at, handler] of options.mounts ?? []) app.use(at, handler);
  app.use(
    '/api/v4',
    chain([
      ...(options.cors ? [options.cors] : []),
      ...options.before,
      (req: Request, res: Response, next: NextFunction) => (req.method === 'OPTIONS' ? notFound(req, res) : next()),
      dispatch(fixed, router),
      trailingSlashRedirect(operationMatcher(doc, '', (op) => isServed(op, options.edition, options.legacy ?? false))),
    ]),
  );
  if (options.fallback) app.use(options.fallback);
  app.use(notFound);

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ApiError && res.locals.ctx) {
      const random = res.locals.ctx.random;
      send(req, res, errorEnvelope(err, () => correlationId(req, random), options.debug));
      return;
    }
    // A crash inside the simulator: logged, answered like the real server (500, empty body).
    options.logger.error({ err, url: req.originalUrl }, 'unhandled error');
    if (!res.headersSent) res.status(500).end();
  });
  return app;
}

/** Unknown path, or a known path with another method: plain text, never JSON or 405. */
function notFound(_req: Request, res: Response): void {
  res.status(404).setHeader('Content-Type', 'text/plain');
  res.end(NOT_FOUND);
}

/** A HEAD request on a GET route goes on to the next route (a declared HEAD one, or the 404). */
function skipHead(req: Request, _res: Response, next: NextFunction): void {
  next(req.method === 'HEAD' ? 'route' : undefined);
}

/**
 * Sends a reply's body: nothing for HEAD (a stream is then never opened), bytes as they are, a
 * stream piped; a stream failing midway cuts the connection (the status has gone out).
 */
function writeReplyBody(res: Response, reply: HttpReply): void {
  const body = reply.body;
  if (res.req.method === 'HEAD') {
    res.end();
  } else if (typeof body === 'function') {
    pipeline(body(), res, (err) => {
      if (err && !res.destroyed) res.destroy(err);
    });
  } else {
    res.end(body);
  }
}

/**
 * Sends a request for a route without path parameters straight to it, as the router would
 * (case-sensitive, the exact path, no parameters); anything else goes through the router,
 * which tries each route's pattern in turn. A route passing the request on (`next('route')`)
 * hands it to the router; `next('router')` leaves the router.
 */
function dispatch(fixed: Map<string, RequestHandler>, router: RequestHandler): RequestHandler {
  return function dispatch(req, res, next) {
    const route = fixed.get(`${req.method} ${req.path}`);
    if (!route) return router(req, res, next);
    req.params = {};
    route(req, res, (err?: unknown) => (err === 'route' ? router(req, res, next) : err === 'router' ? next() : next(err)));
  };
}

/** `/workflow/progress/{id}` → `/workflow/progress/:id` */
function expressPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}

function operation(operationId: OperationId): RequestHandler {
  return function operation(_req, res, next) {
    res.locals.operationId = operationId;
    next();
  };
}

/** Token errors beat everything; past them every response is marked `private, no-cache`. */
function callerResolution(): RequestHandler {
  return async function callerResolution(req, res, next) {
    try {
      const user = await resolveCaller(ctxOf(res), req.get('Authorization'));
      if (user) res.locals.caller = user;
      res.setHeader('Cache-Control', 'private, no-cache');
      next();
    } catch (err) {
      next(err);
    }
  };
}

const GUARDS = ['login', 'admin', 'taskId', 'userId', 'signature', 'entityId'] as const;
type Guard = (typeof GUARDS)[number];

function guards(op: OpenApiOperation): RequestHandler[] {
  const names = op['x-cr-guards'] ?? [];
  return names.map((name) => {
    if (!(GUARDS as readonly string[]).includes(name)) {
      throw new Error(`Unknown guard "${name}" on ${op.operationId}: use one of ${GUARDS.join(', ')}.`);
    }
    return guard(name as Guard);
  });
}

function guard(name: Guard): RequestHandler {
  switch (name) {
    case 'login':
      return function login(_req, res, next) {
        next(res.locals.caller ? undefined : new ApiError(Code.LoginRequired, Msg.loginRequired));
      };
    case 'admin':
      return function admin(_req, res, next) {
        const user = res.locals.caller;
        next(user && ctxOf(res).accounts.hasPermission(user, 'admin') ? undefined : new ApiError(Code.NoPermission, ''));
      };
    case 'userId':
      return function userId(req, res, next) {
        const id = ctxOf(res).ids.decode('user', String(req.params.id ?? ''));
        if (id === undefined) return next(new ApiError(Code.ParamErr, Msg.parseObjectId));
        res.locals.userId = id;
        next();
      };
    case 'taskId':
      return function taskId(req, res, next) {
        const id = ctxOf(res).ids.decode('task', String(req.params.id ?? ''));
        if (id === undefined) return next(new ApiError(Code.ParamErr, Msg.parseObjectId));
        res.locals.taskId = id;
        next();
      };
    case 'signature':
      // A signed URL (POST /file/url): the signature covers the decoded path and an expiry.
      return function signature(req, res, next) {
        const ctx = ctxOf(res);
        const sign = (req.query as Record<string, unknown>).sign;
        try {
          ctx.signer.check(decodedPath(req), Array.isArray(sign) ? String(sign[0]) : (sign as string | undefined), Math.floor(ctx.clock.now() / 1000));
          next();
        } catch (err) {
          next(err);
        }
      };
    case 'entityId':
      return function entityId(req, res, next) {
        const id = ctxOf(res).ids.decode('entity', String(req.params.id ?? ''));
        if (id === undefined) return next(new ApiError(Code.ParamErr, Msg.parseObjectId));
        res.locals.entityId = id;
        next();
      };
  }
}

/** The request path as the server reads it: percent-decoded (an undecodable path names nothing). */
function decodedPath(req: Request): string {
  try {
    return decodeURIComponent(req.originalUrl.split('?')[0] ?? '');
  } catch {
    return '';
  }
}

/** Body decoding, query normalization and contract validation, with the server's messages. */
function bind(binding: Binding, validator: RequestHandler[], bodyLimit: number): RequestHandler[] {
  // The validator reports through next(err); translate its report before anything renders it.
  const validate = validator.map(
    (mw): RequestHandler =>
      function validate(req, res, next) {
        mw(req, res, (err?: unknown) => {
          const issues = (err as { errors?: Array<{ path: string; errorCode?: string }> } | undefined)?.errors;
          next(err && Array.isArray(issues) ? bindingError(binding, issues, req) : err);
        });
      },
  );
  const checks = [normalizeQuery(binding), ...validate];
  if (binding.hasBody) return [...readJsonBody(bodyLimit), ...checks];
  if (binding.rawBody) return [rawBody, ...checks];
  return binding.targetOnly ? [rememberingValid(chain(checks))] : checks;
}

/** How many distinct valid request targets each body-less route remembers. */
const VALID_TARGETS_KEPT = 1024;

/**
 * The checks of an operation without a body whose parameters are all in the path or the query,
 * remembering the request targets that passed: what they decide and produce (the normalized,
 * coerced query and path parameters) depends on the target alone, so a client polling the same URL is validated once, not at every poll. A target
 * that failed is checked again each time (its error renders from the request). A request that
 * carries a body anyway (the journal has read it) is always checked in full. Each route keeps its
 * latest `VALID_TARGETS_KEPT` targets.
 */
function rememberingValid(checks: RequestHandler): RequestHandler {
  const valid = new Map<string, { query: Record<string, unknown>; params: Record<string, string> }>();
  const copy = <T extends Record<string, unknown>>(o: T): T => {
    const out: Record<string, unknown> = {};
    for (const k in o) out[k] = Array.isArray(o[k]) ? [...(o[k] as unknown[])] : o[k];
    return out as T;
  };
  return function validated(req, res, next) {
    if (req.body !== undefined) return checks(req, res, next);
    const target = req.originalUrl;
    const known = valid.get(target);
    if (known) {
      // Handed to the handler as the checks' own result would be (see `run`).
      res.locals.query = copy(known.query);
      req.params = copy(known.params);
      return next();
    }
    checks(req, res, (err?: unknown) => {
      if (err === undefined || err === null) {
        if (valid.size >= VALID_TARGETS_KEPT) valid.delete(valid.keys().next().value!);
        valid.set(target, { query: copy(req.query as Record<string, unknown>), params: copy(req.params as Record<string, string>) });
      }
      next(err);
    });
  };
}

/**
 * A raw body is left in the request stream for the handler; the validator is only told what
 * it is (the server does not check `Content-Type` there).
 */
function rawBody(req: Request, _res: Response, next: NextFunction): void {
  req.headers['content-type'] = 'application/octet-stream';
  next();
}

/**
 * Whether a request goes to an operation whose body is raw bytes (`application/octet-stream`
 * in the contract): nothing in front of it may read that body (the journal skips it). `path`
 * is relative to /api/v4.
 */
export function streamsBody(doc: OpenApiDocument): (method: string, path: string) => boolean {
  // Asked for every request: only the few raw-body operations are tried.
  const rawAt = operationMatcher(doc, '', (op) => !!op.requestBody?.content['application/octet-stream']);
  return (method, path) => rawAt(method, path) !== undefined;
}

function run(
  handler: Handler<OperationId>,
  send: (req: Request, res: Response, env: Envelope) => void,
  sendReply: (res: Response, reply: HttpReply) => void,
): RequestHandler {
  return function handle(req, res, next) {
    const answer = (data: unknown) => {
      if (data instanceof HttpReply) sendReply(res, data);
      else send(req, res, data === undefined ? { code: Code.Success, msg: '' } : { code: Code.Success, data, msg: '' });
    };
    const call = () =>
      handler({
        ctx: ctxOf(res),
        caller: res.locals.caller,
        body: req.body as never,
        query: (res.locals.query ?? req.query) as never,
        taskId: res.locals.taskId,
        userId: res.locals.userId,
        entityId: res.locals.entityId,
        req,
      });
    let data: unknown;
    try {
      data = res.locals.aroundHandler ? res.locals.aroundHandler(call) : call();
    } catch (err) {
      return next(err);
    }
    // Most handlers answer at once; only those that wait get a promise hop.
    if (data instanceof Promise) return void data.then(answer).catch(next);
    try {
      answer(data);
    } catch (err) {
      next(err);
    }
  };
}

/**
 * A request whose path does not percent-decode (`%ZZ`, a lone `%`, bytes that are not UTF-8) is
 * refused before routing, as Go's HTTP server refuses a request target it cannot parse: 400,
 * plain text. (Go would route a path whose escapes are valid but not UTF-8; routing here
 * needs the decoded path, so those get the 400 too.)
 */
function badRequestTarget(req: Request, res: Response, next: NextFunction): void {
  try {
    decodeURIComponent(req.originalUrl.split('?')[0] ?? '');
  } catch {
    res.status(400).setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Connection', 'close');
    res.end('400 Bad Request');
    return;
  }
  next();
}

/** One log line per request: method, path, HTTP status, envelope code, time taken. */
function requestLog(logger: Logger): RequestHandler {
  return function requestLog(req, res, next) {
    // Nothing to do per request when request lines are not logged (the level is read each time: it can change).
    if (!logger.isLevelEnabled('info')) return next();
    const started = performance.now();
    res.on('finish', () => {
      logger.info(
        {
          method: req.method,
          // A control token given in the query (the dashboard's `?token=`) stays out of the log.
          url: req.originalUrl.replace(/([?&]token=)[^&#]*/g, '$1[redacted]'),
          status: res.statusCode,
          code: res.locals.envelopeCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
        },
        'request',
      );
    });
    next();
  };
}
