// Triton's system shared memory extension against the real server: regions registered
// over gRPC and HTTP, inputs read from and outputs written into /dev/shm objects, bounds
// checked on every use, and a region unregistered while a request uses it.

import { status } from '@grpc/grpc-js';
import { readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest, type InferParameter } from '../../src/generated/inference/grpc_service.js';
import { bytesBuffer, call, callError, connect, int32Buffer, readBytes, type InferenceClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { pendingOf } from '../helpers/pending.js';
import { TempRepo } from '../helpers/temp-repo.js';

const test = suite('system shared memory');
const tag = `tts_test_${process.pid}`;
const objects: string[] = [];
let server: TestServer;
let client: InferenceClient;
let repo: TempRepo;
let base = '';

/** A POSIX shared memory object of `size` bytes (a file under /dev/shm); returns its key. */
function shmObject(name: string, size: number): string {
  const file = join('/dev/shm', `${tag}_${name}`);
  writeFileSync(file, Buffer.alloc(size));
  objects.push(file);
  return `/${tag}_${name}`;
}
const fileOf = (key: string): string => join('/dev/shm', key.slice(1));
/** INT32 values of an object's bytes [from, to). */
const ints = (key: string, from: number, to: number): number[] => {
  const b = Buffer.from(readFileSync(fileOf(key)).subarray(from, to));
  return [...new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4)];
};

const str = (value: string): InferParameter => ({ parameterChoice: { $case: 'stringParam', value } });
const i64 = (value: number): InferParameter => ({ parameterChoice: { $case: 'int64Param', value: BigInt(value) } });
const shm = (region: string, byteSize: number, offset = 0): Record<string, InferParameter> => ({
  shared_memory_region: str(region),
  shared_memory_byte_size: i64(byteSize),
  ...(offset ? { shared_memory_offset: i64(offset) } : {}),
});

const register = (name: string, key: string, byteSize: number, offset = 0) =>
  call(client, client.systemSharedMemoryRegister, { name, key, offset: BigInt(offset), byteSize: BigInt(byteSize) });

test.before(async () => {
  repo = new TempRepo().copyBundled('simple').copyBundled('identity_bytes').copyBundled('identity_fp32').copyBundled('simple', 'slow');
  // `slow` waits in its queue, so a region can be unregistered while a request holds it.
  repo.write(
    'slow/config.pbtxt',
    `${readFileSync(join(repo.root, 'slow', 'config.pbtxt'), 'utf8')}\ndynamic_batching { max_queue_delay_microseconds: 300000 preferred_batch_size: [ 8 ] }\n`,
  );
  server = await startServer([
    `--model-repository=${repo.root}`,
    '--allow-client-shm=true',
    `--max-queued-bytes=${1024 * 1024}`,
    '--max-request-bytes-elements=1000',
  ]);
  client = connect(server.address);
  base = `http://127.0.0.1:${server.httpPort}`;
});

test.after(async () => {
  client?.close();
  await server?.stop();
  repo?.dispose();
  for (const f of objects) rmSync(f, { force: true });
});

test('register, status and unregister over gRPC, with tritonserver codes', async () => {
  const key = shmObject('reg', 256);
  await register('r1', key, 128, 64);
  const st = await call(client, client.systemSharedMemoryStatus, { name: 'r1' });
  assert.equal(st.regions['r1'], { name: 'r1', key, offset: 64n, byteSize: 128n });
  assert.is((await callError(client, client.systemSharedMemoryRegister, { name: 'r1', key, offset: 0n, byteSize: 8n })).code, status.ALREADY_EXISTS);
  assert.is((await callError(client, client.systemSharedMemoryStatus, { name: 'nope' })).code, status.NOT_FOUND);
  assert.is(
    (await callError(client, client.systemSharedMemoryRegister, { name: 'big', key, offset: 200n, byteSize: 100n })).code,
    status.INVALID_ARGUMENT,
    'past the end of the object',
  );
  assert.is(
    (await callError(client, client.systemSharedMemoryRegister, { name: 'gone', key: `/${tag}_missing`, offset: 0n, byteSize: 8n })).code,
    status.NOT_FOUND,
  );
  await call(client, client.systemSharedMemoryUnregister, { name: 'nope' });
  await call(client, client.systemSharedMemoryUnregister, { name: 'r1' });
  assert.equal((await call(client, client.systemSharedMemoryStatus, { name: '' })).regions, {});
  const m = await call(client, client.serverMetadata, {});
  assert.ok(m.extensions.includes('system_shared_memory'));
});

test('keys are confined to /dev/shm: other paths, dot names and links are refused', async () => {
  const target = shmObject('target', 64);
  const link = join('/dev/shm', `${tag}_link`);
  symlinkSync(fileOf(target), link);
  objects.push(link);
  for (const key of ['/../etc/passwd', '/etc/passwd', '..', '/a/b', `/${tag}_link`, '', '/']) {
    const err = await callError(client, client.systemSharedMemoryRegister, { name: 'x', key, offset: 0n, byteSize: 8n });
    assert.ok(err.code === status.INVALID_ARGUMENT || err.code === status.NOT_FOUND, `${key}: ${err.code} ${err.details}`);
  }
  assert.equal((await call(client, client.systemSharedMemoryStatus, { name: '' })).regions, {});
});

test('simple with inputs and outputs in shared memory: raw_input_contents only for the rest, outputs written, raw entries empty', async () => {
  const inKey = shmObject('in', 128);
  const outKey = shmObject('out', 256);
  writeFileSync(fileOf(inKey), Buffer.concat([int32Buffer(Array.from({ length: 16 }, (_, i) => i)), int32Buffer(Array(16).fill(10))]));
  await register('in', inKey, 128);
  await register('out', outKey, 192, 64);
  try {
    const req = ModelInferRequest.fromPartial({
      modelName: 'simple',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n], parameters: shm('in', 64) },
        { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
      ],
      outputs: [
        { name: 'OUTPUT0', parameters: shm('out', 64) },
        { name: 'OUTPUT1', parameters: shm('out', 64, 100) },
      ],
      rawInputContents: [int32Buffer(Array(16).fill(1))],
    });
    const res = await call(client, client.modelInfer, req);
    assert.equal(
      res.outputs.map((o) => [o.name, o.datatype, o.shape]),
      [
        ['OUTPUT0', 'INT32', [1n, 16n]],
        ['OUTPUT1', 'INT32', [1n, 16n]],
      ],
    );
    assert.equal(
      res.rawOutputContents.map((b) => b.length),
      [0, 0],
      'outputs in shared memory keep empty raw entries',
    );
    const sum = ints(outKey, 64, 128);
    const diff = ints(outKey, 164, 228);
    assert.equal(
      sum,
      Array.from({ length: 16 }, (_, i) => i + 1),
      'OUTPUT0 = INPUT0 + INPUT1 at the region offset',
    );
    assert.equal(
      diff,
      Array.from({ length: 16 }, (_, i) => i - 1),
      'OUTPUT1 at its own offset',
    );
  } finally {
    await call(client, client.systemSharedMemoryUnregister, { name: '' });
  }
});

test('the same over HTTP: register with JSON, inputs by parameters, outputs listed without data', async () => {
  const inKey = shmObject('hin', 128);
  const outKey = shmObject('hout', 128);
  writeFileSync(fileOf(inKey), Buffer.concat([int32Buffer(Array(16).fill(2)), int32Buffer(Array(16).fill(3))]));
  const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
  assert.is((await post('/v2/systemsharedmemory/region/hin/register', { key: inKey, byte_size: 128 })).status, 200);
  assert.is((await post('/v2/systemsharedmemory/region/hout/register', { key: outKey, offset: 0, byte_size: 128 })).status, 200);
  assert.is((await post('/v2/systemsharedmemory/region/hout/register', { key: outKey, byte_size: 128 })).status, 409, 'registered twice');
  const listed = (await (await fetch(`${base}/v2/systemsharedmemory/status`)).json()) as Array<{ name: string; byte_size: number }>;
  assert.equal(listed.map((r) => [r.name, r.byte_size]).sort(), [
    ['hin', 128],
    ['hout', 128],
  ]);
  const p = (region: string, size: number, offset = 0) => ({
    shared_memory_region: region,
    shared_memory_byte_size: size,
    ...(offset ? { shared_memory_offset: offset } : {}),
  });
  const res = await post('/v2/models/simple/infer', {
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: p('hin', 64) },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: p('hin', 64, 64) },
    ],
    outputs: [{ name: 'OUTPUT0', parameters: { ...p('hout', 64), binary_data: false } }, { name: 'OUTPUT1' }],
  });
  const body = (await res.json()) as { outputs: Array<{ name: string; shape: number[]; data?: number[] }> };
  assert.is(res.status, 200, JSON.stringify(body));
  assert.equal(body.outputs[0], { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16] }, 'no data for the output in shared memory');
  assert.equal(body.outputs[1]!.data, Array(16).fill(-1));
  assert.equal(ints(outKey, 0, 64), Array(16).fill(5));
  const both = await post('/v2/models/simple/infer', {
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array(16).fill(1), parameters: p('hin', 64) },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array(16).fill(1) },
    ],
  });
  assert.is(both.status, 400, 'data and a region on one input');
  await both.arrayBuffer();
  assert.is((await post('/v2/systemsharedmemory/unregister', {})).status, 200);
  assert.equal(await (await fetch(`${base}/v2/systemsharedmemory/status`)).json(), []);
});

test('offsets and sizes are checked on every use: past the region, a too-small output, a truncated object', async () => {
  const key = shmObject('bounds', 128);
  await register('b', key, 128);
  const simple = (in0: Record<string, InferParameter>, out: Record<string, InferParameter> = {}) =>
    ModelInferRequest.fromPartial({
      modelName: 'simple',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n], parameters: in0 },
        { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
      ],
      outputs: [{ name: 'OUTPUT0', parameters: out }],
      rawInputContents: [int32Buffer(Array(16).fill(1))],
    });
  try {
    const cases: Array<[string, ModelInferRequest]> = [
      ['offset past the region', simple(shm('b', 64, 100))],
      ['byte size not the tensor size', simple(shm('b', 32))],
      ['an unknown region', simple(shm('nope', 64))],
      ['an output offset past the region', simple(shm('b', 64), shm('b', 64, 120))],
      ['an output too small for the result', simple(shm('b', 64), shm('b', 16))],
    ];
    for (const [what, req] of cases) {
      const err = await callError(client, client.modelInfer, req);
      assert.is(err.code, status.INVALID_ARGUMENT, `${what}: ${err.details}`);
    }
    // Two outputs, the second's region too small: the request fails and the first region is untouched.
    writeFileSync(fileOf(key), Buffer.alloc(128, 0xee));
    const two = ModelInferRequest.fromPartial({
      ...simple(shm('b', 64)),
      outputs: [
        { name: 'OUTPUT0', parameters: shm('b', 64, 64) },
        { name: 'OUTPUT1', parameters: shm('b', 16) },
      ],
    });
    assert.is((await callError(client, client.modelInfer, two)).code, status.INVALID_ARGUMENT);
    assert.ok(
      readFileSync(fileOf(key))
        .subarray(64)
        .every((b) => b === 0xee),
      'no output was written',
    );
    truncateSync(fileOf(key), 32);
    const err = await callError(client, client.modelInfer, simple(shm('b', 64)));
    assert.is(err.code, status.INVALID_ARGUMENT, `a truncated object: ${err.details}`);
    assert.match(err.details, /truncated/);
  } finally {
    await call(client, client.systemSharedMemoryUnregister, { name: 'b' });
  }
});

test('a region unregistered while a request uses it: the request finishes and writes its output; the name is free at once', async () => {
  const inKey = shmObject('fly_in', 128);
  const outKey = shmObject('fly_out', 64);
  writeFileSync(fileOf(inKey), Buffer.concat([int32Buffer(Array(16).fill(4)), int32Buffer(Array(16).fill(4))]));
  await register('fly_in', inKey, 128);
  await register('fly_out', outKey, 64);
  const req = ModelInferRequest.fromPartial({
    modelName: 'slow',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n], parameters: shm('fly_in', 64) },
      { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n], parameters: shm('fly_in', 64, 64) },
    ],
    outputs: [{ name: 'OUTPUT0', parameters: shm('fly_out', 64) }],
  });
  const inFlight = call(client, client.modelInfer, req);
  // Queued (a 300 ms delay) means decoded, so the server holds its regions: unregister then.
  await pendingOf(server.metricsPort, 'slow', 1);
  await call(client, client.systemSharedMemoryUnregister, { name: '' });
  assert.equal((await call(client, client.systemSharedMemoryStatus, { name: '' })).regions, {});
  await register('fly_out', shmObject('fly_out2', 64), 64);
  const res = await inFlight;
  assert.equal(res.rawOutputContents[0]!.length, 0);
  assert.equal(ints(outKey, 0, 64), Array(16).fill(8), 'written to the region it was given');
  await call(client, client.systemSharedMemoryUnregister, { name: '' });
});

test('a region input larger than --max-queued-bytes is refused before a byte is read or allocated', async () => {
  const n = 512 * 1024;
  const key = shmObject('big', 4 * n);
  await register('big', key, 4 * n);
  try {
    const err = await callError(
      client,
      client.modelInfer,
      ModelInferRequest.fromPartial({
        modelName: 'identity_fp32',
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1n, BigInt(n)], parameters: shm('big', 4 * n) }],
      }),
    );
    assert.is(err.code, status.RESOURCE_EXHAUSTED, err.details);
    assert.match(err.details, /--max-queued-bytes/);
  } finally {
    await call(client, client.systemSharedMemoryUnregister, { name: '' });
  }
});

test('BYTES inputs read from shared memory are held to --max-request-bytes-elements, as over the wire', async () => {
  const raw = bytesBuffer(Array.from({ length: 1001 }, () => 'x'));
  const key = shmObject('many', raw.length);
  writeFileSync(fileOf(key), raw);
  await register('many', key, raw.length);
  try {
    const err = await callError(
      client,
      client.modelInfer,
      ModelInferRequest.fromPartial({
        modelName: 'identity_bytes',
        inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1n, 1001n], parameters: shm('many', raw.length) }],
      }),
    );
    assert.is(err.code, status.RESOURCE_EXHAUSTED, err.details);
    assert.match(err.details, /--max-request-bytes-elements/);
  } finally {
    await call(client, client.systemSharedMemoryUnregister, { name: '' });
  }
});

test('BYTES tensors travel length-prefixed through shared memory', async () => {
  const raw = bytesBuffer(['hello', '', 'wörld']);
  const inKey = shmObject('bytes_in', raw.length);
  const outKey = shmObject('bytes_out', 256);
  writeFileSync(fileOf(inKey), raw);
  await register('bin', inKey, raw.length);
  await register('bout', outKey, 256);
  try {
    const res = await call(
      client,
      client.modelInfer,
      ModelInferRequest.fromPartial({
        modelName: 'identity_bytes',
        inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1n, 3n], parameters: shm('bin', raw.length) }],
        outputs: [{ name: 'OUTPUT0', parameters: shm('bout', 256) }],
      }),
    );
    assert.equal(res.outputs[0]!.shape, [1n, 3n]);
    assert.equal(readBytes(readFileSync(fileOf(outKey)).subarray(0, raw.length)), ['hello', '', 'wörld']);
  } finally {
    await call(client, client.systemSharedMemoryUnregister, { name: '' });
  }
});

test.run();
