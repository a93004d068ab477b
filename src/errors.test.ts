import { describe, it, expect } from 'vitest';
import { ApiError, Code, Msg, apiError } from './errors.js';

describe('Code', () => {
  it('uses the server numbers for the codes the spec names', () => {
    expect([
      Code.Unset,
      Code.Success,
      Code.LoginRequired,
      Code.NoPermission,
      Code.NotFound,
      Code.ParamErr,
      Code.BatchSizeExceeded,
      Code.ParentNotExist,
      Code.CredentialInvalid,
      Code.LockConflict,
      Code.BatchOperationFailed,
      Code.InsufficientScope,
      Code.DBError,
    ]).toEqual([-1, 0, 401, 403, 404, 40001, 40015, 40016, 40020, 40073, 40081, 40089, 50001]);
  });
});

describe('Msg', () => {
  it('holds the verbatim server messages of binding failures and caller resolution', () => {
    expect([
      Msg.loginRequired,
      Msg.invalidTokenType,
      Msg.userNotFound,
      Msg.failedToGetLoginUser,
      Msg.parseObjectId,
      Msg.jsonMarshall,
      Msg.parameterError,
      Msg.invalidParameters,
    ]).toEqual([
      'Login required',
      'Invalid token type',
      'User not found',
      'failed to get login user',
      'Failed to parse object ID',
      'JSON marshall error',
      'Parameter error',
      'Invalid parameters.',
    ]);
  });
});

describe('ApiError', () => {
  it('is an Error named ApiError carrying code, message and data', () => {
    const err = new ApiError(40073, 'Lock conflict', { token: 't' });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ApiError');
    expect(err.code).toBe(40073);
    expect(err.message).toBe('Lock conflict');
    expect(err.data).toEqual({ token: 't' });
    expect(err.detail).toBe(undefined);
    expect(err.cause).toBe(undefined);
  });

  it('carries a correlation id by default', () => {
    expect(new ApiError(401, 'Login required').withCorrelationId).toBe(true);
  });

  it('can be built without correlation id and with a raw detail', () => {
    const err = new ApiError(40001, 'x', undefined, { correlationId: false, detail: 'raw text' });
    expect(err.withCorrelationId).toBe(false);
    expect(err.detail).toBe('raw text');
  });

  it('keeps the cause it wraps', () => {
    const inner = new Error('inner');
    expect(new ApiError(40001, 'outer', undefined, { cause: inner }).cause).toBe(inner);
  });
});

describe('ApiError.effectiveCode', () => {
  it('is the error own code when there is no cause', () => {
    expect(new ApiError(40001, 'Invalid destination').effectiveCode).toBe(40001);
  });

  it('takes the code of the innermost coded cause, while the message stays the outer one', () => {
    const err = new ApiError(40001, 'Invalid destination', undefined, { cause: new ApiError(40016, 'Path not exist') });
    expect(err.effectiveCode).toBe(40016);
    expect(err.message).toBe('Invalid destination');
    expect(err.code).toBe(40001);
  });

  it('goes down a chain of several coded errors to the innermost one', () => {
    const inner = new ApiError(40016, 'Path not exist');
    const middle = new ApiError(40004, 'Object existed', undefined, { cause: inner });
    const outer = new ApiError(40001, 'Invalid destination', undefined, { cause: middle });
    expect(outer.effectiveCode).toBe(40016);
    expect(middle.effectiveCode).toBe(40016);
  });

  it('skips uncoded (-1) causes and keeps the innermost coded one', () => {
    const uncodedInner = new ApiError(Code.Unset, 'uncoded');
    const coded = new ApiError(40016, 'Path not exist', undefined, { cause: uncodedInner });
    expect(new ApiError(40001, 'outer', undefined, { cause: coded }).effectiveCode).toBe(40016);
    expect(new ApiError(40001, 'outer', undefined, { cause: uncodedInner }).effectiveCode).toBe(40001);
  });

  it('looks through wrappers that carry no code, as Go errors.As does', () => {
    const wrapped = new Error('wrapped', { cause: new ApiError(40016, 'Path not exist') });
    expect(new ApiError(40001, 'Invalid destination', undefined, { cause: wrapped }).effectiveCode).toBe(40016);
  });

  it('is -1 when nothing in the chain carries a code', () => {
    const err = new ApiError(Code.Unset, 'a', undefined, { cause: new ApiError(Code.Unset, 'b') });
    expect(err.effectiveCode).toBe(-1);
  });

  it('ignores a cause that is not an Error at all', () => {
    expect(new ApiError(40001, 'x', undefined, { cause: 'a string' }).effectiveCode).toBe(40001);
    expect(new ApiError(40001, 'x', undefined, { cause: { code: 404 } }).effectiveCode).toBe(40001);
  });

  it('terminates on a cyclic cause chain', () => {
    const a = new ApiError(40001, 'a');
    const b = new ApiError(40016, 'b', undefined, { cause: a });
    Object.defineProperty(a, 'cause', { value: b });
    expect([40001, 40016]).toContain(a.effectiveCode);
    expect([40001, 40016]).toContain(b.effectiveCode);
  });
});

describe('ApiError.binding', () => {
  it('builds a 40001 error without correlation id', () => {
    const err = ApiError.binding('Parameter error');
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe(40001);
    expect(err.message).toBe('Parameter error');
    expect(err.withCorrelationId).toBe(false);
    expect(err.data).toBe(undefined);
    expect(err.effectiveCode).toBe(40001);
  });
});

describe('apiError', () => {
  it('is shorthand for new ApiError(code, msg, data) with a correlation id', () => {
    const err = apiError(40073, 'Lock conflict', [1]);
    expect(err).toBeInstanceOf(ApiError);
    expect([err.code, err.message, err.data, err.withCorrelationId]).toEqual([40073, 'Lock conflict', [1], true]);
  });
});
