// The SQL sandbox cannot be talked into touching the runtime's reserved (`_cf_`) tables:
// the rename check reads statements with SQLite's tokenizer rules (issue 8, defect 6).
// Property tests of the tokenizer and the rename check are in Rust
// (core/src/storage/sandbox_props.rs), with SQLite itself as the oracle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, fixture } from './helpers.mjs';

const REFUSED = 'not authorized: SQLITE_AUTH';

function store(t) {
  const rt = runtime(t, { main: fixture('storage-objects.mjs'), durableObjects: { STORE: 'Store' } });
  return rt.env.STORE.getByName('sandbox');
}

test('a table named "rename" cannot be renamed to _cf_KV', async (t) => {
  const s = store(t);
  const r = await s.sqlTry('CREATE TABLE "rename"(x); ALTER TABLE "rename" RENAME TO _cf_KV');
  assert.deepEqual(r, { name: 'Error', message: REFUSED, ctor: 'Error' });
  assert.deepEqual(await s.tables(), ['rename']);
});

test('a user trigger never runs inside the runtime\'s own KV writes', async (t) => {
  const s = store(t);
  await s.sql(
    'CREATE TABLE log (k); ' +
      'CREATE TABLE "rename" (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID; ' +
      'CREATE TRIGGER spy AFTER INSERT ON "rename" BEGIN INSERT INTO log VALUES (new.key); END',
  );
  assert.equal((await s.sqlTry('ALTER TABLE "rename" RENAME TO _cf_KV')).message, REFUSED);
  await s.kvPut('password', 'hunter2');
  assert.equal(await s.kvGet('password'), 'hunter2');
  assert.deepEqual((await s.sql('SELECT count(*) AS n FROM log')).rows, [{ n: 0 }]);
});

test('a reserved rename target is refused in every quoting, case and comment form', async (t) => {
  const s = store(t);
  await s.sql('CREATE TABLE t (a)');
  for (const q of [
    'ALTER TABLE t RENAME TO _CF_kv',
    'alter table "t" rename to "_cf_KV"',
    "ALTER TABLE main.[t] RENAME TO '_cf_x'",
    'ALTER TABLE `t` RENAME/* RENAME TO ok */TO [_Cf_x]',
    'ALTER TABLE t -- c\n RENAME\tTO `_cf_é`',
    'SELECT 1; ALTER TABLE t RENAME TO "_cf_""q"',
  ]) {
    assert.equal((await s.sqlTry(q)).message, REFUSED, q);
  }
  assert.deepEqual(await s.tables(), ['t']);
});

test('ordinary renames, column renames and a table named "_cf" still work', async (t) => {
  const s = store(t);
  await s.sql('CREATE TABLE rename (a)');
  await s.sql('ALTER TABLE rename RENAME TO "_cf"');
  await s.sql('ALTER TABLE _cf RENAME COLUMN a TO _cf_a');
  await s.sql('ALTER TABLE _cf RENAME TO "日本語の表"');
  assert.deepEqual(await s.tables(), ['日本語の表']);
  assert.deepEqual((await s.sql('PRAGMA table_info("日本語の表")')).rows.map((r) => r.name), ['_cf_a']);
});

test('a virtual table cannot be given a name whose shadow tables are reserved', async (t) => {
  const s = store(t);
  assert.notEqual(await s.sqlTry('CREATE VIRTUAL TABLE _cf USING fts5 (a)'), null);
  await s.sql('CREATE VIRTUAL TABLE docs USING fts5 (a)');
  assert.equal((await s.sqlTry('ALTER TABLE docs RENAME TO _CF')).message, REFUSED);
  assert.ok((await s.tables()).every((n) => !n.toLowerCase().startsWith('_cf')));
});

test('reserved names are refused for views, indexes and triggers in any case or quoting', async (t) => {
  const s = store(t);
  await s.sql('CREATE TABLE t (a)');
  for (const q of [
    'CREATE VIEW "_CF_v" AS SELECT 1',
    'CREATE INDEX [_cf_i] ON t (a)',
    'CREATE TRIGGER `_Cf_t` AFTER INSERT ON t BEGIN SELECT 1; END',
    "CREATE TABLE main.'_cf_x' (a)",
  ]) {
    assert.match((await s.sqlTry(q)).message, /SQLITE_AUTH/, q);
  }
  assert.deepEqual(await s.tables(), ['t']);
});
