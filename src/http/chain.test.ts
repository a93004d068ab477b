import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { chain } from './chain.js';

/** An app with one chained route at /r, a second route at /r, and an error handler. */
function appWith(steps: RequestHandler[]) {
  const app = express();
  app.get('/r', chain(steps));
  app.get('/r', (_req, res) => void res.send('second route'));
  app.use(((err, _req, res, _next) => void res.status(500).send(`error: ${(err as Error).message}`)) as express.ErrorRequestHandler);
  return app;
}

describe('chain (steps of a route run as one handler)', () => {
  it('runs the steps in order, each seeing what the one before did', async () => {
    const seen: string[] = [];
    const app = appWith([
      (_req, res, next) => ((res.locals.n = 1), seen.push('a'), next()),
      async (_req, res, next) => ((res.locals.n += 1), seen.push('b'), next()),
      (_req, res) => void (seen.push('c'), res.send(`n=${res.locals.n}`)),
    ]);
    const res = await request(app).get('/r');
    expect([res.status, res.text, seen]).toEqual([200, 'n=2', ['a', 'b', 'c']]);
  });

  it("next('route') skips the rest of the chain and goes on to the next route, as express does", async () => {
    const app = appWith([(_req, _res, next) => next('route'), (_req, res) => void res.send('not reached')]);
    expect((await request(app).get('/r')).text).toBe('second route');
  });

  it('an error passed on, thrown, or rejected goes to the error handler and stops the chain', async () => {
    const after: RequestHandler = (_req, res) => void res.send('not reached');
    const passed = appWith([(_req, _res, next) => next(new Error('passed')), after]);
    const thrown = appWith([
      () => {
        throw new Error('thrown');
      },
      after,
    ]);
    const rejected = appWith([async () => Promise.reject(new Error('rejected')), after]);
    expect((await request(passed).get('/r')).text).toBe('error: passed');
    expect((await request(thrown).get('/r')).text).toBe('error: thrown');
    expect((await request(rejected).get('/r')).text).toBe('error: rejected');
  });

  it('a chain run to its end goes on to the next route', async () => {
    const app = appWith([(_req, _res, next) => next(), (_req, _res, next) => next()]);
    expect((await request(app).get('/r')).text).toBe('second route');
  });
});
