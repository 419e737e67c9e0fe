// The README's curl examples, run exactly as written (the block between its
// "curl-examples" markers) against a real server, with H pointing at its HTTP port.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot, startServer, type TestServer } from '../helpers/server-process.js';

const test = suite("the README's curl examples");
let server: TestServer;

test.before(async () => {
  server = await startServer(['--model-control-mode=explicit', '--load-model=simple']);
});

test.after(async () => {
  await server?.stop();
});

function examples(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const m = /<!-- curl-examples[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- end curl-examples -->/.exec(readme);
  assert.ok(m, 'the README has the curl-examples block');
  return m![1]!;
}

test('every example succeeds and answers what the README shows', async () => {
  const block = examples();
  assert.ok(block.split('\n').filter((l) => l.startsWith('curl ')).length >= 6, 'the examples are there');
  // Asynchronously: the server answers from this process's event loop.
  const { stdout: out } = await promisify(execFile)('sh', ['-e', '-c', block], {
    env: { ...process.env, H: `127.0.0.1:${server.httpPort}` },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const lines = out.split('\n');
  assert.is(lines[0], '200');
  assert.match(out, /"name":"simple","versions":\["1"\]/);
  assert.match(out, /"id":"first"/);
  assert.match(out, /"name":"OUTPUT0","datatype":"INT32","shape":\[1,16\],"data":\[2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\]/);
  assert.match(out, /"max_batch_size":8/);
  assert.match(out, /\[\{"name":"simple","version":"1","state":"READY"\}\]/);
  assert.match(out, /"model_stats":\[\{"name":"simple","version":"1"/);
});

test.run();
