// RPC by reference (SPEC §2.2), beside plain calls in the same run:
//
//   node bench/refs.mjs
//
// * callback round trip: the main thread calls an object, which calls back a function stub
//   the main thread passed in earlier (`callHeld`) — against one plain main→object call
//   (goal ≤ 2×);
// * the same with the function passed in the call itself (`callBack(fn, x)`, which also
//   exports and releases a reference per call);
// * a pipelined pair `stub.getCounter().increment()` — against one plain call (goal ≤ 1.3×);
//   and, for scale, two plain calls in flight at once (two messages each way: what a
//   pipelined pair cost before it travelled as one batch), and the two calls of the pair
//   awaited one after the other.
// Rounds alternate which arm goes first and medians are reported (the machine is noisy).
import { Runtime } from '../index.js';
import { median, fmt, spread, mark, interleave } from './common.mjs';

const ROUNDS = 7;
const CALLS = 3_000;

const rt = new Runtime({
  main: new URL('./fixtures/refs-worker.mjs', import.meta.url),
  durableObjects: { BENCH: 'Bench' },
  warmThreads: 0,
});
const stub = rt.env.BENCH.getByName('bench');

/** µs per iteration of `body` over CALLS sequential iterations. */
async function perCall(body) {
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) await body(i);
  return ((performance.now() - t0) * 1000) / CALLS;
}

const fn = (x) => x + 1;
await stub.hold(fn);
for (let i = 0; i < 2000; i++) {
  await stub.ping(i);
  await stub.callHeld(i);
  await stub.callBack(fn, i);
  await stub.getCounter().increment();
}

const [plain, held, passed, pipelined, concurrent, sequential] = await interleave(
  ROUNDS,
  () => perCall((i) => stub.ping(i)),
  () => perCall((i) => stub.callHeld(i)),
  () => perCall((i) => stub.callBack(fn, i)),
  () => perCall(() => stub.getCounter().increment()),
  () => perCall((i) => Promise.all([stub.ping(i), stub.ping(i)])),
  () =>
    perCall(async () => {
      const c = await stub.getCounter();
      await c.increment();
    }),
);

// The ratio is the median of per-round ratios: each round runs every arm within about a
// second, while this VM flips between a quiet mode (plain call ~17 µs) and a busy one
// (~40 µs) every few minutes, so an arm's round is compared with the plain call of the same
// round. The ratio of the medians is printed beside it.
const base = median(plain);
const row = (label, xs, goal) => {
  const ratio = median(xs.map((x, r) => x / plain[r]));
  const verdict = goal === undefined ? '' : `  goal ≤ ${goal}×  ${mark(ratio <= goal)}`;
  console.log(
    `${label.padEnd(46)} ${fmt(median(xs))} µs  ${spread(xs)}  ${fmt(ratio, 2)}× (of medians ${fmt(median(xs) / base, 2)}×)${verdict}`,
  );
};
console.log(`RPC by reference, ${ROUNDS} rounds × ${CALLS} sequential calls, medians (µs per iteration); ratio: median of per-round ratios`);
console.log(`${'plain main→object call (baseline)'.padEnd(46)} ${fmt(base)} µs  ${spread(plain)}`);
row('callback through a held function stub', held, 2);
row('callback, function passed in the call', passed);
row('pipelined pair getCounter().increment()', pipelined, 1.3);
row('two plain calls in flight at once', concurrent);
row('the same two calls awaited in turn', sequential);
await rt.dispose();
