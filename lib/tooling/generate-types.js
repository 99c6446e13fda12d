// `durable-facets types` (like `wrangler types`): a declaration file typing a project's
// bindings from its Runtime options. It declares what @cloudflare/workers-types reads, so the
// same file types object code, `ctx.exports` and `new Runtime(options)` alike:
//
// * `Cloudflare.Env` (and a global `Env` extending it): each binding typed by its class —
//   `ROOMS: DurableObjectNamespace<import("./worker.ts").Room>`, class bindings, worker
//   loaders, vars with their literal types (as `wrangler types` writes them);
// * `Cloudflare.GlobalProps`: `mainModule` (the type of `main`'s exports, from which TypeScript
//   computes `ctx.exports`) and `durableNamespaces` (the classes with a namespace binding).
//
// Types are referenced as `import("durable-facets").X`, so the file needs neither
// `durable-facets/globals` nor @cloudflare/workers-types. main is never imported: TypeScript
// reads its exports from the source.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PKG = 'import("durable-facets")';
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A path or file: URL (string or URL) → absolute path. */
function toPath(value, what, base) {
  if (value instanceof URL) return fileURLToPath(value);
  if (typeof value !== 'string' || value === '') throw new TypeError(`${what} must be a file path or a file: URL.`);
  return value.startsWith('file:') ? fileURLToPath(value) : path.resolve(base, value);
}

/** The specifier of `file` from a declaration file in `fromDir`: relative, posix, extension kept. */
function specifier(file, fromDir) {
  let rel = path.relative(fromDir, file).split(path.sep).join('/');
  if (!rel.startsWith('../')) rel = `./${rel}`;
  return JSON.stringify(rel);
}

const key = (name) => (IDENTIFIER.test(name) ? name : JSON.stringify(name));

/**
 * The TypeScript type of a var's value, literal where JSON has literals (as `wrangler types`
 * writes vars): `"hi"`, `3`, `{ max: 3 }`, `readonly ["a", "b"]`.
 */
function typeOfValue(value, indent, seen = new Set()) {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'number';
    case 'boolean':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'undefined':
      return 'undefined';
    case 'object':
      break;
    default:
      return 'unknown';
  }
  if (seen.has(value)) return 'unknown';
  seen.add(value);
  try {
    if (Array.isArray(value)) return `readonly [${value.map((v) => typeOfValue(v, indent, seen)).join(', ')}]`;
    for (const builtin of [Date, RegExp, Map, Set, ArrayBuffer, Uint8Array, Error]) {
      if (value instanceof builtin) return builtin === Map ? 'Map<unknown, unknown>' : builtin === Set ? 'Set<unknown>' : builtin.name;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return 'unknown';
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    return `{\n${entries.map(([k, v]) => `${inner}${key(k)}: ${typeOfValue(v, inner, seen)};`).join('\n')}\n${indent}}`;
  } finally {
    seen.delete(value);
  }
}

/**
 * Writes the declaration file's text for a project's bindings.
 * @param {object} options the Runtime options that declare bindings (others are ignored)
 * @param {string | URL} options.main the main module (a path, relative to the working directory, or a file: URL)
 * @param {Record<string, string | { className: string }>} [options.durableObjects]
 * @param {Record<string, { className: string, module?: string | URL }>} [options.classes]
 * @param {Record<string, unknown>} [options.vars]
 * @param {string[]} [options.workerLoaders]
 * @param {string | URL} [options.outFile] where the file will be written (imports are relative
 *   to it); default `worker-configuration.d.ts` in the working directory, as `wrangler types`
 * @returns {Promise<string>} the contents of the `.d.ts`
 */
export async function generateTypes(options) {
  if (options === null || typeof options !== 'object') throw new TypeError('generateTypes(options): options must be an object.');
  const cwd = process.cwd();
  const main = toPath(options.main, 'options.main', cwd);
  const outFile = options.outFile === undefined ? path.join(cwd, 'worker-configuration.d.ts') : toPath(options.outFile, 'options.outFile', cwd);
  const outDir = path.dirname(outFile);
  const mainSpec = specifier(main, outDir);
  const mainDir = path.dirname(main);

  const env = [];
  const namespaces = new Set();
  for (const [binding, spec] of Object.entries(options.durableObjects ?? {})) {
    const className = typeof spec === 'string' ? spec : spec?.className;
    if (typeof className !== 'string' || !IDENTIFIER.test(className)) {
      throw new TypeError(`durableObjects.${binding}: a class name is required.`);
    }
    namespaces.add(className);
    env.push([binding, `${PKG}.DurableObjectNamespace<import(${mainSpec}).${className}>`]);
  }
  for (const [binding, spec] of Object.entries(options.classes ?? {})) {
    const className = spec?.className;
    if (typeof className !== 'string' || !IDENTIFIER.test(className)) {
      throw new TypeError(`classes.${binding}: a class name is required.`);
    }
    const module = spec.module === undefined ? mainSpec : specifier(toPath(spec.module, `classes.${binding}.module`, mainDir), outDir);
    env.push([binding, `${PKG}.DurableObjectClass<import(${module}).${className}>`]);
  }
  for (const binding of options.workerLoaders ?? []) env.push([binding, `${PKG}.WorkerLoader`]);
  for (const [name, value] of Object.entries(options.vars ?? {})) env.push([name, typeOfValue(value, '    ')]);

  const durableNamespaces = namespaces.size === 0 ? 'never' : [...namespaces].map((n) => JSON.stringify(n)).join(' | ');
  const lines = [
    '// Generated by `durable-facets types`: the bindings of this project, by their classes.',
    '// Do not edit: run it again after changing the bindings or the configuration.',
    'declare namespace Cloudflare {',
    '  interface GlobalProps {',
    `    mainModule: typeof import(${mainSpec});`,
    `    durableNamespaces: ${durableNamespaces};`,
    '  }',
    '  interface Env {',
    ...env.map(([name, type]) => `    ${key(name)}: ${type};`),
    '  }',
    '}',
    'interface Env extends Cloudflare.Env {}',
    '',
  ];
  return lines.join('\n');
}
