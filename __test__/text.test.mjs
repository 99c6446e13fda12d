// Non-ASCII text of every length crosses the binding whole: SQL bindings, KV keys and
// values, RPC payloads. A multibyte character straddling a buffer boundary (512 bytes was
// the scratch buffer of the binding) once cut strings short.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, fixture } from './helpers.mjs';

function store(t) {
  const rt = runtime(t, { main: fixture('storage-objects.mjs'), durableObjects: { STORE: 'Store' } });
  return rt.env.STORE.getByName('text');
}

/** Strings whose UTF-8 form puts a 2-, 3- or 4-byte character across each byte 500..520. */
function boundaryStrings() {
  const out = [];
  for (const ch of ['é', 'あ', '😀']) {
    for (let prefix = 500; prefix <= 520; prefix++) out.push('a'.repeat(prefix) + ch + 'TAIL');
  }
  out.push('これは日本語のテキストです。'.repeat(30));
  out.push('é'.repeat(300));
  out.push('😀'.repeat(1000));
  return out;
}

test('SQL TEXT bindings store multibyte strings across the 512-byte boundary whole', async (t) => {
  const s = store(t);
  await s.sql('CREATE TABLE t (i INTEGER PRIMARY KEY, v TEXT)');
  const strings = boundaryStrings();
  for (const [i, v] of strings.entries()) await s.sql('INSERT INTO t VALUES (?, ?)', i, v);
  const { rows } = await s.sql('SELECT i, v, length(v) AS n FROM t ORDER BY i');
  assert.equal(rows.length, strings.length);
  for (const [i, v] of strings.entries()) {
    assert.equal(rows[i].v, v, `string ${i} came back whole`);
    assert.equal(rows[i].n, [...v].length, `SQLite counts every character of string ${i}`);
  }
});

test('the issue example stores "a"×510 + "éTAIL" whole', async (t) => {
  const s = store(t);
  const v = 'a'.repeat(510) + 'éTAIL';
  await s.sql('CREATE TABLE t (v TEXT)');
  await s.sql('INSERT INTO t VALUES (?)', v);
  assert.equal((await s.sqlOne('SELECT v FROM t')).v, v);
});

test('KV keys across the 512-byte boundary stay distinct and deletable', async (t) => {
  const s = store(t);
  const keys = boundaryStrings();
  for (const [i, k] of keys.entries()) await s.kvPut(k, i);
  for (const [i, k] of keys.entries()) assert.equal(await s.kvGet(k), i);
  const listed = await s.kvList();
  assert.equal(listed.length, keys.length, 'no two keys collided');
  for (const k of keys) assert.equal(await s.kvDelete(k), true, 'delete finds what put stored');
  assert.deepEqual(await s.kvList(), []);
});

test('a KV value over 100,000 characters with multibyte text reads back', async (t) => {
  const s = store(t);
  const key = 'a'.repeat(509) + 'é';
  const value = 'ü'.repeat(120_000);
  await s.kvPut(key, value);
  assert.equal(await s.kvGet(key), value);
});

test('RPC strings with multibyte characters across 512 bytes round-trip', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('text');
  for (const v of boundaryStrings()) assert.equal(await stub.echo(v), v);
  assert.deepEqual(await stub.echo({ k: 'é'.repeat(300) }), { k: 'é'.repeat(300) });
});
