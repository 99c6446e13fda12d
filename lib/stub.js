// Stubs: property access yields RPC members; calls through one stub keep their order.
//
// Every stub — of a namespace object, a facet, or a reference (a function or RpcTarget
// another thread exported, SPEC §2.2) — is a route `send(method, payload, ticket)` plus a
// base the operations address: the instance itself, an export, or the answer of an earlier
// call (promise pipelining). `stub.x` is a member handle: calling it calls `x`, awaiting it
// reads `x`, and `stub.x.y` goes one level deeper. A call returns an RpcPromise: a promise of
// the result that is also a stub of it, so `stub.a().b()` sends `b` without waiting for `a`.
import { STUB, REF, encode, encodeRpcArgs, decode, decodeError, setStubFactory } from './codec.js';
import { fetchOver, orderedSender } from './fetch-over.js';
import { DurableObjectId } from './ids.js';
import { withCode } from './error-codes.js';
import * as port from './port.js';
import * as refs from './refs.js';
import { setTimeout } from './timers.js';

/** The class of namespace stubs (its name shows in DataCloneError messages). */
export class DurableObjectStub {}

/** Marks member handles and RpcPromises (also Proxies): what they are, for refs.js. */
const HANDLE = Symbol('durable-facets.handle');

/** Whether `v` is one of our Proxies (a stub, a member handle or an RpcPromise). */
function isStub(v) {
  try {
    return v[STUB] !== undefined;
  } catch {
    return false;
  }
}
refs.setStubTest(isStub);

/** The payload of a call without arguments. */
const NO_ARGS = encode([]);
/** The payload of a batch of two calls without arguments (see Call.payload). */
const NO_ARGS_PAIR = `[${NO_ARGS},${NO_ARGS}]`;

/**
 * The base of operations on the instance itself. A constant base caches the method strings
 * of its operations (`methods`, see `opString`).
 */
const INSTANCE = { kind: 'i', key: 0, call: null, methods: null };

/** A base addressing the answer of `call` (promise pipelining). */
function answerBase(call) {
  return { kind: 'a', key: 0, call, methods: null };
}

/**
 * One operation sent through a route. It waits in the thread's outbox until the end of the
 * microtask (port.js): an operation pipelined on it meanwhile rides in the same message (a
 * batch), and then its own result stays with the callee (pinned, addressed as 'q') unless
 * somebody asks for it — so `stub.a().b()` costs one message each way.
 */
class Call {
  constructor(route, base, path, op, payload) {
    this.route = route;
    this.base = base;
    this.path = path;
    this.op = op;
    this.encoded = payload;
    // The call is its own ticket (port.js): the call id once sent, or why it was not.
    this.id = undefined;
    this.error = undefined;
    this.defer = true;
    /** The port's promise: of the result, or (batched) of the batch's reply. */
    this.promise = null;
    /** The operation riding in this call's message: `{path, op, payload}`. */
    this.rider = null;
    /** A rider's own Call (it shares the batch's ticket; nothing can ride on it). */
    this.carried = false;
    /** Somebody asked for the result (then/catch/finally). */
    this.used = false;
    /** An operation on its result was sent on its own (a later one must not overtake it). */
    this.followed = false;
    /** Batched: the promise of the pinned result, fetched on demand. */
    this.fetched = null;
    /** Batched: where its result is pinned, and whether it was let go (see `ride`). */
    this.pin = null;
    /** Batched: the cohort it keeps alive (see `joinCohort`). */
    this.cohort = null;
    /** The ticket whose id names this call's answer (a rider's: its batch's). */
    this.ticket = this;
    // Set by port.js when the call is deferred: how to send it, and how to settle it.
    this.start = null;
    this.resolve = null;
    this.reject = null;
  }

  /** The method string, read when the call goes out (an answer's call id is known then). */
  method() {
    const { base, path, op } = this;
    if (this.rider !== null) {
      // [first operation, the rider's path and op, whether the payload nests two encodings]
      const r = this.rider;
      // `stub.a().b()` (the common shape): the same string every time, made once.
      if (base.kind === 'i' && path.length === 1 && r.path.length === 1) {
        // Looked up by the two names (no key string built per call), then by ops and nesting.
        const n = nested(this) ? 1 : 0;
        let bySecond = batchMethods.get(path[0]);
        if (bySecond === undefined) {
          if (batchMethods.size >= 256) batchMethods.clear();
          batchMethods.set(path[0], (bySecond = new Map()));
        }
        let forms = bySecond.get(r.path[0]);
        if (forms === undefined) {
          if (bySecond.size >= 256) bySecond.clear();
          bySecond.set(r.path[0], (forms = [null, null, null, null, null, null, null, null]));
        }
        const i = (op === 'c' ? 0 : 4) + (r.op === 'c' ? 0 : 2) + n;
        return (forms[i] ??= refs.BATCH_PREFIX + JSON.stringify([[base.kind, base.key, path, op], r.path, r.op, n]));
      }
      const first = base.kind === 'a' ? [base.call.rider !== null ? 'q' : 'a', answerId(base.call.ticket), path, op] : [base.kind, base.key, path, op];
      return refs.BATCH_PREFIX + JSON.stringify([first, r.path, r.op, nested(this) ? 1 : 0]);
    }
    // A member of the instance: a plain name (the hot path). A name starting with a control
    // character goes as an operation: the plain method strings that start with one are the
    // runtime's own (alarms, socket events, testing helpers).
    if (base.kind === 'i' && op === 'c' && path.length === 1 && path[0].charCodeAt(0) >= 0x20) return path[0];
    return opString(base, path, op);
  }

  payload() {
    if (this.rider === null) return this.encoded;
    const a = this.encoded;
    const b = this.rider.payload;
    // `stub.a().b()`: no arguments either side.
    if (a === NO_ARGS && b === NO_ARGS) return NO_ARGS_PAIR;
    if (nested(this)) return encode([a, b]);
    // Two JSON texts (the hot path): one array of both argument lists, decoded as one.
    const refsA = a.charCodeAt(0) === 1;
    const refsB = b.charCodeAt(0) === 1;
    return `${refsA || refsB ? '\x01' : ''}[${refsA ? a.slice(1) : a},${refsB ? b.slice(1) : b}]`;
  }
}

/** Batch method strings of instance members: by the two names, then ops (see Call.method). */
const batchMethods = new Map();

/** Whether a batch's two argument encodings travel nested (either is V8 bytes). */
function nested(call) {
  return typeof call.encoded !== 'string' || typeof call.rider.payload !== 'string';
}

function opString(base, path, op) {
  if (base.kind !== 'a') {
    if (path.length > 1) return refs.opMethod(base.kind, base.key, path, op);
    // A call through a function stub or a member of a reference (the hot path of callbacks):
    // the same string every time, made once per base.
    // (op is one character; '.' keeps `fn()` apart from `fn['']()`.)
    const key = path.length === 0 ? op : op + '.' + path[0];
    const methods = (base.methods ??= new Map());
    let m = methods.get(key);
    if (m === undefined) {
      m = refs.opMethod(base.kind, base.key, path, op);
      if (methods.size >= 1024) methods.clear();
      methods.set(key, m);
    }
    return m;
  }
  const call = base.call;
  // Operations on a batched call's result address it where it is pinned.
  return refs.opMethod(call.rider !== null ? 'q' : 'a', answerId(call.ticket), path, op);
}

function answerId(ticket) {
  if (ticket.id === undefined) throw ticket.error ?? withCode(new Error('The pipelined call was not sent.'), 'Internal');
  return ticket.id;
}

/** The promise of `call`'s result (of a batched call: fetched from where it is pinned). */
function resultOf(call) {
  if (call.rider === null) return call.promise;
  call.fetched ??= promiseOf(operate(call.route, answerBase(call), [], 'g', NO_ARGS_LIST));
  return call.fetched;
}
const NO_ARGS_LIST = [];

/** The promise behind an RpcPromise. */
function promiseOf(rpc) {
  return rpc[PROMISE];
}
const PROMISE = Symbol('durable-facets.promise');

/**
 * Sends operation `op` on `path` of `base` through `route`; the result is an RpcPromise.
 * An operation on an answer that the callee did not keep (plain data) is applied to the
 * caller's copy once it arrives.
 */
function operate(route, base, path, op, args) {
  let payload;
  let exported = null;
  try {
    if (op !== 'c' || args.length === 0) payload = NO_ARGS;
    else {
      exported = refs.takeList();
      payload = encodeRpcArgs(args, exported);
      if (exported.length === 0) exported = refs.giveList(exported);
    }
  } catch (e) {
    return failedPromise(e);
  }
  if (base.kind === 'a') {
    // Riding, the batch's promise is handled by the rider's.
    if (canRide(base.call)) return ride(base.call, path, op, payload, exported);
    if (!base.call.followed) {
      base.call.followed = true;
      // Pipelined on, the promise may never be awaited itself: its failure reaches the
      // pipelined calls, and is not reported as unhandled.
      base.call.promise.catch(ignore);
    }
  }
  const call = new Call(route, base, path, op, payload);
  const ticket = call;
  let p = route.send(call, null, call);
  if (exported !== null && exported.length > 0) {
    // Never sent (the owner stopped, the runtime was disposed): nobody will release them.
    p.catch(() => {
      if (ticket.error !== undefined) refs.unexport(exported);
    });
  }
  if (base.kind === 'a' && base.call.rider === null) {
    const first = base.call;
    p = p.catch((e) => {
      if (!refs.isNotRetained(e)) throw e;
      return resultOf(first).then((v) => applyLocal(v, path, op, args));
    });
  }
  call.promise = p;
  return rpcPromise(call);
}

/**
 * Whether an operation on `call`'s result may ride in its message (see Call). Not when
 * `call` itself operates on an answer: that answer may be plain data the callee did not
 * keep, and then `call` is applied by the caller to its copy (see `operate`).
 */
function canRide(call) {
  if (call.carried || call.rider !== null || call.used || call.followed || call.base.kind === 'a') return false;
  return call.ticket.id === undefined && port.lastDeferred(call.ticket);
}

/**
 * Puts an operation on the result of `first` into `first`'s message. The callee answers
 * `[its instance token, status, result or error]` of the rider; `first`'s result stays
 * pinned there until `first` is let go: disposed, or garbage-collected together with the
 * rest of its cohort (see `joinCohort`).
 */
function ride(first, path, op, payload, exported) {
  first.rider = { path, op, payload };
  const batch = first.promise;
  const pin = { tid: 0, instance: 0, id: 0, owner: false, gone: false };
  first.pin = pin;
  joinCohort(first, pin);
  const rider = new Call(first.route, null, path, op, payload);
  rider.ticket = first.ticket;
  rider.carried = true;
  const ticket = first.ticket;
  // The batch's own promise is handled here: its failure reaches the rider's promise.
  rider.promise = batch.then(
    (r) => {
      shed(ticket);
      rider.ticket = answeredTicket(ticket);
      if (r[0] !== null) {
        pin.tid = r[0][0];
        pin.instance = r[0][1];
        pin.id = ticket.id;
        pin.owner = true;
        if (pin.gone) refs.releasePinned(pin.tid, pin.instance, pin.id);
      }
      // [owner token, status, result]: 0 the result, 1 an error, 3 the result's V8 bytes.
      if (r[1] === 3) return decode(r[2]);
      if (r[1] !== 0) throw decodeError(r[2], false);
      return r[2];
    },
    (e) => {
      shed(ticket);
      rider.ticket = answeredTicket(ticket);
      // Not sent, or the callee's instance ended: nothing is pinned.
      pin.gone = true;
      if (exported !== null && exported.length > 0 && ticket.error !== undefined) refs.unexport(exported);
      throw e;
    },
  );
  return rpcPromise(rider);
}

/**
 * A batch was answered: its first call keeps only what later operations on its result need
 * (route, call id, pin), so a caller that keeps the promise keeps little else alive.
 */
function shed(first) {
  first.start = null;
  first.resolve = null;
  first.reject = null;
  first.encoded = null;
  first.rider = RIDDEN;
  first.promise = SETTLED;
}
/**
 * What a rider keeps of its batch's ticket once the batch was answered (the call id, or why
 * it was not sent): not the first call itself, which would keep the first's cohort (and so
 * its pinned results) alive for as long as the caller holds the rider's promise.
 */
function answeredTicket(ticket) {
  return { id: ticket.id, error: ticket.error };
}

/** What `rider` is once a batch was answered (only `!== null` is asked then). */
const RIDDEN = Object.freeze({ path: null, op: null, payload: null });
const SETTLED = Promise.resolve();

/** Lets go of a batched call's pinned result (disposed, or its RpcPromise was collected). */
function unpin(pin) {
  if (pin.gone) return;
  pin.gone = true;
  if (pin.owner) refs.releasePinned(pin.tid, pin.instance, pin.id);
}

// ---- Cohorts: when a pinned first result is let go by the garbage collector ---------------
//
// The rule: a pinned result is let go once its first call's RpcPromise is disposed, or once
// it *and every other first call of its cohort* are unreachable. A cohort gathers the
// batches a thread makes within COHORT_MS (at most COHORT_SIZE of them); each member's call
// references the cohort, and the cohort is what the FinalizationRegistry watches. So a result
// is never let go while its promise can still be used (SPEC §2.2: `await first` and
// `first.x()` work for as long as the caller holds `first`), and at worst a callee keeps up to
// COHORT_SIZE - 1 results longer than needed, until the rest of the cohort is collected.
//
// Why not one registration per pair (as before): V8 keeps a registered target alive through
// young-generation collections, so every first call (and what it references) was copied and
// promoted to the old generation, and each registration costs a weak cell: measured, ~0.9 µs
// of the main thread's ~1.5 µs of JS per pair beyond a plain call, most of it in the garbage
// collector. A cohort is one small object registered once; its members die young.
// (workerd lets go of a pipelined promise's answer when the JS promise is garbage-collected;
// this differs only in waiting for the cohort.)

/**
 * Batches per cohort, at most. Small: a caller that holds one first call's promise keeps the
 * whole cohort's results pinned on the callee (a review measured 64× the results held with
 * 64); 8 keeps most of the saving (one registration per 8 pairs) at 8× at worst.
 */
const COHORT_SIZE = 8;
/** A cohort takes new members for this long (ms) after its first. */
const COHORT_MS = 2;

/** The cohort new batches join (null: the next batch starts one). */
let cohort = null;

/** Makes `first` (with `pin`) a member of the current cohort. */
function joinCohort(first, pin) {
  if (cohort === null || cohort.pins.length >= COHORT_SIZE) {
    // The registry holds the pins, never the cohort itself (or it would never be collected).
    cohort = { pins: [] };
    pinned.register(cohort, cohort.pins);
    // Closed by time too: otherwise the last cohort stays referenced from here, and its
    // results are never let go while no new batch is made.
    setTimeout(closeCohort, COHORT_MS, cohort).unref();
  }
  cohort.pins.push(pin);
  first.cohort = cohort;
}

function closeCohort(c) {
  if (cohort === c) cohort = null;
}

/** Cohorts whose pinned results are let go once all their first calls are collected. */
const pinned = new FinalizationRegistry((pins) => {
  for (const pin of pins) unpin(pin);
});

function ignore() {}

/** An RpcPromise of an operation that failed before it was sent. */
function failedPromise(e) {
  const call = new Call(null, null, null, null, null);
  call.carried = true;
  call.promise = Promise.reject(e);
  return rpcPromise(call);
}

/** An operation on a value the caller already holds (a copy, or a stub). */
function applyLocal(v, path, op, args) {
  let holder;
  for (const name of path) {
    if (v === null || v === undefined) throw refs.noMethod(name);
    holder = v;
    v = isStub(v) ? v[name] : Object.hasOwn(Object(v), name) ? v[name] : undefined;
  }
  if (op === 'g') return v;
  if (typeof v !== 'function') throw refs.notAFunction(path);
  return Reflect.apply(v, holder, args);
}

/**
 * Member handles: Proxies over a function that carries `route`, `base` and `path` (one
 * shared handler: nothing is allocated per handle but the target and the Proxy).
 */
const memberHandler = {
  apply(t, _this, args) {
    return operate(t[ROUTE], t[BASE], t[PATH], 'c', args);
  },
  get(t, prop) {
    switch (prop) {
      case 'then':
      case 'catch':
      case 'finally': {
        // Each await reads afresh (a getter's value may have changed since).
        const p = operate(t[ROUTE], t[BASE], t[PATH], 'g', NO_ARGS_LIST);
        return p[prop].bind(p);
      }
      case STUB:
        return 'RpcStub';
      case HANDLE:
        return true;
      case REF:
        return FUNCTION_REF;
    }
    if (typeof prop === 'symbol') return undefined;
    return memberHandle(t[ROUTE], t[BASE], [...t[PATH], prop]);
  },
};
const ROUTE = Symbol('route');
const BASE = Symbol('base');
const PATH = Symbol('path');
const FUNCTION_REF = Object.freeze({ kind: 'f' });

/** A handle on member `path` of `base`: call it, await it, or go deeper. */
function memberHandle(route, base, path) {
  const target = function member() {};
  target[ROUTE] = route;
  target[BASE] = base;
  target[PATH] = path;
  return new Proxy(target, memberHandler);
}

// An RpcPromise is a Proxy over its Call, whose prototype chain reaches Promise.prototype:
// `instanceof Promise` holds, and code that tells functions from promises by `typeof` sees
// an object. Its own fields stay hidden.
Object.setPrototypeOf(Call.prototype, Promise.prototype);

const rpcPromiseHandler = {
  ownKeys() {
    return [];
  },
  getOwnPropertyDescriptor() {
    return undefined;
  },
  has(_t, prop) {
    return prop in Promise.prototype;
  },
  get(call, prop) {
    switch (prop) {
      case 'then':
      case 'catch':
      case 'finally': {
        // Asked for: whatever waits in the outbox goes now (nothing more can ride on it).
        call.used = true;
        port.flushCalls();
        const p = resultOf(call);
        return p[prop].bind(p);
      }
      case STUB:
        return 'RpcPromise';
      case HANDLE:
        return true;
      case PROMISE:
        call.used = true;
        return resultOf(call);
      case Symbol.dispose:
        return () => {
          if (call.pin !== null) return unpin(call.pin);
          call.promise.then(
            (v) => v?.[Symbol.dispose]?.(),
            () => {},
          );
        };
    }
    if (typeof prop === 'symbol' || call.route === null) return undefined;
    // (Pipelined on, its failure is not reported as unhandled: see `operate`.)
    return memberHandle(call.route, answerBase(call), [prop]);
  },
};

/** The promise of a call's result, which is also a stub of that result (pipelining). */
function rpcPromise(call) {
  return new Proxy(call, rpcPromiseHandler);
}

/**
 * Member access on an instance stub (namespace or facet): one handle per name, made once.
 * @param {{send: (method: string | (() => string), payload: string | Buffer, ticket?: object) => Promise<unknown>}} route
 */
export function memberTable(route) {
  const members = new Map();
  const base = INSTANCE;
  return (prop) => {
    let f = members.get(prop);
    if (f === undefined) {
      f = memberHandle(route, base, [prop]);
      members.set(prop, f);
    }
    return f;
  };
}

export { fetchOver };

/**
 * @param {{rt: number, ns: number}} target the namespace the object lives in
 * @param {import('./ids.js').DurableObjectId} id
 */
export function makeStub(target, id) {
  const { rt, ns } = target;
  const hex = id.toString();
  const name = id.name;
  // Calls keep E-order around a fetch() that gathers the first bytes of its body.
  const send = orderedSender((method, payload, ticket) => port.send(rt, ns, hex, name, method, payload, ticket));
  const member = memberTable({ send });
  const fetch = (input, init) => fetchOver(send, input, init);

  // Namespace stubs travel by value: the receiver addresses the same object.
  const ref = { value: ['n', rt, ns, hex, name ?? null] };
  const stub = new Proxy(new DurableObjectStub(), {
    get(_t, prop) {
      switch (prop) {
        case 'id':
          return id;
        case 'name':
          return name;
        case 'then':
          return undefined;
        case 'fetch':
          return fetch;
        case 'dup':
          return () => stub;
        case STUB:
          return 'DurableObjectStub';
        case REF:
          return ref;
      }
      if (prop === Symbol.dispose) return () => {};
      if (typeof prop === 'symbol') return undefined;
      return member(prop);
    },
    has(_t, prop) {
      return prop === 'id' || prop === 'name' || prop === 'fetch' || prop === 'dup';
    },
    set() {
      return false;
    },
  });
  return stub;
}

/** The class of reference stubs of RpcTargets (its name shows in messages). */
export class RpcStub {}

/**
 * The stub of a received reference (`kind` 'f': a function, callable; 't': an RpcTarget).
 * `dup()` gives another handle of it; the owner's count is released with the last handle.
 */
function makeRefStub(rec, kind) {
  const route = {
    send(method, payload, ticket) {
      if (!rec.live) return Promise.reject(refs.disposedStub());
      return port.sendRef(rec.tid, rec.instance, method, payload, ticket);
    },
  };
  return refHandle(rec, kind, route);
}

function refHandle(rec, kind, route) {
  const base = { kind: 'e', key: rec.id, call: null, methods: null };
  let disposed = false;
  let release = null;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    release();
  };
  const guarded = {
    /** Member handles and RpcPromises hold the route: it holds the stub, so the stub is
     * not collected (and its reference let go) while anything made from it is reachable. */
    stub: null,
    send(method, payload, ticket) {
      if (disposed) return Promise.reject(refs.disposedStub());
      return route.send(method, payload, ticket);
    },
  };
  const members = new Map();
  const stub = new Proxy(kind === 'f' ? function RpcStub() {} : new RpcStub(), {
    apply(_t, _this, args) {
      return operate(guarded, base, [], 'c', args);
    },
    get(_t, prop) {
      switch (prop) {
        case 'then':
          return undefined;
        case 'dup':
          return () => {
            if (!rec.live || disposed) throw refs.disposedStub();
            rec.handles++;
            return refHandle(rec, kind, route);
          };
        case STUB:
          return 'RpcStub';
        case REF:
          // Handed on, the receiver gets a reference of its own: a dup of this handle,
          // let go when the receiver lets go (not when this handle is disposed).
          return { kind, dup: () => stub.dup() };
      }
      if (prop === Symbol.dispose) return dispose;
      if (typeof prop === 'symbol') return undefined;
      let m = members.get(prop);
      if (m === undefined) {
        m = memberHandle(guarded, base, [prop]);
        members.set(prop, m);
      }
      return m;
    },
    set() {
      return false;
    },
  });
  // The registry must not hold the stub: `release` closes over `rec` only.
  release = refs.watch(stub, rec);
  guarded.stub = stub;
  return stub;
}

/**
 * Turns a decoded address into a stub (see codec.js RefSlot): a namespace stub by value, or
 * a reference to an export of another thread.
 */
setStubFactory((desc) => {
  const kind = desc[0];
  if (kind === 'n') {
    const [, rt, ns, hex, name] = desc;
    return makeStub({ rt, ns }, new DurableObjectId(hex, name ?? undefined, `${rt}:${ns}`));
  }
  const [, tid, instance, id] = desc;
  return makeRefStub(refs.importRef(tid, instance, id), kind);
});
