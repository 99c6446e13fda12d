// Serves calls through references a thread without an instance exported (the user's main
// thread): functions and RpcTargets it passed to objects (SPEC §2.2). Worker threads serve
// theirs through the instance host (lib/worker/host.js), behind its input gate.
import { decode, encodeRpc, encodeError } from './codec.js';
import { perform, performRelease, openAnswer, closeAnswer, dropAnswer } from './refs.js';
import * as port from './port.js';

const STATUS_OK = 0;
const STATUS_ERROR = 1;

/**
 * One delivered call: an operation on an export (or a release, call id 0). Always answered.
 * @param {number} callId
 * @param {string} method
 * @param {string | Uint8Array} payload
 */
export function serveCall(callId, method, payload) {
  if (callId === 0) return performRelease(method, payload, decode);
  let result;
  try {
    // Only calls through references reach this thread (marked by the hub: see refs.js).
    result = perform(method.charCodeAt(0) === 8 ? method.slice(1) : method, decode(payload), null, true);
  } catch (e) {
    return fail(callId, e);
  }
  const then = (result !== null && typeof result === 'object') || typeof result === 'function' ? result.then : undefined;
  if (typeof then !== 'function') return succeed(callId, result);
  const promise = new Promise((resolve, reject) => then.call(result, resolve, reject));
  openAnswer(callId, promise);
  promise.then(
    (v) => succeed(callId, v),
    (e) => fail(callId, e),
  );
}

function succeed(callId, value) {
  const exported = [];
  let payload;
  try {
    payload = encodeRpc(value, exported);
  } catch (e) {
    return fail(callId, e);
  }
  closeAnswer(callId, value, exported);
  port.reply(callId, STATUS_OK, payload);
}

function fail(callId, error) {
  dropAnswer(callId);
  port.reply(callId, STATUS_ERROR, encodeError(error));
}
