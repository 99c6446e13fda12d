// TypeScript cold start (issue 11 figure): a `.ts` main's `new Runtime` + first call beside the
// same code as `.js`, in one run. Target: ≤ 1.2× the `.js` time.
//
//   node bench/typescript.mjs [rounds]
//
// The `.js` baseline is bench/fixtures/typescript/*.ts with the types stripped (same code,
// same layout), in a temporary directory. Arms (rounds interleaved, rotating which goes
// first; medians reported, the machine is noisy):
// * js:            main.js
// * ts (cached):   main.ts, stripped sources already in the disk cache (every boot after the
//                  first of a given source, in any process)
// * ts (no cache): main.ts with DURABLE_FACETS_TS_CACHE=off: every thread loads the stripper
//                  and strips (what the first boot after an edit costs)
// Each arm: `new Runtime({ main, … })` (default warm pool) + `getByName(…).ping()`, then dispose.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Runtime } from '../index.js';
import { median, quantile, fmt, spread, interleave, mark } from './common.mjs';

const ROUNDS = Number(process.argv[2] ?? 15);
const SRC = new URL('./fixtures/typescript/', import.meta.url);
const require = createRequire(import.meta.url);
const amaro = require('amaro');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-facets-bench-ts-'));
const cache = path.join(dir, 'cache');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
for (const name of ['worker.ts', 'ledger.ts']) {
  const ts = fs.readFileSync(new URL(name, SRC), 'utf8');
  fs.writeFileSync(path.join(dir, name), ts);
  const js = amaro.transformSync(ts, { mode: 'strip-only' }).code.replaceAll("'./ledger.ts'", "'./ledger.js'  ");
  fs.writeFileSync(path.join(dir, name.replace(/\.ts$/, '.js')), js);
}

async function coldStart(main, cacheSetting) {
  process.env.DURABLE_FACETS_TS_CACHE = cacheSetting;
  const t0 = performance.now();
  const rt = new Runtime({ main, durableObjects: { ACCOUNTS: 'Account' }, vars: { CURRENCY: 'EUR' } });
  const pong = await rt.env.ACCOUNTS.getByName('a').ping();
  const ms = performance.now() - t0;
  if (pong !== 'pong') throw new Error(`unexpected answer ${pong}`);
  await rt.dispose();
  return ms;
}

const JS = path.join(dir, 'worker.js');
const TS = path.join(dir, 'worker.ts');

// Warm-up: Node's own caches (the addon, the package's modules) and one strip into the cache.
await coldStart(JS, cache);
await coldStart(TS, cache);

const [js, tsCached, tsNoCache] = await interleave(
  ROUNDS,
  () => coldStart(JS, cache),
  () => coldStart(TS, cache),
  () => coldStart(TS, 'off'),
);

// For scale: one strip of the main module with amaro already loaded, and one cache read.
const source = fs.readFileSync(TS, 'utf8');
let t0 = performance.now();
for (let i = 0; i < 20; i++) amaro.transformSync(source, { mode: 'strip-only' });
const stripMs = (performance.now() - t0) / 20;
const { cacheKey } = await import('../lib/worker/typescript.js');
process.env.DURABLE_FACETS_TS_CACHE = cache;
t0 = performance.now();
for (let i = 0; i < 20; i++) fs.readFileSync(path.join(cache, `${cacheKey(source)}.js`), 'utf8');
const readMs = (performance.now() - t0) / 20;

const ratio = median(tsCached) / median(js);
// The lower quartile: less sensitive to other load on the machine than the median.
const q1 = (xs) => quantile(xs, 0.25);
console.log(`TypeScript cold start: new Runtime + first call, ${ROUNDS} rounds (medians, ms; spread in brackets)`);
console.log(`  .js main                   ${fmt(median(js))}  ${spread(js)}`);
console.log(`  .ts main (strip cached)    ${fmt(median(tsCached))}  ${spread(tsCached)}`);
console.log(`  .ts main (no strip cache)  ${fmt(median(tsNoCache))}  ${spread(tsNoCache)}`);
console.log(`  ratio .ts/.js (cached)     ${fmt(ratio, 2)}×  (target ≤ 1.2×) ${mark(ratio <= 1.2)}`);
console.log(`  ratio .ts/.js (no cache)   ${fmt(median(tsNoCache) / median(js), 2)}×`);
console.log(
  `  lower quartiles: .js ${fmt(q1(js))}, .ts cached ${fmt(q1(tsCached))} (${fmt(q1(tsCached) / q1(js), 2)}×), .ts no cache ${fmt(q1(tsNoCache))} (${fmt(q1(tsNoCache) / q1(js), 2)}×)`,
);
console.log(`  one strip of worker.ts (amaro loaded) ${fmt(stripMs, 2)} ms; one cache read ${fmt(readMs, 3)} ms`);
