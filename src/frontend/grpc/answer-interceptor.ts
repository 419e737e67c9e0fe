// When a unary answer has left: grpc-js sends a unary call's status only once the answer's
// message has been written out (HTTP/2 flow control holds the write while the client does
// not read), so this interceptor marks each unary request with a hook that runs when the
// status goes out or the call is cancelled, whichever is first. ModelInfer holds the
// answer's bytes against --max-queued-bytes until then.

import { ServerInterceptingCall, type ServerInterceptor } from '@grpc/grpc-js';
import { constants, type ServerHttp2Stream } from 'node:http2';

const ANSWERED = Symbol('answered');
const RESET = Symbol('reset');

interface Marked {
  [ANSWERED]?: (fn: () => void) => void;
  [RESET]?: () => void;
}

/**
 * Resets the HTTP/2 stream of the call this request message came on (RST_STREAM CANCEL),
 * which cancels the call. grpc-js offers a handler no way to do that, so the interceptor
 * keeps the stream of its innermost call (a private field); undefined if that is gone.
 */
export function resetOf(message: unknown): (() => void) | undefined {
  return typeof message === 'object' && message !== null ? (message as Marked)[RESET] : undefined;
}

/**
 * Runs `fn` once the answer to this request message has been sent or its call has ended.
 * A message the interceptor did not mark (no unary call around it) runs `fn` at once.
 */
export function whenAnswered(message: unknown, fn: () => void): void {
  const on = typeof message === 'object' && message !== null ? (message as Marked)[ANSWERED] : undefined;
  if (on) on(fn);
  else fn();
}

export function answerInterceptor(): ServerInterceptor {
  return (method, call) => {
    // The first interceptor gets grpc-js's base call, which holds the HTTP/2 stream.
    const h2 = (call as unknown as { stream?: ServerHttp2Stream }).stream;
    const reset = typeof h2?.close === 'function' ? () => h2.close(constants.NGHTTP2_CANCEL) : undefined;
    if (method.requestStream || method.responseStream) {
      return new ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMessage: (message, nextMessage) => {
              if (reset && typeof message === 'object' && message !== null) (message as Marked)[RESET] = reset;
              nextMessage(message);
            },
          }),
      });
    }
    let done = false;
    const waiting: Array<() => void> = [];
    const settle = (): void => {
      if (done) return;
      done = true;
      for (const fn of waiting.splice(0)) fn();
    };
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message, nextMessage) => {
            if (typeof message === 'object' && message !== null) {
              (message as Marked)[ANSWERED] = (fn) => (done ? fn() : waiting.push(fn));
            }
            nextMessage(message);
          },
          onCancel: settle,
        }),
      sendStatus: (status, next) => {
        next(status);
        settle();
      },
    });
  };
}
