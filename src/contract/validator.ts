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

/** What express-openapi-validator's route lookup finds for a request (`req.openapi`), but its path parameters. */
interface RouteMetadata {
  expressRoute: string;
  openApiRoute: string;
  schema: unknown;
  serial: number;
}

/**
 * The request validator of a contract for one route (lenient about unknown query parameters, as
 * the real server is), made quick for the hot path. express-openapi-validator finds the
 * operation of every request by compiling and trying the path pattern of each path of the
 * contract in turn; a route always finds the same operation, so its first lookup is kept and
 * later requests reuse it (with their own path parameters). Its path-parameter and security
 * steps do nothing here (express has decoded the parameters; security is not validated), so
 * they are left out. A version of the library without these steps, by name, fails at start.
 */
export function routeValidator(doc: OpenApiDocument): () => RequestHandler[] {
  const steps = requestValidator(doc, { lenientQuery: true });
  const named = (name: string) => {
    const step = steps.find((s) => s.name === name);
    if (!step) throw new Error(`unsupported express-openapi-validator version: no ${name} step (pinned at 5.6.2)`);
    return step;
  };
  const metadata = named('metadataMiddleware');
  const validate = named('requestMiddleware');
  named('pathParamsMiddleware');
  named('securityMiddleware');
  return () => {
    let known: RouteMetadata | undefined;
    const lookup: RequestHandler = function routeMetadata(req, res, next) {
      const r = req as typeof req & { openapi?: RouteMetadata & { pathParams: Record<string, string> } };
      if (known) {
        r.openapi = { ...known, pathParams: { ...(req.params as Record<string, string>) } };
        return next();
      }
      metadata(req, res, (err?: unknown) => {
        if (!err && r.openapi) known = { expressRoute: r.openapi.expressRoute, openApiRoute: r.openapi.openApiRoute, schema: r.openapi.schema, serial: r.openapi.serial };
        next(err);
      });
    };
    return [lookup, validate];
  };
}
