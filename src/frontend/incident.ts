// What a client is told of a bug (an error that is not a ServeError): an incident id to
// quote; the log keeps the message and the stack under it. Both frontends use it.

import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';

export function internalMessage(err: unknown, log: Logger, where: string): string {
  const incident = randomUUID().slice(0, 8);
  log.error(`internal error in ${where} (incident ${incident})`, { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return `internal error in ${where} (incident ${incident}; the server log has the details)`;
}
