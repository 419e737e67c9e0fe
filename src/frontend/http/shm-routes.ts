// Triton's system shared memory routes over HTTP/REST, as their gRPC counterparts: status
// as a JSON array of {name, key, offset, byte_size}; register with {key, offset, byte_size};
// unregister one region or all. Answers of register and unregister are empty.

import { invalid } from '../../errors.js';
import type { Handler, RouteCall } from './route-types.js';
import type { RegionStatus } from '../../shm/system-shared-memory.js';

const region = (c: RouteCall): string => c.params['region'] ?? '';

const statusJson = (rs: RegionStatus[]) => rs.map((r) => ({ name: r.name, key: r.key, offset: r.offset, byte_size: r.byteSize }));

function unsigned(v: unknown, field: string, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalid(`shared memory register: '${field}' must be a non-negative integer`);
  return v;
}

export function sharedMemoryHandlers(jsonBody: (c: RouteCall) => Promise<Record<string, unknown>>): Record<string, Handler> {
  return {
    'GET /v2/systemsharedmemory/status': (core) => ({ status: 200, json: statusJson(core.sharedMemoryStatus('')) }),
    'GET /v2/systemsharedmemory/region/:region/status': (core, c) => ({ status: 200, json: statusJson(core.sharedMemoryStatus(region(c))) }),
    'POST /v2/systemsharedmemory/region/:region/register': async (core, c) => {
      const b = await jsonBody(c);
      if (typeof b['key'] !== 'string') throw invalid("shared memory register: the body needs 'key', a string");
      await core.registerSharedMemory(region(c), b['key'], unsigned(b['offset'], 'offset', 0), unsigned(b['byte_size'], 'byte_size'));
      return { status: 200 };
    },
    'POST /v2/systemsharedmemory/region/:region/unregister': async (core, c) => {
      await jsonBody(c);
      await core.unregisterSharedMemory(region(c));
      return { status: 200 };
    },
    'POST /v2/systemsharedmemory/unregister': async (core, c) => {
      await jsonBody(c);
      await core.unregisterSharedMemory('');
      return { status: 200 };
    },
  };
}
