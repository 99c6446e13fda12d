// Error texts shared by the facade (exact strings from SPEC.md / workerd) and the codes the
// package's own errors carry.
import { withCode } from './error-codes.js';

/** @param {string} ctorName */
export function dataCloneError(ctorName) {
  return new DOMException(`Could not serialize object of type "${ctorName}".`, 'DataCloneError');
}

/** @param {string} api */
export function notSupported(api) {
  return withCode(new Error(`${api} is not supported by durable-facets.`), 'NotSupported');
}

export const DISPOSED_MESSAGE = 'The Durable Object runtime has been disposed.';

/** Serialized RPC arguments and results are capped, as in workerd (`MAX_JS_RPC_MESSAGE_SIZE`). */
export const MAX_RPC_PAYLOAD_BYTES = 32 * 1024 * 1024;

/**
 * The RangeError for an RPC payload over the cap (workerd's text; workerd throws `Error`,
 * SPEC §6.2 asks for `RangeError`).
 * @param {number} bytes the payload's size, or a lower bound of it with `atLeast`
 */
export function payloadTooLarge(bytes, atLeast = false) {
  return withCode(
    new RangeError(
      `Serialized RPC arguments or return values are limited to 32MiB, but the size of this value was${atLeast ? ' at least' : ''}: ${bytes} bytes.`,
    ),
    'PayloadTooLarge',
  );
}

/** A reply (result or error) that this thread could not decode. */
export function undecodableReply(cause) {
  let detail = '';
  try {
    detail = `: ${String(cause?.message ?? cause)}`;
  } catch {}
  return withCode(new Error(`The reply to an RPC call could not be decoded${detail}`, { cause }), 'RpcUndecodable');
}
