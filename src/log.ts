// One line per event, to stderr: plain text, or JSON with --log-format json.

export type LogLevel = 'error' | 'warn' | 'info' | 'verbose';

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  verbose(msg: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  format: 'text' | 'json';
  verbose: boolean;
  /** Where lines go; stderr by default. */
  write?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (level === 'verbose' && !opts.verbose) return;
    const time = new Date().toISOString();
    if (opts.format === 'json') {
      // Fields first, so none can overwrite time, level or msg.
      write(JSON.stringify({ ...fields, time, level, msg }, jsonSafe));
      return;
    }
    const extra =
      fields && Object.keys(fields).length > 0
        ? ` ${Object.entries(fields)
            .map(([k, v]) => `${escapeControl(k)}=${escapeControl(JSON.stringify(v, jsonSafe) ?? 'undefined')}`)
            .join(' ')}`
        : '';
    write(`${time} ${level.toUpperCase().padEnd(7)} ${escapeControl(msg)}${extra}`);
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    verbose: (m, f) => emit('verbose', m, f),
  };
}

/** bigint values (64-bit protocol fields) log as decimal strings instead of making JSON.stringify throw. */
function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/**
 * Text lines are one event each: control characters in a message (a model name, an ONNX
 * Runtime error) are escaped, so no client-chosen text can start a forged line.
 */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export const silentLogger: Logger = { error() {}, warn() {}, info() {}, verbose() {} };
