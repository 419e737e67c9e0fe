// What the request core needs from the rest of the server, passed in by server.ts.

import type { Logger } from '../log.js';
import type { ModelRegistry } from '../model/registry.js';
import type { ModelRepository } from '../repository/model-repository.js';
import type { Clock } from '../clock.js';
import type { Security } from '../security/security.js';
import type { SystemSharedMemory } from '../shm/system-shared-memory.js';
import type { ClusterLink } from '../cluster/link.js';

export type ModelControlMode = 'none' | 'explicit' | 'poll';

export interface ServiceContext {
  readonly registry: ModelRegistry;
  readonly repository: ModelRepository;
  readonly controlMode: ModelControlMode;
  readonly clock: Pick<Clock, 'now'>;
  readonly log: Logger;
  readonly serverName: string;
  readonly serverVersion: string;
  readonly extensions: readonly string[];
  /** Read the test-only `test_fault` request parameter. */
  readonly testFaults: boolean;
  /** Access check (lists show only what the caller may see) and audit trail. */
  readonly security: Security;
  /** Triton's system shared memory regions (off unless --allow-client-shm). */
  readonly sharedMemory: SystemSharedMemory;
  /** The other server processes (--server-processes), or none. */
  readonly cluster: ClusterLink;
  isLive(): boolean;
  isReady(): boolean;
  /** Called after any load or unload so health statuses follow model states. */
  modelsChanged(): void;
}
