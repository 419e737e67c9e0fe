// The one place errors become HTTP answers: a ServeError's code to the HTTP status Triton
// uses for it (and the precise one where Triton has none), the body {"error": "…"}; anything
// else is a bug: 500 with an incident id, the stack in the log.

import { internalMessage } from '../incident.js';
import { Code, ServeError, type CodeValue } from '../../errors.js';
import type { Logger } from '../../log.js';
import { redactPaths } from '../../redact.js';
import { HttpError } from './body.js';

const STATUS: Partial<Record<CodeValue, number>> = {
  [Code.INVALID_ARGUMENT]: 400,
  [Code.FAILED_PRECONDITION]: 400,
  [Code.OUT_OF_RANGE]: 400,
  [Code.CANCELLED]: 400,
  [Code.UNAUTHENTICATED]: 401,
  [Code.PERMISSION_DENIED]: 403,
  [Code.NOT_FOUND]: 404,
  [Code.ALREADY_EXISTS]: 409,
  [Code.RESOURCE_EXHAUSTED]: 429,
  [Code.UNIMPLEMENTED]: 501,
  [Code.UNAVAILABLE]: 503,
  [Code.DEADLINE_EXCEEDED]: 504,
};

export function httpStatusOf(code: CodeValue): number {
  return STATUS[code] ?? 500;
}

export function errorAnswer(err: unknown, log: Logger, where: string): { status: number; message: string; headers?: Record<string, string> } {
  if (err instanceof ServeError) {
    const answer = { status: httpStatusOf(err.code), message: redactPaths(err.message) };
    // Retry-After is in whole seconds: a hint of 100 ms reads 1.
    return err.retryAfterMs === undefined ? answer : { ...answer, headers: { 'retry-after': String(Math.ceil(err.retryAfterMs / 1000)) } };
  }
  if (err instanceof HttpError) return { status: err.status, message: redactPaths(err.message), headers: err.headers };
  return { status: 500, message: internalMessage(err, log, where) };
}
