// Enforces `memoryLimitMb` in a runtime thread between turns (see lib/memory-limit.js for why
// V8's own limit is set higher). Counted: the V8 heap and external memory (ArrayBuffers,
// Buffers), as workerd counts an isolate's memory.
import v8 from 'node:v8';
import { now } from '../timers.js';
import { captureGc } from '../gc.js';

/** This thread's `gc` (see lib/gc.js), taken when first needed. */
let collect;

/**
 * A full garbage collection, to tell live data from garbage before breaking an instance;
 * false when no `gc` could be had (then only V8's own limit applies).
 */
function fullGc(lock) {
  collect ??= captureGc(lock);
  if (collect === undefined) return false;
  collect();
  return true;
}

function inUse() {
  const s = v8.getHeapStatistics();
  return s.used_heap_size + s.external_memory;
}

/**
 * A check for the thread's memory limit: `over()` is true when the instance holds more than
 * `limitMb` of live memory. Cheap (one heap statistics read, at most once per millisecond)
 * while under the limit; above it, a full GC decides, since V8 lets garbage pile up towards
 * its own, higher limit.
 * @param {number} limitMb
 * @param {Int32Array} lock shared by every runtime thread (lib/gc.js GC_LOCK)
 * @returns {() => boolean}
 */
export function memoryGuard(limitMb, lock) {
  const limit = limitMb * 1024 * 1024;
  let checkedAt = -1;
  return function over() {
    // At most one reading per millisecond: a reading costs ~0.75 µs, a parent→facet call
    // ~5 µs. Growth big enough to matter takes longer than that to allocate, and V8's own
    // limit (memoryLimitMb + headroom) still bounds what a skipped reading misses.
    const t = now();
    if (t === checkedAt) return false;
    checkedAt = t;
    if (inUse() <= limit) return false;
    // Two collections: V8 sweeps dead ArrayBuffers concurrently and updates its external
    // memory count only when the next collection finishes that sweep.
    if (!fullGc(lock)) return false; // garbage cannot be told from live data: do not guess
    fullGc(lock);
    return inUse() > limit;
  };
}
