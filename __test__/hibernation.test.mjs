// SPEC §2.4: the hibernation API. Sockets accepted with ctx.acceptWebSocket() are held
// outside the object's thread: the object is evicted while they stay open, and the next
// message starts a new instance (constructor again) with the socket, its attachment and
// tags intact. Auto-responses are answered without waking it. Real `ws` clients over TCP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from './helpers.mjs';
import { wsRuntime, wsBase, connect, ask, running } from './ws-helpers.mjs';

/** A runtime whose idle objects are evicted quickly, and its ws:// base URL. */
async function setup(t) {
  const rt = wsRuntime(t, { idleTimeoutMs: 100 });
  return { rt, base: await wsBase(t, rt) };
}

const evicted = (rt, name) => until(async () => !(await running(rt, 'ROOMS', name)));

test('a hibernatable socket echoes through rt.listen', async (t) => {
  const { base } = await setup(t);
  const c = await connect(t, `${base}room/echo`);
  assert.equal(await ask(c, 'hello'), 'echo:hello');
  assert.deepEqual(await ask(c, Buffer.from([9, 8, 7])), Buffer.from([9, 8, 7]));
});

test('messages reach webSocketMessage in the order they were sent', async (t) => {
  const { base } = await setup(t);
  const c = await connect(t, `${base}room/order`);
  for (let i = 0; i < 200; i++) c.ws.send(String(i));
  for (let i = 0; i < 200; i++) assert.equal(await c.next(), `echo:${i}`);
});

test('a socket survives its object eviction and the next message starts a new instance', async (t) => {
  const { rt, base } = await setup(t);
  const c = await connect(t, `${base}room/survivor`);
  const first = JSON.parse(await ask(c, 'whoami'));
  await evicted(rt, 'survivor');
  const second = JSON.parse(await ask(c, 'whoami'));
  assert.notEqual(second.instance, first.instance);
  assert.equal(second.starts, first.starts + 1, 'the constructor ran again');
  assert.equal(await running(rt, 'ROOMS', 'survivor'), true);
});

test('the attachment survives the restart', async (t) => {
  const { rt, base } = await setup(t);
  const c = await connect(t, `${base}room/attached?user=ada`);
  const before = await ask(c, 'attachment');
  await evicted(rt, 'attached');
  assert.equal(await ask(c, 'attachment'), before);
  assert.deepEqual(JSON.parse(before), { user: 'ada', since: 42, at: '1970-01-01T00:00:00.000Z' });
});

test('a client close reaches webSocketClose with its code and reason, and the object closes back', async (t) => {
  const { rt, base } = await setup(t);
  const c = await connect(t, `${base}room/closing?user=bo`);
  await ask(c, 'hi');
  c.ws.close(4100, 'see you');
  assert.deepEqual(await c.closed, [4100, 'see you']);
  const stub = rt.env.ROOMS.getByName('closing');
  assert.deepEqual(await until(async () => (await stub.closes())[0]), { code: 4100, reason: 'see you', wasClean: true, user: 'bo' });
});

test('a client close reaches webSocketClose of an evicted object (it starts again)', async (t) => {
  const { rt, base } = await setup(t);
  const c = await connect(t, `${base}room/sleeping-close?user=cy`);
  await ask(c, 'hi');
  await evicted(rt, 'sleeping-close');
  c.ws.close(1000, 'bye');
  await c.closed;
  const stub = rt.env.ROOMS.getByName('sleeping-close');
  assert.deepEqual(await until(async () => (await stub.closes())[0]), { code: 1000, reason: 'bye', wasClean: true, user: 'cy' });
});

test('a client that disconnects without a Close frame gives webSocketClose 1006, not clean', async (t) => {
  const { rt, base } = await setup(t);
  const c = await connect(t, `${base}room/dropped?user=di`);
  await ask(c, 'hi');
  c.ws.terminate();
  const stub = rt.env.ROOMS.getByName('dropped');
  assert.deepEqual(await until(async () => (await stub.closes())[0]), {
    code: 1006,
    reason: 'WebSocket disconnected without sending Close frame.',
    wasClean: false,
    user: 'di',
  });
  assert.deepEqual(await until(async () => (await stub.sockets()).length === 0 && []), []);
});

test('a protocol error on the client connection reaches webSocketError, and no webSocketClose', async (t) => {
  const { rt, base } = await setup(t);
  const c = await connect(t, `${base}room/broken?user=ed`);
  await ask(c, 'hi');
  // A text frame that is not UTF-8: the server side of rt.listen refuses it.
  c.ws.send(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false });
  const stub = rt.env.ROOMS.getByName('broken');
  const [error] = await until(() => stub.errors().then((e) => e.length > 0 && e));
  assert.equal(error.user, 'ed');
  assert.match(error.message, /UTF-8/);
  assert.deepEqual(await stub.closes(), []);
  assert.deepEqual(await stub.sockets(), []);
});

test('an object that breaks (ctx.abort) disconnects its hibernatable sockets, as a reset on Cloudflare', async (t) => {
  const { rt, base } = await setup(t);
  const a = await connect(t, `${base}room/reset?user=a`);
  const b = await connect(t, `${base}room/reset?user=b`);
  await ask(b, 'hi');
  a.ws.send('abort');
  assert.equal((await a.closed)[0], 1006);
  assert.equal((await b.closed)[0], 1006);
  assert.deepEqual(await rt.env.ROOMS.getByName('reset').sockets(), [], 'the next instance has none');
});

test("an object's close() reaches the client", async (t) => {
  const { base } = await setup(t);
  const c = await connect(t, `${base}room/closer`);
  c.ws.send('close');
  assert.deepEqual(await c.closed, [4000, 'closed by room']);
});

test('an auto-response is answered without waking the evicted object', async (t) => {
  const { rt, base } = await setup(t);
  const c = await connect(t, `${base}room/auto`);
  assert.equal(await ask(c, 'auto'), 'auto set');
  const { starts } = JSON.parse(await ask(c, 'whoami'));
  await evicted(rt, 'auto');
  for (let i = 0; i < 5; i++) assert.equal(await ask(c, 'ping'), 'pong');
  assert.equal(await running(rt, 'ROOMS', 'auto'), false, 'still evicted');
  // The next ordinary message wakes it; the auto-response left its timestamp.
  const ts = Number(await ask(c, 'ts'));
  assert.ok(ts > 0);
  assert.equal(JSON.parse(await ask(c, 'whoami')).starts, starts + 1, 'started once, for "ts"');
});

test('getWebSockets and getTags see sockets accepted by an earlier instance', async (t) => {
  const { rt, base } = await setup(t);
  const a = await connect(t, `${base}room/tags?user=a&tags=red,blue`);
  const b = await connect(t, `${base}room/tags?user=b&tags=red`);
  await ask(a, 'hi');
  await ask(b, 'hi');
  await evicted(rt, 'tags');
  assert.equal(await ask(a, 'count'), '2');
  assert.equal(await ask(a, 'count blue'), '1');
  assert.equal(await ask(b, 'tags'), '["red"]');
  const stub = rt.env.ROOMS.getByName('tags');
  assert.deepEqual(
    (await stub.sockets('red')).map((s) => [s.attachment.user, s.tags]),
    [
      ['a', ['red', 'blue']],
      ['b', ['red']],
    ],
  );
});

test('a broadcast reaches every socket of the room, across an eviction', async (t) => {
  const { rt, base } = await setup(t);
  const a = await connect(t, `${base}room/chat?user=ann`);
  const b = await connect(t, `${base}room/chat?user=ben`);
  await ask(a, 'hi');
  await ask(b, 'hi');
  await evicted(rt, 'chat');
  a.ws.send('broadcast hello');
  assert.equal(await a.next(), 'ann: hello');
  assert.equal(await b.next(), 'ann: hello');
});

test('closed sockets leave getWebSockets', async (t) => {
  const { rt, base } = await setup(t);
  const a = await connect(t, `${base}room/leaving?user=a`);
  const b = await connect(t, `${base}room/leaving?user=b`);
  await ask(a, 'hi');
  b.ws.close(1000, 'bye');
  await b.closed;
  const stub = rt.env.ROOMS.getByName('leaving');
  await until(async () => (await stub.closes()).length === 1);
  assert.equal(await ask(a, 'count'), '1');
});

// workerd's texts for the hibernation API (actor-state.c++, web-socket.c++), one each.
const PROBES = {
  tooManyTags: 'Error: a Hibernatable WebSocket cannot have more than 10 tags',
  duplicateTagsCount: 'no error',
  longTag: `Error: "${'x'.repeat(257)}" is longer than the max tag length (256 characters).`,
  acceptTwice: 'Error: Cannot call `acceptWebSocket()` if the WebSocket was already accepted via `accept()`',
  acceptAfterAccept: 'Error: Cannot call `acceptWebSocket()` if the WebSocket was already accepted via `accept()`',
  acceptAfterPeerUsed:
    'Error: Cannot call `acceptWebSocket()` on this WebSocket because its pair has already been accepted or used in a Response.',
  plainAcceptAfterHibernate: "TypeError: Can't accept() WebSocket after enabling hibernation.",
  tagsOfUnaccepted: "Error: you must call 'acceptWebSocket()' before attempting to access the tags of a WebSocket.",
  tagsOfAccepted: 'Error: only hibernatable websockets can have tags.',
  bigAutoRequest: 'RangeError: Request cannot be larger than 2048 bytes. A request of size 2049 was provided.',
  bigAutoResponse: 'RangeError: Response cannot be larger than 2048 bytes. A response of size 3000 was provided.',
  autoResponseRoundTrip: 'Error: a/b then null',
  eventTimeout: 'Error: Event timeout should not exceed 604800000 ms.',
};

for (const [probe, expected] of Object.entries(PROBES)) {
  test(`hibernation API error text: ${probe}`, async (t) => {
    const rt = wsRuntime(t);
    assert.equal(await rt.env.ROOMS.getByName('probe').probe(probe), expected);
  });
}

test('the hibernation API works in a facet, with the same error texts (__test__/facet-websockets.test.mjs has the rest)', async (t) => {
  const rt = wsRuntime(t);
  const room = rt.env.ROOMS.getByName('with-facet');
  assert.equal(await room.facetProbe('hibernate'), 'no error');
  assert.equal(await room.facetProbe('tooManyTags'), PROBES.tooManyTags);
});
