import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createAppServer } from './server.js';

describe('createAppServer', () => {
  const closing: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closing.splice(0)) await close();
  });

  async function serve(app: express.Express) {
    const server = createAppServer(app);
    const seen: Array<{ req: object | null; res: object | null }> = [];
    // Runs before express sees the request: what node:http built.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      seen.push({ req: Object.getPrototypeOf(req) as object, res: Object.getPrototypeOf(res) as object });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closing.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  }

  it("builds requests and responses on the app's own prototypes, before express handles them", async () => {
    const app = express();
    app.get('/x', (req, res) => {
      res.json({ sameRequest: Object.getPrototypeOf(req) === app.request, sameResponse: Object.getPrototypeOf(res) === app.response, q: req.query });
    });
    const { base, seen } = await serve(app);
    const res = await fetch(`${base}/x?a=1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sameRequest: true, sameResponse: true, q: { a: '1' } });
    expect(seen).toEqual([{ req: app.request, res: app.response }]);
  });

  it('serves as app.listen does: bodies, unknown routes and errors', async () => {
    const app = express();
    app.use(express.json());
    app.post('/echo', (req, res) => res.status(201).json(req.body));
    app.get('/fail', () => {
      throw new Error('boom');
    });
    const { base } = await serve(app);
    const posted = await fetch(`${base}/echo`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"a":[1,2]}' });
    expect(posted.status).toBe(201);
    expect(posted.headers.get('content-length')).toBe('11');
    expect(await posted.json()).toEqual({ a: [1, 2] });
    const head = await fetch(`${base}/echo`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    const failed = await fetch(`${base}/fail`);
    expect(failed.status).toBe(500);
    await failed.arrayBuffer();
  });
});
