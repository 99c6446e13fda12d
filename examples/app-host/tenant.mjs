// The Durable Object class of the app host: one Tenant per tenant (a root object), one facet per
// app. An app's code is uploaded at run time, kept in the tenant's own storage (sync KV), and
// loaded through the LOADER worker loader when its facet starts; each app facet has its own
// SQLite database.
//
// Methods return `{ value }` on success and `{ error: { name, message }, status }` for failures
// the HTTP layer should report with that status (unknown app, error thrown by the app, …); an
// exception escaping a method is a failure of the tenant itself.
import { DurableObject } from 'cloudflare:workers';
import { createHash } from 'node:crypto';

const key = (app) => `app:${app}`;

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
      const worker = this.env.LOADER.get(`${app}@${record.hash}`, async () => ({
        compatibilityDate: '2026-01-01',
        mainModule: 'app.js',
        modules: { 'app.js': record.code },
        env: { TENANT: this.ctx.id.name ?? this.ctx.id.toString(), APP: app },
      }));
      return { class: worker.getDurableObjectClass('App', { props: { tenant: this.ctx.id.name, app } }) };
    });
  }

  /** Stores (or replaces) the code of `app`; a running instance is stopped so the new code takes effect. */
  deploy(app, code) {
    const previous = this.ctx.storage.kv.get(key(app));
    const record = {
      code,
      hash: createHash('sha256').update(code).digest('hex').slice(0, 16),
      version: (previous?.version ?? 0) + 1,
      deployedAt: new Date().toISOString(),
    };
    this.ctx.storage.kv.put(key(app), record);
    this.ctx.facets.abort(app, 'App was redeployed.');
    return { value: { app, version: record.version, hash: record.hash, bytes: Buffer.byteLength(code) } };
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

  /** Deployed apps (from the tenant's storage) and facets (`ctx.facets.list()`: with storage or running). */
  list() {
    const apps = [];
    for (const [k, record] of this.ctx.storage.kv.list({ prefix: 'app:' })) {
      const { code, ...meta } = record;
      apps.push({ name: k.slice('app:'.length), ...meta, bytes: Buffer.byteLength(code) });
    }
    return { value: { apps, facets: this.ctx.facets.list() } };
  }
}
