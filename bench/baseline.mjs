// Baselines that only benchmarks use (better-sqlite3) are not dependencies of the package:
// installing them costs every user a native build. A benchmark imports its baseline here,
// which says how to install it when it is missing.
import { createRequire } from 'node:module';

/**
 * Imports package `name` (a bench-only baseline), or ends the process with the command
 * that installs it without touching package.json or package-lock.json.
 * @param {string} name e.g. "better-sqlite3"
 * @param {string} range the major version the benchmark was written against
 */
export async function importBaseline(name, range) {
  try {
    // Resolved from the project root, as an installed dependency would be.
    const require = createRequire(new URL('../package.json', import.meta.url));
    return await import(require.resolve(name)).then((m) => ({ default: m.default ?? m }));
  } catch (e) {
    const missing = e?.code === 'MODULE_NOT_FOUND' || e?.code === 'ERR_MODULE_NOT_FOUND';
    console.error(
      [
        `This benchmark compares with ${name}, a baseline that is not installed with durable-facets.`,
        missing ? `${name} is not installed.` : `${name} is installed but does not load: ${String(e?.message).split('\n')[0]}`,
        `Install it for benchmarks (package.json and package-lock.json stay as they are):`,
        ``,
        `    npm i --no-save ${name}@${range}`,
        ``,
      ].join('\n'),
    );
    process.exit(1);
  }
}
