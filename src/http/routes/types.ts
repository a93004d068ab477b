/**
 * @module http/routes/types
 * The shape of a route handler: one per contract operation, keyed by operationId, typed from
 * the generated contract types. Handlers only wire a request to a service call.
 */
import type { Request } from 'express';
import type { OperationId, RequestBody, RequestQuery, SuccessData } from '../../contract/index.js';
import type { User } from '../../accounts/accounts.js';
import type { ServiceContext } from '../../services/context.js';
import type { HttpReply } from '../reply.js';

export interface HandlerCall<K extends OperationId> {
  ctx: ServiceContext;
  /** The signed-in caller; always set on operations guarded by `login`. */
  caller: User | undefined;
  body: RequestBody<K>;
  query: RequestQuery<K>;
  /** The decoded task number on operations guarded by `taskId`. */
  taskId: number | undefined;
  /** The decoded user id on operations guarded by `userId`. */
  userId: number | undefined;
  /** The decoded entity number on operations guarded by `entityId`. */
  entityId: number | undefined;
  req: Request;
}

/**
 * Returns the success `data` (or undefined for operations that send none), or an HttpReply
 * for the few answers that are not envelopes; throws ApiError.
 */
export type Handler<K extends OperationId> = (call: HandlerCall<K>) => Promise<SuccessData<K> | HttpReply> | SuccessData<K> | HttpReply;

export type Handlers = { [K in OperationId]: Handler<K> };
