import { pino, type Logger } from 'pino';

export type { Logger };

/** One JSON line per event (SPEC.md section 1). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'holdline' } });
}
