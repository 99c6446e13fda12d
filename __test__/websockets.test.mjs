// SPEC §2.4: WebSocketPair, WebSocket ends, the 101 hand-off through stub.fetch and
// rt.listen (a real `ws` client over TCP), accept()ed sockets, and workerd's error texts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as pkg from '../index.js';
import { until } from './helpers.mjs';
import { wsRuntime, wsBase, connect, ask, running } from './ws-helpers.mjs';

test('the entry point echoes text and binary frames over a real WebSocket through rt.listen', async (t) => {
  const rt = wsRuntime(t);
  const c = await connect(t, `${await wsBase(t, rt)}entry-echo`);
  assert.equal(await ask(c, 'hello'), 'hello');
  assert.deepEqual(await ask(c, Buffer.from([0, 1, 2, 255])), Buffer.from([0, 1, 2, 255]));
  assert.equal(await ask(c, 'héllo 🌍'), 'héllo 🌍');
});

test("the 101 response's subprotocol and headers reach the client", async (t) => {
  const rt = wsRuntime(t);
  const base = await wsBase(t, rt);
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(`${base}entry-echo`, ['v1', 'v2']);
  t.after(() => ws.terminate());
  let headers;
  ws.once('upgrade', (res) => (headers = res.headers));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  assert.equal(ws.protocol, 'v2');
  assert.equal(headers['x-hello'], 'world');
});

test('no subprotocol is chosen when the 101 response names none', async (t) => {
  const rt = wsRuntime(t);
  const base = await wsBase(t, rt);
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(`${base}room/protocols`, ['v1']);
  t.after(() => ws.terminate());
  const err = await new Promise((resolve) => {
    ws.once('open', () => resolve(null));
    ws.once('error', resolve);
  });
  // As a browser, `ws` refuses a handshake that ignores the protocols it offered.
  assert.match(String(err?.message), /Server sent no subprotocol/);
});

test('an upgrade the entry point answers without a WebSocket gets that response and no socket', async (t) => {
  const rt = wsRuntime(t);
  const base = await wsBase(t, rt);
  await assert.rejects(connect(t, `${base}refuse/why`), (e) => {
    assert.equal(e.status, 426);
    assert.equal(e.headers['x-why'], 'refused');
    assert.equal(e.body, 'no socket here (why)');
    return true;
  });
});

test('an object hands a WebSocket to the main thread through stub.fetch', async (t) => {
  const rt = wsRuntime(t);
  const res = await rt.env.PLAINS.getByName('main').fetch('http://x/ws', { headers: { Upgrade: 'websocket' } });
  assert.equal(res.status, 101);
  const ws = res.webSocket;
  assert.ok(ws instanceof pkg.WebSocket);
  ws.accept();
  const got = new Promise((resolve) => ws.addEventListener('message', (e) => resolve(e.data), { once: true }));
  ws.send('over stub.fetch');
  assert.equal(await got, 'plain:over stub.fetch');
  const closed = new Promise((resolve) => ws.addEventListener('close', (e) => resolve([e.code, e.reason, e.wasClean])));
  ws.close(1000, 'done');
  assert.deepEqual(await closed, [1000, 'done', true]);
});

test('a WebSocket pair crosses between two objects through stub.fetch', async (t) => {
  const rt = wsRuntime(t);
  const out = await rt.env.PLAINS.getByName('relay').viaRoom('target', 'from another object');
  assert.deepEqual(out, { status: 101, reply: 'echo:from another object' });
});

test('an accept()ed socket hears the client close and answers it with the same code (readyState CLOSED)', async (t) => {
  const rt = wsRuntime(t);
  const c = await connect(t, `${await wsBase(t, rt)}plain/closing`);
  assert.equal(await ask(c, 'x'), 'plain:x');
  c.ws.close(4321, 'client leaves');
  assert.deepEqual(await c.closed, [4321, 'client leaves']);
  const stub = rt.env.PLAINS.getByName('closing');
  assert.deepEqual(await until(() => stub.lastClose()), { code: 4321, reason: 'client leaves', wasClean: true, readyState: 3 });
});

test("an object's close() reaches the client with its code and reason", async (t) => {
  const rt = wsRuntime(t);
  const c = await connect(t, `${await wsBase(t, rt)}plain/closer`);
  c.ws.send('close');
  assert.deepEqual(await c.closed, [4001, 'plain closing']);
});

test('an accept()ed socket keeps its object running while a hibernated one is evicted', async (t) => {
  const rt = wsRuntime(t, { idleTimeoutMs: 100 });
  const base = await wsBase(t, rt);
  const plain = await connect(t, `${base}plain/kept`);
  const room = await connect(t, `${base}room/evicted`);
  const before = await ask(plain, 'whoami');
  await ask(room, 'hello');
  await until(async () => !(await running(rt, 'ROOMS', 'evicted')));
  assert.equal(await running(rt, 'PLAINS', 'kept'), true);
  assert.equal(await ask(plain, 'whoami'), before);
});

test('returning a WebSocket to a request without "Upgrade: websocket" is a TypeError', async (t) => {
  const rt = wsRuntime(t);
  await assert.rejects(rt.fetch('http://x/entry-echo'), {
    name: 'TypeError',
    message: 'Worker tried to return a WebSocket in a response to a request which did not contain the header "Upgrade: websocket".',
  });
});

test('returning an accept()ed WebSocket in a Response is a TypeError', async (t) => {
  const rt = wsRuntime(t);
  await assert.rejects(rt.env.PLAINS.getByName('n').fetch('http://x/nonupgrade', { headers: { Upgrade: 'websocket' } }), {
    name: 'TypeError',
    message: "Can't return WebSocket in a Response after calling accept().",
  });
});

test('WebSocketPair, WebSocket and WebSocketRequestResponsePair are exported by the package', () => {
  assert.equal(typeof pkg.WebSocketPair, 'function');
  assert.equal(typeof pkg.WebSocket, 'function');
  assert.equal(pkg.WebSocket.OPEN, 1);
  assert.equal(new pkg.WebSocketRequestResponsePair('a', 'b').response, 'b');
});

// workerd's texts (web-socket.c++, http.c++, actor-state.c++): one behaviour each.
const PROBES = {
  readyStateOfFreshEnd: 'Error: readyState 1 url null protocol null extensions null',
  attachmentDefaultsToNull: 'Error: attachment null',
  sendBeforeAccept: 'TypeError: You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.',
  sendAfterClose: "TypeError: Can't call WebSocket send() after close().",
  badCloseCode: 'InvalidAccessError: Invalid WebSocket close code: 1005.',
  reasonWithoutCode: 'InvalidAccessError: If you specify a WebSocket close reason, you must also specify a code.',
  longReason: 'SyntaxError: WebSocket close reason must not be longer than 123 bytes when UTF-8 encoded.',
  status101WithoutSocket: 'RangeError: Responses may only be constructed with status codes in the range 200 to 599, inclusive.',
  socketWithout101: 'RangeError: Responses with a WebSocket must have status code 101.',
  cloneSocketResponse: 'TypeError: Cannot clone a response to a WebSocket handshake.',
  bigAttachment: "Error: A WebSocket 'attachment' cannot be larger than 16384 bytes.'attachment' was 20006 bytes.",
  functionAttachment: 'DataCloneError: () => 1 could not be cloned.',
};

for (const [probe, expected] of Object.entries(PROBES)) {
  test(`WebSocket error text: ${probe}`, async (t) => {
    const rt = wsRuntime(t);
    assert.equal(await rt.env.ROOMS.getByName('probe').probe(probe), expected);
  });
}

test('rt.dispose() closes open WebSockets: a main-thread end hears 1006, a client is disconnected', async (t) => {
  const rt = wsRuntime(t);
  const res = await rt.env.ROOMS.getByName('disposed').fetch('http://x/', { headers: { Upgrade: 'websocket' } });
  const ws = res.webSocket;
  ws.accept();
  const closed = new Promise((resolve) => ws.addEventListener('close', (e) => resolve([e.code, e.reason, e.wasClean])));
  const c = await connect(t, `${await wsBase(t, rt)}room/disposed-too`);
  await ask(c, 'hi');
  await rt.dispose();
  assert.deepEqual(await closed, [1006, 'WebSocket disconnected without sending Close frame.', false]);
  const [code] = await c.closed;
  assert.ok(code === 1001 || code === 1006, `close code ${code}`);
  assert.equal(ws.readyState, 3);
});
