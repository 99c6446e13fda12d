// A module loader for user code inside the runtime's threads: it maps the specifier
// "cloudflare:workers" to this package, so Cloudflare code runs unchanged.
//
// Why not `module.register()` resolve hooks: on Node 20 every thread that registers them
// gets an extra hooks thread (measured here: worker start-up doubles, ~50 → ~110 ms).
// Instead, user ES modules are compiled as `vm.SourceTextModule`s (the worker runs with
// --experimental-vm-modules) whose linker resolves "cloudflare:workers"; everything under
// node_modules, builtins and CommonJS are loaded by Node itself and wrapped.
import vm from 'node:vm';
import fs from 'node:fs';
import path from 'node:path';
import Module, { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as cloudflareWorkers from '../cloudflare-workers.js';

const CF_SPECIFIER = 'cloudflare:workers';
const cfFile = fileURLToPath(new URL('../cloudflare-workers.js', import.meta.url));

// The loader's own flag raises an ExperimentalWarning once per thread; it is ours, not
// the user's, so keep it off their stderr.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  if (String(warning?.message ?? warning).includes('VM Modules')) return;
  return emitWarning.call(this, warning, ...rest);
};

// CommonJS user code: `require("cloudflare:workers")`.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === CF_SPECIFIER) return cfFile;
  return resolveFilename.call(this, request, ...rest);
};

/** @type {Map<string, Promise<vm.Module>>} */
const modules = new Map();
const packageTypes = new Map();
let cfModule;

function cloudflareModule() {
  cfModule ??= wrapNamespace(cloudflareWorkers, CF_SPECIFIER);
  return cfModule;
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
  if (file.endsWith('.js')) return packageType(path.dirname(file)) === 'module';
  return false;
}

function resolve(specifier, parentUrl) {
  return import.meta.resolve(specifier, parentUrl);
}

async function linker(specifier, referencing, extra) {
  if (specifier === CF_SPECIFIER) return cloudflareModule();
  const url = resolve(specifier, referencing.identifier);
  return loadUrl(url, extra?.attributes ?? extra?.assert ?? {});
}

function loadUrl(url, attributes = {}) {
  let m = modules.get(url);
  if (m === undefined) {
    m = isUserEsm(url) ? compile(url) : importNative(url, attributes);
    modules.set(url, m);
  }
  return m;
}

async function importNative(url, attributes) {
  const ns = Object.keys(attributes).length ? await import(url, { with: attributes }) : await import(url);
  return wrapNamespace(ns, url);
}

async function compile(url) {
  const source = await fs.promises.readFile(fileURLToPath(url), 'utf8');
  return new vm.SourceTextModule(source, {
    identifier: url,
    initializeImportMeta(meta) {
      meta.url = url;
      meta.filename = fileURLToPath(url);
      meta.dirname = path.dirname(meta.filename);
      meta.resolve = (s) => (s === CF_SPECIFIER ? s : resolve(s, url));
    },
    importModuleDynamically: async (specifier, _script, attributes) => {
      const m = specifier === CF_SPECIFIER ? cloudflareModule() : await loadUrl(resolve(specifier, url), attributes);
      return instantiate(m);
    },
  });
}

async function instantiate(m) {
  if (m.status === 'unlinked') await m.link(linker);
  if (m.status === 'linked') await m.evaluate();
  if (m.status === 'errored') throw m.error;
  // 'evaluating': a cycle through a dynamic import; its namespace is usable as is.
  return m;
}

/**
 * Imports a user module (path or file: URL) with "cloudflare:workers" available.
 * @param {string} url a file: URL
 * @returns {Promise<object>} the module namespace
 */
export async function importUserModule(url) {
  if (!isUserEsm(url)) {
    if (url.endsWith('.cjs') || (url.endsWith('.js') && url.startsWith('file:'))) {
      return createRequire(url)(fileURLToPath(url));
    }
    return import(url);
  }
  const m = await instantiate(await loadUrl(url));
  return m.namespace;
}

/**
 * Loads code supplied at run time (a worker loader's `WorkerCode`): `modules` maps names
 * to ES module sources, `mainModule` names the entry. Modules import each other by name
 * (relative specifiers resolve against the importer's name), "cloudflare:workers" and
 * Node's builtins; nothing else (no files, no packages).
 * @param {string} worker the worker's name (for stack traces)
 * @param {{mainModule: string, modules: Record<string, string>}} code
 * @returns {Promise<object>} the main module's namespace
 */
export async function importLoaderCode(worker, code) {
  const compiled = new Map();
  const idFor = (name) => `worker:${encodeURIComponent(worker)}/${name}`;
  const nameOf = (specifier, referrerName) => {
    if (specifier.startsWith('./') || specifier.startsWith('../')) {
      return path.posix.normalize(path.posix.join(path.posix.dirname(referrerName), specifier));
    }
    return specifier.startsWith('/') ? specifier.slice(1) : specifier;
  };
  const moduleFor = (name) => {
    let m = compiled.get(name);
    if (m) return m;
    const source = code.modules[name];
    if (typeof source !== 'string') throw new Error(`Worker "${worker}" has no module named "${name}".`);
    m = new vm.SourceTextModule(source, {
      identifier: idFor(name),
      initializeImportMeta(meta) {
        meta.url = idFor(name);
      },
      importModuleDynamically: async (specifier) => instantiate(await link(specifier, name)),
    });
    compiled.set(name, m);
    return m;
  };
  const link = async (specifier, referrerName) => {
    if (specifier === CF_SPECIFIER) return cloudflareModule();
    if (specifier.startsWith('node:')) return importNative(specifier, {});
    return moduleFor(nameOf(specifier, referrerName));
  };
  const main = moduleFor(code.mainModule);
  await main.link((specifier, referencing) => link(specifier, referencing.identifier.slice(idFor('').length)));
  await main.evaluate();
  return main.namespace;
}
