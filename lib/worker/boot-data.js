// What a runtime thread is started for — `{ tid, config, beat, gcLock }` — set by the thread's
// entry (thread.js) before host.js is evaluated: from workerData, or from the message that
// hands a spare thread to a runtime.

/** @type {{ tid: number, config: object, beat: Float64Array | null, gcLock: Int32Array }} */
export let bootData = null;

export function setBootData(data) {
  bootData = data;
}
