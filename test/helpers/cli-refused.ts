// The message of the OptionError that parseCli throws for `args` (fails the test if none).

import * as assert from 'uvu/assert';
import { OptionError, parseCli } from '../../src/cli-options.js';

export function refused(args: string[]): string {
  try {
    parseCli(args);
  } catch (err) {
    assert.instance(err, OptionError);
    return (err as Error).message;
  }
  assert.unreachable('expected an OptionError');
  return '';
}
