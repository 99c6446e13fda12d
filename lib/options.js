// Validation of `new Runtime(options)`: every mistake is a TypeError/Error that names the
// offending option, thrown at construction.
import fs from 'node:fs';
import path from 'node:path';
import { totalmem } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encode } from './codec.js';
import { withCode } from './error-codes.js';
import { resolveLogLevel } from './diagnostics.js';

const KNOWN = new Set([
  'logLevel',
  'main',
  'durableObjects',
  'classes',
  'vars',
  'storage',
  'idleTimeoutMs',
  'maxRunningFacets',
  'warmThreads',
  'facetFailure',
  'synchronous',
  'alarmRetryBaseMs',
  'cpuTimeoutMs',
  'workerLoaders',
  'memoryLimitMb',
]);

const BINDING_NAME = /^[A-Za-z_$][\w$]*$/;

function isPlainObject(v) {
  if (v === null || typeof v !== 'object') return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/** A file path or file: URL (object or string) → absolute path. */
function toPath(value, option, baseDir) {
  if (value instanceof URL) {
    if (value.protocol !== 'file:') throw new TypeError(`${option} must be a file path or a file: URL.`);
    return fileURLToPath(value);
  }
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${option} must be a file path or a file: URL.`);
  }
  if (value.startsWith('file:')) return fileURLToPath(value);
  return path.resolve(baseDir, value);
}

function moduleUrl(value, option, baseDir) {
  const file = toPath(value, option, baseDir);
  let stat;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new Error(`${option}: module not found: ${file}`);
  }
  if (!stat.isFile()) throw new Error(`${option}: not a file: ${file}`);
  return pathToFileURL(file).href;
}

/**
 * Node's timers take at most 2³¹−1 ms (a longer delay fires after 1 ms, with a warning), and
 * the core keeps counts in 32-bit integers: every numeric option stays within that range.
 */
const MAX_INT32 = 2 ** 31 - 1;

/**
 * A numeric option: a TypeError for a value that is not a (finite, integral where required)
 * number, a RangeError naming the option for one outside [min, 2³¹−1].
 */
function number(options, key, { min, integer, fallback }) {
  const v = options[key];
  if (v === undefined) return fallback;
  const kind = integer ? 'an integer' : 'a number';
  if (typeof v !== 'number' || Number.isNaN(v) || (integer && Number.isFinite(v) && !Number.isInteger(v))) {
    throw new TypeError(`options.${key} must be ${kind}, got ${describe(v)}.`);
  }
  if (v < min || v > MAX_INT32) {
    throw new RangeError(`options.${key} must be ${kind} from ${min} to ${MAX_INT32}, got ${describe(v)}.`);
  }
  return v;
}

function describe(v) {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function oneOf(options, key, values) {
  const v = options[key];
  if (v === undefined) return values[0];
  if (!values.includes(v)) {
    throw new TypeError(`options.${key} must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}.`);
  }
  return v;
}

function bindingName(name, option) {
  if (!BINDING_NAME.test(name)) {
    throw new TypeError(`${option}: "${name}" is not a valid binding name.`);
  }
}

/**
 * @param {unknown} options
 * @returns the normalized configuration
 * @throws {TypeError | RangeError | Error} naming the offending option, with
 *   `code: "ERR_DO_INVALID_OPTION"` whatever its class
 */
export function normalizeOptions(options) {
  try {
    return normalize(options);
  } catch (err) {
    if (err instanceof Error && err.code === undefined) withCode(err, 'InvalidOption');
    throw err;
  }
}

function normalize(options) {
  if (!isPlainObject(options)) throw new TypeError('Runtime options must be an object.');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`Unknown Runtime option "${key}".`);
  }
  if (options.main === undefined) throw new TypeError('options.main is required: the module that exports your Durable Object classes.');
  const main = moduleUrl(options.main, 'options.main', process.cwd());
  const mainDir = path.dirname(fileURLToPath(main));

  const taken = new Set();
  const claim = (name, option) => {
    bindingName(name, option);
    if (taken.has(name)) throw new TypeError(`${option}: binding name "${name}" is used twice.`);
    taken.add(name);
  };

  // Namespaces: bindings resolving to one uniqueKey are aliases of one namespace.
  const namespaces = [];
  const byKey = new Map();
  const bindings = [];
  const dos = options.durableObjects ?? {};
  if (!isPlainObject(dos)) throw new TypeError('options.durableObjects must be an object of binding → class name.');
  for (const [binding, spec] of Object.entries(dos)) {
    const option = `options.durableObjects.${binding}`;
    claim(binding, option);
    const s = typeof spec === 'string' ? { className: spec } : spec;
    if (!isPlainObject(s) || typeof s.className !== 'string' || s.className === '') {
      throw new TypeError(`${option} must be a class name or { className, uniqueKey?, facetFailure? }.`);
    }
    for (const k of Object.keys(s)) {
      if (!['className', 'uniqueKey', 'facetFailure'].includes(k)) {
        throw new TypeError(`${option}: unknown field "${k}".`);
      }
    }
    const uniqueKey = s.uniqueKey ?? s.className;
    if (typeof uniqueKey !== 'string' || uniqueKey === '' || /[/\\\0]/.test(uniqueKey) || uniqueKey === '.' || uniqueKey === '..') {
      throw new TypeError(`${option}.uniqueKey must be a non-empty string usable as a directory name.`);
    }
    if (s.facetFailure !== undefined && s.facetFailure !== 'object' && s.facetFailure !== 'isolate') {
      throw new TypeError(`${option}.facetFailure must be "object" or "isolate".`);
    }
    let ns = byKey.get(uniqueKey);
    if (ns === undefined) {
      ns = namespaces.length;
      byKey.set(uniqueKey, ns);
      namespaces.push({ className: s.className, uniqueKey, facetFailure: s.facetFailure, bindings: [binding] });
    } else {
      const existing = namespaces[ns];
      if (existing.className !== s.className) {
        throw new TypeError(
          `${option}: uniqueKey "${uniqueKey}" already names class "${existing.className}", not "${s.className}".`,
        );
      }
      if (s.facetFailure !== undefined && existing.facetFailure !== undefined && s.facetFailure !== existing.facetFailure) {
        throw new TypeError(`${option}.facetFailure conflicts with another binding of namespace "${uniqueKey}".`);
      }
      existing.facetFailure ??= s.facetFailure;
      existing.bindings.push(binding);
    }
    bindings.push([binding, ns]);
  }

  // Class bindings (facet classes; used by the facets milestone).
  const classes = [];
  const cls = options.classes ?? {};
  if (!isPlainObject(cls)) throw new TypeError('options.classes must be an object of binding → { className, module?, props? }.');
  for (const [binding, spec] of Object.entries(cls)) {
    const option = `options.classes.${binding}`;
    claim(binding, option);
    if (!isPlainObject(spec) || typeof spec.className !== 'string' || spec.className === '') {
      throw new TypeError(`${option} must be { className, module?, props? }.`);
    }
    const module = spec.module === undefined ? main : moduleUrl(spec.module, `${option}.module`, mainDir);
    if (spec.props !== undefined) {
      try {
        encode(spec.props);
      } catch {
        throw new TypeError(`${option}.props must be a structured-cloneable value.`);
      }
    }
    classes.push({ binding, className: spec.className, module, props: spec.props ?? {} });
  }

  const vars = options.vars ?? {};
  if (!isPlainObject(vars)) throw new TypeError('options.vars must be an object.');
  for (const [name, value] of Object.entries(vars)) {
    claim(name, `options.vars.${name}`);
    try {
      encode(value);
    } catch {
      throw new TypeError(`options.vars.${name} must be a structured-cloneable value.`);
    }
  }

  const workerLoaders = options.workerLoaders ?? [];
  if (!Array.isArray(workerLoaders) || workerLoaders.some((n) => typeof n !== 'string')) {
    throw new TypeError('options.workerLoaders must be an array of binding names.');
  }
  for (const name of workerLoaders) claim(name, `options.workerLoaders`);

  let storage = null;
  if (options.storage !== undefined) {
    storage = toPath(options.storage, 'options.storage', process.cwd());
  }

  const facetFailure = oneOf(options, 'facetFailure', ['object', 'isolate']);
  for (const ns of namespaces) ns.facetFailure ??= facetFailure;

  return {
    main,
    namespaces,
    bindings,
    classes,
    vars,
    workerLoaders,
    storage,
    idleTimeoutMs: number(options, 'idleTimeoutMs', { min: 1, fallback: 10_000 }),
    maxRunningFacets: number(options, 'maxRunningFacets', { min: 1, integer: true, fallback: defaultMaxRunning(options) }),
    warmThreads: number(options, 'warmThreads', { min: 0, integer: true, fallback: 2 }),
    facetFailure,
    synchronous: oneOf(options, 'synchronous', ['normal', 'full']),
    alarmRetryBaseMs: number(options, 'alarmRetryBaseMs', { min: 1, fallback: 1000 }),
    cpuTimeoutMs: options.cpuTimeoutMs === undefined ? null : number(options, 'cpuTimeoutMs', { min: 1 }),
    // A thread needs a few MB for the runtime itself; below 16 MB every instance would break.
    memoryLimitMb: number(options, 'memoryLimitMb', { min: 16, integer: true, fallback: 128 }),
    logLevel: resolveLogLevel(options.logLevel),
  };
}

/**
 * The default `maxRunningFacets`: 64, or fewer on a machine whose memory could not hold 64
 * threads at their heap limit (`os.totalmem() / memoryLimitMb`, at least 8). Restarting an
 * evicted instance on a recycled thread costs about a millisecond, so a bound that keeps the
 * process inside physical memory is worth more than keeping every instance loaded.
 */
function defaultMaxRunning(options) {
  const limitMb = typeof options.memoryLimitMb === 'number' && options.memoryLimitMb >= 16 ? options.memoryLimitMb : 128;
  const fit = Math.floor(totalmem() / (limitMb * 1024 * 1024));
  return Math.max(8, Math.min(64, fit));
}
