/**
 * @module http/chain
 * Runs a list of middleware as one: what express does for a route's handlers, without a
 * router layer per step. A step ends the chain by answering, by passing an error, or by
 * `next('route')` / `next('router')`, which go on to the enclosing router as they would in
 * express; a step's thrown error or rejected promise is passed on as express 5 does.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export function chain(steps: readonly RequestHandler[]): RequestHandler {
  if (steps.length === 1) return steps[0]!;
  const list = [...steps];
  return function chained(req: Request, res: Response, done: NextFunction): void {
    let i = 0;
    const next = (err?: unknown): void => {
      if (err !== undefined && err !== null) return done(err);
      const step = list[i++];
      if (!step) return done();
      try {
        const result = step(req, res, next) as unknown;
        if (result instanceof Promise) result.then(undefined, (e: unknown) => done(e ?? new Error('Rejected promise')));
      } catch (e) {
        done(e);
      }
    };
    next();
  };
}
