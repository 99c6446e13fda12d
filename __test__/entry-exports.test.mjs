// ctx.exports of the Worker's entry points (as workerd's loopback bindings): every entry
// point `main` exports — the default handler and named WorkerEntrypoint classes — is a
// service stub on the entry point's `ctx.exports` and on objects' `ctx.exports`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, fixture, until } from './helpers.mjs';

const app = (t) =>
  runtime(t, { main: fixture('entry-exports.mjs'), durableObjects: { CALLERS: 'Caller' }, vars: { GREETING: 'hi' } });

const text = async (rt, path) => (await rt.fetch(`https://app${path}`)).text();

test('the default handler calls an RPC method of a named WorkerEntrypoint through ctx.exports', async (t) => {
  const rt = app(t);
  assert.equal(await text(rt, '/greet?name=Zoë'), 'hello, Zoë (hi)');
});

test('each named WorkerEntrypoint export is reached as itself, not as another export', async (t) => {
  const rt = app(t);
  assert.equal(await text(rt, '/shout?name=zoë'), 'HELLO, ZOË');
  assert.equal(await text(rt, '/greet?name=zoë'), 'hello, zoë (hi)');
});

test("fetch() of a named WorkerEntrypoint's loopback reaches that class's fetch", async (t) => {
  const rt = app(t);
  assert.equal(await text(rt, '/greeter-fetch'), 'Greeter saw /inner');
});

test('a named entry point runs on a runtime thread of its own, apart from the default handler', async (t) => {
  const rt = app(t);
  const { mine, greeter } = await (await rt.fetch('https://app/threads')).json();
  assert.equal(typeof mine, 'number');
  assert.equal(typeof greeter, 'number');
  assert.notEqual(mine, greeter);
});

test('ctx.exports lists the entry points and Durable Object classes main exports', async (t) => {
  const rt = app(t);
  assert.deepEqual(JSON.parse(await text(rt, '/names')), ['Caller', 'Greeter', 'PropsCaller', 'Scoped', 'Shouter', 'default']);
  assert.deepEqual(await rt.env.CALLERS.getByName('a').exportNames(), ['Caller', 'Greeter', 'PropsCaller', 'Scoped', 'Shouter', 'default']);
});

test('a Durable Object reaches a named entry point and the default handler through its ctx.exports', async (t) => {
  const rt = app(t);
  const caller = rt.env.CALLERS.getByName('a');
  assert.equal(await caller.greet('Ω'), 'hello, Ω (hi)');
  assert.equal(await caller.viaDefault('/from-object'), 'default saw /from-object');
});

test('a method a named entry point does not have rejects as on a service binding', async (t) => {
  const rt = app(t);
  assert.match(await text(rt, '/missing'), /^TypeError: .*whisper/);
});

test('the diagnostics name an entry point by its export', async (t) => {
  const lines = [];
  const write = process.stderr.write;
  process.stderr.write = function (chunk, ...rest) {
    if (String(chunk).startsWith('durable-facets ')) return lines.push(String(chunk)), true;
    return write.call(this, chunk, ...rest);
  };
  t.after(() => (process.stderr.write = write));
  const rt = runtime(t, { main: fixture('entry-exports.mjs'), durableObjects: { CALLERS: 'Caller' }, vars: { GREETING: 'hi' }, logLevel: 'info' });
  await rt.fetch('https://app/greet?name=x');
  await until(() => lines.some((l) => / instance\.start .*entrypoint=Greeter\b/.test(l)));
  assert.ok(lines.some((l) => / instance\.start .*entrypoint=default\b/.test(l)));
});

test('ctx.exports.X({ props }) gives the entry point those props as ctx.props; X alone has {}', async (t) => {
  const rt = runtime(t, { main: fixture('entry-exports.mjs'), durableObjects: { CALLERS: 'PropsCaller' }, vars: { GREETING: 'hi' } });
  const caller = rt.env.CALLERS.getByName('p');
  const props = { user: 'zoë', tags: ['ü', '🦊'] };
  assert.deepEqual(await caller.asUser('zoë'), { rpc: props, fetched: props, plain: {} });
  // Other props, another instance: each sees its own.
  assert.deepEqual((await caller.asUser('amélie')).rpc, { user: 'amélie', tags: ['ü', '🦊'] });
});
