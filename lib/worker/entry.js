// The Worker's own entry point (SPEC §2.3): the default export of `main`, hosted on a runtime
// thread as the instance of the runtime's hidden stateless namespace (lib/entry.js). The
// host (host.js) delivers `fetch` and RPC calls to the handler built here exactly as to a
// Durable Object instance, so routing, eviction, recycling and errors are the objects' own.
import { isWorkerEntrypointClass, WorkerEntrypoint } from '../durable-object.js';
import { entrypointId } from '../entry.js';
import { decodeProps } from '../facets.js';

/**
 * The `ctx` of one event (Cloudflare's ExecutionContext). `waitUntil` keeps the entry point's
 * thread from being evicted until the promise settles; as workerd, a rejection is logged.
 * `passThroughOnException` has no origin to pass through to here: a no-op.
 * `exports` is the thread's `ctx.exports` (as workerd's loopback bindings); `props` those of
 * the loopback that started this entry point (`ctx.exports.X({ props })`), else `{}`.
 * @param {{ hold(p: Promise<unknown>): void }} host
 * @param {object} exports
 * @param {object} props
 */
function executionContext(host, exports, props) {
  return Object.freeze({
    exports,
    waitUntil(promise) {
      const p = Promise.resolve(promise);
      host.hold(p);
      p.catch((e) => process.emit('unhandledRejection', e, p));
    },
    passThroughOnException() {},
    props,
  });
}

/** Own and inherited method names of a WorkerEntrypoint subclass, below WorkerEntrypoint. */
function entrypointMethods(cls) {
  const names = new Map();
  for (let p = cls.prototype; p && p !== WorkerEntrypoint.prototype && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name === 'constructor' || names.has(name)) continue;
      const d = Object.getOwnPropertyDescriptor(p, name);
      names.set(name, typeof d.value === 'function');
    }
  }
  return [...names].filter(([, isMethod]) => isMethod).map(([name]) => name);
}

/**
 * The instance the host delivers the entry point's calls to. The host finds RPC methods on
 * its prototype chain and calls `fetch(request)` (absent when the handler has none, so the
 * host's own "Handler does not export a fetch() function." applies).
 *
 * * An object (`export default { fetch(request, env, ctx) }`): `fetch` gets `env` and a fresh
 *   `ctx` per request; a plain object has no RPC methods (as on Cloudflare).
 * * A class extending WorkerEntrypoint: as workerd, one instance per event, constructed with
 *   that event's `ctx` and the thread's `env`; its methods are its RPC methods.
 * @param {unknown} handler the default export (undefined when there is none)
 * @param {object} env the thread's env (the same object as objects' `this.env`)
 * @param {{ hold(p: Promise<unknown>): void }} host
 */
export function entryInstance(handler, env, host, exports, props = Object.freeze({})) {
  if (isWorkerEntrypointClass(handler)) {
    const methods = Object.create(null);
    for (const name of entrypointMethods(handler)) {
      methods[name] = function (...args) {
        const instance = new handler(executionContext(host, exports, props), env);
        return instance[name](...args);
      };
    }
    return Object.create(methods);
  }
  const instance = Object.create(null);
  if (handler !== null && (typeof handler === 'object' || typeof handler === 'function') && typeof handler.fetch === 'function') {
    instance.fetch = (request) => handler.fetch(request, env, executionContext(host, exports, props));
  }
  return instance;
}

/** True for what `ctx.exports` offers as an entry point: a WorkerEntrypoint class, or (only as
 * the default export) an object with a `fetch` handler. */
export function isEntrypointExport(name, value) {
  if (isWorkerEntrypointClass(value)) return true;
  return name === 'default' && value !== null && typeof value === 'object' && typeof value.fetch === 'function';
}

/**
 * The export of `main` that the entry namespace's instance `idHex` serves (see
 * `entrypointId`): `{ name, handler, props }`, handler undefined when no export has that id.
 * `started` is the name the instance was started under: set (`{"e": export, "p": props}`)
 * for a loopback called with props.
 * @param {Record<string, unknown>} mainModule
 * @param {string} idHex
 * @param {string | null} started
 */
export function entrypointExport(mainModule, idHex, started) {
  if (started) {
    const { e, p } = JSON.parse(started);
    const value = mainModule[e];
    if (isEntrypointExport(e, value) && entrypointId(e, JSON.stringify(p)) === idHex) {
      return { name: e, handler: value, props: Object.freeze(decodeProps(p)) };
    }
    return { name: undefined, handler: undefined, props: undefined };
  }
  for (const [name, value] of Object.entries(mainModule)) {
    if (isEntrypointExport(name, value) && entrypointId(name) === idHex) return { name, handler: value, props: undefined };
  }
  return entrypointId('default') === idHex
    ? { name: 'default', handler: mainModule.default, props: undefined }
    : { name: undefined, handler: undefined, props: undefined };
}
