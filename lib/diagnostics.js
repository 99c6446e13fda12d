// Diagnostics: one line on stderr per lifecycle event of a runtime (threads starting,
// instances starting, being recycled or evicted, alarms running, retrying or failing,
// threads ending with an error), each naming the object it concerns. Off by default;
// turned on by the `logLevel` Runtime option or by `DEBUG=durable-facets` as the `debug`
// package reads it (so one `DEBUG=...` line can switch several libraries on at once).
//
// Worker threads do not write to stderr themselves: their stdio reaches the main thread
// asynchronously and is lost when a thread is terminated, which is exactly when a line
// matters. They post each record to their supervisor (lib/runtime.js), which writes it.
import { isMainThread, parentPort } from 'node:worker_threads';

/** The namespace `DEBUG` patterns are matched against. */
export const DEBUG_NAMESPACE = 'durable-facets';

/** Levels, quietest first. A record is written when its level ≤ the runtime's level. */
export const LOG_LEVELS = Object.freeze(['silent', 'error', 'warn', 'info', 'debug']);

/** Kind of the message a worker thread posts for one record. */
export const DIAG_MESSAGE = 'durable-facets:diag';

const RANK = new Map(LOG_LEVELS.map((l, i) => [l, i]));

/**
 * Whether a `DEBUG` value enables `namespace`, with the `debug` package's rules: names
 * separated by commas or spaces, `*` matches any run of characters, a name starting with
 * `-` disables, and a disabling name wins over an enabling one.
 * @param {string | undefined} value the `DEBUG` environment variable
 * @param {string} [namespace]
 */
export function debugEnables(value, namespace = DEBUG_NAMESPACE) {
  if (typeof value !== 'string' || value === '') return false;
  let enabled = false;
  for (const raw of value.split(/[\s,]+/)) {
    if (raw === '') continue;
    const negated = raw.startsWith('-');
    const pattern = negated ? raw.slice(1) : raw;
    const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*?')}$`);
    if (!re.test(namespace)) continue;
    if (negated) return false;
    enabled = true;
  }
  return enabled;
}

function escapeRegExp(s) {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The `logLevel` option, validated; `DEBUG=durable-facets` raises it to `"debug"` (a
 * developer turns logging on without touching code that chose a quieter level).
 * @param {unknown} value the option as given (undefined: not given)
 * @param {string | undefined} [debugEnv] `process.env.DEBUG`
 * @returns {'silent' | 'error' | 'warn' | 'info' | 'debug'}
 * @throws {TypeError} naming the accepted values
 */
export function resolveLogLevel(value, debugEnv = process.env.DEBUG) {
  if (value !== undefined && !RANK.has(value)) {
    throw new TypeError(
      `options.logLevel must be one of ${LOG_LEVELS.map((l) => JSON.stringify(l)).join(', ')}, got ${
        typeof value === 'string' ? JSON.stringify(value) : String(value)
      }.`,
    );
  }
  return debugEnables(debugEnv) ? 'debug' : (value ?? 'silent');
}

/**
 * The first line of an error's message (or of the thrown value), for a record. Never
 * throws: user code can throw anything, a revoked Proxy included.
 * @param {unknown} e
 */
export function errorText(e) {
  try {
    const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return text.split('\n')[0];
  } catch {
    return '[a value that cannot be described]';
  }
}

/** `key=value` pairs; strings with spaces or quotes are JSON-quoted, absent values left out. */
function formatFields(fields) {
  const parts = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || v === null || v === '') continue;
    const s = String(v);
    parts.push(`${k}=${/^[\w./:@-]+$/.test(s) ? s : JSON.stringify(s)}`);
  }
  return parts.join(' ');
}

/**
 * One line: `durable-facets <ISO time> <LEVEL> <event> key=value …`.
 * @param {string} level
 * @param {string} event e.g. `instance.start`
 * @param {Record<string, unknown>} fields
 */
export function formatRecord(level, event, fields, time = new Date()) {
  const tail = formatFields(fields);
  return `${DEBUG_NAMESPACE} ${time.toISOString()} ${level.toUpperCase().padEnd(5)} ${event}${tail ? ` ${tail}` : ''}`;
}

/** Writes records of one runtime at or above its level. */
export class Logger {
  /**
   * @param {string} level the resolved level (see resolveLogLevel)
   * @param {{ sink?: (line: string, level: string) => void,
   *   namespaces?: Array<{className: string, bindings: string[]}> }} [options] `sink`: where
   *   lines go (default: stderr); `namespaces`: the runtime's, to name objects by binding
   */
  constructor(level, { sink = writeStderr, namespaces = [] } = {}) {
    this.rank = RANK.get(level) ?? 0;
    this.sink = sink;
    this.namespaces = namespaces;
  }

  /** Whether records of `level` are written (callers skip building costly fields otherwise). */
  enabled(level) {
    return RANK.get(level) <= this.rank;
  }

  /**
   * @param {'error' | 'warn' | 'info' | 'debug'} level
   * @param {string} event e.g. `alarm.retry`
   * @param {Record<string, unknown>} [fields]
   */
  log(level, event, fields = {}) {
    if (!this.enabled(level)) return;
    try {
      this.sink(formatRecord(level, event, fields), level);
    } catch {} // logging never breaks what it describes
  }

  error(event, fields) { this.log('error', event, fields); }
  warn(event, fields) { this.log('warn', event, fields); }
  info(event, fields) { this.log('info', event, fields); }
  debug(event, fields) { this.log('debug', event, fields); }

  /**
   * Identity fields of a root object of namespace `ns`: its binding and class, id, name.
   * @param {number} ns @param {string} idHex @param {string | null} [name]
   */
  object(ns, idHex, name) {
    const n = this.namespaces[ns];
    return { binding: n?.bindings[0], class: n?.className, id: idHex, name };
  }

  // --- main thread: what threads post (lib/runtime.js Supervisor) ---

  /** @type {Map<number, Record<string, unknown>>} what each thread hosts, as it last said */
  hosting = new Map();

  /** A record thread `tid` posted: written if enabled here; what it hosts is remembered. */
  forward(message, tid) {
    if (message.hosting !== undefined) {
      if (message.hosting === null) this.hosting.delete(tid);
      else this.hosting.set(tid, message.hosting);
    }
    if (message.line != null && this.enabled(message.level)) {
      try {
        this.sink(message.line, message.level);
      } catch {}
    }
  }

  /** Thread `tid` ended with an uncaught error (out of memory, a crash while loading). */
  threadError(tid, error) {
    this.error('thread.error', { thread: tid, ...this.hosting.get(tid), error: errorText(error) });
  }

  /** Thread `tid` ended. */
  threadExit(tid, exitCode) {
    this.debug('thread.exit', { thread: tid, ...this.hosting.get(tid), exitCode });
    this.hosting.delete(tid);
  }
}

function writeStderr(line) {
  process.stderr.write(`${line}\n`);
}

/**
 * The logger of a runtime thread (lib/worker/host.js): every record names the instance the
 * thread hosts, and goes to the supervisor (see the header comment).
 */
class WorkerLogger extends Logger {
  /** Identity fields of the hosted instance (empty while the thread is in the pool). */
  current = {};

  constructor(config, tid) {
    super(config.logLevel ?? 'silent', { namespaces: config.namespaces });
    this.tid = tid;
  }

  log(level, event, fields = {}) {
    if (!this.enabled(level)) return;
    this.#post({ level, line: formatRecord(level, event, { thread: this.tid, ...this.current, ...fields }) });
  }

  /**
   * An instance starts on this thread. `rootNs` is the namespace of its root object (a
   * facet is named by the binding of the object it belongs to, its class and facet path);
   * an entry point by its export name (`entrypoint=default`), as it has no id.
   */
  started({ rootNs, className, id, name, facet, entrypoint }) {
    if (this.rank === 0) return; // silent: nothing to remember either
    const root = this.namespaces[rootNs];
    this.current = { entrypoint, binding: root?.bindings[0], class: className, id: id === undefined ? undefined : String(id), name, facet };
    // The supervisor remembers it even below `info`, to name this thread if it dies.
    this.#post({ hosting: this.current });
    this.info(facet ? 'facet.start' : 'instance.start');
  }

  /** The instance stopped and the thread goes back to the pool (or ends). */
  recycled() {
    if (this.rank === 0) return;
    this.debug('thread.recycle');
    this.current = {};
    this.#post({ hosting: null });
  }

  #post(message) {
    if (isMainThread) {
      if (message.line != null) writeStderr(message.line);
      return;
    }
    try {
      parentPort.postMessage({ kind: DIAG_MESSAGE, ...message });
    } catch {}
  }
}

/**
 * The logger of runtime thread `tid`, at the runtime's level.
 * @param {{ logLevel?: string, namespaces: Array<{className: string, bindings: string[]}> }} config
 * @param {number} tid
 */
export function workerLogger(config, tid) {
  return new WorkerLogger(config, tid);
}
