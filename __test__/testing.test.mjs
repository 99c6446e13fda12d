// SPEC §7: the testing helpers of `durable-facets/testing`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DurableObjectId } from 'durable-facets';
import { runInDurableObject, runDurableObjectAlarm, listDurableObjectIds, evictDurableObject } from 'durable-facets/testing';
import { runtime, fixture, until } from './helpers.mjs';

const counters = (t, options = {}) =>
  runtime(t, { main: fixture('testing-objects.mjs'), durableObjects: { COUNTERS: 'Counter', PARENTS: 'Parent' }, ...options });

test('runInDurableObject passes the instance, its ctx and cloned arguments, and resolves the result', async (t) => {
  const rt = counters(t);
  const stub = rt.env.COUNTERS.getByName('a');
  await stub.increment(2);
  const result = await runInDurableObject(
    stub,
    async (instance, ctx, extra) => ({ memory: instance.memory, stored: await ctx.storage.get('count'), name: ctx.id.name, extra }),
    { deep: [1, 2] },
  );
  assert.deepEqual(result, { memory: 2, stored: 2, name: 'a', extra: { deep: [1, 2] } });
});

test('runInDurableObject writes through ctx.storage as the object does', async (t) => {
  const rt = counters(t);
  const stub = rt.env.COUNTERS.getByName('write');
  await runInDurableObject(stub, (_instance, ctx) => ctx.storage.put('count', 40));
  assert.equal(await stub.increment(2), 42);
});

test('runInDurableObject accepts method shorthand and function expressions', async (t) => {
  const rt = counters(t);
  const stub = rt.env.COUNTERS.getByName('forms');
  const callbacks = {
    shorthand(instance) {
      return instance.constructor.name;
    },
  };
  assert.equal(await runInDurableObject(stub, callbacks.shorthand), 'Counter');
  assert.equal(
    await runInDurableObject(stub, function (instance) {
      return instance.constructor.name;
    }),
    'Counter',
  );
});

test('runInDurableObject explains a callback that closes over a variable of the test file', async (t) => {
  const rt = counters(t);
  const outside = 5;
  await assert.rejects(runInDurableObject(rt.env.COUNTERS.getByName('closure'), () => outside), {
    name: 'ReferenceError',
    code: 'ERR_DO_INVALID_ARGUMENT',
    message: /^runInDurableObject\(\): outside is not defined\. .*pass values as extra arguments/,
  });
});

test("runInDurableObject rejects with the callback's own error", async (t) => {
  const rt = counters(t);
  await assert.rejects(
    runInDurableObject(rt.env.COUNTERS.getByName('throws'), () => {
      throw new RangeError('from the callback');
    }),
    { name: 'RangeError', message: 'from the callback' },
  );
});

test('runInDurableObject refuses bound functions and non-functions', async (t) => {
  const rt = counters(t);
  const stub = rt.env.COUNTERS.getByName('bad');
  await assert.rejects(runInDurableObject(stub, (() => 1).bind(null)), { name: 'TypeError', code: 'ERR_DO_INVALID_ARGUMENT', message: /bound or built-in/ });
  await assert.rejects(runInDurableObject(stub, 'instance => 1'), { name: 'TypeError', code: 'ERR_DO_INVALID_ARGUMENT' });
});

test('the helpers refuse what is not a Durable Object stub, and say what to do for a facet', async (t) => {
  const rt = counters(t);
  const facet = await rt.env.PARENTS.getByName('p').child();
  await assert.rejects(runInDurableObject(facet, () => 1), { name: 'TypeError', code: 'ERR_DO_INVALID_ARGUMENT', message: /ctx\.facets\.get/ });
  await assert.rejects(evictDurableObject({}), { name: 'TypeError', code: 'ERR_DO_INVALID_ARGUMENT' });
  await assert.rejects(runDurableObjectAlarm(null), { name: 'TypeError', code: 'ERR_DO_INVALID_ARGUMENT' });
  await assert.rejects(listDurableObjectIds({}), { name: 'TypeError', code: 'ERR_DO_INVALID_ARGUMENT' });
});

test('a stub cannot call the internal methods by name', async (t) => {
  const rt = counters(t);
  const stub = rt.env.COUNTERS.getByName('forge');
  await stub.scheduleIn(60_000);
  await assert.rejects(stub['\u0000alarm'](0, true), { code: 'ERR_DO_METHOD_NOT_FOUND' });
  await assert.rejects(stub['\u0000testRun']('() => 1'), { code: 'ERR_DO_METHOD_NOT_FOUND' });
  assert.equal(await runInDurableObject(stub, (_i, ctx) => ctx.storage.get('alarms')), undefined, 'the alarm did not run');
});

test('runDurableObjectAlarm runs a pending alarm now, and it is deleted afterwards', async (t) => {
  const rt = counters(t);
  const stub = rt.env.COUNTERS.getByName('alarm');
  await stub.scheduleIn(60 * 60_000);
  assert.equal(await runDurableObjectAlarm(stub), true);
  assert.deepEqual(await runInDurableObject(stub, (_i, ctx) => ctx.storage.get('alarms')), [{ isRetry: false, retryCount: 0 }]);
  assert.equal(await runInDurableObject(stub, (_i, ctx) => ctx.storage.getAlarm()), null);
  assert.equal(await runDurableObjectAlarm(stub), false, 'nothing left to run');
});

test('runDurableObjectAlarm resolves false when no alarm is set', async (t) => {
  const rt = counters(t);
  assert.equal(await runDurableObjectAlarm(rt.env.COUNTERS.getByName('none')), false);
});

test('runDurableObjectAlarm keeps the alarm the handler set again', async (t) => {
  const rt = counters(t);
  const stub = rt.env.COUNTERS.getByName('again');
  await runInDurableObject(stub, (_i, ctx) => ctx.storage.put('rescheduleMs', 60 * 60_000));
  await stub.scheduleIn(60 * 60_000);
  assert.equal(await runDurableObjectAlarm(stub), true);
  assert.equal(typeof (await runInDurableObject(stub, (_i, ctx) => ctx.storage.getAlarm())), 'number');
  assert.equal(await runDurableObjectAlarm(stub), true);
});

test("runDurableObjectAlarm rejects with the handler's error and the alarm is retried as a normal one", async (t) => {
  const rt = counters(t, { alarmRetryBaseMs: 1 });
  const stub = rt.env.COUNTERS.getByName('failing');
  await runInDurableObject(stub, (_i, ctx) => ctx.storage.put('failures', 1));
  await stub.scheduleIn(60 * 60_000);
  await assert.rejects(runDurableObjectAlarm(stub), { message: 'alarm failure 1' });
  // The retry (1 ms later) succeeds.
  const runs = await until(async () => {
    const r = await runInDurableObject(stub, (_i, ctx) => ctx.storage.get('alarms'));
    return r.length === 2 && r;
  });
  assert.deepEqual(runs, [
    { isRetry: false, retryCount: 0 },
    { isRetry: true, retryCount: 1 },
  ]);
  assert.equal(await runDurableObjectAlarm(stub), false, 'deleted after the successful retry');
});

test('listDurableObjectIds lists the ids of objects with stored data', async (t) => {
  const rt = counters(t);
  const a = rt.env.COUNTERS.getByName('list-a');
  const b = rt.env.COUNTERS.getByName('list-b');
  await a.increment();
  await b.increment();
  await rt.env.COUNTERS.getByName('list-nothing-stored').whoAmI();
  const ids = await listDurableObjectIds(rt.env.COUNTERS);
  assert.ok(ids.every((id) => id instanceof DurableObjectId));
  assert.deepEqual(ids.map(String), [a.id.toString(), b.id.toString()].sort());
  assert.ok(ids[0].equals(rt.env.COUNTERS.idFromString(ids[0].toString())));
});

test('listDurableObjectIds lists the ids stored on disk by an earlier runtime', async (t) => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const storage = mkdtempSync(join(tmpdir(), 'df-testing-'));
  const first = counters(t, { storage });
  await first.env.COUNTERS.getByName('disk').increment();
  await first.dispose();
  const second = counters(t, { storage });
  assert.deepEqual((await listDurableObjectIds(second.env.COUNTERS)).map(String), [second.env.COUNTERS.idFromName('disk').toString()]);
});

test('evictDurableObject stops the instance; storage is kept and the next call starts a new one', async (t) => {
  const rt = counters(t);
  const stub = rt.env.COUNTERS.getByName('evict');
  await stub.increment(3);
  const before = await stub.whoAmI();
  await evictDurableObject(stub);
  assert.equal((await rt.inspect('COUNTERS', 'evict')).facets[0].running, false);
  assert.notEqual(await stub.whoAmI(), before, 'a new instance');
  assert.equal(await runInDurableObject(stub, (instance) => instance.memory), 0, 'in-memory state is gone');
  assert.equal(await stub.increment(1), 4, 'storage is kept');
});

test('evictDurableObject commits writes the instance had not committed yet', async (t) => {
  const rt = counters(t);
  const stub = rt.env.COUNTERS.getByName('evict-commit');
  // A write in a timer callback: its turn ends (and commits) only when the runtime ends it.
  await runInDurableObject(stub, (_i, ctx) => {
    setTimeout(() => ctx.storage.put('count', 7), 0);
    return new Promise((resolve) => setTimeout(resolve, 5));
  });
  await evictDurableObject(stub);
  assert.equal(await stub.increment(1), 8);
});

test('evictDurableObject waits for calls in flight', async (t) => {
  const rt = counters(t);
  const stub = rt.env.COUNTERS.getByName('evict-busy');
  const slow = runInDurableObject(stub, async (instance) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return instance.instanceNumber;
  });
  const first = await stub.whoAmI();
  await evictDurableObject(stub);
  assert.equal(await slow, first, 'the call in flight finished on the old instance');
  assert.notEqual(await stub.whoAmI(), first);
});

test('evictDurableObject of an object that is not running resolves without starting it', async (t) => {
  const rt = counters(t);
  await evictDurableObject(rt.env.COUNTERS.getByName('never-started'));
  assert.equal((await rt.inspect('COUNTERS', 'never-started')).facets[0].running, false);
});

test('evictDurableObject refuses an instance held by an accepted WebSocket', async (t) => {
  const rt = counters(t);
  const stub = rt.env.COUNTERS.getByName('evict-socket');
  await stub.holdSocket();
  await assert.rejects(evictDurableObject(stub), { code: 'ERR_DO_INVALID_STATE', message: /not hibernatable/ });
});
