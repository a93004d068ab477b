/**
 * @module http/binding
 * Request binding as the real server does it (spec §1.5): the body is read as JSON whatever
 * its Content-Type, the contract validates it (express-openapi-validator), and a failure
 * becomes the server's binding message for the first failing field in declaration order.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ApiError, Msg } from '../errors.js';
import {
  resolveRef,
  type JsonSchema,
  type OpenApiDocument,
  type OpenApiOperation,
  type OpenApiParameter,
} from '../contract/index.js';

/** One bindable field of an operation, in the server's declaration order. */
export interface BindingField {
  in: 'query' | 'body' | 'params';
  key: string;
  /** The server-side (PascalCase) name used in messages. */
  field: string;
  required: boolean;
}

export interface Binding {
  fields: BindingField[];
  /** A JSON body is bound. */
  hasBody: boolean;
  /** The body is raw bytes (`application/octet-stream`): the handler streams it, nothing reads it before. */
  rawBody: boolean;
  queryKeys: string[];
  /** Query parameters of type boolean: Go's spellings are read as `true` / `false`. */
  booleanKeys: string[];
  /** Query and path parameters of type integer: only Go's integer spellings decode. */
  integerKeys: { query: string[]; params: string[] };
  /** Every parameter is in the path or the query: validating a body-less request depends on its target alone. */
  targetOnly: boolean;
}

/** Reads an operation's binding fields from the contract. */
export function bindingOf(doc: OpenApiDocument, op: OpenApiOperation): Binding {
  const fields: BindingField[] = [];
  const queryKeys: string[] = [];
  const booleanKeys: string[] = [];
  const integerKeys: Binding['integerKeys'] = { query: [], params: [] };
  let targetOnly = true;
  for (const p of op.parameters ?? []) {
    const param = resolveRef<OpenApiParameter>(doc, p);
    if (param.in !== 'query' && param.in !== 'path') targetOnly = false;
    const type = resolveRef<JsonSchema>(doc, param.schema).type;
    if (type === 'integer' && (param.in === 'query' || param.in === 'path')) integerKeys[param.in === 'path' ? 'params' : 'query'].push(param.name);
    // Path parameters are never "empty" (the route needs them), but their rules name the field.
    if (param.in === 'path') fields.push({ in: 'params', key: param.name, field: param['x-cr-field'] ?? pascal(param.name), required: false });
    if (param.in !== 'query') continue;
    queryKeys.push(param.name);
    if (type === 'boolean') booleanKeys.push(param.name);
    fields.push({ in: 'query', key: param.name, field: param['x-cr-field'] ?? pascal(param.name), required: !!param.required });
  }
  const json = op.requestBody?.content['application/json'];
  const bodySchema = json ? resolveRef<JsonSchema>(doc, json.schema) : undefined;
  for (const [key, prop] of Object.entries(bodySchema?.properties ?? {})) {
    const schema = resolveRef<JsonSchema>(doc, prop);
    fields.push({ in: 'body', key, field: schema['x-cr-field'] ?? pascal(key), required: !!bodySchema?.required?.includes(key) });
  }
  return { fields, hasBody: !!bodySchema, rawBody: !!op.requestBody?.content['application/octet-stream'], queryKeys, booleanKeys, integerKeys, targetOnly };
}

function pascal(key: string): string {
  return key
    .split('_')
    .map((w) => (w === 'id' ? 'ID' : w.charAt(0).toUpperCase() + w.slice(1)))
    .join('');
}

/** Go's zero values: what a `required` rule rejects once JSON has been decoded. */
function isZero(value: unknown): boolean {
  return value === undefined || value === null || value === '' || value === 0 || value === false;
}

/** The validator's error list, as express-openapi-validator reports it. */
interface ValidationIssue {
  path: string;
  errorCode?: string;
}

const TOO_SHORT = new Set(['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties']);
const TOO_LONG = new Set(['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties']);

/**
 * Turns validator issues into the server's binding error. Decoding runs before validation on
 * the server, so a type error anywhere wins: "JSON marshall error" in a body, "Parameter
 * error" in a query. Otherwise the first field (in declaration order) that breaks a rule
 * names the message; within a field, "required" is checked first.
 */
export function bindingError(binding: Binding, issues: ValidationIssue[], req: Request): ApiError {
  const keyword = (i: ValidationIssue) => (i.errorCode ?? '').split('.')[0] ?? '';
  const location = (i: ValidationIssue) => i.path.split('/')[1];
  const typeIssue = issues.find((i) => keyword(i) === 'type');
  if (typeIssue) {
    return ApiError.binding(location(typeIssue) === 'body' ? Msg.jsonMarshall : Msg.parameterError);
  }
  const source = { query: req.query as Record<string, unknown>, body: req.body as Record<string, unknown>, params: req.params as Record<string, unknown> };
  for (const f of binding.fields) {
    const value = source[f.in]?.[f.key];
    const mine = issues.filter((i) => i.path === `/${f.in}/${f.key}` || i.path.startsWith(`/${f.in}/${f.key}/`));
    if (f.required && isZero(value)) return ApiError.binding(`${f.field} cannot be empty`);
    if (mine.length === 0) continue;
    const kw = keyword(mine[0]!);
    // `not: {const: 0}` is how the contract spells "required" for integers.
    if (kw === 'not' || kw === 'required') return ApiError.binding(`${f.field} cannot be empty`);
    if (TOO_SHORT.has(kw)) return ApiError.binding(`${f.field} too short`);
    if (TOO_LONG.has(kw)) return ApiError.binding(`${f.field} too long`);
    if (kw === 'format') return ApiError.binding(`${f.field} format error`);
    return ApiError.binding(Msg.invalidParameters);
  }
  return ApiError.binding(issues.length ? Msg.invalidParameters : Msg.parameterError);
}

/** Drops `null` object members, recursively: Go decodes them into zero values. */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v);
    return out;
  }
  return value;
}

/**
 * Reads the raw body (any Content-Type) and decodes it as the server would: malformed JSON or
 * an empty or oversized body → "Parameter error"; a JSON value that is not an object →
 * "JSON marshall error"; `null` members dropped. Leaves `req.body` as a plain object and marks
 * the request as JSON for the validator.
 */
export function readJsonBody(limit: number): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit });
  const decode = (req: Request, _res: Response, next: NextFunction) => {
    const buf = req.body as unknown;
    const text = Buffer.isBuffer(buf) ? buf.toString('utf8') : '';
    let value: unknown;
    try {
      if (text.trim() === '') throw new Error('empty body');
      value = JSON.parse(text);
    } catch {
      return next(ApiError.binding(Msg.parameterError));
    }
    if (value === null) value = {};
    if (typeof value !== 'object' || Array.isArray(value)) return next(ApiError.binding(Msg.jsonMarshall));
    req.body = dropNulls(value);
    req.headers['content-type'] = 'application/json';
    next();
  };
  // The body may have been read already (the journal reads it first); a failure to read it
  // there is a binding failure here.
  const rawWithErrors = (req: Request, res: Response, next: NextFunction) => {
    if (res.locals.bodyError) return next(ApiError.binding(Msg.parameterError));
    raw(req, res, (err?: unknown) => (err ? next(ApiError.binding(Msg.parameterError)) : next()));
  };
  return [rawWithErrors, decode];
}

/** Go's `strconv.ParseBool` spellings, as the query binding accepts them. */
const GO_BOOLEANS: Record<string, string> = {
  ...Object.fromEntries(['1', 't', 'T', 'TRUE', 'true', 'True'].map((s) => [s, 'true'])),
  ...Object.fromEntries(['0', 'f', 'F', 'FALSE', 'false', 'False'].map((s) => [s, 'false'])),
};

/** Go's `strconv.ParseInt` in base 10: an optional sign and digits, nothing else (no `1.0`, `0x1`, spaces). */
const GO_INTEGER = /^[+-]?\d+$/;

/**
 * Normalizes the query string the way the server reads it: the first value of a repeated
 * parameter wins, an empty value of a bound parameter counts as absent, and a boolean
 * parameter takes Go's spellings (`1`, `t`, `TRUE`…); anything else stays as sent and fails
 * validation ("Parameter error"). An integer query or path parameter that Go would not
 * decode (`1.0`, `0x1`) is "Parameter error" here, where the validator would coerce it.
 */
export function normalizeQuery(binding: Binding): RequestHandler {
  return function normalizeQuery(req, _res, next) {
    const query: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
      const first = Array.isArray(v) ? v[0] : v;
      if (binding.queryKeys.includes(k) && first === '') continue;
      query[k] = binding.booleanKeys.includes(k) && typeof first === 'string' ? (GO_BOOLEANS[first] ?? first) : first;
    }
    const notInteger = (v: unknown) => typeof v === 'string' && !GO_INTEGER.test(v);
    if (binding.integerKeys.query.some((k) => notInteger(query[k])) || binding.integerKeys.params.some((k) => notInteger(req.params[k]))) {
      return next(ApiError.binding(Msg.parameterError));
    }
    // express 5 recomputes req.query on each read; pin the normalized copy.
    Object.defineProperty(req, 'query', { value: query, writable: true, configurable: true, enumerable: true });
    next();
  };
}
