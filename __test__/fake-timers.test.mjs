// SPEC §3: the runtime times itself with the timers captured when the package loaded, so
// fake timers a test installs never stall or speed it up.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, fixture } from './helpers.mjs';

// Captured before any test fakes them.
const realSetTimeout = globalThis.setTimeout;
const realSleep = (ms) => new Promise((resolve) => realSetTimeout(resolve, ms));

const FAKED = ['setTimeout', 'setInterval', 'setImmediate', 'Date'];

/** Fakes the global timers and clock for the rest of test `t`. */
function fakeTimers(t) {
  mock.timers.enable({ apis: FAKED });
  t.after(() => mock.timers.reset());
}

/** Resolves `promise`, or rejects after `ms` of real time (the test would hang otherwise). */
function withinRealTime(promise, ms = 10_000) {
  return Promise.race([
    promise,
    realSleep(ms).then(() => {
      throw new Error(`no answer within ${ms} ms of real time`);
    }),
  ]);
}

test('calls resolve with fake timers installed after the runtime started', async (t) => {
  // The warm pool (2 threads) is used up by the first two objects; its refill is the
  // runtime's own timer, and the later objects wait for it.
  const rt = runtime(t, { warmThreads: 2 });
  fakeTimers(t);
  for (const name of ['a', 'b', 'c', 'd']) {
    assert.equal(await withinRealTime(rt.env.ECHO.getByName(name).echo(name)), name);
  }
});

test('calls resolve with fake timers installed before the runtime started', async (t) => {
  fakeTimers(t);
  const rt = runtime(t, { warmThreads: 2 });
  for (const name of ['a', 'b', 'c']) {
    assert.equal(await withinRealTime(rt.env.ECHO.getByName(name).echo(name)), name);
  }
});

test('an alarm fires on the real clock while the test clock is fake and frozen', async (t) => {
  const rt = runtime(t, { main: fixture('storage-objects.mjs'), durableObjects: { ALARMED: 'Alarmed' } });
  const obj = rt.env.ALARMED.getByName('fake-clock');
  fakeTimers(t);
  await withinRealTime(obj.arm(50));
  let runs = [];
  for (let i = 0; i < 250 && runs.length === 0; i++) {
    await realSleep(20);
    runs = await withinRealTime(obj.runs());
  }
  assert.equal(runs.length, 1, 'the alarm ran once');
});
