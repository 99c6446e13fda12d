import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../index.js';
import { fixture, runtime } from './helpers.mjs';

const main = fixture('objects.mjs');

test('options must be an object', () => {
  assert.throws(() => new Runtime(), { name: 'TypeError', message: 'Runtime options must be an object.' });
  assert.throws(() => new Runtime('x'), TypeError);
});

test('unknown options are named', () => {
  assert.throws(() => new Runtime({ main, idleTimeout: 5 }), {
    name: 'TypeError',
    message: 'Unknown Runtime option "idleTimeout".',
  });
});

test('main is required and must exist', () => {
  assert.throws(() => new Runtime({}), { name: 'TypeError', message: /options\.main is required/ });
  assert.throws(() => new Runtime({ main: './no/such/module.mjs' }), { message: /options\.main: module not found: .*module\.mjs/ });
  assert.throws(() => new Runtime({ main: new URL('https://example.com/x.mjs') }), { name: 'TypeError', message: /options\.main/ });
});

test('main accepts a path, a file: URL string and a URL object', async (t) => {
  const path = (await import('node:url')).fileURLToPath(main);
  for (const m of [path, main.href, main]) {
    const rt = new Runtime({ main: m, durableObjects: { ECHO: 'Echo' }, warmThreads: 0 });
    t.after(() => rt.dispose());
    assert.equal(await rt.env.ECHO.getByName('m').echo(1), 1);
  }
});

test('durableObjects entries are validated', () => {
  assert.throws(() => new Runtime({ main, durableObjects: { ECHO: 3 } }), { name: 'TypeError', message: /options\.durableObjects\.ECHO/ });
  assert.throws(() => new Runtime({ main, durableObjects: { ECHO: { className: 'Echo', bogus: 1 } } }), {
    message: 'options.durableObjects.ECHO: unknown field "bogus".',
  });
  assert.throws(() => new Runtime({ main, durableObjects: { 'bad name': 'Echo' } }), { message: /not a valid binding name/ });
  assert.throws(() => new Runtime({ main, durableObjects: { ECHO: { className: 'Echo', facetFailure: 'maybe' } } }), {
    message: /facetFailure/,
  });
});

test('bindings of one uniqueKey must name the same class', () => {
  assert.throws(
    () => new Runtime({ main, durableObjects: { A: { className: 'Echo', uniqueKey: 'k' }, B: { className: 'NoFetch', uniqueKey: 'k' } } }),
    { name: 'TypeError', message: 'options.durableObjects.B: uniqueKey "k" already names class "Echo", not "NoFetch".' },
  );
});

test('a binding name cannot be used twice', () => {
  assert.throws(() => new Runtime({ main, durableObjects: { ECHO: 'Echo' }, vars: { ECHO: 1 } }), {
    message: 'options.vars.ECHO: binding name "ECHO" is used twice.',
  });
});

test('numeric and enumerated options are range-checked', () => {
  assert.throws(() => new Runtime({ main, idleTimeoutMs: 0 }), { name: 'RangeError', message: /options\.idleTimeoutMs/ });
  assert.throws(() => new Runtime({ main, warmThreads: 1.5 }), { message: /options\.warmThreads must be an integer/ });
  assert.throws(() => new Runtime({ main, maxRunningFacets: -1 }), /options\.maxRunningFacets/);
  assert.throws(() => new Runtime({ main, facetFailure: 'all' }), /options\.facetFailure must be one of "object", "isolate"/);
  assert.throws(() => new Runtime({ main, synchronous: 'off' }), /options\.synchronous/);
});

test('vars must be structured-cloneable', () => {
  assert.throws(() => new Runtime({ main, vars: { FN: () => 1 } }), {
    name: 'TypeError',
    message: 'options.vars.FN must be a structured-cloneable value.',
  });
});

test('vars appear in rt.env and in this.env', async (t) => {
  const rt = runtime(t, { vars: { GREETING: 'hi', LIST: [1, 2] } });
  assert.equal(rt.env.GREETING, 'hi');
  assert.deepEqual(rt.env.LIST, [1, 2]);
  const env = await rt.env.ECHO.getByName('env').describeEnv();
  assert.deepEqual(env.keys, ['ECHO', 'GREETING', 'LIST']);
  assert.equal(env.greeting, 'hi');
});

test('an unknown class name fails the first call, naming the option', async (t) => {
  const rt = runtime(t, { durableObjects: { NOPE: 'Missing' } });
  await assert.rejects(rt.env.NOPE.getByName('x').ping(), {
    name: 'TypeError',
    message: /^durableObjects\.NOPE: class "Missing" is not exported by file:.*objects\.mjs\.$/,
  });
});

test('a class that does not extend DurableObject fails the first call', async (t) => {
  const rt = runtime(t, { durableObjects: { BAD: 'NotADurableObject' } });
  await assert.rejects(rt.env.BAD.getByName('x').ping(), {
    name: 'TypeError',
    message: /^durableObjects\.BAD: "NotADurableObject" exported by .* is not a DurableObject subclass\.$/,
  });
});

test('timer options above 2³¹−1 ms are a RangeError naming the option', () => {
  // Node clamps longer timers to 1 ms: an idle object would wake a thousand times a second.
  for (const key of ['idleTimeoutMs', 'cpuTimeoutMs', 'alarmRetryBaseMs']) {
    assert.throws(() => new Runtime({ main, [key]: 2 ** 31 }), {
      name: 'RangeError',
      code: 'ERR_DO_INVALID_OPTION',
      message: `options.${key} must be a number from 1 to 2147483647, got 2147483648.`,
    });
    assert.throws(() => new Runtime({ main, [key]: Infinity }), { name: 'RangeError', message: new RegExp(`options\\.${key}`) });
  }
});

test('count options above 2³¹−1 are a RangeError, not wrapped modulo 2³²', () => {
  for (const key of ['maxRunningFacets', 'warmThreads']) {
    assert.throws(() => new Runtime({ main, [key]: 2 ** 32 }), {
      name: 'RangeError',
      code: 'ERR_DO_INVALID_OPTION',
      message: new RegExp(`^options\\.${key} must be an integer from \\d to 2147483647, got 4294967296\\.$`),
    });
  }
});

test('the largest allowed timer option is accepted', async () => {
  const rt = new Runtime({ main, idleTimeoutMs: 2 ** 31 - 1, cpuTimeoutMs: 2 ** 31 - 1, warmThreads: 0 });
  await rt.dispose();
});

test('a numeric option of the wrong type is a TypeError with the option code', () => {
  assert.throws(() => new Runtime({ main, idleTimeoutMs: '10' }), {
    name: 'TypeError',
    code: 'ERR_DO_INVALID_OPTION',
    message: 'options.idleTimeoutMs must be a number, got "10".',
  });
  assert.throws(() => new Runtime({ main, maxRunningFacets: NaN }), { name: 'TypeError', message: /options\.maxRunningFacets must be an integer/ });
});
