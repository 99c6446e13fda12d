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

/** Rows of a query on a namespace's `metadata.sqlite`; none when it or the table is missing or unreadable. */
function metadataRows(nsDir, query) {
  const file = path.join(nsDir, 'metadata.sqlite');
  if (!fs.existsSync(file)) return [];
  try {
    return native.offlineQuery(file, query)[1];
  } catch {
    return [];
  }
}

/**
 * The alarm index of a namespace (`metadata.sqlite`, table `_cf_ALARM`, as workerd keeps it):
 * id → `{ time (ms since the epoch), name }` (the runtime records an object's name beside
 * its alarm). A missing or unreadable index: none.
 */
export function alarmIndex(nsDir) {
  const out = new Map();
  const rows = metadataRows(nsDir, 'SELECT actor_id, scheduled_time, actor_name FROM _cf_ALARM WHERE scheduled_time IS NOT NULL');
  for (const [id, time, name] of rows) {
    out.set(String(id).toLowerCase(), { time: Number(time) / 1e6, name });
  }
  return out;
}

/**
 * The names of a namespace's objects: id → name. The runtime records (table `_df_NAMES` of
 * `metadata.sqlite`) the name of every object whose id it derived from one, once the object
 * has storage; the alarm index's names fill in for objects stored before that. A missing or
 * unreadable table: those names are unknown.
 * @param {string} nsDir
 * @param {Map<string, { name: string | null }>} [alarms] the namespace's alarm index
 */
export function nameIndex(nsDir, alarms = alarmIndex(nsDir)) {
  const out = new Map();
  for (const [id, { name }] of alarms) {
    if (typeof name === 'string') out.set(id, name);
  }
  for (const [id, name] of metadataRows(nsDir, 'SELECT id, name FROM _df_NAMES')) {
    if (HEX_ID.test(String(id)) && typeof name === 'string') out.set(String(id).toLowerCase(), name);
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
    const names = nameIndex(nsDir, alarms);
    const objects = native.offlineObjects(nsDir).map((id) => {
      const alarm = alarms.get(id);
      return {
        id,
        name: names.get(id) ?? null,
        alarm: alarm === undefined ? null : new Date(alarm.time).toISOString(),
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
 * The id a name gives in namespace `uniqueKey`: the one recorded with that name, else the
 * one derived from it (as `idFromName`). The runtime records a name only with the id derived
 * from it, so both agree, except in a namespace directory renamed after the fact (the
 * derivation uses the directory's name as the uniqueKey): there only the record finds it.
 */
function idOfName(dir, uniqueKey, name) {
  for (const [id, known] of nameIndex(path.join(dir, uniqueKey))) {
    if (known === name) return id;
  }
  return path.basename(native.offlineDatabaseFile(dir, uniqueKey, name, true, null)).slice(0, 64);
}

/**
 * The database file of one object (and facet): `idOrName` is an id when it is 64 hex
 * digits (unless `forceName`), else a name (see `idOfName`). Throws ArgumentError listing
 * the namespace's objects, or the object's facets, when nothing matches.
 * @returns {{ file: string, id: string }}
 */
export function resolveDatabase(dir, uniqueKey, idOrName, { forceName = false, facet = null } = {}) {
  if (idOrName === undefined) throw new UsageError('missing <id-or-name>');
  const nsDir = path.join(dir, uniqueKey);
  const byName = forceName || !HEX_ID.test(idOrName);
  const id = byName ? idOfName(dir, uniqueKey, idOrName) : idOrName.toLowerCase();
  const root = native.offlineDatabaseFile(dir, uniqueKey, id, false, null);
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
    file = native.offlineDatabaseFile(dir, uniqueKey, id, false, facet);
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
  const names = nameIndex(nsDir);
  return [`Objects of ${uniqueKey}:`, ...ids.map((id) => `  ${id}${names.has(id) ? `  "${names.get(id)}"` : ''}`)].join('\n');
}

function listFacets(nsDir, id) {
  const facets = native.offlineTree(nsDir, id).slice(1).map(([name]) => name);
  return facets.length ? [`Facets of ${id}:`, ...facets.map((f) => `  ${f}`)].join('\n') : `Object ${id} has no facets.`;
}
