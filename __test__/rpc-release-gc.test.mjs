// References released by the garbage collector (SPEC §2.2): a stub disposed by hand is not
// released a second time when it is collected (lib/refs.js `watch` registers stubs without
// an unregister token: a disposed handle, and a released record, are marked instead).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../index.js';
import { captureGc } from '../lib/gc.js';
import { fixture, sleep } from './helpers.mjs';

const gc = captureGc();

test('a stub disposed by hand is not released again when it is garbage-collected', async (t) => {
  const rt = new Runtime({ main: fixture('rpc-release-gc.mjs'), durableObjects: { HOLDER: 'Holder' }, warmThreads: 0 });
  t.after(() => rt.dispose());
  const obj = rt.env.HOLDER.getByName('twice');
  // The same RpcTarget, transferred twice: its owner counts two references.
  let first = await obj.getCounter();
  const second = await obj.getCounter();
  first[Symbol.dispose]();
  first = null;
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(5);
  }
  // A second release of `first` would have let go of the target `second` still holds.
  assert.equal(await second.increment(), 1);
  assert.equal(await obj.exportCount(), 1);
});
