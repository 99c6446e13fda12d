// The entry point of every runtime thread: it preloads the user's `main` module, attaches
// to the hub, and then hosts Durable Object instances one at a time, delivering their calls.
// When an instance stops, the thread tears it down and returns to the hub's pool (SPEC §6.1):
// the next instance of the same code starts here without loading anything again.
import { parentPort } from 'node:worker_threads';
import { inspect } from 'node:util';
import { setTimeout, clearTimeout, setImmediate } from '../timers.js';
import { withCode, codes } from '../error-codes.js';
import { native } from '../native.js';
import * as port from '../port.js';
import { encodeRpc, decode, encodeError } from '../codec.js';
import * as refs from '../refs.js';
import { importUserModule, importLoaderCode, checkWorkerExports } from './loader.js';
import { setThreadEnv } from './env.js';
import { isDurableObjectClass } from '../durable-object.js';
import { DurableObjectId } from '../ids.js';
import { DurableObjectNamespace } from '../namespace.js';
import { DurableObjectState } from '../state.js';
import { wireToRequest, responseToWire } from '../http.js';
import { entryInstance, entrypointExport, isEntrypointExport } from './entry.js';
import { entrySender, entrypointId, entrypointStub } from '../entry.js';
import * as sockets from '../websocket.js';
import { StorageEngine, DurableObjectStorage } from '../storage/index.js';
import { Alarms, ALARM_METHOD, ALARM_GIVE_UP_METHOD } from './alarms.js';
import { memoryGuard } from './memory-guard.js';
import { workerLogger, errorText } from '../diagnostics.js';
import { memoryLimitError } from '../memory-limit.js';
import { installInstanceScope, beginInstance, endInstance } from './instance-scope.js';
import { isTestingMethod, performTesting } from './testing.js';
import { bootData } from './boot-data.js';
import {
  DurableObjectFacets,
  makeClass,
  decodeProps,
  encodeProps,
  decodeEnv,
  makeWorkerLoader,
  namespaceClassNames,
  forgetLoadedCode,
} from '../facets.js';

const STATUS_OK = 0;
const STATUS_ERROR = 1;
/** A batch's result encoded as V8 bytes, inside its answer (see stub.js `ride`). */
const BATCH_NESTED = 3;

/** Kind of the messages this thread posts to its supervisor (lib/runtime.js). */
const LOG_MESSAGE = 'durable-facets:log';

// Set by the thread's entry module (thread.js) before this module is evaluated.
const { tid, config, beat } = bootData;
const overMemoryLimit = memoryGuard(config.memoryLimitMb, bootData.gcLock);
/** Diagnostics (lib/diagnostics.js): silent unless `logLevel` or DEBUG=durable-facets. */
const log = workerLogger(config, tid);

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
      : hosted.entry
        ? `Worker entry point (default export of ${config.main})`
        : `Durable Object ${hosted.className} (id ${hosted.id}, ${hosted.path === '' ? 'root' : `facet "${hosted.path}"`})`;
  let detail;
  try {
    detail = inspect(value);
  } catch {
    detail = '[a value that cannot be inspected]';
  }
  const text = `${who}: ${what} ${detail}`;
  // An instance's uncaught exception (it runs on), or the runtime's own error on this thread.
  log.error(what.startsWith('Uncaught') ? 'instance.uncaught' : 'thread.error', { error: errorText(value) });
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
// Before any user code: timers its instances start are theirs, cancelled when they stop.
installInstanceScope();
// The Workers globals of WebSockets (WebSocketPair, a Response that carries one).
sockets.installWebSocketGlobals();

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

/** `main`'s exports, once `boot()` loaded them (or why they could not be loaded). */
let mainModule = null;
let loadError = null;

const NAMESPACE_METHODS = ['idFromName', 'newUniqueId', 'idFromString', 'get', 'getByName', 'jurisdiction'];

/**
 * `ctx.exports`: for each DurableObject class of `main`, a class handle (usable as a facet
 * class, callable as `X({ props })`); for a class with a namespace binding it is also that
 * namespace. For each entry point `main` exports (a WorkerEntrypoint class, or a default
 * export with `fetch`), a loopback service stub, as workerd's: its `fetch()` and RPC methods
 * run on the runtime's hidden entry namespace, one instance per export (lib/entry.js).
 */
function buildExports() {
  const out = {};
  if (!mainModule) return out;
  for (const [name, value] of Object.entries(mainModule)) {
    if (isEntrypointExport(name, value)) {
      out[name] = entrypointLoopback(name, null);
      continue;
    }
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

/**
 * `ctx.exports.X` of entry point export `name`: a service stub, callable as `X({ props })`.
 * With props, the export's instance is a separate one, started under a name that carries
 * the export and its props (`{"e", "p"}`, read back by `entrypointExport`).
 * @param {string} name
 * @param {{ j: string } | { b: string } | null} props encoded (facets.js encodeProps)
 */
function entrypointLoopback(name, props) {
  const p = props === null ? null : JSON.stringify(props);
  const started = p === null ? null : JSON.stringify({ e: name, p: props });
  const send = entrySender(config.rt, config.entryNamespace, entrypointId(name, p), started);
  return entrypointStub(send, (value) => entrypointLoopback(name, encodeProps(value)));
}

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

/** The loader code evaluated on this thread: `{ key, loading }` (one identity per thread). */
let loaderModule = null;

/**
 * The evaluated modules of the loader code a facet startup names, evaluated once per thread
 * (also when an instance stops while they load: the next one waits for the same evaluation).
 * A failed evaluation is not kept.
 */
function loadedCode(s) {
  if (loaderModule?.key !== s.k) {
    const key = s.k;
    const loading = (async () => {
      const env = Object.freeze(decodeEnv(s.c.code.env));
      const mod = await importLoaderCode(s.c.worker, s.c.code, env);
      checkWorkerExports(mod);
      return { mod, env };
    })();
    loaderModule = { key, loading };
    loading.catch(() => {
      if (loaderModule?.loading === loading) loaderModule = null;
    });
  }
  return loaderModule.loading;
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

/** The public method `name` of `instance`, or undefined (own fields are not exposed). */
function findMethod(instance, name) {
  if (refs.reservedOnInstance(name)) return undefined;
  for (let p = Object.getPrototypeOf(instance); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, name);
    if (d) return typeof d.value === 'function' ? d.value : undefined;
  }
  return undefined;
}

class Host {
  instance = null;
  /** The instance's DurableObjectState (runInDurableObject's second argument). */
  ctx = null;
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
  /** A start was delivered: the thread hosts again (its pool timer has nothing to do). */
  begun = false;
  /** The pending idle check. */
  idleTimer = null;
  /** ctx.setHibernatableWebSocketEventTimeout(): how long a hibernatable event may run (ms). */
  eventTimeoutMs = null;
  /** Timeouts of blockConcurrencyWhile() calls and hibernatable events in progress. */
  timers = new Set();
  methods = new Map();

  start(ns, idHex, name) {
    this.begun = true;
    if (ns === config.entryNamespace) return this.startEntry(idHex, name);
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

  /**
   * Hosts the Worker's entry point (SPEC §2.3): the default export of `main` (or, for
   * instance `idHex` other than the default's, the named WorkerEntrypoint export
   * `ctx.exports` addressed), with this thread's env, no storage and no id (its errors carry
   * no durableObjectId).
   */
  startEntry(idHex, started) {
    if (loadError) return this.break(loadError);
    hosted = { entry: true };
    let found;
    try {
      found = entrypointExport(mainModule, idHex, started);
    } catch (e) {
      return this.break(e);
    }
    const { name, handler, props } = found;
    log.started({ entrypoint: name });
    beginInstance();
    exportsCache ??= buildExports();
    this.instance = entryInstance(handler, env, this, exportsCache, props);
    this.armIdleTimer(config.idleTimeoutMs);
  }

  /** Hosts facet entry `entry` (startup: see lib/facets.js `encodeStartup`). */
  async startFacet(entry, startup) {
    this.begun = true;
    this.blocked++;
    try {
      const s = JSON.parse(startup);
      this.root = s.root;
      let cls;
      let loaded = null;
      if (s.c.kind === 'loader') {
        // Loaded code sees the env its parent passed in (also as "cloudflare:workers"'
        // `env`), and its own module's exports. Its code is evaluated once per thread: the
        // hub sends only instances of this code (identity `s.k`) to a thread that ran it.
        const code = await loadedCode(s);
        if (this.ending) return;
        cls = loaderClass(s.c, code.mod);
        loaded = { env: code.env, exports: loaderExports(s.c, code.mod) };
      } else {
        cls = await resolveClass(s.c);
        if (this.ending) return;
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
    log.started({ rootNs: Number(String(idSpec?.t).split(':')[1]), className, id, name: id?.name, facet: path });
    beginInstance();
    const engine = new StorageEngine(this);
    this.engine = engine;
    this.alarms = new Alarms(this, engine, facet);
    engine.onCommit = () => this.alarms.afterCommit();
    port.setEndOfTurn(() => engine.endOfTurn());
    const storage = new DurableObjectStorage(this, engine);
    const facets = new DurableObjectFacets({ rt: config.rt, depth, idSpec, path, root: this.root, stopped: () => this.ending });
    exportsCache ??= buildExports();
    const ctx = new DurableObjectState(this, { id, exports: loaded?.exports ?? exportsCache, props, storage, facets });
    this.ctx = ctx;
    try {
      this.instance = new cls(ctx, loaded?.env ?? env);
    } catch (e) {
      return this.break(e);
    }
    this.armIdleTimer(config.idleTimeoutMs);
  }

  onCall(callId, method, payload) {
    // A reference this instance exported was let go (never answered, never held back).
    // (Behind the input gate it waits its turn: calls that arrived before it use it.)
    if (callId === 0 && this.blocked === 0) return refs.performRelease(method, payload, decode);
    if (this.ending) return;
    if (this.blocked > 0) this.queue.push(callId, method, payload);
    else this.deliver(callId, method, payload);
  }

  /**
   * An event of a socket accepted with accept() while blockConcurrencyWhile() runs: it waits
   * in the queue, in order with calls (workerd's input gate holds every event).
   */
  holdSocketEvent(method, payload) {
    if (this.blocked === 0 || this.ending) return false;
    this.queue.push(0, method, payload);
    return true;
  }

  /** Runs one call; whatever happens (even a hostile result or instance), it is answered. */
  deliver(callId, method, payload) {
    if (callId === 0) {
      if (method.charCodeAt(0) === sockets.THREAD_EVENT) return sockets.deliverSocketEvent(method, payload);
      return refs.performRelease(method, payload, decode);
    }
    try {
      this.invoke(callId, method, payload);
    } catch (e) {
      this.fail(callId, e);
    }
  }

  invoke(callId, method, payload) {
    // An event of a socket accepted with ctx.acceptWebSocket() (SPEC §2.4); what a
    // handler throws is logged, as workerd reports it.
    if (method.charCodeAt(0) === sockets.OBJECT_EVENT) {
      const done = sockets.hibernationEvent(method, payload, this.instance).catch((e) => report('Uncaught', e));
      return this.settle(callId, this.eventTimeoutMs === null ? done : this.timeEvent(done, this.eventTimeoutMs));
    }
    let args;
    try {
      args = decode(payload);
    } catch (e) {
      return this.fail(callId, e);
    }
    // An operation on a member path or a pipelined answer (SPEC §2.2); through a reference
    // (marked by the hub) also on an export.
    const first = method.charCodeAt(0);
    if (first === 1) return this.answer(callId, refs.perform(method, args, this.instance, false));
    if (first === 8) {
      if (method.charCodeAt(1) === 4) return this.batch(callId, method.slice(1), args, true);
      return this.answer(callId, refs.perform(method.slice(1), args, this.instance, true));
    }
    if (first === 4) return this.batch(callId, method, args, false);
    if (method === 'fetch') return this.fetch(callId, args[0]);
    if (method === ALARM_METHOD) return this.settle(callId, this.alarms.run(args[0], args[1] === true));
    if (isTestingMethod(method)) return performTesting(this, callId, method, args, recycleThread);
    if (method === ALARM_GIVE_UP_METHOD) return this.settle(callId, Promise.resolve().then(() => this.alarms.giveUp()));
    let fn = this.methods.get(method);
    if (fn === undefined) {
      fn = findMethod(this.instance, method);
      if (fn === undefined) {
        return this.fail(callId, refs.noMethod(method));
      }
      this.methods.set(method, fn);
    }
    this.answer(callId, fn.apply(this.instance, args));
  }

  /**
   * Answers `callId` with `result`. A thenable is adopted as `await` does: `then` read once,
   * only the first outcome counts, a `then` that throws rejects the call (see deliver).
   * While it is pending, calls pipelined on it find it (refs.openAnswer).
   */
  answer(callId, result) {
    const then = refs.thenOf(result);
    if (then !== undefined) {
      const promise = refs.adopt(result, then);
      refs.openAnswer(callId, promise);
      this.settle(callId, promise);
    } else {
      this.succeed(callId, result);
    }
  }

  /**
   * A call and one pipelined on it in one message (see refs.performBatch): answered with
   * `[instance token, status, result or error]` of the second, so the caller can let go of
   * the first's pinned answer.
   */
  batch(callId, method, args, viaRef) {
    let result;
    let then;
    try {
      result = refs.performBatch(callId, method, args, this.instance, viaRef, decode);
      then = refs.thenOf(result);
    } catch (e) {
      return this.fail(callId, e, true);
    }
    if (then === undefined) return this.succeed(callId, result, true);
    const promise = refs.adopt(result, then);
    refs.openAnswer(callId, promise);
    promise.then(
      (v) => this.succeed(callId, v, true),
      (e) => this.fail(callId, e, true),
    );
  }

  async fetch(callId, wire) {
    try {
      if (typeof this.instance.fetch !== 'function') {
        throw withCode(new Error('Handler does not export a fetch() function.'), 'NoFetchHandler');
      }
      const req = wireToRequest(wire);
      const res = await this.instance.fetch(req);
      sockets.checkUpgradeRequest(req, res);
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

  succeed(callId, value, batch = false) {
    if (this.ending || this.checkMemory()) return;
    let payload;
    let exported = refs.takeList();
    try {
      payload = encodeRpc(value, exported);
      // A batch is answered [instance token, status, result] (see `batch`).
      // (V8 bytes travel nested: status BATCH_NESTED, decoded again by the caller.)
      if (batch) payload = refs.batchAnswer(payload) ?? encodeRpc([refs.instanceToken(), BATCH_NESTED, payload], []);
    } catch (e) {
      return this.fail(callId, e, batch);
    }
    if (exported.length === 0) exported = refs.giveList(exported);
    refs.closeAnswer(callId, value, exported);
    port.reply(callId, STATUS_OK, payload);
  }

  /** encodeError never throws, so a call is always answered. */
  fail(callId, error, batch = false) {
    refs.dropAnswer(callId);
    if (this.ending || this.checkMemory()) return;
    const payload = encodeError(error, this.root);
    if (batch) port.reply(callId, STATUS_OK, encodeRpc([refs.instanceToken(), STATUS_ERROR, payload], []));
    else port.reply(callId, STATUS_ERROR, payload);
  }

  /** Breaks the instance (true) when it holds more than its memory limit (SPEC §6.2). */
  checkMemory() {
    if (!overMemoryLimit()) return false;
    this.break(memoryLimitError(config.memoryLimitMb), false);
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
        this.timers.add(timer);
      });
      return await Promise.race([Promise.resolve().then(fn), timeout]);
    } catch (e) {
      this.break(e);
      throw e;
    } finally {
      clearTimeout(timer);
      this.timers.delete(timer);
      if (--this.blocked === 0 && !this.ending) this.release();
    }
  }

  /**
   * A hibernatable event's handler (`done`) that runs past `ms` ends the instance, as workerd
   * shuts the actor down (ServiceWorkerGlobalScope::eventTimeoutPromise); its sockets stay
   * open, and the next event starts a new instance.
   */
  timeEvent(done, ms) {
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => {
        resolve();
        this.break(withCode(new Error('Actor exceeded event execution time and was disconnected.'), 'EventTimeout'));
      }, ms);
      this.timers.add(timer);
    });
    return Promise.race([done, timeout]).finally(() => {
      clearTimeout(timer);
      this.timers.delete(timer);
    });
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

  /** `ctx.abort(reason)`: the instance breaks; the code after the call does not run on. */
  abort(reason) {
    const error =
      reason instanceof Error
        ? reason
        : reason === undefined
          ? withCode(new Error('Durable Object was aborted.'), 'Aborted')
          : new Error(String(reason));
    this.break(error);
    throw error;
  }

  /**
   * The instance is broken: every call addressed to it rejects. The thread is recycled,
   * unless it must not be reused (`reusable` false: its heap is over the memory limit).
   */
  break(error, reusable = true) {
    if (this.ending) return;
    this.ending = true;
    log.error('instance.broken', { error: errorText(error) });
    // A thread whose heap went over its limit is never reused (SPEC §6.1).
    try {
      if (error?.code === codes.MemoryLimit) reusable = false;
    } catch {} // a hostile thrown value (a revoked Proxy) has no code to read
    // Calls it made before it broke (waiting for the end of the microtask) still go.
    try {
      port.flushCalls();
    } catch {}
    try {
      native.breakSelf(encodeError(error, this.root));
    } catch {
      reusable = false;
    }
    if (!reusable) process.exit(1);
    recycleThread();
  }

  armIdleTimer(ms) {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.checkIdle(), Math.max(1, ms));
  }

  /**
   * Tears this stopped instance down (SPEC §6.1): its storage handle is dropped (the hub
   * fenced and closed the database), its timers and listeners are cancelled, its pending
   * calls and held messages are dropped. Nothing of it runs on after this.
   */
  teardown() {
    this.ending = true;
    clearTimeout(this.idleTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue = [];
    endInstance();
    forgetLoadedCode();
    refs.resetRefs();
    sockets.resetSockets();
    port.resetInstance();
    try {
      native.storageClose();
    } catch (e) {
      report('internal error:', e);
    }
    this.engine?.close();
    hosted = null;
  }

  /** Too many running threads: end this one now if it is idle. */
  evict() {
    // References others hold to what it exported keep an instance running, as in workerd.
    if (this.ending || this.holds > 0 || this.blocked > 0 || refs.exporting() || sockets.holding()) return;
    // Writes of a turn that has not ended yet (a timer callback's) commit first.
    this.engine?.endOfTurn();
    if (this.ending || port.gateClosed()) return;
    if (native.tryRetire(0) === 0) {
      log.info('instance.evict', { reason: 'maxRunningFacets' });
      recycleThread();
    }
  }

  checkIdle() {
    if (this.ending) return;
    // Accepted (not hibernatable) WebSockets keep it running, as on Cloudflare.
    if (this.holds > 0 || this.blocked > 0 || refs.exporting() || sockets.holding()) return this.armIdleTimer(config.idleTimeoutMs);
    // Writes of a turn that has not ended yet (a timer callback's) commit first.
    this.engine?.endOfTurn();
    if (this.ending) return;
    if (port.gateClosed()) return this.armIdleTimer(config.idleTimeoutMs);
    const wait = native.tryRetire(config.idleTimeoutMs);
    if (wait > 0) return this.armIdleTimer(wait);
    log.info('instance.evict', { reason: 'idle' });
    recycleThread();
  }
}

let host = new Host();
sockets.setInputGate((method, payload) => host.holdSocketEvent(method, payload));

/** While this thread is idle in a pool: when it asks whether it may exit. */
let poolTimer = null;

function armPoolTimer() {
  clearTimeout(poolTimer);
  poolTimer = setTimeout(() => {
    poolTimer = null;
    if (host.begun) return; // hosting again
    if (native.leavePool()) process.exit(0);
    armPoolTimer();
  }, Math.max(1, config.idleTimeoutMs));
}

/** Torn down, not handed back yet (a `Stop` queued meanwhile is for what was torn down). */
let handingBack = false;

/**
 * The instance stopped: tear it down and hand the thread back to the hub, which may give it
 * the next instance of the same code at once. A thread the hub does not keep exits.
 */
function recycleThread() {
  log.recycled();
  try {
    host.teardown();
  } catch (e) {
    // A thread that cannot be cleaned is not reused.
    report('internal error:', e);
    process.exit(1);
  }
  host = new Host();
  handingBack = true;
  // Handed back on the next macrotask: what the stopped instance's code still had queued
  // as microtasks runs (against its closed storage) before any next instance starts here.
  setImmediate(() => {
    handingBack = false;
    if (!native.recycle()) process.exit(0);
    armPoolTimer();
    // The hub may have queued the next instance's start already.
    port.scheduleSpin();
  });
}

/**
 * Loads `main`, then attaches to the hub. Not a top-level `await`: V8 can abort the whole
 * process when a thread is terminated (dispose, a stuck stop) or exits while a module with
 * top-level await is still evaluating (nodejs/node#43182, #53238); this module's own
 * evaluation ends synchronously, and the loading runs as an ordinary async function.
 */
async function boot() {
  try {
    mainModule = await importUserModule(config.main);
    checkWorkerExports(mainModule);
  } catch (e) {
    mainModule = null;
    loadError = e;
  }
  attach();
}

function attach() {
  try {
    port.attachWorker(tid, {
      start: (ns, idHex, name) => host.start(ns, idHex, name),
      startFacet: (entry, startup) => host.startFacet(entry, startup),
      evict: () => host.evict(),
      // Also for a host that never began: the hub may stop an instance whose start it had
      // queued but this thread had not taken yet (the stop cleared the queue).
      stop: () => {
        if (!host.ending && !handingBack) recycleThread();
      },
      call: (callId, method, payload) => host.onCall(callId, method, payload),
      error: (e) => report('internal error:', e),
    }, beat);
    parentPort.postMessage({ kind: 'durable-facets:ready' });
    armPoolTimer();
  } catch {
    // The runtime was disposed while this thread started.
    process.exit(0);
  }
}

boot();
