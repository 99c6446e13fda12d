// TypeScript user modules without a build step (SPEC §1): the runtime's loader strips the
// types of `.ts`/`.mts` main, class and loader modules, on any Node version and flags;
// non-erasable syntax fails at load with the module, line and column (SPEC §6.5).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runtime } from '../index.js';
import { fixture } from './helpers.mjs';

// A private stripping cache per test run, so tests neither read nor leave the user's.
const CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-facets-ts-test-'));
process.env.DURABLE_FACETS_TS_CACHE = CACHE;
/** Where the entries are: the runtime's own subdirectory of the configured one. */
const ENTRIES = path.join(CACHE, 'durable-facets-ts');
fs.mkdirSync(ENTRIES, { mode: 0o700 });
test.after(() => fs.rmSync(CACHE, { recursive: true, force: true }));

const ts = (name) => fixture(`typescript/${name}`);

function start(t, options) {
  const rt = new Runtime({ warmThreads: 0, durableObjects: { ROOMS: 'Room' }, ...options });
  t.after(() => rt.dispose());
  return rt;
}

async function failure(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('expected a rejection');
}

test('a .ts main with types, satisfies and "cloudflare:workers" runs', async (t) => {
  const rt = start(t, { main: ts('main.ts'), vars: { GREETING: 'hi' } });
  const room = rt.env.ROOMS.getByName('a');
  assert.deepEqual(await room.join('ann'), ['ann']);
  assert.deepEqual(await room.hello('bob'), { text: 'HI, BOB!', fromModuleEnv: 'hi' });
  assert.equal(await room.count([{}, {}]), 2);
});

test('a .ts main imports a sibling .ts module by its relative path', async (t) => {
  const rt = start(t, { main: ts('main.ts'), vars: { GREETING: 'hey' } });
  // greet() lives in ./greet.ts.
  assert.equal((await rt.env.ROOMS.getByName('a').hello('x')).text, 'HEY, X!');
});

test('the default export of a .ts main serves rt.fetch()', async (t) => {
  const rt = start(t, { main: ts('main.ts'), vars: { GREETING: 'hi' } });
  assert.equal(await (await rt.fetch('http://app/path')).text(), 'ts entry /path hi');
});

test('stack traces point at the line and column in the .ts source', async (t) => {
  const rt = start(t, { main: ts('main.ts'), vars: { GREETING: 'hi' } });
  const stack = await rt.env.ROOMS.getByName('a').stack();
  const line = fs.readFileSync(ts('main.ts'), 'utf8').split('\n').findIndex((l) => l.includes("new Error('where am I')"));
  const column = fs.readFileSync(ts('main.ts'), 'utf8').split('\n')[line].indexOf('new Error') + 1;
  assert.match(stack, new RegExp(`main\\.ts:${line + 1}:${column}\\)`));
});

test('a .mts class module of a class binding is stripped too', async (t) => {
  const rt = start(t, {
    main: ts('main.ts'),
    vars: { GREETING: 'hi' },
    classes: { COUNTER: { module: './facet.mts', className: 'Counter' } },
  });
  assert.equal(await rt.env.ROOMS.getByName('a').countInFacet(3), 3);
});

test('worker-loader modules named *.ts are stripped and import each other', async (t) => {
  const rt = start(t, {
    main: ts('loader-host.ts'),
    durableObjects: { HOSTS: 'LoaderHost' },
    workerLoaders: ['LOADER'],
  });
  const modules = {
    'app.ts': [
      "import { DurableObject, env } from 'cloudflare:workers';",
      "import { twice } from './lib/math.ts';",
      'export class App extends DurableObject {',
      '  value(): string { return `${twice(21 as number)} ${(env as { WHO: string }).WHO}`; }',
      '}',
    ].join('\n'),
    'lib/math.ts': 'export const twice = (n: number): number => n * 2;\n',
  };
  assert.equal(await rt.env.HOSTS.getByName('h').run('w', 'app.ts', modules, 'App', 'value'), '42 loaded');
});

test('an enum in a loader module fails with the module name, line and column', async (t) => {
  const rt = start(t, {
    main: ts('loader-host.ts'),
    durableObjects: { HOSTS: 'LoaderHost' },
    workerLoaders: ['LOADER'],
  });
  const modules = {
    'app.ts': "import { DurableObject } from 'cloudflare:workers';\nexport class App extends DurableObject {}\n  enum E { A }\n",
  };
  const error = await failure(rt.env.HOSTS.getByName('h').run('w', 'app.ts', modules, 'App', 'value'));
  assert.equal(error.name, 'SyntaxError');
  assert.equal(error.code, 'ERR_DO_MODULE_LOAD');
  assert.match(error.message, /enum is not supported in strip-only mode \(at app\.ts:3:3\)/);
});

for (const [file, what, at] of [
  ['enum.ts', 'enum', '6:3'],
  ['parameter-property.ts', 'parameter property', '6:23'],
  ['namespace.ts', 'namespace declaration', '5:1'],
]) {
  test(`a non-erasable ${what} in main fails at load with its line and column`, async (t) => {
    const rt = start(t, { main: ts(file) });
    const error = await failure(rt.env.ROOMS.getByName('a').ping());
    assert.equal(error.name, 'SyntaxError');
    assert.equal(error.code, 'ERR_DO_MODULE_LOAD');
    assert.ok(error.message.includes(`TypeScript ${what} is not supported in strip-only mode`), error.message);
    assert.ok(error.message.endsWith(`(at ${path.join(path.dirname(ts('main.ts').pathname), file)}:${at})`), error.message);
  });
}

test('a throw at the top level of a .ts main names its line and column', async (t) => {
  const rt = start(t, { main: ts('throws.ts') });
  const error = await failure(rt.env.ROOMS.getByName('a').ping());
  assert.equal(error.code, 'ERR_DO_MODULE_LOAD');
  assert.match(error.message, /thrown at load \(at .*throws\.ts:8:37\)/);
});

test('an extensionless relative import fails, naming the file it probably meant', async (t) => {
  const rt = start(t, { main: ts('extensionless.ts') });
  const error = await failure(rt.env.ROOMS.getByName('a').hello());
  assert.equal(error.code, 'ERR_DO_MODULE_NOT_FOUND');
  assert.match(error.message, /imported from .*extensionless\.ts\. Did you mean "\.\/greet\.ts"\?/);
  assert.match(error.message, /\(at .*extensionless\.ts:2:23\)$/);
});

test('a stripped source is cached on disk, keyed by the source', async (t) => {
  const { cacheKey } = await import('../lib/worker/typescript.js');
  const source = fs.readFileSync(ts('facet.mts'), 'utf8');
  const rt = start(t, { main: ts('facet.mts'), durableObjects: { COUNTERS: 'Counter' } });
  await rt.env.COUNTERS.getByName('c').increment();
  const cached = fs.readFileSync(path.join(ENTRIES, `${cacheKey(source)}.js`), 'utf8');
  assert.equal(cached.length, source.length);
  assert.ok(!cached.includes(': number'));
});

test('a thread boot uses the cached strip instead of stripping again', async (t) => {
  const { cacheKey } = await import('../lib/worker/typescript.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-facets-ts-cached-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const source = "import { DurableObject } from 'cloudflare:workers';\nexport class Room extends DurableObject { which(): string { return 'stripped'; } }\n";
  fs.writeFileSync(path.join(dir, 'main.ts'), source);
  // A cache entry for exactly this source, saying something else: only a cache read returns it.
  fs.writeFileSync(
    path.join(ENTRIES, `${cacheKey(source)}.js`),
    "import { DurableObject } from 'cloudflare:workers';\nexport class Room extends DurableObject { which() { return 'cached'; } }\n",
  );
  const rt = start(t, { main: path.join(dir, 'main.ts') });
  assert.equal(await rt.env.ROOMS.getByName('a').which(), 'cached');
});

test('Node never imports a .ts main on the main thread (options, entry point, listen)', async (t) => {
  // main.ts sets a global when evaluated: only the runtime's threads may evaluate it (Node
  // 20 cannot load .ts; Node 22+ could, without "cloudflare:workers").
  const rt = start(t, { main: ts('main.ts'), vars: { GREETING: 'hi' } });
  const listener = await rt.listen();
  assert.equal(await (await fetch(new URL('/l', listener.url))).text(), 'ts entry /l hi');
  await listener.close();
  assert.equal(globalThis.__durableFacetsTsEvaluated, undefined);
});

test('object code written for Cloudflare in TypeScript runs unchanged (facets from ctx.exports, SQL, env)', async (t) => {
  const rt = start(t, { main: ts('portable/worker.ts'), vars: { GREETING: 'hello' } });
  const room = rt.env.ROOMS.getByName('lobby');
  assert.deepEqual(await room.join('bob'), ['bob']);
  assert.deepEqual(await room.join('ann'), ['ann', 'bob']);
  assert.equal(await room.counted(2), 2);
  assert.equal(await room.greeting(), 'hello from the same env');
});

test('cache entries older than a week are removed when a thread strips', async (t) => {
  const old = path.join(ENTRIES, `${'0'.repeat(40)}.js`);
  fs.writeFileSync(old, 'export {};');
  const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
  fs.utimesSync(old, eightDaysAgo, eightDaysAgo);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-facets-ts-prune-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A source never seen before: a cache miss.
  fs.writeFileSync(path.join(dir, 'main.ts'), `import { DurableObject } from 'cloudflare:workers';\nexport class Room extends DurableObject { n(): number { return ${Date.now()}; } }\n`);
  const rt = start(t, { main: path.join(dir, 'main.ts') });
  await rt.env.ROOMS.getByName('a').n();
  assert.equal(fs.existsSync(old), false);
});
