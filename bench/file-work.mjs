// File work beside other tenants' calls (issue 9): the worst delay of an unrelated
// object's calls while one tenant clones / deletes / inspects / deleteAll()s a 100 MB facet,
// beside a quiet run. Tenant b calls tenant c back to back in its thread (worker->worker),
// and the main thread calls b back to back, during each operation of tenant a.
//
//   node bench/file-work.mjs
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import { Runtime } from '../index.js';
const MB = 100, LOOP_MS = 1500;
const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'df-measure-'));
const rt = new Runtime({ main: new URL('./fixtures/file-work-tenant.mjs', import.meta.url), durableObjects: { TENANT: { className: 'Tenant', uniqueKey: 't' } }, warmThreads: 0, storage });
const a = rt.env.TENANT.getByName('a'), b = rt.env.TENANT.getByName('b');
await a.at(['big'], 'fill', MB); await b.ping(); await rt.env.TENANT.getByName('c').ping();
await b.loop('c', 200);
const stats = (xs) => { const s = Float64Array.from(xs).sort(); return `n=${s.length} p99=${s[Math.floor(0.99 * s.length)].toFixed(2)} max=${s[s.length - 1].toFixed(2)} ms`; };
async function mainLoop(ms) {
  const out = []; const end = performance.now() + ms;
  while (performance.now() < end) { const t0 = performance.now(); await b.ping(); out.push(performance.now() - t0); }
  return out;
}
async function during(label, op, { main = true } = {}) {
  const loop = b.loop('c', LOOP_MS);
  const ml = main ? mainLoop(LOOP_MS) : null;
  await new Promise((r) => setTimeout(r, 100));
  const t0 = performance.now(); await op(); const took = performance.now() - t0;
  console.log(`${label.padEnd(10)} op ${took.toFixed(0)} ms; worker b->c: ${stats(await loop)}${ml ? `; main->b: ${stats(await ml)}` : ''}`);
}
await during('quiet', async () => {});
for (let i = 0; i < 2; i++) {
  await during('clone', () => a.clone('big', `copy${i}`));
  await during('inspect', () => rt.inspect('TENANT', 'a'), { main: false });
  await during('delete', () => a.remove(`copy${i}`));
}
await a.at(['big'], 'ping');
await during('deleteAll', () => a.at([], 'wipe'));
await rt.dispose(); fs.rmSync(storage, { recursive: true, force: true });
