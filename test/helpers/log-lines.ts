// The lines a test server logged, and a way to await one (instead of sleeping).

export class LogLines {
  readonly lines: string[] = [];
  private readonly waiters: Array<{ pattern: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  private ended: string | undefined;

  constructor(private readonly echo: boolean = Boolean(process.env['SERVER_LOG'])) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.echo) process.stderr.write(`[server] ${line}\n`);
    for (const w of [...this.waiters]) {
      if (w.pattern.test(line)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  }

  /** The server is gone: every waiter fails with `why`, and so does every later wait. */
  end(why: string): void {
    this.ended = why;
    for (const w of this.waiters.splice(0)) w.reject(new Error(`${why} before logging ${w.pattern}; log:\n${this.lines.join('\n')}`));
  }

  /**
   * The first line matching `pattern` at index `since` or later (default 0: the whole
   * log so far); rejects after `ms`.
   */
  waitFor(pattern: RegExp, ms: number, since = 0): Promise<string> {
    const seen = this.lines.slice(since).find((l) => pattern.test(l));
    if (seen) return Promise.resolve(seen);
    if (this.ended) return Promise.reject(new Error(`${this.ended} before logging ${pattern}; log:\n${this.lines.join('\n')}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no log line matching ${pattern} within ${ms} ms; log:\n${this.lines.join('\n')}`));
      }, ms);
      const w = {
        pattern,
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(w);
    });
  }

  /** The port a "started <what> at host:port" line names; 0 when there is none. */
  port(what: RegExp): number {
    const line = this.lines.find((l) => what.test(l));
    return line ? Number(/ at \S+?:(\d+)/.exec(line)![1]) : 0;
  }
}
