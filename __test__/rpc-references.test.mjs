// SPEC §2.2, by reference: functions, RpcTarget instances and stubs inside arguments and
// results arrive as stubs whose calls run where the original lives; promise pipelining.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { Runtime, RpcTarget } from '../index.js';
import { fixture, sleep, until } from './helpers.mjs';

function rooms(t, options = {}) {
  const rt = new Runtime({
    main: fixture('rpc-refs.mjs'),
    durableObjects: { ROOMS: 'Room' },
    warmThreads: 0,
    ...options,
  });
  t.after(() => rt.dispose());
  return rt.env.ROOMS;
}

const GONE = 'The execution context which hosts this callback is no longer running.';

test('a function argument arrives as a stub that runs the function on the caller thread', async (t) => {
  const room = rooms(t).getByName('fn');
  const ran = [];
  const result = await room.callWith((a, b) => {
    ran.push(threadId);
    return a + b;
  }, 40, 2);
  assert.equal(result, 42);
  assert.deepEqual(ran, [threadId]);
});

test('an object keeps callbacks and calls them later', async (t) => {
  const room = rooms(t).getByName('subs');
  const got = [];
  await room.subscribe((m) => {
    got.push(m);
    return `a:${m}`;
  });
  await room.subscribe(async (m) => `b:${m}`);
  assert.deepEqual(await room.publish('héllo ✓'), ['a:héllo ✓', 'b:héllo ✓']);
  assert.deepEqual(await room.publish('again'), ['a:again', 'b:again']);
  assert.deepEqual(got, ['héllo ✓', 'again']);
});

test('an RpcTarget returned by a method is a stub whose calls run in the object', async (t) => {
  const room = rooms(t).getByName('target');
  const c = await room.counter('x');
  assert.equal(await c.increment(), 1);
  assert.equal(await c.increment(5), 6);
  assert.equal(await room.readCounter('x'), 6, 'the object sees the same counter');
});

test('await stub.prop reads a getter of the object and of an RpcTarget', async (t) => {
  const room = rooms(t).getByName('props');
  assert.equal(await room.greeting, 'hello from props');
  const c = await room.counter('p');
  await c.increment(3);
  assert.equal(await c.value, 3);
});

test('own fields of objects and RpcTargets are not reachable', async (t) => {
  const room = rooms(t).getByName('fields');
  const message = (name) => `The RPC receiver does not implement the method "${name}".`;
  await assert.rejects(room.secret, { name: 'TypeError', message: message('secret') });
  const c = await room.counter('f');
  await assert.rejects(c.name, { name: 'TypeError', message: message('name') });
  await assert.rejects(c.n(), { name: 'TypeError', message: message('n') });
});

test('calling a member that is not a function rejects with workerd text', async (t) => {
  const room = rooms(t).getByName('notfn');
  await assert.rejects(room.info().plain(), { name: 'TypeError', message: '"plain" is not a function.' });
});

test('a pipelined call is sent before the first result arrives (E-order with later calls)', async (t) => {
  const room = rooms(t).getByName('pipe');
  // Were the second call sent only once `counter` answered, `readCounter` (sent after it)
  // would run first and see 0.
  const inc = room.counter('x').increment();
  const read = room.readCounter('x');
  assert.equal(await inc, 1);
  assert.equal(await read, 1);
});

test('calls pipelined on one promise keep their order', async (t) => {
  const room = rooms(t).getByName('order');
  const p = room.counter('y');
  const first = p.increment();
  const second = p.increment(10);
  // A property is read when it is awaited (as in workerd): after the two calls above.
  const value = await p.value;
  const third = p.increment();
  assert.deepEqual([await first, await second, value, await third], [1, 11, 11, 12]);
});

test('pipelining reaches members of a plain result and functions inside it', async (t) => {
  const room = rooms(t).getByName('plain');
  assert.equal(await room.info().plain, 'data');
  assert.equal(await room.info().double(21), 42);
});

test('calls pipelined on a call that rejects reject with its error', async (t) => {
  const room = rooms(t).getByName('reject');
  const p = room.failingCounter();
  await assert.rejects(p.increment(), { name: 'RangeError', message: 'no counter today' });
  await assert.rejects(p, { name: 'RangeError', message: 'no counter today' });
});

test('a disposed stub rejects with workerd text, and the target learns it was let go', async (t) => {
  const room = rooms(t).getByName('dispose');
  let disposed = 0;
  class Probe extends RpcTarget {
    ping() {
      return 'pong';
    }
    [Symbol.dispose]() {
      disposed++;
    }
  }
  await room.hold(new Probe());
  assert.equal(await room.pingHeld(), 'pong');
  assert.equal(disposed, 0);
  await room.releaseHeld();
  await until(() => disposed === 1);
  const c = await room.counter('d');
  c[Symbol.dispose]();
  await assert.rejects(c.increment(), { message: 'RPC stub used after being disposed.' });
});

test('references an instance holds are released when it stops', async (t) => {
  const room = rooms(t).getByName('stops');
  let disposed = 0;
  class Probe extends RpcTarget {
    [Symbol.dispose]() {
      disposed++;
    }
  }
  await room.hold(new Probe());
  await assert.rejects(room.abortNow(), { message: 'aborted on purpose' });
  await until(() => disposed === 1);
});

test('a callback whose owner instance stopped rejects clearly', async (t) => {
  const ns = rooms(t);
  await ns.getByName('giver').giveCallbackTo('keeper');
  assert.equal(await ns.getByName('keeper').callHeld(), 'from giver');
  await assert.rejects(ns.getByName('giver').abortNow(), { message: 'aborted on purpose' });
  await assert.rejects(ns.getByName('keeper').callHeld(), (e) => {
    assert.equal(e.message, GONE);
    assert.equal(e.code, 'ERR_DO_REFERENCE_GONE');
    return true;
  });
});

test('an object others hold references into is not evicted while idle', async (t) => {
  const room = rooms(t, { idleTimeoutMs: 50 }).getByName('alive');
  const before = await room.whoAmI();
  const c = await room.counter('z');
  await sleep(300);
  assert.equal(await c.increment(), 1);
  assert.equal((await room.whoAmI()).instance, before.instance, 'still the same instance');
  c[Symbol.dispose]();
  await sleep(300);
  assert.notEqual((await room.whoAmI()).instance, before.instance, 'evicted once let go');
});

test('an object calls back a function another object passed to it', async (t) => {
  const ns = rooms(t);
  assert.equal(await ns.getByName('relayer').relay('relayed'), 'relayer got ping');
});

test('a facet calls back a function its parent passed to it', async (t) => {
  const room = rooms(t).getByName('parent');
  assert.deepEqual(await room.facetCallback(), { result: 18, calls: 2 });
});

test('a namespace stub passed as an argument reaches the same object', async (t) => {
  const ns = rooms(t);
  const target = ns.getByName('shared-target');
  assert.equal(await ns.getByName('caller').bumpThrough(target), 1);
  assert.equal(await target.readCounter('shared'), 1);
});

test('a facet stub handed to a sibling reaches that facet, not a new one', async (t) => {
  const room = rooms(t).getByName('siblings');
  const r = await room.handFacet();
  assert.equal(r.viaB, 11);
  assert.equal(r.direct, 111);
  assert.equal(r.seenByB, r.aInstance);
});

test('the main thread can be called back while it awaits the object', async (t) => {
  const room = rooms(t).getByName('reentry');
  const result = await room.callWith(async (n) => (await room.readCounter('none')) + n, 5);
  assert.equal(result, 5);
});

test('a reference in an answer its caller no longer waits for is let go', async (t) => {
  const ns = rooms(t);
  await ns.getByName('slow').whoAmI(); // running, so the call is delivered before the abort
  await assert.rejects(ns.getByName('impatient').callThenAbort('slow'), { message: 'stopped before the answer' });
  await until(async () => (await ns.getByName('slow').disposedCount()) === 1);
});

test('dispose() rejects calls in flight through references', async (t) => {
  const rt = new Runtime({ main: fixture('rpc-refs.mjs'), durableObjects: { ROOMS: 'Room' }, warmThreads: 0 });
  const c = await rt.env.ROOMS.getByName('pending').counter('p');
  const rejected = assert.rejects(c.never(), { code: 'ERR_DO_DISPOSED' });
  await rt.dispose();
  await rejected;
});

test('each await of a getter reads it afresh', async (t) => {
  const c = await rooms(t).getByName('fresh').counter('f');
  assert.equal(await c.value, 0);
  await c.increment(4);
  assert.equal(await c.value, 4);
});

test('a stub handed on keeps working after the sender disposes its own', async (t) => {
  const ns = rooms(t);
  const c = await ns.getByName('source').counter('h');
  const keeper = ns.getByName('keeper');
  await keeper.hold(c);
  c[Symbol.dispose]();
  assert.equal(await keeper.incHeld(), 1);
  assert.equal(await keeper.incHeld(), 2);
});

test('a stub of an object does not reach what the object exported to others', async (t) => {
  const ns = rooms(t);
  const room = ns.getByName('guarded');
  const c = await room.counter('secret'); // exported to this caller only
  await c.increment();
  for (const forged of ['\x01["e",1,["increment"],"c"]', '\x01["e",2,["increment"],"c"]']) {
    await assert.rejects(room[forged](), { name: 'TypeError' });
  }
  await assert.rejects(room['\x08\x01["e",1,["increment"],"c"]'](), { name: 'TypeError' });
  assert.equal(await room.readCounter('secret'), 1, 'nothing reached the counter');
});
