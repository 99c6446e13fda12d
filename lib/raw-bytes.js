// Bytes that travel as a whole RPC payload, without V8 serialization: the chunks of a
// streamed body (lib/body-stream.js). The sender hands the native layer an array of parts
// (a mark, then the chunks as they came); it copies them once, into the payload. The
// receiver sees a payload whose first byte is the mark — a V8-serialized payload always
// starts with 0xFF, a JSON one is a string — and takes the rest as one Uint8Array, a view of
// the payload it received (no copy).
//
// Before: the chunks were joined into one buffer, serialized into another, copied into the
// payload and copied out of it: four copies and three buffers on the JS heaps per chunk.

/** First byte of a raw payload. */
export const RAW_MARK = 0;

const MARK = new Uint8Array([RAW_MARK]);

/** A result that goes as raw bytes: `parts`, one after the other. */
export class RawBytes {
  /** @param {Uint8Array[]} parts */
  constructor(parts) {
    this.parts = parts;
  }

  /** The payload, as the native layer takes it (an array of byte arrays, copied at once). */
  payload() {
    return [MARK, ...this.parts];
  }
}

/** Whether a received payload is raw bytes. @param {string | Uint8Array} payload */
export function isRaw(payload) {
  return typeof payload !== 'string' && payload.byteLength > 0 && payload[0] === RAW_MARK;
}

/** The bytes of a raw payload, as a plain Uint8Array over it. @param {Uint8Array} payload */
export function rawBytes(payload) {
  return new Uint8Array(payload.buffer, payload.byteOffset + 1, payload.byteLength - 1);
}
