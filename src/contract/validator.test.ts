import { createRequire } from 'node:module';
import * as OpenApiValidator from 'express-openapi-validator';
import express from 'express';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { CONTROL_CONTRACT_FILE } from '../control/routes.js';
import { loadContract } from './index.js';
import { refersOnlyToOwnComponents } from './validator.js';

const require = createRequire(import.meta.url);
type SpecValidator = { validate(doc: unknown): { errors: unknown[] } };
const { OpenAPISchemaValidator } = require('express-openapi-validator/dist/framework/openapi.schema.validator.js') as {
  OpenAPISchemaValidator: new (opts: { version: string; validateApiSpec: boolean }) => SpecValidator;
};
type Preprocessor = { ajv: { getSchema(ref: string): unknown }; resolveSchema(schema: unknown): unknown };
const { SchemaPreprocessor } = require('express-openapi-validator/dist/middlewares/parsers/schema.preprocessor.js') as {
  SchemaPreprocessor: new (apiDoc: unknown, ajvOptions: object, responses: unknown) => Preprocessor;
};

/** Not an OpenAPI document: `paths` must be an object. */
const BROKEN = { openapi: '3.1.0', info: { title: 't', version: '1' }, paths: 42 };

describe('the OpenAPI meta-schema validator, once contract/validator is loaded', () => {
  it('is still built, and still finds errors, when the spec is to be validated', () => {
    expect(new OpenAPISchemaValidator({ version: '3.1.0', validateApiSpec: true }).validate(BROKEN).errors.length).toBeGreaterThan(0);
  });

  it('is not built when it would not be used', () => {
    expect(new OpenAPISchemaValidator({ version: '3.1.0', validateApiSpec: false }).validate(BROKEN)).toEqual({ errors: [] });
  });

  it('leaves express-openapi-validator refusing a broken spec with validateApiSpec, and validating requests without it', async () => {
    const doc = {
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
      paths: { '/n': { get: { parameters: [{ name: 'n', in: 'query', required: true, schema: { type: 'integer' } }], responses: { 200: { description: 'ok' } } } } },
    };
    const app = (apiSpec: unknown, validateApiSpec: boolean) =>
      express()
        .use(OpenApiValidator.middleware({ apiSpec: apiSpec as never, validateApiSpec, validateResponses: false }))
        .get('/n', (_req, res) => void res.send('ok'))
        .use(((err, _req, res, _next) => void res.status(err.status ?? 500).send(String(err.message))) as express.ErrorRequestHandler);
    // The library prints what it found; that is not this test's output.
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const broken = await request(app(BROKEN, true)).get('/n');
    quiet.mockRestore();
    expect([broken.status, broken.text]).toEqual([500, 'openapi.validator: args.apiDoc was invalid.  See the output.']);
    const fine = app(doc, false);
    expect((await request(fine).get('/n?n=1')).text).toBe('ok');
    expect((await request(fine).get('/n?n=x')).status).toBe(400);
  });
});

describe("express-openapi-validator's schema preprocessor, once contract/validator is loaded", () => {
  /** A body schema reached through two references, with a nested one. */
  const doc = () => ({
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: {
      '/b': {
        post: {
          requestBody: { $ref: '#/components/requestBodies/Body' },
          responses: { 200: { description: 'ok' } },
        },
      },
    },
    components: {
      requestBodies: { Body: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Outer' } } } } },
      schemas: {
        Outer: { type: 'object', required: ['inner'], properties: { inner: { $ref: '#/components/schemas/Inner' } } },
        Inner: { type: 'object', required: ['n'], properties: { n: { type: 'integer', minimum: 1 } } },
      },
    },
  });

  it('follows a local reference to the object it names without compiling it', () => {
    const apiDoc = doc();
    const pre = new SchemaPreprocessor(apiDoc, { formats: {} }, undefined);
    const getSchema = vi.spyOn(pre.ajv, 'getSchema');
    expect(pre.resolveSchema({ $ref: '#/components/schemas/Outer' })).toBe(apiDoc.components.schemas.Outer);
    expect(pre.resolveSchema({ $ref: '#/components/requestBodies/Body' })).toBe(apiDoc.components.requestBodies.Body);
    expect(getSchema).not.toHaveBeenCalled();
    // What the document does not hold goes the library's way (which finds nothing either).
    expect(pre.resolveSchema({ $ref: '#/components/schemas/Missing' })).toBeUndefined();
    expect(getSchema).toHaveBeenCalledWith('#/components/schemas/Missing');
    const inline = { type: 'string' };
    expect(pre.resolveSchema(inline)).toBe(inline);
  });

  it('leaves bodies behind references validated, nested references included', async () => {
    const app = express()
      .use(express.json())
      .use(OpenApiValidator.middleware({ apiSpec: doc() as never, validateApiSpec: false, validateResponses: false }))
      .post('/b', (_req, res) => void res.send('ok'))
      .use(((err, _req, res, _next) => void res.status(err.status ?? 500).send(String(err.message))) as express.ErrorRequestHandler);
    expect((await request(app).post('/b').send({ inner: { n: 2 } })).text).toBe('ok');
    const nested = await request(app).post('/b').send({ inner: { n: 0 } });
    expect([nested.status, nested.text]).toEqual([400, 'request/body/inner/n must be >= 1']);
    const missing = await request(app).post('/b').send({});
    expect([missing.status, missing.text]).toEqual([400, "request/body must have required property 'inner'"]);
  });
});

describe("express-openapi-validator's document loading, once contract/validator is loaded", () => {
  type Framework = { loadSpec(spec: unknown, refParser?: { mode: string }): Promise<unknown> };
  const { OpenAPIFramework } = require('express-openapi-validator/dist/framework/index.js') as { OpenAPIFramework: new (args: object) => Framework };
  // The library's own copy of json-schema-ref-parser, whose `bundle` it calls.
  const refParser = createRequire(require.resolve('express-openapi-validator'))('@apidevtools/json-schema-ref-parser') as { bundle(doc: unknown): Promise<unknown> };
  const doc = (ref: string, extra: Record<string, unknown> = {}) => ({
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: { '/b': { post: { requestBody: { content: { 'application/json': { schema: { $ref: ref } } } }, responses: { 200: { description: 'ok' } } } } },
    components: { schemas: { 'A/B': { type: 'object', properties: { n: { type: 'integer' } } }, Outer: { type: 'object' }, ...extra } },
  });

  it('tells a document whose references all name its own components directly', () => {
    expect(refersOnlyToOwnComponents(doc('#/components/schemas/Outer'))).toBe(true);
    expect(refersOnlyToOwnComponents(doc('#/components/schemas/A~1B'))).toBe(true);
    expect(refersOnlyToOwnComponents({ a: [{ b: [{ $ref: '#/x/y/z' }] }] })).toBe(false);
    for (const ref of ['other.yaml#/components/schemas/Outer', '#/components/schemas/A~1B/properties/n', '#/components/schemas/Missing', '#/paths/~1b', '#/components/schemas/Alias']) {
      expect([ref, refersOnlyToOwnComponents(doc(ref, { Alias: { $ref: '#/components/schemas/Outer' } }))]).toEqual([ref, false]);
    }
    expect(refersOnlyToOwnComponents({ components: { schemas: { X: { $ref: 42 } } } })).toBe(false);
  });

  it("holds for both of the simulator's contracts", () => {
    expect([refersOnlyToOwnComponents(loadContract()), refersOnlyToOwnComponents(loadContract(CONTROL_CONTRACT_FILE))]).toEqual([true, true]);
  });

  it('uses such a document as it is, without json-schema-ref-parser, and bundles any other', async () => {
    const bundle = vi.spyOn(refParser, 'bundle');
    try {
      const own = doc('#/components/schemas/Outer');
      expect(await new OpenAPIFramework({}).loadSpec(own, { mode: 'bundle' })).toBe(own);
      expect(await new OpenAPIFramework({}).loadSpec(own)).toBe(own);
      expect(bundle).not.toHaveBeenCalled();
      const deep = doc('#/components/schemas/A~1B/properties/n');
      expect(await new OpenAPIFramework({}).loadSpec(deep, { mode: 'bundle' })).toEqual(deep);
      expect(bundle).toHaveBeenCalledTimes(1);
    } finally {
      bundle.mockRestore();
    }
  });

  it('still validates requests against a document it keeps as it is', async () => {
    const app = express()
      .use(express.json())
      .use(OpenApiValidator.middleware({ apiSpec: doc('#/components/schemas/A~1B') as never, validateApiSpec: false, validateResponses: false }))
      .post('/b', (_req, res) => void res.send('ok'))
      .use(((err, _req, res, _next) => void res.status(err.status ?? 500).send(String(err.message))) as express.ErrorRequestHandler);
    expect((await request(app).post('/b').send({ n: 1 })).text).toBe('ok');
    const bad = await request(app).post('/b').send({ n: 'x' });
    expect([bad.status, bad.text]).toEqual([400, 'request/body/n must be integer']);
  });
});
