// What an instance leaves behind on its thread, so that a recycled thread carries nothing of
// its previous instance (SPEC §6.1): the timers, intervals and immediates its code started
// through the globals, and the `process` listeners it added. Module-level state stays: it
// belongs to the code, shared by every instance of that code over time, as in a workerd
// isolate.
//
// Only the globals are tracked (`setTimeout`, `setInterval`, `setImmediate` and their
// `clear*`, also as exported by `node:timers`): the runtime's own timers come from
// lib/timers.js, captured before these wrappers are installed, so they are never cleared here.
import timers from 'node:timers';
import { syncBuiltinESMExports } from 'node:module';
import { promisify } from 'node:util';

/** Timers, intervals and immediates the current instance's code started and that are live. */
const live = new Set();

/** `process` listeners present when the current instance started, by event name. */
let listenersBefore = new Map();

function tracked(real, clear, once) {
  const wrapper = function (callback, ...rest) {
    if (typeof callback !== 'function') return real(callback, ...rest); // Node's own TypeError
    let handle;
    const run = once
      ? function (...args) {
          live.delete(handle);
          return callback.apply(this, args);
        }
      : callback;
    handle = real(run, ...rest);
    live.add(handle);
    return handle;
  };
  // util.promisify(setTimeout) keeps working (it resolves through timers/promises).
  if (real[promisify.custom]) wrapper[promisify.custom] = real[promisify.custom];
  Object.defineProperty(wrapper, 'name', { value: real.name });
  const clearing = function (handle) {
    live.delete(handle);
    return clear(handle);
  };
  Object.defineProperty(clearing, 'name', { value: clear.name });
  return [wrapper, clearing];
}

/** Installs the tracking globals. Call once per thread, before any user code runs. */
export function installInstanceScope() {
  const g = globalThis;
  const [setTimeout, clearTimeout] = tracked(g.setTimeout, g.clearTimeout, true);
  const [setInterval, clearInterval] = tracked(g.setInterval, g.clearInterval, false);
  const [setImmediate, clearImmediate] = tracked(g.setImmediate, g.clearImmediate, true);
  const fns = { setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate };
  for (const [name, fn] of Object.entries(fns)) {
    g[name] = fn;
    timers[name] = fn;
  }
  syncBuiltinESMExports();
}

/** An instance starts: remember the `process` listeners that are not its own. */
export function beginInstance() {
  // Timers that a stopped instance's leftover code started after its teardown are its own.
  cancelTimers();
  listenersBefore = new Map(process.eventNames().map((e) => [e, new Set(process.rawListeners(e))]));
}

function cancelTimers() {
  for (const handle of live) {
    // One clear works for all three kinds (Node's clearTimeout also ends intervals);
    // immediates need their own.
    if (handle?.constructor?.name === 'Immediate') timers.clearImmediate(handle);
    else timers.clearTimeout(handle);
  }
  live.clear();
}

/** The instance stopped: cancel its timers and remove the `process` listeners it added. */
export function endInstance() {
  cancelTimers();
  for (const event of process.eventNames()) {
    const before = listenersBefore.get(event);
    for (const listener of process.rawListeners(event)) {
      if (!before?.has(listener)) process.removeListener(event, listener);
    }
  }
}
