// Typings for TypeScript projects (issue 11): `durable-facets types` (lib/tooling/
// generate-types.js) and `durable-facets/globals`, checked by running tsc over a project made
// of the portable fixture (__test__/fixtures/typescript/portable), as a user's would be.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { generateTypes } from '../lib/tooling/generate-types.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const PORTABLE = fileURLToPath(new URL('./fixtures/typescript/portable/', import.meta.url));
const require = createRequire(import.meta.url);
const TSC = require.resolve('typescript/bin/tsc');

/** @cloudflare/workers-types, when installed (a devDependency of the repository, if added). */
function workersTypesDir() {
  try {
    return path.dirname(require.resolve('@cloudflare/workers-types/package.json'));
  } catch {
    return null;
  }
}

/** A project: the portable fixture's sources, `files`, a tsconfig, node_modules links. */
function project(t, { types, files = {}, withEnvDts = false, portable = true }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-facets-types-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const name of portable ? ['worker.ts', 'counter.ts', ...(withEnvDts ? ['env.d.ts'] : [])] : []) {
    fs.copyFileSync(path.join(PORTABLE, name), path.join(dir, name));
  }
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  fs.mkdirSync(path.join(dir, 'node_modules', '@cloudflare'), { recursive: true });
  fs.symlinkSync(REPO, path.join(dir, 'node_modules', 'durable-facets'), 'dir');
  const wt = workersTypesDir();
  if (wt !== null) fs.symlinkSync(wt, path.join(dir, 'node_modules', '@cloudflare', 'workers-types'), 'dir');
  const usesWorkersTypes = types.includes('@cloudflare/workers-types');
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        // workers-types brings its own Request/Response/WebSocket in place of the DOM lib.
        lib: usesWorkersTypes ? ['ES2022'] : ['ES2022', 'DOM'],
        types,
        allowImportingTsExtensions: true,
        verbatimModuleSyntax: true,
        noImplicitOverride: true,
        skipLibCheck: false,
      },
      include: ['*.ts'],
    }),
  );
  return dir;
}

/** Runs tsc on `dir`: its diagnostics ('' when the project type-checks). */
function tsc(dir) {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, '-p', dir, '--pretty', 'false'], { cwd: dir }, (error, stdout, stderr) => {
      resolve(error ? `${stdout}${stderr}` || String(error) : '');
    });
  });
}

const OPTIONS = {
  durableObjects: { ROOMS: 'Room' },
  classes: { COUNTER: { className: 'Counter', module: './counter.ts' } },
  vars: { GREETING: 'hello', LIMITS: { max: 3, tags: ['a', 'b'] } },
  workerLoaders: ['LOADER'],
};

// Main-thread code and ctx.exports, checked against what the generated file declares.
const MAIN_TS = `import { Runtime } from 'durable-facets';
const rt = new Runtime({ main: './worker.ts', durableObjects: { ROOMS: 'Room' }, vars: { GREETING: 'hello' } });
const members: string[] = await rt.env.ROOMS.getByName('a').join('ann');
const greeting: 'hello' = rt.env.GREETING;
void members, greeting;
// @ts-expect-error ROOMZ is not a binding
void rt.env.ROOMZ;
// @ts-expect-error join takes a string (the stub is typed by the class)
await rt.env.ROOMS.getByName('a').join(1);
await rt.inspect('ROOMS', 'a');
await rt.dispose();
`;
const EXPORTS_TS = `import type { Counter } from './counter.ts';
declare const ctx: DurableObjectState;
// A class with a namespace binding is also that namespace.
ctx.exports.Room.getByName('x');
const counterClass: DurableObjectClass<Counter> = ctx.exports.Counter;
void counterClass;
// @ts-expect-error Counter has no namespace binding
ctx.exports.Counter.getByName('x');
// @ts-expect-error not a DurableObject class exported by main
void ctx.exports.Nope;
declare const env: Env;
const limit: 3 = env.LIMITS.max;
const loader: WorkerLoader = env.LOADER;
void limit, loader;
// @ts-expect-error not a binding
void env.ROOMZ;
`;

test('generateTypes declares Env bindings by their classes, GlobalProps and a global Env', async () => {
  const text = await generateTypes({ main: path.join(PORTABLE, 'worker.ts'), outFile: path.join(PORTABLE, 'env.d.ts'), ...OPTIONS });
  assert.match(text, /mainModule: typeof import\("\.\/worker\.ts"\);/);
  assert.match(text, /durableNamespaces: "Room";/);
  assert.match(text, /ROOMS: import\("durable-facets"\)\.DurableObjectNamespace<import\("\.\/worker\.ts"\)\.Room>;/);
  assert.match(text, /COUNTER: import\("durable-facets"\)\.DurableObjectClass<import\("\.\/counter\.ts"\)\.Counter>;/);
  assert.match(text, /LOADER: import\("durable-facets"\)\.WorkerLoader;/);
  assert.match(text, /GREETING: "hello";/);
  assert.match(text, /tags: readonly \["a", "b"\];/);
  assert.match(text, /^interface Env extends Cloudflare\.Env \{\}$/m);
});

test('generateTypes writes imports relative to the output file', async () => {
  const text = await generateTypes({ main: new URL('file:///srv/app/src/worker.ts'), outFile: '/srv/app/types/env.d.ts', durableObjects: { A: { className: 'A' } } });
  assert.match(text, /typeof import\("\.\.\/src\/worker\.ts"\)/);
});

test('a binding without a class name is refused', async () => {
  await assert.rejects(generateTypes({ main: '/srv/w.ts', durableObjects: { A: {} } }), /durableObjects\.A: a class name is required/);
});

test('a project typed by the generated file type-checks: stubs, rt.env, ctx.exports, env', async (t) => {
  const dir = project(t, { types: ['durable-facets/globals'], files: { 'main.ts': MAIN_TS, 'exports.ts': EXPORTS_TS } });
  const text = await generateTypes({ main: path.join(dir, 'worker.ts'), outFile: path.join(dir, 'worker-configuration.d.ts'), ...OPTIONS });
  fs.writeFileSync(path.join(dir, 'worker-configuration.d.ts'), text);
  assert.equal(await tsc(dir), '');
});

test('without the generated file the same project does not type-check', async (t) => {
  // Proves the checks above depend on the generated declarations (Env is unknown).
  const dir = project(t, { types: ['durable-facets/globals'], files: { 'main.ts': MAIN_TS, 'exports.ts': EXPORTS_TS } });
  assert.match(await tsc(dir), /Cannot find name 'Env'/);
});

test('Cloudflare code type-checks against durable-facets/globals', async (t) => {
  const dir = project(t, { types: ['durable-facets/globals'], withEnvDts: true });
  assert.equal(await tsc(dir), '');
});

test('the same code type-checks against @cloudflare/workers-types', { skip: workersTypesDir() === null && '@cloudflare/workers-types is not installed' }, async (t) => {
  const dir = project(t, { types: ['@cloudflare/workers-types'], withEnvDts: true });
  assert.equal(await tsc(dir), '');
});

test('with @cloudflare/workers-types, Runtime accepts an Env of its namespaces (inspect is not never)', { skip: workersTypesDir() === null && '@cloudflare/workers-types is not installed' }, async (t) => {
  const dir = project(t, {
    types: ['@cloudflare/workers-types'],
    withEnvDts: true,
    files: {
      'main.ts': `import { Runtime } from 'durable-facets';
const rt = new Runtime<Env>({ main: './worker.ts', durableObjects: { ROOMS: 'Room' }, vars: { GREETING: 'hello' } });
await rt.inspect('ROOMS', 'lobby');
await rt.listIds('ROOMS');
const members: string[] = await rt.env.ROOMS.getByName('lobby').join('ann');
void members;
// @ts-expect-error a var is not a namespace
await rt.inspect('GREETING', 'lobby');
`,
    },
  });
  assert.equal(await tsc(dir), '');
});

test('rt.entrypoint is typed by the WorkerEntrypoint main exports as default (from GlobalProps)', async (t) => {
  const dir = project(t, {
    types: ['durable-facets/globals'],
    portable: false,
    files: {
      'front.ts': `import { DurableObject, WorkerEntrypoint } from 'cloudflare:workers';
export class Room extends DurableObject { hi(): string { return 'hi'; } }
export default class Front extends WorkerEntrypoint { add(a: number, b: number): number { return a + b; } }
`,
      'main.ts': `import { Runtime } from 'durable-facets';
const rt = new Runtime({ main: './front.ts', durableObjects: { ROOMS: 'Room' } });
const sum: number = await rt.entrypoint.add(1, 2);
const hi: string = await rt.env.ROOMS.getByName('x').hi();
void sum, hi;
// @ts-expect-error not a method of Front
await rt.entrypoint.sub(1, 2);
`,
    },
  });
  fs.writeFileSync(path.join(dir, 'env.d.ts'), await generateTypes({ main: path.join(dir, 'front.ts'), outFile: path.join(dir, 'env.d.ts'), durableObjects: { ROOMS: 'Room' } }));
  assert.equal(await tsc(dir), '');
});
