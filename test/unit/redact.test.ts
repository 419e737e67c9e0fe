import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { redactPaths } from '../../src/redact.js';

test('replaces an absolute path inside a sentence with <path>', () => {
  assert.is(redactPaths('cannot open /tmp/x/1/model.onnx for reading'), 'cannot open <path> for reading');
  assert.is(redactPaths('Load model from /tmp/x/1/model.onnx failed:Protobuf parsing failed.'), 'Load model from <path> failed:Protobuf parsing failed.');
  assert.is(redactPaths("ENOENT: no such file or directory, open '/work/repo/m/config.pbtxt'"), "ENOENT: no such file or directory, open '<path>'");
  assert.is(redactPaths('copy (/opt/models/x) to "/var/tmp/y/"'), 'copy (<path>) to "<path>"');
  assert.is(redactPaths('/tmp/x/1/model.onnx'), '<path>');
});

test('replaces every absolute path in a text', () => {
  assert.is(redactPaths('from /a/b to /c/d/e, then /f/g'), 'from <path> to <path>, then <path>');
});

test('leaves relative names, file parameters, quoted tensor names and plain text alone', () => {
  for (const text of [
    '1/model.onnx',
    'file:1/model.onnx',
    "failed to load 1/model.onnx of 'INPUT0'",
    "input 'INPUT0' has shape [1,16]",
    'plain text',
    'read and/or write',
    'the root / is not a model',
    'a single segment /tmp stays',
    'http://host/a/b',
    '',
  ]) {
    assert.is(redactPaths(text), text);
  }
});

test.run();
