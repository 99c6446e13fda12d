// The Worker's own entry point, seen from the main thread (SPEC §2.3): `rt.fetch()` and
// `rt.entrypoint` reach the default export of `main`, which runs on a runtime thread as the
// one instance of a hidden namespace. That namespace is stateless: the hub gives it no
// storage directory (its unique key is "", after every real namespace), it has no binding
// (so `rt.inspect`, `rt.listIds` and the CLI never see it) and it never sets alarms.
import { createHash } from 'node:crypto';
import { STUB } from './codec.js';
import { fetchOver, memberTable } from './stub.js';
import * as port from './port.js';

/** The hub's unique key of the entry point's namespace: no directory (core/src/hub.rs). */
export const ENTRY_KEY = '';

/** The fixed id of the default export's instance (any 64 hex digits do: never stored). */
export const ENTRY_ID = '0'.repeat(64);

/**
 * The id of the hidden namespace's instance that serves export `name` of `main`: the default
 * export has ENTRY_ID, a named `WorkerEntrypoint` export (reached through `ctx.exports`) a
 * digest of its name. The main thread never loads `main`, so it cannot number the exports;
 * a digest lets a thread that did find the export from the id alone.
 * @param {string} name
 * @param {string | null} [props] encoded props of `ctx.exports.X({ props })`: one instance
 *   per export and props (its `ctx.props`)
 */
export function entrypointId(name, props = null) {
  if (props === null && name === 'default') return ENTRY_ID;
  const key = props === null ? `entrypoint:${name}` : `entrypoint:${name}\u0000${props}`;
  return createHash('sha256').update(key).digest('hex');
}

/** The class of `rt.entrypoint` (its name shows in DataCloneError messages). */
export class WorkerEntrypointStub {}

/**
 * Sends an encoded call to the entry point of runtime `rt` (namespace `ns`).
 * @returns {(method: string, payload: string | Buffer, ticket?: object) => Promise<unknown>}
 */
export function entrySender(rt, ns, id = ENTRY_ID, name = null) {
  return (method, payload, ticket) => port.send(rt, ns, id, name, method, payload, ticket);
}

/**
 * `rt.fetch(input, init)`: the default export's `fetch` on a runtime thread.
 * @returns {Promise<Response>}
 */
export function entryFetch(send, input, init) {
  try {
    return fetchOver(send, input, init);
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * A service-binding-like stub of the entry point: `fetch()` and the RPC methods of a
 * default export that extends WorkerEntrypoint (each call is one event: a fresh instance).
 * With `withProps`, the stub is also callable as workerd's loopback bindings are:
 * `stub({ props })` is the same entry point with `ctx.props`.
 * @param {(method: string, payload: unknown, ticket?: object) => Promise<unknown>} send
 * @param {(props: object) => object} [withProps]
 */
export function entrypointStub(send, withProps) {
  const method = memberTable({ send });
  const fetch = (input, init) => entryFetch(send, input, init);
  const target = withProps === undefined ? new WorkerEntrypointStub() : Object.setPrototypeOf(() => {}, WorkerEntrypointStub.prototype);
  return new Proxy(target, {
    apply(_t, _this, [options]) {
      return withProps(options?.props ?? {});
    },
    get(_t, prop) {
      switch (prop) {
        case 'then':
          return undefined;
        case 'fetch':
          return fetch;
        case STUB:
          return 'WorkerEntrypointStub';
      }
      if (prop === Symbol.dispose) return () => {};
      if (typeof prop === 'symbol') return undefined;
      return method(prop);
    },
    has(_t, prop) {
      return prop === 'fetch';
    },
    set() {
      return false;
    },
  });
}
