// SPEC §7 figure: `new Runtime(...)` + its first call ≤ 2× a plain `new Worker` + its first
// message, measured in the same run (medians). Also what one Runtime per test costs in
// `dispose()`, and the first Runtime of a process (which also loads the addon and the
// runtime's modules), measured in fresh child processes against a fresh plain Worker.
// Two cases in process: a Runtime created after another's dispose() (one per test), whose
// first thread is the spare that dispose() left (lib/runtime.js startSpare), and one whose
// first thread starts from nothing (no spare for its heap limit).
//
//   node bench/runtime-start.mjs [rounds]
import { Worker } from 'node:worker_threads';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, fmt, spread, mark, interleave, once } from './common.mjs';

const rounds = Number(process.argv[2] ?? 15);
const ECHO = new URL('./fixtures/plain-echo.mjs', import.meta.url);
const MAIN = new URL('./fixtures/start-worker.mjs', import.meta.url);
const INDEX = new URL('../index.js', import.meta.url).href;

if (process.argv[2] === '--child') {
  // One measurement in a fresh process: arm "worker" or "runtime" (with its options).
  const arm = process.argv[3];
  const t0 = performance.now();
  if (arm === 'worker') {
    const w = new Worker(ECHO);
    w.postMessage(1);
    await once(w);
    const t = performance.now() - t0;
    await w.terminate();
    console.log(JSON.stringify({ t }));
  } else {
    const { Runtime } = await import(INDEX);
    const rt = new Runtime({ main: MAIN, durableObjects: { C: 'Counter' }, ...JSON.parse(process.argv[4]) });
    await rt.env.C.getByName('a').ping(1);
    const t = performance.now() - t0;
    const d0 = performance.now();
    await rt.dispose();
    console.log(JSON.stringify({ t, dispose: performance.now() - d0 }));
  }
  process.exit(0);
}

const { Runtime } = await import(INDEX);

async function plainWorker() {
  const t0 = performance.now();
  const w = new Worker(ECHO);
  w.postMessage(1);
  await once(w);
  const t = performance.now() - t0;
  await w.terminate();
  return { t };
}

function runtimeArm(options) {
  return async () => {
    const t0 = performance.now();
    const rt = new Runtime({ main: MAIN, durableObjects: { C: 'Counter' }, ...options });
    await rt.env.C.getByName('a').ping(1);
    const t = performance.now() - t0;
    const d0 = performance.now();
    await rt.dispose();
    return { t, dispose: performance.now() - d0 };
  };
}

// One of each first, unmeasured: the addon and both module graphs are loaded.
await plainWorker();
await runtimeArm({})();

function noSpare(options) {
  return async () => {
    await runtimeArm({})();
    await settle();
    return runtimeArm(options)();
  };
}

// Each measurement starts on a quiet process: a spare thread started by the previous
// runtime's dispose() (lib/runtime.js startSpare) has finished booting by then.
const settle = () => new Promise((r) => setTimeout(r, 1000));
const arms = [
  ['plain new Worker + first message', async () => (await settle(), plainWorker())],
  [
    // As in a test suite with one Runtime per test: the previous one's dispose() left a spare.
    'new Runtime + first call (after a dispose)',
    async () => {
      await runtimeArm({})();
      await settle();
      return runtimeArm({})();
    },
  ],
  [
    // A test suite's back-to-back tests: no pause between one dispose() and the next Runtime
    // (each test here does one call; the third runtime is measured).
    'new Runtime + first call (back to back)',
    async () => {
      await settle();
      await runtimeArm({})();
      await runtimeArm({})();
      return runtimeArm({})();
    },
  ],
  // No spare for this heap limit (the spare left is for the default one): the first thread
  // starts from nothing, as the first Runtime of a process (without importing the package).
  ['new Runtime + first call (no spare thread)', noSpare({ memoryLimitMb: 96 })],
  ['  the same, warmThreads: 0', noSpare({ memoryLimitMb: 96, warmThreads: 0 })],
];
const results = await interleave(rounds, ...arms.map(([, f]) => f));

console.log(`durable-facets runtime start-up, ${rounds} rounds each, interleaved (ms; medians)\n`);
const base = median(results[0].map((r) => r.t));
for (const [i, [label]] of arms.entries()) {
  const ts = results[i].map((r) => r.t);
  const m = median(ts);
  const ratio = i === 0 ? '' : `  ${fmt(m / base, 2)}× ${mark(m / base <= 2)} (≤ 2×)`;
  console.log(`${label.padEnd(44)} ${fmt(m).padStart(7)}${ratio}`);
  console.log(`${''.padEnd(44)} ${spread(ts)}`);
  if (results[i][0].dispose !== undefined) {
    const ds = results[i].map((r) => r.dispose);
    console.log(`${'  rt.dispose()'.padEnd(44)} ${fmt(median(ds)).padStart(7)}  ${spread(ds)}`);
  }
}

// The first Runtime of a process, in fresh processes (a test file run by node:test is one).
const coldRounds = Math.max(3, Math.ceil(rounds / 3));
const child = (...args) =>
  JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', ...args], { encoding: 'utf8' }));
const cold = await interleave(
  coldRounds,
  async () => (await settle(), child('worker')),
  async () => (await settle(), child('runtime', '{}')),
);
const coldBase = median(cold[0].map((r) => r.t));
const coldRt = median(cold[1].map((r) => r.t));
console.log(`\nfirst in a fresh process (${coldRounds} processes each; includes importing durable-facets)`);
console.log(`${'plain new Worker + first message'.padEnd(44)} ${fmt(coldBase).padStart(7)}  ${spread(cold[0].map((r) => r.t))}`);
console.log(
  `${'import + new Runtime + first call'.padEnd(44)} ${fmt(coldRt).padStart(7)}  ${fmt(coldRt / coldBase, 2)}×  ${spread(cold[1].map((r) => r.t))}`,
);
console.log(`${'  rt.dispose()'.padEnd(44)} ${fmt(median(cold[1].map((r) => r.dispose))).padStart(7)}`);
