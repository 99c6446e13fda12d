// RPC by reference (SPEC §2.2): what this thread's instance exported (functions, RpcTarget
// instances, stubs handed on), what it imported from other threads, and the answers of its
// calls that pipelined calls may still address.
//
// A reference names its owner by thread and *instance* (the hub's token): once that
// instance stops, the hub refuses calls through it, so a reference never reaches a later
// instance on a recycled thread. Each transfer of a value counts one reference on the
// owner; each received reference releases its count once, on `[Symbol.dispose]()`, when it
// is garbage-collected, or when the receiving instance stops. An export lives while any
// count is held or until its owner stops.
import { types } from 'node:util';
import { native } from './native.js';
import { withCode } from './error-codes.js';
import { RpcTarget, DurableObject, WorkerEntrypoint } from './durable-object.js';

/** Method strings: an operation on a member path (JSON after the prefix), a release. */
export const OP_PREFIX = '\x01';
const RELEASE_PREFIX = '\x02';

/** workerd's text for a stub used after `[Symbol.dispose]()`. */
const DISPOSED_STUB_MESSAGE = 'RPC stub used after being disposed.';

/** The error of a call through a disposed stub (or to an export that was let go). */
export function disposedStub() {
  return withCode(new Error(DISPOSED_STUB_MESSAGE), 'ReferenceGone');
}

/** Names an instance stub never exposes (SPEC §2.2), as on Cloudflare. */
const FORBIDDEN = new Set(['constructor', 'alarm', 'fetch', 'dup']);

/** Whether member `name` of a hosted instance is reserved (never reachable over RPC). */
export function reservedOnInstance(name) {
  return FORBIDDEN.has(name) || name.startsWith('webSocket');
}

// ---- Exports of this thread's current instance ---------------------------------------------

/** [tid, instance] of this thread's current instance (cached until it stops). */
let token = null;
/** `answers`: ids of the calls whose answers are kept for pipelining while this export lives. */
/** @type {Map<number, {value: unknown, count: number, answers: number[] | null}>} */
const table = new Map();
/** @type {Map<unknown, number>} */
const idOf = new Map();
/** Never reset: an id is never reused on this thread, so a late call cannot hit a new export. */
let nextId = 1;

function stoppedError() {
  return withCode(new Error('This Durable Object instance was stopped.'), 'Stopped');
}

/**
 * Exports `value` by reference for one transfer; returns its address `[tid, instance, id]`.
 * @param {unknown} value a function, an RpcTarget instance or a stub
 */
export function exportValue(value) {
  if (token === null) {
    token = native.instanceToken();
    if (token === null) throw stoppedError();
  }
  let id = idOf.get(value);
  if (id === undefined) {
    id = nextId++;
    idOf.set(value, id);
    table.set(id, { value, count: 0, answers: null });
  }
  table.get(id).count++;
  return [token[0], token[1], id];
}

/** [tid, instance] of this thread's current instance (null once it stopped). */
export function instanceToken() {
  token ??= native.instanceToken();
  return token;
}

// A list of exported ids for each encoding, reused while it stays empty (the hot path
// exports nothing; an encoding may run user code that encodes too, so one is taken, not
// shared).
let spareList = [];

/** An empty list for the ids an encoding exports. */
export function takeList() {
  const l = spareList ?? [];
  spareList = null;
  return l;
}

/** Gives back a list that stayed empty; returns null. */
export function giveList(l) {
  spareList = l;
  return null;
}

/** The transfers of `ids` did not happen (their encoding failed). */
export function unexport(ids) {
  for (const id of ids) releaseExport(id);
  ids.length = 0;
}

/** One transfer of export `id` was let go. */
function releaseExport(id) {
  const e = table.get(id);
  if (e === undefined) return;
  // Each transfer let go takes the oldest answer kept for it along (a pipelined call comes
  // right after its call; one that finds its answer gone is applied by the caller instead).
  if (e.answers !== null && e.answers.length > 0) unlinkAnswer(e.answers.shift());
  if (--e.count > 0) return;
  table.delete(id);
  idOf.delete(e.value);
  if (e.answers !== null) for (const callId of e.answers) unlinkAnswer(callId);
  disposeTarget(e.value);
}

function unlinkAnswer(callId) {
  const a = answers.get(callId);
  if (a !== undefined && --a.links === 0) answers.delete(callId);
}

/**
 * As workerd: an RpcTarget's `[Symbol.dispose]()` runs once its last reference was let go;
 * what it throws is logged, never thrown to the one who let go (nor, on the user's main
 * thread, as an uncaught exception that would end the process).
 */
function disposeTarget(value) {
  // A stub handed on was exported as a dup of its own: let that go too.
  if (isStubValue(value)) {
    try {
      value[Symbol.dispose]?.();
    } catch {}
    return;
  }
  if (!(value instanceof RpcTarget)) return;
  let dispose;
  try {
    dispose = value[Symbol.dispose];
    if (typeof dispose === 'function') dispose.call(value);
  } catch (e) {
    console.error('durable-facets: the [Symbol.dispose]() of an RpcTarget threw:', e);
  }
}

// ---- Answers (promise pipelining) -----------------------------------------------------------
//
// A pipelined call addresses the answer of an earlier call (by its call id) before that
// answer reached the caller. An answer still being computed is always found; a finished one
// is kept only while a reference its result exported is alive — otherwise the result was
// plain data, and the caller applies the operation to its copy (see `notRetained`).

/** `settled`: `value` is the result; otherwise a promise of it. */
/** @type {Map<number, {value: unknown, settled: boolean, links: number}>} */
const answers = new Map();

// A call sent together with a call pipelined on it (a batch, see stub.js) does not send its
// own result back: it is pinned here, under the batch's call id, until the caller lets go of
// its promise (`\x02q<id>`) or this instance stops. Later operations address it as 'q'.

/** @type {Map<number, {value: unknown, settled: boolean, failed: boolean}>} */
const pinned = new Map();

const PROMISE_THEN = Promise.prototype.then;

/**
 * The `then` of `result` when it is a thenable, else undefined. Reads `result.then` once (a
 * getter may throw: that is the call's failure, as for `await`).
 */
export function thenOf(result) {
  if ((result === null || typeof result !== 'object') && typeof result !== 'function') return undefined;
  const then = result.then;
  return typeof then === 'function' ? then : undefined;
}

/**
 * A promise of what thenable `result` settles to, adopted as `await` does (`then` read once,
 * by the caller). Never throws. A plain native promise with the native `then` is its own
 * adoption: no wrapper (an async method's result, the common case, saves a promise and a
 * microtask). Anything else is adopted through its `then`, as `Promise.resolve` would: a
 * Proxy of a promise, an object inheriting from Promise.prototype, or a Promise subclass
 * (whose constructor may ignore its executor, making its native `then` throw).
 */
export function adopt(result, then) {
  if (then === PROMISE_THEN && types.isPromise(result) && Object.getPrototypeOf(result) === Promise.prototype) return result;
  return new Promise((resolve, reject) => then.call(result, resolve, reject));
}

/** Pins the outcome of the first call of batch `callId`: `performOp` of the rest. */
function pin(callId, kind, key, path, op, args, instance, viaRef) {
  const p = { value: undefined, settled: true, failed: false };
  pinned.set(callId, p);
  let result;
  let then;
  try {
    result = performOp(kind, key, path, op, args, instance, viaRef);
    then = thenOf(result);
  } catch (e) {
    p.value = e;
    p.failed = true;
    return;
  }
  if (then === undefined) {
    p.value = result;
    return;
  }
  // Adopted as `await` does; operations wait for it (in the order they arrived).
  const promise = adopt(result, then);
  p.settled = false;
  p.value = promise;
  promise.then(
    (v) => {
      p.value = v;
      p.settled = true;
    },
    (e) => {
      p.value = e;
      p.settled = true;
      p.failed = true;
    },
  );
  // Its failure reaches whoever uses it, never as an unhandled rejection.
  promise.catch(() => {});
}

/** Parsed batch methods (see `performBatch`); treated as read-only. */
const batchMethods = new Map();

/** Batch method strings: the first call's method, then the path and op of the second. */
export const BATCH_PREFIX = '\x04';

/**
 * Carries out a batch (see stub.js): the first call, pinned under `callId`, then the
 * operation pipelined on it. Returns the second call's result (maybe a promise). `args` is
 * the decoded payload: both argument lists, or (nested) both their encodings, which
 * `decode` decodes.
 */
export function performBatch(callId, method, args, instance, viaRef, decode) {
  let parsed = batchMethods.get(method);
  if (parsed === undefined) {
    parsed = JSON.parse(method.slice(1));
    // Parsed once per distinct method (callers send the same few again and again).
    if (batchMethods.size >= 1024) batchMethods.clear();
    batchMethods.set(method, parsed);
  }
  // (Indexed, not destructured: no iterator protocol on the hot path.)
  const first = parsed[0];
  if (parsed[3] === 1) args = [decode(args[0]), decode(args[1])];
  pin(callId, first[0], first[1], first[2], first[3], args[0], instance, viaRef);
  return performOp('q', callId, parsed[1], parsed[2], args[1], instance, viaRef);
}

/**
 * The answer of a batch: `[instance token, 0, value]`, with `encodeRpc`'s encoding of the
 * value (`payload`) spliced in when it is JSON text (no second walk of the value).
 */
export function batchAnswer(payload) {
  const t = instanceToken();
  if (typeof payload !== 'string' || t === null) return null;
  const head = `[[${t[0]},${t[1]}],0,`;
  return payload.charCodeAt(0) === 1 ? `\x01${head}${payload.slice(1)}]` : `${head}${payload}]`;
}

/** Call `callId` is being answered by `promise`. */
export function openAnswer(callId, promise) {
  if (callId !== 0) answers.set(callId, { value: promise, settled: false, links: 0 });
}

/** Call `callId` was answered with `value`, whose encoding exported `exported` (ids). */
export function closeAnswer(callId, value, exported) {
  if (exported === null || exported.length === 0) {
    if (answers.size !== 0) answers.delete(callId);
    return;
  }
  let a = answers.get(callId);
  if (a === undefined) answers.set(callId, (a = { value, settled: true, links: 0 }));
  a.value = value;
  a.settled = true;
  for (const id of exported) {
    const e = table.get(id);
    if (e !== undefined) {
      (e.answers ??= []).push(callId);
      a.links++;
    }
  }
  if (a.links === 0) answers.delete(callId);
}

/** Call `callId` failed: nothing can be pipelined on it any more. */
export function dropAnswer(callId) {
  answers.delete(callId);
}

/** The error a pipelined operation gets when its answer was plain data (see above). */
function notRetained() {
  const e = new Error('The result of this call is not kept for pipelining.');
  e.pipelineAnswerGone = true;
  return e;
}

/** @param {unknown} e */
export function isNotRetained(e) {
  return e !== null && typeof e === 'object' && e.pipelineAnswerGone === true;
}

// ---- Operations on members ----------------------------------------------------------------

/** The method string of operation `op` ('c' call, 'g' get) on `path` of a base. */
export function opMethod(kind, key, path, op) {
  return OP_PREFIX + JSON.stringify([kind, key, path, op]);
}

/** workerd's text for a member the receiver does not have. */
export function noMethod(name) {
  return withCode(new TypeError(`The RPC receiver does not implement the method "${name}".`), 'MethodNotFound');
}

/** Whether `v` is a class instance whose prototype members RPC exposes. */
function isClassTarget(v) {
  return v instanceof RpcTarget || v instanceof DurableObject || v instanceof WorkerEntrypoint;
}

const HIDDEN_PROTOS = new Set([Object.prototype, RpcTarget.prototype, DurableObject.prototype, WorkerEntrypoint.prototype]);

/** What `member` returns for a member RPC does not reach (no object per lookup). */
const NOT_FOUND = Symbol('durable-facets.not-found');

/**
 * Member `name` of `obj` as RPC sees it: prototype methods and getters of class instances
 * (never their own fields), own properties of plain objects and arrays, members of stubs.
 * @returns {unknown} its value, or NOT_FOUND
 */
function member(obj, name, instance) {
  if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) return NOT_FOUND;
  if (instance && reservedOnInstance(name)) return NOT_FOUND;
  // The hosted instance (an object, or the entry point's handler) and class instances:
  // prototype members only. (Tested first: neither is ever a stub, whose test costs more.)
  if (instance || isClassTarget(obj)) {
    for (let p = Object.getPrototypeOf(obj); p && !HIDDEN_PROTOS.has(p); p = Object.getPrototypeOf(p)) {
      // (hasOwn first: a descriptor object is made only for the level that has it)
      if (!Object.hasOwn(p, name)) continue;
      if (name === 'constructor') return NOT_FOUND;
      const d = Object.getOwnPropertyDescriptor(p, name);
      return d.get !== undefined ? d.get.call(obj) : d.value;
    }
    return NOT_FOUND;
  }
  if (isStubValue(obj)) return obj[name];
  if (typeof obj === 'function') return NOT_FOUND;
  const proto = Object.getPrototypeOf(obj);
  if ((proto === Object.prototype || proto === null || Array.isArray(obj)) && Object.hasOwn(obj, name)) {
    return obj[name];
  }
  return NOT_FOUND;
}

/** Stubs (of objects, facets, references) are Proxies that name themselves. */
let isStubValue = () => false;

/** Installs the stub test (lib/stub.js, which imports this module). */
export function setStubTest(fn) {
  isStubValue = fn;
}

/**
 * Applies `op` to `path` of `base`: reads the member, or calls it with `args` (its `this`
 * is the object holding it). `instance` marks a Durable Object instance as base.
 */
export function applyOp(base, path, op, args, instance = false) {
  let holder;
  let v = base;
  for (let i = 0; i < path.length; i++) {
    const m = member(v, path[i], instance && i === 0);
    if (m === NOT_FOUND) throw noMethod(path[i]);
    holder = v;
    v = m;
  }
  if (op === 'g') return v;
  if (typeof v !== 'function') throw notAFunction(path);
  return Reflect.apply(v, holder, args);
}

/** workerd's text for calling a member that is not a function. */
export function notAFunction(path) {
  return withCode(new TypeError(`"${path.length > 0 ? path.join('.') : '(this)'}" is not a function.`), 'MethodNotFound');
}

/**
 * Carries out an operation method (OP_PREFIX …) on this thread: on the hosted `instance`,
 * an export, or an answer. Returns the result (maybe a promise). An export is reached only
 * `viaRef`, by a call through a reference (the hub marks those), so holding a stub of this
 * instance does not give access to what it handed to others.
 */
export function perform(method, args, instance, viaRef) {
  // Operations on the instance or an export repeat (a callback called again and again):
  // parsed once. Those on answers name a call id each time: parsed each time.
  const kind = method.charCodeAt(3);
  let o = kind === 105 /* i */ || kind === 101 /* e */ ? parsedOps.get(method) : undefined;
  if (o === undefined) {
    o = JSON.parse(method.slice(1));
    if (kind === 105 || kind === 101) {
      if (parsedOps.size >= 1024) parsedOps.clear();
      parsedOps.set(method, o);
    }
  }
  return performOp(o[0], o[1], o[2], o[3], args, instance, viaRef);
}

/** Parsed operation methods (see `perform`); treated as read-only. */
const parsedOps = new Map();

function performOp(kind, key, path, op, args, instance, viaRef) {
  switch (kind) {
    case 'i':
      if (instance === null || instance === undefined) throw noMethod(path[0] ?? 'call');
      return applyOp(instance, path, op, args, true);
    case 'e': {
      if (!viaRef) throw noMethod(path[0] ?? 'call');
      const e = table.get(key);
      if (e === undefined) throw disposedStub();
      return applyOp(e.value, path, op, args);
    }
    case 'a': {
      const a = answers.get(key);
      if (a === undefined) throw notRetained();
      // A known result is used at once: the operation runs in the order it was delivered.
      if (a.settled) return applyOp(a.value, path, op, args);
      return a.value.then((v) => applyOp(v, path, op, args));
    }
    case 'q': {
      const p = pinned.get(key);
      if (p === undefined) throw disposedStub();
      if (!p.settled) return p.value.then((v) => applyOp(v, path, op, args));
      if (p.failed) throw p.value;
      return applyOp(p.value, path, op, args);
    }
  }
  throw withCode(new TypeError(`Unknown RPC operation "${kind}".`), 'Internal');
}

/** An answer this thread gave that nobody read came back (see the hub's `bounce`). */
const UNREAD_ANSWER = '\x07';

/**
 * A call with id 0 arrived, never answered: a release (one transfer of an export is let
 * go), or an unread answer of this thread, whose references are let go (`decode` reads it).
 */
export function performRelease(method, payload, decode) {
  if (method.startsWith(RELEASE_PREFIX)) {
    if (method.charCodeAt(1) === 113 /* q */) for (const id of method.slice(2).split(',')) pinned.delete(Number(id));
    else releaseExport(Number(method.slice(1)));
  }
  else if (method === UNREAD_ANSWER) discardReferences(() => decode(payload));
}

// ---- Imports ------------------------------------------------------------------------------

/** References this thread's current instance received and has not let go. */
const imports = new Set();

const collected = new FinalizationRegistry((handle) => {
  if (handle.disposed) return;
  handle.disposed = true;
  disposeHandle(handle.rec);
});

/**
 * A received reference: `handles` stubs (dup() adds one) share it; the owner's count is
 * released once, when the last handle is disposed or the receiver stops.
 */
export function importRef(tid, instance, id) {
  const rec = { tid, instance, id, handles: 1, live: true };
  imports.add(rec);
  // The hub sends its release for this thread should the thread die holding it.
  native.refImported(tid, instance, id);
  return rec;
}

/**
 * A new handle of `rec` held by `stub`: returns its dispose function, which also runs when
 * the stub is garbage-collected undisposed.
 */
export function watch(stub, rec) {
  const handle = { rec, disposed: false };
  // No unregister token (V8 keeps a hash-table entry per token): a handle disposed by hand
  // is marked, and its finalization does nothing.
  collected.register(stub, handle);
  return () => {
    if (handle.disposed) return;
    handle.disposed = true;
    disposeHandle(rec);
  };
}

function disposeHandle(rec) {
  if (!rec.live) return;
  if (--rec.handles > 0) return;
  letGo(rec);
}

/**
 * Sends a release in order with this thread's calls (port.js installs it; `now` bypasses
 * it: the instance stopped, nothing it held back will be sent).
 */
let releaser = (send) => send();

/** Installs the release sender (lib/port.js, which imports this module). */
export function setReleaser(fn) {
  releaser = fn;
}

function letGo(rec, now = false) {
  if (!rec.live) return;
  rec.live = false;
  imports.delete(rec);
  const send = () => {
    try {
      native.refRelease(rec.tid, rec.instance, RELEASE_PREFIX + rec.id);
    } catch {}
  };
  if (now) send();
  else releaser(send);
}

/**
 * The caller let go of the first call of batch `callId`, answered by instance `instance` of
 * thread `tid` (see `pin`). Nothing happens when that instance has stopped.
 */
export function releasePinned(tid, instance, callId) {
  // Many go at once (a garbage collection finalizes many promises): one message per owner
  // at the end of the microtask. (Consecutive ones mostly share their owner: no key built.)
  let batch = lastUnpin;
  if (batch === null || batch.tid !== tid || batch.instance !== instance) {
    const key = `${tid}:${instance}`;
    batch = unpinning.get(key);
    if (batch === undefined) {
      unpinning.set(key, (batch = { tid, instance, ids: [] }));
      if (unpinning.size === 1) queueMicrotask(sendUnpins);
    }
    lastUnpin = batch;
  }
  batch.ids.push(callId);
}

/** The owner's batch `releasePinned` added to last (null once sent). */
let lastUnpin = null;

/** Pinned answers to let go, by owner (see `releasePinned`). */
const unpinning = new Map();

function sendUnpins() {
  lastUnpin = null;
  for (const { tid, instance, ids } of unpinning.values()) {
    releaser(() => {
      try {
        native.refRelease(tid, instance, RELEASE_PREFIX + 'q' + ids.join(','));
      } catch {}
    });
  }
  unpinning.clear();
}

/**
 * The instance on this thread stopped: its imports are released, its exports and answers
 * forgotten (the hub already refuses calls to them).
 */
export function resetRefs() {
  for (const rec of [...imports]) letGo(rec, true);
  table.clear();
  idOf.clear();
  answers.clear();
  pinned.clear();
  token = null;
}

/**
 * Runs `decode` (of a payload nobody will use) and lets go of every reference it made.
 * Never throws.
 */
export function discardReferences(decode) {
  const before = new Set(imports);
  try {
    decode();
  } catch {}
  for (const rec of [...imports]) if (!before.has(rec)) letGo(rec);
}

/**
 * Whether others hold references to what this thread's instance exported. Pinned first
 * results of pipelined pairs do not count: they are let go only when the caller's garbage
 * collector finds their promises (or never, if the caller's thread dies), so counting them
 * would keep an idle instance running for as long. An evicted instance's pinned results are
 * gone: using one then fails as a reference to a stopped instance does.
 */
export function exporting() {
  return table.size > 0;
}

/** For tests and diagnostics: what this thread holds. */
export function refCounts() {
  return { exports: table.size, imports: imports.size, answers: answers.size, pinned: pinned.size };
}
