// The memoryLimitMb option (SPEC §6.2) is typed as a number of MB.
import { type RuntimeOptions } from '../../index.js';

export const limited: RuntimeOptions = {
  main: './worker.mjs',
  memoryLimitMb: 64,
};

export const wrongType: RuntimeOptions = {
  main: './worker.mjs',
  // @ts-expect-error a number of MB, not a string
  memoryLimitMb: '64',
};
