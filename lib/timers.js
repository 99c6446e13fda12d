// The runtime's own timers and clock, captured when the package loads. Fake timers that a
// test installs afterwards (node:test's mock.timers, @sinonjs/fake-timers, vitest) replace
// the globals; the runtime keeps using the real ones, so a test's fake clock never stalls
// or speeds up thread start-up, idle eviction, alarms or the CPU watchdog (SPEC §3).
// Modules import these under the globals' own names, so call sites read as usual.

const real = globalThis;

export const setTimeout = real.setTimeout;
export const clearTimeout = real.clearTimeout;
export const setInterval = real.setInterval;
export const clearInterval = real.clearInterval;
export const setImmediate = real.setImmediate;
export const clearImmediate = real.clearImmediate;

/** `Date.now()` of the real clock (Date.now does not depend on its receiver). */
export const now = Date.now;

/** `performance.now()` of the real clock (ms, sub-µs resolution), bound before any fake. */
export const hrNow = performance.now.bind(performance);
