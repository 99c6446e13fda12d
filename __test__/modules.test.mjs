// Module loading in the runtime's threads (SPEC §1, §6.5): "cloudflare:workers" and
// "durable-facets" give the very same classes however the package is installed, `env` is
// importable, exports are checked as workerd checks them, and load failures say where.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Runtime } from '../index.js';
import * as pkg from '../index.js';
import { fixture } from './helpers.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));

function start(t, options) {
  const rt = new Runtime({ warmThreads: 0, ...options });
  t.after(() => rt.dispose());
  return rt;
}

/** A project whose node_modules/durable-facets is a symlink to this repository (npm link). */
function linkedProject(t, main = 'package-identity.mjs') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-facets-linked-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(REPO, path.join(dir, 'node_modules', 'durable-facets'), 'dir');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  fs.copyFileSync(fixture(main), path.join(dir, main.endsWith('.cjs') ? 'main.cjs' : 'main.mjs'));
  return dir;
}

const SAME = {
  durableObject: true,
  rpcTarget: true,
  workerEntrypoint: true,
  instanceofPackage: true,
  instanceofCloudflare: true,
};

test('"cloudflare:workers" and "durable-facets" give the same classes when the package is symlinked', async (t) => {
  const dir = linkedProject(t);
  const rt = start(t, { main: path.join(dir, 'main.mjs'), durableObjects: { PROBES: 'Probe' } });
  assert.deepEqual(await rt.env.PROBES.getByName('a').identity(), SAME);
});

test('the symlinked package is the same module on the main thread', async (t) => {
  const dir = linkedProject(t);
  const linked = await import(pathToFileURL(path.join(dir, 'node_modules', 'durable-facets', 'index.js')).href);
  assert.equal(linked.DurableObject, pkg.DurableObject);
  assert.equal(linked.Runtime, pkg.Runtime);
});

test('"cloudflare:workers" and the package\'s self-reference give the same classes', async (t) => {
  const rt = start(t, { main: fixture('package-identity.mjs'), durableObjects: { PROBES: 'Probe' } });
  assert.deepEqual(await rt.env.PROBES.getByName('a').identity(), SAME);
});

test('"cloudflare:workers" exports DurableObject, RpcTarget, WorkerEntrypoint and env', async (t) => {
  const rt = start(t, { main: fixture('module-identity.mjs'), durableObjects: { PROBES: 'Probe' } });
  const { exports } = await rt.env.PROBES.getByName('a').env();
  assert.deepEqual(exports, ['DurableObject', 'RpcTarget', 'WorkerEntrypoint', 'env']);
});

test('env of "cloudflare:workers" is this.env, already set while main is evaluated', async (t) => {
  const rt = start(t, {
    main: fixture('module-identity.mjs'),
    durableObjects: { PROBES: 'Probe' },
    vars: { GREETING: 'こんにちは' },
  });
  assert.deepEqual(await rt.env.PROBES.getByName('a').env(), {
    sameAsThisEnv: true,
    liveSameAsThisEnv: true,
    greetingAtImport: 'こんにちは',
    exports: ['DurableObject', 'RpcTarget', 'WorkerEntrypoint', 'env'],
  });
});

test('another "cloudflare:" module fails at load with a clear error', async (t) => {
  const rt = start(t, { main: fixture('unsupported-import.mjs'), durableObjects: { ECHO: 'Echo' } });
  await assert.rejects(rt.env.ECHO.getByName('a').ping(), {
    name: 'Error',
    message: /^Module "cloudflare:sockets" is not supported by durable-facets\. \(at .*unsupported-import\.mjs:2:25\)$/,
  });
});

test('a dynamic import of another "cloudflare:" module rejects with the same error', async (t) => {
  const rt = start(t, { main: fixture('module-identity.mjs'), durableObjects: { PROBES: 'Probe' } });
  await assert.rejects(rt.env.PROBES.getByName('a').importUnsupported('cloudflare:email'), {
    message: 'Module "cloudflare:email" is not supported by durable-facets.',
  });
});

// --- Loader code ----------------------------------------------------------------------------

const ENV_APP = `
import { DurableObject, WorkerEntrypoint, env } from "cloudflare:workers";
const atImport = env;
export class App extends DurableObject {
  env() {
    return { same: atImport === this.env, label: atImport.LABEL, entrypoint: typeof WorkerEntrypoint };
  }
}`;

function loaderHost(t) {
  const rt = start(t, {
    main: fixture('loader-host.mjs'),
    durableObjects: { HOST: 'LoaderHost' },
    workerLoaders: ['LOADER'],
  });
  return rt.env.HOST.getByName('host');
}

test('loader code imports the env its loader was given; each loader worker sees its own', async (t) => {
  const host = loaderHost(t);
  const modules = { 'app.js': ENV_APP };
  assert.deepEqual(await host.run('one', modules, { LABEL: 'first ✓' }, 'App', 'env'), {
    same: true,
    label: 'first ✓',
    entrypoint: 'function',
  });
  assert.deepEqual(await host.run('two', modules, { LABEL: 'second' }, 'App', 'env'), {
    same: true,
    label: 'second',
    entrypoint: 'function',
  });
});

test('a syntax error in loader code names the module, line and column', async (t) => {
  const host = loaderHost(t);
  const modules = {
    'app.js': 'import { DurableObject } from "cloudflare:workers";\nimport "./lib/util.js";\nexport class App extends DurableObject {}\n',
    'lib/util.js': '// helpers\nexport function f() {\n  return 1 +;\n}\n',
  };
  await assert.rejects(host.run('broken', modules, {}, 'App', 'env'), {
    name: 'SyntaxError',
    message: "Unexpected token ';' (at lib/util.js:3:13)",
  });
});

test('a throw at the top level of loader code names the module, line and column', async (t) => {
  const host = loaderHost(t);
  const modules = { 'app.js': 'export class App {}\n\n  throw new RangeError("ß at load");\n' };
  await assert.rejects(host.run('throws', modules, {}, 'App', 'env'), {
    name: 'RangeError',
    message: 'ß at load (at app.js:3:9)',
  });
});

test('a missing module in loader code names the importing module, line and column', async (t) => {
  const host = loaderHost(t);
  const modules = { 'app.js': 'import { DurableObject } from "cloudflare:workers";\nimport { x } from "./nope.js";\n' };
  await assert.rejects(host.run('missing', modules, {}, 'App', 'env'), {
    message: 'Worker "missing" has no module named "nope.js". (at app.js:2:19)',
  });
});

test('a missing export in loader code names the importing module, line and column', async (t) => {
  const host = loaderHost(t);
  const modules = {
    'app.js': 'import { DurableObject } from "cloudflare:workers";\n\nimport { nope } from "./b.js";\n',
    'b.js': 'export const yes = 1;\n',
  };
  await assert.rejects(host.run('missing-export', modules, {}, 'App', 'env'), {
    name: 'SyntaxError',
    message: "The requested module './b.js' does not provide an export named 'nope' (at app.js:3:22)",
  });
});

test('a loader class that does not extend DurableObject is reported as such', async (t) => {
  const host = loaderHost(t);
  const modules = { 'app.js': 'export class App { env() {} }\n' };
  await assert.rejects(host.run('plain', modules, {}, 'App', 'env'), {
    name: 'TypeError',
    message: '"App" exported by worker "plain" is not a DurableObject subclass.',
  });
});

test('loader code exporting a non-function value is refused with workerd\'s text', async (t) => {
  const host = loaderHost(t);
  const modules = { 'app.js': 'export class App {}\nexport const VERSION = "1.0";\n' };
  await assert.rejects(host.run('versioned', modules, {}, 'App', 'env'), {
    name: 'TypeError',
    message: "Incorrect type for map entry 'VERSION': the provided value is not of type 'function or ExportedHandler'.",
  });
});

// --- Exports and load failures of the runtime's own modules ---------------------------------

test('a main module exporting a non-function value is refused with workerd\'s text', async (t) => {
  const rt = start(t, { main: fixture('bad-export.mjs'), durableObjects: { ECHO: 'Echo' } });
  await assert.rejects(rt.env.ECHO.getByName('a').ping(), {
    name: 'TypeError',
    message: "Incorrect type for map entry 'VERSION': the provided value is not of type 'function or ExportedHandler'.",
    durableObjectReset: true,
  });
});

test('exports that are functions, handler objects or null are accepted', async (t) => {
  // package-identity.mjs also exports a plain function, a handler object and null.
  const rt = start(t, { main: fixture('package-identity.mjs'), durableObjects: { PROBES: 'Probe' } });
  assert.equal((await rt.env.PROBES.getByName('a').identity()).durableObject, true);
});

test('a syntax error in main names its path, line and column', async (t) => {
  const rt = start(t, { main: fixture('syntax-error.mjs'), durableObjects: { ECHO: 'Echo' } });
  const file = fileURLToPath(fixture('syntax-error.mjs'));
  await assert.rejects(rt.env.ECHO.getByName('a').ping(), {
    name: 'SyntaxError',
    message: `Unexpected token '}' (at ${file}:6:1)`,
  });
});

test('a missing export in main names its path, line and column', async (t) => {
  const rt = start(t, { main: fixture('missing-import.mjs'), durableObjects: { ECHO: 'Echo' } });
  const file = fileURLToPath(fixture('missing-import.mjs'));
  await assert.rejects(rt.env.ECHO.getByName('a').ping(), {
    name: 'SyntaxError',
    message: `The requested module './module-identity.mjs' does not provide an export named 'nothingHere' (at ${file}:2:29)`,
  });
});

test('a facet class binding that does not extend DurableObject is reported as such', async (t) => {
  const rt = start(t, {
    main: fixture('package-identity.mjs'),
    durableObjects: { PROBES: 'Probe' },
    classes: { PLAIN: { className: 'NotADurableObject' } },
  });
  await assert.rejects(rt.env.PROBES.getByName('a').facetOf('PLAIN', 'identity'), {
    name: 'TypeError',
    message: /^classes\.PLAIN: "NotADurableObject" exported by file:.*package-identity\.mjs is not a DurableObject subclass\.$/,
  });
});

test('a namespace binding passed as a facet class says what to pass instead', async (t) => {
  const rt = start(t, { main: fixture('package-identity.mjs'), durableObjects: { PROBES: 'Probe' } });
  await assert.rejects(rt.env.PROBES.getByName('a').namespaceAsClass(), {
    name: 'TypeError',
    message:
      "Incorrect type for the 'class' field on 'StartupOptions': a Durable Object namespace binding from env is not a class. Pass ctx.exports.Probe (a namespace that is also a class), a class binding (the `classes` option) or a worker loader's class instead.",
  });
});

// --- CommonJS and hostile sources -----------------------------------------------------------

test('CommonJS code requires the same classes and env from "cloudflare:workers"', async (t) => {
  const rt = start(t, { main: fixture('env-common.cjs'), durableObjects: { CJS: 'CjsEnv' }, vars: { GREETING: 'مرحبا' } });
  assert.deepEqual(await rt.env.CJS.getByName('a').env(), { sameAsThisEnv: true, sameClass: true, greeting: 'مرحبا' });
});

test('CommonJS code requiring another "cloudflare:" module gets the same error', async (t) => {
  const rt = start(t, { main: fixture('env-common.cjs'), durableObjects: { CJS: 'CjsEnv' } });
  await assert.rejects(rt.env.CJS.getByName('a').requireUnsupported('cloudflare:sockets'), {
    message: 'Module "cloudflare:sockets" is not supported by durable-facets.',
  });
});

test('a syntax error deep in a long non-ASCII loader module is located exactly', async (t) => {
  const host = loaderHost(t);
  // 20,000 lines of Japanese string literals (UTF-16 columns, as V8 counts them), then an error.
  const filler = Array.from({ length: 20_000 }, (_, i) => `export const s${i} = "これは日本語のテキストです。${i}";`).join('\n');
  const modules = {
    'app.js': 'import "./モジュール.js";\nexport class App {}\n',
    'モジュール.js': `${filler}\nconst 変数 = "é"; let x = 1 +* 2;\n`,
  };
  await assert.rejects(host.run('long', modules, {}, 'App', 'env'), {
    name: 'SyntaxError',
    message: "Unexpected token '*' (at モジュール.js:20001:28)",
  });
});

test('CommonJS code in a symlinked install requires the same classes', async (t) => {
  const dir = linkedProject(t, 'env-common.cjs');
  const rt = start(t, { main: path.join(dir, 'main.cjs'), durableObjects: { CJS: 'CjsEnv' }, vars: { GREETING: 'hi' } });
  assert.deepEqual(await rt.env.CJS.getByName('a').env(), { sameAsThisEnv: true, sameClass: true, greeting: 'hi' });
});

/** A main module in a temporary directory, with its source. */
function tempMain(t, source) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-facets-missing-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'main.mjs');
  fs.writeFileSync(file, source);
  return { url: pathToFileURL(file), file };
}

const ECHO = "import { DurableObject } from 'cloudflare:workers';\nexport class Echo extends DurableObject { ping() { return 'pong'; } }\n";

test('an import of a file that does not exist is ERR_DO_MODULE_NOT_FOUND, located at the import', async (t) => {
  const { url, file } = tempMain(t, `import { x } from './nowhere.mjs';\n${ECHO}`);
  const rt = start(t, { main: url, durableObjects: { ECHO: 'Echo' } });
  await assert.rejects(rt.env.ECHO.getByName('a').ping(), (e) => {
    assert.equal(e.code, 'ERR_DO_MODULE_NOT_FOUND');
    assert.ok(e.message.endsWith(`(at ${file}:1:19)`), e.message);
    return true;
  });
});

test('an import of a package that is not installed is ERR_DO_MODULE_NOT_FOUND', async (t) => {
  const { url } = tempMain(t, `import 'no-such-package-ünïcode';\n${ECHO}`);
  const rt = start(t, { main: url, durableObjects: { ECHO: 'Echo' } });
  await assert.rejects(rt.env.ECHO.getByName('a').ping(), (e) => {
    assert.equal(e.code, 'ERR_DO_MODULE_NOT_FOUND');
    assert.match(e.message, /no-such-package-ünïcode/);
    return true;
  });
});

test('a dynamic import of a missing file rejects with ERR_DO_MODULE_NOT_FOUND', async (t) => {
  const { url } = tempMain(t, `${ECHO}export class Lazy extends DurableObject { async load() { try { await import('./later.mjs'); } catch (e) { return e.code; } } }\n`.replace('export class Lazy extends DurableObject', "import { DurableObject as D } from 'cloudflare:workers';\nexport class Lazy extends D"));
  const rt = start(t, { main: url, durableObjects: { LAZY: 'Lazy' } });
  assert.equal(await rt.env.LAZY.getByName('a').load(), 'ERR_DO_MODULE_NOT_FOUND');
});

test("an ENOENT that a module's own code throws at load keeps its code", async (t) => {
  const { url } = tempMain(t, `import fs from 'node:fs';\nfs.readFileSync('/no/such/config.json');\n${ECHO}`);
  const rt = start(t, { main: url, durableObjects: { ECHO: 'Echo' } });
  await assert.rejects(rt.env.ECHO.getByName('a').ping(), { code: 'ENOENT' });
});
