// Property tests of RPC values with references (SPEC §2.2): functions placed anywhere in a
// value survive encoding as callable stubs, on both encodings (JSON and V8), and the data
// around them arrives unchanged — including keys that look like the encoder's own marker.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../index.js';
import { encodeRpc, decode } from '../lib/codec.js';
import { fc, options, anyString } from './arbitraries.mjs';
import { fixture } from './helpers.mjs';

// Exports need this thread attached to a runtime's hub (the main thread is an owner too).
const rt = new Runtime({ main: fixture('rpc-refs.mjs'), durableObjects: { ROOMS: 'Room' }, warmThreads: 0 });
after(() => rt.dispose());

/** A function returning `tag`: its stub must answer the same. */
const fn = fc.string({ maxLength: 8 }).map((tag) => Object.assign(() => tag, { tag }));

const key = fc.oneof(anyString, fc.constantFrom('\u0000ref', '__proto__', 'then', '0'));
/** Plain data (JSON-safe or not) with functions inside. */
const value = fc.letrec((tie) => ({
  any: fc.oneof(
    { weight: 3, arbitrary: fc.oneof(fc.integer(), fc.double(), anyString, fc.boolean(), fc.constant(null)) },
    { weight: 1, arbitrary: fc.oneof(fc.bigInt(), fc.constant(undefined), fc.date({ noInvalidDate: true })) },
    { weight: 2, arbitrary: fn },
    { weight: 2, arbitrary: fc.array(tie('any'), { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.dictionary(key, tie('any'), { maxKeys: 4 }) },
  ),
})).any;

/** Replaces each function by its tag (and each stub by a promise of its answer). */
async function flatten(v, seen = new Set()) {
  if (typeof v === 'function') return { fn: typeof v.tag === 'string' ? v.tag : await v() };
  if (v === null || typeof v !== 'object' || v instanceof Date) return v;
  if (Array.isArray(v)) return Promise.all(v.map((x) => flatten(x, seen)));
  const out = {};
  for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: await flatten(v[k], seen), enumerable: true });
  return out;
}

test('functions anywhere in a value arrive as callable stubs; the data around them is kept', async () => {
  await rt.env.ROOMS.getByName('attach').whoAmI();
  await fc.assert(
    fc.asyncProperty(value, async (v) => {
      const exported = [];
      const got = decode(encodeRpc(v, exported));
      assert.deepEqual(await flatten(got), await flatten(v));
    }),
    options(0.5),
  );
});
