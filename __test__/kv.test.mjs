import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { runtime, fixture } from './helpers.mjs';
import { serialize, deserialize } from '../lib/storage/serialize.js';

function store(t) {
  const rt = runtime(t, { main: fixture('storage-objects.mjs'), durableObjects: { STORE: 'Store' } });
  return rt.env.STORE.getByName('kv');
}

test('put and get round-trip structured values', async (t) => {
  const s = store(t);
  const values = [1, -0.5, 'text', true, null, { a: [1, { b: 'c' }] }, new Map([[1, 2]]), new Uint16Array([1, 2]), 10n];
  for (const [i, v] of values.entries()) await s.kvPut(`k${i}`, v);
  for (const [i, v] of values.entries()) assert.deepEqual(await s.kvGet(`k${i}`), v);
  assert.equal(await s.kvGet('missing'), undefined);
});

test('put with an entries object writes them all; undefined values are skipped', async (t) => {
  const s = store(t);
  await s.kvPutMany({ a: 1, b: 2, c: undefined });
  assert.deepEqual(await s.kvList(), [
    ['a', 1],
    ['b', 2],
  ]);
});

test('put refuses undefined values and bad arguments with workerd\'s messages', async (t) => {
  const s = store(t);
  assert.deepEqual(await s.kvTry('put', 'k', undefined), {
    name: 'TypeError',
    message: 'put() called with undefined value.',
    ctor: 'TypeError',
  });
  assert.match((await s.kvTry('put', { a: 1 }, 5)).message, /^put\(\) may only be called with a single key-value pair/);
});

test('get and delete of several keys', async (t) => {
  const s = store(t);
  await s.kvPutMany({ b: 2, a: 1, c: 3 });
  assert.equal(await s.kvDelete(['a', 'c', 'zz']), 2);
  assert.equal(await s.kvDelete('b'), true);
  assert.equal(await s.kvDelete('b'), false);
  assert.deepEqual(await s.kvList(), []);
});

test('list options: start, startAfter, end, prefix, reverse, limit', async (t) => {
  const s = store(t);
  await s.kvPutMany({ a: 1, b: 2, ba: 3, bb: 4, c: 5, 'é': 6 });
  const keys = async (o) => (await s.kvList(o)).map(([k]) => k);
  assert.deepEqual(await keys(), ['a', 'b', 'ba', 'bb', 'c', 'é']);
  assert.deepEqual(await keys({ start: 'b', end: 'c' }), ['b', 'ba', 'bb']);
  assert.deepEqual(await keys({ startAfter: 'b' }), ['ba', 'bb', 'c', 'é']);
  assert.deepEqual(await keys({ prefix: 'b' }), ['b', 'ba', 'bb']);
  assert.deepEqual(await keys({ prefix: 'b', start: 'ba' }), ['ba', 'bb']);
  assert.deepEqual(await keys({ reverse: true, limit: 2 }), ['é', 'c']);
  assert.deepEqual(await keys({ start: 'c', end: 'b' }), []);
});

test('list option errors', async (t) => {
  const s = store(t);
  assert.equal((await s.kvTry('list', { start: 'a', startAfter: 'b' })).message, 'list() cannot be called with both start and startAfter values.');
  assert.deepEqual(await s.kvTry('list', { limit: 0 }), { name: 'TypeError', message: 'List limit must be positive.', ctor: 'TypeError' });
});

test('ctx.storage.kv is synchronous and shares the table', async (t) => {
  const s = store(t);
  await s.syncKv('put', 'x', { v: 1 });
  assert.deepEqual(await s.kvGet('x'), { v: 1 });
  assert.deepEqual(await s.syncKv('get', 'x'), { v: 1 });
  await s.syncKv('put', 'u', undefined);
  assert.deepEqual(await s.syncKv('list'), [
    ['u', undefined],
    ['x', { v: 1 }],
  ]);
  assert.equal(await s.syncKv('delete', 'x'), true);
  assert.equal(await s.syncKv('delete', 'x'), false);
});

test('only one kv.list() iterator is live at a time', async (t) => {
  const s = store(t);
  await s.syncKv('put', 'a', 1);
  assert.equal(
    await s.syncKvTwoLists(),
    'kv.list() iterator was invalidated because a new call to kv.list() was started. Only one kv.list() iterator can exist at a time.',
  );
});

test('stored values are byte-identical to the base v8.Serializer (workerd\'s encoding)', () => {
  const ref = (v) => {
    const s = new v8.Serializer();
    s.writeHeader();
    s.writeValue(v);
    return s.releaseBuffer();
  };
  const values = [undefined, null, true, false, 0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 1.5, NaN, -0, '', 'ascii', 'ÿé', '€', 'x€'.repeat(40), { a: 1 }, [1, 'b'], new Uint8Array([1, 2, 3]), new Float32Array([0.5]), new Date(0)];
  for (const v of values) {
    assert.deepEqual(serialize(v), ref(v), `value ${String(v)}`);
    assert.deepEqual(deserialize(serialize(v)), v);
  }
  // Typed arrays are written natively, not in Node's host-object form.
  assert.notDeepEqual(serialize(new Uint8Array([1])), v8.serialize(new Uint8Array([1])));
});
