// perf_analyzer's --shared-memory system for this load generator: the request's inputs
// are written once into a POSIX shared-memory object (a file under /dev/shm) registered
// as a region, every output gets --output-shared-memory-size bytes of another, and the
// request then names the regions instead of carrying the bytes. The server must be on
// this host, started with --allow-client-shm=true.

import { rmSync, writeFileSync } from 'node:fs';
import type { InferParameter, ModelInferRequest, ModelMetadataResponse } from '../src/generated/inference/grpc_service.js';
import type { ControlPlane } from './control-plane.js';

export interface SharedMemoryPlacement {
  remove(): Promise<void>;
}

const str = (value: string): InferParameter => ({ parameterChoice: { $case: 'stringParam', value } });
const i64 = (value: number): InferParameter => ({ parameterChoice: { $case: 'int64Param', value: BigInt(value) } });

/** Moves `req`'s inputs into a region and points its outputs at another; rawInputContents is emptied. */
export async function placeInSharedMemory(
  req: ModelInferRequest,
  meta: ModelMetadataResponse,
  control: ControlPlane,
  outputBytes: number,
): Promise<SharedMemoryPlacement> {
  const tag = `tts_loadtest_${process.pid}_${Date.now()}`;
  const files = [`/dev/shm/${tag}_in`, `/dev/shm/${tag}_out`];
  const input = Buffer.concat(req.rawInputContents);
  writeFileSync(files[0]!, input);
  writeFileSync(files[1]!, Buffer.alloc(Math.max(1, outputBytes * meta.outputs.length)));
  const regions: string[] = [];
  try {
    await control.registerShm(`${tag}_in`, `/${tag}_in`, Math.max(1, input.length));
    regions.push(`${tag}_in`);
    await control.registerShm(`${tag}_out`, `/${tag}_out`, Math.max(1, outputBytes * meta.outputs.length));
    regions.push(`${tag}_out`);
  } catch (err) {
    for (const r of regions) await control.unregisterShm(r).catch(() => undefined);
    for (const f of files) rmSync(f, { force: true });
    throw err;
  }
  let offset = 0;
  req.inputs.forEach((t, i) => {
    const n = req.rawInputContents[i]!.length;
    t.parameters = {
      ...t.parameters,
      shared_memory_region: str(`${tag}_in`),
      shared_memory_byte_size: i64(n),
      ...(offset ? { shared_memory_offset: i64(offset) } : {}),
    };
    offset += n;
  });
  req.rawInputContents = [];
  req.outputs = meta.outputs.map((o, i) => ({
    name: o.name,
    parameters: {
      shared_memory_region: str(`${tag}_out`),
      shared_memory_byte_size: i64(outputBytes),
      ...(i ? { shared_memory_offset: i64(i * outputBytes) } : {}),
    },
  }));
  return {
    remove: async () => {
      for (const r of regions) await control.unregisterShm(r).catch(() => undefined);
      for (const f of files) rmSync(f, { force: true });
    },
  };
}
