/**
 * @module control/middleware
 * What the control plane does to requests under /api/v4: pick the world (`X-Sim-Namespace`),
 * journal the exchange, and inject declared faults. Without a declared fault, the Cloudreve
 * wire behaviour is untouched.
 */
import express, { type Request, type RequestHandler, type Response } from 'express';
import { wallDelay } from '../engine/clock.js';
import { correlationId, envelopeBytes } from '../http/envelope.js';
import type { World } from '../world.js';
import { parsePreferFaults, type FaultRegistry, type FaultRule } from './faults.js';
import type { ObservedExchange } from './conformance.js';
import { decodeBody, type ExchangeRecord } from './journal.js';

export const NAMESPACE_HEADER = 'X-Sim-Namespace';

/** Thrown for a namespace name that cannot be used; answered with a plain 400. */
export class NamespaceError extends Error {
  override readonly name = 'NamespaceError';
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      world?: World;
      /** The request body could not be read (too large, cut off). */
      bodyError?: unknown;
      /** Given every chunk the response writes, for the journal. */
      journalKeep?: (chunk: unknown) => void;
    }
  }
}

/** Sets the request's world from its `X-Sim-Namespace` header (the default world without one). */
export function selectWorld(worldFor: (name: string | undefined) => World): RequestHandler {
  return function selectWorld(req, res, next) {
    try {
      const world = worldFor(req.get(NAMESPACE_HEADER));
      res.locals.world = world;
      res.locals.ctx = world.ctx;
      next();
    } catch (err) {
      if (!(err instanceof NamespaceError)) return next(err);
      res.status(400).setHeader('Content-Type', 'text/plain');
      res.end(err.message);
    }
  };
}

/** Largest body (request or response) the journal keeps; a longer one is recorded by its size. */
export const JOURNAL_BODY_CAP = 256 * 1024;

const HOOKED = Symbol('journal hooks');

/**
 * Lets the journal see what responses write: the app's response prototype (express's
 * `app.response`, which every response of the app gets) hands each chunk to the request's
 * `journalKeep` before writing it. Done once per prototype; giving every response its own
 * `write` and `end` instead costs V8 a new object shape per response (about a tenth of a
 * request's time in profiles).
 */
function hookResponses(res: Response): void {
  const proto = Object.getPrototypeOf(res) as Response & { [HOOKED]?: true };
  if (Object.hasOwn(proto, HOOKED)) return;
  const { write, end } = proto;
  proto.write = function (this: Response, chunk: unknown, ...rest: unknown[]) {
    this.locals?.journalKeep?.(chunk);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Response['write'];
  proto.end = function (this: Response, chunk?: unknown, ...rest: unknown[]) {
    this.locals?.journalKeep?.(chunk);
    return (end as (...args: unknown[]) => Response).call(this, chunk, ...rest);
  } as Response['end'];
  proto[HOOKED] = true;
}

/**
 * Records every request and its response in the world's journal, at simulated time. It reads
 * the request body itself (up to `bodyLimit`), so the journal holds what the client sent even
 * when a fault answers or no route exists; routes then find the body already read. Raw bodies
 * (`streamed`) are left to their routes.
 */
export function journal(
  bodyLimit: number,
  streamed: (method: string, path: string) => boolean = () => false,
  observe?: (exchange: ObservedExchange) => void,
): RequestHandler {
  const readBody = express.raw({ type: () => true, limit: bodyLimit });
  return function journal(req, res, next) {
    const world = res.locals.world!;
    const at = world.clock.now();
    const chunks: Array<Buffer | string> = [];
    let size = 0;
    const keep = (chunk: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      const length = Buffer.isBuffer(chunk) ? chunk.length : Buffer.byteLength(String(chunk));
      // Past the cap only the size counts (the entry then says how long the answer was) and the
      // first bytes, which hold the envelope's code.
      if (size + length <= JOURNAL_BODY_CAP || size < 32) chunks.push(Buffer.isBuffer(chunk) ? chunk : String(chunk));
      size += length;
    };
    hookResponses(res);
    res.locals.journalKeep = keep;
    let sent: Buffer | string | null = null;
    res.on('close', () => {
      // One chunk (an envelope) goes to the journal as it is, which copies it into its slabs.
      const kept = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks.map((c) => (Buffer.isBuffer(c) ? c : Buffer.from(c))));
      // An answer over the cap keeps only its head, which holds the envelope's code.
      const response = size > JOURNAL_BODY_CAP ? kept.slice(0, 32) : kept;
      const head = typeof response === 'string' ? response.slice(0, 24) : response.toString('latin1', 0, 24);
      const code = /^\{"code":(-?\d+)[,}]/.exec(head)?.[1];
      const exchange: ExchangeRecord = {
        namespace: world.name,
        at_ms: at,
        method: req.method,
        target: req.originalUrl,
        headers: JSON.stringify(req.headers),
        sent,
        status: res.headersSent ? res.statusCode : 0,
        code: code === undefined ? null : Number(code),
        response,
        responseSize: size,
        responseCap: JOURNAL_BODY_CAP,
      };
      world.journal.recordExchange(exchange);
      if (observe) {
        const q = req.originalUrl.indexOf('?');
        observe({
          method: req.method,
          path: q < 0 ? req.originalUrl : req.originalUrl.slice(0, q),
          operation: res.locals.operationId,
          code: exchange.code,
          response: () => (size > JOURNAL_BODY_CAP ? `<${size} bytes>` : decodeBody(response.toString())),
        });
      }
    });
    // A raw body (file content, upload chunks) is the route's to stream: the journal keeps its size only.
    if (streamed(req.method, req.path)) {
      const length = req.get('Content-Length');
      sent = length === undefined ? null : `<${length} bytes>`;
      return next();
    }
    // No body at all (no length, not chunked), as with most GETs: nothing to read.
    if (req.headers['transfer-encoding'] === undefined && req.headers['content-length'] === undefined) return next();
    readBody(req, res, (err?: unknown) => {
      // A body over the limit is the route's to refuse ("Parameter error"); remember it.
      if (err) res.locals.bodyError = err;
      else if (Buffer.isBuffer(req.body)) sent = req.body.length > JOURNAL_BODY_CAP ? `<${req.body.length} bytes>` : req.body;
      next();
    });
  };
}

/** The query string as the client wrote it: strings, repeated keys as arrays. */
const NO_RULES: readonly FaultRule[] = Object.freeze([]);

/** Applies a request fault (from a rule or the request's `Prefer` header) before routing. */
export function requestFaults(faults: FaultRegistry): RequestHandler {
  return function requestFaults(req, res, next) {
    const world = res.locals.world!;
    const header = req.get('Prefer');
    let prefer: readonly FaultRule[] = NO_RULES;
    if (header !== undefined) {
      try {
        prefer = parsePreferFaults(header).map((input, i) => ({ ...input, id: `prefer-${i + 1}`, fired: 0 }) as FaultRule);
      } catch (err) {
        res.status(400).setHeader('Content-Type', 'text/plain');
        res.end(err instanceof Error ? err.message : String(err));
        return;
      }
      const taskRules = prefer.filter((r) => 'task' in r);
      if (taskRules.length > 0) {
        res.locals.aroundHandler = (fn) => faults.withTaskRules(taskRules, fn);
      }
    }
    const own = prefer.find((r) => 'request' in r);
    const url = req.originalUrl;
    const q = url.indexOf('?');
    const rule = own ? (faults.fire(own) ? own : undefined) : faults.forRequest(world.name, req.method, q < 0 ? url : url.slice(0, q));
    if (!rule) return next();
    if ('envelope' in rule) {
      const e = rule.envelope;
      const env = { code: e.code, ...(e.data !== undefined ? { data: e.data } : {}), msg: e.msg ?? '', ...(e.correlation_id === false ? {} : { correlation_id: correlationId(req, world.ctx.random) }) };
      res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Cache-Control', 'private, no-cache');
      res.end(envelopeBytes(env));
      return;
    }
    if (!('transport' in rule)) return next();
    const t = rule.transport;
    if (t === 'reset') {
      req.socket.destroy();
      return;
    }
    if (t === 'truncate') {
      truncate(req, res);
      return next();
    }
    const aborted = new AbortController();
    res.once('close', () => aborted.abort()); // before an answer, 'close' means the client left
    return wallDelay(t.delay_ms, aborted.signal).then(() => {
      if (!aborted.signal.aborted) next(); // the client may have gone meanwhile
    });
  };
}

/** Lets the route answer, then sends its headers (with the full Content-Length) and half of its body, and cuts the connection. */
function truncate(req: Request, res: Response): void {
  res.end = ((chunk?: unknown) => {
    const body = chunk === undefined || chunk === null ? Buffer.alloc(0) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    res.setHeader('Content-Length', body.length);
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => req.socket.destroy());
    return res;
  }) as Response['end'];
}
