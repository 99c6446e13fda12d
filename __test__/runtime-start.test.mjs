// SPEC §7 (a Runtime cheap enough for one per test): the spare thread a dispose() leaves for
// the next runtime (lib/runtime.js startSpare), and the warm pool that waits for a runtime's
// first thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInDurableObject } from 'durable-facets/testing';
import { runtime, fixture } from './helpers.mjs';

const counters = (t, options) => runtime(t, { main: fixture('testing-objects.mjs'), durableObjects: { COUNTERS: 'Counter' }, ...options });

/** The V8 heap limit of the thread of `stub`'s object, in MB. */
const heapLimitMb = (stub) =>
  runInDurableObject(stub, async () => {
    const v8 = await import('node:v8');
    return Math.round(v8.getHeapStatistics().heap_size_limit / 1048576);
  });

test('one runtime after another, each serving calls on threads of its own configuration', async (t) => {
  for (const [i, memoryLimitMb] of [64, 64, 256, 64].entries()) {
    const rt = counters(t, { memoryLimitMb, vars: { RUN: i } });
    const stub = rt.env.COUNTERS.getByName('x');
    assert.equal(await stub.increment(), 1, 'each runtime starts empty');
    // The heap limit the thread was created with (memoryLimitMb + 512 MB headroom, lib/memory-limit.js),
    // whether it was the previous runtime's spare or a new thread.
    const limit = await heapLimitMb(stub);
    assert.ok(limit >= memoryLimitMb + 512 && limit < memoryLimitMb + 512 + 128, `run ${i}: heap limit ${limit} MB for memoryLimitMb ${memoryLimitMb}`);
    assert.equal(await runInDurableObject(stub, (instance) => instance.env.RUN), i, 'the env of this runtime');
    await rt.dispose();
  }
});

test('a runtime created right after a dispose enforces its CPU limit', async (t) => {
  const first = counters(t);
  await first.env.COUNTERS.getByName('a').increment();
  await first.dispose();
  const rt = counters(t, { cpuTimeoutMs: 100 });
  const stub = rt.env.COUNTERS.getByName('cpu');
  await assert.rejects(
    runInDurableObject(stub, () => {
      for (;;);
    }),
    { code: 'ERR_DO_CPU_LIMIT' },
  );
  assert.equal(await stub.increment(), 1);
});

test('a runtime started on the spare thread sees process.env as it is when the runtime starts', async (t) => {
  process.env.DF_SPARE_SETTING = 'one';
  t.after(() => delete process.env.DF_SPARE_SETTING);
  const first = counters(t);
  const read = (rt) => runInDurableObject(rt.env.COUNTERS.getByName('env'), () => [process.env.DF_SPARE_SETTING, process.env.DF_SPARE_GONE ?? null]);
  assert.deepEqual(await read(first), ['one', null]);
  process.env.DF_SPARE_GONE = 'soon';
  await first.dispose();
  // The spare dispose() left was created while DF_SPARE_GONE was set.
  process.env.DF_SPARE_SETTING = 'two';
  delete process.env.DF_SPARE_GONE;
  const second = counters(t);
  assert.deepEqual(await read(second), ['two', null]);
});
