// Starting and stopping a benchmark peer (a bare or naive gRPC server in peers/) as a
// child process on 127.0.0.1.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../../test/helpers/server-process.js';

export interface Peer {
  address: string;
  child: ChildProcess;
}

/** Runs peers/<script> for `model` of the bundled repository; resolves once it listens. */
export async function startPeer(script: string, model: string): Promise<Peer> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'loadtest', 'peers', script), join(repoRoot, 'model-repo'), model], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = /^listening (\d+)$/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited ${code}`)));
  });
  return { address: `127.0.0.1:${port}`, child };
}

export async function stopPeer(p: Peer): Promise<void> {
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await exited;
}
