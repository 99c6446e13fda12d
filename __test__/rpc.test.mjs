import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, sleep } from './helpers.mjs';

test('accepted value types round-trip as copies', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('values');
  const values = [
    1,
    -0,
    NaN,
    Infinity,
    'text',
    true,
    null,
    undefined,
    12345678901234567890n,
    { a: 1, nested: { b: [1, 2, { c: 'd' }] } },
    [1, , 3],
    new Date(1700000000000),
    /ab+c/gi,
    new Map([['k', { v: 1 }]]),
    new Set([1, 'two']),
    new Uint8Array([1, 2, 3]).buffer,
    new Float64Array([1.5, -2]),
    new DataView(new ArrayBuffer(4)),
    new TypeError('inner error'),
    { undef: undefined },
  ];
  for (const v of values) {
    assert.deepEqual(await stub.echo(v), v);
  }
  // As with structuredClone, a null-prototype object arrives as a plain object.
  assert.deepEqual(await stub.echo(Object.assign(Object.create(null), { k: 'v' })), { k: 'v' });
  const sent = { x: 1 };
  const got = await stub.echo(sent);
  assert.notEqual(got, sent);
});

test('a class instance argument throws DataCloneError before anything is sent', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('clone-fn');
  class Point {
    x = 1;
  }
  await assert.rejects(stub.record(new Point()), (e) => {
    assert.ok(e instanceof DOMException);
    assert.equal(e.name, 'DataCloneError');
    assert.equal(e.message, 'Could not serialize object of type "Point".');
    return true;
  });
  assert.deepEqual(await stub.getLog(), [], 'the object never received the call');
});

test('symbols and class instances are not serializable arguments', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('clone-class');
  class Point {
    x = 1;
  }
  await assert.rejects(stub.echo({ inner: new Point() }), {
    name: 'DataCloneError',
    message: 'Could not serialize object of type "Point".',
  });
  await assert.rejects(stub.echo(Symbol('s')), { name: 'DataCloneError' });
});

test('a result that cannot be serialized rejects the caller with DataCloneError', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('clone-result');
  await assert.rejects(stub.returnInstance(), {
    name: 'DataCloneError',
    message: 'Could not serialize object of type "Widget".',
    remote: true,
  });
  assert.equal(await stub.inc(), 1, 'the instance keeps working');
});

test('thrown errors keep their standard class, message and name, with remote: true', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('errors');
  await assert.rejects(stub.throwTypeError('bad thing'), (e) => {
    assert.ok(e instanceof TypeError);
    assert.equal(e.message, 'bad thing');
    assert.equal(e.remote, true);
    assert.equal(e.durableObjectReset, undefined);
    return true;
  });
  await assert.rejects(stub.rejectLater('async failure'), { name: 'Error', message: 'async failure', remote: true });
});

test('a custom error subclass arrives as its nearest standard class', async (t) => {
  const rt = runtime(t);
  await assert.rejects(rt.env.ECHO.getByName('custom').throwCustom(), (e) => {
    assert.equal(Object.getPrototypeOf(e), RangeError.prototype);
    assert.equal(e.name, 'MyError');
    assert.equal(e.message, 'custom');
    return true;
  });
});

test('a thrown non-Error value arrives as is', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('throw-value');
  await assert.rejects(stub.throwValue({ code: 42 }), (v) => {
    assert.deepEqual(v, { code: 42 });
    return true;
  });
  await assert.rejects(stub.throwValue('plain string'), (v) => v === 'plain string');
});

test('a method that throws does not reset the instance', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('throw-keeps');
  await stub.inc();
  await assert.rejects(stub.throwTypeError('x'));
  assert.equal(await stub.inc(), 2);
});

test('unknown methods are refused with workerd\'s message', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('unknown');
  await assert.rejects(stub.noSuchMethod(), {
    name: 'TypeError',
    message: 'The RPC receiver does not implement the method "noSuchMethod".',
  });
});

test('reserved names, private members and own fields are not callable', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('reserved');
  for (const name of ['constructor', 'alarm', 'webSocketMessage', 'dup', 'field', '#secret', 'toString', 'hasOwnProperty']) {
    await assert.rejects(Reflect.get(stub, name === 'dup' ? 'dup2' : name).call(stub), {
      message: `The RPC receiver does not implement the method "${name === 'dup' ? 'dup2' : name}".`,
    });
  }
});

test('stub shape: id, name, then undefined, dup and dispose', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('shape');
  assert.equal(stub.name, 'shape');
  assert.ok(stub.id.equals(rt.env.ECHO.idFromName('shape')));
  assert.equal(stub.then, undefined);
  assert.equal(await stub, stub, 'awaiting a stub yields the stub');
  const fromAsync = await (async () => stub)();
  assert.equal(fromAsync, stub);
  assert.equal(stub.dup(), stub);
  assert.equal(typeof stub[Symbol.dispose], 'function');
  const unique = rt.env.ECHO.get(rt.env.ECHO.newUniqueId());
  assert.equal(unique.name, undefined);
});

test('ctx.id, ctx.exports and ctx.props inside the object', async (t) => {
  const rt = runtime(t, { vars: { GREETING: 'hello' } });
  const who = await rt.env.ECHO.getByName('identity').whoami();
  assert.equal(who.id, rt.env.ECHO.idFromName('identity').toString());
  assert.equal(who.name, 'identity');
  const env = await rt.env.ECHO.getByName('identity').describeEnv();
  assert.ok(env.exports.includes('Echo'));
  assert.equal(env.exportIsNamespace, true);
  assert.deepEqual(env.props, {});
});

test('calls through one stub are delivered in the order they were made', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('order');
  const calls = [];
  for (let i = 0; i < 300; i++) calls.push(stub.record(i));
  await Promise.all(calls);
  assert.deepEqual(await stub.getLog(), [...Array(300).keys()]);
});

test('calls interleave at awaits', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('interleave');
  await Promise.all([stub.interleave('a', 50), stub.interleave('b', 10)]);
  assert.deepEqual(await stub.getLog(), ['start a', 'start b', 'end b', 'end a']);
});

test('an instance never runs two pieces of JS at once', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('exclusive');
  const overlapped = await Promise.all([stub.busy(30), stub.busy(30), stub.busy(30)]);
  assert.deepEqual(overlapped, [false, false, false]);
});

test('each object runs on its own thread', async (t) => {
  const rt = runtime(t);
  const a = await rt.env.ECHO.getByName('thread-a').whoami();
  const b = await rt.env.ECHO.getByName('thread-b').whoami();
  assert.notEqual(a.threadId, b.threadId);
  assert.notEqual(a.threadId, 0);
});

test('objects call other objects through this.env', async (t) => {
  const rt = runtime(t);
  const a = rt.env.ECHO.getByName('caller');
  assert.equal(await a.callOther('callee', 'inc'), 1);
  assert.equal(await a.callOther('callee', 'inc'), 2);
  assert.equal(await rt.env.ECHO.getByName('callee').inc(), 3);
  await assert.rejects(a.callOther('callee', 'throwTypeError', 'nested'), { name: 'TypeError', message: 'nested' });
});

test('a namespace stub passed from one object to another reaches the same object', async (t) => {
  const rt = runtime(t);
  assert.equal(await rt.env.ECHO.getByName('target').inc(), 1);
  assert.equal(await rt.env.ECHO.getByName('passer').passStub('target'), 2);
  assert.equal(await rt.env.ECHO.getByName('target').inc(), 3);
});

test('stub.fetch delivers a Request and returns the Response', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('http');
  const res = await stub.fetch(
    new Request('https://example.com/path?q=1', { method: 'POST', body: 'payload', headers: { 'x-test': 'T' } }),
  );
  assert.ok(res instanceof Response);
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('x-echo'), 'yes');
  assert.deepEqual(await res.json(), { method: 'POST', url: 'https://example.com/path?q=1', body: 'payload', h: 'T' });
  const get = await stub.fetch('https://example.com/');
  assert.equal((await get.json()).method, 'GET');
});

test('fetch keeps E-order with calls made after it', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('http-order');
  const f = stub.fetch('https://example.com/', { method: 'PUT', body: 'x'.repeat(1000) });
  const r = stub.inc();
  await f;
  assert.equal(await r, 1);
});

test('fetch to an object without a fetch() handler fails', async (t) => {
  const rt = runtime(t, { durableObjects: { NF: 'NoFetch' } });
  await assert.rejects(rt.env.NF.getByName('x').fetch('https://example.com/'), {
    name: 'Error',
    message: 'Handler does not export a fetch() function.',
  });
});

test('modules load with cloudflare:workers, package self-reference and CommonJS', async (t) => {
  const { fixture } = await import('./helpers.mjs');
  const { Runtime } = await import('../index.js');
  const esm = new Runtime({ main: fixture('imports-package.mjs'), durableObjects: { PKG: 'Pkg' }, warmThreads: 0 });
  t.after(() => esm.dispose());
  assert.equal(await esm.env.PKG.getByName('p').helper(), 'helper saw RpcTarget');
  const cjs = new Runtime({ main: fixture('common.cjs'), durableObjects: { CJS: 'Cjs' }, warmThreads: 0 });
  t.after(() => cjs.dispose());
  assert.equal(await cjs.env.CJS.getByName('c').kind(), 'commonjs');
});

test('the package can be required from CommonJS', async () => {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const pkg = require('durable-facets');
  assert.equal(typeof pkg.Runtime, 'function');
  assert.equal(typeof pkg.DurableObject, 'function');
  assert.equal(typeof pkg.RpcTarget, 'function');
});

test('many objects can be started and called concurrently', async (t) => {
  const rt = runtime(t, { warmThreads: 2 });
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => rt.env.ECHO.getByName(`many-${i}`).inc()));
  assert.deepEqual(results, Array(12).fill(1));
  await sleep(1);
});

test('unsupported ctx APIs throw a clear error', async (t) => {
  const rt = runtime(t);
  const stub = rt.env.ECHO.getByName('unsupported');
  assert.equal(await stub.tryUnsupported('container'), 'Error: ctx.container is not supported by durable-facets.');
});
