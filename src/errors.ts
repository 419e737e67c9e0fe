// The one error type that crosses module boundaries. `code` is a gRPC status number
// from our own table, so inner modules never import @grpc/grpc-js; frontend/grpc/status.ts (gRPC) and frontend/http/status.ts (HTTP)
// are the only places that turn it into a status.

export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type CodeValue = (typeof Code)[keyof typeof Code];

export class ServeError extends Error {
  readonly code: CodeValue;

  constructor(code: CodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServeError';
    this.code = code;
  }
}

export const invalid = (message: string): ServeError => new ServeError(Code.INVALID_ARGUMENT, message);
export const notFound = (message: string): ServeError => new ServeError(Code.NOT_FOUND, message);
export const unavailable = (message: string): ServeError => new ServeError(Code.UNAVAILABLE, message);
