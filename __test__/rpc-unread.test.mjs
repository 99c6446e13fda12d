// SPEC §2.2 lifetime: an answer whose caller's thread died before reading it, or references
// a thread read and held when it died, do not stay counted (their owner would never be
// idle-evicted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../index.js';
import { fixture, until } from './helpers.mjs';
import { refCounts } from '../lib/refs.js';

const peersRuntime = () => new Runtime({ main: fixture('rpc-unread.mjs'), durableObjects: { PEERS: 'Peer' }, warmThreads: 0 });

/** A runtime of Peer objects (disposed after the test) and the one whose exports are counted. */
async function withOwner(t) {
  const rt = peersRuntime();
  t.after(() => rt.dispose());
  const owner = rt.env.PEERS.getByName('owner');
  assert.equal((await owner.counts()).exports, 0);
  return { peer: (name) => rt.env.PEERS.getByName(name), exportsOfOwner: async () => (await owner.counts()).exports };
}

test('references in an answer queued for a caller thread that died are let go', async (t) => {
  const { peer, exportsOfOwner } = await withOwner(t);
  await assert.rejects(peer('caller').callThenDie('owner'));
  await until(async () => (await exportsOfOwner()) === 0);
});

test('references a thread held when it died abruptly are let go', async (t) => {
  const { peer, exportsOfOwner } = await withOwner(t);
  await assert.rejects(peer('holder').holdThenDie('owner'));
  await until(async () => (await exportsOfOwner()) === 0);
});

test('a release held back by the output gate is let go when the instance breaks in that turn', async (t) => {
  const { peer, exportsOfOwner } = await withOwner(t);
  await peer('holder').take('owner');
  assert.equal(await exportsOfOwner(), 1);
  await assert.rejects(peer('holder').disposeThenAbort(), /bye/);
  await until(async () => (await exportsOfOwner()) === 0);
});

test("disposing a runtime lets go of the main thread's functions its objects held", async () => {
  const rt = peersRuntime();
  const before = refCounts().exports;
  await rt.env.PEERS.getByName('keeper').keep(() => 'kept');
  assert.equal(refCounts().exports, before + 1);
  await rt.dispose();
  await until(() => refCounts().exports === before);
});
