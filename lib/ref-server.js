// Serves calls through references a thread without an instance exported (the user's main
// thread): functions and RpcTargets it passed to objects (SPEC §2.2). Worker threads serve
// theirs through the instance host (lib/worker/host.js), behind its input gate.
import { decode, encodeRpc, encodeError } from './codec.js';
import { perform, performBatch, performRelease, openAnswer, closeAnswer, dropAnswer, instanceToken, adopt, thenOf, takeList, giveList } from './refs.js';
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
  let then;
  // Only calls through references reach this thread (marked by the hub: see refs.js).
  const op = method.charCodeAt(0) === 8 ? method.slice(1) : method;
  // A call and one pipelined on it (see refs.performBatch).
  const batch = op.charCodeAt(0) === 4;
  try {
    const args = decode(payload);
    result = batch ? performBatch(callId, op, args, null, true, decode) : perform(op, args, null, true);
    then = thenOf(result);
  } catch (e) {
    return fail(callId, e, batch);
  }
  if (then === undefined) return succeed(callId, result, batch);
  const promise = adopt(result, then);
  openAnswer(callId, promise);
  promise.then(
    (v) => succeed(callId, v, batch),
    (e) => fail(callId, e, batch),
  );
}

/** A batch is answered `[instance token, status, result or error]` (see lib/worker/host.js). */
function succeed(callId, value, batch) {
  let exported = takeList();
  let payload;
  try {
    payload = encodeRpc(batch ? [instanceToken(), STATUS_OK, value] : value, exported);
  } catch (e) {
    return fail(callId, e, batch);
  }
  if (exported.length === 0) exported = giveList(exported);
  closeAnswer(callId, value, exported);
  port.reply(callId, STATUS_OK, payload);
}

function fail(callId, error, batch) {
  dropAnswer(callId);
  const payload = encodeError(error);
  if (batch) port.reply(callId, STATUS_OK, encodeRpc([instanceToken(), STATUS_ERROR, payload], []));
  else port.reply(callId, STATUS_ERROR, payload);
}
