// `env` of "cloudflare:workers" for the runtime's own modules (`main`, `classes` modules)
// on this thread: a live binding, so CommonJS `require("cloudflare:workers").env` and the
// ES module view both see the environment the host sets before `main` is evaluated.
// (Loader code gets its own module with its own env: see loader.js.)

/** @type {object | undefined} */
export let env;

/** Sets this thread's env (the host does, once, before importing `main`). */
export function setThreadEnv(value) {
  env = value;
}
