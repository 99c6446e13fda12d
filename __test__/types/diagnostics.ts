// The logLevel option (README "Diagnostics") accepts the five levels and nothing else.
import { type RuntimeOptions } from '../../index.js';

export const levels: RuntimeOptions[] = (['silent', 'error', 'warn', 'info', 'debug'] as const).map((logLevel) => ({
  main: './worker.mjs',
  logLevel,
}));

export const wrongLevel: RuntimeOptions = {
  main: './worker.mjs',
  // @ts-expect-error not a level
  logLevel: 'verbose',
};
