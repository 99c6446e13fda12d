// Runtime options from wrangler configurations (lib/wrangler-config.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime, readWranglerConfig } from '../index.js';
import { fixture } from './helpers.mjs';

const OBJECTS = fileURLToPath(fixture('objects.mjs'));
const EXPECTED = {
  main: OBJECTS,
  durableObjects: { ECHO: 'Echo' },
  vars: { GREETING: 'hello from wrangler', LIMITS: { max: 3 } },
  workerLoaders: ['LOADER'],
};

/** Writes `text` as `name` in a fresh directory; returns its path. */
function configFile(t, name, text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-wrangler-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** A wrangler.jsonc for objects.mjs, with `extra` keys over the minimal one. */
function jsonc(t, extra = {}) {
  return configFile(t, 'wrangler.jsonc', JSON.stringify({
    main: OBJECTS,
    durable_objects: { bindings: [{ name: 'ECHO', class_name: 'Echo' }] },
    migrations: [{ tag: 'v1', new_sqlite_classes: ['Echo'] }],
    ...extra,
  }, null, 2));
}

/** The warnings `fn` emits (process 'warning' events, emitted on the next tick). */
async function warnings(fn) {
  const seen = [];
  const listener = (w) => seen.push(w);
  process.on('warning', listener);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

test('a wrangler.jsonc with comments and trailing commas gives main, bindings, vars and loaders', async () => {
  assert.deepEqual(await readWranglerConfig(fixture('wrangler/wrangler.jsonc')), EXPECTED);
});

test('a wrangler.toml gives the same options', async () => {
  assert.deepEqual(await readWranglerConfig(fixture('wrangler/wrangler.toml')), EXPECTED);
});

test('a wrangler.json gives the same options', async () => {
  assert.deepEqual(await readWranglerConfig(fileURLToPath(fixture('wrangler/wrangler.json'))), EXPECTED);
});

test('a directory is read through the configuration wrangler would find in it', async (t) => {
  assert.deepEqual(await readWranglerConfig(fixture('wrangler/')), EXPECTED);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'df-wrangler-empty-'));
  t.after(() => fs.rmSync(empty, { recursive: true, force: true }));
  await assert.rejects(readWranglerConfig(empty), {
    code: 'ERR_DO_INVALID_OPTION',
    message: `No wrangler configuration in ${empty} (looked for wrangler.json, wrangler.jsonc, wrangler.toml).`,
  });
});

test('main resolves against the configuration file, not the working directory', async () => {
  const cwd = process.cwd();
  process.chdir(os.tmpdir());
  try {
    const options = await readWranglerConfig(path.relative(os.tmpdir(), fileURLToPath(fixture('wrangler/wrangler.toml'))));
    assert.equal(options.main, OBJECTS);
  } finally {
    process.chdir(cwd);
  }
});

test('Runtime.fromWranglerConfig starts a runtime whose objects see the bindings, vars and loader', async (t) => {
  const rt = await Runtime.fromWranglerConfig(fixture('wrangler/wrangler.jsonc'), { warmThreads: 0 });
  t.after(() => rt.dispose());
  assert.ok(rt instanceof Runtime);
  assert.equal(rt.env.GREETING, 'hello from wrangler');
  const env = await rt.env.ECHO.getByName('a').describeEnv();
  assert.deepEqual(env.keys, ['ECHO', 'GREETING', 'LIMITS', 'LOADER']);
  assert.equal(env.greeting, 'hello from wrangler');
});

test('overrides merge over the options read: runtime options replaced, bindings and vars merged per key', async (t) => {
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'df-wrangler-storage-'));
  t.after(() => fs.rmSync(storage, { recursive: true, force: true }));
  const options = await readWranglerConfig(fixture('wrangler/wrangler.jsonc'), {
    storage,
    idleTimeoutMs: 500,
    durableObjects: { ECHO: { facetFailure: 'isolate' }, OTHER: 'Echo' },
    vars: { EXTRA: 1 },
    workerLoaders: ['LOADER', 'LOADER2'],
  });
  assert.deepEqual(options, {
    main: OBJECTS,
    durableObjects: { ECHO: { className: 'Echo', facetFailure: 'isolate' }, OTHER: 'Echo' },
    vars: { GREETING: 'hello from wrangler', LIMITS: { max: 3 }, EXTRA: 1 },
    workerLoaders: ['LOADER', 'LOADER2'],
    storage,
    idleTimeoutMs: 500,
  });
  const rt = new Runtime({ ...options, warmThreads: 0 });
  t.after(() => rt.dispose());
  await rt.env.ECHO.getByName('x').inc();
  assert.ok(fs.existsSync(path.join(storage, 'Echo')));
});

test('overrides.env reads an env section: bindings and vars from it, main inherited', async () => {
  for (const file of ['wrangler/wrangler.jsonc', 'wrangler/wrangler.toml']) {
    assert.deepEqual(await readWranglerConfig(fixture(file), { env: 'staging' }), {
      main: OBJECTS,
      durableObjects: { STAGED: 'Echo' },
      vars: { GREETING: 'hello from staging' },
    });
  }
});

test('an unknown env section is an error listing the ones that exist', async () => {
  await assert.rejects(readWranglerConfig(fixture('wrangler/wrangler.jsonc'), { env: 'prod' }), {
    code: 'ERR_DO_INVALID_OPTION',
    message: /no env section "prod" \(it has "staging"\)/,
  });
});

test('a JSONC syntax error is reported with file:line:column', async (t) => {
  const file = configFile(t, 'wrangler.jsonc', '{\n  "main": "x.js",\n  "vars": { "A": 1 "B": 2 }\n}\n');
  await assert.rejects(readWranglerConfig(file), (e) => {
    assert.equal(e.code, 'ERR_DO_INVALID_OPTION');
    assert.equal(e.message.split(': ')[0], `${file}:3:20`);
    assert.match(e.message, /invalid JSON: CommaExpected/);
    return true;
  });
});

test('a TOML syntax error is reported with file:line:column', async (t) => {
  const file = configFile(t, 'wrangler.toml', 'main = "x.js"\n\n[vars]\nA = \n');
  await assert.rejects(readWranglerConfig(file), (e) => {
    assert.equal(e.code, 'ERR_DO_INVALID_OPTION');
    assert.match(e.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:\\d+: invalid TOML: `));
    return true;
  });
});

test('a missing configuration file and an unknown extension are clear errors', async (t) => {
  await assert.rejects(readWranglerConfig('/nonexistent/wrangler.jsonc'), {
    code: 'ERR_DO_INVALID_OPTION',
    message: 'Cannot read the wrangler configuration /nonexistent/wrangler.jsonc: no such file',
  });
  const yaml = configFile(t, 'wrangler.yaml', 'main: x.js\n');
  await assert.rejects(readWranglerConfig(yaml), { message: /a wrangler configuration is a \.jsonc, \.json or \.toml file/ });
});

test('a missing main, or a main that does not exist, is an error naming it', async (t) => {
  await assert.rejects(readWranglerConfig(configFile(t, 'wrangler.json', '{ "name": "x" }')), {
    code: 'ERR_DO_INVALID_OPTION',
    message: /main is required/,
  });
  await assert.rejects(readWranglerConfig(configFile(t, 'wrangler.json', '{ "main": "src/nope.js" }')), {
    message: /main "src\/nope\.js" not found \(.*src\/nope\.js\)/,
  });
});

test('a bound class that no new_sqlite_classes migration creates fails as Cloudflare deploy does', async (t) => {
  await assert.rejects(readWranglerConfig(jsonc(t, { migrations: undefined })), {
    code: 'ERR_DO_INVALID_OPTION',
    message: /Cannot create binding for class 'Echo' because it is not currently configured to implement Durable Objects\. Add "Echo" to the new_sqlite_classes of a migration/,
  });
});

test('a class deleted by a later migration can no longer be bound', async (t) => {
  const migrations = [{ tag: 'v1', new_sqlite_classes: ['Echo'] }, { tag: 'v2', deleted_classes: ['Echo'] }];
  await assert.rejects(readWranglerConfig(jsonc(t, { migrations })), { message: /Cannot create binding for class 'Echo'/ });
});

test('a renamed class keeps the namespace (uniqueKey) it was created with', async (t) => {
  const migrations = [
    { tag: 'v1', new_sqlite_classes: ['OldEcho'] },
    { tag: 'v2', renamed_classes: [{ from: 'OldEcho', to: 'Echo' }] },
  ];
  const options = await readWranglerConfig(jsonc(t, { migrations }));
  assert.deepEqual(options.durableObjects, { ECHO: { className: 'Echo', uniqueKey: 'OldEcho' } });
});

test('a class created by new_classes (key-value backend) is not supported', async (t) => {
  await assert.rejects(readWranglerConfig(jsonc(t, { migrations: [{ tag: 'v1', new_classes: ['Echo'] }] })), {
    code: 'ERR_DO_NOT_SUPPORTED',
    message: /class 'Echo' \(binding ECHO\) is created by migrations\[0\]\.new_classes, the key-value storage backend; durable-facets implements SQLite-backed Durable Objects only/,
  });
});

test('a binding with script_name (a class of another Worker) is not supported', async (t) => {
  const durable_objects = { bindings: [{ name: 'ECHO', class_name: 'Echo', script_name: 'other-worker' }] };
  await assert.rejects(readWranglerConfig(jsonc(t, { durable_objects })), {
    code: 'ERR_DO_NOT_SUPPORTED',
    message: /durable_objects\.bindings\[0\] \("ECHO"\): script_name "other-worker" binds a Durable Object class of another Worker/,
  });
});

test('bindings durable-facets does not provide are errors naming the key', async (t) => {
  const cases = {
    kv_namespaces: [{ binding: 'KV', id: 'x' }],
    d1_databases: [{ binding: 'DB', database_id: 'x' }],
    r2_buckets: [{ binding: 'B', bucket_name: 'x' }],
    services: [{ binding: 'S', service: 'x' }],
    queues: { producers: [{ binding: 'Q', queue: 'x' }] },
    ai: { binding: 'AI' },
    assets: { directory: './public', binding: 'ASSETS' },
  };
  for (const [key, value] of Object.entries(cases)) {
    await assert.rejects(readWranglerConfig(jsonc(t, { [key]: value })), (e) => {
      assert.equal(e.code, 'ERR_DO_NOT_SUPPORTED', key);
      assert.match(e.message, new RegExp(`: ${key}\\b.*not supported by durable-facets`), key);
      return true;
    });
  }
});

test('empty binding lists are accepted', async (t) => {
  const options = await readWranglerConfig(jsonc(t, { kv_namespaces: [], d1_databases: [], r2_buckets: [] }));
  assert.deepEqual(options.durableObjects, { ECHO: 'Echo' });
});

test('settings that change what code does, and unknown keys, are warned about', async (t) => {
  const file = jsonc(t, { define: { DEBUG: 'true' }, triggers: { crons: ['* * * * *'] }, assets: { directory: './public' }, some_future_binding: [{ binding: 'X' }] });
  const seen = await warnings(() => readWranglerConfig(file));
  assert.deepEqual(seen.map((w) => w.name), Array(4).fill('DurableFacetsWarning'));
  const text = seen.map((w) => w.message).join('\n');
  assert.match(text, /define: durable-facets does not bundle/);
  assert.match(text, /triggers: cron triggers are not run/);
  assert.match(text, /assets: static assets are not served/);
  assert.match(text, /"some_future_binding" is not read by durable-facets and is ignored/);
});

test('deployment settings are ignored without a warning', async () => {
  const seen = await warnings(() => readWranglerConfig(fixture('wrangler/wrangler.jsonc')));
  assert.deepEqual(seen, []);
});

test('every wrangler configuration of examples/ loads and its runtime starts', async (t) => {
  const examples = fileURLToPath(new URL('../examples/', import.meta.url));
  const found = [];
  for (const dir of fs.readdirSync(examples)) {
    for (const name of ['wrangler.jsonc', 'wrangler.json', 'wrangler.toml']) {
      const file = path.join(examples, dir, name);
      if (fs.existsSync(file)) found.push(file);
    }
  }
  assert.ok(found.some((f) => f.includes(`${path.sep}chat${path.sep}`)), 'examples/chat has one');
  for (const file of found) {
    const rt = await Runtime.fromWranglerConfig(file, { warmThreads: 0 });
    try {
      const namespaces = Object.values(rt.env).filter((v) => typeof v?.getByName === 'function');
      assert.ok(namespaces.length > 0, file);
      // An unknown method is reported by the instance: main loaded and the class resolved.
      for (const ns of namespaces) {
        await assert.rejects(ns.getByName('probe').noSuchMethodHere(), { code: 'ERR_DO_METHOD_NOT_FOUND' });
      }
    } finally {
      await rt.dispose();
    }
  }
});
