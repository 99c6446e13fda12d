// SPEC §2.4, as workerd: the input gate holds the events of sockets accepted with accept()
// while blockConcurrencyWhile() runs, and the hibernatable event timeout
// (ctx.setHibernatableWebSocketEventTimeout) ends an instance whose handler runs past it
// (workerd shuts the actor down: calls reject, its sockets are disconnected).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { runtime, fixture, until, sleep } from './helpers.mjs';

const gates = (t) => runtime(t, { main: fixture('websocket-gates.mjs'), durableObjects: { GATED: 'Gated', TIMED: 'Timed' } });

/** The client end of a WebSocket to `stub` (made through stub.fetch), accepted here. */
async function socketTo(stub, path = '/') {
  const res = await stub.fetch(`http://x${path}`, { headers: { Upgrade: 'websocket' } });
  const ws = res.webSocket;
  ws.accept();
  const queue = [];
  const waiters = [];
  ws.addEventListener('message', (e) => {
    const w = waiters.shift();
    if (w) w(e.data);
    else queue.push(e.data);
  });
  const next = () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
  return { ws, next };
}

test('a message to a socket accepted with accept() waits for blockConcurrencyWhile() to end', async (t) => {
  const rt = gates(t);
  const stub = rt.env.GATED.getByName('g');
  const { ws } = await socketTo(stub);
  // The block lasts until this server answers; the message is sent before it does.
  const server = http.createServer(async (_req, res) => {
    ws.send('hello');
    // Time for the object's thread to take the message up (only an implementation without
    // an input gate would deliver it now); the assertion is on the order, not on time.
    await sleep(100);
    res.end('go');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  assert.equal(await stub.block(`http://127.0.0.1:${server.address().port}/`), 'started');
  const log = await until(async () => {
    const l = await stub.entries();
    return l.length === 3 && l;
  });
  assert.deepEqual(log, ['block start', 'block end', 'message hello']);
});

test('messages to a socket accepted with accept() keep their order around blockConcurrencyWhile()', async (t) => {
  const rt = gates(t);
  const stub = rt.env.GATED.getByName('order');
  const { ws } = await socketTo(stub);
  ws.send('one');
  const server = http.createServer(async (_req, res) => {
    ws.send('two');
    ws.send('three');
    await sleep(50);
    res.end('go');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  await until(async () => (await stub.entries()).includes('message one'));
  await stub.block(`http://127.0.0.1:${server.address().port}/`);
  const log = await until(async () => {
    const l = await stub.entries();
    return l.length === 5 && l;
  });
  assert.deepEqual(log, ['message one', 'block start', 'block end', 'message two', 'message three']);
});

test('a hibernatable handler running past the event timeout ends the instance, as workerd: calls to it reject, its sockets are disconnected', async (t) => {
  const rt = gates(t);
  const stub = rt.env.TIMED.getByName('t');
  const client = await socketTo(stub, '/?timeout=200');
  const closed = new Promise((resolve) => client.ws.addEventListener('close', (e) => resolve([e.code, e.wasClean])));
  client.ws.send('who');
  const first = await client.next();
  assert.match(first, /^who /);
  const pending = stub.wait().then(
    () => assert.fail('wait() answered'),
    (e) => e,
  );
  client.ws.send('hang');
  assert.equal(await client.next(), 'hanging');
  const e = await pending;
  assert.equal(e.message, 'Actor exceeded event execution time and was disconnected.');
  assert.equal(e.code, 'ERR_DO_EVENT_TIMEOUT');
  assert.equal(e.durableObjectReset, true);
  // A reset disconnects the object's hibernatable sockets (no Close frame).
  assert.deepEqual(await closed, [1006, false]);
  // The next connection reaches a new instance.
  const again = await socketTo(stub, '/?timeout=200');
  again.ws.send('who');
  const second = await again.next();
  assert.match(second, /^who /);
  assert.notEqual(second, first);
});

test('a hibernatable handler that finishes within the event timeout runs to its end', async (t) => {
  const rt = gates(t);
  const stub = rt.env.TIMED.getByName('ok');
  const client = await socketTo(stub, '/?timeout=5000');
  client.ws.send('who');
  const first = await client.next();
  client.ws.send('slow');
  assert.equal(await client.next(), 'slow done');
  client.ws.send('who');
  assert.equal(await client.next(), first, 'the same instance');
});
