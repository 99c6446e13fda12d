// SPEC §2.2: a result is adopted as `await` (and `Promise.resolve`) would adopt it, on every
// thread, whatever it looks like — never a call left unanswered. Also: what a caller holds
// of a pipelined pair keeps only its own result pinned; one function stub's `fn()` and
// `fn['']()` stay distinct calls; a callback loop lets the main thread's microtasks run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../index.js';
import { captureGc } from '../lib/gc.js';
import { fixture, until, sleep } from './helpers.mjs';

const gc = captureGc();

function thenables(t, name) {
  const rt = new Runtime({ main: fixture('rpc-thenables.mjs'), durableObjects: { T: 'Thenables' }, warmThreads: 0 });
  t.after(() => rt.dispose());
  return rt.env.T.getByName(name);
}

/** Resolves once `obj` keeps no pinned first result (collecting garbage meanwhile). */
function nothingPinned(obj) {
  return until(async () => {
    gc();
    // The finalizers run in a task of their own, the release at the end of it.
    await sleep(5);
    return (await obj.pinned()) === 0;
  });
}

/** `p`, or a rejection naming the hang after 10 s (a call never answered). */
function answered(p) {
  let timer;
  const hang = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer within 10 s')), 10_000);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

/** What `Promise.resolve(value)` settles to, as `{ok}` or `{error: [name, message]}`. */
const outcome = (p) =>
  p.then(
    (ok) => ({ ok }),
    (e) => ({ error: [e.name, e.message] }),
  );

test('a main-thread callback returning a Proxy of a promise settles as Promise.resolve would', async (t) => {
  const obj = thenables(t, 'proxy');
  const value = () => new Proxy(Promise.resolve(7), {});
  const expected = await outcome(Promise.resolve(value()));
  assert.equal(expected.error[0], 'TypeError');
  assert.deepEqual(await answered(outcome(obj.callBack(value))), expected);
});

test('a main-thread callback returning a promise of a subclass that ignores its executor settles as Promise.resolve would', async (t) => {
  const obj = thenables(t, 'subclass');
  class Deferred extends Promise {
    constructor() {
      super(() => {});
    }
  }
  const value = () => Object.setPrototypeOf(Promise.resolve(7), Deferred.prototype);
  const expected = await outcome(Promise.resolve(value()));
  assert.equal(expected.error[0], 'TypeError');
  assert.deepEqual(await answered(outcome(obj.callBack(value))), expected);
});

test("a main-thread callback whose result's then getter throws rejects the call with that error", async (t) => {
  const obj = thenables(t, 'getter');
  const value = () => ({
    get then() {
      throw new RangeError('then getter threw');
    },
  });
  await assert.rejects(answered(obj.callBack(value)), { name: 'RangeError', message: 'then getter threw' });
});

test("a pipelined pair whose first result's then getter throws rejects, and nothing stays pinned", async (t) => {
  const obj = thenables(t, 'batch-getter');
  await assert.rejects(answered(obj.getterThrows().anything()), { name: 'RangeError', message: 'then getter threw' });
  await nothingPinned(obj);
});

test('a pipelined pair whose second result is a Proxy of a promise rejects as Promise.resolve would, and nothing stays pinned', async (t) => {
  const obj = thenables(t, 'batch-proxy');
  const expected = await outcome(Promise.resolve(new Proxy(Promise.resolve(1), {})));
  for (let i = 0; i < 3; i++) assert.deepEqual(await answered(outcome(obj.getCounter().proxied())), expected);
  await nothingPinned(obj);
});

test('holding the second results of pipelined pairs keeps none of their first results pinned', async (t) => {
  const obj = thenables(t, 'seconds');
  const held = [];
  for (let round = 0; round < 4; round++) {
    const seconds = [];
    for (let i = 0; i < 16; i++) seconds.push(obj.getCounter().increment());
    assert.deepEqual(await Promise.all(seconds), Array(16).fill(1));
    held.push(seconds[15]);
  }
  await nothingPinned(obj);
  assert.equal(await held[0], 1);
});

for (const emptyFirst of [false, true]) {
  test(`fn() and fn[''](), through one function stub, are different calls (${emptyFirst ? "fn[''] first" : 'fn first'})`, async (t) => {
    const obj = thenables(t, `paths-${emptyFirst}`);
    const [plain, empty] = await obj.callPaths(() => 'called fn', emptyFirst);
    assert.deepEqual(plain, { ok: 'called fn' });
    assert.deepEqual(empty, { error: ['TypeError', 'The RPC receiver does not implement the method "".'] });
  });
}

test("an object calling the main thread's callbacks in a loop lets the main thread's microtasks run between them", async (t) => {
  const obj = thenables(t, 'loop');
  let since = 0;
  let longest = 0;
  let queued = false;
  const cb = (i) => {
    since++;
    if (!queued) {
      queued = true;
      queueMicrotask(() => {
        longest = Math.max(longest, since);
        since = 0;
        queued = false;
      });
    }
    return i;
  };
  assert.equal(await obj.callbacks(cb, 20_000), 20_000);
  // One pump (one event-loop callback) dispatches what is queued, so a few callbacks may
  // run back to back; without a checkpoint for thousands, timers and I/O starve too.
  assert.ok(longest <= 100, `${longest} callbacks ran with no microtask checkpoint between them`);
});
