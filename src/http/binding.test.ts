import { describe, expect, it } from 'vitest';
import { loadContract, type OpenApiDocument, type OpenApiOperation } from '../contract/index.js';
import { bindingOf } from './binding.js';

describe('bindingOf', () => {
  const doc = loadContract();

  it('says an operation whose parameters are all in the path or the query depends on its target alone', () => {
    expect(bindingOf(doc, doc.paths['/workflow']!.get as OpenApiOperation).targetOnly).toBe(true);
    expect(bindingOf(doc, doc.paths['/workflow/progress/{id}']!.get as OpenApiOperation).targetOnly).toBe(true);
  });

  it('says an operation with a header or cookie parameter does not', () => {
    const empty = { openapi: '3.1.0', info: { title: 't', version: '1' }, paths: {} } as unknown as OpenApiDocument;
    const op = (where: string) => ({ operationId: 'x', parameters: [{ name: 'id', in: 'query', schema: { type: 'string' } }, { name: 'X-Thing', in: where, schema: { type: 'string' } }] }) as unknown as OpenApiOperation;
    expect(bindingOf(empty, op('header')).targetOnly).toBe(false);
    expect(bindingOf(empty, op('cookie')).targetOnly).toBe(false);
    expect(bindingOf(empty, op('query')).targetOnly).toBe(true);
  });
});
