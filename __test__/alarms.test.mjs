import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runtime } from '../index.js';
import { fixture, sleep, until } from './helpers.mjs';

function alarms(t, extra = {}) {
  const rt = new Runtime({
    main: fixture('storage-objects.mjs'),
    durableObjects: { ALARMED: 'Alarmed', PLAIN: 'NoAlarmHandler' },
    warmThreads: 0,
    alarmRetryBaseMs: 20,
    ...extra,
  });
  t.after(() => rt.dispose());
  return rt;
}

test('setAlarm, getAlarm and the alarm() handler', async (t) => {
  const rt = alarms(t);
  const a = rt.env.ALARMED.getByName('a');
  const at = await a.arm(100);
  assert.ok(Math.abs(at - (Date.now() + 100)) < 100);
  assert.equal(await a.get(), at);
  const [run] = await until(() => a.runs().then((r) => r.length && r));
  assert.equal(run.isRetry, false);
  assert.equal(run.retryCount, 0);
  assert.ok(run.at >= at);
  assert.equal(run.during, null, 'the running alarm reads as deleted');
  await until(async () => (await a.get()) === null);
});

test('deleteAlarm cancels the alarm', async (t) => {
  const rt = alarms(t);
  const a = rt.env.ALARMED.getByName('cancel');
  await a.arm(100);
  await a.cancel();
  assert.equal(await a.get(), null);
  await sleep(250);
  assert.deepEqual(await a.runs(), []);
});

test('a failing alarm is retried with backoff and retryCount', async (t) => {
  const rt = alarms(t);
  const a = rt.env.ALARMED.getByName('retry');
  await a.setFailures(2);
  await a.arm(10);
  const runs = await until(() => a.runs().then((r) => r.length >= 3 && r));
  assert.deepEqual(
    runs.map((r) => [r.isRetry, r.retryCount]),
    [
      [false, 0],
      [true, 1],
      [true, 2],
    ],
  );
  // Lower bounds only (a loaded machine may fire later, never earlier): 20 ms, then 40 ms.
  assert.ok(runs[1].at - runs[0].at >= 20 - 2, 'first retry after the base delay');
  assert.ok(runs[2].at - runs[1].at >= 40 - 2, 'the delay doubles');
});

test('after 6 failed retries the alarm is deleted', async (t) => {
  const rt = alarms(t, { alarmRetryBaseMs: 1 });
  const a = rt.env.ALARMED.getByName('give-up');
  await a.setFailures(100);
  await a.arm(1);
  await until(() => a.runs().then((r) => r.length >= 7), 8000);
  await until(async () => (await a.get()) === null);
  await sleep(200);
  assert.equal((await a.runs()).length, 7);
});

test('an alarm wakes an object that is not running', async (t) => {
  const rt = alarms(t, { idleTimeoutMs: 30 });
  const a = rt.env.ALARMED.getByName('sleeper');
  const at = await a.arm(5000);
  // Wait for the idle eviction (no fixed sleep: a loaded machine may take its time), then
  // until the alarm is due, without calling the object (inspect does not start it).
  const running = async () => (await rt.inspect('ALARMED', 'sleeper')).facets[0].running;
  await until(async () => !(await running()));
  assert.ok(Date.now() < at, 'evicted before the alarm was due');
  await until(async () => Date.now() > at + 100, 15_000);
  const runs = await until(() => a.runs().then((r) => r.length && r), 15_000);
  assert.equal(runs.length, 1);
});

test('alarms survive a restart of the runtime', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-alarm-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const first = new Runtime({ main: fixture('storage-objects.mjs'), durableObjects: { ALARMED: 'Alarmed' }, storage: dir, warmThreads: 0 });
  await first.env.ALARMED.getByName('durable').arm(400);
  await first.dispose();
  const second = new Runtime({ main: fixture('storage-objects.mjs'), durableObjects: { ALARMED: 'Alarmed' }, storage: dir, warmThreads: 0 });
  t.after(() => second.dispose());
  const runs = await until(() => second.env.ALARMED.getByName('durable').runs().then((r) => r.length && r));
  assert.equal(runs.length, 1);
});

test('setAlarm without an alarm() handler is refused', async (t) => {
  const rt = alarms(t);
  assert.deepEqual(await rt.env.PLAIN.getByName('x').trySet(), {
    name: 'TypeError',
    message: 'Your Durable Object class must have an alarm() handler in order to call setAlarm()',
  });
});

test('setAlarm rejects times <= 0', async (t) => {
  const rt = alarms(t);
  await assert.rejects(rt.env.ALARMED.getByName('neg').armAt(0), {
    name: 'TypeError',
    message: 'setAlarm() cannot be called with an alarm time <= 0',
  });
});

test('deleteAll deletes the alarm too', async (t) => {
  const rt = alarms(t);
  const a = rt.env.ALARMED.getByName('wipe');
  await a.arm(200);
  await a.wipe();
  assert.equal(await a.get(), null);
  await sleep(350);
  assert.deepEqual(await a.runs(), []);
});
