// The catalogue's codes become statuses in exactly one function per transport.

import { status } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Code, ServeError, modelNotFound, notImplemented, queueFull, versionNotInteger } from '../../../src/errors.js';
import { toServiceError } from '../../../src/frontend/grpc/status.js';
import { errorAnswer, httpStatusOf } from '../../../src/frontend/http/status.js';
import { silentLogger, type Logger } from '../../../src/log.js';

const test = suite('error codes to gRPC and HTTP statuses');

test('every code of the catalogue is the gRPC status of the same name', () => {
  for (const [name, value] of Object.entries(Code)) {
    assert.is((status as unknown as Record<string, number>)[name], value, name);
    assert.is(toServiceError(new ServeError(value, 'x'), silentLogger, 'test').code as number, value);
  }
});

test("HTTP statuses are Triton's for each code, 500 for the rest", () => {
  const want: Array<[number, number]> = [
    [Code.INVALID_ARGUMENT, 400],
    [Code.NOT_FOUND, 404],
    [Code.ALREADY_EXISTS, 409],
    [Code.UNAUTHENTICATED, 401],
    [Code.PERMISSION_DENIED, 403],
    [Code.RESOURCE_EXHAUSTED, 429],
    [Code.UNAVAILABLE, 503],
    [Code.DEADLINE_EXCEEDED, 504],
    [Code.UNIMPLEMENTED, 501],
    [Code.INTERNAL, 500],
    [Code.UNKNOWN, 500],
    [Code.DATA_LOSS, 500],
  ];
  for (const [code, http] of want) assert.is(httpStatusOf(code as never), http, `code ${code}`);
});

test('the shared builders carry the codes the transports rely on', () => {
  assert.is(modelNotFound('m').code, Code.NOT_FOUND);
  assert.is(versionNotInteger('m', 'x').code, Code.INVALID_ARGUMENT);
  assert.is(queueFull(0, 4).code, Code.RESOURCE_EXHAUSTED);
  assert.is(notImplemented('that').code, Code.UNIMPLEMENTED);
  assert.is(errorAnswer(modelNotFound('m'), silentLogger, 'test').status, 404);
});

test('anything that is not a ServeError is INTERNAL with an incident id; the log, not the client, gets the text', () => {
  const logged: string[] = [];
  const log: Logger = { ...silentLogger, error: (m, f) => logged.push(`${m} ${JSON.stringify(f)}`) };
  const grpc = toServiceError(new Error('secret /etc/path detail'), log, 'ModelInfer');
  assert.is(grpc.code, status.INTERNAL);
  assert.not.ok(grpc.details!.includes('secret'));
  const http = errorAnswer(new TypeError('secret detail'), log, 'infer');
  assert.is(http.status, 500);
  assert.not.ok(http.message.includes('secret'));
  assert.is(logged.length, 2);
  assert.ok(logged.every((l) => l.includes('secret')));
  const incident = /incident (\w+)/.exec(http.message)![1]!;
  assert.ok(logged[1]!.includes(incident), 'the log line carries the same incident id');
});

test.run();
