// When the callee lets go of the pinned first result of a pipelined pair (SPEC §2.2): once
// the caller's promise of it is garbage-collected — together with the other first calls of
// its cohort (lib/stub.js `joinCohort`) — and never while the caller can still use it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../index.js';
import { captureGc } from '../lib/gc.js';
import { fixture, until, sleep } from './helpers.mjs';

function pipe(t, name) {
  const rt = new Runtime({ main: fixture('rpc-pipeline.mjs'), durableObjects: { PIPE: 'Pipe' }, warmThreads: 0 });
  t.after(() => rt.dispose());
  return rt.env.PIPE.getByName(name);
}

const gc = captureGc();

test('pinned first results are let go once their promises were garbage-collected', async (t) => {
  const obj = pipe(t, 'collected');
  for (let i = 1; i <= 3; i++) assert.equal(await obj.getCounter().increment(), i);
  assert.equal(await obj.pinned(), 3);
  await until(async () => {
    gc();
    // The finalizers run in a task of their own, the release at the end of it.
    await sleep(5);
    return (await obj.pinned()) === 0;
  });
});

test('a held first result stays usable after the other first calls of its cohort were collected', async (t) => {
  const obj = pipe(t, 'held');
  const first = obj.getCounter();
  assert.equal(await first.increment(), 1);
  for (let i = 2; i <= 5; i++) assert.equal(await obj.getCounter().increment(), i);
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(5);
  }
  assert.ok((await obj.pinned()) >= 1);
  assert.equal(await first.increment(), 6);
  const counter = await first;
  assert.equal(await counter.increment(), 7);
});
