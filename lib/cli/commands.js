// The commands of the durable-facets CLI (bin/durable-facets.js parses and dispatches).
import fs from 'node:fs';
import path from 'node:path';
import { native } from '../native.js';
import { findWranglerConfig, readNamespaceBindings, readWranglerConfig } from '../wrangler-config.js';
import { ArgumentError, UsageError } from './args.js';
import { blobBytes, cellJson, decodeValue, size, table, valueJson, valueText } from './format.js';
import { readStore, resolveDatabase, resolveNamespace, storageDir } from './store.js';

/**
 * The namespace bindings of the wrangler configuration: `--config <file>` (an error if it
 * cannot be read), else `wrangler.json`/`.jsonc`/`.toml` of the current directory (a
 * warning on stderr if it cannot be read: binding names are then unknown), else none.
 */
async function configBindings(flags, stderr) {
  const explicit = flags['--config'];
  const file = explicit ?? (await findWranglerConfig(process.cwd()));
  if (file === null) return [];
  try {
    return await readNamespaceBindings(file, { env: flags['--env'] });
  } catch (e) {
    if (explicit !== undefined) throw new ArgumentError(e.message);
    stderr(`durable-facets: warning: ignoring ${file}: ${e.message}`);
    return [];
  }
}

/** `inspect <dir>`: every object with its facet tree, sizes, names where known, alarms. */
export async function inspectCommand({ positionals, flags }, out) {
  const [dirArg, ...extra] = positionals;
  if (extra.length) throw new UsageError(`unexpected argument: ${extra[0]}`);
  const dir = storageDir(dirArg);
  const namespaces = readStore(dir, await configBindings(flags, out.err));
  if (!namespaces.length && native.offlineObjects(dir).length) {
    // <dir>/<uniqueKey> given for <dir>: say which directory to give instead.
    throw new ArgumentError(`${dir} is the directory of one namespace, not a storage directory: inspect ${path.dirname(dir)}`);
  }
  if (flags['--json']) return out.json({ dir, namespaces });
  const lines = [];
  for (const ns of namespaces) {
    const n = ns.objects.length;
    const bound = ns.bindings.length ? `; binding${ns.bindings.length > 1 ? 's' : ''} ${ns.bindings.join(', ')}` : '';
    lines.push(`${ns.uniqueKey}/ (${n} object${n === 1 ? '' : 's'}${bound})`);
    for (const o of ns.objects) {
      const [root, ...facets] = o.facets;
      const name = o.name === null ? '' : `  "${o.name}"`;
      const alarm = o.alarm === null ? '' : `  alarm ${o.alarm}`;
      lines.push(`  ${o.id}${name}  ${size(root.databaseSize)}${alarm}`);
      for (const f of facets) {
        const depth = f.name.split('/').length;
        lines.push(`${'  '.repeat(depth + 1)}└─ ${f.name}  (#${f.facetId}, ${size(f.databaseSize)})`);
      }
    }
  }
  out.log(lines.length ? lines.join('\n') : `(no objects in ${dir})`);
}

/** The database one `sql`/`kv` command line names. */
async function database({ positionals, flags }, out, count, what) {
  const [dirArg, nsArg, idOrName, ...rest] = positionals;
  const dir = storageDir(dirArg);
  if (nsArg === undefined || idOrName === undefined || rest.length < count) throw new UsageError(`${what} needs ${USAGE_LINE[what]}`);
  if (rest.length > count) throw new UsageError(`unexpected argument: ${rest[count]}`);
  const uniqueKey = resolveNamespace(dir, nsArg, await configBindings(flags, out.err));
  const { file } = resolveDatabase(dir, uniqueKey, idOrName, { forceName: flags['--name'] === true, facet: flags['--facet'] ?? null });
  return { file, rest };
}

const USAGE_LINE = {
  sql: '<dir> <class-or-binding> <id-or-name> "<query>"',
  kv: '<dir> <class-or-binding> <id-or-name>',
};

/** `sql …`: a read-only query on one database, as a table or JSON. */
export async function sqlCommand(args, out) {
  const { file, rest: [query] } = await database(args, out, 1, 'sql');
  const [columns, rows, kinds] = native.offlineQuery(file, query);
  if (args.flags['--json']) {
    return out.json({ columns, rows: rows.map((row, r) => row.map((cell, i) => cellJson(cell, kinds[r][i]))) });
  }
  out.log(columns.length ? table(columns, rows) : '(no result columns)');
  out.log(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
}

/** `kv …`: the KV entries of one database (keys in order), values decoded. */
export async function kvCommand(args, out) {
  const { file } = await database(args, out, 0, 'kv');
  const prefix = args.flags['--prefix'] ?? '';
  let rows = [];
  try {
    [, rows] = native.offlineQuery(file, 'SELECT key, value FROM _cf_KV ORDER BY key');
  } catch (e) {
    // A database that never stored a KV entry has no table: no entries.
    if (!/no such table: _cf_KV/.test(e.message)) throw e;
  }
  const entries = rows
    .filter(([key]) => key.startsWith(prefix))
    .map(([key, cell]) => ({ key, ...decodeValue(cell === null ? Buffer.alloc(0) : blobBytes(cell)) }));
  if (args.flags['--json']) {
    return out.json(entries.map((e) => ('error' in e ? e : { key: e.key, value: valueJson(e.value) })));
  }
  if (entries.length) {
    out.log(table(['key', 'value'], entries.map((e) => [e.key, 'error' in e ? `<${e.error}>` : valueText(e.value)])));
  }
  out.log(`(${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}${prefix ? ` with prefix ${JSON.stringify(prefix)}` : ''})`);
}

/**
 * `types [config]`: TypeScript declarations of `Env` and `ctx.exports` for a wrangler
 * configuration, written to `worker-configuration.d.ts` (as `wrangler types`), to
 * `--out <file>`, or printed with `--out -`.
 */
export async function typesCommand({ positionals, flags }, out) {
  const [configArg, ...extra] = positionals;
  if (extra.length) throw new UsageError(`unexpected argument: ${extra[0]}`);
  const config = configArg ?? flags['--config'] ?? (await findWranglerConfig(process.cwd()));
  if (config === null || config === undefined) {
    throw new UsageError('types needs a wrangler configuration: types <wrangler.jsonc>, or one in the current directory');
  }
  // Loaded here: no other command needs the generator.
  const { generateTypes } = await import('../tooling/generate-types.js');
  const options = await readWranglerConfig(config, flags['--env'] === undefined ? {} : { env: flags['--env'] });
  // `--out -` prints; imports in the file are relative to where it is written.
  if (flags['--out'] === '-') return out.log((await generateTypes(options)).replace(/\n$/, ''));
  const outFile = path.resolve(flags['--out'] ?? 'worker-configuration.d.ts');
  fs.writeFileSync(outFile, await generateTypes({ ...options, outFile }));
  out.err(`durable-facets: wrote ${path.relative(process.cwd(), outFile) || outFile}`);
}
