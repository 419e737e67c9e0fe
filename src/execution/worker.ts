// Worker-thread entry: one thread per replica, holding that replica's
// InferenceSession(s). session.run is synchronous in onnxruntime-node, which is why it
// only ever runs here and never on the gRPC event loop.

import { move, transferableSymbol, valueSymbol } from 'piscina';
import * as ort from 'onnxruntime-node';
import { joinBytes, splitBytes } from '../tensor/codec.js';
import { SessionsBySize } from './sessions-by-size.js';
import type { LoadResult, LoadTask, RunResult, SessionOptionsSpec, TensorInfo, WireTensor, WorkerTask } from './protocol.js';

const sessions = new Map<string, ort.InferenceSession>();

/**
 * On the CUDA provider, a session re-plans its convolutions whenever the input shape
 * differs from its previous run: measured on an H100 (ORT 1.29), alternating batches of
 * 1 and 2 rows took 0.5-1 s a run, the same shape again 2 ms, whatever the session options.
 * So a CUDA replica keeps one session per batch size it is given (the batcher pads to
 * power-of-two sizes, so there are few), each of which only ever sees one shape; the
 * least recently used one goes when there are more than this many.
 */
const maxShapeSessions = 16;
/** Per CUDA session id: its sessions by batch size (the loaded session serves the first size). */
const bySize = new Map<string, SessionsBySize<ort.InferenceSession>>();

export default async function handle(task: WorkerTask): Promise<unknown> {
  switch (task.kind) {
    case 'load':
      return load(task);
    case 'run':
      if (task.fault && process.env['TRITON_TS_TEST_FAULTS'] === '1') await injectFault(task.fault);
      if (!sessions.has(task.sessionId)) await load(task.reload);
      return run(await sessionFor(task.sessionId, task.inputs[0]?.shape[0]), task.inputs, task.outputNames);
    case 'unload': {
      const s = sessions.get(task.sessionId);
      sessions.delete(task.sessionId);
      const perShape = bySize.get(task.sessionId)?.made() ?? [];
      bySize.delete(task.sessionId);
      await Promise.all([s, ...perShape].map((x) => x?.release()));
      return true;
    }
  }
}

/** Test-only ways for this worker to fail (see README, "Fault injection"). */
async function injectFault(fault: string): Promise<void> {
  if (fault.startsWith('sleep:')) {
    // A replica that is busy without using a core: the batch runs after this many ms.
    await new Promise((r) => setTimeout(r, Number(fault.slice('sleep:'.length))));
    return;
  }
  switch (fault) {
    case 'fail':
      throw new Error('injected failure (test fault)');
    case 'exit':
      return process.exit(3);
    case 'throw':
      setImmediate(() => {
        throw new Error('injected uncaught error (test fault)');
      });
      // The uncaught error ends this thread; the task never completes here.
      return new Promise<void>(() => undefined);
    case 'oom': {
      const hog: number[][] = [];
      for (;;) hog.push(new Array(1 << 20).fill(1));
    }
  }
}

function ortOptions(options: SessionOptionsSpec): ort.InferenceSession.SessionOptions {
  const opts: ort.InferenceSession.SessionOptions = {
    executionProviders: options.executionProviders.map((ep) => (ep === 'cpu' ? 'cpu' : { name: 'cuda', deviceId: ep.deviceId })),
    graphOptimizationLevel: options.graphOptimizationLevel as 'all',
  };
  if (options.intraOpNumThreads > 0) opts.intraOpNumThreads = options.intraOpNumThreads;
  if (options.interOpNumThreads > 0) opts.interOpNumThreads = options.interOpNumThreads;
  const spin = options.allowSpinning ? '1' : '0';
  opts.extra = { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } };
  return opts;
}

/**
 * A session of the task's model: from its file, or from its in-memory bytes. ORT will not
 * take a view of shared memory, so those are copied for the call and the copy is zeroed
 * once ORT has read it (the shared bytes stay, for sessions made later).
 */
async function createSession(task: LoadTask): Promise<ort.InferenceSession> {
  if (!task.modelBytes) return ort.InferenceSession.create(task.modelPath, ortOptions(task.options));
  const copy = new Uint8Array(task.modelBytes).slice();
  try {
    return await ort.InferenceSession.create(copy, ortOptions(task.options));
  } finally {
    copy.fill(0);
  }
}

async function load(task: LoadTask): Promise<LoadResult> {
  const { sessionId, options } = task;
  const session = await createSession(task);
  sessions.set(sessionId, session);
  if (options.executionProviders.some((ep) => ep !== 'cpu')) {
    const more = () => createSession(task);
    bySize.set(sessionId, new SessionsBySize(session, maxShapeSessions, more, (s) => s.release()));
  }
  return { inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) };
}

/** The session to run a batch of `rows` on: on CUDA, the one kept for that batch size. */
function sessionFor(sessionId: string, rows: number | undefined): ort.InferenceSession | Promise<ort.InferenceSession> {
  const sizes = bySize.get(sessionId);
  if (sizes && rows !== undefined) return sizes.get(rows);
  const s = sessions.get(sessionId);
  if (!s) throw new Error(`session ${sessionId} is not loaded in this worker`);
  return s;
}

function describe(meta: readonly ort.InferenceSession.ValueMetadata[]): TensorInfo[] {
  return meta.map((m) => {
    if (!m.isTensor) return { name: m.name, ortType: 'non-tensor', shape: [] };
    return {
      name: m.name,
      ortType: m.type,
      shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    };
  });
}

function run(session: ort.InferenceSession, inputs: WireTensor[], outputNames: string[]): unknown {
  const t0 = process.hrtime.bigint();
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of inputs) feeds[input.name] = toOrt(input);
  const t1 = process.hrtime.bigint();
  const results = session.run(feeds, outputNames) as unknown as Promise<ort.InferenceSession.ReturnType>;
  return results.then((out) => {
    const t2 = process.hrtime.bigint();
    const outputs: WireTensor[] = [];
    for (const name of outputNames) {
      const t = out[name];
      if (!t) throw new Error(`the model produced no output named '${name}'`);
      outputs.push(fromOrt(name, t));
    }
    const t3 = process.hrtime.bigint();
    const result: RunResult = {
      outputs,
      timings: {
        computeInputNs: Number(t1 - t0),
        computeInferNs: Number(t2 - t1),
        computeOutputNs: Number(t3 - t2),
      },
    };
    return move({
      [transferableSymbol]: outputs.map((o) => o.data),
      [valueSymbol]: result,
    } as never);
  });
}

function toOrt(w: WireTensor): ort.Tensor {
  const b = w.data;
  switch (w.ortType) {
    case 'float32':
      return new ort.Tensor('float32', new Float32Array(b), w.shape);
    case 'float64':
      return new ort.Tensor('float64', new Float64Array(b), w.shape);
    case 'float16':
      return new ort.Tensor('float16', new Uint16Array(b), w.shape);
    case 'int8':
      return new ort.Tensor('int8', new Int8Array(b), w.shape);
    case 'int16':
      return new ort.Tensor('int16', new Int16Array(b), w.shape);
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(b), w.shape);
    case 'int64':
      return new ort.Tensor('int64', new BigInt64Array(b), w.shape);
    case 'uint8':
      return new ort.Tensor('uint8', new Uint8Array(b), w.shape);
    case 'uint16':
      return new ort.Tensor('uint16', new Uint16Array(b), w.shape);
    case 'uint32':
      return new ort.Tensor('uint32', new Uint32Array(b), w.shape);
    case 'uint64':
      return new ort.Tensor('uint64', new BigUint64Array(b), w.shape);
    case 'bool':
      return new ort.Tensor('bool', new Uint8Array(b), w.shape);
    case 'string':
      return new ort.Tensor('string', decodeStrings(new Uint8Array(b)), w.shape);
    default:
      throw new Error(`tensor type ${w.ortType} is not supported`);
  }
}

function fromOrt(name: string, t: ort.Tensor): WireTensor {
  const shape = [...t.dims];
  if (t.type === 'string') {
    return { name, ortType: 'string', shape, data: encodeStrings(t.data as string[]) };
  }
  const data = t.data as ArrayBufferView;
  let buf = data.buffer as ArrayBuffer;
  // Hand over a buffer that holds exactly this tensor, so it can be transferred.
  if (data.byteOffset !== 0 || data.byteLength !== buf.byteLength || !(buf instanceof ArrayBuffer)) {
    buf = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice().buffer;
  }
  return { name, ortType: t.type, shape, data: buf };
}

const utf8 = new TextDecoder('utf-8');
const utf8Enc = new TextEncoder();

function decodeStrings(raw: Uint8Array): string[] {
  return splitBytes(raw).map((b) => utf8.decode(b));
}

function encodeStrings(values: readonly string[]): ArrayBuffer {
  return joinBytes(values.map((v) => utf8Enc.encode(v))).buffer as ArrayBuffer;
}
