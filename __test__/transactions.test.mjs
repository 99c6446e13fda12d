import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, fixture } from './helpers.mjs';

function store(t, name = 'tx') {
  const rt = runtime(t, { main: fixture('storage-objects.mjs'), durableObjects: { STORE: 'Store' } });
  return { rt, s: rt.env.STORE.getByName(name) };
}

test('transactionSync keeps writes when the callback returns', async (t) => {
  const { s } = store(t);
  assert.deepEqual(await s.txnSync(false), { rows: 1 });
});

test('transactionSync rolls back and rethrows when the callback throws', async (t) => {
  const { s } = store(t);
  assert.deepEqual(await s.txnSync(true), { error: 'roll me back', rows: 0 });
});

test('transaction() commits across awaits', async (t) => {
  const { s } = store(t);
  assert.equal(await s.txnAsync(null), 'committed');
  assert.deepEqual(await s.kvList(), [
    ['a', 1],
    ['b', 2],
  ]);
});

test('transaction() rolls back on a throw without resetting the object', async (t) => {
  const { s } = store(t);
  await s.kvPut('before', 0);
  assert.deepEqual(await s.txnAsync('throw'), { name: 'TypeError', message: 'async rollback', ctor: 'TypeError' });
  assert.deepEqual(await s.kvList(), [['before', 0]]);
});

test('txn.rollback() discards the transaction', async (t) => {
  const { s } = store(t);
  assert.equal(await s.txnAsync('rollback'), 'committed');
  assert.deepEqual(await s.kvList(), []);
});

test('deleteAll removes tables and KV data', async (t) => {
  const { s } = store(t);
  await s.sql('CREATE TABLE t (a)');
  await s.kvPut('k', 1);
  await s.deleteEverything();
  assert.deepEqual(await s.tables(), []);
  assert.equal(await s.kvGet('k'), undefined);
  await s.sql('CREATE TABLE again (a)');
  assert.deepEqual(await s.tables(), ['again']);
});

test('sync() resolves once earlier writes are committed', async (t) => {
  const { s } = store(t);
  assert.equal(await s.sync(), 'synced');
});

test('writes of a method that throws are still committed (implicit transaction per turn)', async (t) => {
  const { s } = store(t);
  await assert.rejects(s.writeAndFail(), { message: 'after writing' });
  assert.equal(await s.countW(), 1);
});

test('a broken instance loses the writes of its last turn', async (t) => {
  const { s } = store(t);
  await assert.rejects(s.abortAfterWrite(), { durableObjectReset: true });
  assert.equal((await s.tables()).includes('lost'), false);
});

test('an outgoing call made after a write waits for the commit', async (t) => {
  const { s } = store(t, 'gate');
  assert.equal(await s.writeThenCall('other'), 'after write');
  assert.deepEqual((await s.sql('SELECT v FROM g')).rows, [{ v: 42 }]);
});

test('a failed commit breaks the instance and nothing written after the write leaves it', async (t) => {
  const { rt, s } = store(t, 'fk');
  await assert.rejects(s.failCommitThenCall('witness'), {
    message:
      'Durable Object was reset and rolled back to its last known good state because the application left the database in a state where constraints were violated: FOREIGN KEY constraint failed: SQLITE_CONSTRAINT',
    durableObjectReset: true,
  });
  assert.deepEqual(await rt.env.STORE.getByName('witness').getLog(), []);
  assert.deepEqual(await s.tables(), [], 'the turn was rolled back');
});

test('point-in-time recovery is not supported', async (t) => {
  const { s } = store(t);
  assert.equal(await s.bookmark(), 'Point-in-time recovery (getCurrentBookmark) is not supported by durable-facets.');
});

test('a write made in a timer callback is committed before the object is evicted', async (t) => {
  const rt = runtime(t, { main: fixture('storage-objects.mjs'), durableObjects: { STORE: 'Store' }, idleTimeoutMs: 100 });
  const s = rt.env.STORE.getByName('timer');
  await s.writeLater(400);
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(await s.syncKv('get', 'later'), 'written');
});

test('a thread stuck in SQL after deleteAll() is still stopped by the CPU limit', async (t) => {
  const rt = runtime(t, { main: fixture('storage-objects.mjs'), durableObjects: { STORE: 'Store' }, cpuTimeoutMs: 300 });
  await assert.rejects(rt.env.STORE.getByName('stuck').wipeThenLoop(), {
    message: 'Durable Object exceeded its CPU time limit.',
  });
  assert.equal(await rt.env.STORE.getByName('other').echo(1), 1);
});

test('transactions of interleaved handlers run one after the other; nested ones nest', async (t) => {
  const { s } = store(t, 'overlap');
  assert.deepEqual(await s.overlappingTransactions(), { results: ['a', 'b'], ordered: true, inner: 1 });
});

test('a transaction may await a call to another object', async (t) => {
  const { s } = store(t, 'txn-call');
  assert.equal(await s.transactionWithCall('helper'), 'from inside');
  assert.equal(await s.kvGet('after-call'), 'from inside');
});

test('results of other handlers wait for an open transaction to commit', async (t) => {
  const { s } = store(t, 'txn-hold');
  await s.echo('warm');
  const start = Date.now();
  let lateAt = 0;
  const late = s.lateHandler().then(() => (lateAt = Date.now()));
  await s.slowTransaction();
  await late;
  // The late handler finishes after ~30 ms, during the ~120 ms transaction; its result
  // is only delivered once the transaction committed.
  assert.ok(lateAt - start >= 100, `late result after ${lateAt - start} ms`);
});
