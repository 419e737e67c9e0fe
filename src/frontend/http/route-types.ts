// What an HTTP route handler is given and answers (http-routes.ts and its siblings).

import type { IncomingMessage } from 'node:http';
import type { CallCancellation } from '../../core/cancellation.js';
import type { InferenceCore } from '../../core/inference-core.js';
import type { Principal } from '../../security/access-control.js';
import type { BodyHold } from './body.js';
import type { InferBodyLimits } from './infer-json.js';

export interface RouteCall {
  req: IncomingMessage;
  params: Record<string, string | undefined>;
  caller: Principal | undefined;
  /** Fires when the client goes away before the answer. */
  cancel: CallCancellation;
  maxBodyBytes: number;
  /** The request-structure bounds gRPC applies too. */
  limits: InferBodyLimits;
  /** This request's share of the server's buffered-body budget. */
  hold: BodyHold;
  /** The largest JSON part of a request (--http-max-json-size). */
  maxJsonBytes: number;
  /** --http-max-json-answer-size. */
  maxJsonAnswerBytes: number;
}

export interface RouteAnswer {
  status: number;
  /** JSON value, or a prepared body. */
  json?: unknown;
  body?: Buffer;
  headers?: Record<string, string>;
}

export type Handler = (core: InferenceCore, call: RouteCall) => RouteAnswer | Promise<RouteAnswer>;
