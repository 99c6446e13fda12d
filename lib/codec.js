// Values crossing threads. Small plain values go as JSON text (about 1 µs round trip);
// everything else the spec accepts goes through V8 serialization (2–5 µs). Values the spec
// rejects throw DataCloneError before anything is sent.
import v8 from 'node:v8';
import { dataCloneError } from './errors.js';

const MAX_JSON_DEPTH = 32;
const STUB = Symbol.for('durable-facets.stub');

/** True when `v` survives JSON.stringify/parse unchanged. */
function jsonSafe(v, depth) {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (depth > MAX_JSON_DEPTH) return false;
      const proto = Object.getPrototypeOf(v);
      if (proto === Array.prototype) {
        for (let i = 0; i < v.length; i++) {
          if (!(i in v) || !jsonSafe(v[i], depth + 1)) return false;
        }
        return true;
      }
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in v) {
        if (!jsonSafe(v[k], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

const ALLOWED_PROTOS = new Set([
  Date.prototype,
  RegExp.prototype,
  Map.prototype,
  Set.prototype,
  ArrayBuffer.prototype,
  Number.prototype,
  String.prototype,
  Boolean.prototype,
  BigInt.prototype,
]);

function ctorName(v) {
  if (typeof v === 'function') return 'Function';
  if (typeof v === 'symbol') return 'Symbol';
  try {
    return v?.constructor?.name || 'Object';
  } catch {
    return 'Object';
  }
}

/** Throws DataCloneError for anything outside the accepted value types. */
function validate(v, seen) {
  const t = typeof v;
  if (t === 'function' || t === 'symbol') throw dataCloneError(ctorName(v));
  if (t !== 'object' || v === null) return;
  if (seen.has(v)) return;
  seen.add(v);
  const stub = v[STUB];
  if (stub) throw stub.includes(' ') ? new DOMException(stub, 'DataCloneError') : dataCloneError(stub);
  const proto = Object.getPrototypeOf(v);
  if (proto === Array.prototype || proto === Object.prototype || proto === null) {
    for (const k of Object.keys(v)) validate(v[k], seen);
    return;
  }
  if (ALLOWED_PROTOS.has(proto)) {
    if (proto === Map.prototype) {
      for (const [k, val] of v) {
        validate(k, seen);
        validate(val, seen);
      }
    } else if (proto === Set.prototype) {
      for (const k of v) validate(k, seen);
    }
    return;
  }
  if (ArrayBuffer.isView(v)) return;
  if (v instanceof Error) return;
  throw dataCloneError(ctorName(v));
}

/**
 * Encodes a value for another thread: a string (JSON) or a Buffer (V8 serialization).
 * @param {unknown} value
 * @returns {string | Buffer}
 */
export function encode(value) {
  if (jsonSafe(value, 0)) return JSON.stringify(value);
  validate(value, new Set());
  try {
    return v8.serialize(value);
  } catch (e) {
    if (e instanceof Error && /could not be cloned|serialize/i.test(e.message)) {
      throw dataCloneError(ctorName(value));
    }
    throw e;
  }
}

/** @param {string | Uint8Array} payload */
export function decode(payload) {
  return typeof payload === 'string' ? JSON.parse(payload) : v8.deserialize(payload);
}

const STANDARD_ERRORS = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

/** The nearest standard Error class of `err`. */
function standardClassName(err) {
  for (let p = Object.getPrototypeOf(err); p; p = Object.getPrototypeOf(p)) {
    const name = p.constructor?.name;
    if (p.constructor === STANDARD_ERRORS[name]) return name;
  }
  return 'Error';
}

/**
 * Encodes a thrown value for its caller: `{t, m, n?}` for errors, `{v}` for other values.
 * @param {unknown} thrown
 */
export function encodeError(thrown) {
  if (thrown instanceof DOMException) {
    return JSON.stringify({ t: 'DOMException', m: thrown.message, n: thrown.name });
  }
  if (thrown instanceof Error) {
    const t = standardClassName(thrown);
    let m = '';
    let n = t;
    try {
      m = String(thrown.message);
      n = String(thrown.name);
    } catch {}
    return JSON.stringify(n === t ? { t, m } : { t, m, n });
  }
  try {
    return encode({ v: thrown });
  } catch {
    let text = 'Error';
    try {
      text = String(thrown);
    } catch {}
    return JSON.stringify({ t: 'Error', m: text });
  }
}

/**
 * Rebuilds a remote error (see encodeError).
 * @param {string | Uint8Array} payload
 * @param {boolean} reset the callee's instance was reset
 */
export function decodeError(payload, reset) {
  const e = decode(payload);
  if ('v' in e) return e.v;
  let err;
  if (e.t === 'DOMException') {
    err = new DOMException(e.m, e.n);
  } else {
    err = new (STANDARD_ERRORS[e.t] ?? Error)(e.m);
    if (e.n !== undefined) {
      Object.defineProperty(err, 'name', { value: e.n, writable: true, configurable: true });
    }
  }
  err.remote = true;
  if (reset) err.durableObjectReset = true;
  return err;
}

export { STUB };
