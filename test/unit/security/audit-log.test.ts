// The audit trail: one JSON object a line, appended to a 0600 file that is never a symlink;
// strings escaped and capped so no client text can split or forge a line; a bounded queue
// whose overflow is counted and reported in-line; reopen for log rotation.

import { chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSampler, MAX_AUDIT_STRING, openAuditLog, SERVER_WHO, whoOf, type AuditEvent, type AuditLogOptions } from '../../../src/security/audit-log.js';
import type { Principal } from '../../../src/security/access-control.js';

const NOW = '2026-01-02T03:04:05.006Z';
const fixedNow = (): Date => new Date(NOW);

function tempFile(name = 'audit.log'): string {
  return join(mkdtempSync(join(tmpdir(), 'triton-ts-audit-')), name);
}

function open(path: string, opts: AuditLogOptions = {}) {
  return openAuditLog(path, { now: fixedNow, ...opts });
}

function rawLines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'every line ends with a newline');
  return text.split('\n').slice(0, -1);
}

function lines(path: string): Array<Record<string, unknown>> {
  return rawLines(path).map((l) => JSON.parse(l) as Record<string, unknown>);
}

const stop = (reason: string): AuditEvent => ({ event: 'server_stop', reason });

test('a line holds the fields of the event, the time as ISO text and the event name', async () => {
  const path = tempFile();
  const log = open(path);
  log.record({ event: 'server_start', version: '0.1.0', pid: 4242, args: ['--model-repository=/models', '--access-policy=p.yaml'] });
  await log.close();
  const [line, ...rest] = lines(path);
  assert.equal(rest, []);
  assert.is(line!['time'], NOW);
  assert.is(line!['event'], 'server_start');
  assert.is(line!['version'], '0.1.0');
  assert.is(line!['pid'], 4242);
  assert.equal(line!['args'], ['--model-repository=/models', '--access-policy=p.yaml']);
});

test('the who of a model load is written as an object, and optional fields left out are absent', async () => {
  const path = tempFile();
  const log = open(path);
  log.record({ event: 'model_load', who: SERVER_WHO, model: 'simple', outcome: 'ok', versions: [{ version: 1, state: 'READY' }] });
  log.record({ event: 'model_unload', who: SERVER_WHO, model: 'dense', outcome: 'failed', reason: 'busy', versions: [], config_sha256: 'ab'.repeat(32) });
  await log.close();
  const [load, unload] = lines(path);
  assert.equal(load!['who'], { principal: '', via: 'server' });
  assert.equal(load!['versions'], [{ version: 1, state: 'READY' }]);
  assert.not.ok('reason' in load!);
  assert.not.ok('config_sha256' in load!);
  assert.is(unload!['event'], 'model_unload');
  assert.is(unload!['outcome'], 'failed');
  assert.is(unload!['reason'], 'busy');
  assert.is(unload!['config_sha256'], 'ab'.repeat(32));
});

test('a field named time cannot overwrite the time, and each key appears once in the line', async () => {
  const path = tempFile();
  const log = open(path);
  log.record({ event: 'server_stop', reason: 'SIGTERM', time: '1999-01-01T00:00:00.000Z' } as unknown as AuditEvent);
  await log.close();
  const [raw] = rawLines(path);
  assert.is(raw!.split('"time":').length - 1, 1);
  assert.is(raw!.split('"event":').length - 1, 1);
  const line = JSON.parse(raw!) as Record<string, unknown>;
  assert.is(line['time'], NOW);
  assert.is(line['event'], 'server_stop');
  assert.equal(Object.keys(line).slice(-2), ['time', 'event']);
});

test('newlines, escape characters, DEL, U+2028 and U+2029 in any string are escaped, nested ones too', async () => {
  const path = tempFile();
  const log = open(path);
  const evil = 'a\nb\u001bc\u007fd\u2028e\u2029f';
  log.record({
    event: 'access_denied',
    who: { principal: '', via: 'anonymous', subject: `CN=${evil}`, peer: 'ipv4:127.0.0.1:5000' },
    route: '/inference.GRPCInferenceService/ModelInfer',
    model: evil,
    code: 'UNAUTHENTICATED',
    reason: 'no credentials',
  });
  await log.close();
  const text = readFileSync(path, 'utf8');
  assert.is(text.indexOf('\n'), text.length - 1, 'one line, ended by the only newline');
  assert.not.match(text, /[\u0000-\u0009\u000b-\u001f\u007f\u2028\u2029]/);
  const [line] = lines(path);
  const escaped = 'a\\u000ab\\u001bc\\u007fd\\u2028e\\u2029f';
  assert.is(line!['model'], escaped);
  assert.is((line!['who'] as Record<string, unknown>)['subject'], `CN=${escaped}`);
});

test('a string longer than 512 characters is cut there and says how much was left off', async () => {
  const path = tempFile();
  const log = open(path);
  log.record(stop('x'.repeat(MAX_AUDIT_STRING + 88)));
  log.record(stop('y'.repeat(MAX_AUDIT_STRING)));
  await log.close();
  const [long, exact] = lines(path);
  assert.is(MAX_AUDIT_STRING, 512);
  assert.is(long!['reason'], `${'x'.repeat(512)}…(+88 chars)`);
  assert.is(exact!['reason'], 'y'.repeat(512));
});

test('a new audit file is created with mode 0600', async () => {
  const path = tempFile();
  const log = open(path);
  await log.close();
  assert.is(statSync(path).mode & 0o777, 0o600);
});

test('an existing audit file is appended to, never truncated', async () => {
  const path = tempFile();
  writeFileSync(path, '{"event":"earlier"}\n', { mode: 0o600 });
  const log = open(path);
  log.record(stop('later'));
  await log.close();
  assert.equal(
    lines(path).map((l) => (l['event'] === 'earlier' ? 'earlier' : l['reason'])),
    ['earlier', 'later'],
  );
});

test('a symbolic link is refused, even one pointing at a regular file', () => {
  const path = tempFile('target.log');
  writeFileSync(path, '');
  const link = join(path, '..', 'link.log');
  symlinkSync(path, link);
  assert.throws(() => openAuditLog(link), /link\.log is a symbolic link/);
});

test('a directory is refused with a clear message', () => {
  const dir = tempFile('a-directory');
  mkdirSync(dir);
  assert.throws(() => openAuditLog(dir), /a-directory is not a regular file/);
});

test('after the file is renamed, reopen sends later lines to a new 0600 file at the path', async () => {
  const path = tempFile();
  const log = open(path);
  log.record(stop('first'));
  await log.flushed();
  renameSync(path, `${path}.1`);
  log.record(stop('still the old file'));
  log.reopen();
  log.record(stop('new file'));
  await log.close();
  assert.equal(
    lines(`${path}.1`).map((l) => l['reason']),
    ['first', 'still the old file'],
  );
  assert.equal(
    lines(path).map((l) => l['reason']),
    ['new file'],
  );
  assert.is(statSync(path).mode & 0o777, 0o600);
});

test('past the line bound lines are dropped and counted, and the next line written says how many', async () => {
  const path = tempFile();
  const log = open(path, { maxQueuedLines: 2 });
  // The first line goes straight to the writer; the next two fill the queue.
  for (const reason of ['1', '2', '3', '4', '5']) log.record(stop(reason));
  assert.is(log.dropped, 2);
  await log.flushed();
  log.record(stop('6'));
  await log.close();
  const got = lines(path);
  assert.equal(
    got.map((l) => l['event']),
    ['server_stop', 'server_stop', 'server_stop', 'audit_dropped', 'server_stop'],
  );
  assert.equal(
    got.map((l) => l['reason']),
    ['1', '2', '3', undefined, '6'],
  );
  assert.is(got[3]!['dropped'], 2);
  assert.is(got[3]!['time'], NOW);
  assert.is(log.dropped, 2);
});

test('past the byte bound a line is dropped and counted', async () => {
  const path = tempFile();
  const log = open(path, { maxQueuedBytes: 300 });
  log.record(stop('z'.repeat(500)));
  assert.is(log.dropped, 1);
  await log.flushed();
  log.record(stop('small'));
  await log.close();
  const got = lines(path);
  assert.equal(
    got.map((l) => l['event']),
    ['audit_dropped', 'server_stop'],
  );
  assert.is(got[0]!['dropped'], 1);
  assert.is(got[1]!['reason'], 'small');
});

test('record never throws: an event that cannot be written is counted as dropped', async () => {
  const path = tempFile();
  const log = open(path);
  log.record({
    event: 'server_stop',
    get reason(): string {
      throw new Error('a field that throws when read');
    },
  } as unknown as AuditEvent);
  assert.is(log.dropped, 1);
  await log.flushed();
  const circular: Record<string, unknown> = {};
  circular['self'] = circular;
  log.record({ event: 'server_stop', reason: circular } as unknown as AuditEvent);
  assert.is(log.dropped, 1, 'a cycle is cut at the depth limit, not dropped');
  await log.close();
  log.record(stop('after close'));
  const got = lines(path);
  assert.equal(
    got.map((l) => l['event']),
    ['audit_dropped', 'server_stop'],
  );
  assert.match(JSON.stringify(got[1]), /nested too deep/);
});

test('close twice, at once: both wait for the queue, the file is closed once', async () => {
  const path = tempFile();
  const log = open(path);
  log.record(stop('one'));
  const [a, b] = [log.close(), log.close()];
  assert.is(a, b, 'the same promise');
  await a;
  assert.equal(
    lines(path).map((l) => l['reason']),
    ['one'],
  );
});

test('an existing file readable by others is made private', async () => {
  const path = tempFile();
  writeFileSync(path, '');
  chmodSync(path, 0o644);
  const log = open(path);
  assert.is(statSync(path).mode & 0o777, 0o600);
  await log.close();
});

test('reopen says why it failed and keeps writing to the file already open', async () => {
  const path = tempFile();
  const log = open(path);
  rmSync(path);
  mkdirSync(path);
  const why = log.reopen();
  assert.match(String(why), /not a regular file/);
  log.record(stop('still written'));
  await log.close();
  rmSync(path, { recursive: true });
});

test('whoOf names the principal, how it was recognised, its subject and peer, and never its grants', () => {
  const p: Principal = { name: 'ocr-app', via: 'certificate', peer: 'ipv4:10.0.0.1:5000', subject: 'CN=ocr-app,O=Example', grants: [] };
  assert.equal(whoOf(p), { principal: 'ocr-app', via: 'certificate', subject: 'CN=ocr-app,O=Example', peer: 'ipv4:10.0.0.1:5000' });
  const k: Principal = { name: 'batch', via: 'api-key', peer: 'ipv4:10.0.0.2:5000', grants: [] };
  assert.equal(whoOf(k), { principal: 'batch', via: 'api-key', peer: 'ipv4:10.0.0.2:5000' });
  assert.equal(whoOf(undefined), { principal: '', via: 'open' });
  assert.equal(SERVER_WHO, { principal: '', via: 'server' });
  assert.ok(Object.isFrozen(SERVER_WHO));
});

test('a sampler at rate 0 never samples and at rate 1 always does, without drawing', () => {
  let draws = 0;
  const random = (): number => {
    draws++;
    return 0;
  };
  const never = makeSampler(0, random);
  const always = makeSampler(1, random);
  for (let i = 0; i < 100; i++) {
    assert.is(never(), false);
    assert.is(always(), true);
  }
  assert.is(draws, 0);
});

test('a sampler treats NaN and negative rates as 0 and rates above 1 as 1', () => {
  assert.is(makeSampler(Number.NaN, () => 0)(), false);
  assert.is(makeSampler(-0.5, () => 0)(), false);
  assert.is(makeSampler(2, () => 0.999)(), true);
});

test('a sampler at a fractional rate samples when the draw is below the rate', () => {
  const draws = [0, 0.2499, 0.25, 0.9];
  const sample = makeSampler(0.25, () => draws.shift()!);
  assert.equal([sample(), sample(), sample(), sample()], [true, true, false, false]);
});

test.run();
