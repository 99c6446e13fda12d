// A module loader for user code inside the runtime's threads: it maps the specifier
// "cloudflare:workers" to this package, so Cloudflare code runs unchanged.
//
// Why not `module.register()` resolve hooks: on Node 20 every thread that registers them
// gets an extra hooks thread (measured here: worker start-up doubles, ~50 → ~110 ms).
// Instead, user ES modules are compiled as `vm.SourceTextModule`s (the worker runs with
// --experimental-vm-modules) whose linker resolves "cloudflare:workers"; everything under
// node_modules, builtins, CommonJS and this package's own files are loaded by Node itself
// and wrapped.
import vm from 'node:vm';
import fs from 'node:fs';
import path from 'node:path';
import Module, { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DurableObject, RpcTarget, WorkerEntrypoint } from '../durable-object.js';
import { env as threadEnv } from './env.js';
import { withCode } from '../error-codes.js';
import {
  withLocation,
  isLocated,
  lineColumn,
  locateSyntaxError,
  locateSpecifier,
  thrownAt,
  decoratedAt,
} from './load-errors.js';
import { isTypeScript, stripTypes, suggestExtension } from './typescript.js';

const CF_SPECIFIER = 'cloudflare:workers';
const CF_PREFIX = 'cloudflare:';
const CF_EXPORTS = ['DurableObject', 'RpcTarget', 'WorkerEntrypoint', 'env'];
const cfFile = fileURLToPath(new URL('../cloudflare-workers.js', import.meta.url));

/** `Error: Module "cloudflare:<x>" is not supported by durable-facets.` (SPEC §1) */
function unsupportedModule(specifier) {
  const error = withCode(new Error(`Module "${specifier}" is not supported by durable-facets.`), 'UnsupportedModule');
  return error;
}

// The loader's own flag raises an ExperimentalWarning once per thread; it is ours, not
// the user's, so keep it off their stderr.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  if (String(warning?.message ?? warning).includes('VM Modules')) return;
  return emitWarning.call(this, warning, ...rest);
};

/** Real paths, cached: every module URL the loader sees is checked once (ownPackageUrl). */
const realpaths = new Map();
function realpath(file) {
  let real = realpaths.get(file);
  if (real === undefined) {
    try {
      real = fs.realpathSync(file);
    } catch {
      real = file;
    }
    realpaths.set(file, real);
  }
  return real;
}

// This package's own files. A user module that imports "durable-facets" (by name, through
// a symlink, `npm link`, a `file:` dependency, a workspace or the package's self-reference)
// must get the very modules the host runs on, or `DurableObject` would be a second class
// and `instanceof` would fail (SPEC §1). Node resolves to real paths; the host may have been
// loaded through a symlinked path: so compare real paths, and import the host's URL.
const PACKAGE_URL = new URL('../../', import.meta.url);
const PACKAGE_DIR = realpath(fileURLToPath(PACKAGE_URL));
/** Published entry points of the package (its tests and examples are user code). */
const PACKAGE_FILES = /^(?:index\.js$|lib\/)/;

/** The URL the host loaded package file `file` by, or null for files of other packages. */
function ownPackageUrl(file) {
  const rel = path.relative(PACKAGE_DIR, realpath(file)).split(path.sep).join('/');
  if (rel.startsWith('../') || path.isAbsolute(rel) || !PACKAGE_FILES.test(rel)) return null;
  return new URL(rel, PACKAGE_URL).href;
}

// CommonJS user code: `require("cloudflare:workers")`, and this package's files by the
// host's paths (see ownPackageUrl).
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === CF_SPECIFIER) return cfFile;
  if (typeof request === 'string' && request.startsWith(CF_PREFIX)) throw unsupportedModule(request);
  const file = resolveFilename.call(this, request, ...rest);
  const own = path.isAbsolute(file) ? ownPackageUrl(file) : null;
  return own === null ? file : fileURLToPath(own);
};

/** @type {Map<string, Promise<vm.Module>>} */
const modules = new Map();
const packageTypes = new Map();
/** Compiled user modules by identifier: their source and how errors name them. */
const compiledSources = new Map();

/**
 * A "cloudflare:workers" module whose `env` is `env` (a getter: the thread's module reads
 * the env the host set when it is first imported).
 */
function cloudflareModule(getEnv, identifier) {
  const values = { DurableObject, RpcTarget, WorkerEntrypoint };
  return new vm.SyntheticModule(
    CF_EXPORTS,
    function () {
      for (const k of CF_EXPORTS) this.setExport(k, k === 'env' ? getEnv() : values[k]);
    },
    { identifier },
  );
}

let threadCfModule;
function threadCloudflareModule() {
  threadCfModule ??= cloudflareModule(() => threadEnv, CF_SPECIFIER);
  return threadCfModule;
}

function wrapNamespace(ns, identifier) {
  const keys = Object.keys(ns);
  return new vm.SyntheticModule(
    keys,
    function () {
      for (const k of keys) this.setExport(k, ns[k]);
    },
    { identifier },
  );
}

/** "module" or "commonjs", from the nearest package.json. */
function packageType(dir) {
  if (packageTypes.has(dir)) return packageTypes.get(dir);
  let type = 'commonjs';
  const pj = path.join(dir, 'package.json');
  if (fs.existsSync(pj)) {
    try {
      type = JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module' ? 'module' : 'commonjs';
    } catch {}
  } else {
    const parent = path.dirname(dir);
    if (parent !== dir) type = packageType(parent);
  }
  packageTypes.set(dir, type);
  return type;
}

/** User ES modules (outside node_modules) go through our linker. */
function isUserEsm(url) {
  if (!url.startsWith('file:')) return false;
  const file = fileURLToPath(url);
  if (file.split(path.sep).includes('node_modules')) return false;
  if (file.endsWith('.mjs')) return true;
  // The user's TypeScript is always ours to strip (SPEC §1): never left to Node, which cannot
  // load it on Node 20 and, on Node 22+, would not map "cloudflare:workers". A package's
  // TypeScript (under node_modules, above) is not: Node 22+ refuses it too.
  if (isTypeScript(file)) return true;
  if (file.endsWith('.js')) return packageType(path.dirname(file)) === 'module';
  return false;
}

function resolve(specifier, parentUrl) {
  return import.meta.resolve(specifier, parentUrl);
}

/** How a load error names the script of a stack frame, or null if it is not user code. */
function frameModule(location) {
  const compiled = compiledSources.get(location);
  if (compiled !== undefined) return compiled.where;
  let file = null;
  if (location.startsWith('file:')) file = fileURLToPath(location);
  else if (path.isAbsolute(location)) file = location;
  if (file === null || ownPackageUrl(file) !== null) return null;
  return file;
}

/**
 * Gives a load failure its location (SPEC §6.5): a missing export names the import that
 * asked for it; anything else names the frame that threw.
 */
function located(error) {
  if (isLocated(error)) return error;
  try {
    return locate(error);
  } catch {
    // A hostile value (a revoked Proxy, a throwing getter) is rethrown as it is.
    return error;
  }
}

function locate(error) {
  const missing = /^The requested module '(.+)' does not provide an export named '(.+)'$/.exec(error?.message);
  if (missing !== null) {
    for (const { source, where, module } of compiledSources.values()) {
      if (!module.dependencySpecifiers?.includes(missing[1])) continue;
      const at = locateSpecifier(source, missing[1]);
      if (at < 0) continue;
      const { line, column } = lineColumn(source, at);
      return withLocation(error, where, line, column);
    }
    return error;
  }
  const at = decoratedAt(error) ?? thrownAt(error, frameModule);
  return at === null ? error : withLocation(error, at.where, at.line, at.column);
}

/** A failure to resolve or load `specifier`, located at its import in `referrer`. */
function importFailed(error, referrer, specifier) {
  if (isLocated(error)) return error;
  const compiled = compiledSources.get(referrer);
  if (compiled === undefined) return located(error);
  const at = locateSpecifier(compiled.source, specifier);
  if (at < 0) return withLocation(error, compiled.where);
  const { line, column } = lineColumn(compiled.source, at);
  return withLocation(error, compiled.where, line, column);
}

/** Compiles an ES module; a syntax error names the module, line and column. */
function compileModule(source, identifier, where, options) {
  let module;
  try {
    module = new vm.SourceTextModule(source, { identifier, ...options });
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    const offset = locateSyntaxError(source, e.message, (text) => new vm.SourceTextModule(text));
    if (offset < 0) throw withLocation(e, where);
    const { line, column } = lineColumn(source, offset);
    throw withLocation(e, where, line, column);
  }
  compiledSources.set(identifier, { source, where, module });
  return module;
}

async function linker(specifier, referencing, extra) {
  let url;
  try {
    if (specifier === CF_SPECIFIER) return threadCloudflareModule();
    if (specifier.startsWith(CF_PREFIX)) throw unsupportedModule(specifier);
    url = resolve(specifier, referencing.identifier);
    return await loadUrl(url, extra?.attributes ?? extra?.assert ?? {});
  } catch (e) {
    if (isTypeScript(referencing.identifier)) suggestExtension(e, specifier, referencing.identifier);
    throw importFailed(notFound(e, url), referencing.identifier, specifier);
  }
}

/**
 * A module that does not exist is ERR_DO_MODULE_NOT_FOUND (README "Error codes"), whichever
 * way Node said so: a package or file it could not resolve (ERR_MODULE_NOT_FOUND), or a
 * resolved file of user code that is not there (ENOENT from reading exactly that file — an
 * ENOENT the module's own code throws keeps its code).
 * @param {unknown} error
 * @param {string | undefined} url the resolved URL, when resolution succeeded
 */
function notFound(error, url) {
  if (error === null || typeof error !== 'object') return error;
  const missingFile = error.code === 'ENOENT' && url?.startsWith('file:') && error.path === fileURLToPath(url);
  if (error.code === 'ERR_MODULE_NOT_FOUND' || missingFile) {
    try {
      withCode(error, 'ModuleNotFound');
    } catch {} // a frozen error keeps Node's code
  }
  return error;
}

function loadUrl(url, attributes = {}) {
  let m = modules.get(url);
  if (m === undefined) {
    const own = url.startsWith('file:') ? ownPackageUrl(fileURLToPath(url)) : null;
    if (own !== null) m = importNative(own, attributes);
    else m = isUserEsm(url) ? compile(url) : importNative(url, attributes);
    modules.set(url, m);
  }
  return m;
}

async function importNative(url, attributes) {
  let ns;
  try {
    ns = Object.keys(attributes).length ? await import(url, { with: attributes }) : await import(url);
  } catch (e) {
    throw located(e);
  }
  return wrapNamespace(ns, url);
}

async function compile(url) {
  const file = fileURLToPath(url);
  let source = await fs.promises.readFile(file, 'utf8');
  if (isTypeScript(file)) source = stripTypes(source, file);
  return compileModule(source, url, file, {
    initializeImportMeta(meta) {
      meta.url = url;
      meta.filename = file;
      meta.dirname = path.dirname(file);
      meta.resolve = (s) => (s === CF_SPECIFIER ? s : resolve(s, url));
    },
    importModuleDynamically: async (specifier, _script, attributes) => {
      if (specifier === CF_SPECIFIER) return instantiate(threadCloudflareModule());
      if (specifier.startsWith(CF_PREFIX)) throw unsupportedModule(specifier);
      let target;
      try {
        target = resolve(specifier, url);
        return instantiate(await loadUrl(target, attributes));
      } catch (e) {
        throw notFound(e, target);
      }
    },
  });
}

async function instantiate(m, link = linker) {
  try {
    if (m.status === 'unlinked') await m.link(link);
    if (m.status === 'linked') await m.evaluate();
  } catch (e) {
    throw located(e);
  }
  if (m.status === 'errored') throw located(m.error);
  // 'evaluating': a cycle through a dynamic import; its namespace is usable as is.
  return m;
}

/**
 * Imports a user module (path or file: URL) with "cloudflare:workers" available.
 * @param {string} url a file: URL
 * @returns {Promise<object>} the module namespace
 */
export async function importUserModule(url) {
  if (url.startsWith('file:')) {
    // One module per real file: `main` given through a symlink is the module its
    // siblings import by relative path.
    url = pathToFileURL(realpath(fileURLToPath(url))).href;
  }
  if (!isUserEsm(url)) {
    try {
      if (url.endsWith('.cjs') || (url.endsWith('.js') && url.startsWith('file:'))) {
        return createRequire(url)(fileURLToPath(url));
      }
      return await import(url);
    } catch (e) {
      throw located(e);
    }
  }
  const m = await instantiate(await loadUrl(url));
  return m.namespace;
}

/**
 * Refuses exports workerd refuses: a worker's main module may export only functions
 * (classes) and handler objects — `export const VERSION = 1` fails to load there with
 * `TypeError: Incorrect type for map entry 'VERSION': …` (workerd `jsg::Dict<NamedExport>`
 * unwrap; null and undefined pass as empty handlers). Refusing the same keeps code that runs
 * here runnable on Cloudflare.
 * @param {object} ns a module namespace (or CommonJS exports object)
 */
export function checkWorkerExports(ns) {
  if (ns === null || typeof ns !== 'object') return;
  for (const [name, value] of Object.entries(ns)) {
    if (value === null || value === undefined || typeof value === 'function' || typeof value === 'object') continue;
    const error = new TypeError(
      `Incorrect type for map entry '${name}': the provided value is not of type 'function or ExportedHandler'.`,
    );
    withCode(error, 'InvalidExport');
    throw error;
  }
}

/**
 * Loads code supplied at run time (a worker loader's `WorkerCode`): `modules` maps names
 * to ES module sources, `mainModule` names the entry. Modules import each other by name
 * (relative specifiers resolve against the importer's name), "cloudflare:workers" and
 * Node's builtins; nothing else (no files, no packages). Its "cloudflare:workers" exports
 * `env` = `env`: the env its loader was given, not the thread's.
 * @param {string} worker the worker's name (for stack traces)
 * @param {{mainModule: string, modules: Record<string, string>}} code
 * @param {object} env
 * @returns {Promise<object>} the main module's namespace
 */
export async function importLoaderCode(worker, code, env) {
  const compiled = new Map();
  const idFor = (name) => `worker:${encodeURIComponent(worker)}/${name}`;
  const nameOf = (specifier, referrerName) => {
    if (specifier.startsWith('./') || specifier.startsWith('../')) {
      return path.posix.normalize(path.posix.join(path.posix.dirname(referrerName), specifier));
    }
    return specifier.startsWith('/') ? specifier.slice(1) : specifier;
  };
  let cf;
  const moduleFor = (name) => {
    let m = compiled.get(name);
    if (m) return m;
    let source = code.modules[name];
    if (typeof source !== 'string') {
      const error = withCode(new Error(`Worker "${worker}" has no module named "${name}".`), 'ModuleNotFound');
      throw error;
    }
    if (isTypeScript(name)) source = stripTypes(source, name);
    m = compileModule(source, idFor(name), name, {
      initializeImportMeta(meta) {
        meta.url = idFor(name);
      },
      importModuleDynamically: async (specifier) => {
        try {
          return await instantiate(await link(specifier, name), linker);
        } catch (e) {
          throw importFailed(e, idFor(name), specifier);
        }
      },
    });
    compiled.set(name, m);
    return m;
  };
  const link = async (specifier, referrerName) => {
    if (specifier === CF_SPECIFIER) return (cf ??= cloudflareModule(() => env, `${idFor('')}${CF_SPECIFIER}`));
    if (specifier.startsWith(CF_PREFIX)) throw unsupportedModule(specifier);
    if (specifier.startsWith('node:')) return importNative(specifier, {});
    return moduleFor(nameOf(specifier, referrerName));
  };
  const main = moduleFor(code.mainModule);
  const linker = async (specifier, referencing) => {
    try {
      return await link(specifier, referencing.identifier.slice(idFor('').length));
    } catch (e) {
      throw importFailed(e, referencing.identifier, specifier);
    }
  };
  try {
    await main.link(linker);
    await main.evaluate();
  } catch (e) {
    throw located(e);
  }
  return main.namespace;
}
