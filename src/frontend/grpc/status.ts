// The one place errors become gRPC statuses. Handlers throw (or reject with) ServeError;
// anything else is a bug: INTERNAL, logged with its stack.

import { Metadata, status, type ServiceError, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { internalMessage } from '../incident.js';
import { ServeError } from '../../errors.js';
import { redactPaths } from '../../redact.js';
import type { Logger } from '../../log.js';
import { decodeFailure } from './safe-decoding.js';

export function toServiceError(err: unknown, log: Logger, where: string): Partial<ServiceError> {
  if (err instanceof ServeError) {
    const metadata = new Metadata();
    // gRPC's retry pushback (A6): a client retry policy waits this long before its next try.
    if (err.retryAfterMs !== undefined) metadata.set('grpc-retry-pushback-ms', String(err.retryAfterMs));
    return { code: err.code as unknown as status, details: redactPaths(err.message), metadata };
  }
  return { code: status.INTERNAL, details: internalMessage(err, log, where), metadata: new Metadata() };
}

/** Text of an error as the stream puts it in error_message. */
export function errorText(err: unknown, log: Logger, where: string): string {
  return toServiceError(err, log, where).details ?? 'unknown error';
}

/** Wraps an async handler: awaits it and maps whatever it throws. */
export function unary<Req, Res>(
  name: string,
  log: Logger,
  fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const undecodable = decodeFailure(call.request);
    if (undecodable) {
      callback(toServiceError(undecodable, log, name));
      return;
    }
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err, log, name)),
      );
  };
}
