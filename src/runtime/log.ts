// Structured JSON logs (pino). Controllers log through a child carrying the object key, so
// every line of a reconcile names what it is about.
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function newLogger(
  level: LevelWithSilent = 'info',
  name = 'kachiku',
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      name,
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Secrets never reach logs: drop the usual places they could hide.
      redact: {
        paths: [
          '*.password',
          '*.secret',
          '*.token',
          '*.data',
          '*.stringData',
          'secret',
          'password',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination(1),
  );
}
