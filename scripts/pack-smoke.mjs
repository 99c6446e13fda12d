// Packaging smoke test: `npm pack`, install the tarball into an empty project, and run a
// Durable Object from it there (no Rust needed: the tarball carries the built addon).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'df-pack-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

try {
  const [{ filename, files }] = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', work], root));
  const names = files.map((f) => f.path);
  for (const needed of ['index.js', 'index.d.ts', 'bin/durable-facets.js', 'lib/native/binding.cjs']) {
    if (!names.includes(needed)) throw new Error(`the tarball lacks ${needed}`);
  }
  if (!names.some((n) => n.endsWith('.node'))) throw new Error('the tarball lacks the native addon');
  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'smoke', version: '1.0.0', type: 'module', private: true }));
  run(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', path.join(work, filename)], app);
  fs.writeFileSync(
    path.join(app, 'objects.js'),
    `import { DurableObject } from 'cloudflare:workers';
export class Counter extends DurableObject {
  add(n) {
    const v = (this.ctx.storage.kv.get('v') ?? 0) + n;
    this.ctx.storage.kv.put('v', v);
    return v;
  }
  child() {
    return this.ctx.facets.get('c', () => ({ class: this.ctx.exports.Counter })).add(5);
  }
}
`,
  );
  fs.writeFileSync(
    path.join(app, 'main.js'),
    `import { Runtime } from 'durable-facets';
const rt = new Runtime({ main: new URL('./objects.js', import.meta.url), durableObjects: { COUNTER: 'Counter' }, storage: new URL('./data/', import.meta.url) });
const c = rt.env.COUNTER.getByName('smoke');
console.log(await c.add(1), await c.add(2), await c.child());
await rt.dispose();
`,
  );
  const out = run(process.execPath, ['main.js'], app).trim();
  if (out !== '1 3 5') throw new Error(`unexpected output: ${out}`);
  const cli = run(process.execPath, [path.join(app, 'node_modules/.bin/durable-facets'), 'inspect', path.join(app, 'data')], app);
  if (!/Counter\/ \(1 object\)/.test(cli)) throw new Error(`unexpected CLI output: ${cli}`);
  console.log(`pack smoke test passed: ${filename} (${files.length} files) installed and ran in an empty project`);
} catch (e) {
  console.error(`pack smoke test FAILED: ${e.stderr ?? ''}${e.message}`);
  process.exitCode = 1;
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
