// Command-line arguments of the durable-facets CLI: positionals and the few flags it knows.

/** A mistake in the command line: exit code 2, with the usage. */
export class UsageError extends Error {}

/**
 * A well-formed command line whose arguments name nothing usable (no such object, facet or
 * namespace; a configuration that does not parse): exit code 2, with what exists or what is
 * wrong instead of the usage.
 */
export class ArgumentError extends Error {}

/** Flags that take a value, by command ('*': every command). */
const VALUE_FLAGS = {
  '--facet': ['sql', 'kv'],
  '--prefix': ['kv'],
  '--config': ['inspect', 'sql', 'kv', 'types'],
  '--env': ['inspect', 'sql', 'kv', 'types'],
  '--out': ['types'],
};
const BOOLEAN_FLAGS = {
  '--json': ['inspect', 'sql', 'kv'],
  '--name': ['sql', 'kv'],
  '--help': ['*'],
  '-h': ['*'],
};

/**
 * Splits `argv` (after the command) into positionals and flags; `--flag=value` and
 * `--flag value` both work, and `--` ends the flags (for a query that starts with `--`).
 * @param {string} command
 * @param {string[]} argv
 * @returns {{ positionals: string[], flags: Record<string, string | true> }}
 */
export function parseArgs(command, argv) {
  const positionals = [];
  const flags = {};
  const allowed = (table, flag) => table[flag] !== undefined && (table[flag].includes(command) || table[flag].includes('*'));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (allowed(BOOLEAN_FLAGS, flag) && eq === -1) {
      flags[flag === '-h' ? '--help' : flag] = true;
    } else if (allowed(VALUE_FLAGS, flag)) {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined) throw new UsageError(`${flag} needs a value`);
      flags[flag] = value;
    } else {
      throw new UsageError(`unknown option for ${command}: ${arg}`);
    }
  }
  return { positionals, flags };
}
