// examples/chat: the canonical Cloudflare chat room runs over real WebSockets (rt.listen and
// `ws` clients), including after its room was evicted while the sockets stayed open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../index.js';
import { until } from './helpers.mjs';
import { connect, running } from './ws-helpers.mjs';

async function chat(t) {
  const rt = new Runtime({
    main: new URL('../examples/chat/worker.mjs', import.meta.url),
    durableObjects: { ROOMS: 'Room' },
    idleTimeoutMs: 100,
    warmThreads: 0,
  });
  t.after(() => rt.dispose());
  const l = await rt.listen({ port: 0 });
  t.after(() => l.close());
  return { rt, base: l.url.replace(/^http/, 'ws') };
}

const next = async (c) => JSON.parse(await c.next());

test('the chat example broadcasts a message to everyone in the room', async (t) => {
  const { base } = await chat(t);
  const ann = await connect(t, `${base}room/lobby?name=ann`);
  assert.deepEqual(await next(ann), { type: 'history', messages: [] });
  assert.deepEqual(await next(ann), { type: 'joined', name: 'ann', count: 1 });
  const ben = await connect(t, `${base}room/lobby?name=ben`);
  assert.equal((await next(ben)).type, 'history');
  assert.deepEqual(await next(ann), { type: 'joined', name: 'ben', count: 2 });
  assert.deepEqual(await next(ben), { type: 'joined', name: 'ben', count: 2 });
  ann.ws.send(JSON.stringify({ text: 'hello' }));
  for (const c of [ann, ben]) {
    const m = await next(c);
    assert.deepEqual([m.type, m.name, m.text], ['message', 'ann', 'hello']);
  }
});

test('the chat example keeps its sockets across the eviction of the room, and its history', async (t) => {
  const { rt, base } = await chat(t);
  const ann = await connect(t, `${base}room/quiet?name=ann`);
  await next(ann);
  await next(ann);
  ann.ws.send(JSON.stringify({ text: 'before' }));
  assert.equal((await next(ann)).text, 'before');
  await until(async () => !(await running(rt, 'ROOMS', 'quiet')));
  ann.ws.send('ping');
  assert.equal(await ann.next(), 'pong', 'the keep-alive is answered while the room sleeps');
  ann.ws.send(JSON.stringify({ text: 'after' }));
  assert.deepEqual(((m) => [m.name, m.text])(await next(ann)), ['ann', 'after']);
  const ben = await connect(t, `${base}room/quiet?name=ben`);
  assert.deepEqual((await next(ben)).messages.map((m) => m.text), ['before', 'after']);
});

test('the chat example tells the room when someone leaves', async (t) => {
  const { base } = await chat(t);
  const ann = await connect(t, `${base}room/bye?name=ann`);
  await next(ann);
  await next(ann);
  const ben = await connect(t, `${base}room/bye?name=ben`);
  await next(ann);
  ben.ws.close(1000, 'later');
  assert.deepEqual(await next(ann), { type: 'left', name: 'ben', count: 1 });
});
