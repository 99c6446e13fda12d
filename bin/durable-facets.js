#!/usr/bin/env node
// durable-facets CLI: look into a storage directory without starting a runtime.
// The commands live in lib/cli/; this file parses the command line and reports errors.
import fs from 'node:fs';
import { parseArgs, ArgumentError, UsageError } from '../lib/cli/args.js';
import { inspectCommand, kvCommand, sqlCommand, typesCommand } from '../lib/cli/commands.js';

const USAGE = `Usage:
  durable-facets inspect <dir> [--json]
      Print every stored object of the storage directory <dir> as a tree of facets with
      their database sizes, the object's name where known and its pending alarm.
  durable-facets sql <dir> <class-or-binding> <id-or-name> [--facet a/b] [--name] [--json] "<query>"
      Run a read-only query on one database and print the result as a table.
  durable-facets kv <dir> <class-or-binding> <id-or-name> [--facet a/b] [--prefix p] [--name] [--json]
      Print the KV entries (ctx.storage.kv / put) of one database, values decoded.
  durable-facets types [wrangler.jsonc] [--out file]
      Write TypeScript declarations of Env and ctx.exports for a wrangler configuration
      to worker-configuration.d.ts (--out: another file; --out -: print them).
  durable-facets --version | --help

Arguments:
  <class-or-binding>  a namespace: its storage directory name (uniqueKey, by default the
                      class name), or a binding or class name of the wrangler configuration
  <id-or-name>        a 64-hex-digit id, anything else a name (--name: always a name)
  --facet a/b         a facet of the object, by full name (default: the object itself)
  --config <file>     the wrangler configuration that gives binding names (default:
                      wrangler.json, wrangler.jsonc or wrangler.toml of the current directory)
  --env <name>        the env section of the wrangler configuration to read
  --json              print JSON instead of text

An argument that matches nothing is reported with what exists instead.
Exit codes: 0 success, 1 the query or the storage failed, 2 bad usage or nothing matched.`;

const COMMANDS = {
  inspect: inspectCommand,
  sql: sqlCommand,
  kv: kvCommand,
  types: typesCommand,
};

function version() {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return `durable-facets ${pkg.version}`;
}

const out = {
  log: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  json: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
};

async function main(argv) {
  // `--json` is accepted before the command too (`durable-facets --json inspect data`).
  const leading = [];
  while (argv[0] === '--json') leading.push(argv.shift());
  const [command, ...rest] = argv;
  rest.push(...leading);
  if (command === undefined) {
    out.err(USAGE);
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    out.log(USAGE);
    return 0;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    out.log(version());
    return 0;
  }
  const run = COMMANDS[command];
  try {
    if (run === undefined) throw new UsageError(`unknown command: ${command}`);
    const args = parseArgs(command, rest);
    if (args.flags['--help']) {
      out.log(USAGE);
      return 0;
    }
    await run(args, out);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      out.err(`durable-facets: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof ArgumentError) {
      out.err(`durable-facets: ${e.message}`);
      return 2;
    }
    out.err(`durable-facets: ${e?.message ?? e}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
