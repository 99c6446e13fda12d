// What spinning costs and buys (lib/port.js): calls to one object at a fixed rate, as a
// chatty client would make them, beside a plain worker_threads echo paced the same way:
//
//   node bench/paced.mjs [gap µs …]        (default: 100 150 300 1000)
//
// For each gap (time from one call's start to the next), the mean round trip and the CPU the
// process's other threads spent (Linux /proc; the main thread busy-waits to keep the pace),
// in % of one core. Object threads spin for their next delivery
// (50–200 µs, adapting to the gaps they see) before parking: at gaps under ~200 µs a call
// finds the thread awake (no wake-up, 20–100 µs on this VM) and the thread stays busy.
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Runtime } from '../index.js';
import { ECHO_CODE, fmt } from './common.mjs';

const MS = 1500;
const gaps = process.argv.slice(2).map(Number);
if (gaps.length === 0) gaps.push(100, 150, 300, 1000);

/** CPU time (µs) of this process's threads other than the main one (Linux /proc). */
function otherThreadsCpu() {
  const tick = 1e6 / 100; // USER_HZ
  let sum = 0;
  for (const tid of fs.readdirSync('/proc/self/task')) {
    if (Number(tid) === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += (Number(fields[11]) + Number(fields[12])) * tick; // utime, stime
    } catch {} // a thread that ended meanwhile
  }
  return sum;
}

/** Calls `call()` (awaited) every `gapUs` for MS; mean latency (µs) and others' CPU (% core). */
async function paced(call, gapUs) {
  for (let i = 0; i < 500; i++) await call(i);
  const c0 = otherThreadsCpu();
  const t0 = performance.now();
  let n = 0;
  let latency = 0;
  while (performance.now() - t0 < MS) {
    const s = performance.now();
    await call(n++);
    latency += performance.now() - s;
    while (performance.now() - s < gapUs / 1000); // keeps the pace
  }
  const wall = (performance.now() - t0) * 1000;
  return { latency: (latency * 1000) / n, cpu: ((otherThreadsCpu() - c0) / wall) * 100 };
}

const rt = new Runtime({ main: new URL('./fixtures/refs-worker.mjs', import.meta.url), durableObjects: { BENCH: 'Bench' }, warmThreads: 0 });
const stub = rt.env.BENCH.getByName('paced');
const worker = new Worker(ECHO_CODE, { eval: true });
let settle = null;
worker.on('message', (m) => settle(m));
const echo = (x) =>
  new Promise((resolve) => {
    settle = resolve;
    worker.postMessage(x);
  });

console.log("calls to one object at a fixed pace: mean round trip, CPU of the other threads (% of a core)");
console.log(`${'gap'.padStart(8)}  ${'project'.padEnd(24)}  plain Worker (postMessage echo)`);
for (const gap of gaps) {
  const p = await paced((i) => stub.ping(i), gap);
  const b = await paced(echo, gap);
  console.log(
    `${`${gap} µs`.padStart(8)}  ${`${fmt(p.latency)} µs, ${fmt(p.cpu, 0)}%`.padEnd(24)}  ${fmt(b.latency)} µs, ${fmt(b.cpu, 0)}%`,
  );
}
await worker.terminate();
await rt.dispose();
