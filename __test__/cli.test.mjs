// The durable-facets CLI, spawned as a real process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../index.js';
import { fixture } from './helpers.mjs';

const CLI = fileURLToPath(new URL('../bin/durable-facets.js', import.meta.url));
const ID = '3652ef6221834806dc8df802d1d216e27b7d07e0a6b7adf6cfdaeec90f06459a';

function cli(...args) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
}

let dir;
test.before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-cli-'));
  const rt = new Runtime({
    main: fixture('facet-objects.mjs'),
    durableObjects: { ROOT: { className: 'Root', uniqueKey: 'mykey' } },
    classes: { COUNTER: { className: 'Counter' } },
    storage: dir,
    warmThreads: 0,
  });
  const root = rt.env.ROOT.getByName('name');
  await root.setRootValue('r');
  await root.callB('foo', 'increment');
  await root.nested('bar', 'baz', 'increment');
  await rt.dispose();
});
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('inspect prints every object as a tree with sizes', () => {
  const r = cli('inspect', dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^mykey\/ \(1 object\)$/m);
  assert.match(r.stdout, new RegExp(`^  ${ID}  "name"  \\d+(\\.\\d)? KiB$`, 'm'));
  assert.match(r.stdout, /└─ foo {2}\(#1, \d+(\.\d)? KiB\)/);
  assert.match(r.stdout, /└─ bar\/baz {2}\(#3, \d+(\.\d)? KiB\)/);
});

test('sql runs a read-only query on a facet database by name', () => {
  const r = cli('sql', dir, 'mykey', 'name', '--facet', 'foo', 'SELECT count(*) AS n FROM _cf_KV');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'n\n-\n1\n(1 row)\n');
});

test('sql accepts a 64-hex id and reads the root database', () => {
  const r = cli('sql', dir, 'mykey', ID, "SELECT key FROM _cf_KV WHERE key = 'root'");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "key\n----\nroot\n(1 row)\n");
});

test('sql refuses to write', () => {
  const r = cli('sql', dir, 'mykey', 'name', 'DELETE FROM _cf_KV');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /readonly|read-only/i);
});

test('bad paths, unknown objects and bad usage exit with 2 and a clear message', () => {
  const missing = cli('inspect', path.join(dir, 'nope'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /not a directory: .*nope/);
  const unknown = cli('sql', dir, 'mykey', 'nobody', 'SELECT 1');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /no database for nobody/);
  const facet = cli('sql', dir, 'mykey', 'name', '--facet', 'zzz', 'SELECT 1');
  assert.equal(facet.status, 2);
  assert.match(facet.stderr, /has no facet zzz/);
  assert.equal(cli('frobnicate').status, 2);
});

test('--help prints usage and exits 0', () => {
  const r = cli('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^Usage:/);
});
