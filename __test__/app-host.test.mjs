// End-to-end test of examples/app-host: starts the server as a child process and drives it over
// real HTTP, from start to stop (and a restart on the same data).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../index.js';
import { fixture, until } from './helpers.mjs';

const SERVER = fileURLToPath(new URL('../examples/app-host/server.mjs', import.meta.url));
const SAMPLE = fs.readFileSync(new URL('../examples/app-host/sample-app.js', import.meta.url), 'utf8');

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-host-test-'));
/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();

/** Starts the server on a free port; resolves { child, url, port, token, exited }. */
function startServer(env = {}) {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: '0', APP_HOST_DATA: dataDir, APP_HOST_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    children.delete(child);
    resolve({ code, signal, stdout, stderr });
  }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time\n${stdout}\n${stderr}`)), 10_000);
    const onData = () => {
      const m = /app-host listening on (http:\/\/127\.0\.0\.1:(\d+)) token=(\S+)/.exec(stdout);
      if (m === null) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve({ child, url: m[1], port: Number(m[2]), token: m[3], exited, output: () => ({ stdout, stderr }) });
    };
    child.stdout.on('data', onData);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}, signal ${signal})\n${stdout}\n${stderr}`));
    });
  });
}

/** Stops a server with SIGTERM; resolves its exit status. */
async function stopServer(server) {
  server.child.kill('SIGTERM');
  return server.exited;
}

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([...children].map((c) => new Promise((r) => c.once('exit', r))));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A JSON request with the token; resolves { status, body, headers }. */
async function api(method, pathname, body, { token = server.token, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (token !== null) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['Content-Type'] ??= 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(server.url + pathname, init);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

const call = (tenant, app, method, ...args) => api('POST', `/tenants/${tenant}/apps/${app}/call`, { method, args });
const deploy = (tenant, app, code = SAMPLE) => api('POST', `/tenants/${tenant}/apps/${app}/deploy`, { code });

/** A raw node:http request (fetch does not let us set Host or Origin). */
function raw(pathname, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: pathname, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('prints a URL on 127.0.0.1 and a random 48-hex token', () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(server.port, 0, 'PORT=0 picks a free port and prints it');
  assert.match(server.token, /^[0-9a-f]{48}$/);
});

test('a request without the token, or with a wrong one, is refused with 401', async () => {
  const missing = await api('GET', '/tenants', undefined, { token: null });
  assert.equal(missing.status, 401);
  assert.equal(missing.body.error.name, 'Unauthorized');
  assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
  const wrong = await api('GET', '/tenants', undefined, { token: 'f'.repeat(48) });
  assert.equal(wrong.status, 401);
  const notBearer = await api('GET', '/tenants', undefined, { token: null, headers: { Authorization: server.token } });
  assert.equal(notBearer.status, 401);
  // Routes are behind the token too: nothing is revealed about them.
  assert.equal((await api('POST', '/tenants/a/apps/b/deploy', { code: 'x' }, { token: null })).status, 401);
  assert.equal((await api('GET', '/tenants', undefined)).status, 200);
});

test('a foreign Host header is refused with 421 (DNS rebinding), a foreign Origin with 403', async () => {
  const auth = { Authorization: `Bearer ${server.token}` };
  assert.equal((await raw('/tenants', { ...auth, Host: `evil.example:${server.port}` })).status, 421);
  assert.equal((await raw('/tenants', { ...auth, Host: `127.0.0.1:${server.port + 1}` })).status, 421);
  assert.equal((await raw('/tenants', { ...auth, Host: '127.0.0.1' })).status, 421);
  assert.equal((await raw('/tenants', { Host: 'evil.example' })).status, 421, 'checked before the token');
  assert.equal((await raw('/tenants', { ...auth, Host: `localhost:${server.port}` })).status, 200);
  const origin = await raw('/tenants', { ...auth, Origin: 'http://evil.example' });
  assert.equal(origin.status, 403);
  assert.equal((await raw('/tenants', { ...auth, Origin: `http://127.0.0.1:${server.port}` })).status, 200);
});

test('request bodies must be JSON objects of at most 1 MiB', async () => {
  const path = '/tenants/acme/apps/notes/deploy';
  const form = await api('POST', path, 'code=x', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(form.status, 415);
  assert.equal(form.body.error.name, 'UnsupportedMediaType');
  assert.equal((await api('POST', path, '{"code":"x"}', { headers: { 'Content-Type': 'text/plain' } })).status, 415);
  const noType = await fetch(server.url + path, { method: 'POST', headers: { Authorization: `Bearer ${server.token}` }, body: new Uint8Array([123, 125]) });
  assert.equal(noType.status, 415);
  assert.equal((await api('POST', path, '{"code": ')).status, 400);
  assert.equal((await api('POST', path, '[1]')).status, 400);
  assert.equal((await api('POST', path, { code: 42 })).status, 400);
  const big = await api('POST', path, { code: 'x'.repeat(1024 * 1024) });
  assert.equal(big.status, 413);
  assert.equal(big.body.error.name, 'PayloadTooLarge');
  assert.equal((await api('PUT', path, {})).status, 405);
  assert.equal((await api('GET', '/nope')).status, 404);
  assert.equal((await api('GET', '/tenants/bad%2Fname/apps')).status, 400);
});

test('deploy the sample app to two tenants: each app gets its own SQLite', async () => {
  for (const tenant of ['acme', 'globex']) {
    const res = await deploy(tenant, 'notes');
    assert.equal(res.status, 200);
    assert.equal(res.body.app, 'notes');
    assert.equal(res.body.version, 1);
  }
  assert.deepEqual((await call('acme', 'notes', 'add', 'buy milk')).body, { id: 1, text: 'buy milk' });
  assert.deepEqual((await call('acme', 'notes', 'add', 'call bob')).body, { id: 2, text: 'call bob' });
  assert.deepEqual((await call('globex', 'notes', 'add', 'ship it')).body, { id: 1, text: 'ship it' });
  assert.deepEqual((await call('acme', 'notes', 'list')).body, [
    { id: 1, text: 'buy milk' },
    { id: 2, text: 'call bob' },
  ]);
  assert.deepEqual((await call('globex', 'notes', 'list')).body, [{ id: 1, text: 'ship it' }]);
  const info = (await call('acme', 'notes', 'info')).body;
  assert.deepEqual(info.props, { tenant: 'acme', app: 'notes' });
  assert.deepEqual(info.env, { TENANT: 'acme', APP: 'notes' });
  assert.ok(info.databaseSize > 0);
});

test('errors come back as JSON { error: { name, message } }; the server keeps serving', async () => {
  const thrown = await call('acme', 'notes', 'fail', 'out of range');
  assert.equal(thrown.status, 500);
  assert.deepEqual(thrown.body, { error: { name: 'RangeError', message: 'out of range' } });
  const unknownMethod = await call('acme', 'notes', 'nope');
  assert.equal(unknownMethod.status, 500);
  assert.equal(unknownMethod.body.error.message, 'The RPC receiver does not implement the method "nope".');
  const unknownApp = await call('acme', 'ghost', 'list');
  assert.equal(unknownApp.status, 404);
  assert.deepEqual(unknownApp.body, { error: { name: 'NotFound', message: 'App "ghost" is not deployed.' } });
  assert.equal((await api('POST', '/tenants/acme/apps/notes/call', { method: 'constructor' })).status, 500);
  assert.equal((await api('POST', '/tenants/acme/apps/notes/call', { method: 'a.b' })).status, 400);
  assert.equal((await api('POST', '/tenants/acme/apps/notes/call', { method: 'fetch' })).status, 400);
  assert.equal((await api('POST', '/tenants/acme/apps/notes/call', { method: 'add', args: 'x' })).status, 400);
  assert.equal((await call('acme', 'notes', 'count')).body, 2);
});

test('deploy refuses code with a syntax error with 422, naming the module and line', async () => {
  const res = await deploy('acme', 'broken', 'import { DurableObject } from "cloudflare:workers";\nexport class App extends {');
  assert.equal(res.status, 422);
  assert.equal(res.body.error.name, 'SyntaxError');
  assert.equal(res.body.error.code, 'ERR_DO_MODULE_LOAD');
  assert.match(res.body.error.message, /\(at app\.js:2:\d+\)$/);
  assert.equal((await call('acme', 'broken', 'list')).status, 404, 'nothing was deployed');
});

test('deploy refuses code that throws at top level, or imports what does not exist, with its line', async () => {
  const thrown = await deploy('acme', 'broken', 'throw new Error("at load time");');
  assert.equal(thrown.status, 422);
  assert.deepEqual(thrown.body.error, { name: 'Error', message: 'at load time (at app.js:1:7)', code: 'ERR_DO_MODULE_LOAD' });
  const missing = await deploy('acme', 'broken', 'import "./helpers.js";\nexport class App {}');
  assert.equal(missing.status, 422);
  assert.equal(missing.body.error.code, 'ERR_DO_MODULE_NOT_FOUND');
  assert.match(missing.body.error.message, /no module named "helpers\.js"\. \(at app\.js:1:\d+\)$/);
});

test('deploy refuses code without a Durable Object class App', async () => {
  for (const code of ['export class Other {}', 'export class App {}']) {
    const res = await deploy('acme', 'broken', code);
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.error, { name: 'InvalidApp', message: 'The code does not export a Durable Object class named "App".' });
  }
});

test('a refused deploy keeps the running version, and the check leaves no facet behind', async () => {
  assert.equal((await deploy('acme', 'notes', 'export class App extends {')).status, 422);
  assert.equal((await call('acme', 'notes', 'count')).body, 2);
  assert.deepEqual((await api('GET', '/tenants/acme/apps')).body.apps.map((a) => [a.name, a.version]), [['notes', 1]]);
  assert.deepEqual((await api('GET', '/tenants/acme/apps')).body.facets, ['notes']);
});

test('uploaded apps may import node: modules (nodejs_compat, as they would need on workerd)', async () => {
  const code = 'import { createHash } from "node:crypto";\nimport { DurableObject } from "cloudflare:workers";\n'
    + 'export class App extends DurableObject { sha(s) { return createHash("sha256").update(s).digest("hex").slice(0, 8); } }';
  assert.equal((await deploy('acme', 'hasher', code)).status, 200);
  assert.equal((await call('acme', 'hasher', 'sha', 'abc')).body, 'ba7816bf');
  assert.equal((await api('DELETE', '/tenants/acme/apps/hasher')).status, 200);
});

test('a request log line per request: method, path, status, duration; never the token', async () => {
  await api('GET', '/tenants/acme/apps');
  await api('GET', '/nope');
  await api('GET', '/tenants', undefined, { token: null });
  await until(() => /GET \/tenants 401/.test(server.output().stdout));
  const { stdout } = server.output();
  assert.match(stdout, /^app-host: \d{4}-\d\d-\d\dT[\d:.]+Z GET \/tenants\/acme\/apps 200 \d+\.\dms$/m);
  assert.match(stdout, /^app-host: \S+ GET \/nope 404 \d+\.\dms$/m);
  assert.ok(!stdout.split('\n').slice(1).some((l) => l.includes(server.token)), 'the token is printed once, at start');
});

test('redeploy: the new code takes effect at once and keeps the app\'s data', async () => {
  const v2 = SAMPLE.replace('count() {', 'count() {\n    return { v2: this.ctx.storage.sql.exec("SELECT count(*) AS n FROM notes").one().n };\n  }\n  oldCount() {');
  const res = await deploy('globex', 'notes', v2);
  assert.equal(res.status, 200);
  assert.equal(res.body.version, 2);
  assert.deepEqual((await call('globex', 'notes', 'count')).body, { v2: 1 });
  assert.equal((await deploy('globex', 'notes')).body.version, 3);
  assert.equal((await call('globex', 'notes', 'count')).body, 1);
});

test('list: deployed apps and the tenant\'s facets', async () => {
  const res = await api('GET', '/tenants/acme/apps');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.apps.map((a) => a.name), ['notes']);
  assert.deepEqual(res.body.facets, ['notes']);
  assert.equal(res.body.apps[0].bytes, Buffer.byteLength(SAMPLE));
  assert.equal(res.body.apps[0].code, undefined, 'code is not echoed');
  assert.deepEqual((await api('GET', '/tenants/nobody/apps')).body, { apps: [], facets: [] });
});

test('clone: the copy has the same code and data, then the two diverge', async () => {
  const res = await api('POST', '/tenants/acme/apps/notes/clone', { to: 'notes-copy' });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { app: 'notes-copy', clonedFrom: 'notes' });
  assert.equal((await call('acme', 'notes-copy', 'count')).body, 2);
  await call('acme', 'notes-copy', 'add', 'only in the copy');
  assert.equal((await call('acme', 'notes-copy', 'count')).body, 3);
  assert.equal((await call('acme', 'notes', 'count')).body, 2);
  assert.deepEqual((await api('GET', '/tenants/acme/apps')).body.facets, ['notes', 'notes-copy']);
  assert.equal((await api('POST', '/tenants/acme/apps/ghost/clone', { to: 'x' })).status, 404);
  assert.equal((await api('POST', '/tenants/acme/apps/notes/clone', { to: 'notes' })).status, 400);
  assert.equal((await api('POST', '/tenants/acme/apps/notes/clone', { to: 'a/b' })).status, 400);
});

test('abort: a call in flight is rejected with the reason; the next call starts afresh with the data kept', async () => {
  const t0 = Date.now();
  const pending = call('acme', 'notes', 'wait', 10_000);
  await new Promise((r) => setTimeout(r, 500));
  const res = await api('POST', '/tenants/acme/apps/notes/abort', { reason: 'stopped by the operator' });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { app: 'notes', aborted: true });
  const aborted = await pending;
  assert.equal(aborted.status, 500);
  assert.deepEqual(aborted.body, { error: { name: 'Error', message: 'stopped by the operator' } });
  assert.ok(Date.now() - t0 < 5000, 'the call did not run to completion');
  assert.equal((await call('acme', 'notes', 'count')).body, 2);
  assert.equal((await api('POST', '/tenants/acme/apps/ghost/abort', {})).status, 404);
});

test('abort stops an app stuck in an endless loop; the tenant and its other apps keep serving', async () => {
  const spinner = 'import { DurableObject } from "cloudflare:workers";\n'
    + 'export class App extends DurableObject { spin() { for (;;); } ok() { return "ok"; } }';
  assert.equal((await deploy('acme', 'spinner', spinner)).status, 200);
  const pending = call('acme', 'spinner', 'spin');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await call('acme', 'notes', 'count')).body, 2, 'other apps answer while one spins');
  await api('POST', '/tenants/acme/apps/spinner/abort', { reason: 'endless loop' });
  assert.deepEqual((await pending).body, { error: { name: 'Error', message: 'endless loop' } });
  assert.equal((await call('acme', 'spinner', 'ok')).body, 'ok');
  assert.deepEqual((await api('DELETE', '/tenants/acme/apps/spinner')).body, { app: 'spinner', deleted: true });
});

test('delete: the app, its code and its storage are gone; other apps are untouched', async () => {
  const res = await api('DELETE', '/tenants/acme/apps/notes-copy');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { app: 'notes-copy', deleted: true });
  assert.equal((await call('acme', 'notes-copy', 'count')).status, 404);
  assert.deepEqual((await api('GET', '/tenants/acme/apps')).body.facets, ['notes']);
  assert.deepEqual((await api('DELETE', '/tenants/acme/apps/notes-copy')).body, { app: 'notes-copy', deleted: false });
  // Redeployed under the same name, it starts empty.
  await deploy('acme', 'notes-copy');
  assert.equal((await call('acme', 'notes-copy', 'count')).body, 0);
  await api('DELETE', '/tenants/acme/apps/notes-copy');
});

test('inspect: the tenant\'s facet tree with names and database sizes', async () => {
  const res = await api('GET', '/tenants/acme/inspect');
  assert.equal(res.status, 200);
  assert.match(res.body.id, /^[0-9a-f]{64}$/);
  assert.deepEqual(res.body.facets.map((f) => f.name), ['', 'notes']);
  for (const f of res.body.facets) {
    assert.ok(f.databaseSize > 0, `${f.name || 'root'} has a database`);
    assert.equal(typeof f.facetId, 'number');
    assert.equal(typeof f.running, 'boolean');
  }
  assert.equal(res.body.facets[0].facetId, 0);
  // GET /tenants lists the ids with storage (a tenant that was only read, like "nobody"
  // above, has an empty root database too, as in workerd).
  const ids = (await api('GET', '/tenants')).body.ids;
  const globex = (await api('GET', '/tenants/globex/inspect')).body.id;
  assert.ok(ids.includes(res.body.id) && ids.includes(globex));
});

test('a second server on the same data directory refuses to start, with a clear message', async () => {
  const second = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: '0', APP_HOST_DATA: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(second);
  let stdout = '';
  let stderr = '';
  second.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  second.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const code = await new Promise((resolve) => second.on('exit', resolve));
  children.delete(second);
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.equal(stderr, `app-host: Storage directory ${path.join(dataDir, 'Tenant')} is in use.\n`);
  assert.equal((await api('GET', '/tenants/acme/apps')).status, 200, 'the first one keeps serving');
});

test('SIGTERM: the server exits 0 and the tenants\' files are on disk', async () => {
  const tenants = {};
  for (const t of ['acme', 'globex']) tenants[t] = (await api('GET', `/tenants/${t}/inspect`)).body;
  const { code, signal, stdout, stderr } = await stopServer(server);
  assert.equal(signal, null);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /app-host stopped/);
  assert.equal(stderr, '');
  const files = fs.readdirSync(path.join(dataDir, 'Tenant'));
  for (const { id, facets } of Object.values(tenants)) {
    assert.ok(files.includes(`${id}.sqlite`), `${id}.sqlite`);
    assert.ok(files.includes(`${id}.facets`), `${id}.facets`);
    for (const f of facets.filter((f) => f.facetId !== 0)) {
      assert.ok(files.includes(`${id}.${f.facetId}.sqlite`), `${id}.${f.facetId}.sqlite (${f.name})`);
    }
  }
});

test('APP_HOST_TOKEN that is too short or has other characters: exit 2 with the rule', async () => {
  for (const bad of ['short', 'x'.repeat(31), `${'a'.repeat(40)} b`, 'é'.repeat(40)]) {
    const child = spawn(process.execPath, [SERVER], {
      env: { ...process.env, PORT: '0', APP_HOST_DATA: dataDir, APP_HOST_TOKEN: bad },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    assert.equal(await new Promise((resolve) => child.on('exit', resolve)), 2);
    assert.match(stderr, /APP_HOST_TOKEN must be 32-256 characters/);
  }
});

test('restart on the same data with APP_HOST_TOKEN: that token, apps reload their code and keep their notes', async () => {
  const fixed = 'fixed-token-for-scripts.0123456789abcdef';
  server = await startServer({ APP_HOST_TOKEN: fixed });
  assert.equal(server.token, fixed);
  assert.equal((await api('GET', '/tenants', undefined, { token: 'f'.repeat(48) })).status, 401);
  assert.deepEqual((await call('acme', 'notes', 'list')).body, [
    { id: 1, text: 'buy milk' },
    { id: 2, text: 'call bob' },
  ]);
  assert.equal((await call('globex', 'notes', 'count')).body, 1);
  assert.deepEqual((await api('GET', '/tenants/acme/apps')).body.facets, ['notes']);
  const { code } = await stopServer(server);
  assert.equal(code, 0);
});

test('Tenant runs where ctx.facets has no list() (Cloudflare): list() leaves facets out', async (t) => {
  const rt = new Runtime({
    main: fixture('app-host-portable.mjs'),
    durableObjects: { TENANTS: { className: 'TenantWithoutList', facetFailure: 'isolate' } },
    workerLoaders: ['LOADER'],
    warmThreads: 0,
  });
  t.after(() => rt.dispose());
  const tenant = rt.env.TENANTS.getByName('portable');
  assert.equal((await tenant.deploy('notes', SAMPLE)).value.version, 1);
  assert.deepEqual((await tenant.call('notes', 'add', ['x'])).value, { id: 1, text: 'x' });
  const { value } = await tenant.list();
  assert.deepEqual(Object.keys(value), ['apps']);
  assert.deepEqual(value.apps.map((a) => a.name), ['notes']);
});
