// tritonserver's --grpc-restricted-protocol=<category,...>:<key>=<value>: one test per rule
// of the parser, and the constant-time check of the header value.

import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRestrictions, RESTRICTED_HEADER_PREFIX, restrictionFor, restrictionSatisfied } from '../../../src/security/restricted-protocol.js';

const FLAG = '--grpc-restricted-protocol';

function refused(values: string[]): string {
  try {
    parseRestrictions(values, FLAG);
  } catch (err) {
    assert.instance(err, Error);
    return (err as Error).message;
  }
  assert.unreachable('expected an Error');
  return '';
}

test('a restriction names its categories, the header it needs and a digest of the value', () => {
  const [r, ...rest] = parseRestrictions(['model-repository:admin-key=s3cret'], FLAG);
  assert.equal(rest, []);
  assert.equal([...r!.categories], ['model-repository']);
  assert.is(r!.header, 'triton-grpc-protocol-admin-key');
  assert.ok(r!.header.startsWith(RESTRICTED_HEADER_PREFIX));
  assert.ok(r!.valueDigest.equals(createHash('sha256').update('s3cret').digest()));
  assert.not.ok(JSON.stringify(r).includes('s3cret'), 'the value itself is not kept');
  assert.ok(Object.isFrozen(r));
});

test('no occurrences of the flag give no restrictions', () => {
  assert.equal(parseRestrictions([], FLAG), []);
});

test('several categories share one key; spaces around category names are dropped', () => {
  const [r] = parseRestrictions(['model-repository, statistics ,trace:k=v'], FLAG);
  assert.equal([...r!.categories], ['model-repository', 'statistics', 'trace']);
});

test('the key becomes a lower-case header name', () => {
  assert.is(parseRestrictions(['health:Admin-Key=v'], FLAG)[0]!.header, 'triton-grpc-protocol-admin-key');
});

test('the value is everything after the first = that follows the colon, = and : included', () => {
  const [r] = parseRestrictions(['inference:k=a=b:c'], FLAG);
  assert.ok(restrictionSatisfied(r!, 'a=b:c'));
  assert.not.ok(restrictionSatisfied(r!, 'a=b:c '));
  assert.not.ok(restrictionSatisfied(r!, 'a=b'));
});

test('each occurrence of the flag is one restriction', () => {
  const rs = parseRestrictions(['model-repository:admin=a', 'inference,metadata:user=b'], FLAG);
  assert.equal(
    rs.map((r) => r.header),
    ['triton-grpc-protocol-admin', 'triton-grpc-protocol-user'],
  );
});

test('a value without a colon, without an = after it, or with no categories is refused with the form', () => {
  for (const v of ['health', 'health=k:v', 'health:k', ':k=v', '']) {
    assert.is(refused([v]), `${FLAG} must be <category,...>:<key>=<value>, e.g. model-repository:admin-key=s3cret`, JSON.stringify(v));
  }
});

test('an unknown category is refused, and the two of ours Triton does not restrict too', () => {
  assert.match(
    refused(['inferance:k=v']),
    /--grpc-restricted-protocol: 'inferance' is not a category; use health, metadata, inference, shared-memory, model-config, model-repository, statistics, trace, logging$/,
  );
  assert.match(refused(['reflection:k=v']), /'reflection' is not a category/);
  assert.match(refused(['metrics:k=v']), /'metrics' is not a category/);
  assert.match(refused(['health,:k=v']), /'' is not a category/);
});

test('a category restricted twice is refused, naming both keys', () => {
  assert.is(refused(['inference:a=1', 'metadata,inference:b=2']), `${FLAG}: category 'inference' is restricted twice (keys 'a' and 'b')`);
  assert.match(refused(['health,health:a=1']), /category 'health' is restricted twice/);
});

test('a key must be 1-64 characters of a-z 0-9 _ -, starting with a letter or digit', () => {
  for (const key of ['', 'has space', 'a.b', '-lead', 'x'.repeat(65), 'ä']) {
    assert.match(refused([`health:${key}=v`]), /--grpc-restricted-protocol: key '.*' must be 1-64 characters of a-z 0-9 _ -/, key);
  }
  assert.is(parseRestrictions([`health:${'k'.repeat(64)}=v`], FLAG)[0]!.header, RESTRICTED_HEADER_PREFIX + 'k'.repeat(64));
});

test('an empty, control-character, non-ASCII, space-edged or over-long value is refused without showing it (it could never match a header)', () => {
  for (const value of ['', 'sec\nret', 'sec\u007fret', 's'.repeat(1025), ' secret', 'secret ', 'sécret']) {
    const msg = refused([`health:k=${value}`]);
    assert.is(msg, `${FLAG}: the value for key 'k' must be 1-1024 printable ASCII characters, not starting or ending with a space (not shown)`);
  }
  assert.is(parseRestrictions(['health:k=inner space'], FLAG).length, 1, 'an inner space is fine');
  const msg = refused(['health:k=topsecret\u0000']);
  assert.not.ok(msg.includes('topsecret'));
  assert.is(parseRestrictions([`health:k=${'s'.repeat(1024)}`], FLAG).length, 1);
});

test('restrictionFor finds the restriction covering a category on its transport, and none for an open one', () => {
  const rs = parseRestrictions(['model-repository:admin=a', 'inference,metadata:user=b'], FLAG);
  assert.is(restrictionFor(rs, 'grpc', 'model-repository'), rs[0]);
  assert.is(restrictionFor(rs, 'grpc', 'metadata'), rs[1]);
  assert.is(restrictionFor(rs, 'grpc', 'health'), undefined);
  assert.is(restrictionFor(rs, 'http', 'model-repository'), undefined, '--grpc-restricted-protocol does not cover HTTP routes');
  assert.is(restrictionFor([], 'grpc', 'inference'), undefined);
});

test('--http-restricted-api: the header is the key itself, and headers the server reads are refused as keys', () => {
  const [r] = parseRestrictions(['inference:infer-key=v'], '--http-restricted-api', 'http');
  assert.is(r!.header, 'infer-key');
  assert.is(r!.transport, 'http');
  assert.is(restrictionFor([r!], 'http', 'inference'), r);
  assert.is(restrictionFor([r!], 'grpc', 'inference'), undefined);
  for (const k of ['authorization', 'Content-Type', 'inference-header-content-length']) {
    assert.throws(() => parseRestrictions([`inference:${k}=v`], '--http-restricted-api', 'http'), /a header the server reads itself/);
  }
  assert.is(parseRestrictions(['inference:authorization=v'], FLAG, 'grpc')[0]!.header, 'triton-grpc-protocol-authorization');
});

test('only the exact value satisfies a restriction', () => {
  const [r] = parseRestrictions(['inference:k=Secret'], FLAG);
  assert.ok(restrictionSatisfied(r!, 'Secret'));
  for (const wrong of [undefined, '', 'secret', 'Secre', 'Secret2', ' Secret', 'Secret\n']) {
    assert.not.ok(restrictionSatisfied(r!, wrong), JSON.stringify(wrong));
  }
});

test.run();
