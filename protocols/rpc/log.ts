/**
 * The logging shape the RPC layer uses. The gateway passes its structured (pino) logger, which has
 * these methods; the RPC layer itself never depends on a logging library.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

/** Default: drop everything. */
export const noopLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/**
 * Whether `log.debug` writes anything, for call paths that would otherwise build costly fields per call
 * (an object literal with a getter costs about a microsecond). pino answers through isLevelEnabled; a
 * logger without it is taken to be on, except the no-op one.
 */
export function debugEnabled(log: Logger): boolean {
  if (log === noopLogger) return false;
  const l = log as Logger & { isLevelEnabled?: (level: string) => boolean };
  return typeof l.isLevelEnabled === 'function' ? l.isLevelEnabled('debug') : true;
}

/** A short, log-friendly description of a thrown value. */
export function errInfo(e: unknown): { err: string; stack?: string } {
  if (e instanceof Error) return { err: `${e.name}: ${e.message}`, ...(e.stack ? { stack: e.stack } : {}) };
  return { err: String(e) };
}
