// Model name patterns in the access policy: exact names, or globs where `*` matches any run
// of characters and `?` one character. Model names are single path segments of
// [A-Za-z0-9_.-] (model/model-name.ts), so there is nothing else to match or escape.

const PATTERN = /^[A-Za-z0-9_.\-*?]{1,255}$/;

export function isModelPattern(p: string): boolean {
  return PATTERN.test(p);
}

/**
 * A matcher for one pattern; the pattern must pass isModelPattern. Globs are matched
 * without a regular expression: a regex such as ^.*-.*-.*-gpu$ backtracks through every
 * placement of the literals (seconds for a 255-character name, minutes for a 500-character
 * path segment), while this greedy matcher with one backtrack point is O(name x pattern).
 */
export function modelMatcher(pattern: string): (name: string) => boolean {
  if (pattern === '*') return () => true;
  if (!/[*?]/.test(pattern)) return (name) => name === pattern;
  return (name) => globMatch(pattern, name);
}

function globMatch(p: string, s: string): boolean {
  let i = 0;
  let j = 0;
  let star = -1;
  let mark = 0;
  while (j < s.length) {
    if (i < p.length && (p[i] === '?' || p[i] === s[j])) {
      i++;
      j++;
    } else if (i < p.length && p[i] === '*') {
      star = i++;
      mark = j;
    } else if (star >= 0) {
      i = star + 1;
      j = ++mark;
    } else {
      return false;
    }
  }
  while (i < p.length && p[i] === '*') i++;
  return i === p.length;
}
