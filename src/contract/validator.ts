/**
 * @module contract/validator
 * Request validation against an OpenAPI document (express-openapi-validator), built once per
 * document and shared: the middleware keeps no per-request state.
 */
import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
// The library's own modules, by default import (their `module.exports`), so that a patch reaches
// the very objects the library uses, also where the CLI's bundle holds the library.
import specValidatorModule from 'express-openapi-validator/dist/framework/openapi.schema.validator.js';
import preprocessorModule from 'express-openapi-validator/dist/middlewares/parsers/schema.preprocessor.js';
import frameworkModule from 'express-openapi-validator/dist/framework/index.js';
import { compiledOnce, pointerTarget, type OpenApiDocument } from './index.js';

type SpecValidator = { validate(doc: unknown): { errors: unknown[] } };
type SpecValidatorClass = new (opts: { version: string; validateApiSpec: boolean }) => SpecValidator;

/**
 * express-openapi-validator builds an OpenAPI meta-schema validator for every instance, and
 * compiles it (about 200 ms, most of a cold start), even with `validateApiSpec: false`, where
 * it is never used. Its module's class is looked up each time an instance is set up, so it is
 * replaced once by one that builds the real validator only when the spec is to be validated.
 * A version of the library without that class fails at start with a clear message (one without
 * the module, with Node's error naming it).
 */
function skipUnusedSpecValidator(): void {
  const mod = specValidatorModule as unknown as { OpenAPISchemaValidator?: SpecValidatorClass & { skipsUnused?: true } };
  const Original = mod.OpenAPISchemaValidator;
  if (typeof Original !== 'function') throw new Error('unsupported express-openapi-validator version: no OpenAPISchemaValidator (pinned at 5.6.2)');
  if (Original.skipsUnused) return;
  const unused: SpecValidator = { validate: () => ({ errors: [] }) };
  const Lazy = function (opts: { version: string; validateApiSpec: boolean }) {
    return opts.validateApiSpec ? new Original(opts) : unused;
  } as unknown as SpecValidatorClass & { skipsUnused: true };
  Lazy.skipsUnused = true;
  mod.OpenAPISchemaValidator = Lazy;
}
skipUnusedSpecValidator();

type Preprocessor = { apiDoc: unknown; resolveSchema(schema: unknown): unknown };
type PreprocessorClass = { prototype: Preprocessor & { followsPointers?: true } };

/**
 * express-openapi-validator's schema preprocessor looks up every `$ref` it meets by having Ajv
 * compile the schema it names and reading back that schema's object (about 30 ms at start for
 * this contract). Each validator compiles what it needs later with its own Ajv instance, so
 * those compilations are thrown away. A local reference (`#/components/...`) names an object of
 * the document itself, the same one Ajv hands back, so it is followed directly; anything else
 * goes the library's way. A version of the library without that method (or module) fails at start.
 */
function resolveRefsWithoutCompiling(): void {
  const mod = preprocessorModule as unknown as { SchemaPreprocessor?: PreprocessorClass };
  const proto = mod.SchemaPreprocessor?.prototype;
  const original = proto?.resolveSchema;
  if (!proto || typeof original !== 'function') throw new Error('unsupported express-openapi-validator version: no SchemaPreprocessor.resolveSchema (pinned at 5.6.2)');
  if (proto.followsPointers) return;
  proto.resolveSchema = function (this: Preprocessor, schema: unknown) {
    const ref = schema && typeof schema === 'object' ? (schema as { $ref?: unknown }).$ref : undefined;
    if (typeof ref === 'string' && ref.startsWith('#/')) {
      const found = pointerTarget(this.apiDoc, ref);
      if (found !== undefined) return found;
    }
    return original.call(this, schema);
  };
  proto.followsPointers = true;
}
resolveRefsWithoutCompiling();

/** A reference that names a component directly: `#/components/<kind>/<name>`. */
const COMPONENT_REF = /^#\/components\/([^/]+)\/([^/]+)$/;

/** Whether every `$ref` in a document names a component of its own directly (`#/components/<kind>/<name>`), and that component is there. */
export function refersOnlyToOwnComponents(doc: unknown): boolean {
  const pending: unknown[] = [doc];
  while (pending.length > 0) {
    const value = pending.pop();
    if (!value || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      pending.push(...value);
      continue;
    }
    for (const [key, child] of Object.entries(value)) {
      if (key !== '$ref') {
        pending.push(child);
        continue;
      }
      if (typeof child !== 'string' || !COMPONENT_REF.test(child)) return false;
      const target = pointerTarget(doc, child);
      if (!target || typeof target !== 'object' || '$ref' in target) return false;
    }
  }
  return true;
}

type Framework = { loadSpec(spec: unknown, refParser?: { mode?: string }): Promise<unknown>; keepsOwnDocuments?: true };

/**
 * express-openapi-validator hands the document to json-schema-ref-parser's `bundle`, which
 * turns references to other files into local ones and walks the whole document to find them
 * (about 15 ms of every start for this contract). A document given as an object whose every
 * reference names one of its own components directly comes out of it unchanged, so it is used
 * as it is; any other goes the library's way. A version of the library without that method (or
 * module) fails at start.
 */
function keepOwnDocumentsAsTheyAre(): void {
  const proto = (frameworkModule as unknown as { OpenAPIFramework?: { prototype: Framework } }).OpenAPIFramework?.prototype;
  const original = proto?.loadSpec;
  if (!proto || typeof original !== 'function') throw new Error('unsupported express-openapi-validator version: no OpenAPIFramework.loadSpec (pinned at 5.6.2)');
  if (proto.keepsOwnDocuments) return;
  proto.loadSpec = function (this: Framework, spec, refParser) {
    const bundles = refParser === undefined || refParser.mode === undefined || refParser.mode === 'bundle';
    if (bundles && spec && typeof spec === 'object' && refersOnlyToOwnComponents(spec)) return Promise.resolve(spec);
    return original.call(this, spec, refParser);
  };
  proto.keepsOwnDocuments = true;
}
keepOwnDocumentsAsTheyAre();

const validators = new WeakMap<OpenApiDocument, RequestHandler[]>();

/** Every `#/components/<kind>/<name>` a value refers to, following the references it reaches. */
function referenced(doc: OpenApiDocument, root: unknown): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const all = doc.components as Record<string, Record<string, unknown> | undefined>;
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (!value || typeof value !== 'object') return;
    for (const [k, v] of Object.entries(value)) {
      const m = k === '$ref' && typeof v === 'string' ? COMPONENT_REF.exec(v) : null;
      if (!m) {
        walk(v);
        continue;
      }
      const kind = m[1]!;
      const name = m[2]!;
      const names = found.get(kind) ?? found.set(kind, new Set()).get(kind)!;
      if (names.has(name)) continue;
      names.add(name);
      walk(all[kind]?.[name]);
    }
  };
  walk(root);
  return found;
}

/**
 * A copy of a contract for request validation: responses stand in by a stub (they are
 * checked elsewhere, in strict mode) and only the components requests use are kept. The
 * validator prepares every schema it is given at start; most of a contract's are responses.
 */
function requestsOnly(doc: OpenApiDocument): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [p, item] of Object.entries(doc.paths)) {
    paths[p] = Object.fromEntries(
      Object.entries(item).map(([method, op]) => [method, op && typeof op === 'object' && 'responses' in op ? { ...op, responses: { 200: { description: 'not validated here' } } } : op]),
    );
  }
  const components: Record<string, Record<string, unknown>> = {};
  const all = doc.components as Record<string, Record<string, unknown>>;
  for (const [kind, names] of referenced(doc, paths)) components[kind] = Object.fromEntries([...names].map((n) => [n, all[kind]![n]]));
  if (all.securitySchemes) components.securitySchemes = all.securitySchemes;
  // A contract is JSON data (it is read from YAML or its JSON twin); a JSON round trip copies it
  // about twice as fast as structuredClone.
  return JSON.parse(JSON.stringify({ ...doc, paths, components })) as OpenApiDocument;
}

/**
 * The request validator of a contract. `lenientQuery` lets unknown query parameters through
 * (the real server ignores them); the control plane is strict.
 */
export function requestValidator(doc: OpenApiDocument, { lenientQuery }: { lenientQuery: boolean }): RequestHandler[] {
  return compiledOnce(validators, doc, () =>
    OpenApiValidator.middleware({
      apiSpec: requestsOnly(doc) as never,
      // The API contract is checked by its lint (`npm run lint:contract`, part of `npm test`);
      // checking it again at every start costs a few hundred milliseconds. The control plane's
      // contract is small and checked when the control plane is first used.
      validateApiSpec: !lenientQuery,
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
