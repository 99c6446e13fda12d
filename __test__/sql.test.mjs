import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, fixture } from './helpers.mjs';

const TXN_ERROR =
  "To execute a transaction, please use the state.storage.transaction() or state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT statements. The JavaScript API is safer because it will automatically roll back on exceptions, and because it interacts correctly with Durable Objects' automatic atomic write coalescing.";

function store(t, options = {}) {
  const rt = runtime(t, { main: fixture('storage-objects.mjs'), durableObjects: { STORE: 'Store' }, ...options });
  return { rt, s: rt.env.STORE.getByName('s') };
}

test('exec runs statements and returns rows, columns and counters', async (t) => {
  const { s } = store(t);
  await s.sql('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)');
  const ins = await s.sql("INSERT INTO users (name) VALUES ('ada'), ('bob')");
  assert.equal(ins.rowsWritten, 2);
  assert.deepEqual(ins.rows, []);
  assert.deepEqual(ins.columns, []);
  const sel = await s.sql('SELECT id, name FROM users ORDER BY id');
  assert.deepEqual(sel.rows, [
    { id: 1, name: 'ada' },
    { id: 2, name: 'bob' },
  ]);
  assert.deepEqual(sel.columns, ['id', 'name']);
  assert.ok(sel.rowsRead >= 2);
  assert.equal(sel.rowsWritten, 0);
});

test('several statements per exec; bindings go to the last', async (t) => {
  const { s } = store(t);
  const r = await s.sql('CREATE TABLE t (a); INSERT INTO t VALUES (1); SELECT a + ? AS b FROM t', 10);
  assert.deepEqual(r.rows, [{ b: 11 }]);
  assert.deepEqual(r.columns, ['b']);
  assert.deepEqual(await s.sqlTry('SELECT ?; SELECT 2', 1), {
    name: 'Error',
    message: 'When executing multiple SQL statements in a single call, only the last statement can have parameters.',
    ctor: 'Error',
  });
});

test('bindings and results convert as in workerd', async (t) => {
  const { s } = store(t);
  const [row] = await s.sqlRaw(
    'SELECT typeof(?), typeof(?), typeof(?), typeof(?), ?, typeof(?)',
    1,
    'text',
    null,
    new Uint8Array([1, 2]),
    true,
    { a: 1 },
  );
  assert.deepEqual(row, ['real', 'text', 'null', 'blob', 'true', 'text']);
  const [[big, blob, real]] = await s.sqlRaw("SELECT 9007199254740993, x'0102ff', 1.5");
  assert.equal(big, 9007199254740992);
  assert.ok(blob instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(blob)], [1, 2, 255]);
  assert.equal(real, 1.5);
  assert.deepEqual(await s.sqlTry('SELECT ?', 10n), {
    name: 'TypeError',
    message: 'Cannot convert a BigInt value to a number',
    ctor: 'TypeError',
  });
});

test('wrong binding counts and empty SQL are refused with workerd\'s messages', async (t) => {
  const { s } = store(t);
  assert.equal((await s.sqlTry('SELECT ?')).message, 'Wrong number of parameter bindings for SQL query.');
  assert.equal((await s.sqlTry('SELECT 1', 2)).message, 'Wrong number of parameter bindings for SQL query.');
  assert.equal((await s.sqlTry('  ')).message, 'SQL code did not contain a statement.');
});

test('SQL errors use workerd\'s format', async (t) => {
  const { s } = store(t);
  assert.deepEqual(await s.sqlTry('SELEKT 1'), {
    name: 'Error',
    message: 'near "SELEKT": syntax error at offset 0: SQLITE_ERROR',
    ctor: 'Error',
  });
  await s.sql('CREATE TABLE u (a UNIQUE)');
  await s.sql('INSERT INTO u VALUES (1)');
  assert.equal((await s.sqlTry('INSERT INTO u VALUES (1)')).message, 'UNIQUE constraint failed: u.a: SQLITE_CONSTRAINT');
});

test('cursor: next(), one(), raw() and duplicate column names', async (t) => {
  const { s } = store(t);
  await s.sql('CREATE TABLE t (a, b); INSERT INTO t VALUES (1, 2), (3, 4)');
  const { steps, columns } = await s.cursorSteps('SELECT a, b FROM t ORDER BY a');
  assert.deepEqual(steps, [
    { done: false, value: { a: 1, b: 2 } },
    { done: false, value: { a: 3, b: 4 } },
    { done: true },
    { done: true },
  ]);
  assert.deepEqual(columns, ['a', 'b']);
  assert.deepEqual(await s.sqlOne('SELECT a FROM t WHERE a = 3'), { a: 3 });
  assert.equal((await s.sqlTryOne('SELECT a FROM t WHERE a = 9')).message, 'Expected exactly one result from SQL query, but got no results.');
  assert.equal((await s.sqlTryOne('SELECT a FROM t')).message, 'Expected exactly one result from SQL query, but got multiple results.');
  assert.deepEqual(await s.sqlRaw('SELECT a, b AS a FROM t ORDER BY a LIMIT 1'), [[1, 2]]);
  assert.deepEqual((await s.sql('SELECT a, b AS a FROM t ORDER BY 1 LIMIT 1')).rows, [{ a: 2 }]);
});

test('large results stream in batches; a half-read cursor does not block the same query', async (t) => {
  const { s } = store(t);
  await s.fill(1000);
  assert.equal((await s.sql('SELECT v FROM big')).rows.length, 1000);
  assert.deepEqual(await s.interleavedCursors(), { firstA: 0, all: 1000, restA: 999 });
});

test('databaseSize counts used pages', async (t) => {
  const { s } = store(t);
  await s.sql('CREATE TABLE first (a)');
  const before = await s.size();
  await s.sql('CREATE TABLE t (a)');
  const after = await s.size();
  assert.equal(after - before, 4096);
});

test('BEGIN, COMMIT and SAVEPOINT are refused with workerd\'s message', async (t) => {
  const { s } = store(t);
  for (const q of ['BEGIN TRANSACTION', 'COMMIT', 'ROLLBACK', 'SAVEPOINT sp', 'RELEASE sp']) {
    assert.deepEqual(await s.sqlTry(q), { name: 'Error', message: TXN_ERROR, ctor: 'Error' }, q);
  }
});

test('ATTACH and DETACH are refused', async (t) => {
  const { s } = store(t);
  assert.match((await s.sqlTry("ATTACH DATABASE '/tmp/df-escape.db' AS x")).message, /SQLITE_AUTH|SQLITE_ERROR/);
  assert.match((await s.sqlTry('DETACH DATABASE x')).message, /SQLITE_AUTH|SQLITE_ERROR/);
});

test('reserved _cf_ tables cannot be read, written, created or renamed to', async (t) => {
  const { s } = store(t);
  await s.kvPut('k', 1);
  assert.equal((await s.sqlTry('SELECT * FROM _cf_KV')).message, 'access to _cf_KV.key is prohibited: SQLITE_AUTH');
  assert.match((await s.sqlTry("INSERT INTO _cf_KV VALUES ('x', x'00')")).message, /not authorized: SQLITE_AUTH/);
  assert.match((await s.sqlTry('DELETE FROM _cf_kv')).message, /SQLITE_AUTH/);
  assert.match((await s.sqlTry('CREATE TABLE _CF_mine (a)')).message, /not authorized: SQLITE_AUTH/);
  await s.sql('CREATE TABLE plain (a)');
  assert.match((await s.sqlTry('ALTER TABLE plain RENAME TO _cf_sneaky')).message, /not authorized/);
  assert.deepEqual(await s.tables(), ['_cf_KV', 'plain']);
});

test('PRAGMAs and functions follow workerd\'s allow-lists', async (t) => {
  const { s } = store(t);
  await s.sql('CREATE TABLE t (a)');
  assert.equal(await s.sqlTry('PRAGMA table_info(t)'), null);
  assert.equal(await s.sqlTry('PRAGMA foreign_keys = off'), null);
  assert.equal(await s.sqlTry("SELECT json_extract('{\"a\":1}', '$.a'), abs(-1), upper('x')"), null);
  for (const q of ['PRAGMA journal_mode = DELETE', 'PRAGMA max_page_count = 1', 'PRAGMA writable_schema = 1']) {
    assert.equal((await s.sqlTry(q)).message, 'not authorized: SQLITE_AUTH', q);
  }
  assert.equal((await s.sqlTry('SELECT sqlite_version()')).message, 'not authorized to use function: sqlite_version at offset 7: SQLITE_ERROR');
  assert.match((await s.sqlTry("SELECT load_extension('/tmp/evil.so')")).message, /load_extension/);
});

test('VACUUM INTO cannot write another file', async (t) => {
  const { s } = store(t);
  const target = `/tmp/df-vacuum-${process.pid}.db`;
  assert.notEqual(await s.sqlTry(`VACUUM INTO '${target}'`), null);
  const fs = await import('node:fs');
  assert.equal(fs.existsSync(target), false);
});

test('limits: values over 4 MiB and more than 100 bindings are refused', async (t) => {
  const { s } = store(t);
  assert.equal((await s.sqlTry('SELECT ?', 'x'.repeat(4 * 1024 * 1024 + 1))).message, 'string or blob too big: SQLITE_TOOBIG');
  const many = Array(101).fill('?').join(',');
  assert.match((await s.sqlTry(`SELECT ${many}`, ...Array(101).fill(1))).message, /too many SQL variables/);
  assert.match((await s.sqlTry(Array(6).fill('SELECT 1').join(' UNION '))).message, /too many terms in compound SELECT/);
  assert.match((await s.kvTry('put', 'big', 'x'.repeat(4 * 1024 * 1024 + 16))).message, /too big/);
});

test('a database survives eviction in memory and a restart on disk', async (t) => {
  const { rt, s } = store(t, { idleTimeoutMs: 50 });
  await s.sql("CREATE TABLE keep (v); INSERT INTO keep VALUES ('x')");
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual((await s.sql('SELECT v FROM keep')).rows, [{ v: 'x' }]);
  void rt;
});

test('a cursor that outlived a rollback fails instead of reading another query', async (t) => {
  const { s } = store(t);
  await s.fill(600);
  assert.equal(await s.staleCursor(), 'SQL cursor is closed.');
});
