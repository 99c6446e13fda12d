// SPEC §2.3: the Worker's own entry point (the default export of `main`), reached with
// rt.fetch() and rt.entrypoint, runs on a runtime thread with the env objects see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { Runtime, WorkerEntrypoint } from '../index.js';
import { codes } from '../lib/error-codes.js';
import { runtime, fixture, until } from './helpers.mjs';

const objectEntry = (t, options = {}) =>
  runtime(t, { main: fixture('entry-object.mjs'), durableObjects: { COUNTERS: 'Counter' }, vars: { GREETING: 'hi' }, ...options });

const classEntry = (t, options = {}) =>
  runtime(t, { main: fixture('entry-class.mjs'), durableObjects: { COUNTERS: 'Counter' }, vars: { GREETING: 'hi' }, ...options });

test('an object default export serves rt.fetch and reaches a Durable Object through env', async (t) => {
  const rt = objectEntry(t);
  const res = await rt.fetch('http://app/count?name=a&by=2');
  assert.ok(res instanceof Response);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { n: 2, greeting: 'hi' });
  // The object the entry point called is the one rt.env reaches.
  assert.equal(await rt.env.COUNTERS.getByName('a').increment(1), 3);
});

test('rt.fetch accepts a Request, and a URL with init', async (t) => {
  const rt = objectEntry(t);
  const a = await rt.fetch(new Request('http://app/echo', { method: 'PUT', body: 'abc' }));
  assert.equal(a.headers.get('x-method'), 'PUT');
  assert.equal(await a.text(), 'abc');
  const b = await rt.fetch(new URL('http://app/echo'), { method: 'POST', body: new Uint8Array([1, 2, 3]) });
  assert.deepEqual(new Uint8Array(await b.arrayBuffer()), new Uint8Array([1, 2, 3]));
});

test('the entry point runs on a runtime thread, not the main thread', async (t) => {
  const rt = objectEntry(t);
  const { threadId: entryThread } = await (await rt.fetch('http://app/thread')).json();
  assert.equal(typeof entryThread, 'number');
  assert.notEqual(entryThread, threadId);
});

test('env of the entry point holds the bindings objects see and is the env of "cloudflare:workers"', async (t) => {
  const rt = objectEntry(t);
  const info = await (await rt.fetch('http://app/env')).json();
  assert.deepEqual(info.keys, ['COUNTERS', 'GREETING']);
  assert.equal(info.sameAsImported, true);
  assert.deepEqual(info.counter, { keys: ['COUNTERS', 'GREETING'], sameAsImported: true });
  assert.deepEqual(info.ctx, { waitUntil: 'function', passThroughOnException: 'function' });
});

test('an error thrown by the fetch handler rejects rt.fetch as a remote error', async (t) => {
  const rt = objectEntry(t);
  const err = await rt.fetch('http://app/throw').then(
    () => assert.fail('expected a rejection'),
    (e) => e,
  );
  assert.ok(err instanceof RangeError);
  assert.equal(err.message, 'entry point failed: ünïcødé ✓');
  assert.equal(err.code, 'MY_CODE');
  assert.equal(err.remote, true);
  // The entry point is no Durable Object: its errors name none.
  assert.equal(err.durableObjectId, undefined);
  // The entry point keeps serving.
  assert.equal((await rt.fetch('http://app/count?name=after')).status, 200);
});

test('a fetch handler that returns no Response rejects rt.fetch with a TypeError', async (t) => {
  const rt = objectEntry(t);
  await assert.rejects(rt.fetch('http://app/not-a-response'), {
    name: 'TypeError',
    message: 'fetch() handler must return a Response.',
    code: codes.InvalidArgument,
  });
});

for (const [what, main] of [
  ['no default export', 'entry-none.mjs'],
  ['a default object without fetch', 'entry-no-fetch.mjs'],
  ['a default WorkerEntrypoint without fetch', 'entry-no-fetch-class.mjs'],
]) {
  test(`rt.fetch of a main module with ${what} rejects as stub.fetch does`, async (t) => {
    const rt = runtime(t, { main: fixture(main), durableObjects: { COUNTERS: 'Counter' } });
    await assert.rejects(rt.fetch('http://app/'), {
      name: 'Error',
      message: 'Handler does not export a fetch() function.',
      code: codes.NoFetchHandler,
      remote: true,
    });
  });
}

test('rt.fetch rejects with the error that made main fail to load', async (t) => {
  const rt = runtime(t, { main: fixture('throws-at-load.mjs'), durableObjects: {} });
  const err = await rt.fetch('http://app/').then(
    () => assert.fail('expected a rejection'),
    (e) => e,
  );
  assert.ok(err instanceof Error);
  assert.equal(err.remote, true);
});

test('a WorkerEntrypoint default export serves fetch with this.env and this.ctx', async (t) => {
  const rt = classEntry(t);
  const res = await rt.fetch('http://app/count?name=c');
  assert.deepEqual(await res.json(), { n: 1, greeting: 'hi' });
  const identity = await (await rt.fetch('http://app/identity')).json();
  assert.equal(identity.envIsImported, true);
  assert.deepEqual(identity.ctx, ['exports', 'passThroughOnException', 'props', 'waitUntil']);
  assert.notEqual(identity.threadId, threadId);
});

test('instanceof WorkerEntrypoint holds for both import forms, which are the same class', async (t) => {
  const rt = classEntry(t);
  const identity = await (await rt.fetch('http://app/identity')).json();
  assert.equal(identity.sameClass, true);
  assert.equal(identity.instanceofCloudflare, true);
  assert.equal(identity.instanceofPackage, true);
  // The package's main-thread export is that class as well.
  const { WorkerEntrypoint: cf } = await import('../lib/cloudflare-workers.js');
  assert.equal(cf, WorkerEntrypoint);
});

test('each event gets its own WorkerEntrypoint instance', async (t) => {
  const rt = classEntry(t);
  const a = (await (await rt.fetch('http://app/serial')).json()).serial;
  const b = (await (await rt.fetch('http://app/serial')).json()).serial;
  const c = await rt.entrypoint.serialNumber();
  assert.ok(a < b && b < c, `${a} < ${b} < ${c}`);
});

test('ctx.waitUntil keeps the entry point running after its response, past the idle timeout', async (t) => {
  const rt = classEntry(t, { idleTimeoutMs: 20 });
  const res = await rt.fetch('http://app/later?name=later&ms=200');
  assert.equal(res.status, 202);
  assert.equal(await res.text(), 'accepted');
  // Without waitUntil the idle entry point would be stopped at 20 ms, cancelling its timer.
  await until(async () => (await rt.env.COUNTERS.getByName('later').get()) === 1);
});

test('requests run concurrently on the one entry point', async (t) => {
  const rt = classEntry(t);
  // The first request finishes only once the second, sent after it, has run.
  const waiting = rt.fetch('http://app/wait?key=k1');
  const opening = await rt.fetch('http://app/open?key=k1');
  assert.equal(await opening.text(), 'opening k1');
  assert.equal(await (await waiting).text(), 'opened k1');
});

test('rt.entrypoint calls RPC methods of a WorkerEntrypoint default export', async (t) => {
  const rt = classEntry(t);
  assert.equal(await rt.entrypoint.add(2, 3), 5);
  assert.equal(await rt.entrypoint.countThrough('rpc'), 1);
  assert.equal(await rt.env.COUNTERS.getByName('rpc').get(), 1);
  await assert.rejects(rt.entrypoint.fail('bad input'), { name: 'TypeError', message: 'bad input', remote: true });
  const res = await rt.entrypoint.fetch('http://app/count?name=rpc');
  assert.equal((await res.json()).n, 2);
});

test('rt.entrypoint rejects methods the default export does not have', async (t) => {
  const rt = classEntry(t);
  for (const name of ['missing', 'constructor', 'alarm']) {
    await assert.rejects(rt.entrypoint[name](), {
      name: 'TypeError',
      message: `The RPC receiver does not implement the method "${name}".`,
      code: codes.MethodNotFound,
    });
  }
  // An object default export has no RPC methods (as on Cloudflare), not even its fetch.
  const plain = objectEntry(t);
  await assert.rejects(plain.entrypoint.count(), { code: codes.MethodNotFound });
});

test('a default WorkerEntrypoint without fetch still serves its RPC methods', async (t) => {
  const rt = runtime(t, { main: fixture('entry-no-fetch-class.mjs'), durableObjects: { COUNTERS: 'Counter' } });
  assert.equal(await rt.entrypoint.ping(), 'pong');
});

test('the entry point has no storage: no directory is created for it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-entry-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rt = objectEntry(t, { storage: dir });
  assert.equal((await rt.fetch('http://app/count?name=stored')).status, 200);
  await rt.dispose();
  assert.deepEqual(fs.readdirSync(dir), ['Counter']);
});

test('the entry point is hidden from inspection', async (t) => {
  const rt = objectEntry(t);
  await rt.fetch('http://app/count?name=seen');
  assert.deepEqual(await rt.listIds('COUNTERS'), []);
  assert.deepEqual(Object.keys(rt.env).sort(), ['COUNTERS', 'GREETING']);
});

test('rt.fetch in flight rejects when the runtime is disposed, and after it', async (t) => {
  const rt = classEntry(t);
  const waiting = assert.rejects(rt.fetch('http://app/wait?key=never'), { code: codes.Disposed });
  await rt.entrypoint.add(1, 1); // the entry point runs, the first request waits in it
  await rt.dispose();
  await waiting;
  await assert.rejects(rt.fetch('http://app/'), { code: codes.Disposed });
});

test('a Runtime without a default export still constructs and serves its objects', async () => {
  const rt = new Runtime({ main: fixture('entry-none.mjs'), durableObjects: { COUNTERS: 'Counter' }, warmThreads: 0 });
  try {
    assert.equal(await rt.env.COUNTERS.getByName('x').increment(), 1);
  } finally {
    await rt.dispose();
  }
});
