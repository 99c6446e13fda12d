// The on-disk cache of stripped TypeScript (lib/worker/typescript.js) touches nothing but its
// own private directory: a shared tmpdir must not let another user plant code in it or make
// its pruning delete files elsewhere. Each case runs a child process with its own environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fixture } from './helpers.mjs';

const CHILD = fileURLToPath(fixture('ts-cache-child.mjs'));
const uid = process.getuid();
const WEEKS_AGO = new Date(Date.now() - 30 * 24 * 3600 * 1000);

function scratch(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-ts-cache-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the child with `env` added; returns the files of `dir` afterwards. */
function run(t, env) {
  const work = scratch(t);
  const out = execFileSync(process.execPath, [CHILD, work], { env: { ...process.env, DURABLE_FACETS_TS_CACHE: undefined, ...env }, encoding: 'utf8' });
  assert.equal(out.trim(), 'ok');
}

/** A directory with a user's old files: what pruning must never delete. */
function victim(t) {
  const dir = scratch(t);
  for (const name of ['id_rsa', 'notes.txt', `${'a'.repeat(40)}.js`]) {
    fs.writeFileSync(path.join(dir, name), 'keep');
    fs.utimesSync(path.join(dir, name), WEEKS_AGO, WEEKS_AGO);
  }
  return dir;
}

test('a symlink in place of the default cache directory is not used, and its target is left alone', async (t) => {
  const tmp = scratch(t);
  const target = victim(t);
  fs.symlinkSync(target, path.join(tmp, `durable-facets-ts-${uid}`));
  const before = fs.readdirSync(target).sort();
  run(t, { TMPDIR: tmp });
  assert.deepEqual(fs.readdirSync(target).sort(), before);
});

test('a default cache directory others can read or write is not used', async (t) => {
  const tmp = scratch(t);
  const shared = path.join(tmp, `durable-facets-ts-${uid}`);
  fs.mkdirSync(shared);
  fs.chmodSync(shared, 0o777);
  run(t, { TMPDIR: tmp });
  assert.deepEqual(fs.readdirSync(shared), []);
});

test('DURABLE_FACETS_TS_CACHE gets a subdirectory of its own: the files beside it are never pruned', async (t) => {
  const dir = victim(t);
  const before = fs.readdirSync(dir).sort();
  run(t, { DURABLE_FACETS_TS_CACHE: dir });
  assert.deepEqual(fs.readdirSync(dir).sort(), [...before, 'durable-facets-ts'].sort());
  // The entry the child wrote is there.
  assert.equal(fs.readdirSync(path.join(dir, 'durable-facets-ts')).filter((f) => /^[0-9a-f]{40}\.js$/.test(f)).length, 1);
});

test('pruning removes only old cache entries, not other files in the cache directory', async (t) => {
  const dir = scratch(t);
  const entries = path.join(dir, 'durable-facets-ts');
  fs.mkdirSync(entries, { mode: 0o700 });
  const oldEntry = path.join(entries, `${'b'.repeat(40)}.js`);
  const other = path.join(entries, 'README');
  for (const f of [oldEntry, other]) {
    fs.writeFileSync(f, 'x');
    fs.utimesSync(f, WEEKS_AGO, WEEKS_AGO);
  }
  run(t, { DURABLE_FACETS_TS_CACHE: dir });
  assert.equal(fs.existsSync(oldEntry), false);
  assert.equal(fs.existsSync(other), true);
});
