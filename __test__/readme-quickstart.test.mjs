// The README's Quick start and Dev loop, run as a consumer would: its `src/worker.mjs` and
// `server.mjs` blocks are written to an empty project whose node_modules/durable-facets is
// this package, then served and requested over HTTP.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from './helpers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Walkthrough'));

/** The ```js block of the Quick start whose first line is `// <file>`. */
function block(file) {
  const m = new RegExp('```js\\n// ' + file.replace(/[./]/g, '\\$&') + '\\n([\\s\\S]*?)```').exec(quickStart);
  assert.ok(m, `the Quick start has a block for ${file}`);
  return m[1];
}

const dirs = [];
const children = new Set();
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all([...children].map((c) => new Promise((r) => c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', r))));
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** An empty consumer project with the Quick start's files. */
function project() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-quickstart-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'counter', version: '1.0.0', type: 'module' }));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'durable-facets'), 'dir');
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'worker.mjs'), block('src/worker.mjs'));
  fs.writeFileSync(path.join(dir, 'server.mjs'), block('server.mjs'));
  return dir;
}

/** Runs `node ...args` in `dir` with PORT=0; collects stdout; `urls()` lists the printed URLs. */
function serve(dir, args) {
  const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  children.add(child);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    children.delete(child);
    resolve({ code, signal });
  }));
  const urls = () => [...stdout.matchAll(/listening on (http:\/\/\S+)/g)].map((m) => m[1]);
  return { child, exited, urls, output: () => ({ stdout, stderr }) };
}

const get = async (base, pathname) => (await fetch(new URL(pathname, base))).text();

test('Quick start: the worker and server of the README count hits per name over HTTP', async () => {
  const dir = project();
  const s = serve(dir, ['server.mjs']);
  const [url] = await until(() => s.urls().length > 0 && s.urls(), 20_000);
  assert.equal(await get(url, '/alice'), 'alice: 1 hits\n');
  assert.equal(await get(url, '/alice'), 'alice: 2 hits\n');
  assert.equal(await get(url, '/bob'), 'bob: 1 hits\n');
  s.child.kill('SIGINT');
  assert.deepEqual(await s.exited, { code: 0, signal: null }, s.output().stderr);
  const files = fs.readdirSync(path.join(dir, 'data', 'Counter'));
  assert.equal(files.filter((f) => /^[0-9a-f]{64}\.sqlite$/.test(f)).length, 2);
});

test('Dev loop: node --watch-path=src restarts the server when object code changes', async () => {
  const dir = project();
  const s = serve(dir, ['--watch-path=src', '--watch-path=server.mjs', 'server.mjs']);
  const [first] = await until(() => s.urls().length > 0 && s.urls(), 20_000);
  assert.equal(await get(first, '/alice'), 'alice: 1 hits\n');
  const worker = path.join(dir, 'src', 'worker.mjs');
  fs.writeFileSync(worker, fs.readFileSync(worker, 'utf8').replace('hits\\n', 'visits\\n'));
  const second = await until(() => s.urls().length > 1 && s.urls()[1], 20_000);
  // The data written before the restart is still there.
  assert.equal(await get(second, '/alice'), 'alice: 2 visits\n');
  // The watcher passes SIGTERM on to the server, whose handler disposes of the runtime.
  s.child.kill('SIGTERM');
  await s.exited;
});
