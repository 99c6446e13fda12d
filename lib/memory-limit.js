// The per-thread memory limit (`memoryLimitMb`, SPEC §6.2), shared by the supervisor and the
// runtime threads.
//
// Why the V8 heap limit of a thread is above `memoryLimitMb`: Node ends a worker that
// reaches its heap limit cleanly only when the heap grows gradually. Its near-heap-limit
// callback (src/node_worker.cc, Worker::NearHeapLimit) grants the running GC 16 MB more
// (kExtraHeapAllowance) and stops the worker; a single allocation larger than what is left
// (a 200 MB flat string, one big array) makes V8 abort the whole process instead
// ("FATAL ERROR: Reached heap limit", nodejs/node#47224). So each thread gets
// HEAP_HEADROOM_MB of V8 heap beyond its limit, and the limit itself is enforced by the
// thread before each reply it sends (lib/worker/memory-guard.js): an instance that holds more
// than `memoryLimitMb` after a call breaks. Growth within one synchronous run is stopped by
// V8 at `memoryLimitMb + HEAP_HEADROOM_MB`.
import { withCode } from './error-codes.js';

/** V8 heap a thread may use beyond `memoryLimitMb` within one synchronous run (MB). */
export const HEAP_HEADROOM_MB = 512;

/** The V8 old-generation limit of a thread whose memory limit is `memoryLimitMb` (MB). */
export function v8HeapLimitMb(memoryLimitMb) {
  return memoryLimitMb + HEAP_HEADROOM_MB;
}

/**
 * The error calls to an instance get when it exceeded its memory limit (SPEC §6.2).
 * @param {number} memoryLimitMb
 */
export function memoryLimitError(memoryLimitMb) {
  return withCode(new Error(`Durable Object exceeded its memory limit (${memoryLimitMb} MB).`), 'MemoryLimit');
}

/**
 * Why a worker thread died, from its Worker 'error' event: the memory limit error when Node
 * stopped it for running out of heap, otherwise null (the hub's generic "exited" error).
 * @param {unknown} error the 'error' event's value
 * @param {number} memoryLimitMb
 * @returns {Error | null}
 */
export function threadDeathReason(error, memoryLimitMb) {
  if (error !== null && typeof error === 'object' && error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return memoryLimitError(memoryLimitMb);
  }
  return null;
}
