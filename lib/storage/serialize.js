// Stored values, encoded exactly as workerd encodes them: V8 serialization with the base
// `v8.Serializer` (header + value; typed arrays written natively — Node's `v8.serialize`
// writes them in a Node-only host-object form). Primitives, the common case, take a fast
// path that writes the same bytes without a Serializer object (which costs 2–5 µs).
import v8 from 'node:v8';
import { types } from 'node:util';
import { STUB } from '../codec.js';
import { dataCloneError } from '../errors.js';

const VERSION = 0x0f;
const TAG_UNDEFINED = 0x5f; // '_'
const TAG_NULL = 0x30; // '0'
const TAG_TRUE = 0x54; // 'T'
const TAG_FALSE = 0x46; // 'F'
const TAG_INT32 = 0x49; // 'I' (zigzag varint)
const TAG_DOUBLE = 0x4e; // 'N'
const TAG_ONE_BYTE_STRING = 0x22; // '"'
const TAG_TWO_BYTE_STRING = 0x63; // 'c'
const TAG_PADDING = 0x00;

const NOT_LATIN1 = /[^\x00-\xff]/;

function varintLength(n) {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf, offset, n) {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[offset++] = n;
  return offset;
}

function header(size) {
  const buf = Buffer.allocUnsafe(size);
  buf[0] = 0xff;
  buf[1] = VERSION;
  return buf;
}

/** The base serializer, refusing as workerd's does: `DOMException` `DataCloneError`. */
class StorageSerializer extends v8.Serializer {
  _getDataCloneError(message) {
    return new DOMException(message, 'DataCloneError');
  }

  _getSharedArrayBufferId() {
    throw new DOMException('#<SharedArrayBuffer> could not be cloned.', 'DataCloneError');
  }
}

function fallback(value) {
  const s = new StorageSerializer();
  s.writeHeader();
  try {
    s.writeValue(value);
  } catch (e) {
    throw stubError(value) ?? e;
  }
  return s.releaseBuffer();
}

/**
 * Stubs are never storable (SPEC §2.2): when a value is refused, a stub inside it names
 * itself in the error, as in workerd. Only data properties are searched: no getter runs
 * a second time.
 */
function stubError(value) {
  const seen = new Set();
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (types.isProxy(v)) {
      let stub;
      try {
        stub = v[STUB];
      } catch {}
      if (typeof stub !== 'string') continue;
      return stub.includes(' ') ? new DOMException(stub, 'DataCloneError') : dataCloneError(stub);
    }
    if (v instanceof Map) {
      for (const [k, x] of v) stack.push(k, x);
    } else if (v instanceof Set) {
      for (const k of v) stack.push(k);
    } else {
      for (const d of Object.values(Object.getOwnPropertyDescriptors(v))) if ('value' in d) stack.push(d.value);
    }
  }
  return undefined;
}

/**
 * Serializes a value for storage (byte-identical to workerd's `serializeV8Value`).
 * @param {unknown} value
 * @returns {Buffer}
 */
export function serialize(value) {
  switch (typeof value) {
    case 'undefined': {
      const b = header(3);
      b[2] = TAG_UNDEFINED;
      return b;
    }
    case 'boolean': {
      const b = header(3);
      b[2] = value ? TAG_TRUE : TAG_FALSE;
      return b;
    }
    case 'number': {
      // V8 writes small integers (Smis: 32 bits on x64 Node 20) as int32, others as doubles.
      if (Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 && !Object.is(value, -0)) {
        const zz = value >= 0 ? value * 2 : -value * 2 - 1;
        const b = header(3 + varintLength(zz));
        b[2] = TAG_INT32;
        writeVarint(b, 3, zz);
        return b;
      }
      const b = header(11);
      b[2] = TAG_DOUBLE;
      b.writeDoubleLE(value, 3);
      return b;
    }
    case 'string': {
      if (!NOT_LATIN1.test(value)) {
        const n = value.length;
        const b = header(3 + varintLength(n) + n);
        b[2] = TAG_ONE_BYTE_STRING;
        const at = writeVarint(b, 3, n);
        b.latin1Write(value, at, n);
        return b;
      }
      const bytes = value.length * 2;
      // V8 pads so that the UTF-16 data starts at an even offset.
      const pad = (2 + 1 + varintLength(bytes)) & 1;
      const b = header(2 + pad + 1 + varintLength(bytes) + bytes);
      let at = 2;
      if (pad) b[at++] = TAG_PADDING;
      b[at++] = TAG_TWO_BYTE_STRING;
      at = writeVarint(b, at, bytes);
      b.ucs2Write(value, at, bytes);
      return b;
    }
    case 'object':
      if (value === null) {
        const b = header(3);
        b[2] = TAG_NULL;
        return b;
      }
      return fallback(value);
    default:
      return fallback(value);
  }
}

/** Varints of the fast path are 32-bit lengths and values: at most 5 bytes. */
const MAX_VARINT_BYTES = 5;

/**
 * The varint at `offset` and the offset after it, or [-1, -1] when it does not end within
 * `length` bytes (a damaged value: the caller falls back to V8's deserializer, which throws).
 */
function readVarint(buf, offset, length) {
  let n = 0;
  let mul = 1;
  const end = Math.min(length, offset + MAX_VARINT_BYTES);
  while (offset < end) {
    const byte = buf[offset++];
    n += (byte & 0x7f) * mul;
    if (byte < 0x80) return [n, offset];
    mul *= 128;
  }
  return [-1, -1];
}

/**
 * Reads a stored value (workerd's format; also values it wrote).
 * @param {Uint8Array} data
 * @param {number} [length] bytes of `data` that hold the value (default: all)
 */
export function deserialize(data, length = data.length) {
  if (length >= 3 && data[0] === 0xff && data[1] === VERSION) {
    let at = 2;
    if (data[at] === TAG_PADDING && data[at + 1] === TAG_TWO_BYTE_STRING) at++;
    const tag = data[at];
    switch (tag) {
      case TAG_UNDEFINED:
        if (length === 3) return undefined;
        break;
      case TAG_NULL:
        if (length === 3) return null;
        break;
      case TAG_TRUE:
        if (length === 3) return true;
        break;
      case TAG_FALSE:
        if (length === 3) return false;
        break;
      case TAG_INT32: {
        const [zz, end] = readVarint(data, 3, length);
        if (end === length) return zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
        break;
      }
      case TAG_DOUBLE:
        if (length === 11) return asBuffer(data).readDoubleLE(3);
        break;
      case TAG_ONE_BYTE_STRING:
      case TAG_TWO_BYTE_STRING: {
        const [n, start] = readVarint(data, at + 1, length);
        if (start + n === length) {
          const b = asBuffer(data);
          return tag === TAG_ONE_BYTE_STRING ? b.latin1Slice(start, start + n) : b.ucs2Slice(start, start + n);
        }
        break;
      }
    }
  }
  const d = new v8.Deserializer(length === data.length ? data : data.subarray(0, length));
  d.readHeader();
  return d.readValue();
}

function asBuffer(data) {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
}
