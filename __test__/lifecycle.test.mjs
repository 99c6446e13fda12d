import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runtime } from '../index.js';
import { fixture, runtime, sleep, until } from './helpers.mjs';

test('a constructor that throws breaks the instance; the next call starts a fresh one', async (t) => {
  const flag = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'df-')), 'fail');
  fs.writeFileSync(flag, '');
  const rt = runtime(t, { durableObjects: { FRAGILE: 'Fragile' }, vars: { FLAG: flag } });
  const stub = rt.env.FRAGILE.getByName('f');
  await assert.rejects(stub.ping(), (e) => {
    assert.ok(e instanceof RangeError);
    assert.equal(e.message, 'constructor failed on purpose');
    assert.equal(e.durableObjectReset, true);
    assert.equal(e.remote, true);
    return true;
  });
  fs.rmSync(flag);
  assert.equal(await stub.ping(), 'pong');
});

test('ctx.abort() rejects calls in flight with a reset; the next call gets a new instance', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('abort');
  await stub.inc();
  const first = await stub.whoami();
  // A call still running when the instance aborts (E-order: it arrives before abortMe). Its
  // rejection is awaited together with abortMe's: the hub may reject it first.
  const pending = stub.sleepThenInc(60_000);
  await Promise.all([
    assert.rejects(stub.abortMe('stop now'), { message: 'stop now', durableObjectReset: true }),
    assert.rejects(pending, { message: 'stop now', durableObjectReset: true }),
  ]);
  assert.equal(await stub.inc(), 1, 'fresh instance');
  assert.notEqual((await stub.whoami()).instance, first.instance);
});

test('blockConcurrencyWhile in the constructor holds calls until it settles', async (t) => {
  const rt = runtime(t, { durableObjects: { B: 'Blocking' } });
  assert.equal(await rt.env.B.getByName('b').isReady(), true);
});

test('a failing blockConcurrencyWhile breaks the instance', async (t) => {
  const rt = runtime(t, { durableObjects: { B: 'Blocking' } });
  const stub = rt.env.B.getByName('bcw-fail');
  const before = await stub.instanceToken();
  await assert.rejects(stub.failBlock(), { message: 'block failed', durableObjectReset: true });
  assert.notEqual(await stub.instanceToken(), before);
});

test('an idle object is evicted after idleTimeoutMs; the next call restarts it', async (t) => {
  const rt = runtime(t, { idleTimeoutMs: 100 });
  const stub = rt.env.ECHO.getByName('idle');
  assert.equal(await stub.inc(), 1);
  const { instance } = await stub.whoami();
  assert.equal(await stub.inc(), 2);
  // Watch the eviction without calling the object (inspect does not start it).
  await until(async () => !(await rt.inspect('ECHO', 'idle')).facets[0].running);
  assert.equal(await stub.inc(), 1);
  assert.notEqual((await stub.whoami()).instance, instance);
});

test('an object with a call in flight is not evicted, however long the call takes', async (t) => {
  const rt = runtime(t, { idleTimeoutMs: 100 });
  const stub = rt.env.ECHO.getByName('busy');
  assert.equal(await stub.inc(), 1);
  const { threadId } = await stub.whoami();
  // In flight for four idle timeouts: the count goes on in the same instance.
  assert.equal(await stub.sleepThenInc(400), 2);
  assert.equal((await stub.whoami()).threadId, threadId);
});

test('waitUntil keeps an object alive past the idle timeout', async (t) => {
  const rt = runtime(t, { idleTimeoutMs: 100 });
  const stub = rt.env.ECHO.getByName('wait-until');
  // Kept alive far longer than the test waits, so a slow machine cannot outlast it.
  const tid = await stub.keepAlive(10_000);
  await stub.inc();
  await sleep(300);
  assert.equal(await stub.whoami().then((w) => w.threadId), tid);
  assert.equal(await stub.inc(), 2);
});

test('a thread that exits mid-call rejects exactly the calls addressed to it', async (t) => {
  const rt = runtime(t);
  const victim = rt.env.ECHO.getByName('victim');
  const bystander = rt.env.ECHO.getByName('bystander');
  await bystander.inc();
  const slow = bystander.sleepThenInc(150);
  const pending = victim.sleepThenInc(60_000);
  await Promise.all([
    assert.rejects(victim.exitThread(), { durableObjectReset: true, message: /thread exited/ }),
    assert.rejects(pending, { durableObjectReset: true }),
  ]);
  assert.equal(await slow, 2, 'other objects are unaffected');
  assert.equal(await victim.inc(), 1, 'the next call restarts the object');
});

test('a thread that runs out of memory breaks only its object', async (t) => {
  const rt = runtime(t);
  await assert.rejects(rt.env.ECHO.getByName('oom').allocateForever(), { durableObjectReset: true });
  assert.equal(await rt.env.ECHO.getByName('oom').inc(), 1);
  assert.equal(await rt.env.ECHO.getByName('other').inc(), 1);
});

test('a main module that throws at top level rejects the calls addressed to the object', async (t) => {
  const rt = new Runtime({ main: fixture('throws-at-load.mjs'), durableObjects: { ECHO: 'Echo' }, warmThreads: 1 });
  t.after(() => rt.dispose());
  await assert.rejects(rt.env.ECHO.getByName('x').ping(), {
    name: 'SyntaxError',
    // SPEC §6.5: a load failure names the module and line:column.
    message: /^top-level failure on purpose \(at .*throws-at-load\.mjs:7:7\)$/,
    durableObjectReset: true,
  });
  await assert.rejects(rt.env.ECHO.getByName('y').ping(), { message: /^top-level failure on purpose \(at / });
});

test('a main module that exits its thread at load fails calls instead of hanging', async (t) => {
  const rt = new Runtime({ main: fixture('exits-at-load.mjs'), durableObjects: { ECHO: 'Echo' }, warmThreads: 2 });
  t.after(() => rt.dispose());
  await assert.rejects(rt.env.ECHO.getByName('x').ping(), { durableObjectReset: true, message: /exited while starting up/ });
});

test('dispose rejects calls in flight and refuses later calls', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('dispose');
  await stub.inc();
  const pending = stub.sleepThenInc(60_000);
  const rejected = assert.rejects(pending, { message: 'The Durable Object runtime was disposed.' });
  await sleep(20);
  await rt.dispose();
  await rejected;
  await assert.rejects(stub.inc(), { message: 'The Durable Object runtime has been disposed.', code: 'ERR_DO_DISPOSED' });
  await rt.dispose();
});

test('Symbol.asyncDispose disposes the runtime', async () => {
  const rt = new Runtime({ main: fixture('objects.mjs'), durableObjects: { ECHO: 'Echo' }, warmThreads: 1 });
  const stub = rt.env.ECHO.getByName('using');
  await stub.inc();
  assert.equal(typeof Symbol.asyncDispose, 'symbol');
  await rt[Symbol.asyncDispose]();
  await assert.rejects(stub.inc(), { code: 'ERR_DO_DISPOSED' });
});

test('a Rust panic becomes a JS error', async () => {
  const { native } = await import('../lib/native.js');
  assert.throws(() => native.panicForTest(), (e) => e instanceof Error && /panic/.test(e.message));
});

test('cpuTimeoutMs breaks an object whose synchronous run is too long', async (t) => {
  const rt = runtime(t, { cpuTimeoutMs: 100 });
  const stub = rt.env.ECHO.getByName('cpu');
  await assert.rejects(stub.busy(2000), { message: 'Durable Object exceeded its CPU time limit.', durableObjectReset: true });
  assert.equal(await stub.inc(), 1);
});
