// Loads the Rust addon through napi-rs's generated loader (kept internal in lib/native/).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function load() {
  try {
    return require('./native/binding.cjs');
  } catch (cause) {
    const where = `${process.platform}-${process.arch}`;
    const err = new Error(
      `durable-facets: no native binary for this platform (${where}, Node ${process.version}). ` +
        'Build it from source with `npm run build` (needs the Rust toolchain), or install the ' +
        `platform package durable-facets-${where}${process.platform === 'linux' ? '-gnu' : ''}.`,
      { cause },
    );
    err.code = 'ERR_DO_NATIVE_BINDING';
    throw err;
  }
}

/** The napi-generated binding: internal API, see src/lib.rs. */
export const native = load();
