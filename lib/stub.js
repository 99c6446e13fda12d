// Stubs: property access yields RPC members; calls through one stub keep their order.
//
// Every stub — of a namespace object, a facet, or a reference (a function or RpcTarget
// another thread exported, SPEC §2.2) — is a route `send(method, payload, ticket)` plus a
// base the operations address: the instance itself, an export, or the answer of an earlier
// call (promise pipelining). `stub.x` is a member handle: calling it calls `x`, awaiting it
// reads `x`, and `stub.x.y` goes one level deeper. A call returns an RpcPromise: a promise of
// the result that is also a stub of it, so `stub.a().b()` sends `b` without waiting for `a`.
import { STUB, REF, encode, encodeRpcArgs, setStubFactory } from './codec.js';
import { fetchOver, orderedSender } from './fetch-over.js';
import { DurableObjectId } from './ids.js';
import { withCode } from './error-codes.js';
import * as port from './port.js';
import * as refs from './refs.js';

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

/**
 * The method string of an operation: a plain name for a call of a member of the instance
 * (the hot path), otherwise the operation's encoding. `base` is `['i', 0]`, `['e', id]` or
 * `['a', ticket]` (the answer's call id is read when the call is sent: see port.js).
 */
function methodFor(base, path, op) {
  // A name starting with a control character goes as an operation: the plain method strings
  // that start with one are the runtime's own (alarms, socket events, testing helpers).
  if (base[0] === 'i' && op === 'c' && path.length === 1 && path[0].charCodeAt(0) >= 0x20) return path[0];
  if (base[0] === 'a') return () => refs.opMethod('a', answerId(base[1]), path, op);
  return refs.opMethod(base[0], base[1], path, op);
}

function answerId(ticket) {
  if (ticket.id === undefined) throw ticket.error ?? withCode(new Error('The pipelined call was not sent.'), 'Internal');
  return ticket.id;
}

/**
 * Sends operation `op` on `path` of `base` through `send`; the result is an RpcPromise.
 * An operation on an answer that the callee did not keep (plain data) is applied to the
 * caller's copy once it arrives (`first`: the promise of that answer).
 */
function operate(route, base, path, op, args) {
  let payload;
  const exported = [];
  try {
    payload = op === 'c' ? encodeRpcArgs(args, exported) : NO_ARGS;
  } catch (e) {
    return rpcPromise(route, Promise.reject(e), null);
  }
  const ticket = {};
  let p = route.send(methodFor(base, path, op), payload, ticket);
  if (exported.length > 0) {
    // Never sent (the owner stopped, the runtime was disposed): nobody will release them.
    p.catch(() => {
      if (ticket.error !== undefined) refs.unexport(exported);
    });
  }
  if (base[0] === 'a') {
    const first = base[2];
    p = p.catch((e) => {
      if (!refs.isNotRetained(e)) throw e;
      return first.then((v) => applyLocal(v, path, op, args));
    });
  }
  return rpcPromise(route, p, ticket);
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


/** A handle on member `path` of `base`: call it, await it, or go deeper. */
function memberHandle(route, base, path) {
  // Each await reads afresh (a getter's value may have changed since).
  const value = () => operate(route, base, path, 'g', []);
  return new Proxy(function member() {}, {
    apply(_t, _this, args) {
      return operate(route, base, path, 'c', args);
    },
    get(_t, prop) {
      switch (prop) {
        case 'then':
        case 'catch':
        case 'finally': {
          const p = value();
          return p[prop].bind(p);
        }
        case STUB:
          return 'RpcStub';
        case HANDLE:
          return true;
        case REF:
          return { kind: 'f' };
      }
      if (typeof prop === 'symbol') return undefined;
      return memberHandle(route, base, [...path, prop]);
    },
  });
}

/**
 * The promise of a call's result, which is also a stub of that result (pipelining).
 * @param {{send: Function}} route
 * @param {Promise<unknown>} promise
 * @param {object | null} ticket filled with the call's id when it is sent
 */
function rpcPromise(route, promise, ticket) {
  const base = ticket === null ? null : ['a', ticket, promise];
  // Not callable (code that tells functions from promises by `typeof` sees a promise), and
  // `instanceof Promise` holds.
  return new Proxy(promise, {
    get(_t, prop) {
      switch (prop) {
        case 'then':
        case 'catch':
        case 'finally':
          return promise[prop].bind(promise);
        case STUB:
          return 'RpcPromise';
        case HANDLE:
          return true;
        case Symbol.dispose:
          return () => {
            promise.then(
              (v) => v?.[Symbol.dispose]?.(),
              () => {},
            );
          };
      }
      if (typeof prop === 'symbol' || base === null) return undefined;
      // Pipelined on, the promise may never be awaited itself: its failure reaches the
      // pipelined calls, and is not reported as unhandled.
      promise.catch(() => {});
      return memberHandle(route, base, [prop]);
    },
  });
}

/**
 * Member access on an instance stub (namespace or facet): one handle per name, made once.
 * @param {{send: (method: string | (() => string), payload: string | Buffer, ticket?: object) => Promise<unknown>}} route
 */
export function memberTable(route) {
  const members = new Map();
  const base = ['i', 0];
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
  const base = ['e', rec.id];
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
