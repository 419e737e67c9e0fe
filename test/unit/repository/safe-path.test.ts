import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../../src/repository/config-file.js';
import { printable, relativeSegments, resolveInside } from '../../../src/repository/safe-path.js';
import { escapeControl } from '../../../src/log.js';
import { redactPaths } from '../../../src/redact.js';

test('relative paths with absolute, dot, empty, backslash or control parts are refused', () => {
  for (const bad of ['', '/etc/passwd', '..', '.', 'a/../b', 'a//b', 'a/', 'a\\b', 'a\nb', 'a\u0000b', 'x/./y']) {
    assert.throws(
      () => relativeSegments(bad, 'f'),
      (e: unknown) => e instanceof ConfigError,
      JSON.stringify(bad),
    );
  }
  assert.equal(relativeSegments('a/b.bin', 'f'), ['a', 'b.bin']);
});

test('resolveInside follows links and refuses any that lead out of the root, without naming server paths', () => {
  const root = mkdtempSync(join(tmpdir(), 'safe-path-root-'));
  const outside = mkdtempSync(join(tmpdir(), 'safe-path-out-'));
  try {
    mkdirSync(join(root, '1'));
    writeFileSync(join(root, '1', 'model.onnx'), 'x');
    writeFileSync(join(outside, 'secret'), 's');
    symlinkSync(outside, join(root, 'out'));
    symlinkSync(join(root, '1'), join(root, 'in'));
    assert.is(resolveInside(root, '1/model.onnx', 'f'), join(root, '1', 'model.onnx'));
    assert.is(resolveInside(root, 'in/model.onnx', 'f'), join(root, 'in', 'model.onnx'), 'a link that stays inside is fine');
    assert.is(resolveInside(root, '2/new.bin', 'f'), join(root, '2', 'new.bin'), 'a path not there yet is checked through its parent');
    for (const rel of ['out/secret', 'out', 'out/not-yet/file']) {
      try {
        resolveInside(root, rel, 'default_model_filename');
        assert.unreachable(rel);
      } catch (err) {
        assert.instance(err, ConfigError);
        assert.match((err as Error).message, /leads outside the model folder/);
        assert.not.ok((err as Error).message.includes(root) || (err as Error).message.includes(outside), (err as Error).message);
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});

test('printable and escapeControl keep client text on one line; printable bounds its length', () => {
  assert.is(escapeControl('a\nb\r\u0000c\u2028'), 'a\\u000ab\\u000d\\u0000c\\u2028');
  assert.is(printable('x'.repeat(300)).length, 201);
});

test('redactPaths replaces absolute paths and leaves relative names alone', () => {
  assert.is(redactPaths('Load model from /tmp/x/1/model.onnx failed: bad'), 'Load model from <path> failed: bad');
  assert.is(redactPaths("failed to load 1/model.onnx and file:1/model.onnx of 'INPUT0'"), "failed to load 1/model.onnx and file:1/model.onnx of 'INPUT0'");
  assert.is(redactPaths("open '/work/repo/m/config.pbtxt'"), "open '<path>'");
});

test('a dangling link is refused, since it would lead wherever it points once that exists', () => {
  const root = mkdtempSync(join(tmpdir(), 'safe-path-root-'));
  try {
    mkdirSync(join(root, '1'));
    symlinkSync(join(tmpdir(), 'safe-path-not-there-yet', 'x.onnx'), join(root, '1', 'model.onnx'));
    assert.throws(() => resolveInside(root, '1/model.onnx', 'default_model_filename'), /symbolic link that leads nowhere|leads outside/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
