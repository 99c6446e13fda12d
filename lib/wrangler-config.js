// Runtime options from a wrangler configuration (`wrangler.jsonc`, `wrangler.json`,
// `wrangler.toml`), so that a project deployed to Cloudflare declares its bindings once.
//
// What is read: `main`, `durable_objects.bindings`, `vars`, `worker_loaders`, `migrations`,
// and `env.<name>` when `overrides.env` selects it. Every other key is sorted below into
// IGNORED (no effect at run time here), WARNED (it changes what code does, but the code can
// still run: a warning) and UNSUPPORTED (a binding the code would find missing: an error now
// rather than "Cannot read properties of undefined" at the first call). A key in none of
// them is warned about, since wrangler grows new bindings all the time.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jsonc from 'jsonc-parser';
import { parse as parseToml } from 'smol-toml';
import { withCode } from './error-codes.js';

/** The file names wrangler looks for, in its order of preference. */
export const WRANGLER_CONFIG_FILES = ['wrangler.json', 'wrangler.jsonc', 'wrangler.toml'];

const READ = new Set(['main', 'durable_objects', 'vars', 'worker_loaders', 'migrations', 'env']);

/** Deployment, bundling and dashboard settings: nothing for a Node process to do. */
const IGNORED = new Set([
  '$schema', 'name', 'account_id', 'compatibility_date', 'compatibility_flags', 'workers_dev',
  'preview_urls', 'route', 'routes', 'observability', 'logpush', 'upload_source_maps', 'minify',
  'keep_names', 'keep_vars', 'send_metrics', 'placement', 'limits', 'tail_consumers',
  'streaming_tail_consumers', 'dev', 'build', 'no_bundle', 'find_additional_modules', 'base_dir',
  'preserve_file_names', 'tsconfig', 'node_compat', 'usage_model', 'legacy_env', 'site',
  'jsx_factory', 'jsx_fragment', 'python_modules',
]);

/** Keys that change what the code does, but not whether it can run: a warning each. */
const WARNED = {
  define: 'durable-facets does not bundle: identifiers of `define` are not replaced in your code.',
  alias: 'durable-facets does not bundle: module aliases of `alias` are not applied (Node resolves imports as usual).',
  rules: 'durable-facets does not bundle: `rules` (Text, Data, CompiledWasm modules) are not applied; imports resolve as Node resolves them.',
  triggers: 'cron triggers are not run: durable-facets never calls `scheduled()`.',
  assets: 'static assets are not served: durable-facets runs the Worker without its assets.',
};

/** Bindings durable-facets does not provide: what each is, for the error. */
const UNSUPPORTED = {
  kv_namespaces: 'KV namespaces',
  d1_databases: 'D1 databases',
  r2_buckets: 'R2 buckets',
  services: 'service bindings',
  queues: 'Queues',
  analytics_engine_datasets: 'Analytics Engine datasets',
  ai: 'the Workers AI binding',
  browser: 'the Browser Rendering binding',
  vectorize: 'Vectorize indexes',
  hyperdrive: 'Hyperdrive bindings',
  mtls_certificates: 'mTLS certificate bindings',
  send_email: 'Email bindings',
  dispatch_namespaces: 'dispatch namespaces (Workers for Platforms)',
  workflows: 'Workflows',
  version_metadata: 'the version metadata binding',
  images: 'the Images binding',
  secrets_store_secrets: 'Secrets Store bindings',
  pipelines: 'Pipelines',
  containers: 'Containers',
  logfwdr: 'logfwdr bindings',
  ratelimits: 'rate limiting bindings',
  unsafe: '`unsafe` bindings',
  unsafe_hello_world: '`unsafe_hello_world` bindings',
  wasm_modules: 'wasm_modules (service-worker syntax)',
  text_blobs: 'text_blobs (service-worker syntax)',
  data_blobs: 'data_blobs (service-worker syntax)',
  vpc_services: 'VPC services',
  media: 'the Media binding',
};

/**
 * Keys an `env.<name>` section inherits from the top level when it does not set them (as
 * wrangler does); bindings and vars are not inherited. `migrations` is top-level only.
 */
const INHERITED = new Set(['main', 'compatibility_date', 'compatibility_flags', 'name', 'alias', 'rules', 'triggers', 'assets', 'limits']);

/** The overrides merged per binding rather than replaced. */
const MERGED_PER_KEY = new Set(['classes', 'vars']);

function isPlainObject(v) {
  if (v === null || typeof v !== 'object') return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

const isEmpty = (v) => v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0);

function invalid(file, message) {
  return withCode(new TypeError(`${file}: ${message}`), 'InvalidOption');
}

function unsupported(file, message) {
  return withCode(new Error(`${file}: ${message}`), 'NotSupported');
}

/** `path` (string or file: URL) → absolute path. */
function toPath(value) {
  if (value instanceof URL) return fileURLToPath(value);
  if (typeof value !== 'string' || value === '') {
    throw withCode(new TypeError('The wrangler configuration must be given as a file path or a file: URL.'), 'InvalidArgument');
  }
  return path.resolve(value.startsWith('file:') ? fileURLToPath(value) : value);
}

/** Line and column (1-based) of `offset` in `text`. */
function lineColumn(text, offset) {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}:${offset - before.lastIndexOf('\n')}`;
}

/**
 * Finds the wrangler configuration of directory `dir` (`wrangler.json`, `.jsonc`, `.toml`, in
 * wrangler's order). Resolves its path, or null when there is none.
 * @param {string} dir
 * @returns {Promise<string | null>}
 */
export async function findWranglerConfig(dir) {
  for (const name of WRANGLER_CONFIG_FILES) {
    const file = path.join(dir, name);
    try {
      if ((await fs.stat(file)).isFile()) return file;
    } catch {
      // not there: try the next name
    }
  }
  return null;
}

/**
 * Reads and parses a wrangler configuration file, as it is (no validation).
 * @param {string | URL} configPath `.jsonc`/`.json` (JSON with comments and trailing
 *   commas, as wrangler accepts) or `.toml`; or a directory, whose configuration is found
 *   as wrangler finds it (`wrangler.json`, `.jsonc`, `.toml`)
 * @returns {Promise<{ file: string, config: Record<string, unknown> }>}
 * @throws {Error} the file is missing or does not parse (with line:column)
 */
export async function parseWranglerConfig(configPath) {
  let file = toPath(configPath);
  // A directory: its configuration, found as wrangler finds it.
  if ((await fs.stat(file).catch(() => null))?.isDirectory()) {
    const found = await findWranglerConfig(file);
    if (found === null) {
      throw withCode(new Error(`No wrangler configuration in ${file} (looked for ${WRANGLER_CONFIG_FILES.join(', ')}).`), 'InvalidOption');
    }
    file = found;
  }
  const ext = path.extname(file).toLowerCase();
  if (!['.json', '.jsonc', '.toml'].includes(ext)) {
    throw invalid(file, 'a wrangler configuration is a .jsonc, .json or .toml file.');
  }
  let text;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw withCode(new Error(`Cannot read the wrangler configuration ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`), 'InvalidOption');
  }
  let config;
  if (ext === '.toml') {
    try {
      config = plain(parseToml(text));
    } catch (e) {
      // smol-toml's message already ends with the offending line; keep only its first line.
      const why = String(e.message).split('\n')[0].replace(/^Invalid TOML document: /, '');
      throw invalid(`${file}:${e.line ?? '?'}:${e.column ?? '?'}`, `invalid TOML: ${why}`);
    }
  } else {
    const errors = [];
    config = jsonc.parse(text, errors, { allowTrailingComma: true, disallowComments: false });
    if (errors.length) {
      const [first] = errors;
      const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
      throw invalid(`${file}:${lineColumn(text, first.offset)}`, `invalid JSON: ${jsonc.printParseErrorCode(first.error)}${more}`);
    }
  }
  if (!isPlainObject(config)) throw invalid(file, 'the configuration must be an object.');
  return { file, config };
}

/**
 * smol-toml makes tables null-prototype objects: copied into ordinary ones, so that vars
 * read from TOML are the same values as from JSON (and compare equal).
 */
function plain(value) {
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** The configuration `overrides.env` selects: the top level, or `env.<name>` over it. */
function selectEnv(file, config, envName) {
  if (envName === undefined) return config;
  if (typeof envName !== 'string' || envName === '') throw invalid(file, 'overrides.env must be the name of an env section.');
  const envs = isPlainObject(config.env) ? config.env : {};
  const section = envs[envName];
  if (!isPlainObject(section)) {
    const known = Object.keys(envs);
    throw invalid(file, `no env section "${envName}" (${known.length ? `it has ${known.map((n) => `"${n}"`).join(', ')}` : 'it has none'}).`);
  }
  const out = {};
  for (const key of INHERITED) if (config[key] !== undefined) out[key] = config[key];
  if (config.migrations !== undefined) out.migrations = config.migrations;
  for (const [key, value] of Object.entries(section)) {
    if (key === 'migrations') throw invalid(file, `env.${envName}.migrations: migrations belong at the top level.`);
    out[key] = value;
  }
  return out;
}

/**
 * The storage backend of every class the migrations leave in place: current class name →
 * `{ sqlite, uniqueKey }`. A renamed class keeps its namespace (as on Cloudflare), so its
 * uniqueKey (storage directory and id derivation) stays the name it was created with.
 */
function migratedClasses(file, migrations) {
  const classes = new Map();
  if (migrations === undefined) return classes;
  if (!Array.isArray(migrations)) throw invalid(file, 'migrations must be an array of { tag, new_sqlite_classes?, … }.');
  const names = (m, i, key) => {
    const v = m[key] ?? [];
    if (!Array.isArray(v) || v.some((c) => typeof c !== 'string')) throw invalid(file, `migrations[${i}].${key} must be an array of class names.`);
    return v;
  };
  migrations.forEach((m, i) => {
    if (!isPlainObject(m)) throw invalid(file, `migrations[${i}] must be an object.`);
    for (const c of names(m, i, 'new_sqlite_classes')) classes.set(c, { sqlite: true, uniqueKey: c, since: i });
    for (const c of names(m, i, 'new_classes')) classes.set(c, { sqlite: false, uniqueKey: c, since: i });
    const renamed = m.renamed_classes ?? [];
    if (!Array.isArray(renamed)) throw invalid(file, `migrations[${i}].renamed_classes must be an array of { from, to }.`);
    for (const r of renamed) {
      if (!isPlainObject(r) || typeof r.from !== 'string' || typeof r.to !== 'string') {
        throw invalid(file, `migrations[${i}].renamed_classes must be an array of { from, to }.`);
      }
      const entry = classes.get(r.from);
      if (entry === undefined) throw invalid(file, `migrations[${i}] renames class "${r.from}", which no earlier migration created.`);
      classes.delete(r.from);
      classes.set(r.to, entry);
    }
    for (const c of names(m, i, 'deleted_classes')) classes.delete(c);
    if (!isEmpty(m.transferred_classes)) {
      throw unsupported(file, `migrations[${i}].transferred_classes: transferring a class from another Worker is not supported by durable-facets (one process runs one Worker).`);
    }
  });
  return classes;
}

/**
 * `durable_objects.bindings` → `[{ binding, className }]`, checked; not `strict`: the
 * bindings to classes of other Workers are left out instead of failing.
 */
function doBindings(file, config, strict = true) {
  const dos = config.durable_objects;
  if (dos === undefined) return [];
  if (!isPlainObject(dos) || (dos.bindings !== undefined && !Array.isArray(dos.bindings))) {
    throw invalid(file, 'durable_objects must be { bindings: [{ name, class_name }] }.');
  }
  const bindings = strict ? dos.bindings ?? [] : (dos.bindings ?? []).filter((b) => b?.script_name === undefined && b?.environment === undefined);
  return bindings.map((b, i) => {
    const where = `durable_objects.bindings[${i}]`;
    if (!isPlainObject(b) || typeof b.name !== 'string' || typeof b.class_name !== 'string' || b.class_name === '') {
      throw invalid(file, `${where} must be { name, class_name }.`);
    }
    if (b.script_name !== undefined) {
      throw unsupported(file, `${where} ("${b.name}"): script_name "${b.script_name}" binds a Durable Object class of another Worker, which durable-facets does not support (one process runs one Worker). Export the class from main instead.`);
    }
    if (b.environment !== undefined) {
      throw unsupported(file, `${where} ("${b.name}"): environment "${b.environment}" names a class of another Worker environment, which durable-facets does not support.`);
    }
    return { binding: b.name, className: b.class_name };
  });
}

/**
 * The Durable Object namespace bindings a wrangler configuration declares, without checking
 * anything else (for tools such as the CLI, which only need names): `[{ binding, className,
 * uniqueKey }]`.
 * @param {string | URL} configPath
 * @param {{ env?: string }} [options]
 */
export async function readNamespaceBindings(configPath, options = {}) {
  const { file, config: raw } = await parseWranglerConfig(configPath);
  const config = selectEnv(file, raw, options.env);
  const classes = (() => {
    try {
      return migratedClasses(file, config.migrations);
    } catch {
      return new Map();
    }
  })();
  return doBindings(file, config, false).map(({ binding, className }) => ({
    binding,
    className,
    uniqueKey: classes.get(className)?.uniqueKey ?? className,
  }));
}

/**
 * Reads a wrangler configuration into `Runtime` options.
 *
 * `main` resolves against the configuration's directory; `durable_objects.bindings` become
 * `durableObjects` (each class must be created by a `new_sqlite_classes` migration, as
 * Cloudflare requires; a renamed class keeps its first name as `uniqueKey`); `vars` become
 * `vars`; `worker_loaders` become `workerLoaders`. Bindings durable-facets does not provide
 * are errors (code `ERR_DO_NOT_SUPPORTED`); settings without effect here are ignored, and
 * the few that change what code does (`define`, `alias`, `rules`, `triggers`, `assets`) are
 * reported by `process.emitWarning`. See README "Configuration from wrangler".
 *
 * `overrides` are Runtime options merged over the ones read: `durableObjects` per binding
 * (`{ TENANTS: { facetFailure: "isolate" } }` keeps the class), `classes` and `vars` per
 * key, `workerLoaders` added, anything else replaced; `overrides.env` selects an
 * `env.<name>` section as `wrangler --env <name>` does.
 *
 * @param {string | URL} configPath
 * @param {Record<string, unknown> & { env?: string }} [overrides]
 * @returns {Promise<import('../index.js').RuntimeOptions>}
 * @throws {TypeError | Error} with `code` `ERR_DO_INVALID_OPTION` (unreadable, unparsable
 *   or inconsistent configuration) or `ERR_DO_NOT_SUPPORTED`
 */
export async function readWranglerConfig(configPath, overrides = {}) {
  if (!isPlainObject(overrides)) throw withCode(new TypeError('overrides must be an object of Runtime options.'), 'InvalidOption');
  const { file, config: raw } = await parseWranglerConfig(configPath);
  const { env: envName, ...runtimeOverrides } = overrides;
  const config = selectEnv(file, raw, envName);
  const where = envName === undefined ? '' : `env.${envName}.`;

  for (const [key, value] of Object.entries(config)) {
    if (READ.has(key) || IGNORED.has(key)) continue;
    if (key in UNSUPPORTED) {
      if (isEmpty(value)) continue;
      throw unsupported(file, `${where}${key} (${UNSUPPORTED[key]}): not supported by durable-facets. Remove the key (or move it to an env section you do not select), or run this Worker with wrangler.`);
    }
    if (key in WARNED) {
      if (key === 'triggers' && isEmpty(value?.crons)) continue;
      if (key === 'assets' && isPlainObject(value) && value.binding !== undefined) {
        throw unsupported(file, `${where}assets.binding: the static assets binding ("${value.binding}") is not supported by durable-facets.`);
      }
      if (!isEmpty(value)) warn(`${file}: ${key}: ${WARNED[key]}`);
      continue;
    }
    warn(`${file}: "${where}${key}" is not read by durable-facets and is ignored.`);
  }

  if (typeof config.main !== 'string' || config.main === '') {
    throw invalid(file, `${where}main is required: the module that exports your Durable Object classes (path relative to the configuration).`);
  }
  const main = path.resolve(path.dirname(file), config.main);
  try {
    if (!(await fs.stat(main)).isFile()) throw new Error('not a file');
  } catch {
    throw invalid(file, `main "${config.main}" not found (${main}).`);
  }

  const migrated = migratedClasses(file, config.migrations);
  const durableObjects = {};
  for (const { binding, className } of doBindings(file, config)) {
    const m = migrated.get(className);
    if (m === undefined) {
      // Cloudflare's deploy error (code 10061), with the fix spelled out.
      throw invalid(
        file,
        `Cannot create binding for class '${className}' because it is not currently configured to implement Durable Objects. ` +
          `Add "${className}" to the new_sqlite_classes of a migration (migrations: [{ tag: "v1", new_sqlite_classes: ["${className}"] }]), as Cloudflare requires.`,
      );
    }
    if (!m.sqlite) {
      throw unsupported(
        file,
        `class '${className}' (binding ${binding}) is created by migrations[${m.since}].new_classes, the key-value storage backend; durable-facets implements SQLite-backed Durable Objects only (new_sqlite_classes).`,
      );
    }
    durableObjects[binding] = m.uniqueKey === className ? className : { className, uniqueKey: m.uniqueKey };
  }

  const options = { main, durableObjects };
  if (config.vars !== undefined) {
    if (!isPlainObject(config.vars)) throw invalid(file, `${where}vars must be an object of name → value.`);
    options.vars = { ...config.vars };
  }
  if (config.worker_loaders !== undefined) {
    const loaders = config.worker_loaders;
    if (!Array.isArray(loaders) || loaders.some((l) => !isPlainObject(l) || typeof l.binding !== 'string')) {
      throw invalid(file, `${where}worker_loaders must be an array of { binding }.`);
    }
    options.workerLoaders = loaders.map((l) => l.binding);
  }
  return mergeOverrides(options, runtimeOverrides);
}

/** `overrides` over `options`; see readWranglerConfig. */
function mergeOverrides(options, overrides) {
  const out = { ...options };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (key === 'durableObjects' && isPlainObject(value)) {
      const dos = { ...out.durableObjects };
      for (const [binding, spec] of Object.entries(value)) {
        const read = dos[binding];
        dos[binding] = read !== undefined && isPlainObject(spec)
          ? { ...(typeof read === 'string' ? { className: read } : read), ...spec }
          : spec;
      }
      out.durableObjects = dos;
    } else if (MERGED_PER_KEY.has(key) && isPlainObject(value) && out[key] !== undefined) {
      out[key] = { ...out[key], ...value };
    } else if (key === 'workerLoaders' && Array.isArray(value) && out.workerLoaders !== undefined) {
      out.workerLoaders = [...new Set([...out.workerLoaders, ...value])];
    } else {
      out[key] = value;
    }
  }
  return out;
}

function warn(message) {
  process.emitWarning(message, { type: 'DurableFacetsWarning', code: 'DURABLE_FACETS_WRANGLER_CONFIG' });
}
