// The model-name rule. A model name is one path segment of the repository: it is joined
// onto the repository path, so it is checked before anything touches a file, and it is
// echoed in messages and log lines, so it has no control characters.
//
// Rule (README "Model names"): 1 to 255 characters from A-Z a-z 0-9 _ . - , not starting
// with '.' (so never '', '.', '..' or a hidden folder).

import { invalid } from '../errors.js';
import { escapeControl } from '../log.js';

export const MAX_MODEL_NAME_CHARS = 255;
const MODEL_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

export function isValidModelName(name: string): boolean {
  return name.length <= MAX_MODEL_NAME_CHARS && MODEL_NAME.test(name);
}

/** Throws INVALID_ARGUMENT naming the rule; the name is quoted with its control characters escaped. */
export function checkModelName(name: string): void {
  if (isValidModelName(name)) return;
  const shown = escapeControl(name.length > 64 ? `${name.slice(0, 64)}…` : name);
  throw invalid(
    `model name '${shown}' is not valid: a model name is 1 to ${MAX_MODEL_NAME_CHARS} characters from A-Z a-z 0-9 _ . - and does not start with '.'`,
  );
}
