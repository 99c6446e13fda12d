// Smoke test of the native binary on this platform (release workflow, one per target, in a
// node:XX-slim / node:XX-alpine container; also handy on a new machine): an object with a
// database on disk, a facet and an alarm, through the package's own entry point.
//
//   node scripts/binding-smoke.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runtime } from '../index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-binding-smoke-'));
const main = path.join(dir, 'objects.mjs');
fs.writeFileSync(
  main,
  `import { DurableObject } from 'cloudflare:workers';
export class Counter extends DurableObject {
  add(n) {
    this.ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS t (v INTEGER)');
    this.ctx.storage.sql.exec('INSERT INTO t VALUES (?)', n);
    return this.ctx.storage.sql.exec('SELECT sum(v) AS s FROM t').one().s;
  }
  child(n) {
    return this.ctx.facets.get('child', () => ({ class: this.ctx.exports.Counter })).add(n);
  }
  async arm() {
    await this.ctx.storage.setAlarm(Date.now() + 10);
  }
  alarm() {
    this.ctx.storage.kv.put('alarm', 'ran');
  }
  alarmRan() {
    return this.ctx.storage.kv.get('alarm') ?? null;
  }
}
`,
);

const rt = new Runtime({ main, durableObjects: { COUNTER: 'Counter' }, storage: path.join(dir, 'data'), warmThreads: 0 });
try {
  const c = rt.env.COUNTER.getByName('smoke');
  const results = [await c.add(1), await c.add(2), await c.child(5)];
  await c.arm();
  let alarm = null;
  for (let i = 0; i < 500 && alarm === null; i++) {
    alarm = await c.alarmRan();
    if (alarm === null) await new Promise((r) => setTimeout(r, 10));
  }
  const tree = await rt.inspect('COUNTER', 'smoke');
  const got = `${results.join(' ')} alarm=${alarm} facets=${tree.facets.map((f) => f.name || '(root)').join(',')}`;
  const want = '1 3 5 alarm=ran facets=(root),child';
  if (got !== want) throw new Error(`binding smoke test: got "${got}", want "${want}"`);
  console.log(`binding smoke test passed on ${process.platform}-${process.arch} (node ${process.version}): ${got}`);
} finally {
  await rt.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
}
