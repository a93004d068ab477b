/**
 * @module contract
 * The OpenAPI contract (`openapi/cloudreve-v4.yaml`) loaded for the HTTP layer, and the types
 * generated from it (`openapi.gen.ts`, made by `npm run generate:types`; never edit by hand).
 */
import { fileURLToPath } from 'node:url';
import { readYamlFile, twinOf } from '../util/yaml-file.js';
import type { components, operations } from './openapi.gen.js';

export type { components, operations, paths } from './openapi.gen.js';

export type Schemas = components['schemas'];
export type OperationId = keyof operations;

type JsonResponse<K extends OperationId> = operations[K]['responses'][200]['content']['application/json'];
/** The success envelope of an operation. */
export type SuccessEnvelope<K extends OperationId> = Extract<JsonResponse<K>, { code: 0 }>;
/** What a handler returns: the success `data`, or undefined for operations without it. */
export type SuccessData<K extends OperationId> = SuccessEnvelope<K> extends { data: infer D } ? D : undefined;
/** The parsed JSON body of an operation (after binding). */
export type RequestBody<K extends OperationId> = operations[K] extends {
  requestBody: { content: { 'application/json': infer B } };
}
  ? B
  : undefined;
/** The parsed query of an operation (after binding). */
export type RequestQuery<K extends OperationId> = operations[K] extends { parameters: { query?: infer Q } }
  ? NonNullable<Q>
  : never;

/** Where the contract file lives inside the package. */
export const CONTRACT_FILE = fileURLToPath(new URL('../../openapi/cloudreve-v4.yaml', import.meta.url));

/** A loosely typed view of the OpenAPI document, enough to walk it. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation | unknown>>;
  components: { schemas: Record<string, JsonSchema>; parameters?: Record<string, OpenApiParameter> };
  [key: string]: unknown;
}

export interface OpenApiOperation {
  operationId: string;
  parameters?: Array<OpenApiParameter | { $ref: string }>;
  requestBody?: { content: { 'application/json'?: { schema: JsonSchema }; 'application/octet-stream'?: { schema: JsonSchema } } };
  security?: unknown[];
  'x-cr-guards'?: string[];
  'x-cr-edition'?: 'pro';
  /** The first server version with this operation (older simulated versions answer the plain 404). */
  'x-cr-since'?: '4.18.0';
  [key: string]: unknown;
}

export interface OpenApiParameter {
  name: string;
  in: 'query' | 'path' | 'header';
  required?: boolean;
  'x-cr-field'?: string;
  schema: JsonSchema;
}

export type JsonSchema = Record<string, unknown> & {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  'x-cr-field'?: string;
};

// Parsed contracts are deeply frozen and shared: they are read-only data, not simulator state.
const parsed = new Map<string, OpenApiDocument>();

/** The JSON twin of a contract when the build wrote one from the current YAML; otherwise the YAML (see util/yaml-file). */
export function readContract(file: string, twin: string | undefined = twinOf(file)): OpenApiDocument {
  return readYamlFile(file, twin) as OpenApiDocument;
}

/** Reads and parses the contract (once per file per process; the result is frozen). */
export function loadContract(file: string = CONTRACT_FILE): OpenApiDocument {
  let doc = parsed.get(file);
  if (!doc) {
    doc = deepFreeze(readContract(file));
    parsed.set(file, doc);
  }
  return doc;
}

/** Whether a simulated server serves an operation: `x-cr-edition: pro` ones only on pro, `x-cr-since: 4.18.0` ones not below 4.18.0. */
export function isServed(op: OpenApiOperation, edition: string, legacy: boolean): boolean {
  return !(op['x-cr-edition'] === 'pro' && edition !== 'pro') && !(op['x-cr-since'] && legacy);
}

/**
 * Finds the operation a request names by its method and path (`prefix` + the contract's path
 * template, each `{param}` one segment); undefined for paths the contract does not have. `only`
 * narrows the operations tried.
 */
export function operationMatcher(
  doc: OpenApiDocument,
  prefix = '',
  only: (op: OpenApiOperation) => boolean = () => true,
): (method: string, path: string) => OpenApiOperation | undefined {
  const routes: Array<{ method: string; pattern: RegExp; op: OpenApiOperation }> = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      const op = raw as OpenApiOperation;
      if (!op || typeof op !== 'object' || !op.operationId || !only(op)) continue;
      const literal = `${prefix}${template}`.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&'));
      routes.push({ method: method.toUpperCase(), pattern: new RegExp(`^${literal.join('[^/]+')}/?$`), op });
    }
  }
  const methods = new Set(routes.map((r) => r.method));
  return (method, path) => (methods.has(method) ? routes.find((r) => r.method === method && r.pattern.test(path))?.op : undefined);
}

/**
 * Memoizes something compiled from a contract (validators): compiled once per document and
 * shared read-only by every simulator using it.
 */
export function compiledOnce<T>(cache: WeakMap<OpenApiDocument, T>, doc: OpenApiDocument, compile: () => T): T {
  let value = cache.get(doc);
  if (value === undefined) {
    value = compile();
    cache.set(doc, value);
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Follows a local `$ref` (`#/components/...`) inside the document. */
export function resolveRef<T>(doc: OpenApiDocument, node: T | { $ref: string }): T {
  let cur: unknown = node;
  const seen = new Set<string>();
  while (cur && typeof cur === 'object' && '$ref' in cur && typeof cur.$ref === 'string') {
    const ref = cur.$ref;
    if (seen.has(ref) || !ref.startsWith('#/')) throw new Error(`Unresolvable $ref ${ref} in the contract.`);
    seen.add(ref);
    cur = pointerTarget(doc, ref);
  }
  return cur as T;
}

/** What a local JSON pointer (`#/a/b`) names inside a value, one step (no `$ref` followed); undefined if nothing. */
export function pointerTarget(root: unknown, ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), root);
}

export const HTTP_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
