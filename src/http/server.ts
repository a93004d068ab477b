/**
 * @module http/server
 * The HTTP server `sim.listen()` runs the express app in.
 *
 * express gives every request and response its app's prototypes as they arrive
 * (`Object.setPrototypeOf`, in `app.handle`). On the objects node:http builds, that changes each
 * one's shape after it was made, and V8's caches for every property read on them afterwards (in
 * express, the router and the simulator) stop fitting: measured on a bare express app, that swap
 * costs more than half its throughput and most of its p99. Here node:http builds requests and
 * responses on the app's prototypes from the start, so express's swap finds nothing to change.
 * Everything else is node:http's and express's own behaviour, unchanged (`app.listen` is
 * `http.createServer(app)` too).
 */
import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Express } from 'express';

/** A server for `app` whose requests and responses are born with the app's prototypes. */
export function createAppServer(app: Express): Server {
  if (!plainConstructor(IncomingMessage, app.request) || !plainConstructor(ServerResponse, app.response)) return createServer(app);
  const incoming = IncomingMessage as unknown as (this: object, socket: Socket) => void;
  const outgoing = ServerResponse as unknown as (this: object, req: IncomingMessage, options?: object) => void;
  function Request(this: object, socket: Socket): void {
    incoming.call(this, socket);
  }
  function Response(this: object, req: IncomingMessage, options?: object): void {
    outgoing.call(this, req, options);
  }
  // The prototypes themselves, not objects in front of them (express would swap those out too).
  Request.prototype = app.request;
  Response.prototype = app.response;
  return createServer({ IncomingMessage: Request as unknown as typeof IncomingMessage, ServerResponse: Response as unknown as typeof ServerResponse }, app);
}

/**
 * Whether `base` can run on an object already made with `proto`: a constructor function, as
 * node:http's are (a class cannot be called that way; the server then builds node's own objects
 * and express swaps their prototypes as usual), and `proto` one of its kind.
 */
function plainConstructor(base: new (...args: never[]) => object, proto: object): boolean {
  return !/^class\b/.test(Function.prototype.toString.call(base)) && proto instanceof base;
}
