// The Cloudflare-shaped base classes. User classes extend DurableObject, imported from
// "durable-facets" or (inside the runtime's threads) from "cloudflare:workers".

const BRAND = Symbol.for('durable-facets.DurableObject');

/**
 * Base class of Durable Objects: `class Room extends DurableObject { … }`.
 * @template Env, Props
 */
export class DurableObject {
  /**
   * @param {import('./state.js').DurableObjectState} ctx
   * @param {Env} env
   */
  constructor(ctx, env) {
    /** @protected */
    this.ctx = ctx;
    /** @protected */
    this.env = env;
  }

  static get [BRAND]() {
    return true;
  }
}

/** Marker base class for objects passed by reference over RPC (a later milestone). */
export class RpcTarget {}

const ENTRYPOINT_BRAND = Symbol.for('durable-facets.WorkerEntrypoint');

/**
 * Base class of stateless entry points: `export default class extends WorkerEntrypoint`
 * (SPEC §2.3). One instance serves one event (a fetch, an RPC call), as on workerd.
 * @template Env, Props
 */
export class WorkerEntrypoint {
  /**
   * @param {{ waitUntil(p: Promise<unknown>): void, passThroughOnException(): void, props: Props }} ctx
   * @param {Env} env
   */
  constructor(ctx, env) {
    /** @protected */
    this.ctx = ctx;
    /** @protected */
    this.env = env;
  }

  static get [ENTRYPOINT_BRAND]() {
    return true;
  }
}

/** True for classes derived from WorkerEntrypoint (from any copy of this package). */
export function isWorkerEntrypointClass(value) {
  return typeof value === 'function' && value !== WorkerEntrypoint && value[ENTRYPOINT_BRAND] === true;
}

/** True for classes derived from DurableObject (from any copy of this package). */
export function isDurableObjectClass(value) {
  return typeof value === 'function' && value !== DurableObject && value[BRAND] === true;
}
