// What the load generator asks the server besides inferences: the model's metadata and
// config (to build the request) and its statistics (around each step), over gRPC or
// HTTP/REST, whichever -i names.

import {
  GRPCInferenceServiceClient,
  type ModelConfigResponse,
  type ModelMetadataResponse,
  type ModelStatistics,
  type ModelStatisticsResponse,
} from '../src/generated/inference/grpc_service.js';
import { connection, parseHeaders, type ConnectionOptions } from './connection.js';
import type { Protocol } from './transports.js';

export interface ServerStats {
  success: number;
  queueNs: number;
  computeInputNs: number;
  computeInferNs: number;
  computeOutputNs: number;
  inferenceCount: number;
  executionCount: number;
}

export interface ControlPlane {
  metadata(): Promise<ModelMetadataResponse>;
  maxBatchSize(): Promise<number>;
  /** The newest version's statistics. */
  stats(): Promise<ServerStats | undefined>;
  /** Triton's system shared memory: a region over a /dev/shm object, and its removal. */
  registerShm(name: string, key: string, byteSize: number): Promise<void>;
  unregisterShm(name: string): Promise<void>;
  close(): void;
}

export function controlPlane(protocol: Protocol, address: string, model: string, version: string, conn: ConnectionOptions): ControlPlane {
  return protocol === 'grpc' ? grpcControl(address, model, version, conn) : httpControl(address, model, version, conn);
}

function grpcControl(address: string, model: string, version: string, o: ConnectionOptions): ControlPlane {
  const conn = connection(o);
  const client = new GRPCInferenceServiceClient(address, conn.credentials, { ...conn.options, 'grpc.max_receive_message_length': -1 });
  const ask = <R>(f: (cb: (e: Error | null, r: R) => void) => void): Promise<R> => new Promise((res, rej) => f((e, r) => (e ? rej(e) : res(r))));
  return {
    metadata: () => ask<ModelMetadataResponse>((cb) => client.modelMetadata({ name: model, version }, cb)),
    maxBatchSize: async () => (await ask<ModelConfigResponse>((cb) => client.modelConfig({ name: model, version }, cb))).config?.maxBatchSize ?? 0,
    stats: async () => {
      const r = await ask<ModelStatisticsResponse>((cb) => client.modelStatistics({ name: model, version }, cb));
      const s: ModelStatistics | undefined = r.modelStats.sort((a, b) => Number(b.version) - Number(a.version))[0];
      if (!s) return undefined;
      const n = (x: bigint | undefined) => Number(x ?? 0n);
      return {
        success: n(s.inferenceStats?.success?.count),
        queueNs: n(s.inferenceStats?.queue?.ns),
        computeInputNs: n(s.inferenceStats?.computeInput?.ns),
        computeInferNs: n(s.inferenceStats?.computeInfer?.ns),
        computeOutputNs: n(s.inferenceStats?.computeOutput?.ns),
        inferenceCount: n(s.inferenceCount),
        executionCount: n(s.executionCount),
      };
    },
    registerShm: async (name, key, byteSize) => {
      await ask((cb) => client.systemSharedMemoryRegister({ name, key, offset: 0n, byteSize: BigInt(byteSize) }, cb));
    },
    unregisterShm: async (name) => {
      await ask((cb) => client.systemSharedMemoryUnregister({ name }, cb));
    },
    close: () => client.close(),
  };
}

interface HttpStats {
  model_stats: Array<{
    version: string;
    inference_count: number;
    execution_count: number;
    inference_stats: Record<'success' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output', { count: number; ns: number }>;
  }>;
}

function httpControl(address: string, model: string, version: string, o: ConnectionOptions): ControlPlane {
  const base = `http://${address}/v2/models/${encodeURIComponent(model)}${version ? `/versions/${encodeURIComponent(version)}` : ''}`;
  const headers = Object.fromEntries(parseHeaders(o.headers));
  const root = `http://${address}/v2/systemsharedmemory/region`;
  const post = async (url: string, body: unknown): Promise<void> => {
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`POST ${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  };
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${base}${path}`, { headers });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET ${path || '/'}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
  return {
    metadata: async () => {
      type T = { name: string; datatype: string; shape: number[] };
      const m = await get<{ name: string; versions?: string[]; platform?: string; inputs: T[]; outputs?: T[] }>('');
      const tensor = (t: T) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) });
      return { name: m.name, versions: m.versions ?? [], platform: m.platform ?? '', inputs: m.inputs.map(tensor), outputs: (m.outputs ?? []).map(tensor) };
    },
    maxBatchSize: async () => (await get<{ max_batch_size?: number }>('/config')).max_batch_size ?? 0,
    stats: async () => {
      const s = (await get<HttpStats>('/stats')).model_stats.sort((a, b) => Number(b.version) - Number(a.version))[0];
      if (!s) return undefined;
      const st = s.inference_stats;
      return {
        success: st.success.count,
        queueNs: st.queue.ns,
        computeInputNs: st.compute_input.ns,
        computeInferNs: st.compute_infer.ns,
        computeOutputNs: st.compute_output.ns,
        inferenceCount: s.inference_count,
        executionCount: s.execution_count,
      };
    },
    registerShm: (name, key, byteSize) => post(`${root}/${encodeURIComponent(name)}/register`, { key, offset: 0, byte_size: byteSize }),
    unregisterShm: (name) => post(`${root}/${encodeURIComponent(name)}/unregister`, {}),
    close: () => undefined,
  };
}
