// Shared helpers for the test suite.
import { Runtime } from '../index.js';

export const fixture = (name) => new URL(`./fixtures/${name}`, import.meta.url);

/** A runtime on the test fixtures, disposed after the test. */
export function runtime(t, options = {}) {
  const rt = new Runtime({
    main: fixture('objects.mjs'),
    durableObjects: { ECHO: 'Echo' },
    warmThreads: 0,
    ...options,
  });
  t.after(() => rt.dispose());
  return rt;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value, which it returns; fails after `ms`. */
export async function until(fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(20);
  }
}
