// KV keys are stored as UTF-8 text, as in workerd: a lone surrogate becomes U+FFFD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, fixture } from './helpers.mjs';

test('storage.get([keys]) returns each key as stored, once: a lone surrogate as U+FFFD', async (t) => {
  const rt = runtime(t, { main: fixture('wire-objects.mjs'), durableObjects: { WIRE: 'Wire' } });
  const out = await rt.env.WIRE.getByName('keys').kvRoundTrip([['\ud800', 1], ['\ufffd', 2]]);
  assert.deepEqual(out.got, [2, 2], 'both name the same stored key');
  assert.deepEqual(out.listed, ['\ufffd']);
  assert.deepEqual(out.many, ['\ufffd']);
});
