// RPC benchmark: durable-facets calls beside plain worker_threads postMessage, in one run.
//
//   node bench/rpc.mjs
//
// Rounds of the project and of its baseline are interleaved (alternating which goes first)
// and medians are reported, because the machine is noisy. The RSS figures come from fresh
// child processes of this script (`--rss=project|baseline`), so that memory left behind by
// earlier threads (malloc arenas, code caches) does not skew them.
import { Worker } from 'node:worker_threads';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Runtime } from '../index.js';
import { median, fmt, fmtInt, spread, once, ECHO_CODE, PINGER_CODE } from './common.mjs';

const FIXTURE = new URL('./fixtures/rpc-worker.mjs', import.meta.url);

const ROUNDS = 5;
const OO_ROUNDS = 7; // object→object is bimodal on 2 cores (see the note it prints)
const SEQ_CALLS = 5_000; // per round, sequential
const FLIGHT = 100; // calls kept outstanding
const FLIGHT_CALLS = 10_000; // per round (ROUNDS × 10,000 = 50,000 calls in all)
const WARM_STARTS = 15;
const WARM_GAP_MS = 150;
const COLD_STARTS = 8;
const BASE_STARTS = 8;
const RSS_OBJECTS = 20;
const RSS_REPS = 3;

const GOAL_SEQ_US = 25;
const BAR_SEQ_US = 45;
const GOAL_FLIGHT = 100_000;
const BAR_FLIGHT = 67_000;

// ---------------------------------------------------------------------------------------
// helpers

/** A promise-returning echo call over a plain Worker (replies come back in order). */
function echoClient(worker) {
  const waiting = [];
  worker.on('message', (m) => waiting.shift()(m));
  return (x) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      worker.postMessage(x);
    });
}

/** µs per call over `n` sequential calls. */
async function seqRound(call, n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await call(i);
  return ((performance.now() - t0) * 1000) / n;
}

/** Median µs of `n` individually timed sequential calls. */
async function seqPerCall(call, n) {
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call(i);
    t[i] = (performance.now() - t0) * 1000;
  }
  return median(t);
}

/** Calls/s with `width` calls always outstanding (sliding window), `total` calls. */
async function flightRound(call, width, total) {
  let sent = 0;
  const lane = async () => {
    while (sent < total) await call(sent++);
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: width }, lane));
  return total / ((performance.now() - t0) / 1000);
}

/** Runs project and baseline rounds alternately (alternating which goes first). */
async function interleave(rounds, project, baseline) {
  const p = [];
  const b = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      p.push(await project());
      b.push(await baseline());
    } else {
      b.push(await baseline());
      p.push(await project());
    }
  }
  return { p, b };
}

// ---------------------------------------------------------------------------------------
// RSS child processes

const MB = 1024 * 1024;

async function settleRss() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await sleep(50);
  }
  return process.memoryUsage().rss;
}

async function rssChild(kind) {
  const out = { kind, starts: [] };
  if (kind === 'project') {
    const rt = new Runtime({
      main: FIXTURE,
      durableObjects: { ECHO: 'Echo' },
      warmThreads: 0,
      idleTimeoutMs: 60_000,
    });
    const before = await settleRss();
    for (let i = 0; i < RSS_OBJECTS; i++) {
      const t0 = performance.now();
      await rt.env.ECHO.getByName(`rss-${i}`).ping(i);
      out.starts.push(performance.now() - t0);
    }
    await sleep(500);
    const after = await settleRss();
    out.perObjectMB = (after - before) / RSS_OBJECTS / MB;
    await rt.dispose();
  } else {
    const workers = [];
    const before = await settleRss();
    for (let i = 0; i < RSS_OBJECTS; i++) {
      const t0 = performance.now();
      const w = new Worker(ECHO_CODE, { eval: true });
      workers.push(w);
      w.postMessage(i);
      await once(w);
      out.starts.push(performance.now() - t0);
    }
    await sleep(500);
    const after = await settleRss();
    out.perObjectMB = (after - before) / RSS_OBJECTS / MB;
    await Promise.all(workers.map((w) => w.terminate()));
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

function runRssChild(kind) {
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', fileURLToPath(import.meta.url), `--rss=${kind}`],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (r.status !== 0) {
    throw new Error(`RSS child (${kind}) failed: status ${r.status} ${r.signal ?? ''}\n${r.stderr}`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// ---------------------------------------------------------------------------------------
// main

async function main() {
  const tStart = performance.now();
  const rows = [];
  const notes = [];

  const baseWorker = new Worker(ECHO_CODE, { eval: true });
  const pinger = new Worker(PINGER_CODE, { eval: true });
  const echoPeer = new Worker(ECHO_CODE, { eval: true });
  const baseline = [baseWorker, pinger, echoPeer];
  const runtimes = [];
  try {
    const rt = new Runtime({
      main: FIXTURE,
      durableObjects: { ECHO: 'Echo' },
      warmThreads: 2,
      idleTimeoutMs: 60_000,
    });
    runtimes.push(rt);
    const stub = rt.env.ECHO.getByName('a');
    const objCall = (x) => stub.ping(x);
    const baseCall = echoClient(baseWorker);

    // worker↔worker wiring: the pinger owns port1, the echo peer port2.
    const { port1, port2 } = new MessageChannel();
    echoPeer.postMessage({ port: port2 }, [port2]);
    pinger.postMessage({ port: port1 }, [port1]);
    await once(pinger);
    const pingerRound = async (n) => {
      pinger.postMessage({ n });
      return once(pinger);
    };
    const a = rt.env.ECHO.getByName('oo-a');

    // warm-up (starts 'a', 'oo-a', 'oo-b'; JITs both paths)
    for (let i = 0; i < 2; i++) {
      await seqRound(objCall, SEQ_CALLS);
      await seqRound(baseCall, SEQ_CALLS);
      await flightRound(objCall, FLIGHT, 5_000);
      await flightRound(baseCall, FLIGHT, 5_000);
      await a.pingOther('oo-b', SEQ_CALLS);
      await pingerRound(SEQ_CALLS);
    }

    // 1. sequential main→object
    const seq = await interleave(
      ROUNDS,
      () => seqRound(objCall, SEQ_CALLS),
      () => seqRound(baseCall, SEQ_CALLS),
    );
    const perCallP = await seqPerCall(objCall, SEQ_CALLS);
    const perCallB = await seqPerCall(baseCall, SEQ_CALLS);

    // 2. sequential object→object, timed inside the calling thread
    const oo = await interleave(
      OO_ROUNDS,
      () => a.pingOther('oo-b', SEQ_CALLS),
      () => pingerRound(SEQ_CALLS),
    );

    // 3. 100 in flight main→object
    const fl = await interleave(
      ROUNDS,
      () => flightRound(objCall, FLIGHT, FLIGHT_CALLS),
      () => flightRound(baseCall, FLIGHT, FLIGHT_CALLS),
    );

    // 6a. start-up with the warm pool, spaced out so the pool refills
    const warm = [];
    for (let i = 0; i < WARM_STARTS; i++) {
      await sleep(WARM_GAP_MS);
      const s = rt.env.ECHO.getByName(`warm-${i}`);
      const t0 = performance.now();
      await s.ping(i);
      warm.push(performance.now() - t0);
    }

    await rt.dispose();
    await Promise.all(baseline.map((w) => w.terminate()));
    baseline.length = 0;

    // 6b. start-up without a pool
    const rt0 = new Runtime({
      main: FIXTURE,
      durableObjects: { ECHO: 'Echo' },
      warmThreads: 0,
      idleTimeoutMs: 60_000,
    });
    runtimes.push(rt0);
    const cold = [];
    for (let i = 0; i < COLD_STARTS; i++) {
      await sleep(50);
      const s = rt0.env.ECHO.getByName(`cold-${i}`);
      const t0 = performance.now();
      await s.ping(i);
      cold.push(performance.now() - t0);
    }
    await rt0.dispose();

    // baseline start-up: new Worker(eval) until its first echo comes back
    const baseStart = [];
    for (let i = 0; i < BASE_STARTS; i++) {
      await sleep(50);
      const t0 = performance.now();
      const w = new Worker(ECHO_CODE, { eval: true });
      w.postMessage(i);
      await once(w);
      baseStart.push(performance.now() - t0);
      await w.terminate();
    }

    // 5. RSS per idle live thread, in fresh child processes (alternating)
    const rssP = [];
    const rssB = [];
    for (let i = 0; i < RSS_REPS; i++) {
      rssP.push(runRssChild('project').perObjectMB);
      rssB.push(runRssChild('baseline').perObjectMB);
    }

    // -------------------------------------------------------------------------------------
    // report
    const seqP = median(seq.p);
    const seqB = median(seq.b);
    const ooP = median(oo.p);
    const ooB = median(oo.b);
    const flP = median(fl.p);
    const flB = median(fl.b);
    const mark = (ok) => (ok ? 'PASS' : 'MISS');
    const seqGoal = (us) =>
      `goal ≤ ${GOAL_SEQ_US} µs: ${mark(us <= GOAL_SEQ_US)}; hard bar < ${BAR_SEQ_US} µs: ${mark(us < BAR_SEQ_US)}`;

    rows.push([
      'main→object sequential (round avg)',
      `${fmt(seqP)} µs`,
      `postMessage ${fmt(seqB)} µs`,
      fmt(seqP / seqB, 2),
      seqGoal(seqP),
    ]);
    rows.push([
      'main→object sequential (per-call median)',
      `${fmt(perCallP)} µs`,
      `postMessage ${fmt(perCallB)} µs`,
      fmt(perCallP / perCallB, 2),
      seqGoal(perCallP),
    ]);
    rows.push([
      'object→object sequential',
      `${fmt(ooP)} µs`,
      `worker↔worker MessageChannel ${fmt(ooB)} µs`,
      fmt(ooP / ooB, 2),
      `(workerd in-thread facet call ≈ ${BAR_SEQ_US} µs) ${seqGoal(ooP)}`,
    ]);
    rows.push([
      `${FLIGHT} in flight main→object`,
      `${fmtInt(flP)} calls/s`,
      `postMessage ${fmtInt(flB)} msgs/s`,
      fmt(flP / flB, 2),
      `goal ≥ ${fmtInt(GOAL_FLIGHT)}/s: ${mark(flP >= GOAL_FLIGHT)}; hard bar ≥ ${fmtInt(BAR_FLIGHT)}/s: ${mark(flP >= BAR_FLIGHT)}`,
    ]);
    const rssPm = median(rssP);
    const rssBm = median(rssB);
    rows.push([
      'RSS per idle live object thread',
      `${fmt(rssPm, 2)} MB`,
      `plain Worker ${fmt(rssBm, 2)} MB`,
      fmt(rssPm / rssBm, 2),
      '',
    ]);
    const warmM = median(warm);
    const coldM = median(cold);
    const baseM = median(baseStart);
    rows.push([
      'start-up, warm pool (warmThreads 2)',
      `${fmt(warmM, 2)} ms`,
      `new Worker ${fmt(baseM, 2)} ms`,
      fmt(warmM / baseM, 2),
      '',
    ]);
    rows.push([
      'start-up, no pool (warmThreads 0)',
      `${fmt(coldM, 2)} ms`,
      `new Worker ${fmt(baseM, 2)} ms`,
      fmt(coldM / baseM, 2),
      '',
    ]);

    const header = ['metric', 'project', 'baseline', 'ratio', 'goals (project)'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r) => r.map((c, i) => (i === 4 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
    console.log(
      `durable-facets RPC bench — node ${process.version}, ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? ''}`,
    );
    console.log(`medians; project and baseline rounds interleaved. ratio = project / baseline`);
    console.log(`(times: lower is better, below 1 means the project is faster; rates: higher is better)`);
    console.log('');
    console.log(line(header));
    console.log(line(header.map((_, i) => '-'.repeat(i === 4 ? header[4].length : widths[i]))));
    for (const r of rows) console.log(line(r));
    console.log('');
    console.log('per-round values:');
    console.log(`  main→object seq µs        project ${spread(seq.p)}  baseline ${spread(seq.b)}`);
    console.log(`  object→object seq µs      project ${spread(oo.p)}  baseline ${spread(oo.b)}`);
    console.log(
      `  ${FLIGHT} in flight k/s         project ${spread(fl.p.map((x) => x / 1000))}  baseline ${spread(fl.b.map((x) => x / 1000))}`,
    );
    console.log(`  RSS MB/thread             project ${spread(rssP, 2)}  baseline ${spread(rssB, 2)}`);
    console.log(`  start-up warm pool ms     ${spread(warm, 2)}`);
    console.log(`  start-up no pool ms       ${spread(cold, 2)}`);
    console.log(`  start-up new Worker ms    ${spread(baseStart, 2)}`);
    console.log('');
    console.log(
      `setup: ${ROUNDS} rounds × ${fmtInt(SEQ_CALLS)} sequential calls (object→object ${OO_ROUNDS} rounds); ${FLIGHT} in flight, ${ROUNDS} × ${fmtInt(FLIGHT_CALLS)} calls; ` +
        `${WARM_STARTS} warm starts ${WARM_GAP_MS} ms apart; ${COLD_STARTS} cold starts; RSS: ${RSS_OBJECTS} threads, ${RSS_REPS} fresh processes each`,
    );
    const wide = (xs) => Math.max(...xs) / Math.min(...xs) > 3;
    if (wide(oo.p)) {
      notes.push(
        `note: object→object rounds differ more than 3× (best ${fmt(Math.min(...oo.p))} µs, worst ${fmt(Math.max(...oo.p))} µs). ` +
          'On this 2-core machine it is bimodal: ~5–25 µs while the two object threads run on separate cores, ' +
          '~140 µs while they share one (reproduced with `taskset -c 0`: a thread spinning for its next delivery holds the core its peer needs).',
      );
    }
    if (wide(seq.p) || wide(fl.p)) notes.push('note: main→object rounds differ more than 3× — noisy run.');
    for (const n of notes) console.log(n);
    console.log(`total ${fmt((performance.now() - tStart) / 1000)} s`);
  } finally {
    await Promise.all(runtimes.map((r) => r.dispose()));
    await Promise.all(baseline.map((w) => w.terminate()));
  }
}

const rssArg = process.argv.find((a) => a.startsWith('--rss='));
if (rssArg) {
  await rssChild(rssArg.slice('--rss='.length));
} else {
  await main();
}
