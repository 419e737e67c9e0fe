// The gRPC side of the one access check: a server interceptor, so it sees every method of
// every service on the server (inference, health, reflection, and any added later), before
// any handler runs. It only gathers credentials and the model name from the message; the
// decision is security/access-control.ts's.
//
// Server-wide routes are decided on the request headers, before a message is read. Routes
// that name a model are decided on each message: a unary call is answered with the status,
// a ModelStreamInfer message is marked so the stream answers it in-band and stays open (a
// stream allowed on model A cannot infer on model B). Each admitted message carries its
// caller, so handlers that list models show only what that caller may see.

import { ServerInterceptingCall, status, type Metadata, type ServerInterceptingCallInterface, type ServerInterceptor } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { ServeError } from '../../errors.js';
import type { AccessControl, Credentials, Principal } from '../../security/access-control.js';
import { routeSpec, SERVER_HEALTH_NAMES, type RouteSpec } from '../../security/routes.js';
import { decodeFailure } from './safe-decoding.js';

const CALLER = Symbol('caller');
const REFUSED = Symbol('refused');

interface Marked {
  [CALLER]?: Principal;
  [REFUSED]?: ServeError;
}

/** The principal the access check admitted this message for; undefined without access control. */
export function callerOf(message: unknown): Principal | undefined {
  return typeof message === 'object' && message !== null ? (message as Marked)[CALLER] : undefined;
}

/** The access error of a stream message the check refused. */
export function accessRefusal(message: unknown): ServeError | undefined {
  return typeof message === 'object' && message !== null ? (message as Marked)[REFUSED] : undefined;
}

export function accessInterceptor(access: AccessControl): ServerInterceptor {
  return (method, call) => {
    const route = method.path;
    const spec = routeSpec(route);
    const inBand = method.requestStream && spec?.scope.kind === 'model';
    let who: Principal | undefined;
    let refused = false;
    const refuse = (err: unknown): void => {
      refused = true;
      const e = err instanceof ServeError ? err : undefined;
      call.sendStatus({ code: (e?.code ?? status.INTERNAL) as unknown as status, details: e?.message ?? 'access check failed', metadata: null });
    };
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            try {
              who = access.authenticate(route, credentialsOf(metadata, call));
              if (!spec || spec.scope.kind === 'none' || spec.scope.kind === 'list') access.authorize(who, route);
            } catch (err) {
              refuse(err);
              return;
            }
            nextMetadata(metadata);
          },
          onReceiveMessage: (message, nextMessage) => {
            if (refused || !who) return;
            // An undecodable message is answered by its handler (INVALID_ARGUMENT); it reaches no model.
            if (spec && !decodeFailure(message) && spec.scope.kind !== 'none' && spec.scope.kind !== 'list') {
              try {
                access.authorize(who, route, modelOf(spec, message));
              } catch (err) {
                if (!inBand || !(err instanceof ServeError)) {
                  refuse(err);
                  return;
                }
                (message as Marked)[REFUSED] = err;
              }
            }
            if (typeof message === 'object' && message !== null) (message as Marked)[CALLER] = who;
            nextMessage(message);
          },
          onReceiveHalfClose: (nextHalfClose) => {
            if (!refused) nextHalfClose();
          },
        }),
    });
  };
}

/** The model a message names, or undefined when the route is used server-wide. */
function modelOf(spec: RouteSpec, message: unknown): string | undefined {
  if (spec.scope.kind !== 'model' && spec.scope.kind !== 'optional') return undefined;
  const raw = (message as Record<string, unknown>)[spec.scope.field];
  const name = typeof raw === 'string' ? raw : '';
  if (spec.scope.kind === 'optional' && (name === '' || (spec.scope.field === 'service' && SERVER_HEALTH_NAMES.has(name)))) return undefined;
  return name;
}

function credentialsOf(metadata: Metadata, call: ServerInterceptingCallInterface): Credentials {
  let subject: string | undefined | null = null;
  return {
    authorization: metadata.get('authorization').map(String),
    header: (name) => {
      const values = metadata.get(name);
      return values.length === 1 ? String(values[0]) : undefined;
    },
    // Read only when no key was sent: parsing the certificate costs more than the rest.
    get certSubject(): string | undefined {
      if (subject === null) {
        const cert = call.getAuthContext().sslPeerCertificate;
        subject = cert?.raw ? new X509Certificate(cert.raw).subject : undefined;
      }
      return subject;
    },
    peer: call.getPeer(),
  };
}
