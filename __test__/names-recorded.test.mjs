// The runtime records the name of every object whose id it derived from a name, once the
// object has storage (`<storage>/<uniqueKey>/metadata.sqlite`, table `_df_NAMES`), so that
// `durable-facets inspect` shows names without any alarm and `sql`/`kv` find objects by
// them (SPEC §7). A damaged metadata.sqlite loses names only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../index.js';
import { native } from '../lib/native.js';
import { fixture } from './helpers.mjs';

const CLI = fileURLToPath(new URL('../bin/durable-facets.js', import.meta.url));

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-names-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(storage) {
  return new Runtime({
    main: fixture('named-objects.mjs'),
    durableObjects: { NAMED: { className: 'Named', uniqueKey: 'named' } },
    storage,
    warmThreads: 0,
  });
}

function cli(...args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** The rows of the name index of namespace "named", as the runtime wrote them. */
function recorded(dir) {
  return native.offlineQuery(path.join(dir, 'named', 'metadata.sqlite'), 'SELECT id, name FROM _df_NAMES ORDER BY id')[1];
}

/** id → name of every object `inspect --json` reports in namespace "named". */
function inspectNames(dir) {
  const { namespaces } = JSON.parse(cli('inspect', dir, '--json'));
  const ns = namespaces.find((n) => n.uniqueKey === 'named');
  return Object.fromEntries(ns.objects.map((o) => [o.id, o.name]));
}

test('a named object that stored something shows its name in inspect, without any alarm', async (t) => {
  const dir = tempDir(t);
  const rt = open(dir);
  await rt.env.NAMED.getByName('alice').put('k', 1);
  const id = rt.env.NAMED.idFromName('alice').toString();
  await rt.dispose();
  assert.match(cli('inspect', dir), new RegExp(`^  ${id}  "alice"  \\d+(\\.\\d)? KiB$`, 'm'));
  assert.deepEqual(inspectNames(dir), { [id]: 'alice' });
});

test('an object reached by idFromName then get is named like one from getByName', async (t) => {
  const dir = tempDir(t);
  const rt = open(dir);
  const id = rt.env.NAMED.idFromName('bob');
  await rt.env.NAMED.get(id).put('k', 1);
  await rt.dispose();
  assert.deepEqual(inspectNames(dir), { [id.toString()]: 'bob' });
});

test('an object from newUniqueId() shows no name', async (t) => {
  const dir = tempDir(t);
  const rt = open(dir);
  const id = rt.env.NAMED.newUniqueId();
  await rt.env.NAMED.get(id).put('k', 1);
  await rt.dispose();
  assert.deepEqual(inspectNames(dir), { [id.toString()]: null });
  assert.doesNotMatch(cli('inspect', dir), /"/);
});

test('a named object that never stored anything records no name', async (t) => {
  const dir = tempDir(t);
  const rt = open(dir);
  assert.equal(await rt.env.NAMED.getByName('ghost').hello(), 'hello from ghost');
  await rt.env.NAMED.getByName('stored').put('k', 1);
  const id = rt.env.NAMED.idFromName('stored').toString();
  await rt.dispose();
  assert.deepEqual(recorded(dir), [[id, 'stored']]);
});

test('an object whose only storage is a facet shows its name', async (t) => {
  const dir = tempDir(t);
  const rt = open(dir);
  await rt.env.NAMED.getByName('facets-only').leaf('docs', 'title', 'Hello');
  const id = rt.env.NAMED.idFromName('facets-only').toString();
  await rt.dispose();
  assert.deepEqual(inspectNames(dir), { [id]: 'facets-only' });
  assert.match(cli('kv', dir, 'named', 'facets-only', '--facet', 'docs'), /^title \| 'Hello'$/m);
});

test('the name survives a restart: a new Runtime on the same storage keeps showing it', async (t) => {
  const dir = tempDir(t);
  let rt = open(dir);
  await rt.env.NAMED.getByName('carol').put('k', 1);
  const id = rt.env.NAMED.idFromName('carol').toString();
  await rt.dispose();
  rt = open(dir);
  // Reached by its id alone this time: the runtime has no name for it.
  const stub = rt.env.NAMED.get(rt.env.NAMED.idFromString(id));
  assert.equal(await stub.hello(), 'hello from nobody');
  await stub.put('k', 2);
  await rt.dispose();
  assert.deepEqual(inspectNames(dir), { [id]: 'carol' });
});

test('sql and kv find an object by its recorded name, at the id idFromName gives', async (t) => {
  const dir = tempDir(t);
  const rt = open(dir);
  await rt.env.NAMED.getByName('dave').put('greeting', 'hi');
  const id = rt.env.NAMED.idFromName('dave').toString();
  await rt.dispose();
  assert.match(cli('kv', dir, 'named', 'dave'), /^greeting \| 'hi'$/m);
  assert.equal(cli('kv', dir, 'named', 'dave'), cli('kv', dir, 'named', id));
  assert.deepEqual(JSON.parse(cli('sql', dir, 'named', 'dave', '--json', "SELECT value FROM _cf_KV WHERE key = 'greeting'")).rows.length, 1);
});

test('a recorded name finds its object in a renamed namespace directory', async (t) => {
  const dir = tempDir(t);
  const rt = open(dir);
  await rt.env.NAMED.getByName('dave').put('greeting', 'hi');
  await rt.dispose();
  fs.renameSync(path.join(dir, 'named'), path.join(dir, 'named-copy'));
  assert.match(cli('kv', dir, 'named-copy', 'dave'), /^greeting \| 'hi'$/m);
});

test('non-English and long names round-trip exactly', async (t) => {
  const dir = tempDir(t);
  const names = ['テナント東京', '租户-北京-一号', '🏠🔑👩‍👩‍👧‍👦', 'Ünïcödé — ñame', '長'.repeat(128), `${'😀'.repeat(63)}xy`];
  const rt = open(dir);
  const want = {};
  for (const name of names) {
    await rt.env.NAMED.getByName(name).put('name', name);
    want[rt.env.NAMED.idFromName(name).toString()] = name;
  }
  await rt.dispose();
  assert.deepEqual(inspectNames(dir), want);
  for (const name of names) {
    assert.deepEqual(JSON.parse(cli('kv', dir, 'named', name, '--json')), [{ key: 'name', value: name }]);
  }
});

test('a damaged metadata.sqlite loses names but the object works', async (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'named'));
  const file = path.join(dir, 'named', 'metadata.sqlite');
  const junk = Buffer.alloc(16384, 0xa5);
  fs.writeFileSync(file, junk);
  const logged = [];
  t.mock.method(console, 'error', (...args) => logged.push(args.join(' ')));
  const rt = open(dir);
  const stub = rt.env.NAMED.getByName('erin');
  await stub.put('k', 'v');
  assert.equal(await stub.get('k'), 'v');
  await rt.env.NAMED.getByName('erin').leaf('docs', 'x', 1);
  const id = rt.env.NAMED.idFromName('erin').toString();
  await rt.dispose();
  assert.deepEqual(fs.readFileSync(file), junk, 'the damaged file is left as it is');
  assert.deepEqual(inspectNames(dir), { [id]: null });
  // The name still finds the object (by the id derived from it).
  assert.match(cli('kv', dir, 'named', 'erin'), /^k {3}\| 'v'$/m);
});
