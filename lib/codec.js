// Values crossing threads, with structured-clone semantics (SPEC §2.2).
//
// One walk reads the value exactly once (each getter runs once, as structured clone does)
// and builds a private copy while it checks the types the spec accepts; the copy is then
// serialized, so nothing user-defined runs during serialization. A copy made only of plain
// objects, dense arrays, strings, finite numbers, booleans and null — with no shared
// references — goes as JSON text (the hot path: about 1 µs round trip); anything else
// goes through V8 serialization (2–5 µs). Values the spec rejects throw DataCloneError,
// payloads over 32 MiB a RangeError, before anything is sent.
import v8 from 'node:v8';
import { types } from 'node:util';
import { dataCloneError, payloadTooLarge, undecodableReply, MAX_RPC_PAYLOAD_BYTES } from './errors.js';
import { codes } from './error-codes.js';
import { RpcTarget } from './durable-object.js';
import { exportValue, unexport } from './refs.js';
import { RawBytes, isRaw, rawBytes } from './raw-bytes.js';

const STUB = Symbol.for('durable-facets.stub');
/**
 * How a stub travels (SPEC §2.2): `{ value: descriptor }` by value (namespace stubs), or
 * `{ kind: 'f' | 't' }` by reference (it is exported and the receiver's calls go through
 * this thread). Stubs without it are not serializable.
 */
const REF = Symbol.for('durable-facets.ref');
const { isProxy, isSharedArrayBuffer, isDataView } = types;

const MAX = MAX_RPC_PAYLOAD_BYTES;

// Intrinsic getters: an own `buffer`/`byteLength` on a view must not fool the checks.
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const typedArrayBuffer = Object.getOwnPropertyDescriptor(TypedArrayPrototype, 'buffer').get;
const typedArrayByteLength = Object.getOwnPropertyDescriptor(TypedArrayPrototype, 'byteLength').get;
const dataViewBuffer = Object.getOwnPropertyDescriptor(DataView.prototype, 'buffer').get;
const dataViewByteLength = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength').get;
const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;

/** `undefined` (what most methods return) as V8 serialization: header + '_'. */
const UNDEFINED_PAYLOAD = v8.serialize(undefined);

/** Objects a walk remembers in arrays before it switches to a Map (see Walk.find). */
const LINEAR_SEEN = 16;

/**
 * A value passed by reference, in the copy a walk makes: V8 hands ArrayBufferViews to the
 * serializer's `_writeHostObject`, which writes the address instead (see RpcSerializer).
 */
class RefSlot extends Uint8Array {
  /** @param {Array<string | number | null>} desc `[kind, …address]` */
  constructor(desc) {
    super(0);
    this.desc = desc;
  }

  /** On the JSON path, a one-key object the decoder turns back into a stub (see `revive`). */
  toJSON() {
    return { [REF_KEY]: this.desc };
  }
}

/** The key of a reference on the JSON path; a user object with this key forces V8. */
const REF_KEY = '\u0000ref';
/** First character of a JSON payload that holds references. */
const WITH_REFS = '\u0001';

/** The state of one walk: JSON-safe so far, a lower bound of the payload size, copies made. */
class Walk {
  json = true;
  bytes = 0;
  /** RPC values: references allowed; the ids this walk exported (null: references refused). */
  exported = null;
  /** References in the copy (slots made). */
  refs = 0;
  // Original → copy, for shared references and cycles. Small values (the hot path) keep
  // them in two short arrays: a linear scan beats a Map, whose first use of an object as a
  // key gives it an identity hash (a costly store).
  originals = new Array(LINEAR_SEEN).fill(undefined);
  copies = new Array(LINEAR_SEEN).fill(undefined);
  remembered = 0;
  /** @type {Map<object, unknown> | null} */
  map = null;

  /** The copy made of `v`, or undefined. */
  find(v) {
    if (this.map !== null) return this.map.get(v);
    const originals = this.originals;
    for (let i = 0; i < this.remembered; i++) if (originals[i] === v) return this.copies[i];
    return undefined;
  }

  remember(v, copy) {
    if (this.map !== null) {
      this.map.set(v, copy);
    } else if (this.remembered < LINEAR_SEEN) {
      this.originals[this.remembered] = v;
      this.copies[this.remembered++] = copy;
    } else {
      this.map = new Map();
      for (let i = 0; i < LINEAR_SEEN; i++) this.map.set(this.originals[i], this.copies[i]);
      this.map.set(v, copy);
    }
  }

  /** Forgets the walk (and drops its references to the user's objects). */
  reset() {
    this.json = true;
    this.bytes = 0;
    for (let i = 0; i < this.remembered; i++) {
      this.originals[i] = undefined;
      this.copies[i] = undefined;
    }
    this.remembered = 0;
    this.map = null;
    this.exported = null;
    this.refs = 0;
  }
}

// One Walk is reused between calls; a walk started from inside another (a getter that
// makes an RPC call) gets its own.
let spareWalk = new Walk();

function takeWalk() {
  const w = spareWalk ?? new Walk();
  spareWalk = null;
  return w;
}

function returnWalk(w) {
  w.reset();
  spareWalk = w;
}

function ctorName(v) {
  try {
    return v?.constructor?.name || 'Object';
  } catch {
    return 'Object';
  }
}

function define(obj, key, value) {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/** The bytes counted so far exceed the cap: no need to serialize to know. */
function count(w, n) {
  if ((w.bytes += n) > MAX) throw payloadTooLarge(w.bytes, true);
}

function copyValue(v, w) {
  switch (typeof v) {
    case 'string':
      count(w, v.length);
      return v;
    case 'number':
      // NaN, ±Infinity and -0 do not survive JSON.
      if (v - v !== 0 || (v === 0 && 1 / v < 0)) w.json = false;
      return v;
    case 'boolean':
      return v;
    case 'object':
      return v === null ? v : copyObject(v, w);
    case 'undefined':
    case 'bigint':
      w.json = false;
      return v;
    case 'function':
      if (w.exported === null) throw dataCloneError('Function');
      return byReference(v, w, 'f');
    default:
      throw dataCloneError('Symbol');
  }
}

/**
 * `v` (a function, an RpcTarget or a stub) as a RefSlot: exported for one transfer, or a
 * stub that travels by value. The same `v` twice in one value is one slot (V8 keeps it).
 */
function byReference(v, w, kind) {
  const known = w.find(v);
  if (known !== undefined) {
    // Twice in one value: JSON would make two references of one transfer; V8 keeps one.
    w.json = false;
    return known;
  }
  w.refs++;
  let slot;
  if (isProxy(v)) {
    let how;
    try {
      how = v[REF];
    } catch {}
    if (how === undefined) throw proxyError(v);
    if (how.value !== undefined) {
      slot = new RefSlot(how.value);
    } else {
      slot = new RefSlot([how.kind, ...exportValue(how.dup !== undefined ? how.dup() : v)]);
      w.exported.push(slot.desc[3]);
    }
  } else {
    slot = new RefSlot([kind, ...exportValue(v)]);
    w.exported.push(slot.desc[3]);
  }
  w.remember(v, slot);
  return slot;
}

/** Proxies (stubs among them) are never cloned; a stub names itself in the error. */
function proxyError(v) {
  let stub;
  try {
    stub = v[STUB];
  } catch {}
  if (typeof stub === 'string') {
    return stub.includes(' ') ? new DOMException(stub, 'DataCloneError') : dataCloneError(stub);
  }
  return dataCloneError('Proxy');
}

function copyObject(v, w) {
  const known = w.find(v);
  if (known !== undefined) {
    // A shared reference or a cycle: JSON would duplicate or fail; V8 keeps identity.
    w.json = false;
    return known;
  }
  if (isProxy(v)) {
    if (w.exported === null) throw proxyError(v);
    return byReference(v, w, 't');
  }
  if (Array.isArray(v)) return copyArray(v, w);
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    // The receiver gets an ordinary object either way (structured clone drops the null
    // prototype too).
    const out = {};
    w.remember(v, out);
    return copyOwnKeys(v, Object.keys(v), out, w);
  }
  if (w.exported !== null && v instanceof RpcTarget) return byReference(v, w, 't');
  w.json = false;
  switch (proto) {
    case Map.prototype: {
      const out = new Map();
      w.remember(v, out);
      for (const [k, x] of v) out.set(copyValue(k, w), copyValue(x, w));
      return out;
    }
    case Set.prototype: {
      const out = new Set();
      w.remember(v, out);
      for (const k of v) out.add(copyValue(k, w));
      return out;
    }
    case ArrayBuffer.prototype:
      // Sent by reference identity too: V8 writes a buffer once however often it occurs.
      w.remember(v, v);
      count(w, arrayBufferByteLength.call(v));
      return v;
    case String.prototype:
      count(w, v.length);
      return v;
    case Date.prototype:
    case RegExp.prototype:
    case Number.prototype:
    case Boolean.prototype:
    case BigInt.prototype:
      // Serialized from internal slots: no user code runs, the original can be used.
      return v;
    case SharedArrayBuffer.prototype:
      throw dataCloneError('SharedArrayBuffer');
  }
  if (ArrayBuffer.isView(v)) {
    const dv = isDataView(v);
    const buffer = dv ? dataViewBuffer.call(v) : typedArrayBuffer.call(v);
    // Memory shared with another thread cannot be copied by value (workerd cannot send it
    // over RPC either).
    if (isSharedArrayBuffer(buffer)) throw dataCloneError('SharedArrayBuffer');
    // A lower bound of the bytes: V8 writes each backing buffer once (and whole), so views
    // over a buffer already counted add nothing.
    w.remember(v, v);
    if (w.find(buffer) === undefined) {
      w.remember(buffer, buffer);
      count(w, dv ? dataViewByteLength.call(v) : typedArrayByteLength.call(v));
    }
    return v;
  }
  if (v instanceof Error) return v;
  throw dataCloneError(ctorName(v));
}

function copyArray(v, w) {
  const len = v.length;
  const keys = Object.keys(v);
  // Index keys come first, ascending: the array is dense with no other own properties
  // exactly when there are `len` keys and the last one is `len - 1`.
  if (keys.length === len && (len === 0 || keys[len - 1] === String(len - 1))) {
    // Built by push: a packed array, which JSON.stringify walks faster than a holey one.
    const out = [];
    w.remember(v, out);
    for (let i = 0; i < len; i++) out.push(copyValue(v[i], w));
    return out;
  }
  // Holes or extra properties: JSON would fill the holes and drop the properties.
  const out = new Array(len);
  w.remember(v, out);
  w.json = false;
  return copyOwnKeys(v, keys, out, w);
}

/** Copies `v[k]` into `out[k]` for each of `keys` (each getter read once); returns `out`. */
function copyOwnKeys(v, keys, out, w) {
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k === REF_KEY) w.json = false;
    const x = copyValue(v[k], w);
    // `out.__proto__ = x` would set the prototype; an own property named so is data.
    if (k === '__proto__') define(out, k, x);
    else out[k] = x;
  }
  return out;
}

/** V8's own refusals (a detached ArrayBuffer, …) as DataCloneError. */
function serializeFailure(e) {
  if (e instanceof DOMException || e instanceof RangeError) return e;
  if (e instanceof Error && /could not be cloned/i.test(e.message)) {
    return new DOMException(e.message, 'DataCloneError');
  }
  return e;
}

const REF_TAG = 0xfffffff0;

/** V8 serialization that writes RefSlots as addresses (other views as Node does). */
class RpcSerializer extends v8.DefaultSerializer {
  _writeHostObject(view) {
    if (!(view instanceof RefSlot)) return super._writeHostObject(view);
    const text = Buffer.from(JSON.stringify(view.desc));
    this.writeUint32(REF_TAG);
    this.writeUint32(text.length);
    this.writeRawBytes(text);
  }
}

/** Makes the receiver's stub of a reference (installed by lib/stub.js). */
let stubOf = () => {
  throw new Error('RPC references cannot be decoded on this thread.');
};

/** @param {(desc: Array<string | number | null>) => unknown} fn */
export function setStubFactory(fn) {
  stubOf = fn;
}

/** A parsed JSON payload with references: each one-key `{ [REF_KEY]: desc }` becomes a stub. */
function revive(v) {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i]);
    return v;
  }
  const desc = v[REF_KEY];
  if (desc !== undefined) return stubOf(desc);
  for (const k of Object.keys(v)) {
    const x = revive(v[k]);
    if (k === '__proto__') define(v, k, x);
    else v[k] = x;
  }
  return v;
}

/** V8 deserialization that turns addresses into stubs (other views as Node does). */
class RpcDeserializer extends v8.DefaultDeserializer {
  /** A tag read ahead that was not ours: Node's own reader reads it again. */
  ahead = undefined;

  readUint32() {
    if (this.ahead === undefined) return super.readUint32();
    const t = this.ahead;
    this.ahead = undefined;
    return t;
  }

  _readHostObject() {
    const tag = super.readUint32();
    if (tag !== REF_TAG) {
      this.ahead = tag;
      return super._readHostObject();
    }
    const length = super.readUint32();
    return stubOf(JSON.parse(this.readRawBytes(length).toString()));
  }
}

function serializeV8(value) {
  const ser = new RpcSerializer();
  ser.writeHeader();
  ser.writeValue(value);
  return ser.releaseBuffer();
}

/** Serializes a copy made by `copyValue` (nothing user-defined runs). */
function serializeCopy(copy, json, refs = 0) {
  if (json) {
    const s = refs === 0 ? JSON.stringify(copy) : WITH_REFS + JSON.stringify(copy);
    // UTF-8 takes at most 3 bytes per UTF-16 unit: measure only strings that may be over.
    if (s.length * 3 > MAX) {
      const bytes = Buffer.byteLength(s, 'utf8');
      if (bytes > MAX) throw payloadTooLarge(bytes);
    }
    return s;
  }
  let buf;
  try {
    buf = serializeV8(copy);
  } catch (e) {
    throw serializeFailure(e);
  }
  if (buf.length > MAX) throw payloadTooLarge(buf.length);
  return buf;
}

/**
 * One walk and its serialization. `exported` (RPC values) receives the ids of what went by
 * reference, and is let go again when the encoding fails; null refuses references.
 */
function encodeWith(exported, copyOf) {
  const w = takeWalk();
  w.exported = exported;
  try {
    const copy = copyOf(w);
    return serializeCopy(copy, w.json, w.refs);
  } catch (e) {
    if (exported !== null) unexport(exported);
    throw e;
  } finally {
    returnWalk(w);
  }
}

/**
 * The copy of call arguments: the array made by a rest parameter has no holes, no other
 * properties, and is referenced from nowhere, so it is copied by index.
 */
function copyArgs(args, w) {
  const copy = [];
  for (let i = 0; i < args.length; i++) copy.push(copyValue(args[i], w));
  return copy;
}

/**
 * Encodes a value for another thread: a string (JSON) or a Buffer (V8 serialization).
 * Throws DataCloneError for values the spec rejects and RangeError over 32 MiB.
 * @param {unknown} value
 * @returns {string | Buffer}
 */
export function encode(value) {
  if (value === undefined) return UNDEFINED_PAYLOAD;
  return encodeWith(null, (w) => copyValue(value, w));
}

/**
 * Encodes the arguments of a call (as `encode` of the array).
 * @param {unknown[]} args
 * @returns {string | Buffer}
 */
export function encodeArgs(args) {
  return encodeWith(null, (w) => copyArgs(args, w));
}

/**
 * Encodes an RPC value (a result): like `encode`, but functions, RpcTarget instances and
 * stubs go by reference (SPEC §2.2). The ids of what was exported are pushed to `exported`.
 * @param {unknown} value
 * @param {number[]} exported
 * @returns {string | Buffer}
 */
export function encodeRpc(value, exported) {
  if (value === undefined) return UNDEFINED_PAYLOAD;
  // A streamed body's chunk: copied once by the native layer (lib/raw-bytes.js).
  if (value instanceof RawBytes) return value.payload();
  return encodeWith(exported, (w) => copyValue(value, w));
}

/** The arguments of a call, as `encodeRpc`. */
export function encodeRpcArgs(args, exported) {
  return encodeWith(exported, (w) => copyArgs(args, w));
}

/** A copy of `value` that serializes without running user code (throws as `encode`). */
function snapshot(value) {
  const w = takeWalk();
  try {
    return copyValue(value, w);
  } finally {
    returnWalk(w);
  }
}

/** @param {string | Uint8Array} payload */
export function decode(payload) {
  if (typeof payload === 'string') {
    return payload.charCodeAt(0) === 1 ? revive(JSON.parse(payload.slice(1))) : JSON.parse(payload);
  }
  if (isRaw(payload)) return rawBytes(payload);
  const der = new RpcDeserializer(payload);
  der.readHeader();
  return der.readValue();
}

// ---- Errors -------------------------------------------------------------------------------
//
// A thrown value travels as an envelope:
//   {t: class, m: message, n?: name (when not the class's), p?: own data properties,
//    x?: {e: envelope} | {v: value} (cause), s?: the callee's stack frames}
// or, for a thrown non-Error value that can be cloned, {v: value}.
// encodeError never throws: whatever was thrown, the caller gets an Error.

const STANDARD_ERRORS = {
  __proto__: null,
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

const MAX_CAUSE_DEPTH = 8;
const MAX_STACK_CHARS = 16 * 1024;
/**
 * Own properties the envelope does not copy: those carried by its other fields, and those
 * that describe one hop (`remote`, `durableObjectReset`: set again by each receiving side, so
 * an error a caller rethrows does not claim its own object was reset).
 */
const ENVELOPE_KEYS = new Set(['message', 'name', 'stack', 'cause', 'remote', 'durableObjectReset']);

/** The code of the Error standing in for a thrown value that cannot be cloned. */
const UNCLONEABLE_THROWN = codes.UncloneableThrown;

const UNENCODABLE = JSON.stringify({
  t: 'Error',
  m: 'A value that cannot be serialized or described was thrown.',
  p: { code: UNCLONEABLE_THROWN },
});

/** The nearest standard Error class of `err` (`err` is not a Proxy). */
function standardClassName(err) {
  try {
    for (let p = Object.getPrototypeOf(err); p; p = Object.getPrototypeOf(p)) {
      const d = Object.getOwnPropertyDescriptor(p, 'constructor');
      const ctor = d !== undefined && 'value' in d ? d.value : undefined;
      if (typeof ctor === 'function' && ctor === STANDARD_ERRORS[ctor.name]) return ctor.name;
    }
  } catch {}
  return 'Error';
}

/** Whether `x` is an Error (not a Proxy: its traps are never run). */
function isError(x) {
  if (x === null || typeof x !== 'object' || isProxy(x)) return false;
  try {
    return x instanceof Error;
  } catch {
    return false;
  }
}

/** The value of own data property `key`, or undefined (runs no user code). */
function ownData(x, key) {
  const d = Object.getOwnPropertyDescriptor(x, key);
  return d !== undefined && 'value' in d ? d.value : undefined;
}

/** `String(x[key])`, or `fallback` when reading or converting throws. */
function readString(x, key, fallback) {
  try {
    const d = Object.getOwnPropertyDescriptor(x, key);
    if (d !== undefined && 'value' in d) return String(d.value);
    if (d !== undefined) return fallback; // an own accessor: not read
    return String(x[key]);
  } catch {
    return fallback;
  }
}

/** The string form of a thrown value that cannot be cloned. */
function describe(x) {
  try {
    return String(x);
  } catch {
    return isProxy(x) ? 'A Proxy that cannot be serialized was thrown.' : 'A value that cannot be serialized was thrown.';
  }
}

/** The envelope of an Error (see above); each part that cannot be read is left out. */
function errorEnvelope(err, depth) {
  const domException = err instanceof DOMException;
  const t = domException ? 'DOMException' : standardClassName(err);
  const env = { t, m: readString(err, 'message', '') };
  const n = readString(err, 'name', t);
  if (domException || n !== t) env.n = n;
  let names = [];
  try {
    names = Object.getOwnPropertyNames(err);
  } catch {}
  let p;
  for (const k of names) {
    if (ENVELOPE_KEYS.has(k)) continue;
    try {
      const value = ownData(err, k);
      if (value === undefined) continue;
      p ??= {};
      define(p, k, snapshot(value));
    } catch {}
  }
  if (p !== undefined) env.p = p;
  try {
    const cause = ownData(err, 'cause');
    if (cause !== undefined) {
      if (depth < MAX_CAUSE_DEPTH && isError(cause)) env.x = { e: errorEnvelope(cause, depth + 1) };
      else if (!isError(cause)) env.x = { v: snapshot(cause) };
    }
  } catch {}
  try {
    const stack = ownData(err, 'stack');
    if (typeof stack === 'string') {
      const frames = stack
        .split('\n')
        .filter((line) => line.startsWith('    at '))
        .join('\n');
      if (frames !== '') env.s = frames.slice(0, MAX_STACK_CHARS);
    }
  } catch {}
  return env;
}

/**
 * Encodes a thrown value for its caller (see the envelope above); never throws.
 * @param {unknown} thrown
 * @param {string | null} [durableObjectId] the thrower's root object id (64 hex): an Error
 *   without a `durableObjectId` of its own gets it, as workerd adds it
 */
export function encodeError(thrown, durableObjectId = null) {
  try {
    if (isError(thrown)) {
      const env = errorEnvelope(thrown, 0);
      if (durableObjectId !== null && !(env.p !== undefined && Object.hasOwn(env.p, 'durableObjectId'))) {
        define((env.p ??= {}), 'durableObjectId', durableObjectId);
      }
      return encode(env);
    }
    try {
      return encode({ v: thrown });
    } catch (e) {
      if (e?.code === codes.PayloadTooLarge) throw e;
    }
    return encode({ t: 'Error', m: describe(thrown), p: { code: UNCLONEABLE_THROWN } });
  } catch (e) {
    // Too large (a huge message, say) or stranger still: the caller learns why.
    try {
      if (isError(e)) return encode(errorEnvelope(e, MAX_CAUSE_DEPTH));
    } catch {}
  }
  return UNENCODABLE;
}

function rebuildError(env) {
  let err;
  if (env.t === 'DOMException') {
    err = new DOMException(env.m, env.n);
  } else {
    err = new (STANDARD_ERRORS[env.t] ?? Error)(env.m);
    if (env.n !== undefined) {
      Object.defineProperty(err, 'name', { value: env.n, writable: true, configurable: true });
    }
  }
  if (env.p !== undefined) {
    for (const k of Object.keys(env.p)) {
      try {
        define(err, k, env.p[k]);
      } catch {}
    }
  }
  if (env.x !== undefined) {
    const cause = env.x.e !== undefined ? rebuildError(env.x.e) : env.x.v;
    Object.defineProperty(err, 'cause', { value: cause, writable: true, configurable: true });
  }
  if (env.s !== undefined) {
    // The callee's frames follow the caller's.
    try {
      err.stack = `${err.stack}\n${env.s}`;
    } catch {}
  }
  return err;
}

/**
 * Rebuilds a remote error (see encodeError). Never throws: a payload that cannot be decoded
 * becomes an Error saying so.
 * @param {string | Uint8Array} payload
 * @param {boolean} reset the callee's instance was reset
 */
export function decodeError(payload, reset) {
  let err;
  try {
    const e = decode(payload);
    if ('v' in e) return e.v;
    err = rebuildError(e);
  } catch (e) {
    err = undecodableReply(e);
  }
  err.remote = true;
  if (reset) err.durableObjectReset = true;
  return err;
}

export { STUB, REF };
