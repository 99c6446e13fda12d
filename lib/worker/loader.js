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
