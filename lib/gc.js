// Garbage collections the runtime asks for itself, on any of its threads.
//
// V8 exposes `gc` only under `--expose-gc`, a process-wide flag that a worker's execArgv does
// not accept. So each thread takes one `gc` of its own: the flag is on only while one new
// context captures its `gc` (user code never sees a `gc` global), and threads take turns on
// GC_LOCK so that none turns the flag off under another.
//
// Young collections paced by streamed bytes (`bytesMoved`): every chunk of a streamed body is
// a fresh ArrayBuffer on each thread it crosses, dead a few chunks later. V8 collects its
// young generation when its JS heap fills — rarely here: a 256 KiB chunk costs a few KB of
// heap — or when young ArrayBuffers reach 2 × the maximum semi-space (32 MiB on 64-bit,
// a constant: Heap::AllocateExternalBackingStore). So each thread of a stream held up to
// ~32–40 MiB of dead chunks (measured: 1 GiB through stub.fetch, RSS +81–197 MB). A young
// collection costs ~0.1–0.5 ms with a heap this small; one per YOUNG_GC_BYTES moved bounds
// the dead chunks of each thread to about that much, for ~1% of the stream's time.
import v8 from 'node:v8';
import vm from 'node:vm';
import { workerData } from 'node:worker_threads';

/**
 * One lock for every runtime thread of the process: the Runtime creates it and hands it to
 * its threads (workerData.gcLock, spare threads included); a thread without one (the
 * user's) makes its own.
 */
export const GC_LOCK = workerData?.gcLock instanceof Int32Array ? workerData.gcLock : new Int32Array(new SharedArrayBuffer(4));

/** `gc` of a process started with `--expose-gc`, or the one this thread captured. */
let collect = typeof globalThis.gc === 'function' ? globalThis.gc : undefined;
/** A capture failed: not tried again for young collections (they are an optimisation). */
let captureFailed = false;

/**
 * Takes a `gc` function (see the header). A failure returns undefined.
 * @param {Int32Array} [lock]
 */
export function captureGc(lock = GC_LOCK) {
  if (collect !== undefined) return collect;
  while (Atomics.compareExchange(lock, 0, 0, 1) !== 0) Atomics.wait(lock, 0, 1, 50);
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    if (typeof gc === 'function') collect = gc;
    return collect;
  } catch {
    return undefined;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
    Atomics.store(lock, 0, 0);
    Atomics.notify(lock, 0, 1);
  }
}

/** Body bytes this thread may move between two young collections. */
export const YOUNG_GC_BYTES = 8 * 1024 * 1024;

/**
 * External memory (ArrayBuffers) may grow this much over its lowest reading before a full
 * collection replaces the young one; doubled while full collections find little to free.
 */
const FULL_GC_GROWTH = 16 * 1024 * 1024;
const FULL_GC_GROWTH_MAX = 256 * 1024 * 1024;

let moved = 0;
/** The lowest external memory seen since the last full collection. */
let low = Infinity;
let growth = FULL_GC_GROWTH;
/** External memory when the last full collection started (-1: none yet). */
let beforeFull = -1;

/**
 * Counts `n` bytes of a streamed body that crossed this thread (sent or received); every
 * YOUNG_GC_BYTES, collects the young generation (see the header).
 *
 * Some chunks still reach the old generation (measured: with a producer that waits between
 * chunks, ~a quarter of them on the reading thread; why is V8's business), where only a full
 * collection frees them, and V8 starts one only 64 MiB of external memory later. So when
 * external memory has grown `growth` over its lowest reading, the collection is a full one
 * (~2–7 ms here, against ~0.2 ms). Live memory (a body kept whole by the user) makes full
 * collections find little: each such one doubles `growth`, so they stay rare.
 * @param {number} n
 */
export function bytesMoved(n) {
  moved += n;
  if (moved < YOUNG_GC_BYTES) return;
  moved = 0;
  if (collect === undefined) {
    if (captureFailed) return;
    if (captureGc() === undefined) {
      captureFailed = true;
      return;
    }
  }
  try {
    const external = v8.getHeapStatistics().external_memory;
    if (beforeFull >= 0) {
      // The first reading after a full collection: did it free at least half of the growth?
      growth = beforeFull - external >= growth / 2 ? FULL_GC_GROWTH : Math.min(growth * 2, FULL_GC_GROWTH_MAX);
      beforeFull = -1;
    }
    low = Math.min(low, external);
    if (external - low >= growth) {
      beforeFull = external;
      low = Infinity;
      collect();
    } else {
      collect({ type: 'minor' });
    }
  } catch {
    captureFailed = true;
    collect = undefined;
  }
}
