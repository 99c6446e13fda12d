// The main-thread Runtime: validates options, builds `rt.env`, supervises the worker
// threads the Rust hub asks for, and disposes of everything.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { native } from './native.js';
import * as port from './port.js';
import { normalizeOptions } from './options.js';
import { DurableObjectNamespace } from './namespace.js';
import { AlarmScheduler } from './alarm-scheduler.js';
import { encodeError } from './codec.js';
import { withCode } from './error-codes.js';
import { setTimeout, clearTimeout, setInterval, clearInterval, now } from './timers.js';
import { v8HeapLimitMb, threadDeathReason } from './memory-limit.js';
import { ENTRY_KEY, entrySender, entryFetch, entrypointStub } from './entry.js';
import { GC_LOCK } from './gc.js';
import { Logger, DIAG_MESSAGE } from './diagnostics.js';

const CPU_LIMIT = 'Durable Object exceeded its CPU time limit.';

/** The entry module of runtime threads (it evaluates worker/host.js). */
const THREAD_URL = new URL('./worker/thread.js', import.meta.url);

/**
 * rt.listen()'s module, loaded by the first listen(): it brings node:http and `ws`, 50–250 ms
 * of a process's import of the package that a runtime not serving HTTP does without.
 */
let listenModule = null;
const loadListen = () => (listenModule ??= import('./listen.js'));

/** Flags of every runtime thread: the module loader needs vm modules (see worker/loader.js). */
const WORKER_EXEC_ARGV = ['--experimental-vm-modules', '--experimental-import-meta-resolve'];

/** @type {Map<number, Supervisor>} runtimes of this thread, by hub runtime id */
const supervisors = new Map();

/**
 * Threads an instance waits for start at once. Threads that refill the warm pool start a
 * little later: a worker's boot takes a core for tens of ms, which would otherwise compete
 * with the instance that just took a pool thread (measured: a cold facet's first call 4.4 → 2.4–2.9 ms median).
 */
const REFILL_DELAY_MS = 50;

/**
 * Threads booting at once per runtime. A boot is CPU-bound (30–60 ms here): two hundred at
 * once only make each slower, while instances that finish meanwhile hand their threads back
 * (recycled) to those still waiting. The hub re-checks each boot's need when it starts.
 */
const MAX_BOOTING = Math.max(2, availableParallelism());

/**
 * How long a stopped instance's thread may take to tear down and come back to the pool
 * before it is terminated (one stuck in a loop never would).
 */
const STOP_GRACE_MS = 250;

/** How long a spare thread nobody took waits before it ends (see startSpare). */
const SPARE_IDLE_MS = 5000;

/** How long dispose() waits for file work still under way (see Runtime.dispose). */
const FILE_WORK_WAIT_MS = 5000;

function onSpawn(rt, count, urgent) {
  const supervisor = supervisors.get(rt);
  if (supervisor === undefined) return;
  if (urgent) supervisor.spawnNow(count);
  else supervisor.spawnSoon(count);
}

function onAlarm(rt, [ns, idHex, name], time) {
  supervisors.get(rt)?.alarms.set(ns, idHex, name, time);
}

function onTerminate(rt, tid) {
  supervisors.get(rt)?.endIfStuck(tid);
}

/** @internal (lib/testing.js) The alarm scheduler of runtime `rt` of this thread, if any. */
export function alarmSchedulerOf(rt) {
  return supervisors.get(rt)?.alarms;
}

/**
 * A runtime thread started before a runtime needs it: `{ worker, memoryLimitMb, timer }`.
 * A process that disposed a runtime is likely to create another (one Runtime per test):
 * its first thread is then this one, which has evaluated the runtime's modules meanwhile —
 * most of a thread's start-up (see worker/thread.js). Unreferenced; ends unused after
 * SPARE_IDLE_MS. One per thread that creates runtimes.
 */
let spare = null;

function threadOptions(workerData, memoryLimitMb) {
  return {
    workerData,
    execArgv: WORKER_EXEC_ARGV,
    resourceLimits: { maxOldGenerationSizeMb: v8HeapLimitMb(memoryLimitMb) },
  };
}

function startSpare(memoryLimitMb) {
  if (spare !== null) {
    if (spare.memoryLimitMb === memoryLimitMb) return;
    // The latest runtime's heap limit is the likely next one's.
    const { worker } = spare;
    takeSpare(spare.memoryLimitMb);
    worker.terminate();
  }
  let worker;
  try {
    // The GC lock now, not with the hand-over: lib/gc.js reads it when the preloads evaluate it.
    worker = new Worker(THREAD_URL, threadOptions({ spare: true, gcLock: GC_LOCK }, memoryLimitMb));
  } catch {
    return;
  }
  const entry = { worker, memoryLimitMb, timer: null };
  const drop = () => {
    if (spare !== entry) return;
    spare = null;
    clearTimeout(entry.timer);
  };
  // Nothing a spare reports matters until a runtime takes it.
  worker.on('error', drop);
  worker.on('exit', drop);
  worker.unref();
  entry.timer = setTimeout(() => {
    drop();
    worker.terminate();
  }, SPARE_IDLE_MS);
  entry.timer.unref();
  spare = entry;
}

/** The spare thread, if there is one for this heap limit (it is then the caller's). */
function takeSpare(memoryLimitMb) {
  const entry = spare;
  if (entry === null || entry.memoryLimitMb !== memoryLimitMb) return null;
  spare = null;
  clearTimeout(entry.timer);
  entry.worker.removeAllListeners('error');
  entry.worker.removeAllListeners('exit');
  return entry.worker;
}

/** Starts and tracks one runtime's worker threads. */
class Supervisor {
  /** @type {Map<number, Worker>} */
  workers = new Map();

  /** Per thread, under a CPU limit: when its current turn started (ms; 0 when parked). */
  beats = new Map();
  watchdog = null;

  constructor(rt, workerConfig, alarmRetryBaseMs, cpuTimeoutMs) {
    this.rt = rt;
    this.workerConfig = workerConfig;
    this.log = new Logger(workerConfig.logLevel, { namespaces: workerConfig.namespaces });
    this.alarms = new AlarmScheduler(rt, alarmRetryBaseMs, this.log);
    this.cpuTimeoutMs = cpuTimeoutMs;
    if (cpuTimeoutMs !== null) {
      this.watchdog = setInterval(() => this.checkCpu(), Math.max(5, Math.floor(cpuTimeoutMs / 4)));
      this.watchdog.unref();
    }
  }

  /** Breaks every thread whose current synchronous run exceeds the CPU limit. */
  checkCpu() {
    const t = now();
    for (const [tid, beat] of this.beats) {
      if (beat[0] !== 0 && t - beat[0] > this.cpuTimeoutMs) {
        this.beats.delete(tid);
        // Never recycled: no instance may start on it before it is gone.
        native.breakThread(tid, encodeError(withCode(new Error(CPU_LIMIT), 'CpuLimit')));
        this.workers.get(tid)?.terminate();
      }
    }
  }

  /** Pool refills not started yet (see REFILL_DELAY_MS). */
  deferred = 0;
  deferTimer = null;

  /**
   * Whether a thread of this runtime has booted. Until then the warm pool waits: its threads
   * would compete for the cores with the first instance's, which a caller awaits (a new
   * Runtime's first call took 1.5× longer with the default two warm threads booting).
   */
  booted = false;

  spawnSoon(count) {
    this.deferred += count;
    if (!this.booted) return;
    this.deferTimer ??= setTimeout(() => this.spawnNow(0), REFILL_DELAY_MS);
    this.deferTimer.unref();
  }

  /** The first thread of this runtime booted: the warm pool may fill now (a little later). */
  firstBoot() {
    this.booted = true;
    if (this.deferred > 0) this.spawnSoon(0);
  }

  /** Starts `count` threads now, and any deferred refill with them (someone is waiting). */
  spawnNow(count) {
    if (!this.booted) return this.spawn(count);
    clearTimeout(this.deferTimer);
    this.deferTimer = null;
    const n = count + this.deferred;
    this.deferred = 0;
    this.spawn(n);
  }

  /** Threads asked for and not started yet (see MAX_BOOTING). */
  queued = 0;
  /** Threads started that have not attached (or died) yet. */
  booting = 0;

  spawn(count) {
    this.queued += count;
    this.bootQueued();
  }

  /** The thread of a stopped instance must come back within STOP_GRACE_MS or end. */
  endIfStuck(tid) {
    const timer = setTimeout(() => {
      if (native.condemn(tid)) this.workers.get(tid)?.terminate();
    }, STOP_GRACE_MS);
    timer.unref();
  }

  /** Starts queued threads while fewer than MAX_BOOTING boot. */
  bootQueued() {
    while (this.queued > 0 && this.booting < MAX_BOOTING) {
      this.queued--;
      let tid;
      try {
        tid = native.reserveThread(this.rt);
      } catch {
        this.queued = 0;
        return; // disposed meanwhile
      }
      if (tid === 0) continue; // no longer needed
      this.boot(tid);
    }
  }

  /** Starts worker thread `tid` (reserved in the hub). */
  boot(tid) {
    let worker;
    try {
      const beat = this.cpuTimeoutMs === null ? null : new Float64Array(new SharedArrayBuffer(8));
      if (beat !== null) this.beats.set(tid, beat);
      const data = { tid, config: this.workerConfig, beat, gcLock: GC_LOCK };
      worker = takeSpare(this.workerConfig.memoryLimitMb);
      if (worker !== null) {
        // A Worker copies process.env when it is created, the spare maybe seconds ago: it
        // gets the environment of now, as a thread started now would.
        worker.postMessage({ ...data, env: { ...process.env } });
        // Runtimes come one after another here (one per test): the next one's spare boots
        // while this one works, since a spare started only at dispose() would not be ready
        // for a runtime created right after it.
        const memoryLimitMb = this.workerConfig.memoryLimitMb;
        setImmediate(() => startSpare(memoryLimitMb));
      } else worker = new Worker(THREAD_URL, threadOptions(data, this.workerConfig.memoryLimitMb));
    } catch (e) {
      native.threadExited(tid);
      process.emitWarning(`durable-facets: could not start a thread: ${e.message}`);
      return;
    }
    this.booting++;
    let booted = false;
    const bootEnded = () => {
      if (booted) return;
      booted = true;
      this.booting--;
      if (!this.booted) this.firstBoot();
      this.bootQueued();
    };
    // Nothing a thread reports is swallowed (SPEC §3): its log lines (an instance's
    // uncaught exceptions, see worker/host.js) and an error that ended it go to this
    // thread's console.error. The hub rejects the calls addressed to a thread that died.
    // (The first 'message' listener refs the worker's port: add it before unref().)
    worker.on('message', (m) => {
      if (m?.kind === 'durable-facets:log') console.error(m.text);
      else if (m?.kind === 'durable-facets:ready') bootEnded();
      else if (m?.kind === DIAG_MESSAGE) this.log.forward(m, tid);
    });
    // Threads never keep the process alive by themselves; the main thread's port does
    // while a call is in flight.
    worker.unref();
    // Why it died, when Node says (out of memory): the calls addressed to it get that.
    // Every error a thread ends with is logged too: nothing a thread reports is swallowed.
    let death;
    worker.on('error', (e) => {
      death = threadDeathReason(e, this.workerConfig.memoryLimitMb) ?? death;
      console.error('durable-facets: a runtime thread ended with an uncaught error:', e);
      this.log.threadError(tid, e);
    });
    worker.on('exit', (exitCode) => {
      this.log.threadExit(tid, exitCode);
      bootEnded();
      this.workers.delete(tid);
      this.beats.delete(tid);
      native.threadExited(tid, death && encodeError(death));
    });
    this.workers.set(tid, worker);
    this.log.debug('thread.start', { thread: tid });
  }

  async terminateAll() {
    clearInterval(this.watchdog);
    clearTimeout(this.deferTimer);
    await Promise.all([...this.workers.values()].map((w) => w.terminate()));
    this.workers.clear();
  }
}

/**
 * Hosts Durable Object classes: `new Runtime({ main, durableObjects: { ROOMS: "Room" } })`.
 */
export class Runtime {
  #rt;
  #config;
  #supervisor;
  #disposed = null;
  /** Sends a call to the entry point (the default export of `main`, see lib/entry.js). */
  #entry;
  #entrypoint = null;
  /** Listeners of rt.listen() not closed yet. */
  #listeners = new Set();

  /** Namespace bindings and vars, for the main thread. */
  env;

  /**
   * A runtime configured by a wrangler configuration (`wrangler.jsonc`, `.json`, `.toml`),
   * with `overrides` merged over the options read: see lib/wrangler-config.js.
   * @param {string | URL} configPath
   * @param {Record<string, unknown> & { env?: string }} [overrides]
   * @returns {Promise<Runtime>}
   */
  static async fromWranglerConfig(configPath, overrides) {
    // Loaded on demand: the parsers are of no use to runtimes built from options.
    const { readWranglerConfig } = await import('./wrangler-config.js');
    return new this(await readWranglerConfig(configPath, overrides));
  }

  /** @param {import('../index.js').RuntimeOptions} options */
  constructor(options) {
    const config = normalizeOptions(options);
    this.#config = config;
    port.attachCaller({
      spawn: onSpawn,
      alarm: onAlarm,
      terminate: onTerminate,
      error: (e) => process.emitWarning(`durable-facets: internal error: ${e?.stack ?? e}`),
    });
    // The entry point is the one instance of a hidden stateless namespace, the last one.
    const entryNamespace = config.namespaces.length;
    const rt = native.createRuntime(
      [...config.namespaces.map((n) => n.uniqueKey), ENTRY_KEY],
      [...config.namespaces.map((n) => n.facetFailure === 'isolate'), false],
      config.warmThreads,
      config.storage,
      config.synchronous === 'full',
      config.maxRunningFacets,
    );
    this.#rt = rt;
    this.#entry = entrySender(rt, entryNamespace);
    this.#supervisor = new Supervisor(rt, {
      rt,
      main: config.main,
      namespaces: config.namespaces,
      bindings: config.bindings,
      classes: config.classes,
      workerLoaders: config.workerLoaders,
      vars: config.vars,
      idleTimeoutMs: config.idleTimeoutMs,
      memoryLimitMb: config.memoryLimitMb,
      logLevel: config.logLevel,
      entryNamespace,
    }, config.alarmRetryBaseMs, config.cpuTimeoutMs);
    supervisors.set(rt, this.#supervisor);
    // Alarms set by earlier runs wake their objects again. A namespace whose alarm index
    // (metadata.sqlite) is damaged loses its alarms only: say so once, naming the file.
    if (config.storage !== null) {
      for (const [ns, idHex, name, time] of native.storedAlarms(rt)) {
        this.#supervisor.alarms.set(ns, idHex, name, time);
      }
      for (const message of native.alarmIndexErrors(rt)) console.error(`durable-facets: ${message}`);
    }
    const namespaces = config.namespaces.map((_, i) => new DurableObjectNamespace(rt, i, `${rt}:${i}`));
    this.env = Object.freeze({
      ...config.vars,
      ...Object.fromEntries(config.bindings.map(([name, ns]) => [name, namespaces[ns]])),
    });
  }

  /** The namespace index of binding `binding` (a namespace binding of this runtime). */
  #namespace(binding) {
    const ns = this.env[binding];
    if (!(ns instanceof DurableObjectNamespace)) {
      throw withCode(new TypeError(`"${binding}" is not a Durable Object namespace binding of this runtime.`), 'InvalidArgument');
    }
    return ns;
  }

  /**
   * The stored facet tree of one object, read without going through the object:
   * `{ id, facets: [{ name, facetId, databaseSize, running }] }`, root first (`name: ""`),
   * then full names (`foo/bar`) sorted.
   * @param {string} binding a namespace binding
   * @param {import('./ids.js').DurableObjectId | string} idOrName an id, or a name
   */
  async inspect(binding, idOrName) {
    const ns = this.#namespace(binding);
    const id = typeof idOrName === 'string' ? ns.idFromName(idOrName) : ns.get(idOrName).id;
    const nsIndex = this.#config.bindings.find(([b]) => b === binding)[1];
    const rows = native.inspectObject(this.#rt, nsIndex, id.toString());
    return {
      id: id.toString(),
      facets: rows.map(([name, facetId, databaseSize, running]) => ({ name, facetId, databaseSize, running })),
    };
  }

  /**
   * Ids (64 hex) of the objects of a namespace that have storage.
   * @param {string} binding a namespace binding
   */
  async listIds(binding) {
    this.#namespace(binding);
    const nsIndex = this.#config.bindings.find(([b]) => b === binding)[1];
    return native.listIds(this.#rt, nsIndex);
  }

  /**
   * Calls the `fetch` of `main`'s default export (an object `{ fetch(request, env, ctx) }` or
   * a class extending WorkerEntrypoint) on a runtime thread, with the env objects see.
   * @param {RequestInfo | URL} input
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   */
  fetch(input, init) {
    return entryFetch(this.#entry, input, init);
  }

  /**
   * A stub of the entry point, as a service binding: `fetch()` and the RPC methods of a
   * default export that extends WorkerEntrypoint.
   */
  get entrypoint() {
    return (this.#entrypoint ??= entrypointStub(this.#entry));
  }

  /**
   * Serves HTTP with the entry point's `fetch` (as `wrangler dev`).
   * @param {{ port?: number, hostname?: string }} [options] `port: 0` (the default) picks a
   *   free port; `hostname` defaults to 127.0.0.1
   * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
   */
  async listen(options) {
    if (this.#disposed !== null) throw withCode(new Error('The Durable Object runtime has been disposed.'), 'Disposed');
    const { listen, CLOSE_ALL } = await loadListen();
    const listener = await listen((request) => this.fetch(request), options, (l) => this.#listeners.delete(l));
    this.#listeners.add(listener);
    if (this.#disposed !== null) listener[CLOSE_ALL]();
    return listener;
  }

  /**
   * Rejects calls in flight, ends every thread of this runtime and releases everything it
   * holds. Idempotent.
   * @returns {Promise<void>}
   */
  dispose() {
    this.#disposed ??= (async () => {
      // Listeners stop accepting first; the requests they still serve are rejected below
      // (and answered 500), then their connections end.
      const listeners = [...this.#listeners];
      const closed = listeners.map((l) => l.close());
      native.disposeRuntime(this.#rt);
      this.#supervisor.alarms.dispose();
      supervisors.delete(this.#rt);
      port.pumpNow();
      await this.#supervisor.terminateAll();
      if (listeners.length > 0) {
        const { CLOSE_ALL } = await loadListen();
        for (const l of listeners) l[CLOSE_ALL]();
      }
      await Promise.all(closed);
      // Databases released in their object's order of file work may still be closing on
      // threads of their own: a runtime opened next on the same directory must not meet
      // them. Bounded, so a stuck file system cannot hang dispose().
      const deadline = now() + FILE_WORK_WAIT_MS;
      while (native.fileWorkPending() > 0 && now() < deadline) await new Promise((r) => setTimeout(r, 2));
      startSpare(this.#config.memoryLimitMb);
    })();
    return this.#disposed;
  }

  [Symbol.asyncDispose]() {
    return this.dispose();
  }
}
