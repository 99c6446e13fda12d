// `durable-facets/testing` (SPEC §7): the equivalents of @cloudflare/vitest-pool-workers'
// helpers, for node:test, vitest or any other runner. They reach an object through internal
// calls (lib/worker/testing.js) that no stub sends for a user's method name.
//
// Stubs: those of Durable Objects (`namespace.get(id)`, `getByName(name)`). A facet's stub
// is only meaningful inside its parent's thread; to reach a facet, run code in its parent:
// `runInDurableObject(parent, (instance, ctx) => ctx.facets.get("x", …).method())`.
import { native } from './native.js';
import * as port from './port.js';
import { REF } from './codec.js';
import { withCode } from './error-codes.js';
import { namespaceTarget } from './namespace.js';
import { alarmSchedulerOf } from './runtime.js';
import { RUN_METHOD, EVICT_METHOD } from './worker/testing.js';

function describe(v) {
  if (v === null) return 'null';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') return v.constructor?.name ? `a ${v.constructor.name}` : 'an object';
  return typeof v;
}

/** The object a Durable Object stub addresses: `{ rt, ns, hex, name }`. */
function objectOf(stub, helper) {
  let ref;
  try {
    ref = stub?.[REF];
  } catch {}
  const value = ref?.value;
  if (Array.isArray(value) && value[0] === 'n') {
    const [, rt, ns, hex, name] = value;
    return { rt, ns, hex, name };
  }
  if (ref !== undefined) {
    throw withCode(
      new TypeError(
        `${helper}() takes the stub of a Durable Object (namespace.get(id) or namespace.getByName(name)), ` +
          'not a facet or RPC stub. To reach a facet, run code in its parent: ' +
          'runInDurableObject(parent, (instance, ctx) => ctx.facets.get(name, …).method()).',
      ),
      'InvalidArgument',
    );
  }
  throw withCode(new TypeError(`${helper}() requires a Durable Object stub, got ${describe(stub)}.`), 'InvalidArgument');
}

/** The source text of a callback, refused early when it cannot travel as source. */
function callbackSource(fn) {
  if (typeof fn !== 'function') {
    throw withCode(new TypeError(`runInDurableObject() requires a callback function, got ${describe(fn)}.`), 'InvalidArgument');
  }
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw withCode(
      new TypeError('runInDurableObject(): the callback travels as source text, so it cannot be a bound or built-in function.'),
      'InvalidArgument',
    );
  }
  if (/^class\b/.test(source)) {
    throw withCode(new TypeError('runInDurableObject(): the callback must be a function, not a class.'), 'InvalidArgument');
  }
  return source;
}

/**
 * Runs `fn(instance, ctx, ...args)` inside the object's thread, as one of its events (after
 * `blockConcurrencyWhile()` and with its storage's implicit transaction, as an RPC call), and
 * resolves its result. `fn` travels as source: it cannot use variables of the file it is
 * written in (a ReferenceError says so); `args` are cloned (structured clone, stubs and
 * RpcTargets as over RPC), and so is the result.
 * @template I, R
 * @param {object} stub a Durable Object stub
 * @param {(instance: I, ctx: import('./state.js').DurableObjectState, ...args: any[]) => R | Promise<R>} fn
 * @param {...unknown} args
 * @returns {Promise<Awaited<R>>}
 */
export function runInDurableObject(stub, fn, ...args) {
  try {
    const { rt, ns, hex, name } = objectOf(stub, 'runInDurableObject');
    return port.call(rt, ns, hex, name, RUN_METHOD, [callbackSource(fn), ...args]);
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Runs the object's alarm now, if one is set: resolves `true` once `alarm()` ran (the alarm
 * is then deleted, unless the handler set another), `false` when none is set. When the
 * handler throws, this rejects with its error and the alarm is retried as a normal alarm
 * (exponential backoff from `alarmRetryBaseMs`, 6 retries). Must be called on the thread
 * that created the Runtime.
 * @param {object} stub a Durable Object stub
 * @returns {Promise<boolean>}
 */
export async function runDurableObjectAlarm(stub) {
  const { rt, ns, hex, name } = objectOf(stub, 'runDurableObjectAlarm');
  const alarms = alarmSchedulerOf(rt);
  if (alarms === undefined) {
    // The stub's runtime is disposed (this throws so), or belongs to another thread.
    native.inspectObject(rt, ns, hex);
    throw withCode(new Error('runDurableObjectAlarm() must be called on the thread that created the Runtime.'), 'InvalidState');
  }
  return alarms.runNow(ns, hex, name ?? null);
}

/**
 * The ids of the namespace's objects that have stored data (`ctx.storage` written), sorted
 * by their hex string.
 * @param {import('./namespace.js').DurableObjectNamespace} namespace
 * @returns {Promise<import('./ids.js').DurableObjectId[]>}
 */
export async function listDurableObjectIds(namespace) {
  const target = namespaceTarget(namespace);
  if (target === null) {
    throw withCode(
      new TypeError(`listDurableObjectIds() requires a Durable Object namespace (rt.env.BINDING), got ${describe(namespace)}.`),
      'InvalidArgument',
    );
  }
  return native.listIds(target.rt, target.ns).map((hex) => namespace.idFromString(hex));
}

/**
 * Stops the object's instance as idle eviction would: its uncommitted writes commit, its
 * storage and its hibernatable WebSockets are kept, and the next call starts a new instance
 * (its constructor runs again). Waits for calls, `waitUntil()` and `blockConcurrencyWhile()`
 * in flight to finish first; rejects (ERR_DO_INVALID_STATE) when the instance holds what
 * keeps it running for good (accepted non-hibernatable WebSockets, references other threads
 * hold). Resolves at once when no instance is running.
 * @param {object} stub a Durable Object stub
 * @returns {Promise<void>}
 */
export async function evictDurableObject(stub) {
  const { rt, ns, hex, name } = objectOf(stub, 'evictDurableObject');
  const [root] = native.inspectObject(rt, ns, hex);
  if (root === undefined || !root[3]) return;
  await port.call(rt, ns, hex, name, EVICT_METHOD, []);
}
