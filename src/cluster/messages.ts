// The messages between the primary and its worker processes (node:cluster IPC, with
// structured-clone serialization so bigints and buffers travel as they are).

import type { OpName } from './link.js';

export type ToPrimary =
  | { t: 'tts:hello' }
  | { t: 'tts:ready'; ready: boolean }
  | { t: 'tts:call'; id: number; op: OpName; args: unknown }
  | { t: 'tts:applied'; cid: number; ok: true; value: unknown }
  | { t: 'tts:applied'; cid: number; ok: false; code: number; message: string }
  | { t: 'tts:metrics'; cid: number; metrics: unknown };

export type ToWorker =
  | { t: 'tts:metrics?'; cid: number }
  | { t: 'tts:apply'; cid: number; op: OpName; args: unknown }
  | { t: 'tts:result'; id: number; ok: true; values: unknown[] }
  | { t: 'tts:result'; id: number; ok: false; code: number; message: string }
  | { t: 'tts:cluster-ready'; ready: boolean }
  | { t: 'tts:caught-up' };
