// SPEC §2.4 in facets (§5): a facet — a tenant's app in a multi-tenant host — accepts
// WebSockets with the hibernation API exactly as a root object does. Its sockets, tags and
// auto-response are its own (not its parent's, not a sibling's); it is evicted while they
// stay open and restarts from its entry in the core (no parent needed, also for code
// supplied at run time) on the next message; abort, delete and a reset of the root
// disconnect them (1006, as workerd drops an aborted actor's hibernation manager).
// Real `ws` clients over TCP through rt.listen, and one hand-off through stub.fetch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runtime, fixture, until } from './helpers.mjs';
import { wsBase, connect, ask } from './ws-helpers.mjs';

/** A runtime of tenants (HOSTS) whose apps are facets; idle instances go after 100 ms. */
async function setup(t, options = {}) {
  const rt = runtime(t, {
    main: fixture('facet-websockets.mjs'),
    durableObjects: { HOSTS: 'Host' },
    workerLoaders: ['LOADER'],
    idleTimeoutMs: 100,
    ...options,
  });
  return { rt, base: await wsBase(t, rt) };
}

/** Whether `facet` (full name; "" for the root) of tenant `tenant` runs now. */
async function running(rt, tenant, facet) {
  const info = await rt.inspect('HOSTS', tenant);
  return info.facets.find((f) => f.name === facet)?.running ?? false;
}

const evicted = (rt, tenant, facet) => until(async () => !(await running(rt, tenant, facet)));

const app = (rt, tenant, name) => ({
  call: (method, ...args) => rt.env.HOSTS.getByName(tenant).call(name, method, ...args),
});

test('a facet accepts a WebSocket through its parent and rt.listen, and echoes', async (t) => {
  const { base } = await setup(t);
  const c = await connect(t, `${base}t/acme/chat`);
  assert.equal(await ask(c, 'hello'), 'echo:hello');
  assert.deepEqual(await ask(c, Buffer.from([1, 2, 3])), Buffer.from([1, 2, 3]));
});

test("a facet's WebSocket reaches the main thread through stub.fetch", async (t) => {
  const { rt } = await setup(t);
  const res = await rt.env.HOSTS.getByName('acme').fetch('http://x/t/acme/chat?user=ann', { headers: { Upgrade: 'websocket' } });
  assert.equal(res.status, 101);
  const ws = res.webSocket;
  ws.accept();
  const got = new Promise((resolve) => ws.addEventListener('message', (e) => resolve(e.data), { once: true }));
  ws.send('attachment');
  assert.equal(await got, '{"user":"ann"}');
});

test("getWebSockets and getTags of a facet see its own sockets, not its parent's nor a sibling's", async (t) => {
  const { rt, base } = await setup(t);
  const a = await connect(t, `${base}t/acme/chat?user=a&tags=red,blue`);
  const b = await connect(t, `${base}t/acme/chat?user=b&tags=red`);
  const other = await connect(t, `${base}t/acme/other?user=o&tags=red`);
  const root = await connect(t, `${base}t/acme`);
  assert.equal(await ask(root, 'hi'), 'host:hi');
  assert.equal(await ask(a, 'count red'), '2');
  assert.equal(await ask(a, 'count blue'), '1');
  assert.equal(await ask(b, 'tags'), '["red"]');
  assert.equal(await ask(other, 'count'), '1');
  assert.deepEqual(await app(rt, 'acme', 'chat').call('sockets', 'red'), [
    { user: 'a', tags: ['red', 'blue'] },
    { user: 'b', tags: ['red'] },
  ]);
  assert.equal(await rt.env.HOSTS.getByName('acme').ownSockets('red'), 1, "the root's only");
});

test('a broadcast in a facet reaches its sockets only', async (t) => {
  const { base } = await setup(t);
  const a = await connect(t, `${base}t/acme/chat?user=ann`);
  const b = await connect(t, `${base}t/acme/chat?user=ben`);
  const other = await connect(t, `${base}t/acme/other?user=oz`);
  a.ws.send('broadcast hello');
  assert.equal(await a.next(), 'ann: hello');
  assert.equal(await b.next(), 'ann: hello');
  // The sibling's socket got nothing: its next message is the answer to its own.
  assert.equal(await ask(other, 'ping?'), 'echo:ping?');
});

test('a socket survives its facet eviction; the next message restarts the facet with the attachment intact', async (t) => {
  const { rt, base } = await setup(t);
  const c = await connect(t, `${base}t/acme/chat?user=ada`);
  const first = JSON.parse(await ask(c, 'whoami'));
  await evicted(rt, 'acme', 'chat');
  await evicted(rt, 'acme', '');
  const second = JSON.parse(await ask(c, 'whoami'));
  assert.notEqual(second.instance, first.instance);
  assert.equal(second.starts, first.starts + 1, 'the constructor ran again');
  assert.equal(await ask(c, 'attachment'), '{"user":"ada"}');
  assert.equal(await running(rt, 'acme', 'chat'), true);
});

test('an evicted facet restarts for its socket without its parent', async (t) => {
  const { rt, base } = await setup(t);
  const c = await connect(t, `${base}t/acme/chat?user=ada`);
  await ask(c, 'hi');
  await evicted(rt, 'acme', 'chat');
  await evicted(rt, 'acme', '');
  assert.equal(await ask(c, 'attachment'), '{"user":"ada"}');
  assert.equal(await running(rt, 'acme', ''), false, 'the parent stays evicted');
});

test('with a storage directory, an evicted facet restarts for its socket without its parent', async (t) => {
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'df-facet-ws-'));
  const { rt, base } = await setup(t, { storage });
  // (after the runtime's own disposal, registered by setup)
  t.after(() => fs.rmSync(storage, { recursive: true, force: true }));
  const c = await connect(t, `${base}t/acme/chat?user=ada`);
  const first = JSON.parse(await ask(c, 'whoami'));
  await evicted(rt, 'acme', 'chat');
  await evicted(rt, 'acme', '');
  const second = JSON.parse(await ask(c, 'whoami'));
  assert.equal(second.starts, first.starts + 1, 'its own database, reopened');
  assert.equal(await ask(c, 'attachment'), '{"user":"ada"}');
  assert.equal(await running(rt, 'acme', ''), false, 'the parent stays evicted');
});

test('a facet of code supplied at run time restarts for its socket without its parent', async (t) => {
  const { rt, base } = await setup(t);
  const c = await connect(t, `${base}t/acme/dyn-chat?user=dee`);
  const first = JSON.parse(await ask(c, 'whoami'));
  await evicted(rt, 'acme', 'dyn-chat');
  await evicted(rt, 'acme', '');
  const second = JSON.parse(await ask(c, 'whoami'));
  assert.equal(second.starts, first.starts + 1, 'the loaded code ran its constructor again');
  assert.equal(await ask(c, 'attachment'), '{"user":"dee"}');
  assert.equal(await running(rt, 'acme', ''), false, 'the parent was not needed');
});

test("a client close reaches the facet's webSocketClose, and the facet closes back", async (t) => {
  const { rt, base } = await setup(t);
  const c = await connect(t, `${base}t/acme/chat?user=bo`);
  await ask(c, 'hi');
  c.ws.close(4100, 'see you');
  assert.deepEqual(await c.closed, [4100, 'see you']);
  const closes = await until(async () => (await app(rt, 'acme', 'chat').call('closes'))[0]);
  assert.deepEqual(closes, { code: 4100, reason: 'see you', wasClean: true, user: 'bo' });
  assert.deepEqual(await app(rt, 'acme', 'chat').call('sockets'), []);
});

test("a client close reaches an evicted facet's webSocketClose (it starts again)", async (t) => {
  const { rt, base } = await setup(t);
  const c = await connect(t, `${base}t/acme/chat?user=cy`);
  await ask(c, 'hi');
  await evicted(rt, 'acme', 'chat');
  c.ws.close(1000, 'bye');
  await c.closed;
  const closes = await until(async () => (await app(rt, 'acme', 'chat').call('closes'))[0]);
  assert.deepEqual(closes, { code: 1000, reason: 'bye', wasClean: true, user: 'cy' });
});

test("a facet's auto-response is answered without waking it, and is the facet's only", async (t) => {
  const { rt, base } = await setup(t);
  const c = await connect(t, `${base}t/acme/chat`);
  const other = await connect(t, `${base}t/acme/other`);
  assert.equal(await ask(c, 'auto'), 'auto set');
  const { starts } = JSON.parse(await ask(c, 'whoami'));
  await evicted(rt, 'acme', 'chat');
  for (let i = 0; i < 5; i++) assert.equal(await ask(c, 'ping'), 'pong');
  assert.equal(await running(rt, 'acme', 'chat'), false, 'still evicted');
  assert.equal(await ask(other, 'ping'), 'echo:ping', "the sibling's socket reaches the sibling");
  const ts = Number(await ask(c, 'ts'));
  assert.ok(ts > 0, 'the auto-response left its timestamp');
  assert.equal(JSON.parse(await ask(c, 'whoami')).starts, starts + 1, 'started once, for "ts"');
  assert.equal(await rt.env.HOSTS.getByName('acme').ownSockets(), 0);
});

test("abort of a facet disconnects its sockets (1006) and keeps its parent's", async (t) => {
  const { rt, base } = await setup(t);
  const a = await connect(t, `${base}t/acme/chat?user=a`);
  const root = await connect(t, `${base}t/acme`);
  await ask(a, 'hi');
  await rt.env.HOSTS.getByName('acme').abortApp('chat');
  assert.equal((await a.closed)[0], 1006);
  assert.equal(await ask(root, 'still here'), 'host:still here');
  assert.deepEqual(await app(rt, 'acme', 'chat').call('sockets'), [], 'the next instance has none');
});

test("abort of an evicted facet disconnects its sockets", async (t) => {
  const { rt, base } = await setup(t);
  const a = await connect(t, `${base}t/acme/chat?user=a`);
  await ask(a, 'hi');
  await evicted(rt, 'acme', 'chat');
  await rt.env.HOSTS.getByName('acme').abortApp('chat');
  assert.equal((await a.closed)[0], 1006);
});

test('delete of a facet disconnects its sockets', async (t) => {
  const { rt, base } = await setup(t);
  const a = await connect(t, `${base}t/acme/chat?user=a`);
  await ask(a, 'hi');
  await rt.env.HOSTS.getByName('acme').deleteApp('chat');
  assert.equal((await a.closed)[0], 1006);
});

test("a reset of the root disconnects every facet's sockets", async (t) => {
  const { rt, base } = await setup(t);
  const a = await connect(t, `${base}t/acme/chat?user=a`);
  const b = await connect(t, `${base}t/acme/other?user=b`);
  await ask(a, 'hi');
  await ask(b, 'hi');
  await assert.rejects(rt.env.HOSTS.getByName('acme').reset(), /tenant reset/);
  assert.equal((await a.closed)[0], 1006);
  assert.equal((await b.closed)[0], 1006);
});

test("a parent that relayed its facet's WebSocket answers with a WebSocket of its own", async (t) => {
  // The relay links this thread's Response before user code reads the global: the global
  // must still be the one that carries a WebSocket.
  const { rt } = await setup(t);
  const host = rt.env.HOSTS.getByName('relay');
  const upgrade = { headers: { Upgrade: 'websocket' } };
  assert.equal((await host.fetch('http://x/t/relay/chat', upgrade)).status, 101);
  const own = await host.fetch('http://x/t/relay', upgrade);
  assert.equal(own.status, 101);
  own.webSocket.accept();
  const got = new Promise((resolve) => own.webSocket.addEventListener('message', (e) => resolve(e.data), { once: true }));
  own.webSocket.send('hi');
  assert.equal(await got, 'host:hi');
});

test("a facet that breaks (ctx.abort) disconnects its sockets; under facetFailure \"isolate\" its sibling's and parent's stay", async (t) => {
  const { base } = await setup(t, { facetFailure: 'isolate' });
  const a = await connect(t, `${base}t/acme/chat?user=a`);
  const b = await connect(t, `${base}t/acme/other?user=b`);
  const root = await connect(t, `${base}t/acme`);
  await ask(b, 'hi');
  a.ws.send('abort');
  assert.equal((await a.closed)[0], 1006);
  assert.equal(await ask(b, 'still'), 'echo:still');
  assert.equal(await ask(root, 'still'), 'host:still');
});

test('a facet that breaks (ctx.abort) resets the whole object by default: every socket of the tree is disconnected', async (t) => {
  const { base } = await setup(t);
  const a = await connect(t, `${base}t/acme/chat?user=a`);
  const b = await connect(t, `${base}t/acme/other?user=b`);
  const root = await connect(t, `${base}t/acme`);
  await ask(b, 'hi');
  await ask(root, 'hi');
  a.ws.send('abort');
  assert.equal((await a.closed)[0], 1006);
  assert.equal((await b.closed)[0], 1006);
  assert.equal((await root.closed)[0], 1006);
});

test('a facet that breaks while its root is evicted still disconnects the root\'s sockets by default', async (t) => {
  const { rt, base } = await setup(t);
  const a = await connect(t, `${base}t/acme/chat?user=a`);
  const root = await connect(t, `${base}t/acme`);
  assert.equal(await ask(root, 'hi'), 'host:hi');
  assert.equal(await ask(a, 'hi'), 'echo:hi');
  await evicted(rt, 'acme', '');
  await evicted(rt, 'acme', 'chat');
  a.ws.send('abort'); // restarts the facet alone, which breaks
  assert.equal((await a.closed)[0], 1006);
  const stillOpen = new Promise((resolve) => setTimeout(() => resolve(['still open after 10 s']), 10_000).unref());
  assert.equal((await Promise.race([root.closed, stillOpen]))[0], 1006);
});

test("clone over a facet disconnects its sockets, and the source keeps its own", async (t) => {
  const { rt, base } = await setup(t);
  const src = await connect(t, `${base}t/acme/chat?user=s`);
  const dst = await connect(t, `${base}t/acme/other?user=d`);
  await ask(src, 'hi');
  await ask(dst, 'hi');
  await rt.env.HOSTS.getByName('acme').cloneApp('chat', 'other');
  assert.equal((await dst.closed)[0], 1006);
  assert.equal(await ask(src, 'attachment'), '{"user":"s"}');
  assert.deepEqual(await app(rt, 'acme', 'other').call('sockets'), [], 'the copy has no sockets');
});
