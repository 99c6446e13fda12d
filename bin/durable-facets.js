#!/usr/bin/env node
// durable-facets CLI: look into a storage directory without starting a runtime.
import path from 'node:path';
import fs from 'node:fs';
import { native } from '../lib/native.js';

const USAGE = `Usage:
  durable-facets inspect <dir>
      Print every stored object of the storage directory <dir> as a tree of facets with
      their database sizes.
  durable-facets sql <dir> <uniqueKey> <id-or-name> [--facet a/b] [--name] "<query>"
      Run a read-only query on one database and print the result as a table. A 64-hex
      argument is an id, anything else a name (--name: always a name).
  durable-facets --help

Exit codes: 0 success, 1 the query or the storage failed, 2 bad usage (arguments, paths, ids).`;

class UsageError extends Error {}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function checkDir(dir) {
  if (dir === undefined) throw new UsageError('missing <dir>');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`not a directory: ${dir}`);
  return path.resolve(dir);
}

function inspect(args) {
  const dir = checkDir(args[0]);
  const lines = [];
  for (const uniqueKey of native.offlineNamespaces(dir)) {
    const nsDir = path.join(dir, uniqueKey);
    const ids = native.offlineObjects(nsDir);
    lines.push(`${uniqueKey}/ (${ids.length} object${ids.length === 1 ? '' : 's'})`);
    for (const id of ids) {
      const tree = native.offlineTree(nsDir, id);
      const [, , rootSize] = tree[0];
      lines.push(`  ${id}  ${size(rootSize)}`);
      for (const [name, facetId, bytes] of tree.slice(1)) {
        const depth = name.split('/').length;
        lines.push(`${'  '.repeat(depth + 1)}└─ ${name}  (#${facetId}, ${size(bytes)})`);
      }
    }
  }
  console.log(lines.length ? lines.join('\n') : `(no objects in ${dir})`);
}

function table(columns, rows) {
  const cells = [columns, ...rows.map((r) => r.map((c) => (c === null ? 'NULL' : c)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => String(c).padEnd(widths[i])).join(' | ');
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.slice(1).map(line)].join('\n');
}

function sql(args) {
  const rest = [];
  let facet = null;
  let forceName = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--facet') {
      facet = args[++i];
      if (facet === undefined) throw new UsageError('--facet needs a value');
    } else if (args[i] === '--name') forceName = true;
    else rest.push(args[i]);
  }
  const [dirArg, uniqueKey, idOrName, query, ...extra] = rest;
  const dir = checkDir(dirArg);
  if (uniqueKey === undefined || idOrName === undefined || query === undefined) throw new UsageError('sql needs <dir> <uniqueKey> <id-or-name> "<query>"');
  if (extra.length) throw new UsageError(`unexpected argument: ${extra[0]}`);
  let file;
  try {
    file = native.offlineDatabaseFile(dir, uniqueKey, idOrName, forceName, facet);
  } catch (e) {
    throw new UsageError(e.message);
  }
  if (!fs.existsSync(file)) throw new UsageError(`no database for ${idOrName}${facet ? ` facet ${facet}` : ''} (${file})`);
  const [columns, rows] = native.offlineQuery(file, query);
  console.log(columns.length ? table(columns, rows) : '(no result columns)');
  console.log(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
}

const [command, ...args] = process.argv.slice(2);
try {
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    process.exitCode = command === undefined ? 2 : 0;
  } else if (command === 'inspect') inspect(args);
  else if (command === 'sql') sql(args);
  else throw new UsageError(`unknown command: ${command}`);
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`durable-facets: ${e.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else {
    console.error(`durable-facets: ${e.message}`);
    process.exitCode = 1;
  }
}
