/**
 * @module http/envelope
 * The Cloudreve response envelope: fixed key order, the server's string escaping, correlation
 * ids, and the rendering of `ApiError` values (spec §1.2–§1.4).
 */
import type { Request } from 'express';
import { ApiError, Code } from '../errors.js';
import { parseUuid, type Random } from '../util/random.js';

export interface Envelope {
  code: number;
  data?: unknown;
  aggregated_error?: Record<string, unknown>;
  msg: string;
  error?: string;
  correlation_id?: string;
}

const ENVELOPE_KEYS = ['code', 'data', 'aggregated_error', 'msg', 'error', 'correlation_id'] as const;

/**
 * Serializes an envelope as the server does: keys in envelope order, `data` kept even when
 * empty, and `<`, `>`, `&`, U+2028 and U+2029 escaped inside strings.
 */
export function serializeEnvelope(env: Envelope): string {
  const ordered: Record<string, unknown> = {};
  for (const key of ENVELOPE_KEYS) if (env[key] !== undefined) ordered[key] = env[key];
  return escapeJson(JSON.stringify(ordered));
}

/**
 * An envelope's bytes as they go out. Sent as bytes rather than a string, they are also what the
 * journal keeps of the answer (see control/middleware), and bytes live outside V8's heap: a busy
 * journal's thousands of answers are then not copied at every young-generation collection, which
 * with string bodies made those pauses (and so the slowest answers) about three times as long.
 */
export function envelopeBytes(env: Envelope): Buffer {
  return Buffer.from(serializeEnvelope(env));
}

const ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** Escapes the characters Go's JSON encoder escapes; they only ever occur inside strings. */
export function escapeJson(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => ESCAPES[c]!);
}

/**
 * The correlation id of an error response: the request's `X-Cr-Correlation-Id` when it parses
 * as a UUID (in canonical lower-case form), otherwise a fresh UUID v4.
 */
export function correlationId(req: Request, random: Random): string {
  const header = req.get('X-Cr-Correlation-Id');
  return (header !== undefined && parseUuid(header)) || random.uuid();
}

/**
 * The envelope of an error: message from the error, code from its innermost coded cause. A
 * batch failure carries its items' envelopes in `aggregated_error`, all with the request's
 * correlation id.
 */
export function errorEnvelope(err: ApiError, cid: () => string, debug: boolean): Envelope {
  let id: string | undefined;
  const once = () => (id ??= cid());
  const env = envelopeOf(err, once, debug);
  if (err.aggregated) {
    const items: Record<string, unknown> = {};
    for (const [key, item] of err.aggregated) {
      const nested = envelopeOf(item, once, debug);
      items[key] = { code: nested.code, msg: nested.msg, ...(nested.error ? { error: nested.error } : {}), correlation_id: once() };
    }
    env.aggregated_error = items;
  }
  return env;
}

function envelopeOf(err: ApiError, cid: () => string, debug: boolean): Envelope {
  const code = err.effectiveCode;
  // Nothing in the chain carries a code: the server sends -1 with an empty message.
  const env: Envelope = { code, msg: code === Code.Unset ? '' : err.message };
  if (err.data !== undefined) env.data = err.data;
  // Debug mode adds the raw internal text, when there is one.
  const raw = err.detail ?? (err.cause instanceof Error ? err.cause.message : undefined);
  if (debug && raw) env.error = raw;
  if (err.withCorrelationId) env.correlation_id = cid();
  return env;
}
