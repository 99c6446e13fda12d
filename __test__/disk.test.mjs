import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runtime } from '../index.js';
import { fixture } from './helpers.mjs';

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-disk-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(storage, extra = {}) {
  return new Runtime({
    main: fixture('storage-objects.mjs'),
    durableObjects: { STORE: { className: 'Store', uniqueKey: 'mykey' } },
    storage,
    warmThreads: 0,
    ...extra,
  });
}

test('each object has <storage>/<uniqueKey>/<id>.sqlite, named as workerd names it', async (t) => {
  const dir = tempDir(t);
  const rt = open(dir);
  await rt.env.STORE.getByName('name').sql('CREATE TABLE t (a)');
  await rt.dispose();
  const files = fs.readdirSync(path.join(dir, 'mykey')).sort();
  assert.deepEqual(files, ['3652ef6221834806dc8df802d1d216e27b7d07e0a6b7adf6cfdaeec90f06459a.sqlite', 'metadata.sqlite']);
});

test('objects that never touch storage create no database file', async (t) => {
  const dir = tempDir(t);
  const rt = open(dir);
  await rt.env.STORE.getByName('idle').echo(1);
  await rt.dispose();
  assert.deepEqual(fs.readdirSync(path.join(dir, 'mykey')), ['metadata.sqlite']);
});

test('data written by one runtime is read by the next', async (t) => {
  const dir = tempDir(t);
  const a = open(dir);
  const s = a.env.STORE.getByName('p');
  await s.sql("CREATE TABLE t (v); INSERT INTO t VALUES ('persisted')");
  await s.kvPut('k', { deep: [1, 2] });
  await a.dispose();
  const b = open(dir, { synchronous: 'full' });
  t.after(() => b.dispose());
  const s2 = b.env.STORE.getByName('p');
  assert.deepEqual((await s2.sql('SELECT v FROM t')).rows, [{ v: 'persisted' }]);
  assert.deepEqual(await s2.kvGet('k'), { deep: [1, 2] });
});

test('a second runtime on the same storage directory is refused', async (t) => {
  const dir = tempDir(t);
  const a = open(dir);
  t.after(() => a.dispose());
  assert.throws(() => open(dir), {
    name: 'Error',
    message: `Storage directory ${path.join(dir, 'mykey')} is in use.`,
    code: 'ERR_DO_STORAGE_IN_USE',
  });
  await a.dispose();
  const b = open(dir);
  await b.dispose();
});

test('an unwritable storage directory fails at construction, naming it', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'not-a-dir');
  fs.writeFileSync(file, '');
  assert.throws(() => open(file), { message: /Storage directory .*not-a-dir.* is not writable/ });
});

test('a corrupt database is a clear error for that object; others keep working', async (t) => {
  const dir = tempDir(t);
  const rt = open(dir);
  t.after(() => rt.dispose());
  const id = rt.env.STORE.idFromName('broken').toString();
  fs.mkdirSync(path.join(dir, 'mykey'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'mykey', `${id}.sqlite`), Buffer.alloc(8192, 0x42));
  await assert.rejects(rt.env.STORE.getByName('broken').sql('SELECT 1'), {
    message: new RegExp(`Durable Object ${id} cannot open its database .*${id}\\.sqlite: file is not a database`),
  });
  assert.deepEqual((await rt.env.STORE.getByName('fine').sql('SELECT 1 AS one')).rows, [{ one: 1 }]);
});

test('without a storage directory, databases live in memory until dispose', async (t) => {
  const rt = new Runtime({ main: fixture('storage-objects.mjs'), durableObjects: { STORE: 'Store' }, warmThreads: 0, idleTimeoutMs: 30 });
  t.after(() => rt.dispose());
  const s = rt.env.STORE.getByName('m');
  await s.kvPut('k', 'kept across eviction');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await s.kvGet('k'), 'kept across eviction');
});
