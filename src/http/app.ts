/**
 * @module http/app
 * The express application. Routes are built from the contract: every operation in
 * `openapi/cloudreve-v4.yaml` becomes one route under /api/v4 whose chain is
 *   caller resolution → the operation's guards (`x-cr-guards`) → binding → handler,
 * which is the real server's precedence (spec §3). Every answer goes through one renderer.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { User } from '../accounts/accounts.js';
import { requestValidator } from '../contract/validator.js';
import { HTTP_METHODS, type OpenApiDocument, type OpenApiOperation, type OperationId } from '../contract/index.js';
import { ApiError, Code, Msg } from '../errors.js';
import type { Edition, ServiceContext } from '../services/context.js';
import { resolveCaller } from '../services/session.js';
import { bindingError, bindingOf, normalizeQuery, readJsonBody, type Binding } from './binding.js';
import { correlationId, errorEnvelope, serializeEnvelope, type Envelope } from './envelope.js';
import { handlers as defaultHandlers, type Handler, type Handlers } from './routes/index.js';
import { createResponseChecker } from './self-check.js';

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
      /** The envelope `code` sent, for the request log. */
      envelopeCode?: number;
    }
  }
}

export interface HttpOptions {
  /** Which operations exist (`x-cr-edition: pro` ones only on pro). */
  edition: Edition;
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
}

const NOT_FOUND = '404 page not found';

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
  app.use(requestLog(options.logger));

  const checker = options.strict ? createResponseChecker(doc) : undefined;
  const validator = requestValidator(doc, { lenientQuery: true });

  const send = (req: Request, res: Response, env: Envelope): void => {
    const opId = res.locals.operationId;
    const problems = checker && opId ? checker.check(opId, env) : [];
    if (problems.length > 0) {
      options.logger.error({ operationId: opId, problems, body: env }, 'response does not match the contract');
      res.status(500).end();
      return;
    }
    res.locals.envelopeCode = env.code;
    res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(serializeEnvelope(env));
  };

  const router = express.Router({ caseSensitive: true, strict: false });
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method] as OpenApiOperation | undefined;
      if (!op) continue;
      if (op['x-cr-edition'] === 'pro' && options.edition !== 'pro') continue;
      const handler = handlers[op.operationId as OperationId] as Handler<OperationId> | undefined;
      if (!handler) throw new Error(`No handler for contract operation ${op.operationId}.`);
      const binding = bindingOf(doc, op);
      router[method](expressPath(path), [
        operation(op.operationId as OperationId),
        callerResolution(),
        ...guards(op),
        ...bind(binding, validator, options.bodyLimit),
        run(handler, (req, res, env) => send(req, res, env)),
      ]);
    }
  }
  // The contract has no HEAD or OPTIONS operations, but express would answer both by itself
  // (HEAD from the GET route, OPTIONS with an Allow list); the real server answers 404.
  for (const [at, handler] of options.mounts ?? []) app.use(at, handler);
  app.use('/api/v4', ...options.before);
  app.use('/api/v4', (req: Request, res: Response, next: NextFunction) =>
    req.method === 'HEAD' || req.method === 'OPTIONS' ? notFound(req, res) : next(),
  );
  app.use('/api/v4', router);
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

const GUARDS = ['login', 'admin', 'taskId'] as const;
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
    case 'taskId':
      return function taskId(req, res, next) {
        const id = ctxOf(res).ids.decode('task', String(req.params.id ?? ''));
        if (id === undefined) return next(new ApiError(Code.ParamErr, Msg.parseObjectId));
        res.locals.taskId = id;
        next();
      };
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
  return [...(binding.hasBody ? readJsonBody(bodyLimit) : []), normalizeQuery(binding), ...validate];
}

function run(handler: Handler<OperationId>, send: (req: Request, res: Response, env: Envelope) => void): RequestHandler {
  return async function handle(req, res, next) {
    try {
      const call = () =>
        handler({
          ctx: ctxOf(res),
          caller: res.locals.caller,
          body: req.body as never,
          query: req.query as never,
          taskId: res.locals.taskId,
          req,
        });
      const data = await (res.locals.aroundHandler ? res.locals.aroundHandler(call) : call());
      send(req, res, data === undefined ? { code: Code.Success, msg: '' } : { code: Code.Success, data, msg: '' });
    } catch (err) {
      next(err);
    }
  };
}

/** One log line per request: method, path, HTTP status, envelope code, time taken. */
function requestLog(logger: Logger): RequestHandler {
  return function requestLog(req, res, next) {
    const started = performance.now();
    res.on('finish', () => {
      logger.info(
        {
          method: req.method,
          url: req.originalUrl,
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
