// npm run bench -- abuse: the expensive attacks against a real server, one after another.
// For each: the server's peak RSS during the case (VmHWM after clear_refs, and sampled),
// whether it is alive and answering correctly after, and a well-behaved client's p99
// (simple, concurrency 1, its own process and connection) during the case against its
// idle p99 from the same run. Goal per case: p99 <= 5 x idle p99 + 50 ms, RSS < 2 GiB.
//   npm run bench -- abuse [--case NAME] [--seconds 8]

import { connect as h2connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { GRPCInferenceServiceClient, ModelInferRequest } from '../src/generated/inference/grpc_service.js';
import { startServerProcess, repoRoot } from '../test/helpers/server-process.js';
import { simpleRequest } from './bundled-requests.js';
import { inferOnce, type Client } from './closed-loop.js';

const { values: v } = parseArgs({ args: process.argv.slice(3), options: { case: { type: 'string' }, seconds: { type: 'string', default: '8' } } });
const caseMs = Number(v.seconds) * 1000;
const FIRST_REQUEST_TIMEOUT_MS = 3000;

const server = await startServerProcess([
  `--grpc-first-request-timeout=${FIRST_REQUEST_TIMEOUT_MS}`,
  ...(process.env['ABUSE_SERVER_ARGS'] ?? '').split(' ').filter(Boolean),
]);
const pid = server.child.pid!;
const [host, port] = [server.address.split(':')[0]!, Number(server.address.split(':')[1])];
const status = (): string => readFileSync(`/proc/${pid}/status`, 'utf8');
const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status())![1]);

function probe(ms: number): Promise<{ count: number; errors: number; firstError: string; p50Ms: number; p99Ms: number; maxMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'loadtest/abuse-probe.ts', server.address, String(ms)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`probe exited ${code}`))));
  });
}

const newClient = (n: number): Client =>
  new GRPCInferenceServiceClient(server.address, credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
    'abuse.connection': n,
  });

async function aliveAndCorrect(): Promise<boolean> {
  const c = newClient(-1);
  try {
    const res = await inferOnce(c, simpleRequest(2, 3), 20_000);
    return new Int32Array(res.rawOutputContents[0]!.buffer.slice(res.rawOutputContents[0]!.byteOffset, res.rawOutputContents[0]!.byteOffset + 64))[0] === 5;
  } catch {
    return false;
  } finally {
    c.close();
  }
}

/** A case runs its attack until stop() resolves it; `note` says what the attacker saw. */
interface Attack {
  stop(): Promise<string>;
}
const cases: Record<string, () => Promise<Attack>> = {
  // 64 KiB gzip messages that inflate to 64 MiB of empty `inputs` entries, 4 in flight.
  'gzip-empty-fields': async () => gzipFlood(Buffer.alloc(64 * 1024 * 1024 - 64, Buffer.from([0x2a, 0x00]))),
  // The same size of unknown fields (field 99, varint 0): skipped, never allocated.
  'gzip-unknown-fields': async () => gzipFlood(Buffer.alloc(64 * 1024 * 1024 - 64, Buffer.from([0x98, 0x06, 0x00]))),
  // 5,000 ModelStreamInfer streams over 40 connections, each sending one request and then held open.
  'many-streams': async () => {
    const clients = Array.from({ length: 40 }, (_, i) => newClient(i));
    const streams = Array.from({ length: 5000 }, (_, i) => clients[i % clients.length]!.modelStreamInfer());
    let answered = 0;
    for (const s of streams) {
      s.on('data', () => answered++);
      s.on('error', () => undefined);
      s.write(simpleRequest(1, 1));
    }
    return {
      stop: async () => {
        for (const s of streams) s.cancel();
        for (const c of clients) c.close();
        return `${answered} of 5000 streams answered`;
      },
    };
  },
  // 2,000 connections that send the HTTP/2 preface and SETTINGS, then nothing.
  'silent-connections': async () => {
    const start = performance.now();
    const closedAfter: number[] = [];
    const sockets = Array.from({ length: 2000 }, () => {
      const s = netConnect(port, host, () =>
        s.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])])),
      );
      s.on('data', () => undefined);
      s.on('error', () => undefined);
      s.on('close', () => closedAfter.push(performance.now() - start));
      return s;
    });
    return {
      stop: async () => {
        const byServer = closedAfter.length;
        const median = [...closedAfter].sort((a, b) => a - b)[Math.floor(byServer / 2)] ?? NaN;
        for (const s of sockets) s.destroy();
        return `${byServer} of 2000 closed by the server (median after ${median.toFixed(0)} ms; first-request timeout ${FIRST_REQUEST_TIMEOUT_MS} ms)`;
      },
    };
  },
  // One HTTP/2 stream that writes 1 MiB identity_fp32 requests and never reads a
  // response (its flow-control window is never opened again).
  'stream-never-reads': async () => {
    const c = newClient(99);
    const session = h2connect(`http://${server.address}`);
    session.on('error', () => undefined);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/inference.GRPCInferenceService/ModelStreamInfer',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('error', () => undefined);
    stream.pause();
    const msg = Buffer.from(
      ModelInferRequest.encode(
        ModelInferRequest.fromPartial({
          modelName: 'identity_fp32',
          inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1n, 262144n] }],
          rawInputContents: [Buffer.alloc(1 << 20, 1)],
        }),
      ).finish(),
    );
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), msg]);
    frame.writeUInt32BE(msg.length, 1);
    let written = 0;
    let blocked = false;
    const writer = (async () => {
      while (!blocked) {
        written++;
        if (!stream.write(frame)) {
          const drained = await Promise.race([new Promise((r) => stream.once('drain', () => r(true))), new Promise((r) => setTimeout(() => r(false), 3000))]);
          if (!drained) blocked = true;
        }
      }
    })();
    const served = async (): Promise<bigint> => {
      const r = await new Promise<{ modelStats: Array<{ inferenceCount: bigint }> }>((res, rej) =>
        c.modelStatistics({ name: 'identity_fp32', version: '' }, (e, x) => (e ? rej(e) : res(x))),
      );
      return r.modelStats.reduce((n, m) => n + m.inferenceCount, 0n);
    };
    const before = await served();
    return {
      stop: async () => {
        blocked = true;
        await writer;
        const during = (await served()) - before;
        stream.close(0x8);
        session.destroy();
        c.close();
        return `the client wrote ${written} requests of 1 MiB before its writes stopped; the server ran ${during} of them (--grpc-stream-max-in-flight 64) and read no more`;
      },
    };
  },
  // 20,000 unary requests on one connection, all at once.
  'queue-flood': async () => flood(1, 20_000),
  // The same 20,000 spread over 20 connections, so far more reach the server at once.
  'queue-flood-20-conns': async () => flood(20, 1_000),
};

function flood(connections: number, perConnection: number): Attack {
  const clients = Array.from({ length: connections }, (_, i) => newClient(100 + i));
  const req = simpleRequest(1, 1);
  const codes = new Map<string, number>();
  const all = clients.flatMap((c) =>
    Array.from({ length: perConnection }, () =>
      inferOnce(c, req, 120_000)
        .then(
          () => 'OK',
          (e: { code?: number }) => String(e.code),
        )
        .then((k) => void codes.set(k, (codes.get(k) ?? 0) + 1)),
    ),
  );
  return {
    stop: async () => {
      await Promise.all(all);
      for (const c of clients) c.close();
      return `status codes ${JSON.stringify(Object.fromEntries(codes))}`;
    },
  };
}

function gzipFlood(plain: Buffer): Attack {
  const gz = gzipSync(plain);
  const frame = Buffer.alloc(5 + gz.length);
  frame[0] = 1;
  frame.writeUInt32BE(gz.length, 1);
  gz.copy(frame, 5);
  const session = h2connect(`http://${server.address}`);
  session.on('error', () => undefined);
  const codes = new Map<string, number>();
  let running = true;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = session.request({
        ':method': 'POST',
        ':path': '/inference.GRPCInferenceService/ModelInfer',
        'content-type': 'application/grpc',
        'grpc-encoding': 'gzip',
        te: 'trailers',
      });
      let code = 'none';
      req.on('response', (hdrs) => {
        if (hdrs['grpc-status'] !== undefined) code = String(hdrs['grpc-status']);
      });
      req.on('trailers', (t) => {
        code = String(t['grpc-status']);
      });
      req.on('data', () => undefined);
      req.on('close', () => {
        codes.set(code, (codes.get(code) ?? 0) + 1);
        resolve();
      });
      req.on('error', () => undefined);
      req.end(frame);
    });
  const loops = Array.from({ length: 4 }, async () => {
    while (running && !session.destroyed) await one();
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      session.close();
      return `${(gz.length / 1024).toFixed(0)} KiB messages inflating to ${(plain.length / 2 ** 20).toFixed(0)} MiB; grpc-status ${JSON.stringify(Object.fromEntries(codes))}`;
    },
  };
}

const idle = await probe(caseMs);
console.log(
  `idle: well-behaved client p50 ${idle.p50Ms.toFixed(2)} ms, p99 ${idle.p99Ms.toFixed(2)} ms over ${idle.count} requests; server RSS ${(kb('VmRSS') / 1024).toFixed(0)} MB`,
);
const goalMs = 5 * idle.p99Ms + 50;
const rows: string[] = [];
for (const name of v.case ? [v.case] : Object.keys(cases)) {
  const run = cases[name];
  if (!run) throw new Error(`unknown case '${name}'; choose one of ${Object.keys(cases).join(', ')}`);
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  let sampled = kb('VmRSS');
  const sampler = setInterval(() => {
    try {
      sampled = Math.max(sampled, kb('VmRSS'));
    } catch {
      /* exited */
    }
  }, 25);
  const attack = await run();
  const during = await probe(caseMs);
  const note = await attack.stop();
  clearInterval(sampler);
  let peakMb = NaN;
  try {
    peakMb = Math.max(kb('VmHWM'), sampled) / 1024;
  } catch {
    /* exited */
  }
  const alive = await aliveAndCorrect();
  const ok = alive && peakMb < 2048 && during.p99Ms <= goalMs && during.errors === 0;
  const row =
    `${name.padEnd(20)} RSS peak ${peakMb.toFixed(0).padStart(5)} MB  alive ${alive ? 'yes' : 'NO '}  p99 ${during.p99Ms.toFixed(1).padStart(7)} ms (goal <= ${goalMs.toFixed(1)}; idle ${idle.p99Ms.toFixed(1)})  ` +
    `probe ${during.count} req, ${during.errors} errors  ${ok ? 'PASS' : 'FAIL'}  | ${note}`;
  console.log(row);
  rows.push(row);
}
await server.stop();
