/**
 * @module http/reply
 * A few answers of the real server are not envelopes: the avatar route's empty HTTP 404 for a
 * user without an avatar, say. A handler returns an `HttpReply` for those; the app sends its
 * status, headers and body as they are. The operation must declare the status as a non-200
 * response in the contract (strict mode checks it); HTTP 200 is an envelope unless the
 * operation's 200 response declares another content type (the content route's bytes).
 */
import type { Readable } from 'node:stream';

export class HttpReply {
  constructor(
    readonly status: number,
    readonly headers: Readonly<Record<string, string>> = {},
    /** Bytes, or a function opening a stream (called only when the body is sent: never for HEAD). */
    readonly body: string | Buffer | (() => Readable) = '',
  ) {}
}
