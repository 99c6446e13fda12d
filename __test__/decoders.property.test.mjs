// Fuzzing of the decoders that read bytes this thread did not write itself: stored KV values
// (a damaged or foreign database) and RPC payloads (error envelopes included). Whatever the
// bytes, each returns a value or throws an ordinary Error (decodeError never throws): no
// crash, no hang, no exception of another kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fc, options, structured } from './arbitraries.mjs';
import { deserialize, serialize } from '../lib/storage/serialize.js';
import { decode, decodeError, encode, encodeError } from '../lib/codec.js';

/** Bytes that start like V8 serialization (header 0xFF, version 0x0F) more often than not. */
const v8ish = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([0xff, 0x0f, ...b])),
);

/** A valid encoding with bytes flipped, cut or appended. */
function damaged(encodeValue) {
  return fc
    .tuple(structured, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }), fc.nat(), fc.boolean())
    .map(([value, flips, cut, shorten]) => {
      const bytes = Buffer.from(encodeValue(value));
      for (const [at, mask] of flips) if (bytes.length > 0) bytes[at % bytes.length] ^= mask;
      return shorten && bytes.length > 0 ? bytes.subarray(0, cut % bytes.length) : bytes;
    });
}

function onlyErrors(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Error, `threw a non-Error: ${String(e)}`);
  }
}

test('stored-value decoder: arbitrary bytes give a value or an Error', () => {
  fc.assert(fc.property(v8ish, (bytes) => onlyErrors(() => deserialize(Buffer.from(bytes)))), options(5));
});

test('a stored value whose varint runs past its end throws instead of looping forever', () => {
  // Found by the property below: the fast path read past the end of the value and, with
  // the missing bytes read as undefined, never saw the varint end.
  for (const bytes of [
    [0xff, 0x0f, 0x49, 0xd9, 0xff], // int32 'I', varint cut short
    [0xff, 0x0f, 0x22, 0xff, 0xff], // one-byte string '"', length varint cut short
    [0xff, 0x0f, 0x63, 0x80], // two-byte string 'c', length varint cut short
  ]) {
    assert.throws(() => deserialize(Buffer.from(bytes)), Error, bytes.join(','));
  }
});

test('stored-value decoder: damaged stored values give a value or an Error', () => {
  fc.assert(fc.property(damaged(serialize), (bytes) => onlyErrors(() => deserialize(bytes))), options(2));
});

test('RPC payload decoder: arbitrary text and bytes give a value or an Error', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 64 }), v8ish.map((b) => Buffer.from(b))), (payload) =>
      onlyErrors(() => decode(payload)),
    ),
    options(5),
  );
});

test('error-envelope decoder never throws, whatever the payload', () => {
  const envelopeish = fc.oneof(
    fc.string({ maxLength: 64 }),
    fc.json({ maxDepth: 3 }),
    fc.record({ t: fc.string(), m: fc.anything(), n: fc.anything(), p: fc.anything(), x: fc.anything(), s: fc.anything() }, { requiredKeys: [] }).map((e) => {
      try {
        return encode(e);
      } catch {
        return JSON.stringify({ t: 'Error', m: 'unencodable' });
      }
    }),
    damaged((v) => encodeError(new Error(String(typeof v === 'string' ? v : 'x')))),
  );
  fc.assert(
    fc.property(envelopeish, fc.boolean(), (payload, reset) => {
      const result = decodeError(payload, reset);
      if (result instanceof Error && reset) assert.equal(result.durableObjectReset, true);
    }),
    options(5),
  );
});
