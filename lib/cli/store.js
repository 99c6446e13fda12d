// A storage directory read without a runtime (native offline functions): namespaces, objects
// with their facet trees, names and alarms, and the resolution of command-line arguments to
// one database, with "what exists" listings when an argument matches nothing.
import fs from 'node:fs';
import path from 'node:path';
import { native } from '../native.js';
import { ArgumentError, UsageError } from './args.js';

const HEX_ID = /^[0-9a-fA-F]{64}$/;

/** `<dir>` checked and made absolute. */
export function storageDir(dir) {
  if (dir === undefined) throw new UsageError('missing <dir>');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`not a directory: ${dir}`);
  return path.resolve(dir);
}

/**
 * The alarm index of a namespace (`metadata.sqlite`, table `_cf_ALARM`, as workerd keeps it):
 * id → `{ time (ms since the epoch), name }`. It is also where names are known from: the
 * runtime records an object's name beside its alarm. A missing or unreadable index: none.
 */
export function alarmIndex(nsDir) {
  const out = new Map();
  const file = path.join(nsDir, 'metadata.sqlite');
  if (!fs.existsSync(file)) return out;
  let rows;
  try {
    [, rows] = native.offlineQuery(file, 'SELECT actor_id, scheduled_time, actor_name FROM _cf_ALARM WHERE scheduled_time IS NOT NULL');
  } catch {
    return out;
  }
  for (const [id, time, name] of rows) {
    out.set(String(id).toLowerCase(), { time: Number(time) / 1e6, name });
  }
  return out;
}

/**
 * Everything stored in `dir`: `[{ uniqueKey, bindings, objects: [{ id, name, alarm,
 * facets: [{ name, facetId, databaseSize }] }] }]`, namespaces and ids sorted, each
 * object's root first then its facets by full name (as `rt.inspect()`).
 * @param {string} dir
 * @param {Array<{ binding: string, className: string, uniqueKey: string }>} bindings
 */
export function readStore(dir, bindings = []) {
  return native.offlineNamespaces(dir).map((uniqueKey) => {
    const nsDir = path.join(dir, uniqueKey);
    const alarms = alarmIndex(nsDir);
    const objects = native.offlineObjects(nsDir).map((id) => {
      const known = alarms.get(id);
      return {
        id,
        name: known?.name ?? null,
        alarm: known === undefined ? null : new Date(known.time).toISOString(),
        facets: native.offlineTree(nsDir, id).map(([name, facetId, databaseSize]) => ({ name, facetId, databaseSize })),
      };
    });
    const bound = bindings.filter((b) => b.uniqueKey === uniqueKey);
    return {
      uniqueKey,
      className: bound[0]?.className ?? null,
      bindings: bound.map((b) => b.binding),
      objects,
    };
  });
}

/** `Tenant/ (binding TENANTS)`: a namespace as listings show it. */
function describeNamespace(uniqueKey, bindings) {
  const names = bindings.filter((b) => b.uniqueKey === uniqueKey).map((b) => b.binding);
  return `${uniqueKey}${names.length ? ` (binding${names.length > 1 ? 's' : ''} ${names.join(', ')})` : ''}`;
}

/**
 * The namespace directory an argument names: a uniqueKey (directory name) of `dir`, or a
 * binding or class name of the wrangler configuration. Throws ArgumentError listing the
 * namespaces and bindings when it names none.
 */
export function resolveNamespace(dir, arg, bindings) {
  if (arg === undefined) throw new UsageError('missing <class-or-binding>');
  const stored = native.offlineNamespaces(dir);
  if (stored.includes(arg)) return arg;
  const bound = bindings.find((b) => b.binding === arg) ?? bindings.find((b) => b.className === arg);
  if (bound !== undefined) {
    if (!stored.includes(bound.uniqueKey)) {
      throw new ArgumentError(`${arg} (namespace ${bound.uniqueKey}) has nothing stored in ${dir}.\n${listNamespaces(dir, stored, bindings)}`);
    }
    return bound.uniqueKey;
  }
  throw new ArgumentError(`no namespace, binding or class "${arg}" in ${dir}.\n${listNamespaces(dir, stored, bindings)}`);
}

function listNamespaces(dir, stored, bindings) {
  const lines = stored.map((k) => `  ${describeNamespace(k, bindings)}`);
  const unstored = bindings.filter((b) => !stored.includes(b.uniqueKey)).map((b) => `  ${b.binding} → ${b.className} (nothing stored)`);
  if (!lines.length && !unstored.length) return `${dir} holds no namespace.`;
  return [`Namespaces of ${dir}:`, ...lines, ...unstored].join('\n') + (bindings.length ? '' : '\n(Binding names need a wrangler configuration: --config <file>, or one in the current directory.)');
}

/**
 * The database file of one object (and facet): `idOrName` is an id when it is 64 hex
 * digits (unless `forceName`), else a name. Throws ArgumentError listing the namespace's
 * objects, or the object's facets, when nothing matches.
 * @returns {{ file: string, id: string }}
 */
export function resolveDatabase(dir, uniqueKey, idOrName, { forceName = false, facet = null } = {}) {
  if (idOrName === undefined) throw new UsageError('missing <id-or-name>');
  const nsDir = path.join(dir, uniqueKey);
  const root = native.offlineDatabaseFile(dir, uniqueKey, idOrName, forceName, null);
  const id = path.basename(root).slice(0, 64);
  const byName = forceName || !HEX_ID.test(idOrName);
  // An object whose root never stored anything may still have facets (and an index).
  if (!fs.existsSync(root) && !fs.existsSync(path.join(nsDir, `${id}.facets`))) {
    const what = byName ? `${idOrName} (name → id ${id})` : idOrName;
    throw new ArgumentError(`no database for ${what} in namespace ${uniqueKey}.\n${listObjects(nsDir, uniqueKey)}`);
  }
  if (facet === null || facet === '') {
    if (!fs.existsSync(root)) throw new ArgumentError(`object ${id} has no database of its own (it never stored anything).\n${listFacets(nsDir, id)}`);
    return { file: root, id };
  }
  let file;
  try {
    file = native.offlineDatabaseFile(dir, uniqueKey, idOrName, forceName, facet);
  } catch (e) {
    if (/has no facet/.test(e.message)) throw new ArgumentError(`${e.message}.\n${listFacets(nsDir, id)}`);
    throw e;
  }
  if (!fs.existsSync(file)) {
    throw new ArgumentError(`object ${id} has no database for facet ${facet} (it never stored anything).\n${listFacets(nsDir, id)}`);
  }
  return { file, id };
}

function listObjects(nsDir, uniqueKey) {
  const ids = native.offlineObjects(nsDir);
  if (!ids.length) return `Namespace ${uniqueKey} holds no object.`;
  const names = alarmIndex(nsDir);
  return [`Objects of ${uniqueKey}:`, ...ids.map((id) => `  ${id}${names.get(id)?.name ? `  "${names.get(id).name}"` : ''}`)].join('\n');
}

function listFacets(nsDir, id) {
  const facets = native.offlineTree(nsDir, id).slice(1).map(([name]) => name);
  return facets.length ? [`Facets of ${id}:`, ...facets.map((f) => `  ${f}`)].join('\n') : `Object ${id} has no facets.`;
}
