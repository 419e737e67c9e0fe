// KServe v2 over HTTP/REST against the real server: every route, JSON and binary tensors
// for every datatype, gzip both ways, Triton's statuses for bad input, loads with base64
// files, and HTTP and gRPC requests landing in the same batches.

import { gunzipSync, gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { identityModel, type OnnxTypeName } from '../../scripts/onnx-builder.js';
import { call, connect, int32Buffer, type InferenceClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';
import { BAD_REQUESTS, asHttp, missingNames } from '../helpers/bad-requests.js';

const test = suite('HTTP/REST (KServe v2)');
let server: TestServer;
let repo: TempRepo;
let grpc: InferenceClient;
let base = '';

interface Answer {
  status: number;
  headers: Headers;
  json: unknown;
  raw: Buffer;
}

async function http(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  const res = await fetch(`${base}${path}`, { method, headers, ...(payload ? { body: payload } : {}) });
  const raw = Buffer.from(await res.arrayBuffer());
  let json: unknown;
  const type = res.headers.get('content-type') ?? '';
  if (type.startsWith('application/json') && raw.length > 0) json = JSON.parse(raw.toString('utf8'));
  return { status: res.status, headers: res.headers, json, raw };
}

const simpleInputs = (a: number, b: number) => [
  { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array(16).fill(a) },
  { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: Array(16).fill(b) },
];

const TYPES: Array<{ type: OnnxTypeName; data: unknown[] }> = [
  { type: 'BOOL', data: [true, false, true] },
  { type: 'UINT8', data: [0, 128, 255] },
  { type: 'UINT16', data: [0, 1000, 65535] },
  { type: 'UINT32', data: [0, 70000, 4294967295] },
  { type: 'UINT64', data: [0, 2 ** 40, 2 ** 53 - 1] },
  { type: 'INT8', data: [-128, 0, 127] },
  { type: 'INT16', data: [-32768, 0, 32767] },
  { type: 'INT32', data: [-(2 ** 31), 0, 2 ** 31 - 1] },
  { type: 'INT64', data: [-(2 ** 53 - 1), 0, 2 ** 53 - 1] },
  { type: 'FP32', data: [1.5, -0.25, 1024] },
  { type: 'FP64', data: [Math.PI, -1e-300, 1e300] },
  { type: 'BYTES', data: ['', 'tensor', '✓ ünïcode'] },
];

test.before(async () => {
  repo = new TempRepo().copyBundled('simple').copyBundled('identity_fp32').copyBundled('identity_bytes');
  for (const t of [...TYPES.map((x) => x.type), 'FP16' as const]) repo.write(`id_${t.toLowerCase()}/1/model.onnx`, identityModel(`id_${t}`, t, ['batch', 3]));
  // simple with a queue delay, so concurrent requests from both frontends share batches.
  repo.copyBundled('simple', 'simple_batched');
  repo.write(
    'simple_batched/config.pbtxt',
    `${(await import('node:fs')).readFileSync(`${repo.root}/simple_batched/config.pbtxt`, 'utf8')}\ndynamic_batching { max_queue_delay_microseconds: 50000 }\n`,
  );
  server = await startServer([
    `--model-repository=${repo.root}`,
    '--model-control-mode=explicit',
    '--load-model=*',
    '--http-max-input-size=65536',
    '--http-max-json-size=32768',
  ]);
  base = `http://127.0.0.1:${server.httpPort}`;
  grpc = connect(server.address);
});

test.after(async () => {
  grpc?.close();
  await server?.stop();
  repo?.dispose();
});

test('health, server metadata and model readiness', async () => {
  assert.is((await http('GET', '/v2/health/live')).status, 200);
  assert.is((await http('GET', '/v2/health/ready')).status, 200);
  assert.is((await http('GET', '/v2/models/simple/ready')).status, 200);
  assert.is((await http('GET', '/v2/models/simple/versions/1/ready')).status, 200);
  assert.is((await http('GET', '/v2/models/nope/ready')).status, 404, 'an unknown model is 404, as Triton answers');
  assert.is((await http('GET', '/v2/models/simple/versions/9/ready')).status, 400, 'a known model not ready is 400');
  const meta = await http('GET', '/v2');
  assert.equal((meta.json as { name: string }).name, 'triton-ts');
});

test('model metadata, config with snake_case fields, statistics and the repository index', async () => {
  const m = (await http('GET', '/v2/models/simple')).json as Record<string, unknown>;
  assert.equal(m['inputs'], [
    { name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] },
    { name: 'INPUT1', datatype: 'INT32', shape: [-1, 16] },
  ]);
  assert.equal((await http('GET', '/v2/models/simple/versions/1')).json, m);
  const config = (await http('GET', '/v2/models/simple/config')).json as Record<string, unknown>;
  assert.is(config['max_batch_size'], 8);
  assert.is((config['input'] as Array<Record<string, unknown>>)[0]!['data_type'], 'TYPE_INT32');
  const stats = (await http('GET', '/v2/models/simple/stats')).json as { model_stats: Array<Record<string, unknown>> };
  assert.is(stats.model_stats[0]!['name'], 'simple');
  assert.ok('inference_stats' in stats.model_stats[0]!);
  const all = (await http('GET', '/v2/models/stats')).json as { model_stats: unknown[] };
  assert.ok(all.model_stats.length >= 3);
  const index = (await http('POST', '/v2/repository/index', { ready: true })).json as Array<Record<string, string>>;
  assert.ok(index.some((e) => e['name'] === 'simple' && e['state'] === 'READY'));
});

test('infer with JSON tensors: flat and nested data, id echoed', async () => {
  const inputs = simpleInputs(5, 2);
  (inputs[1] as { data: unknown }).data = [Array(16).fill(2)];
  const r = await http('POST', '/v2/models/simple/infer', { id: 'req-7', inputs });
  assert.is(r.status, 200);
  const body = r.json as { id: string; model_name: string; outputs: Array<{ name: string; data: number[]; shape: number[] }> };
  assert.is(body.id, 'req-7');
  assert.is(body.model_name, 'simple');
  assert.equal(body.outputs[0]!.data, Array(16).fill(7));
  assert.equal(body.outputs[1]!.data, Array(16).fill(3));
  assert.equal(body.outputs[0]!.shape, [1, 16]);
});

for (const t of TYPES) {
  test(`${t.type} round-trips as JSON and as binary data`, async () => {
    const model = `/v2/models/id_${t.type.toLowerCase()}/infer`;
    const r = await http('POST', model, { inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: t.type, data: t.data }] });
    assert.is(r.status, 200, JSON.stringify(r.json));
    const out = (r.json as { outputs: Array<{ data: unknown[]; datatype: string }> }).outputs[0]!;
    assert.is(out.datatype, t.type);
    if (t.type === 'FP32')
      assert.equal(
        out.data,
        t.data.map((x) => Math.fround(x as number)),
      );
    else assert.equal(out.data, t.data);
    // The same values as binary data both ways.
    const json = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: t.type, parameters: { binary_data_size: 0 } }],
        parameters: { binary_data_output: true },
      }),
    );
    const rawOf = async (): Promise<Buffer> => {
      const probe = await http('POST', model, {
        inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: t.type, data: t.data }],
        outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
      });
      const len = Number(probe.headers.get('inference-header-content-length'));
      return probe.raw.subarray(len);
    };
    const raw = await rawOf();
    const header = JSON.parse(json.toString()) as { inputs: Array<{ parameters: Record<string, number> }> };
    header.inputs[0]!.parameters['binary_data_size'] = raw.length;
    const head = Buffer.from(JSON.stringify(header));
    const b = await http('POST', model, Buffer.concat([head, raw]), {
      'inference-header-content-length': String(head.length),
      'content-type': 'application/octet-stream',
    });
    assert.is(b.status, 200, b.raw.toString());
    const hl = Number(b.headers.get('inference-header-content-length'));
    const bh = JSON.parse(b.raw.subarray(0, hl).toString()) as { outputs: Array<{ parameters: { binary_data_size: number } }> };
    assert.is(bh.outputs[0]!.parameters.binary_data_size, raw.length);
    assert.ok(b.raw.subarray(hl).equals(raw), 'the binary output is the binary input');
  });
}

test('FP16 travels only as binary data; JSON FP16 is refused with 400', async () => {
  const bad = await http('POST', '/v2/models/id_fp16/infer', { inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: 'FP16', data: [1, 2, 3] }] });
  assert.is(bad.status, 400);
  assert.match((bad.json as { error: string }).error, /FP16 data cannot be sent as JSON/);
  const raw = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x7bff]).buffer);
  const head = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: 'FP16', parameters: { binary_data_size: 6 } }],
      parameters: { binary_data_output: true },
    }),
  );
  const ok = await http('POST', '/v2/models/id_fp16/infer', Buffer.concat([head, raw]), { 'inference-header-content-length': String(head.length) });
  assert.is(ok.status, 200);
  assert.ok(ok.raw.subarray(Number(ok.headers.get('inference-header-content-length'))).equals(raw));
  // FP16 outputs asked for as JSON are refused before the model runs: the execution count stays.
  const executions = async () =>
    ((await http('GET', '/v2/models/id_fp16/stats')).json as { model_stats: Array<{ execution_count: number }> }).model_stats[0]!.execution_count;
  const before = await executions();
  const jsonOut = Buffer.from(JSON.stringify({ inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: 'FP16', parameters: { binary_data_size: 6 } }] }));
  const refused = await http('POST', '/v2/models/id_fp16/infer', Buffer.concat([jsonOut, raw]), { 'inference-header-content-length': String(jsonOut.length) });
  assert.is(refused.status, 400);
  assert.ok((refused.json as { error: string }).error.includes('OUTPUT0'), 'the refusal names the output');
  assert.is(await executions(), before, 'the model did not run');
});

test('INT64 and UINT64 outputs beyond 2^53 are written as their exact digits', async () => {
  const big = [9223372036854775807n, -9223372036854775808n, 9007199254740993n];
  const raw = Buffer.alloc(24);
  big.forEach((v, i) => raw.writeBigInt64LE(v, i * 8));
  const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: 'INT64', parameters: { binary_data_size: 24 } }] }));
  const r = await http('POST', '/v2/models/id_int64/infer', Buffer.concat([head, raw]), { 'inference-header-content-length': String(head.length) });
  assert.is(r.status, 200, r.raw.toString());
  assert.ok(r.raw.toString().includes('"data":[9223372036854775807,-9223372036854775808,9007199254740993]'), r.raw.toString());
  const u = Buffer.alloc(24);
  [18446744073709551615n, 0n, 1n].forEach((v, i) => u.writeBigUInt64LE(v, i * 8));
  const uhead = Buffer.from(JSON.stringify({ inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: 'UINT64', parameters: { binary_data_size: 24 } }] }));
  const ur = await http('POST', '/v2/models/id_uint64/infer', Buffer.concat([uhead, u]), { 'inference-header-content-length': String(uhead.length) });
  assert.ok(ur.raw.toString().includes('"data":[18446744073709551615,0,1]'), ur.raw.toString());
});

test('a raw binary request (Inference-Header-Content-Length: 0) feeds the one input; outputs come back binary', async () => {
  const raw = Buffer.from(new Float32Array([1.5, -2, 3]).buffer);
  const r = await http('POST', '/v2/models/id_fp32/infer', raw, { 'inference-header-content-length': '0', 'content-type': 'application/octet-stream' });
  assert.is(r.status, 200, r.raw.toString());
  const hl = Number(r.headers.get('inference-header-content-length'));
  const head = JSON.parse(r.raw.subarray(0, hl).toString()) as { outputs: Array<{ shape: number[]; parameters: { binary_data_size: number } }> };
  assert.equal(head.outputs[0]!.shape, [1, 3], 'batch 1, the rest from the model');
  assert.ok(r.raw.subarray(hl).equals(raw));
  const two = await http('POST', '/v2/models/simple/infer', Buffer.alloc(64), { 'inference-header-content-length': '0' });
  assert.is(two.status, 400);
  assert.match((two.json as { error: string }).error, /needs a model with one input; 'simple' has 2/);
  const bytes = await http('POST', '/v2/models/id_bytes/infer', Buffer.from('abc'), { 'inference-header-content-length': '0' });
  assert.is(bytes.status, 400);
  assert.match((bytes.json as { error: string }).error, /must have input shape \[1\]/);
  const ragged = await http('POST', '/v2/models/id_fp32/infer', Buffer.alloc(10), { 'inference-header-content-length': '0' });
  assert.is(ragged.status, 400, "ten bytes are not FP32 elements of the model's shape");
});

test('gzip both ways: a compressed request, and a compressed answer when accepted', async () => {
  const body = gzipSync(Buffer.from(JSON.stringify({ inputs: simpleInputs(1, 1) })));
  const r = await fetch(`${base}/v2/models/simple/infer`, { method: 'POST', body, headers: { 'content-encoding': 'gzip' } });
  assert.is(r.status, 200);
  const j = (await r.json()) as { outputs: Array<{ data: number[] }> };
  assert.equal(j.outputs[0]!.data, Array(16).fill(2));
  // Answers of 1 KiB or more are compressed when the client accepts it (fetch inflates; the header says so).
  const stats = await fetch(`${base}/v2/models/stats`, { headers: { 'accept-encoding': 'gzip' } });
  assert.is(stats.headers.get('content-encoding'), 'gzip');
  assert.ok(((await stats.json()) as { model_stats: unknown[] }).model_stats.length > 0);
  const refused = await fetch(`${base}/v2/models/stats`, { headers: { 'accept-encoding': 'gzip;q=0, identity' } });
  assert.is(refused.headers.get('content-encoding'), null, 'q=0 means not gzip');
  const deflated = await fetch(`${base}/v2/models/stats`, { headers: { 'accept-encoding': 'deflate' } });
  assert.is(deflated.headers.get('content-encoding'), 'deflate');
  const bomb = gzipSync(Buffer.alloc(10 * 65536, 0x20));
  assert.ok(bomb.length < 65536, 'the compressed body is under the limit');
  const big = await http('POST', '/v2/models/simple/infer', bomb, { 'content-encoding': 'gzip' });
  assert.is(big.status, 413);
  assert.match((big.json as { error: string }).error, /inflates to more than 65536 bytes \(--http-max-input-size\)/);
  assert.is(gunzipSync(gzipSync(Buffer.from('x'))).toString(), 'x');
});

test("the gRPC bad-input table over HTTP: Triton's statuses, the same names in the message", async () => {
  for (const bad of BAD_REQUESTS) {
    const { path, body, headers } = asHttp(bad);
    const r = await http('POST', path, body, headers);
    assert.is(r.status, bad.httpStatus, `${bad.title}: ${r.raw.toString().slice(0, 300)}`);
    assert.is(missingNames(bad, (r.json as { error: string }).error), undefined);
  }
});

test("bad requests get Triton's statuses and say what is wrong", async () => {
  const cases: Array<[string, string, unknown, number, RegExp]> = [
    ['POST', '/v2/models/simple/infer', Buffer.from('{not json'), 400, /not valid JSON/],
    ['POST', '/v2/models/nope/infer', { inputs: simpleInputs(1, 1) }, 404, /nope/],
    ['POST', '/v2/models/simple/infer', { inputs: [{ ...simpleInputs(1, 1)[0], shape: [1, 15] }, simpleInputs(1, 1)[1]] }, 400, /INPUT0/],
    ['POST', '/v2/models/simple/infer', { inputs: 'x' }, 400, /'inputs', an array/],
    [
      'POST',
      '/v2/models/simple/infer',
      { inputs: [{ ...simpleInputs(1, 1)[0], data: Array(16).fill('a') }, simpleInputs(1, 1)[1]] },
      400,
      /element 0 must be an integer for INT32/,
    ],
    [
      'POST',
      '/v2/models/simple/infer',
      { inputs: [{ ...simpleInputs(1, 1)[0], data: Array(16).fill(2 ** 40) }, simpleInputs(1, 1)[1]] },
      400,
      /out of range for INT32/,
    ],
    ['POST', '/v2/models/simple/infer', Buffer.alloc(70_000, 0x20), 413, /larger than 65536 bytes/],
    ['GET', '/v2/models/simple/infer', undefined, 405, /GET is not allowed .*; use POST/],
    ['GET', '/v2/nothing', undefined, 404, /no route/],
    ['GET', '/v2/cudasharedmemory/status', undefined, 501, /CUDA shared memory .* is not implemented/],
    ['POST', '/v2/systemsharedmemory/region/r/register', { key: '/k', byte_size: 8 }, 501, /--allow-client-shm=true/],
  ];
  for (const [method, path, body, status, text] of cases) {
    const r = await http(method, path, body);
    assert.is(r.status, status, `${method} ${path}: ${r.raw.toString().slice(0, 200)}`);
    assert.match((r.json as { error: string }).error, text);
  }
  const br = await http('POST', '/v2/models/simple/infer', Buffer.from('{}'), { 'content-encoding': 'br' });
  assert.is(br.status, 501);
  assert.is(br.headers.get('accept-encoding'), 'gzip, deflate');
  const bigJson = await http('POST', '/v2/models/simple/infer', { id: 'x'.repeat(40_000), inputs: simpleInputs(1, 1) });
  assert.is(bigJson.status, 413);
  assert.match((bigJson.json as { error: string }).error, /JSON part of the request is larger than 32768 bytes \(--http-max-json-size\)/);
  const lying = Buffer.from(JSON.stringify({ inputs: simpleInputs(1, 1) }));
  const r = await http('POST', '/v2/models/simple/infer', lying, { 'inference-header-content-length': String(lying.length + 5) });
  assert.is(r.status, 400);
  assert.match((r.json as { error: string }).error, /larger than the body/);
});

test('load and unload over HTTP, with the config and a base64 model file', async () => {
  const config = JSON.stringify({
    name: 'uploaded',
    max_batch_size: 4,
    input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [3] }],
    output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [3] }],
  });
  const file = Buffer.from(identityModel('uploaded', 'FP32', ['b', 3])).toString('base64');
  const load = await http('POST', '/v2/repository/models/uploaded/load', { parameters: { config, 'file:1/model.onnx': file } });
  assert.is(load.status, 200, load.raw.toString());
  const r = await http('POST', '/v2/models/uploaded/infer', { inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
  assert.equal((r.json as { outputs: Array<{ data: number[] }> }).outputs[0]!.data, [1, 2, 3]);
  assert.is((await http('POST', '/v2/repository/models/uploaded/unload', {})).status, 200);
  assert.is((await http('GET', '/v2/models/uploaded/ready')).status, 400);
  const notBase64 = await http('POST', '/v2/repository/models/x/load', { parameters: { config, 'file:1/model.onnx': '*not*' } });
  assert.is(notBase64.status, 400);
});

test('HTTP and gRPC requests to one model share batches', async () => {
  const before = (await http('GET', '/v2/models/simple_batched/stats')).json as { model_stats: Array<{ inference_count: number; execution_count: number }> };
  const b0 = before.model_stats[0]!;
  const viaHttp = Array.from({ length: 6 }, () => http('POST', '/v2/models/simple_batched/infer', { inputs: simpleInputs(3, 1) }));
  const viaGrpc = Array.from({ length: 6 }, () =>
    call(
      grpc,
      grpc.modelInfer,
      ModelInferRequest.fromPartial({
        modelName: 'simple_batched',
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
          { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
        ],
        rawInputContents: [int32Buffer(Array(16).fill(3)), int32Buffer(Array(16).fill(1))],
      }),
    ),
  );
  const [h, g] = await Promise.all([Promise.all(viaHttp), Promise.all(viaGrpc)]);
  assert.ok(h.every((r) => r.status === 200));
  assert.is(g.length, 6);
  const after = ((await http('GET', '/v2/models/simple_batched/stats')).json as typeof before).model_stats[0]!;
  const requests = after.inference_count - b0.inference_count;
  const executions = after.execution_count - b0.execution_count;
  assert.is(requests, 12);
  assert.ok(executions < requests, `12 requests ran in ${executions} executions`);
});

test.run();
