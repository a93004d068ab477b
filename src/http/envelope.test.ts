import { describe, it, expect } from 'vitest';
import type { Request } from 'express';
import { ApiError } from '../errors.js';
import { createRandom } from '../util/random.js';
import { correlationId, envelopeBytes, errorEnvelope, escapeJson, serializeEnvelope } from './envelope.js';
import type { Envelope } from './envelope.js';

const CID = '0f8fad5b-d9cb-469f-a165-70867728950e';

/** A request whose only header is X-Cr-Correlation-Id (when given). */
function requestWith(header: string | undefined): Request {
  const get = (name: string): string | undefined =>
    name.toLowerCase() === 'x-cr-correlation-id' ? header : undefined;
  return { get } as unknown as Request;
}

describe('serializeEnvelope', () => {
  it('writes the keys in the order code, data, aggregated_error, msg, error, correlation_id whatever the input order', () => {
    const env = {
      correlation_id: CID,
      error: 'raw',
      msg: 'Batch failed',
      aggregated_error: { a: { code: 404, msg: 'x' } },
      data: 1,
      code: 40081,
    } as Envelope;
    expect(serializeEnvelope(env)).toBe(
      `{"code":40081,"data":1,"aggregated_error":{"a":{"code":404,"msg":"x"}},"msg":"Batch failed","error":"raw","correlation_id":"${CID}"}`,
    );
  });

  it('gives the same text as UTF-8 bytes for the wire (envelopeBytes)', () => {
    const env = { code: 0, data: { name: 'é<文>' }, msg: '' };
    const bytes = envelopeBytes(env);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(bytes.toString('utf8')).toBe(serializeEnvelope(env));
    expect(bytes.toString('utf8')).toBe('{"code":0,"data":{"name":"é\\u003c文\\u003e"},"msg":""}');
  });

  it('writes a success without payload as exactly {"code":0,"msg":""}', () => {
    expect(serializeEnvelope({ msg: '', code: 0 })).toBe('{"code":0,"msg":""}');
  });

  it('keeps an empty object, empty array or empty string in data', () => {
    expect(serializeEnvelope({ code: 0, msg: '', data: {} })).toBe('{"code":0,"data":{},"msg":""}');
    expect(serializeEnvelope({ code: 0, msg: '', data: [] })).toBe('{"code":0,"data":[],"msg":""}');
    expect(serializeEnvelope({ code: 0, msg: '', data: '' })).toBe('{"code":0,"data":"","msg":""}');
  });

  it('keeps falsy data values 0, false and null', () => {
    expect(serializeEnvelope({ code: 0, msg: '', data: 0 })).toBe('{"code":0,"data":0,"msg":""}');
    expect(serializeEnvelope({ code: 0, msg: '', data: false })).toBe('{"code":0,"data":false,"msg":""}');
    expect(serializeEnvelope({ code: 0, msg: '', data: null })).toBe('{"code":0,"data":null,"msg":""}');
  });

  it('omits keys whose value is undefined', () => {
    expect(
      serializeEnvelope({
        code: 401,
        data: undefined,
        aggregated_error: undefined,
        msg: 'Login required',
        error: undefined,
        correlation_id: CID,
      }),
    ).toBe(`{"code":401,"msg":"Login required","correlation_id":"${CID}"}`);
  });

  it('drops keys that are not envelope keys', () => {
    const env = { code: 0, msg: '', extra: 'x' } as Envelope;
    expect(serializeEnvelope(env)).toBe('{"code":0,"msg":""}');
  });

  it('keeps the key order of nested data objects as given', () => {
    expect(serializeEnvelope({ code: 0, msg: '', data: { z: 1, a: 2 } })).toBe('{"code":0,"data":{"z":1,"a":2},"msg":""}');
  });

  it('escapes <, >, &, U+2028 and U+2029 inside strings as \\u003c \\u003e \\u0026 \\u2028 \\u2029', () => {
    const text = serializeEnvelope({
      code: 0,
      msg: '',
      data: { src: 'magnet:?xt=urn:btih:abc&dn=<a>\u2028\u2029' },
    });
    expect(text).toBe('{"code":0,"data":{"src":"magnet:?xt=urn:btih:abc\\u0026dn=\\u003ca\\u003e\\u2028\\u2029"},"msg":""}');
    expect(JSON.parse(text)).toEqual({ code: 0, data: { src: 'magnet:?xt=urn:btih:abc&dn=<a>\u2028\u2029' }, msg: '' });
  });

  it('escapes the same characters in keys and in msg', () => {
    expect(serializeEnvelope({ code: 1, msg: 'a<b', data: { '&': '>' } })).toBe(
      '{"code":1,"data":{"\\u0026":"\\u003e"},"msg":"a\\u003cb"}',
    );
  });

  it('writes integers without a decimal point and floats in shortest form', () => {
    expect(serializeEnvelope({ code: 0, msg: '', data: [1, 0.0024, 1.5] })).toBe('{"code":0,"data":[1,0.0024,1.5],"msg":""}');
  });
});

describe('escapeJson', () => {
  it('replaces every occurrence of the escaped characters', () => {
    expect(escapeJson('"<<>>&&\u2028\u2029"')).toBe('"\\u003c\\u003c\\u003e\\u003e\\u0026\\u0026\\u2028\\u2029"');
  });

  it('leaves other text untouched', () => {
    expect(escapeJson('{"a":"b é 中 \\n"}')).toBe('{"a":"b é 中 \\n"}');
  });
});

describe('correlationId', () => {
  it('echoes a canonical UUID header', () => {
    expect(correlationId(requestWith(CID), createRandom('cid'))).toBe(CID);
  });

  it('writes a UUID header of another spelling in canonical lower-case form', () => {
    expect(correlationId(requestWith(CID.toUpperCase()), createRandom('cid'))).toBe(CID);
    expect(correlationId(requestWith(`{${CID}}`), createRandom('cid'))).toBe(CID);
    expect(correlationId(requestWith(`urn:uuid:${CID}`), createRandom('cid'))).toBe(CID);
    expect(correlationId(requestWith(CID.replaceAll('-', '')), createRandom('cid'))).toBe(CID);
  });

  it('generates a fresh UUID v4 when the header is missing, empty or not a UUID', () => {
    for (const header of [undefined, '', 'not-a-uuid']) {
      const expected = createRandom('cid').uuid();
      expect(correlationId(requestWith(header), createRandom('cid'))).toBe(expected);
    }
  });
});

describe('errorEnvelope', () => {
  const cid = (): string => CID;
  const noCid = (): string => {
    throw new Error('correlation id must not be asked for');
  };

  it('renders code, message and correlation id', () => {
    expect(errorEnvelope(new ApiError(401, 'Login required'), cid, false)).toEqual({
      code: 401,
      msg: 'Login required',
      correlation_id: CID,
    });
  });

  it('takes the message from the outer error and the code from the innermost coded cause', () => {
    const err = new ApiError(40001, 'Invalid destination', undefined, { cause: new ApiError(40016, 'Path not exist') });
    const env = errorEnvelope(err, cid, false);
    expect(env).toEqual({ code: 40016, msg: 'Invalid destination', correlation_id: CID });
    expect(serializeEnvelope(env)).toBe(`{"code":40016,"msg":"Invalid destination","correlation_id":"${CID}"}`);
  });

  it('renders an uncoded error (-1) with an empty msg', () => {
    const env = errorEnvelope(new ApiError(-1, 'internal failure text'), cid, false);
    expect(env).toEqual({ code: -1, msg: '', correlation_id: CID });
    expect(serializeEnvelope(env)).toBe(`{"code":-1,"msg":"","correlation_id":"${CID}"}`);
  });

  it('keeps the outer message when an uncoded outer error wraps a coded one', () => {
    const err = new ApiError(-1, 'outer text', undefined, { cause: new ApiError(40016, 'Path not exist') });
    expect(errorEnvelope(err, cid, false)).toEqual({ code: 40016, msg: 'outer text', correlation_id: CID });
  });

  it('carries the error data', () => {
    const data = [{ path: 'cloudreve://my/a', token: 't', type: 'file' }];
    expect(errorEnvelope(new ApiError(40073, 'Lock conflict', data), cid, false)).toEqual({
      code: 40073,
      data,
      msg: 'Lock conflict',
      correlation_id: CID,
    });
  });

  it('renders a binding error without correlation id', () => {
    expect(errorEnvelope(ApiError.binding('Parameter error'), noCid, false)).toEqual({ code: 40001, msg: 'Parameter error' });
    expect(serializeEnvelope(errorEnvelope(ApiError.binding('JSON marshall error'), noCid, false))).toBe(
      '{"code":40001,"msg":"JSON marshall error"}',
    );
  });

  it('adds the raw detail as error only in debug mode', () => {
    const err = new ApiError(40001, 'Failed to parse object ID', undefined, { detail: 'mismatched ID type.' });
    expect(errorEnvelope(err, cid, false)).toEqual({ code: 40001, msg: 'Failed to parse object ID', correlation_id: CID });
    expect(errorEnvelope(err, cid, true)).toEqual({
      code: 40001,
      msg: 'Failed to parse object ID',
      error: 'mismatched ID type.',
      correlation_id: CID,
    });
  });

  it('in debug mode falls back to the message of the cause when there is no detail', () => {
    const err = new ApiError(40001, 'Invalid destination', undefined, { cause: new ApiError(40016, 'Path not exist') });
    expect(errorEnvelope(err, cid, true)).toEqual({
      code: 40016,
      msg: 'Invalid destination',
      error: 'Path not exist',
      correlation_id: CID,
    });
  });

  it('in debug mode sends no error when there is no raw text', () => {
    expect(errorEnvelope(new ApiError(401, 'Login required'), cid, true)).toEqual({
      code: 401,
      msg: 'Login required',
      correlation_id: CID,
    });
  });

  it('renders a batch failure’s items as nested envelopes sharing one correlation id (asked for once)', () => {
    let asked = 0;
    const once = () => (asked++, CID);
    const items = [
      ['cloudreve://my/a', new ApiError(40016, 'Path not exist', undefined, { detail: 'ent: not found' })],
      ['cloudreve://my/b', new ApiError(-1, 'uncoded')],
    ] as const;
    const err = new ApiError(40081, 'One or more operation failed', undefined, { aggregated: items });
    expect(serializeEnvelope(errorEnvelope(err, once, false))).toBe(
      `{"code":40081,"aggregated_error":{"cloudreve://my/a":{"code":40016,"msg":"Path not exist","correlation_id":"${CID}"},` +
        `"cloudreve://my/b":{"code":-1,"msg":"","correlation_id":"${CID}"}},"msg":"One or more operation failed","correlation_id":"${CID}"}`,
    );
    expect(asked).toBe(1);
    expect(errorEnvelope(err, cid, true).aggregated_error).toEqual({
      'cloudreve://my/a': { code: 40016, msg: 'Path not exist', error: 'ent: not found', correlation_id: CID },
      'cloudreve://my/b': { code: -1, msg: '', correlation_id: CID },
    });
  });

  it('serializes in envelope key order with debug error and data', () => {
    const err = new ApiError(40073, 'Lock conflict', { a: 1 }, { detail: 'raw' });
    expect(serializeEnvelope(errorEnvelope(err, cid, true))).toBe(
      `{"code":40073,"data":{"a":1},"msg":"Lock conflict","error":"raw","correlation_id":"${CID}"}`,
    );
  });
});
