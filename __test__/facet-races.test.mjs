// SPEC §5.3: an abort always wins over a form-B callback still pending when it runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, fixture } from './helpers.mjs';

function root(t, name) {
  const rt = runtime(t, { main: fixture('facet-races.mjs'), durableObjects: { ROOT: 'RaceRoot' } });
  return rt.env.ROOT.getByName(name);
}

test('abort() while a form-B callback is pending rejects the waiting call with the reason', async (t) => {
  const r = root(t, 'abort-pending');
  await r.startPending('f');
  assert.deepEqual(await r.interruptPending('f', 'abort', 'stop now'), { error: 'stop now' });
});

test('after abort() wins over a pending callback, the next get() runs its own callback', async (t) => {
  const r = root(t, 'abort-then-get');
  await r.startPending('f');
  await r.interruptPending('f', 'abort', 'stop now');
  // The aborted callback's result created no entry: a new get() starts the facet itself.
  assert.deepEqual(await r.getAgain('f'), { value: 1, callbacks: 2 });
});

test('delete() while a form-B callback is pending rejects the waiting call', async (t) => {
  const r = root(t, 'delete-pending');
  await r.startPending('f');
  assert.deepEqual(await r.interruptPending('f', 'delete'), { error: 'Facet was deleted.' });
  assert.deepEqual(await r.getAgain('f'), { value: 1, callbacks: 2 });
});

test('clone() over a name whose form-B callback is pending rejects the waiting call', async (t) => {
  const r = root(t, 'clone-pending');
  await r.startPending('f');
  assert.deepEqual(await r.interruptPending('f', 'clone'), { error: 'Facet was cloned-over.' });
  assert.deepEqual(await r.getAgain('f'), { value: 1, callbacks: 2 });
});

for (const form of ['A', 'B']) {
  test(`abort() right after a form-${form} stub's first call, before it bound, rejects that call`, async (t) => {
    const r = root(t, `same-turn-${form}`);
    assert.deepEqual(await r.callThenAbort('f', form), { error: 'aborted in the same turn' });
    // The abort did not spoil the name: the next get() starts the facet.
    assert.equal((await r.getAgain('f')).value, 1);
  });
}
