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

const SERVER = fileURLToPath(new URL('../examples/app-host/server.mjs', import.meta.url));
const SAMPLE = fs.readFileSync(new URL('../examples/app-host/sample-app.js', import.meta.url), 'utf8');

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-host-test-'));
/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();

/** Starts the server on a free port; resolves { child, url, port, token, exited }. */
function startServer() {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: '0', APP_HOST_DATA: dataDir },
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
      const m = /app-host listening on (http:\/\/127\.0\.0\.1:(\d+)) token=([0-9a-f]+)/.exec(stdout);
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
  // Broken code fails alone: its tenant and the tenant's other apps keep working.
  assert.equal((await deploy('acme', 'broken', 'export class App extends {')).status, 200);
  const syntax = await call('acme', 'broken', 'list');
  assert.equal(syntax.status, 500);
  assert.equal(syntax.body.error.name, 'SyntaxError');
  assert.equal((await deploy('acme', 'broken', 'throw new Error("at load time");')).status, 200);
  // SPEC §6.5: a load failure names the module and line:column.
  assert.equal((await call('acme', 'broken', 'list')).body.error.message, 'at load time (at app.js:1:7)');
  assert.equal((await deploy('acme', 'broken', 'export class Other {}')).status, 200);
  assert.equal(
    (await call('acme', 'broken', 'list')).body.error.message,
    `Worker "broken@${(await api('GET', '/tenants/acme/apps')).body.apps.find((a) => a.name === 'broken').hash}" does not export a Durable Object class named "App".`,
  );
  assert.equal((await call('acme', 'notes', 'count')).body, 2);
  assert.equal((await api('DELETE', '/tenants/acme/apps/broken')).status, 200);
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

test('restart on the same data: apps reload their code and keep their notes', async () => {
  server = await startServer();
  assert.deepEqual((await call('acme', 'notes', 'list')).body, [
    { id: 1, text: 'buy milk' },
    { id: 2, text: 'call bob' },
  ]);
  assert.equal((await call('globex', 'notes', 'count')).body, 1);
  assert.deepEqual((await api('GET', '/tenants/acme/apps')).body.facets, ['notes']);
  const { code } = await stopServer(server);
  assert.equal(code, 0);
});
