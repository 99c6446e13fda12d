// SPEC §2.3: rt.listen() serves HTTP with the entry point's fetch, for real HTTP clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { codes } from '../lib/error-codes.js';
import { runtime, fixture, until } from './helpers.mjs';

const serve = (t, options = {}) =>
  runtime(t, { main: fixture('entry-object.mjs'), durableObjects: { COUNTERS: 'Counter' }, vars: { GREETING: 'hi' }, ...options });

/** A listener closed after the test. */
async function listening(t, rt, options = { port: 0 }) {
  const l = await rt.listen(options);
  t.after(() => l.close());
  return l;
}

/** One request on a fresh connection (no keep-alive pool): resolves `{ status, headers, body }` or rejects. */
function rawRequest(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, raw: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('rt.listen on port 0 picks a free port on 127.0.0.1 and reports its url', async (t) => {
  const rt = serve(t);
  const l = await listening(t, rt);
  assert.ok(Number.isInteger(l.port) && l.port > 0);
  assert.equal(l.url, `http://127.0.0.1:${l.port}/`);
  const res = await fetch(`${l.url}count?name=port`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { n: 1, greeting: 'hi' });
});

test('the handler sees the request url, method and headers the client sent', async (t) => {
  const rt = serve(t);
  const l = await listening(t, rt);
  const res = await rawRequest(`${l.url}url?q=1`, { method: 'DELETE', headers: { 'x-multi': ['a', 'b'] } });
  const seen = JSON.parse(res.body);
  assert.equal(seen.url, `http://127.0.0.1:${l.port}/url?q=1`);
  assert.equal(seen.method, 'DELETE');
  assert.equal(seen.host, `127.0.0.1:${l.port}`);
  assert.equal(seen.multi, 'a, b');
  // Hop-by-hop headers belong to the connection, not to the request.
  assert.equal(seen.connection, null);
});

test('status, status text, headers and every Set-Cookie reach the client', async (t) => {
  const rt = serve(t);
  const l = await listening(t, rt);
  const res = await rawRequest(`${l.url}echo`, { method: 'POST', body: 'hello' });
  assert.equal(res.status, 201);
  assert.equal(res.headers['x-method'], 'POST');
  assert.equal(res.headers['x-length'], '5');
  assert.deepEqual(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
  assert.equal(res.body.toString(), 'hello');
  // Through a fetch client too.
  const viaFetch = await fetch(`${l.url}echo`, { method: 'POST', body: 'x' });
  assert.equal(viaFetch.statusText, 'Made');
  assert.deepEqual(viaFetch.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/']);
});

test('a 5 MB body makes the round trip through rt.listen intact', async (t) => {
  const rt = serve(t);
  const l = await listening(t, rt);
  const body = randomBytes(5 * 1024 * 1024);
  const res = await fetch(`${l.url}echo`, { method: 'PUT', body });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('x-length'), String(body.length));
  const back = Buffer.from(await res.arrayBuffer());
  assert.equal(back.length, body.length);
  assert.ok(back.equals(body));
});

test('non-ASCII bodies and header values keep every byte', async (t) => {
  const rt = serve(t);
  const l = await listening(t, rt);
  const text = 'Grüße, 世界 🌍 — ✓';
  // A header carries bytes: here the UTF-8 bytes of a name, as a Latin-1 (byte) string.
  const name = 'Zoë 日本';
  const nameBytes = Buffer.from(name, 'utf8').toString('latin1');
  // (A Buffer body: Node's client writes headers sent with a string body in its encoding.)
  const body = Buffer.from(text, 'utf8');
  const res = await rawRequest(`${l.url}text`, { method: 'POST', headers: { 'x-name': nameBytes }, body });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString('utf8'), `${name}: ${text}`);
  // A header value the handler sends back arrives with the same bytes.
  const echo = await rawRequest(`${l.url}echo`, { method: 'POST', headers: { 'x-name': nameBytes }, body });
  assert.equal(Buffer.from(echo.headers['x-name'], 'latin1').toString('utf8'), name);
  assert.equal(echo.body.toString('utf8'), text);
});

test('a request body over 32 MiB is served: bodies stream, the RPC payload cap does not apply', async (t) => {
  const rt = serve(t);
  const l = await listening(t, rt);
  const body = randomBytes(32 * 1024 * 1024 + 1);
  const res = await rawRequest(`${l.url}echo`, { method: 'POST', body });
  assert.equal(res.status, 201);
  assert.equal(res.headers['x-length'], String(body.length));
  assert.ok(res.body.equals(body));
});

test('HEAD and null-body responses have no body', async (t) => {
  const rt = serve(t);
  const l = await listening(t, rt);
  const head = await rawRequest(`${l.url}echo`, { method: 'HEAD' });
  assert.equal(head.status, 201);
  assert.equal(head.body.length, 0);
  const empty = await rawRequest(`${l.url}empty`);
  assert.equal(empty.status, 204);
  assert.equal(empty.body.length, 0);
});

test('a handler that throws answers 500 and logs the error on the main thread', async (t) => {
  const rt = serve(t);
  const l = await listening(t, rt);
  const logged = t.mock.method(console, 'error', () => {});
  const res = await rawRequest(`${l.url}throw`);
  assert.equal(res.status, 500);
  assert.equal(res.body.toString(), 'Internal Server Error\n');
  assert.equal(logged.mock.callCount(), 1);
  const [line, error] = logged.mock.calls[0].arguments;
  assert.match(line, /rt\.listen: GET http:\/\/127\.0\.0\.1:\d+\/throw failed:/);
  assert.equal(error.message, 'entry point failed: ünïcødé ✓');
});

test('16 concurrent requests over keep-alive connections are all answered', async (t) => {
  const rt = serve(t);
  const l = await listening(t, rt);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  t.after(() => agent.destroy());
  const one = () =>
    new Promise((resolve, reject) => {
      http
        .get(`${l.url}count?name=many`, { agent }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(JSON.parse(body).n));
        })
        .on('error', reject);
    });
  const counts = await Promise.all(Array.from({ length: 16 }, one));
  assert.deepEqual(counts.sort((a, b) => a - b), Array.from({ length: 16 }, (_, i) => i + 1));
});

test('close() stops accepting connections', async (t) => {
  const rt = serve(t);
  const l = await rt.listen({ port: 0 });
  assert.equal((await rawRequest(`${l.url}count?name=close`)).status, 200);
  // An idle keep-alive connection does not hold close() open.
  assert.equal((await fetch(`${l.url}count?name=close`)).status, 200);
  await l.close();
  await assert.rejects(rawRequest(`${l.url}count?name=close`), { code: 'ECONNREFUSED' });
  // Idempotent.
  await l.close();
});

test('rt.dispose() closes its listeners', async (t) => {
  const rt = serve(t);
  const a = await rt.listen({ port: 0 });
  const b = await rt.listen({ port: 0 });
  assert.notEqual(a.port, b.port);
  await rt.dispose();
  await assert.rejects(rawRequest(a.url), { code: 'ECONNREFUSED' });
  await assert.rejects(rawRequest(b.url), { code: 'ECONNREFUSED' });
  await assert.rejects(rt.listen({ port: 0 }), { code: codes.Disposed });
});

test('a request in flight when the runtime is disposed is answered 500', async (t) => {
  const rt = serve(t);
  const l = await rt.listen({ port: 0 });
  t.mock.method(console, 'error', () => {});
  const inFlight = rawRequest(`${l.url}wait`);
  // Wait until the entry point holds the request.
  await until(async () => (await rt.env.COUNTERS.getByName('waiting').increment(0)) === 1);
  await rt.dispose();
  const res = await inFlight;
  assert.equal(res.status, 500);
});

test('rt.listen rejects bad options with a TypeError', async (t) => {
  const rt = serve(t);
  for (const options of [{ port: -1 }, { port: 65536 }, { port: 1.5 }, { port: '80' }, { hostname: '' }, 'x', null]) {
    await assert.rejects(rt.listen(options), { name: 'TypeError', code: codes.InvalidArgument }, JSON.stringify(options));
  }
});

test('rt.listen on a port in use rejects with the address error', async (t) => {
  const rt = serve(t);
  const l = await listening(t, rt);
  await assert.rejects(rt.listen({ port: l.port }), { code: 'EADDRINUSE' });
});
