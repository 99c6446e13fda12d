// The entry point of every runtime thread: it preloads the user's `main` module, attaches
// to the hub, and then hosts one Durable Object instance, delivering its calls.
import { workerData, parentPort } from 'node:worker_threads';
import { inspect } from 'node:util';
import { setTimeout, clearTimeout } from '../timers.js';
import { withCode } from '../error-codes.js';
import { native } from '../native.js';
import * as port from '../port.js';
import { encode, decode, encodeError } from '../codec.js';
import { importUserModule, importLoaderCode, checkWorkerExports } from './loader.js';
import { setThreadEnv } from './env.js';
import { isDurableObjectClass } from '../durable-object.js';
import { DurableObjectId } from '../ids.js';
import { DurableObjectNamespace } from '../namespace.js';
import { DurableObjectState } from '../state.js';
import { wireToRequest, responseToWire } from '../http.js';
import { StorageEngine, DurableObjectStorage } from '../storage/index.js';
import { Alarms, ALARM_METHOD, ALARM_GIVE_UP_METHOD } from './alarms.js';
import { memoryGuard } from './memory-guard.js';
import { memoryLimitError } from '../memory-limit.js';
import {
  DurableObjectFacets,
  makeClass,
  decodeProps,
  decodeEnv,
  makeWorkerLoader,
  namespaceClassNames,
} from '../facets.js';

const STATUS_OK = 0;
const STATUS_ERROR = 1;

/** Kind of the messages this thread posts to its supervisor (lib/runtime.js). */
const LOG_MESSAGE = 'durable-facets:log';

const { tid, config, beat } = workerData;
const overMemoryLimit = memoryGuard(config.memoryLimitMb, workerData.gcLock);

/** What this thread hosts, for log lines: class, id and facet path ('' for a root). */
let hosted = null;

/**
 * Logs on the main thread's console.error, naming the instance (SPEC §3). Worker stdio
 * reaches the main thread too, but not its `console`; a message does.
 */
function report(what, value) {
  const who =
    hosted === null
      ? 'durable-facets runtime thread'
      : `Durable Object ${hosted.className} (id ${hosted.id}, ${hosted.path === '' ? 'root' : `facet "${hosted.path}"`})`;
  let detail;
  try {
    detail = inspect(value);
  } catch {
    detail = '[a value that cannot be inspected]';
  }
  const text = `${who}: ${what} ${detail}`;
  try {
    parentPort.postMessage({ kind: LOG_MESSAGE, text });
  } catch {
    console.error(text);
  }
}

// As workerd: an exception thrown by a timer callback or event listener, or a rejection
// nobody handles, is logged and does not end the instance (its in-memory state survives).
// The runtime's own turn state is safe: the pump catches its own errors, and a write made
// before the throw already scheduled the end of its turn (StorageEngine.afterCall).
process.on('uncaughtException', (error) => report('Uncaught', error));
process.on('unhandledRejection', (reason) => report('Uncaught (in promise)', reason));

const namespaces = config.namespaces.map(
  (_, i) => new DurableObjectNamespace(config.rt, i, `${config.rt}:${i}`),
);
for (const [i, ns] of namespaces.entries()) namespaceClassNames.set(ns, config.namespaces[i].className);

/** A class descriptor for a class of `url` (`main` is referred to as such). */
function classDesc(url, className, props) {
  return url === config.main ? { kind: 'main', className, props } : { kind: 'module', url, className, props };
}

/**
 * `this.env` of every instance on this thread: namespaces, class bindings, vars, loaders —
 * and `env` of "cloudflare:workers", which module code may read at import time: so it is
 * built, and set, before `main` is evaluated.
 */
const env = Object.freeze({
  ...config.vars,
  ...Object.fromEntries(config.bindings.map(([name, ns]) => [name, namespaces[ns]])),
  ...Object.fromEntries(config.classes.map((c) => [c.binding, makeClass(classDesc(c.module, c.className, c.props))])),
  ...Object.fromEntries(config.workerLoaders.map((name) => [name, makeWorkerLoader(name)])),
});
setThreadEnv(env);

let mainModule = null;
let loadError = null;
try {
  mainModule = await importUserModule(config.main);
  checkWorkerExports(mainModule);
} catch (e) {
  mainModule = null;
  loadError = e;
}

const NAMESPACE_METHODS = ['idFromName', 'newUniqueId', 'idFromString', 'get', 'getByName', 'jurisdiction'];

/**
 * `ctx.exports`: for each DurableObject class of `main`, a class handle (usable as a facet
 * class, callable as `X({ props })`); for a class with a namespace binding it is also that
 * namespace.
 */
function buildExports() {
  const out = {};
  if (!mainModule) return out;
  for (const [name, value] of Object.entries(mainModule)) {
    if (!isDurableObjectClass(value)) continue;
    const ns = config.namespaces.findIndex((n) => n.className === name);
    const extra = {};
    if (ns >= 0) {
      for (const m of NAMESPACE_METHODS) extra[m] = namespaces[ns][m].bind(namespaces[ns]);
    }
    out[name] = makeClass({ kind: 'main', className: name, props: {} }, extra);
  }
  return Object.freeze(out);
}
let exportsCache = null;

/** `ctx.exports` of loaded code: class handles for its module's DurableObject classes. */
function loaderExports(desc, mod) {
  const out = {};
  for (const [name, value] of Object.entries(mod)) {
    if (!isDurableObjectClass(value)) continue;
    out[name] = decodeEnv({ x: { cls: { ...desc, className: name, p: { j: '{}' } } } }).x;
  }
  return Object.freeze(out);
}

/** A class that exists but does not extend DurableObject (workerd explains the same). */
function notDurableObject(what) {
  const error = new TypeError(`${what} is not a DurableObject subclass.`);
  withCode(error, 'NotDurableObject');
  return error;
}

function notExported(message) {
  const error = new TypeError(message);
  withCode(error, 'ClassNotExported');
  return error;
}

/** The class `className` of loaded code `mod`. */
function loaderClass(desc, mod) {
  const cls = mod[desc.className];
  if (cls === undefined) {
    throw notExported(`Worker "${desc.worker}" does not export a Durable Object class named "${desc.className}".`);
  }
  if (!isDurableObjectClass(cls)) throw notDurableObject(`"${desc.className}" exported by worker "${desc.worker}"`);
  return cls;
}

/** Resolves a class descriptor of the runtime's own modules to the class. */
async function resolveClass(desc) {
  let mod;
  let where;
  if (desc.kind === 'main') {
    if (loadError) throw loadError;
    mod = mainModule;
    where = config.main;
  } else if (desc.kind === 'module') {
    mod = await importUserModule(desc.url);
    checkWorkerExports(mod);
    where = desc.url;
  } else {
    throw withCode(new TypeError(`Unsupported class source "${desc.kind}".`), 'Internal');
  }
  // Name the option when a class binding says this class.
  const binding = config.classes.find((c) => c.className === desc.className && c.module === where)?.binding;
  const prefix = binding === undefined ? '' : `classes.${binding}: `;
  const cls = mod[desc.className];
  if (cls === undefined) throw notExported(`${prefix}class "${desc.className}" is not exported by ${where}.`);
  if (!isDurableObjectClass(cls)) throw notDurableObject(`${prefix}"${desc.className}" exported by ${where}`);
  return cls;
}

const FORBIDDEN = new Set(['constructor', 'alarm', 'fetch', 'dup']);

/** The public method `name` of `instance`, or undefined (own fields are not exposed). */
function findMethod(instance, name) {
  if (FORBIDDEN.has(name) || name.startsWith('webSocket')) return undefined;
  for (let p = Object.getPrototypeOf(instance); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, name);
    if (d) return typeof d.value === 'function' ? d.value : undefined;
  }
  return undefined;
}

class Host {
  instance = null;
  engine = null;
  name = null;
  /** The 64-hex id of the root object of this instance's tree (errors carry it). */
  root = null;
  alarms = null;
  /** Events held back by blockConcurrencyWhile. */
  blocked = 0;
  queue = [];
  holds = 0;
  ending = false;
  methods = new Map();

  start(ns, idHex, name) {
    this.root = idHex;
    const binding = config.namespaces[ns];
    const option = `durableObjects.${binding.bindings[0]}`;
    if (loadError) return this.break(loadError);
    const cls = mainModule[binding.className];
    if (cls === undefined) {
      return this.break(notExported(`${option}: class "${binding.className}" is not exported by ${config.main}.`));
    }
    if (!isDurableObjectClass(cls)) {
      return this.break(notDurableObject(`${option}: "${binding.className}" exported by ${config.main}`));
    }
    const id = new DurableObjectId(idHex, name ?? undefined, `${config.rt}:${ns}`);
    this.name = name;
    this.launch(cls, {
      className: binding.className,
      path: '',
      id,
      props: {},
      depth: 1,
      idSpec: { h: idHex, n: name ?? null, t: `${config.rt}:${ns}` },
      facet: false,
    });
  }

  /** Hosts facet entry `entry` (startup: see lib/facets.js `encodeStartup`). */
  async startFacet(entry, startup) {
    this.blocked++;
    try {
      const s = JSON.parse(startup);
      this.root = s.root;
      let cls;
      let loaded = null;
      if (s.c.kind === 'loader') {
        // Loaded code sees the env its parent passed in (also as "cloudflare:workers"'
        // `env`), and its own module's exports. Its code is evaluated once.
        const loadedEnv = Object.freeze(decodeEnv(s.c.code.env));
        const mod = await importLoaderCode(s.c.worker, s.c.code, loadedEnv);
        checkWorkerExports(mod);
        cls = loaderClass(s.c, mod);
        loaded = { env: loadedEnv, exports: loaderExports(s.c, mod) };
      } else {
        cls = await resolveClass(s.c);
      }
      const id = s.id.s !== undefined ? s.id.s : new DurableObjectId(s.id.h, s.id.n ?? undefined, s.id.t);
      const path = s.path ?? '';
      this.launch(cls, { className: s.c.className, path, id, props: decodeProps(s.c.p), depth: s.depth, idSpec: s.id, facet: true, loaded });
    } catch (e) {
      return this.break(e);
    } finally {
      this.blocked--;
    }
    if (this.blocked === 0 && !this.ending) this.release();
  }

  /** Constructs the instance with its ctx (storage, facets, …). */
  launch(cls, { className, path, id, props, depth, idSpec, facet, loaded = null }) {
    hosted = { className, path, id: String(id) };
    const engine = new StorageEngine(this);
    this.engine = engine;
    this.alarms = new Alarms(this, engine, facet);
    engine.onCommit = () => this.alarms.afterCommit();
    port.setEndOfTurn(() => engine.endOfTurn());
    const storage = new DurableObjectStorage(this, engine);
    const facets = new DurableObjectFacets({ rt: config.rt, depth, idSpec, path, root: this.root });
    exportsCache ??= buildExports();
    const ctx = new DurableObjectState(this, { id, exports: loaded?.exports ?? exportsCache, props, storage, facets });
    try {
      this.instance = new cls(ctx, loaded?.env ?? env);
    } catch (e) {
      return this.break(e);
    }
    this.armIdleTimer(config.idleTimeoutMs);
  }

  onCall(callId, method, payload) {
    if (this.ending) return;
    if (this.blocked > 0) this.queue.push(callId, method, payload);
    else this.deliver(callId, method, payload);
  }

  /** Runs one call; whatever happens (even a hostile result or instance), it is answered. */
  deliver(callId, method, payload) {
    try {
      this.invoke(callId, method, payload);
    } catch (e) {
      this.fail(callId, e);
    }
  }

  invoke(callId, method, payload) {
    let args;
    try {
      args = decode(payload);
    } catch (e) {
      return this.fail(callId, e);
    }
    if (method === 'fetch') return this.fetch(callId, args[0]);
    if (method === ALARM_METHOD) return this.settle(callId, this.alarms.run(args[0]));
    if (method === ALARM_GIVE_UP_METHOD) return this.settle(callId, Promise.resolve().then(() => this.alarms.giveUp()));
    let fn = this.methods.get(method);
    if (fn === undefined) {
      fn = findMethod(this.instance, method);
      if (fn === undefined) {
        return this.fail(
          callId,
          withCode(new TypeError(`The RPC receiver does not implement the method "${method}".`), 'MethodNotFound'),
        );
      }
      this.methods.set(method, fn);
    }
    const result = fn.apply(this.instance, args);
    // A thenable is adopted as `await` does: `then` read once, only the first outcome
    // counts, a `then` that throws rejects the call (see deliver).
    const then = result !== null && typeof result === 'object' ? result.then : undefined;
    if (typeof then === 'function') {
      this.settle(callId, new Promise((resolve, reject) => then.call(result, resolve, reject)));
    } else {
      this.succeed(callId, result);
    }
  }

  async fetch(callId, wire) {
    try {
      if (typeof this.instance.fetch !== 'function') {
        throw withCode(new Error('Handler does not export a fetch() function.'), 'NoFetchHandler');
      }
      const res = await this.instance.fetch(wireToRequest(wire));
      this.succeed(callId, await responseToWire(res));
    } catch (e) {
      this.fail(callId, e);
    }
  }

  settle(callId, promise) {
    promise.then(
      (v) => this.succeed(callId, v),
      (e) => this.fail(callId, e),
    );
  }

  succeed(callId, value) {
    if (this.ending || this.checkMemory()) return;
    let payload;
    try {
      payload = encode(value);
    } catch (e) {
      return this.fail(callId, e);
    }
    port.reply(callId, STATUS_OK, payload);
  }

  /** encodeError never throws, so a call is always answered. */
  fail(callId, error) {
    if (this.ending || this.checkMemory()) return;
    port.reply(callId, STATUS_ERROR, encodeError(error, this.root));
  }

  /** Breaks the instance (true) when it holds more than its memory limit (SPEC §6.2). */
  checkMemory() {
    if (!overMemoryLimit()) return false;
    this.break(memoryLimitError(config.memoryLimitMb));
    return true;
  }

  hold(promise) {
    this.holds++;
    const release = () => {
      this.holds--;
    };
    promise.then(release, release);
  }

  async blockConcurrencyWhile(fn, timeoutMs) {
    this.blocked++;
    let timer;
    try {
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              withCode(new Error('blockConcurrencyWhile() callback did not complete within 30 seconds.'), 'BlockConcurrencyTimeout'),
            ),
          timeoutMs,
        );
      });
      return await Promise.race([Promise.resolve().then(fn), timeout]);
    } catch (e) {
      this.break(e);
      throw e;
    } finally {
      clearTimeout(timer);
      if (--this.blocked === 0 && !this.ending) this.release();
    }
  }

  /** Holds other events back while `fn` runs (transaction()); failures do not break. */
  async holdInput(fn) {
    this.blocked++;
    try {
      return await fn();
    } finally {
      if (--this.blocked === 0 && !this.ending) this.release();
    }
  }

  release() {
    while (this.blocked === 0 && !this.ending && this.queue.length > 0) {
      const [callId, method, payload] = this.queue.splice(0, 3);
      this.deliver(callId, method, payload);
    }
  }

  abort(reason) {
    const error =
      reason instanceof Error
        ? reason
        : reason === undefined
          ? withCode(new Error('Durable Object was aborted.'), 'Aborted')
          : new Error(String(reason));
    this.break(error);
  }

  /** The instance is broken: every call addressed to it rejects, and this thread ends. */
  break(error) {
    if (this.ending) return;
    this.ending = true;
    try {
      native.breakSelf(encodeError(error, this.root));
    } finally {
      process.exit(1);
    }
  }

  armIdleTimer(ms) {
    setTimeout(() => this.checkIdle(), Math.max(1, ms));
  }

  /** Too many running threads: end this one now if it is idle. */
  evict() {
    if (this.ending || this.holds > 0 || this.blocked > 0) return;
    // Writes of a turn that has not ended yet (a timer callback's) commit first.
    this.engine?.endOfTurn();
    if (this.ending || port.gateClosed()) return;
    if (native.tryRetire(0) === 0) {
      this.ending = true;
      process.exit(0);
    }
  }

  checkIdle() {
    if (this.ending) return;
    if (this.holds > 0 || this.blocked > 0) return this.armIdleTimer(config.idleTimeoutMs);
    // Writes of a turn that has not ended yet (a timer callback's) commit first.
    this.engine?.endOfTurn();
    if (this.ending) return;
    if (port.gateClosed()) return this.armIdleTimer(config.idleTimeoutMs);
    const wait = native.tryRetire(config.idleTimeoutMs);
    if (wait > 0) return this.armIdleTimer(wait);
    this.ending = true;
    process.exit(0);
  }
}

const host = new Host();

try {
  port.attachWorker(tid, {
    start: (ns, idHex, name) => host.start(ns, idHex, name),
    startFacet: (entry, startup) => host.startFacet(entry, startup),
    evict: () => host.evict(),
    call: (callId, method, payload) => host.onCall(callId, method, payload),
    error: (e) => report('internal error:', e),
  }, beat);
} catch {
  // The runtime was disposed while this thread started.
  process.exit(0);
}
