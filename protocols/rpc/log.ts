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

/** A short, log-friendly description of a thrown value. */
export function errInfo(e: unknown): { err: string; stack?: string } {
  if (e instanceof Error) return { err: `${e.name}: ${e.message}`, ...(e.stack ? { stack: e.stack } : {}) };
  return { err: String(e) };
}
