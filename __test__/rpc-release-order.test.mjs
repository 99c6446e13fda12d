// SPEC §2.2: letting go of a reference never overtakes a call made through it before —
// neither one waiting for the end of the microtask nor one held by the output gate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../index.js';
import { fixture, until } from './helpers.mjs';

function holder(t, name) {
  const rt = new Runtime({ main: fixture('rpc-release-order.mjs'), durableObjects: { HOLDERS: 'Holder' }, warmThreads: 0 });
  t.after(() => rt.dispose());
  return rt.env.HOLDERS.getByName(name);
}

test('a release does not overtake a call held back by the output gate', async (t) => {
  const h = holder(t, 'gated');
  assert.equal(await h.callGatedThenDispose((x) => x + 1, 41), 42);
});

test('a release does not overtake a call made just before it in the same turn', async (t) => {
  const h = holder(t, 'turn');
  assert.equal(await h.callThenDispose((x) => x * 2, 21), 42);
});

test('a call made in the turn an instance aborts itself is still sent', async (t) => {
  const rt = new Runtime({ main: fixture('rpc-release-order.mjs'), durableObjects: { ABORTERS: 'Aborter' }, warmThreads: 0 });
  t.after(() => rt.dispose());
  const target = rt.env.ABORTERS.getByName('target');
  assert.deepEqual(await target.seen(), []);
  await assert.rejects(rt.env.ABORTERS.getByName('aborter').callThenAbort('target'), /aborted/);
  await until(async () => (await target.seen()).length === 1);
  assert.deepEqual(await target.seen(), ['before abort']);
});
