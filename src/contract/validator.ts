/**
 * @module contract/validator
 * Request validation against an OpenAPI document (express-openapi-validator), built once per
 * document and shared: the middleware keeps no per-request state.
 */
import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import { compiledOnce, type OpenApiDocument } from './index.js';

const validators = new WeakMap<OpenApiDocument, RequestHandler[]>();

/**
 * The request validator of a contract. `lenientQuery` lets unknown query parameters through
 * (the real server ignores them); the control plane is strict.
 */
export function requestValidator(doc: OpenApiDocument, { lenientQuery }: { lenientQuery: boolean }): RequestHandler[] {
  return compiledOnce(validators, doc, () =>
    OpenApiValidator.middleware({
      apiSpec: structuredClone(doc) as never,
      validateApiSpec: true,
      validateRequests: { allErrors: true, allowUnknownQueryParameters: lenientQuery },
      validateResponses: false,
      validateSecurity: false,
      ignoreUndocumented: lenientQuery,
    }),
  );
}
