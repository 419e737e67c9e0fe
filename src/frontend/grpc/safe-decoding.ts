// Request deserializers that never throw. grpc-js answers a throwing deserializer with
// INTERNAL and, on a stream, ends the whole stream; here a message that cannot be decoded
// becomes a placeholder carrying its ServeError, which the unary adapter answers with
// that status and ModelStreamInfer answers in-band, keeping the stream open.

import type { ServiceDefinition } from '@grpc/grpc-js';
import { Code, ServeError } from '../../errors.js';
import type { ModelInferRequest } from '../../generated/inference/grpc_service.js';
import { decodeInferRequestWire, peekRequestId, type RequestWireLimits } from './infer-request-wire.js';

const UNDECODABLE = Symbol('undecodable');

interface Undecodable {
  [UNDECODABLE]: ServeError;
}

/** The error a placeholder carries, or undefined for a real decoded message. */
export function decodeFailure(request: unknown): ServeError | undefined {
  return typeof request === 'object' && request !== null ? (request as Partial<Undecodable>)[UNDECODABLE] : undefined;
}

const INFER_PATHS = new Set(['/inference.GRPCInferenceService/ModelInfer', '/inference.GRPCInferenceService/ModelStreamInfer']);

/**
 * The service definition with every method's request deserializer made safe; ModelInfer
 * and ModelStreamInfer use the bounded wire decoder.
 */
export function withSafeDecoding<S extends ServiceDefinition>(service: S, limits: RequestWireLimits): S {
  const out: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(service)) {
    const typeName = method.path.slice(method.path.lastIndexOf('/') + 1);
    const decode: (buf: Buffer) => unknown = INFER_PATHS.has(method.path) ? (buf) => decodeInferRequestWire(buf, limits) : method.requestDeserialize;
    out[key] = {
      ...method,
      requestDeserialize: (buf: Buffer): unknown => {
        try {
          return decode(buf);
        } catch (err) {
          const error =
            err instanceof ServeError
              ? err
              : new ServeError(
                  Code.INVALID_ARGUMENT,
                  `the ${typeName} request is not a valid protobuf message (${err instanceof Error ? err.message : String(err)})`,
                );
          if (!INFER_PATHS.has(method.path)) return { [UNDECODABLE]: error };
          const placeholder: ModelInferRequest & Undecodable = {
            modelName: '',
            modelVersion: '',
            id: peekRequestId(buf),
            parameters: {},
            inputs: [],
            outputs: [],
            rawInputContents: [],
            [UNDECODABLE]: error,
          };
          return placeholder;
        }
      },
    };
  }
  return out as S;
}
