// One object's file work (clone, delete, deleteAll of a large facet; rt.inspect of it)
// runs outside the core's lock: calls between other objects complete while it is still in
// progress (issue 9; ARCHITECTURE "decide under the lock, do I/O after it").
//
// Ordering, not durations: the core's test hook DURABLE_FACETS_HOLD_FILE_WORK=<gate>
// (core/src/storage/placement.rs, `test_hold`) makes that file work wait while <gate> exists,
// after creating <gate>.held. A watcher object (another tenant) sees the work held, calls a
// third tenant, checks the work is still in progress when that call has returned, and only
// then removes <gate>. Had the work held the core's lock, the watcher's call could not have
// returned before the work finished.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runtime } from '../index.js';
import { fixture, until } from './helpers.mjs';

/** Size of the large facet, in MiB. */
const BIG_MB = 32;

/**
 * A runtime on a temporary storage directory with tenant "a" holding facet "big"
 * (BIG_MB MiB), and tenants "watcher" and "other" running.
 */
async function setup(t) {
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'df-file-work-'));
  const gate = path.join(storage, 'gate');
  process.env.DURABLE_FACETS_HOLD_FILE_WORK = gate;
  const rt = new Runtime({
    main: fixture('file-work-objects.mjs'),
    durableObjects: { TENANT: { className: 'Tenant', uniqueKey: 'tenants' } },
    warmThreads: 0,
    storage,
  });
  t.after(async () => {
    fs.rmSync(gate, { force: true });
    await rt.dispose();
    fs.rmSync(storage, { recursive: true, force: true });
  });
  const a = rt.env.TENANT.getByName('a');
  await a.at(['big'], 'fill', BIG_MB);
  const watcher = rt.env.TENANT.getByName('watcher');
  // Both run before the work starts: neither needs a new thread (nor the main thread) then.
  assert.equal(await watcher.ping(), 'pong');
  assert.equal(await rt.env.TENANT.getByName('other').ping(), 'pong');
  return { rt, a, watcher, gate, dir: path.join(storage, 'tenants') };
}

/**
 * Runs `work()` (one object's file work) while the watcher calls another object, and
 * checks that call returned while the work was still in progress; returns the work's
 * result. `onMain`: the work is a synchronous call of the main thread (rt.inspect), so the
 * watcher's report can only reach the test after it, whatever the order inside the core.
 */
async function alongside({ watcher, gate, dir }, work, { onMain = false } = {}) {
  fs.writeFileSync(gate, '');
  const order = [];
  const watching = watcher.watch(gate, dir, 'other').then((r) => {
    order.push('watcher');
    return r;
  });
  const done = Promise.resolve()
    .then(work)
    .then((r) => {
      order.push('work');
      return r;
    });
  const [report, result] = await Promise.all([watching, done]);
  assert.deepEqual(report, { sawWork: true, reply: 'pong', stillInProgress: true });
  if (!onMain) assert.deepEqual(order, ['watcher', 'work']);
  return result;
}

test('calls between other objects complete while one object clones a large facet', async (t) => {
  const env = await setup(t);
  await alongside(env, () => env.a.clone('big', 'copy'));
  assert.equal(await env.a.at(['copy'], 'count'), BIG_MB);
});

test('calls between other objects complete while one object deletes a large facet', async (t) => {
  const env = await setup(t);
  await alongside(env, () => env.a.remove('big'));
  assert.deepEqual(await env.a.list(), []);
});

test('calls between other objects complete while one object runs deleteAll() over a large facet', async (t) => {
  const env = await setup(t);
  await alongside(env, () => env.a.wipe());
  assert.deepEqual(await env.a.list(), []);
});

test('calls between other objects complete while rt.inspect() reads an object with a large facet', async (t) => {
  const env = await setup(t);
  const info = await alongside(env, () => env.rt.inspect('TENANT', 'a'), { onMain: true });
  const big = info.facets.find((f) => f.name === 'big');
  assert.ok(big.databaseSize >= BIG_MB * 1024 * 1024, `size ${big.databaseSize}`);
});

test("a clone's dst started again while the copy is in progress opens the copy once it is in place", async (t) => {
  const { a, gate, dir } = await setup(t);
  await a.at(['p', 'big'], 'fill', 2);
  fs.writeFileSync(gate, '');
  // p clones its child big over copy; the copy is held. Aborting p leaves the copy running
  // (p's thread is busy in it) while the object goes on: p and its copy start again.
  const cloning = a.at(['p'], 'clone', 'big', 'copy');
  await until(() => fs.existsSync(`${gate}.held`));
  await a.abort('p');
  await assert.rejects(cloning, /stopped by the test/);
  const marker = path.join(dir, '..', 'copy-started');
  const counting = a.at(['p', 'copy'], 'countAfter', marker);
  // The new instance of copy runs, and waits to open its database, while the copy is held.
  await until(() => fs.existsSync(marker));
  fs.rmSync(gate);
  assert.equal(await counting, 2);
});
