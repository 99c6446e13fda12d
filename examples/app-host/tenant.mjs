// The Durable Object class of the app host: one Tenant per tenant (a root object), one facet per
// app. An app's code is uploaded at run time, kept in the tenant's own storage (sync KV), and
// loaded through the LOADER worker loader when its facet starts; each app facet has its own
// SQLite database.
//
// Methods return `{ value }` on success and `{ error: { name, message }, status }` for failures
// the HTTP layer should report with that status (unknown app, error thrown by the app, …); an
// exception escaping a method is a failure of the tenant itself.
//
// Portable as it is to Cloudflare (a Worker with a `LOADER` worker loader binding): Web APIs
// only (crypto.subtle, TextEncoder), and `ctx.facets.list()`, which only durable-facets has, is
// used when present.
import { DurableObject } from 'cloudflare:workers';

const key = (app) => `app:${app}`;

/** Uploaded apps may import `node:` modules: on workerd that needs the `nodejs_compat` flag. */
const COMPATIBILITY = { compatibilityDate: '2026-01-01', compatibilityFlags: ['nodejs_compat'] };

/** The facet that loads code being deployed, once, to refuse code that does not load. */
const CHECK_FACET = '~deploy-check';

/** Main module of the check: imports the app's module (so it loads) and looks at its exports. */
const PROBE = `import * as app from './app.js';
import { DurableObject } from 'cloudflare:workers';
export class Probe extends DurableObject {
  exportsApp() {
    return typeof app.App === 'function' && app.App.prototype instanceof DurableObject;
  }
}
`;

const encoder = new TextEncoder();
const byteLength = (text) => encoder.encode(text).byteLength;

/** The first 16 hex digits of the SHA-256 of `text` (Web Crypto: in Node and on workerd). */
async function shortHash(text) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

function fail(status, name, message) {
  return { status, error: { name, message } };
}

const notDeployed = (app) => fail(404, 'NotFound', `App "${app}" is not deployed.`);

/** An error thrown by app code (or by the runtime on its behalf), as plain JSON-able data. */
function appError(e) {
  const error = e instanceof Error
    ? { name: e.name, message: e.message }
    : { name: 'Error', message: String(e) };
  if (e?.durableObjectReset) error.durableObjectReset = true;
  return { status: 500, error };
}

export class Tenant extends DurableObject {
  /** Deploy checks run one at a time (they share CHECK_FACET). */
  #checking = Promise.resolve();

  /** A worker of the LOADER binding running `modules` with the app's env. */
  #worker(name, app, mainModule, modules) {
    return this.env.LOADER.get(name, async () => ({
      ...COMPATIBILITY,
      mainModule,
      modules,
      env: { TENANT: this.ctx.id.name ?? this.ctx.id.toString(), APP: app },
    }));
  }

  /** The stub of app `app`'s facet; the facet (and its code) starts on first use. */
  #app(app) {
    return this.ctx.facets.get(app, async () => {
      // Runs only when this tenant has no entry for `app` (first use, after a deploy, abort,
      // clone-over, a breakage, or a restart): the code is read here, at start-up time, so it
      // survives restarts of the tenant and of the whole process.
      const record = this.ctx.storage.kv.get(key(app));
      if (record === undefined) throw new Error(`App "${app}" is not deployed.`);
      // The loader caches code by worker name: the content hash makes a redeploy with new code
      // a new worker, and the same code a cache hit.
      const worker = this.#worker(`${app}@${record.hash}`, app, 'app.js', { 'app.js': record.code });
      return { class: worker.getDurableObjectClass('App', { props: { tenant: this.ctx.id.name, app } }) };
    });
  }

  /**
   * Loads `code` once in a throwaway facet: code that does not load (a syntax error, a throw
   * at top level, a missing import) or lacks the `App` class is refused now, with the module
   * and line, rather than at its first call. Resolves null when the code is fine.
   */
  #check(app, code, hash) {
    const run = async () => {
      const worker = this.#worker(`${app}@${hash}:check`, app, 'probe.js', { 'probe.js': PROBE, 'app.js': code });
      const probe = this.ctx.facets.get(CHECK_FACET, () => ({ class: worker.getDurableObjectClass('Probe') }));
      try {
        if (await probe.exportsApp()) return null;
        return fail(422, 'InvalidApp', 'The code does not export a Durable Object class named "App".');
      } catch (e) {
        // The probe's own reset (durableObjectReset) says nothing about the app: left out.
        const { error: { name, message } } = appError(e);
        return { status: 422, error: e?.code === undefined ? { name, message } : { name, message, code: e.code } };
      } finally {
        this.ctx.facets.delete(CHECK_FACET);
      }
    };
    const result = this.#checking.then(run);
    this.#checking = result.catch(() => {});
    return result;
  }

  /** Stores (or replaces) the code of `app`; a running instance is stopped so the new code takes effect. */
  async deploy(app, code) {
    const hash = await shortHash(code);
    const refused = await this.#check(app, code, hash);
    if (refused !== null) return refused;
    const previous = this.ctx.storage.kv.get(key(app));
    const record = {
      code,
      hash,
      version: (previous?.version ?? 0) + 1,
      deployedAt: new Date().toISOString(),
    };
    this.ctx.storage.kv.put(key(app), record);
    this.ctx.facets.abort(app, 'App was redeployed.');
    return { value: { app, version: record.version, hash: record.hash, bytes: byteLength(code) } };
  }

  /** Calls `method(...args)` on the app's facet. */
  async call(app, method, args) {
    if (this.ctx.storage.kv.get(key(app)) === undefined) return notDeployed(app);
    try {
      return { value: await this.#app(app)[method](...args) };
    } catch (e) {
      return appError(e);
    }
  }

  /** Stops the app's running instance at once; its storage and code are kept. */
  abort(app, reason) {
    if (this.ctx.storage.kv.get(key(app)) === undefined) return notDeployed(app);
    this.ctx.facets.abort(app, reason);
    return { value: { app, aborted: true } };
  }

  /** Deletes the app: its code, its facet and the facet's storage. Idempotent. */
  delete(app) {
    const existed = this.ctx.storage.kv.get(key(app)) !== undefined;
    this.ctx.facets.delete(app);
    this.ctx.storage.kv.delete(key(app));
    return { value: { app, deleted: existed } };
  }

  /** Makes `to` an exact copy of `app`: same code, copy of its committed storage. */
  clone(app, to) {
    const record = this.ctx.storage.kv.get(key(app));
    if (record === undefined) return notDeployed(app);
    if (to === app) return fail(400, 'BadRequest', 'Cannot clone an app onto itself.');
    const previous = this.ctx.storage.kv.get(key(to));
    this.ctx.storage.kv.put(key(to), {
      ...record,
      version: (previous?.version ?? 0) + 1,
      deployedAt: new Date().toISOString(),
      clonedFrom: app,
    });
    this.ctx.facets.clone(app, to);
    return { value: { app: to, clonedFrom: app } };
  }

  /**
   * Deployed apps (from the tenant's storage), and on durable-facets the facets
   * (`ctx.facets.list()`, which Cloudflare does not have: apps with storage or running).
   */
  list() {
    const apps = [];
    for (const [k, record] of this.ctx.storage.kv.list({ prefix: 'app:' })) {
      const { code, ...meta } = record;
      apps.push({ name: k.slice('app:'.length), ...meta, bytes: byteLength(code) });
    }
    const value = { apps };
    if (typeof this.ctx.facets.list === 'function') value.facets = this.ctx.facets.list();
    return { value };
  }
}
