// Recycled threads (SPEC §6.1): a stopped instance is torn down in its thread, which then
// hosts the next instance of the same code. Each test runs with `warmThreads: 0`, so the
// recycled thread is the only idle thread there is: the next instance of the same code
// starts there whenever reuse is allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runtime, fixture, sleep, until } from './helpers.mjs';

const MAIN = fixture('recycle-objects.mjs');

function parentRuntime(t, options = {}) {
  return runtime(t, {
    main: MAIN,
    durableObjects: { PARENT: 'Parent', PROBE: 'Probe', SLOW: 'Slow' },
    workerLoaders: ['LOADER'],
    ...options,
  });
}

test("the next instance of the same code starts on a stopped instance's thread and shares its module state", async (t) => {
  const rt = parentRuntime(t);
  const parent = rt.env.PARENT.getByName('p');
  const first = await parent.call('a', 'where');
  await parent.abort('a');
  const second = await parent.call('b', 'where');
  assert.equal(second.threadId, first.threadId, 'the recycled thread hosts the next instance');
  assert.equal(second.started, first.started + 1, 'module-level state is shared by the code over time');
});

test("loader worker B's facet never sees the module state of worker A's, and A's code finds its own again", async (t) => {
  const rt = parentRuntime(t);
  const parent = rt.env.PARENT.getByName('p');
  const a = await parent.loaded('fa', 'worker-a', 'where');
  assert.equal(a.started, 1);
  await parent.abort('fa');
  // Same source text, another worker: another code identity, so a fresh evaluation.
  const b = await parent.loaded('fb', 'worker-b', 'where');
  assert.equal(b.started, 1, "B's module state starts fresh");
  assert.notEqual(b.threadId, a.threadId, "B does not run where A's code was evaluated");
  await parent.abort('fb');
  const again = await parent.loaded('fa2', 'worker-a', 'where');
  assert.equal(again.threadId, a.threadId, "A's code comes back to its thread");
  assert.equal(again.started, 2, "and shares A's module state, as instances of one workerd worker do");
});

test('timers, intervals, immediates and process listeners of a stopped instance never fire on its recycled thread', async (t) => {
  const rt = parentRuntime(t);
  const parent = rt.env.PARENT.getByName('p');
  const threadId = await parent.call('a', 'leaveCallbacks', 50);
  await parent.abort('a');
  const after = await parent.call('b', 'leftovers');
  assert.equal(after.threadId, threadId);
  await sleep(300);
  assert.deepEqual(await parent.call('b', 'leftovers'), { threadId, leaked: [], listeners: 0 });
});

test("a stopped instance's storage handle fails on the recycled thread and never reaches the next instance's database", async (t) => {
  const rt = parentRuntime(t);
  const parent = rt.env.PARENT.getByName('p');
  const threadId = await parent.call('a', 'write', 'from a');
  await parent.abort('a');
  assert.equal(await parent.call('b', 'useKeptStorage'), 'ERR_DO_STOPPED');
  assert.deepEqual(await parent.call('b', 'read'), { threadId, value: null, keys: 0 });
  assert.equal((await parent.call('a', 'read')).value, 'from a', "a's own data is intact");
});

test("code of a stopped instance resuming from its own I/O reaches nothing of the next instance on its thread", async (t) => {
  const rt = parentRuntime(t);
  const parent = rt.env.PARENT.getByName('p');
  const threadId = await parent.call('a', 'addRow', 'a1');
  await parent.call('a', 'resumeLater', 150);
  await parent.abort('a');
  assert.equal(await parent.call('b', 'addRow', 'b1'), threadId, 'b runs on the recycled thread');
  await parent.call('b', 'child', 'c', 'addRow', 'child of b');
  await sleep(400);
  // Each late use fails: ERR_DO_STOPPED once the thread tore a down, ERR_DO_STORAGE_CLOSED
  // when it resumes between the hub fencing a's storage and the thread's teardown (a race a
  // loaded machine wins).
  const late = await parent.call('b', 'lateResults');
  assert.deepEqual(
    late.map((r) => r.replace('ERR_DO_STORAGE_CLOSED', 'ERR_DO_STOPPED')),
    ['deleteAll: ERR_DO_STOPPED', 'sql: ERR_DO_STOPPED', 'transaction: ERR_DO_STOPPED'],
  );
  assert.deepEqual(await parent.call('b', 'rows'), ['b1']);
  assert.deepEqual(await parent.call('b', 'child', 'c', 'rows'), ['child of b'], "b's facets are intact");
  assert.deepEqual(await parent.call('a', 'rows'), ['a1'], "a's own data is as it was committed");
});

test("an open transaction of a stopped instance is rolled back, and the next instance on its thread starts clean", async (t) => {
  const rt = parentRuntime(t);
  const parent = rt.env.PARENT.getByName('p');
  const { threadId } = await parent.call('a', 'read');
  const hanging = parent.call('a', 'writeAndHang', 'never committed');
  hanging.catch(() => {});
  await sleep(50);
  await parent.abort('a');
  await assert.rejects(hanging, { message: 'stopped by the parent' });
  const b = await parent.call('b', 'read');
  assert.equal(b.threadId, threadId);
  assert.equal(b.value, null);
  assert.equal((await parent.call('a', 'read')).value, null, "a's uncommitted write is gone");
});

test("the pending calls of a stopped instance never resume it on its recycled thread", async (t) => {
  const rt = parentRuntime(t);
  const parent = rt.env.PARENT.getByName('p');
  await rt.env.SLOW.getByName('slow').where(); // running: it does not wait for a thread
  const { threadId } = await parent.call('a', 'where');
  const waiting = parent.call('a', 'awaitSlow', 200);
  waiting.catch(() => {});
  await sleep(50);
  await parent.abort('a');
  await assert.rejects(waiting, { message: 'stopped by the parent' });
  assert.equal((await parent.call('b', 'where')).threadId, threadId);
  await sleep(400); // the slow call answered meanwhile
  assert.deepEqual((await parent.call('b', 'leftovers')).leaked, []);
});

test('an abort or delete racing the thread\'s own idle retirement leaves no instance half-alive', async (t) => {
  const rt = parentRuntime(t, { idleTimeoutMs: 5 });
  const parent = rt.env.PARENT.getByName('p');
  for (let i = 0; i < 40; i++) {
    const name = `f${i % 4}`;
    assert.equal(typeof (await parent.call(name, 'write', `v${i}`)), 'number');
    await sleep(i % 7);
    if (i % 2) await parent.abort(name);
    else await parent.delete(name);
    const r = await parent.call(name, 'read');
    assert.equal(r.value, i % 2 ? `v${i}` : null, `round ${i}`);
  }
  const facets = (await rt.inspect('PARENT', 'p')).facets;
  assert.ok(facets.length >= 1);
});

test('a thread whose instance called process.exit is not reused', async (t) => {
  const rt = parentRuntime(t);
  const probe = rt.env.PROBE.getByName('x');
  const before = await probe.where();
  await assert.rejects(probe.exit(), { durableObjectReset: true });
  const after = await probe.where();
  assert.notEqual(after.threadId, before.threadId);
  assert.equal(after.started, 1, 'a fresh thread evaluated the code again');
});

test('a thread terminated by cpuTimeoutMs is not reused', async (t) => {
  const rt = parentRuntime(t, { cpuTimeoutMs: 200 });
  const probe = rt.env.PROBE.getByName('x');
  const before = await probe.where();
  await assert.rejects(probe.spin(), { code: 'ERR_DO_CPU_LIMIT' });
  const after = await probe.where();
  assert.notEqual(after.threadId, before.threadId);
  assert.equal(after.started, 1);
});

test('a thread whose instance called ctx.abort() is reused by the next instance', async (t) => {
  const rt = parentRuntime(t);
  const probe = rt.env.PROBE.getByName('x');
  const before = await probe.where();
  await assert.rejects(probe.abortSelf(), { message: 'aborted on purpose', durableObjectReset: true });
  const after = await probe.where();
  assert.equal(after.threadId, before.threadId);
  assert.equal(after.started, before.started + 1);
});

/** OS threads and open file descriptors of this process (Linux). */
function processCounts() {
  return {
    threads: fs.readdirSync('/proc/self/task').length,
    fds: fs.readdirSync('/proc/self/fd').length,
  };
}

test('churn: 3,000 facets created, used and deleted in batches leave threads, descriptors and memory where they were', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-churn-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rt = runtime(t, {
    main: fixture('churn-objects.mjs'),
    durableObjects: { HOST: 'ChurnHost' },
    storage: dir,
    idleTimeoutMs: 200,
  });
  const host = rt.env.HOST.getByName('tenant');
  const BATCH = 100;
  // One batch first: the host and the pool exist before the baseline is taken.
  assert.equal(await host.churn('warmup', BATCH), BATCH);
  await until(async () => (await rt.inspect('HOST', 'tenant')).facets.length === 1, 20_000);
  await sleep(500);
  const base = processCounts();
  const baseRss = process.memoryUsage().rss;
  for (let b = 0; b < 3000 / BATCH; b++) {
    assert.equal(await host.churn(`b${b}`, BATCH), BATCH);
  }
  const facets = (await rt.inspect('HOST', 'tenant')).facets;
  assert.deepEqual(facets.map((f) => f.name), [''], 'every facet was deleted with its storage');
  // Idle pooled threads exit after idleTimeoutMs: counts come back to the baseline.
  const settled = await until(() => {
    const now = processCounts();
    return now.threads <= base.threads && now.fds <= base.fds && now;
  }, 20_000).catch(() => processCounts());
  assert.ok(settled.threads <= base.threads, `threads ${base.threads} -> ${settled.threads}`);
  assert.ok(settled.fds <= base.fds, `descriptors ${base.fds} -> ${settled.fds}`);
  const grown = process.memoryUsage().rss - baseRss;
  assert.ok(grown < 150 * 1024 * 1024, `RSS grew by ${Math.round(grown / 1048576)} MB`);
});

test("idle threads of many loader workers' code never push out the threads of the runtime's own code", async (t) => {
  const rt = parentRuntime(t);
  const parent = rt.env.PARENT.getByName('p');
  // Nine apps of distinct loader code run once and stop: their threads wait in their pools.
  for (let i = 0; i < 9; i++) await parent.loaded(`app${i}`, `worker-${i}`, 'where');
  for (let i = 0; i < 9; i++) await parent.abort(`app${i}`);
  const seen = new Set();
  for (let i = 0; i < 6; i++) {
    seen.add((await parent.call(`f${i}`, 'where')).threadId);
    await parent.abort(`f${i}`);
  }
  assert.equal(seen.size, 1, `one recycled thread serves them all (saw ${[...seen].join(', ')})`);
});

test("loaded code cached by name is lost when its instance restarts, also on the same recycled thread", async (t) => {
  const rt = parentRuntime(t);
  const parent = rt.env.PARENT.getByName('p');
  const { threadId } = await parent.where();
  assert.equal(await parent.versioned('fa', 'w', 'v1'), 'v1');
  assert.equal(await parent.versioned('fb', 'w', 'v2'), 'v1', 'cached by name: the callback is skipped');
  await assert.rejects(parent.abortSelf(), { message: 'parent aborted on purpose' });
  assert.equal((await parent.where()).threadId, threadId, 'the parent restarted on its recycled thread');
  assert.equal(await parent.versioned('fc', 'w', 'v2'), 'v2', 'the restarted instance supplies its code again');
});
