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

/** Stateless entrypoint base class, for code that imports it from "cloudflare:workers". */
export class WorkerEntrypoint {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}

/** True for classes derived from DurableObject (from any copy of this package). */
export function isDurableObjectClass(value) {
  return typeof value === 'function' && value !== DurableObject && value[BRAND] === true;
}
