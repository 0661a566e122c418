import { destination, pino, type Logger } from 'pino';

export type { Logger };

/**
 * One JSON line per event (SPEC.md section 1), written to stdout synchronously. Holdline logs a
 * few lines per start, stop and fault, not per request, so a synchronous write costs nothing that
 * matters, and nothing is left to flush at exit: pino's default asynchronous destination flushes
 * at exit with sonic-boom's flushSync, which retries a failed write forever, so a server whose log
 * reader had gone (`npm start | pino-pretty` stopped with Ctrl-C) never exited. With the reader
 * gone (EPIPE) the lines are dropped, as pino's own default does.
 */
export function createLogger(level: string): Logger {
  const out = destination({ dest: 1, sync: true });
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') out.write = () => true;
  });
  return pino({ level, base: { service: 'holdline' } }, out);
}
