// Model name patterns in the access policy: exact names, or globs where `*` matches any run
// of characters and `?` one character. Model names are single path segments of
// [A-Za-z0-9_.-] (model/model-name.ts), so there is nothing else to match or escape.

const PATTERN = /^[A-Za-z0-9_.\-*?]{1,255}$/;

export function isModelPattern(p: string): boolean {
  return PATTERN.test(p);
}

/** A matcher for one pattern; the pattern must pass isModelPattern. */
export function modelMatcher(pattern: string): (name: string) => boolean {
  if (pattern === '*') return () => true;
  if (!/[*?]/.test(pattern)) return (name) => name === pattern;
  const source = pattern.replace(/[.-]/g, '\\$&').replace(/\*+/g, '.*').replace(/\?/g, '.');
  const re = new RegExp(`^${source}$`);
  return (name) => re.test(name);
}
