// The region table of the system shared memory extension, on a temporary folder standing
// in for /dev/shm: identities, bounds, leases, the open-region limit.

import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Code, ServeError } from '../../../src/errors.js';
import { SystemSharedMemory } from '../../../src/shm/system-shared-memory.js';

const root = mkdtempSync(join(tmpdir(), 'tts-shm-'));
const object = (name: string, size: number): string => {
  writeFileSync(join(root, name), Buffer.alloc(size, 7));
  return `/${name}`;
};
const code = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (err) {
    return err instanceof ServeError ? err.code : -1;
  }
  return undefined;
};

test('a replay that finds another object under the key (unlinked and created again) is refused', () => {
  const shm = new SystemSharedMemory({ enabled: true, root });
  const key = object('a', 64);
  const identity = shm.register('a', key, 0, 64);
  shm.unregister('a');
  assert.is(shm.register('a', key, 0, 64, identity), identity, 'the same object replays');
  shm.unregister('a');
  unlinkSync(join(root, 'a'));
  object('a', 64);
  assert.is(
    code(() => shm.register('a', key, 0, 64, identity)),
    Code.INVALID_ARGUMENT,
  );
  assert.equal(shm.status(''), []);
});

test('a lease is checked on every use and refuses use after release; a removed region in use still counts toward the limit', () => {
  const shm = new SystemSharedMemory({ enabled: true, root, maxRegions: 2 });
  shm.register('b', object('b', 128), 64, 64);
  const lease = shm.lease('b', 'input X');
  assert.is(
    code(() => lease.read(60, 8, 'input X')),
    Code.INVALID_ARGUMENT,
    'past the region',
  );
  assert.equal([...lease.read(0, 4, 'input X')], [7, 7, 7, 7]);
  shm.unregister('b');
  shm.register('c', object('c', 8), 0, 8);
  assert.is(
    code(() => shm.register('d', object('d', 8), 0, 8)),
    Code.RESOURCE_EXHAUSTED,
    'b is unregistered but still open for its request: two are open',
  );
  lease.release();
  assert.is(
    code(() => lease.read(0, 4, 'input X')),
    -1,
    'a released lease is a bug, not a read of a closed fd',
  );
  shm.register('d', object('d', 8), 0, 8);
  shm.close();
});

test('off, registering is UNIMPLEMENTED and naming a region in a request is INVALID_ARGUMENT', () => {
  const shm = new SystemSharedMemory({ enabled: false, root });
  assert.is(
    code(() => shm.register('e', object('e', 8), 0, 8)),
    Code.UNIMPLEMENTED,
  );
  assert.is(
    code(() => shm.lease('e', 'input X')),
    Code.INVALID_ARGUMENT,
  );
  assert.equal(shm.status(''), []);
});

test.after(() => rmSync(root, { recursive: true, force: true }));

test.run();
