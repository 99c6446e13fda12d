// Typings of `durable-facets/testing` (lib/testing.js, SPEC §7): the equivalents of
// @cloudflare/vitest-pool-workers' helpers, for node:test, vitest or any other runner.
import type {
  DurableObjectBranded,
  DurableObjectId,
  DurableObjectNamespace,
  DurableObjectState,
  DurableObjectStub,
} from './index.js';

/**
 * Runs `fn(instance, ctx, ...args)` inside the object's thread, as one of its events, and
 * resolves its result. `fn` travels as source text: it cannot use variables or imports of the
 * file it is written in (a `ReferenceError` with code `ERR_DO_INVALID_ARGUMENT` says so) —
 * pass values as `args` (cloned as RPC arguments are) and import modules inside it with
 * `await import(…)` (absolute specifiers). The result is cloned as an RPC result.
 *
 * Takes the stub of a Durable Object (`namespace.get(id)`, `getByName(name)`); to reach a
 * facet, run code in its parent and use `ctx.facets.get(…)` there.
 * @example
 * const count = await runInDurableObject(stub, async (instance, ctx) => ctx.storage.get("count"));
 */
export declare function runInDurableObject<
  T extends DurableObjectBranded | undefined,
  R,
  A extends unknown[] = [],
>(
  stub: DurableObjectStub<T>,
  /** With an untyped stub the instance is `any`, unless the class is given: `runInDurableObject<Counter, R>(…)`. */
  fn: (instance: T extends DurableObjectBranded ? T : any, ctx: DurableObjectState, ...args: A) => R | Promise<R>,
  ...args: A
): Promise<Awaited<R>>;

/**
 * Runs the object's pending alarm now: `true` once `alarm()` ran (the alarm is then deleted
 * unless the handler set another), `false` when none is set. A handler that throws rejects
 * this, and the alarm is retried as a normal alarm. Call it on the thread that created the
 * Runtime.
 */
export declare function runDurableObjectAlarm<T extends DurableObjectBranded | undefined>(stub: DurableObjectStub<T>): Promise<boolean>;

/** The ids of the namespace's objects that have stored data, sorted by their hex string. */
export declare function listDurableObjectIds<T extends DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
): Promise<DurableObjectId[]>;

/**
 * Stops the object's instance as idle eviction would: pending writes commit, storage and
 * hibernatable WebSockets are kept, and the next call starts a new instance. Waits for
 * calls, `waitUntil()` and `blockConcurrencyWhile()` in flight; rejects with
 * `ERR_DO_INVALID_STATE` while the instance holds accepted (non-hibernatable) WebSockets or
 * references other threads hold. Resolves at once when no instance is running.
 */
export declare function evictDurableObject<T extends DurableObjectBranded | undefined>(stub: DurableObjectStub<T>): Promise<void>;
