/**
 * Structured logs (JSON lines on stderr, via pino). Every component takes a `Logger` with the same
 * four methods, so protocol layers stay free of the pino dependency (they define the shape they use).
 */
import pino from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

export function createLogger(level: LogLevel): Logger {
  // Synchronous destination on fd 2: a log line written just before a crash or kill is not lost.
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true })) as unknown as Logger;
}
