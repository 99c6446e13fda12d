// ctx.facets: child objects ("facets") started from other classes, each on its own thread
// with its own database, all stored together as one logical object. The tree lives in the
// Rust core (core/src/facets.rs, core/src/hub_facets.rs); this is the Cloudflare-shaped facade.
import { native } from './native.js';
import { withCode } from './error-codes.js';
import * as port from './port.js';
import { STUB, REF, encode, decode, encodeError, decodeError } from './codec.js';
import { memberTable, fetchOver } from './stub.js';
import { orderedSender } from './fetch-over.js';
import { DurableObjectId, namespaceOf } from './ids.js';

/** Marks DurableObjectClass handles; the value is the class descriptor. */
export const CLASS = Symbol.for('durable-facets.DurableObjectClass');

const MAX_DEPTH = 4;
const MAX_NAME = 128;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const BAD_CLASS =
  "Incorrect type for the 'class' field on 'StartupOptions': the provided value is not of type 'DurableObjectClass or LoopbackDurableObjectNamespace or LoopbackColoLocalActorNamespace'.";
const NOT_SERIALIZABLE = 'Stubs pointing to Durable Object facets are not serializable.';
const FACET_REF = Object.freeze({ kind: 't' });
/**
 * A stop reason as the core keeps it (error envelope), made once: no stack of its own, so
 * the callers' stacks are not given frames of whichever delete() or clone() ran first.
 */
function stopReason(message, code) {
  const error = withCode(new Error(message), code);
  error.stack = `Error: ${message}`;
  return encodeError(error);
}

// The reasons old stubs see (the core uses the same texts for running instances).
const DELETED = stopReason('Facet was deleted.', 'FacetDeleted');
const CLONED_OVER = stopReason('Facet was cloned-over.', 'FacetClonedOver');

/** Class names of this thread's namespace bindings (set by the host), for BAD_CLASS help. */
export const namespaceClassNames = new WeakMap();

/** workerd's BAD_CLASS says nothing useful of a namespace binding from env: say what to pass. */
function badClass(value) {
  if (!namespaceClassNames.has(value)) return withCode(new TypeError(BAD_CLASS), 'FacetClass');
  const name = namespaceClassNames.get(value);
  const error = new TypeError(
    `Incorrect type for the 'class' field on 'StartupOptions': a Durable Object namespace binding from env is not a class. Pass ctx.exports.${name} (a namespace that is also a class), a class binding (the \`classes\` option) or a worker loader's class instead.`,
  );
  withCode(error, 'FacetClass');
  return error;
}

const badName = (message) => withCode(new TypeError(message), 'FacetName');

/** Throws the spec's TypeError for a bad facet name. */
export function validateName(name) {
  if (typeof name !== 'string') throw badName('Facet name must be a string.');
  if (name.length === 0) throw badName('Facet name cannot be empty.');
  if (name.length > MAX_NAME) throw badName('Facet name is too long (max 128 characters).');
  if (name.includes('/')) throw badName("Facet name cannot contain '/'.");
  if (CONTROL.test(name)) throw badName('Facet name cannot contain control characters.');
  if (LONE_SURROGATE.test(name)) throw badName('Facet name must be well-formed Unicode.');
}

/**
 * A DurableObjectClass handle: opaque, callable as `X({ props })` for a copy with props.
 * @param {{kind: string, className: string, url?: string, props?: unknown, loader?: object}} desc
 */
export function makeClass(desc, extra = {}) {
  const handle = function (options) {
    return withProps(desc, options?.props ?? {});
  };
  Object.defineProperty(handle, 'name', { value: desc.className });
  Object.defineProperty(handle, CLASS, { value: desc });
  Object.assign(handle, extra);
  return Object.freeze(handle);
}

export function classOf(value) {
  return (typeof value === 'function' || (typeof value === 'object' && value !== null)) ? value[CLASS] : undefined;
}

/** `props` for a start message: `{ j: json }` or `{ b: base64 of V8 bytes }`. */
export function encodeProps(props) {
  const p = encode(props ?? {});
  return typeof p === 'string' ? { j: p } : { b: p.toString('base64') };
}

export function decodeProps(p) {
  return p.j !== undefined ? decode(p.j) : decode(Buffer.from(p.b, 'base64'));
}

/** Checks the options of get() form A synchronously (TypeError), as workerd does. */
function checkOptions(options) {
  if (options === null || typeof options !== 'object') throw withCode(new TypeError(BAD_CLASS), 'FacetClass');
  if (classOf(options.class) === undefined) throw badClass(options.class);
}

/** The code caches of this thread's worker loaders (see `forgetLoadedCode`). */
const loaderCaches = new Set();

/**
 * An instance stopped: loaded code is cached by name until its instance restarts (SPEC §6.4),
 * also when the restart happens on the same (recycled) thread, whose `env` is shared.
 */
export function forgetLoadedCode() {
  for (const cache of loaderCaches) cache.clear();
}

/** Code behind loader classes: desc → () => Promise<WorkerCode>. */
const loaderCode = new WeakMap();

/** Encodes an `env` passed to loaded code: plain values and class bindings. */
async function encodeEnv(env) {
  const out = {};
  for (const [k, v] of Object.entries(env ?? {})) {
    const desc = classOf(v);
    out[k] = desc !== undefined ? { cls: await encodeClass(desc) } : { val: encodeProps(v) };
  }
  return out;
}

async function encodeClass(desc) {
  const { props, ...rest } = desc;
  const out = { ...rest, p: encodeProps(props) };
  if (desc.kind === 'loader') {
    const code = await loaderCode.get(desc)();
    out.code = { mainModule: code.mainModule, modules: code.modules, env: await encodeEnv(code.env) };
  }
  return out;
}

/** The startup options of a facet as the core keeps them (compared byte for byte). */
async function encodeStartup(options, parent, name) {
  checkOptions(options);
  let id;
  if (options.id === undefined || options.id === null) id = parent.idSpec;
  else if (options.id instanceof DurableObjectId) id = { h: options.id.toString(), n: options.id.name ?? null, t: namespaceOf(options.id) ?? null };
  else if (typeof options.id === 'string') id = { s: options.id };
  else id = { s: String(options.id) };
  // `path` (the full facet name) names the instance in its logs.
  const path = parent.path ? `${parent.path}/${name}` : name;
  // `root` (the root object's id) goes into the errors the facet throws (durableObjectId).
  const c = await encodeClass(classOf(options.class));
  // `k`, first (the core reads it without parsing the rest): the code identity that
  // decides which recycled threads may host the facet (SPEC §6.1).
  return JSON.stringify({ k: await codeIdentity(c), c, id, depth: parent.depth + 1, path, root: parent.root });
}

/**
 * The code identity of an encoded class: `""` for the runtime's own modules (`main` and
 * `classes` modules, evaluated on every thread alike); for worker-loader code a digest of
 * loader binding, worker name and the code itself (modules and env), so that other code
 * under the same name is another identity.
 */
async function codeIdentity(c) {
  if (c.kind !== 'loader') return '';
  // Loaded on first need: node:crypto costs a thread's start-up several ms.
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(JSON.stringify([c.loader, c.worker, c.code])).digest('hex');
}

/** Rebuilds an `env` encoded by encodeEnv. */
export function decodeEnv(encoded) {
  const out = {};
  for (const [k, v] of Object.entries(encoded ?? {})) {
    if (v.cls) {
      const { p, code, ...desc } = v.cls;
      const handle = makeClass({ ...desc, props: decodeProps(p) });
      if (code) loaderCode.set(classOf(handle), async () => ({ ...code, env: decodeEnv(code.env) }));
      out[k] = handle;
    } else out[k] = decodeProps(v.val);
  }
  return out;
}

/**
 * A worker loader binding (`workerLoaders` option): `get(name, getCode)` gives a stub whose
 * `getDurableObjectClass(className)` is a facet class running code supplied at run time.
 * Code is cached by name on this thread; the callback is skipped once loaded.
 */
export function makeWorkerLoader(binding) {
  const cache = new Map();
  loaderCaches.add(cache);
  return Object.freeze({
    get(name, getCode) {
      if (typeof name !== 'string') throw withCode(new TypeError('Worker name must be a string.'), 'InvalidArgument');
      if (typeof getCode !== 'function') throw withCode(new TypeError('get() requires a callback that returns the worker code.'), 'InvalidArgument');
      const load = () => {
        let p = cache.get(name);
        if (p === undefined) {
          p = Promise.resolve()
            .then(getCode)
            .then((code) => {
              if (code === null || typeof code !== 'object' || typeof code.mainModule !== 'string' || typeof code.modules !== 'object') {
                throw withCode(new TypeError('Worker code must be { mainModule, modules }.'), 'InvalidArgument');
              }
              return code;
            });
          p.catch(() => cache.get(name) === p && cache.delete(name));
          cache.set(name, p);
        }
        return p;
      };
      return Object.freeze({
        getDurableObjectClass(className = 'default', options) {
          const handle = makeClass({ kind: 'loader', loader: binding, worker: name, className, props: options?.props ?? {} });
          loaderCode.set(classOf(handle), load);
          return handle;
        },
      });
    },
  });
}

/** Loader class handles made from `X({ props })` share the code of X. */
function withProps(desc, props) {
  const copy = makeClass({ ...desc, props });
  const code = loaderCode.get(desc);
  if (code) loaderCode.set(classOf(copy), code);
  return copy;
}

/**
 * The `ctx.facets` of one instance.
 * @internal constructed by the worker host
 */
export class DurableObjectFacets {
  #parent;
  /** Form-B startups in progress, by name: the first stub used wins. */
  #pending = new Map();
  /** Per name: how often it was stopped, and the encoded reason of the latest stop. */
  #stops = new Map();

  constructor(parent) {
    this.#parent = parent;
  }

  /** The instance stopped (its thread hosts another now): refuse, as its storage does. */
  #checkLive() {
    if (this.#parent.stopped?.()) throw withCode(new Error('This Durable Object instance was stopped.'), 'Stopped');
  }

  /**
   * A stub for facet `name`; the facet starts on first use.
   * @param {string} name
   * @param {{class: unknown, id?: unknown} | (() => unknown)} startup
   */
  get(name, startup) {
    this.#checkLive();
    validateName(name);
    if (this.#parent.depth + 1 > MAX_DEPTH) {
      throw withCode(new Error('Facet nesting depth limit exceeded. The maximum depth including the root Durable Object is 4.'), 'FacetDepth');
    }
    let bind;
    if (typeof startup === 'function') {
      bind = (epoch) => this.#bindCallback(name, startup, epoch);
    } else {
      checkOptions(startup);
      const encoded = encodeStartup(startup, this.#parent, name);
      encoded.catch(() => {});
      bind = (epoch) => this.#bindOptions(name, encoded, epoch);
    }
    // The stub's first call takes the name's stop epoch at once, so a stop that runs
    // before the (asynchronous) binding finishes still wins over it.
    return makeFacetStub(this.#parent.rt, () => {
      const epoch = this.#epochOf(name);
      return () => bind(epoch);
    });
  }

  /** How many times `name` was stopped (abort, delete, clone-over) by this instance. */
  #epochOf(name) {
    return this.#stops.get(name)?.epoch ?? 0;
  }

  /** Throws the reason of the latest stop of `name` if one ran since `epoch`. */
  #checkNotStopped(name, epoch) {
    const stop = this.#stops.get(name);
    if (stop !== undefined && stop.epoch !== epoch) throw decodeError(stop.reason, false);
  }

  /** Records a stop of `name`: stubs first used before it, and pending startups, lose. */
  #stopped(name, encodedReason) {
    this.#stops.set(name, { epoch: this.#epochOf(name) + 1, reason: encodedReason });
    this.#pending.delete(name);
  }

  #result(r) {
    if (typeof r !== 'number') throw decodeError(r, false);
    return r;
  }

  async #bindOptions(name, encoded, epoch) {
    const startup = await encoded;
    this.#checkNotStopped(name, epoch);
    return this.#result(native.facetCreate(name, startup, true, null));
  }

  async #bindCallback(name, callback, epoch) {
    this.#checkNotStopped(name, epoch);
    const found = native.facetLookup(name);
    if (typeof found !== 'number') throw decodeError(found, false);
    if (found >= 0) return found;
    let pending = this.#pending.get(name);
    if (pending === undefined) {
      const started = this.#epochOf(name);
      pending = (async () => {
        let encoded = null;
        let failure = null;
        try {
          encoded = await encodeStartup(await callback(), this.#parent, name);
        } catch (e) {
          failure = e;
        }
        // An abort, delete or clone-over that ran meanwhile wins (SPEC §5.3): the callback's
        // result must not bring the entry back; the calls waiting on it get that reason.
        if (this.#epochOf(name) !== started) return this.#stops.get(name).reason;
        if (failure !== null) return native.facetCreate(name, '', false, encodeError(failure));
        return native.facetCreate(name, encoded, false, null);
      })();
      this.#pending.set(name, pending);
      pending.finally(() => this.#pending.get(name) === pending && this.#pending.delete(name)).catch(() => {});
    }
    return this.#result(await pending);
  }

  /** Stops facet `name` and its subtree at once; its storage is kept. */
  abort(name, reason) {
    this.#checkLive();
    validateName(name);
    const error = typeof reason === 'string' ? new Error(reason) : reason;
    const encoded = encodeError(error);
    this.#stopped(name, encoded);
    native.facetStop(name, encoded);
  }

  /** Stops facet `name` and deletes its storage and that of its descendants. */
  delete(name) {
    this.#checkLive();
    validateName(name);
    this.#stopped(name, DELETED);
    native.facetStop(name, null);
  }

  /** Replaces `dst` (and its subtree) with a copy of `src`'s committed state and subtree. */
  clone(src, dst) {
    this.#checkLive();
    validateName(src);
    validateName(dst);
    try {
      native.facetClone(src, dst);
    } finally {
      // Even if copying failed after the core stopped `dst`: a pending startup must not
      // bring the old entry back.
      this.#stopped(dst, CLONED_OVER);
    }
  }

  /** Names of the direct children that have storage or are running, sorted. */
  list() {
    this.#checkLive();
    return native.facetList();
  }
}

/** The class of facet stubs (never a plain object, so never serialized by accident). */
class DurableObjectFacetStub {}

/**
 * A stub bound lazily (on its first call) to a facet entry. `begin()` runs synchronously at
 * the first call and returns the (asynchronous) binding to run.
 */
function makeFacetStub(rt, begin) {
  let entry = null;
  let binding = null;

  function ensureBound() {
    if (entry !== null) return null;
    if (binding === null) {
      const run = begin();
      binding = Promise.resolve()
        .then(run)
        .then((e) => {
          entry = e;
        });
    }
    return binding;
  }

  // Calls made before the stub is bound queue behind the binding; until the queue has
  // drained, later calls queue too (E-order: a call made in a microtask right after the
  // binding resolved must not overtake the queued ones).
  let queued = 0;
  function send(method, payload, ticket) {
    if (entry !== null && queued === 0) return port.sendFacet(rt, entry, method, payload, ticket);
    queued++;
    return (ensureBound() ?? binding).then(
      () => {
        queued--;
        return port.sendFacet(rt, entry, method, payload, ticket);
      },
      (e) => {
        queued--;
        throw e;
      },
    );
  }

  // E-order around a fetch() that gathers the first bytes of its body (lib/fetch-over.js).
  const ordered = orderedSender(send);
  const method = memberTable({ send: ordered });
  const fetch = (input, init) => fetchOver(ordered, input, init);

  return new Proxy(new DurableObjectFacetStub(), {
    get(_t, prop) {
      switch (prop) {
        case 'then':
        case 'id':
        case 'name':
          return undefined;
        case 'fetch':
          return fetch;
        case STUB:
          return NOT_SERIALIZABLE;
        case REF:
          // Handed to another thread, it is a reference through this one: the receiver's
          // calls reach this facet (SPEC §2.2), while this instance runs.
          return FACET_REF;
      }
      if (prop === Symbol.dispose) return () => {};
      if (typeof prop === 'symbol') return undefined;
      return method(prop);
    },
  });
}
