// A damaged alarm index (<storage>/<uniqueKey>/metadata.sqlite) costs its namespace its
// alarms only: the runtime starts, logs the file once, refuses new alarms there with
// ERR_DO_ALARM_INDEX, and every object keeps its database, RPC and facets (issue 8,
// defect 16).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import initSqlJs from 'sql.js';
import { Runtime } from '../index.js';
import { fixture, sleep } from './helpers.mjs';

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-alarm-index-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(storage) {
  return new Runtime({
    main: fixture('alarm-index-objects.mjs'),
    durableObjects: {
      BROKEN: { className: 'Indexed', uniqueKey: 'broken' },
      HEALTHY: { className: 'Indexed', uniqueKey: 'healthy' },
    },
    storage,
    warmThreads: 0,
  });
}

/** The index file of namespace `key`, written by `make(file)` before any runtime opens it. */
async function indexFile(dir, key, make) {
  fs.mkdirSync(path.join(dir, key), { recursive: true });
  const file = path.join(dir, key, 'metadata.sqlite');
  await make(file);
  return file;
}

/**
 * Writes SQLite file `file` (rollback journal, no WAL) with what `fn(db)` does to it:
 * sql.js (SQLite compiled to wasm) needs no native build; it starts from the file's bytes.
 */
let sqlJs;
async function withSqlite(file, fn) {
  const SQL = await (sqlJs ??= initSqlJs());
  const db = new SQL.Database(fs.existsSync(file) ? fs.readFileSync(file) : undefined);
  try {
    fn(db);
    fs.writeFileSync(file, db.export());
  } finally {
    db.close();
  }
}

/** A valid index of `rows` alarms, in one file (no WAL). */
function validIndex(file, rows) {
  return withSqlite(file, (db) => {
    db.run(
      'CREATE TABLE _cf_ALARM (actor_id TEXT PRIMARY KEY, scheduled_time INTEGER, actor_name TEXT) WITHOUT ROWID',
    );
    const insert = db.prepare('INSERT INTO _cf_ALARM VALUES (?, ?, ?)');
    for (let i = 0; i < rows; i++) {
      insert.run([i.toString(16).padStart(64, '0'), (Date.now() + 3_600_000) * 1e6, `名前-${i}-${'x'.repeat(40)}`]);
    }
    insert.free();
  });
}

const DAMAGE = {
  'garbage bytes': (file) => fs.writeFileSync(file, Buffer.alloc(16384, 0xa5)),
  'a truncated file': async (file) => {
    await validIndex(file, 500);
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2) + 100);
  },
  'a _cf_ALARM table of another shape': (file) => withSqlite(file, (db) => db.run('CREATE TABLE _cf_ALARM (x)')),
  'a row that is not an alarm': async (file) => {
    await validIndex(file, 1);
    await withSqlite(file, (db) => db.run("INSERT INTO _cf_ALARM VALUES ('not an id', 'soon', NULL)"));
  },
};

for (const [what, damage] of Object.entries(DAMAGE)) {
  test(`an alarm index with ${what}: the runtime starts and logs the file once`, async (t) => {
    const dir = tempDir(t);
    const file = await indexFile(dir, 'broken', damage);
    const logged = t.mock.method(console, 'error', () => {});
    const rt = open(dir);
    t.after(() => rt.dispose());
    const messages = logged.mock.calls.map((c) => String(c.arguments[0]));
    logged.mock.restore();
    assert.equal(messages.length, 1, messages.join('\n'));
    assert.ok(messages[0].includes(file), messages[0]);
    assert.match(messages[0], /alarms of this namespace are disabled/);
  });

  test(`an alarm index with ${what}: objects keep their database, RPC and facets`, async (t) => {
    const dir = tempDir(t);
    const file = await indexFile(dir, 'broken', damage);
    const before = fs.readFileSync(file);
    t.mock.method(console, 'error', () => {});
    const rt = open(dir);
    t.after(() => rt.dispose());
    const o = rt.env.BROKEN.getByName('still works');
    assert.equal(await o.echo('こんにちは'), 'こんにちは');
    assert.equal(await o.write('k', 'données'), 'données');
    assert.equal(await o.facetBump('child'), 1);
    assert.equal(await o.facetBump('child'), 2);
    await rt.dispose();
    assert.deepEqual(fs.readFileSync(file), before, 'the damaged index is never rewritten');
  });

  test(`an alarm index with ${what}: setAlarm is refused with ERR_DO_ALARM_INDEX`, async (t) => {
    const dir = tempDir(t);
    const file = await indexFile(dir, 'broken', damage);
    t.mock.method(console, 'error', () => {});
    const rt = open(dir);
    t.after(() => rt.dispose());
    const o = rt.env.BROKEN.getByName('alarm');
    const r = await o.trySetAlarm(50);
    assert.equal(r.code, 'ERR_DO_ALARM_INDEX');
    assert.equal(r.name, 'Error');
    assert.ok(r.message.includes(file), r.message);
    assert.equal(await o.getAlarm(), null, 'nothing was written');
    await o.deleteAlarm();
    assert.equal(await o.write('after', 1), 1, 'the refusal did not break the object');
  });
}

test('alarms of another namespace with a healthy index still fire', async (t) => {
  const dir = tempDir(t);
  await indexFile(dir, 'broken', DAMAGE['garbage bytes']);
  t.mock.method(console, 'error', () => {});
  const rt = open(dir);
  t.after(() => rt.dispose());
  const o = rt.env.HEALTHY.getByName('fires');
  assert.equal(await o.trySetAlarm(10), null);
  for (let i = 0; !(await o.fired()); i++) {
    assert.ok(i < 500, 'the alarm did not fire');
    await sleep(20);
  }
});

test('a zero-length alarm index is a new, empty one: alarms work and nothing is logged', async (t) => {
  const dir = tempDir(t);
  await indexFile(dir, 'broken', (file) => fs.writeFileSync(file, ''));
  const logged = t.mock.method(console, 'error', () => {});
  const rt = open(dir);
  t.after(() => rt.dispose());
  assert.equal(logged.mock.callCount(), 0);
  const o = rt.env.BROKEN.getByName('fires');
  assert.equal(await o.trySetAlarm(10), null);
  for (let i = 0; !(await o.fired()); i++) {
    assert.ok(i < 500, 'the alarm did not fire');
    await sleep(20);
  }
});

test('a valid database without _cf_ALARM gets the table and works', async (t) => {
  const dir = tempDir(t);
  await indexFile(dir, 'broken', (file) => withSqlite(file, (db) => db.run('CREATE TABLE unrelated (a)')));
  const logged = t.mock.method(console, 'error', () => {});
  const rt = open(dir);
  t.after(() => rt.dispose());
  assert.equal(logged.mock.callCount(), 0);
  assert.equal(await rt.env.BROKEN.getByName('x').trySetAlarm(60_000), null);
});

test('a damaged index keeps the storage directory locked', async (t) => {
  const dir = tempDir(t);
  await indexFile(dir, 'broken', DAMAGE['garbage bytes']);
  t.mock.method(console, 'error', () => {});
  const rt = open(dir);
  t.after(() => rt.dispose());
  assert.throws(() => open(dir), {
    code: 'ERR_DO_STORAGE_IN_USE',
    message: `Storage directory ${path.join(dir, 'broken')} is in use.`,
  });
});
