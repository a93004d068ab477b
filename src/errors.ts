/**
 * @module errors
 * Errors are values: services throw `ApiError(code, msg, data?)` and one renderer turns it into
 * the Cloudreve envelope. Every code and message used on the wire lives in this file.
 */

/** Cloudreve error codes reachable from the simulated endpoints (spec §4). */
export const Code = {
  Unset: -1,
  Success: 0,
  Continue: 203,
  LoginRequired: 401,
  NoPermission: 403,
  NotFound: 404,
  ParamErr: 40001,
  ObjectExist: 40004,
  PolicyNotAllowed: 40006,
  UploadSessionExpired: 40011,
  InvalidChunkIndex: 40012,
  InvalidContentLength: 40013,
  SignExpired: 40005,
  GroupNotAllowed: 40007,
  BatchSizeExceeded: 40015,
  ParentNotExist: 40016,
  UserBanned: 40017,
  UserNotActivated: 40018,
  FeatureNotEnabled: 40019,
  CredentialInvalid: 40020,
  UserNotFound: 40021,
  IncorrectOtp: 40022,
  CaptchaError: 40026,
  CreateTaskError: 40048,
  FileTooLarge: 40049,
  InsufficientCapacity: 40051,
  IllegalObjectName: 40052,
  LockConflict: 40073,
  InvalidSign: 40071,
  BatchLimitExceeded: 40074,
  StaleVersion: 40076,
  EntityNotExist: 40077,
  InvalidPassword: 40080,
  BatchOperationFailed: 40081,
  OwnerOnly: 40082,
  InsufficientScope: 40089,
  DBError: 50001,
  EncryptError: 50002,
  IOFailed: 50004,
  InternalSetting: 50005,
} as const;

export type ErrorCode = (typeof Code)[keyof typeof Code];

/** Messages sent verbatim by the real server (spec §1.5, §2, §4, §14). */
export const Msg = {
  loginRequired: 'Login required',
  invalidTokenType: 'Invalid token type',
  userNotFound: 'User not found',
  failedToGetLoginUser: 'failed to get login user',
  parseObjectId: 'Failed to parse object ID',
  featureNotEnabled: 'Feature not enabled',
  incorrectCredentials: 'Incorrect password or email address',
  accountBlocked: 'This account has been blocked',
  accountNotActivated: 'This account is not activated',
  issueTokenPair: 'Failed to issue token pair',
  parseToken: 'Failed to parse token',
  // binding
  jsonMarshall: 'JSON marshall error',
  parameterError: 'Parameter error',
  invalidParameters: 'Invalid parameters.',
} as const;

export interface ApiErrorOptions {
  /** The error this one wraps; the response takes its code from the innermost coded cause (spec §1.4). */
  cause?: unknown;
  /** Request-binding errors carry no correlation id. Default true. */
  correlationId?: boolean;
  /** Raw internal text, sent as `error` only in debug mode. */
  detail?: string;
  /** The failed items of a batch (40081), keyed by item, in order; each renders as a nested envelope. */
  aggregated?: ReadonlyArray<readonly [string, ApiError]>;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: number;
  readonly data: unknown;
  readonly withCorrelationId: boolean;
  readonly detail: string | undefined;
  readonly aggregated: ReadonlyArray<readonly [string, ApiError]> | undefined;

  constructor(code: number, msg: string, data?: unknown, options: ApiErrorOptions = {}) {
    super(msg, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.data = data;
    this.withCorrelationId = options.correlationId ?? true;
    this.detail = options.detail;
    this.aggregated = options.aggregated;
  }

  /** A request-binding failure: code 40001, no correlation id. */
  static binding(msg: string): ApiError {
    return new ApiError(Code.ParamErr, msg, undefined, { correlationId: false });
  }

  /**
   * The code the response carries: that of the innermost coded error in the cause chain,
   * looking through wrappers that carry no code (spec §1.4).
   */
  get effectiveCode(): number {
    let code = this.code;
    let cause: unknown = this.cause;
    const seen = new Set<unknown>([this]);
    while (cause instanceof Error && !seen.has(cause)) {
      seen.add(cause);
      if (cause instanceof ApiError && cause.code !== Code.Unset) code = cause.code;
      cause = cause.cause;
    }
    return code;
  }
}

/** Shorthand for `new ApiError(code, msg, data)`. */
export const apiError = (code: number, msg: string, data?: unknown): ApiError => new ApiError(code, msg, data);
