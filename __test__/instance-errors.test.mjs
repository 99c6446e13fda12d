// SPEC §3: an exception thrown by a timer callback or event listener, or a rejection nobody
// handles, inside an instance is logged on the main thread's console.error (naming class,
// id and facet path) and does not reset the instance. Nothing a thread reports is swallowed.
import test from 'node:test';
import assert from 'node:assert/strict';
import { format } from 'node:util';
import { Runtime } from '../index.js';
import { fixture, sleep } from './helpers.mjs';

const TIMEOUT = { timeout: 30_000 };

function keepers(t) {
  const rt = new Runtime({ main: fixture('instance-errors.mjs'), durableObjects: { KEEPERS: 'Keeper' }, warmThreads: 0 });
  t.after(() => rt.dispose());
  return rt;
}

/** Lines written to this thread's console.error during the test. */
function consoleErrors(t) {
  const lines = [];
  const original = console.error;
  console.error = (...args) => {
    lines.push(format(...args));
  };
  t.after(() => {
    console.error = original;
  });
  return lines;
}

/** Waits until a logged line contains `text` (the test's timeout bounds it). */
async function logged(lines, text) {
  for (;;) {
    const line = lines.find((l) => l.includes(text));
    if (line !== undefined) return line;
    await sleep(5);
  }
}

test('an exception in a timer callback is logged and the instance keeps its state', TIMEOUT, async (t) => {
  const lines = consoleErrors(t);
  const rt = keepers(t);
  const stub = rt.env.KEEPERS.getByName('timer');
  await stub.inc();
  const before = await stub.state();
  await stub.throwInTimer('tick failed ✓ 時計');
  await logged(lines, 'tick failed ✓ 時計');
  assert.deepEqual(await stub.state(), before, 'same instance, same in-memory state');
  assert.equal(await stub.inc(), 2);
});

test('the log line names the class, the id and the root', TIMEOUT, async (t) => {
  const lines = consoleErrors(t);
  const rt = keepers(t);
  const id = rt.env.KEEPERS.idFromName('named').toString();
  await rt.env.KEEPERS.getByName('named').throwInTimer('where am I');
  const line = await logged(lines, 'where am I');
  assert.ok(line.startsWith(`Durable Object Keeper (id ${id}, root): Uncaught Error: where am I`), line);
});

test('the log line of a facet names its full facet path', TIMEOUT, async (t) => {
  const lines = consoleErrors(t);
  const rt = keepers(t);
  const id = rt.env.KEEPERS.idFromName('tree').toString();
  const root = rt.env.KEEPERS.getByName('tree');
  await root.inFacet(['outer', 'inner'], 'inc');
  await root.inFacet(['outer', 'inner'], 'throwInTimer', 'deep failure');
  const line = await logged(lines, 'deep failure');
  assert.ok(line.startsWith(`Durable Object Keeper (id ${id}, facet "outer/inner"): Uncaught Error: deep failure`), line);
  assert.equal(await root.inFacet(['outer', 'inner'], 'inc'), 2, 'the facet kept its state');
});

test('an unhandled rejection is logged and the instance keeps its state', TIMEOUT, async (t) => {
  const lines = consoleErrors(t);
  const rt = keepers(t);
  const stub = rt.env.KEEPERS.getByName('rejection');
  await stub.inc();
  await stub.rejectUnhandled('nobody listens');
  const line = await logged(lines, 'nobody listens');
  assert.match(line, /Uncaught \(in promise\) TypeError: nobody listens/);
  assert.equal(await stub.inc(), 2);
});

test('an exception in an event listener is logged and the instance keeps its state', TIMEOUT, async (t) => {
  const lines = consoleErrors(t);
  const rt = keepers(t);
  const stub = rt.env.KEEPERS.getByName('listener');
  await stub.inc();
  assert.equal(await stub.throwInListener('listener failed'), 'dispatched');
  await logged(lines, 'listener failed');
  assert.equal(await stub.inc(), 2);
});

test('writes made by a timer callback before it threw are committed', TIMEOUT, async (t) => {
  const lines = consoleErrors(t);
  const rt = keepers(t);
  const stub = rt.env.KEEPERS.getByName('write');
  await stub.writeThenThrowInTimer('kept ✓');
  await logged(lines, 'after the write');
  assert.equal(await stub.stored(), 'kept ✓');
  assert.equal(await stub.inc(), 1, 'later calls are served');
});

test('an error that ends a thread is logged on the main thread', TIMEOUT, async (t) => {
  const lines = consoleErrors(t);
  const rt = keepers(t);
  const stub = rt.env.KEEPERS.getByName('dies');
  await stub.inc();
  await stub.dieInTimer('the thread dies');
  const line = await logged(lines, 'the thread dies');
  assert.match(line, /^durable-facets: a runtime thread ended with an uncaught error: Error: the thread dies/);
});
