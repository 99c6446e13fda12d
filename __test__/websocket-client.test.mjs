// Outbound WebSockets (`new WebSocket(url)` in object code, as on Workers), against a real
// server over TCP: messages both ways, binary as ArrayBuffer, close codes, errors as events,
// and the socket's life bound to the instance that opened it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer } from 'ws';
import { evictDurableObject } from 'durable-facets/testing';
import { runtime, fixture, until } from './helpers.mjs';

const nodeHasWebSocket = 'WebSocket' in globalThis;

/** An echo server on a free port; resolves its ws:// URL and the server. */
async function echoServer(t) {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  server.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
  t.after(() => new Promise((r) => server.close(r)));
  for (const c of server.clients) c.terminate();
  return { url: `ws://127.0.0.1:${server.address().port}/chat`, server };
}

const clients = (t, options = {}) => runtime(t, { main: fixture('websocket-client.mjs'), durableObjects: { CLIENTS: 'Client' }, ...options });

test('an object connects out with new WebSocket(url): text and binary echo, close code and reason', { skip: nodeHasWebSocket && "Node's own WebSocket is the global here" }, async (t) => {
  const { url } = await echoServer(t);
  const rt = clients(t);
  assert.deepEqual(await rt.env.CLIENTS.getByName('a').echo(url, 'héllo 🦊 世界'), {
    text: 'héllo 🦊 世界',
    binaryIsArrayBuffer: true,
    bytes: [1, 2, 255],
    close: { code: 1000, reason: 'done' },
    instanceOfGlobal: false,
  });
});

test('a refused connection is an error event then a close event, not a thrown error', { skip: nodeHasWebSocket && "Node's own WebSocket is the global here" }, async (t) => {
  const { server } = await echoServer(t);
  const port = server.address().port;
  await new Promise((r) => server.close(r));
  const rt = clients(t);
  assert.deepEqual(await rt.env.CLIENTS.getByName('a').refused(`ws://127.0.0.1:${port}/`), { error: 'error', closeCode: 1006 });
});

test('a URL scheme other than ws, wss, http or https is a SyntaxError', { skip: nodeHasWebSocket && "Node's own WebSocket is the global here" }, async (t) => {
  const rt = clients(t);
  assert.match(await rt.env.CLIENTS.getByName('a').badScheme(), /^SyntaxError: The URL's scheme must be "ws" or "wss"/);
});

test('an open outbound socket keeps its object from eviction, and is closed when the object stops', { skip: nodeHasWebSocket && "Node's own WebSocket is the global here" }, async (t) => {
  const { url, server } = await echoServer(t);
  const rt = clients(t, { idleTimeoutMs: 50 });
  const stub = rt.env.CLIENTS.getByName('holder');
  assert.equal(await stub.open(url), 1);
  await until(() => server.clients.size === 1);
  // The same check idle eviction makes: an open socket holds the instance.
  await assert.rejects(evictDurableObject(stub), { code: 'ERR_DO_INVALID_STATE' });
  const [socket] = server.clients;
  assert.equal(socket.readyState, 1);
  // The instance stops (its thread is kept for the next one): the connection is closed.
  const closed = new Promise((r) => socket.once('close', r));
  await assert.rejects(stub.stop(), /bye/);
  await closed;
  assert.equal(server.clients.size, 0);
});
