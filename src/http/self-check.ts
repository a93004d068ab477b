/**
 * @module http/self-check
 * Validates outgoing envelopes against the contract. Tests and `--strict` turn it on, so a
 * response that drifts from `openapi/` fails loudly instead of reaching a client.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { compiledOnce, resolveRef, type OpenApiDocument, type OpenApiOperation } from '../contract/index.js';

const CONTRACT_ID = 'https://cloudreve-sim.invalid/contract';

// ajv-formats ships CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export interface ResponseChecker {
  /** Problems with `body` as a response of `operationId`; empty when it conforms. */
  check(operationId: string, body: unknown): string[];
  /** Problems with a non-envelope answer (HttpReply) of `operationId` with HTTP `status`. */
  checkStatus(operationId: string, status: number): string[];
}

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

const checkers = new WeakMap<OpenApiDocument, ResponseChecker>();

/** The response checker of a contract, compiled once and shared (it holds no state). */
export function createResponseChecker(doc: OpenApiDocument): ResponseChecker {
  return compiledOnce(checkers, doc, () => compileChecker(doc));
}

function compileChecker(doc: OpenApiDocument): ResponseChecker {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...structuredClone(doc), $id: CONTRACT_ID });
  const validators = new Map<string, ValidateFunction>();
  const statuses = new Map<string, string[]>();

  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      const op = raw as OpenApiOperation;
      if (!op || typeof op !== 'object' || !op.operationId) continue;
      const responses = (op as { responses?: Record<string, { $ref?: string }> }).responses ?? {};
      const response = responses['200'];
      // A 200 that declares more than JSON (the content route's bytes) may be answered raw too.
      const content = Object.keys(resolveRef<{ content?: Record<string, unknown> }>(doc, (response ?? {}) as { content?: Record<string, unknown> }).content ?? {});
      statuses.set(op.operationId, [...Object.keys(responses).filter((s) => s !== '200'), ...(content.some((c) => c !== 'application/json') ? ['200'] : [])]);
      const base = response?.$ref ?? `#/${pointer('paths', path, method, 'responses', '200')}`;
      const ref = `${CONTRACT_ID}${base}/content/application~1json/schema`;
      validators.set(op.operationId, ajv.compile({ $ref: ref }));
    }
  }

  return {
    check(operationId, body) {
      const validate = validators.get(operationId);
      if (!validate) return [`no response schema for operation ${operationId}`];
      if (validate(body)) return [];
      return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    },
    checkStatus(operationId, status) {
      // HTTP 200 is the envelope's unless it declares other content; anything else must be declared.
      if (statuses.get(operationId)?.includes(String(status))) return [];
      return [`HTTP ${status} is not a declared non-envelope response of ${operationId}`];
    },
  };
}
