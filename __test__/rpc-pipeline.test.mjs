// Promise pipelining in one message (SPEC §2.2): `stub.a().b()` goes as one batch, the
// result of `a` stays with the callee unless somebody asks for it, and is let go with its
// promise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../index.js';
import { fixture, until } from './helpers.mjs';

function pipe(t, name) {
  const rt = new Runtime({ main: fixture('rpc-pipeline.mjs'), durableObjects: { PIPE: 'Pipe' }, warmThreads: 0 });
  t.after(() => rt.dispose());
  return rt.env.PIPE.getByName(name);
}

test('the first result of a pipelined pair is not sent back when nobody asks for it', async (t) => {
  const obj = pipe(t, 'unread');
  assert.equal(await obj.probed().counter.increment(), 1);
  assert.equal(await obj.probeReads(), 0);
});

test('the first result of a pipelined pair can still be awaited afterwards', async (t) => {
  const obj = pipe(t, 'late');
  const first = obj.getCounter();
  assert.equal(await first.increment(), 1);
  const counter = await first;
  assert.equal(await counter.increment(), 2);
  assert.equal(await first.increment(), 3);
});

test('the first result of a pipelined pair is let go when its promise is disposed', async (t) => {
  const obj = pipe(t, 'dispose');
  const first = obj.getCounter();
  assert.equal(await first.increment(), 1);
  assert.equal(await obj.pinned(), 1);
  first[Symbol.dispose]();
  await until(async () => (await obj.pinned()) === 0);
});

test('the error of the first call of a pipelined pair reaches the pipelined call and the first promise', async (t) => {
  const obj = pipe(t, 'fails');
  const first = obj.fails();
  const second = first.anything();
  await assert.rejects(second, { name: 'TypeError', message: 'first call failed' });
  await assert.rejects(first, { name: 'TypeError', message: 'first call failed' });
});

test('a call awaited at once is sent on its own and its result comes back', async (t) => {
  const obj = pipe(t, 'plain');
  const counter = await obj.getCounter();
  assert.equal(await counter.increment(), 1);
  assert.equal(await obj.pinned(), 0);
});

test('arguments of both calls of a pipelined pair arrive: JSON, V8-encoded and by reference', async (t) => {
  const obj = pipe(t, 'args');
  assert.deepEqual(await obj.hold({ a: 1 }).combine([2]), [{ a: 1 }, [2]]);
  assert.deepEqual(await obj.hold(new Map([[1, 2]])).combine(new Uint8Array([3])), [new Map([[1, 2]]), new Uint8Array([3])]);
  assert.deepEqual(await obj.hold(() => 'f').combine(5), ['f', 5]);
  assert.deepEqual(await obj.hold(7).combine(() => 'g'), [7, 'g']);
  assert.deepEqual(await obj.hold(new Map()).combine(() => 'h'), [new Map(), 'h']);
});

test('a chain of three pipelined calls, and a plain result read through its promise', async (t) => {
  const obj = pipe(t, 'chain');
  assert.deepEqual(await obj.hold(1).chain().combine(2), [1, 2]);
  const result = obj.plain();
  assert.deepEqual(await result.inner.list, [1, 2, 3]);
  assert.deepEqual(await result, { inner: { list: [1, 2, 3] } });
});

test('an object pipelines a call on the result of a function of the main thread', async (t) => {
  const obj = pipe(t, 'main-callee');
  assert.equal(await obj.pipelineOn(() => ({ twice: (x) => 2 * x })), 42);
});

test('a pinned first result does not keep its idle object from eviction', async (t) => {
  const { evictDurableObject } = await import('durable-facets/testing');
  const obj = pipe(t, 'evictable');
  const first = obj.getCounter();
  assert.equal(await first.increment(), 1);
  assert.equal(await obj.pinned(), 1);
  // The caller still holds `first` (no GC, no dispose): the object may stop all the same.
  await evictDurableObject(obj);
  assert.equal(await obj.pinned(), 0);
  await assert.rejects(first.increment(), { code: 'ERR_DO_REFERENCE_GONE' });
});
