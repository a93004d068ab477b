/**
 * @module http/self-check
 * Validates outgoing envelopes against the contract. Tests and `--strict` turn it on, so a
 * response that drifts from `openapi/` fails loudly instead of reaching a client.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { compiledOnce, type OpenApiDocument, type OpenApiOperation } from '../contract/index.js';

const CONTRACT_ID = 'https://cloudreve-sim.invalid/contract';

// ajv-formats ships CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export interface ResponseChecker {
  /** Problems with `body` as a response of `operationId`; empty when it conforms. */
  check(operationId: string, body: unknown): string[];
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

  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      const op = raw as OpenApiOperation;
      if (!op || typeof op !== 'object' || !op.operationId) continue;
      const response = (op as { responses?: Record<string, { $ref?: string }> }).responses?.['200'];
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
  };
}
