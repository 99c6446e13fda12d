// Facets benchmark: a root object starting and calling its facets (ctx.facets), beside plain
// worker_threads doing the same, in one run.
//
//   node bench/facets.mjs
//
// Rounds of the project and of its baseline are interleaved (alternating which goes first)
// and medians are reported, because the machine is noisy. Calls and start-ups are timed in
// the root object's thread (parent→facet), the baseline's in the thread that sends. The
// bursts and the 1,000-facet memory run happen in fresh child processes of this script
// (`--child=…`), so that the threads and memory of one measurement do not weigh on the next.
//
//   node bench/facets.mjs --against=/path/to/other/checkout
//
// also measures parent→facet calls of another checkout of this project (built, with its own
// lib/native) in the same process, rounds interleaved with this one's: a regression check
// between commits (`git worktree add /tmp/old <commit>`, then build it there).
import { Worker } from 'node:worker_threads';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Runtime } from '../index.js';
import { median, quantile, fmt, fmtInt, spread, mark, interleave, once, ECHO_CODE, PINGER_CODE, MB, errText, osThreads, peakRss } from './common.mjs';

const FIXTURE = new URL('./fixtures/facets-worker.mjs', import.meta.url);

// 1. parent→facet RPC
const PING_ROUNDS = 7;
const PING_CALLS = 5_000; // per round, sequential
const GOAL_PING_US = 25;
const WORKERD_PING_US = 45;

// 2. cold facet on a warm runtime
const COLD_STARTS = 50;
const COLD_GAP_MS = 120; // before every start, project and baseline alike (the pool refills)
const GOAL_COLD_MS = 2.5;
const WORKERD_COLD_MS = 5.3;

// 3. bursts
const BURST = 200;

// 4. CPU work in parallel
const WORK_ROUNDS = 5;
const WORK_TARGET_MS = 400; // all the work on one thread takes about this long
const WORK_WIDTHS = [1, 2, 4];

// 5. many facets
const MANY = 1_000;
const MANY_CHUNK = 5; // facets per RPC to the root (the main thread checks RSS in between)
const MANY_RSS_STOP = 1.5 * 1024 ** 3; // stop creating facets beyond this RSS
const MANY_TIME_STOP_MS = 90_000; // … or after this long
const GOAL_MANY_RSS = 1024 ** 3;
const SAMPLE_MS = 50;

const DEFAULTS = { warmThreads: 2, idleTimeoutMs: 10_000, maxRunningFacets: 64 };
const CHILD_TIMEOUT_MS = 150_000;

// ---------------------------------------------------------------------------------------
// helpers

/** `--against=DIR`: another checkout of the project to compare parent→facet calls with. */
const AGAINST = process.argv.find((a) => a.startsWith('--against='))?.slice('--against='.length) ?? null;

/** A runtime of checkout `dir` (its own addon and hub) hosting its own facets fixture. */
async function againstRuntime(dir) {
  const { Runtime: Other } = await import(new URL(`file://${path.resolve(dir)}/index.js`).href);
  const rt = new Other({ main: new URL(`file://${path.resolve(dir)}/bench/fixtures/facets-worker.mjs`), durableObjects: { ROOT: 'Root' }, ...DEFAULTS });
  return { rt, root: rt.env.ROOT.getByName('r') };
}


/** Samples RSS and the OS thread count every SAMPLE_MS; keeps the sample of highest RSS. */
function startSampler(onSample) {
  const peak = { rss: 0, threads: 0, maxThreads: 0, at: 0 };
  const t0 = performance.now();
  const take = () => {
    const rss = process.memoryUsage().rss;
    const threads = osThreads();
    if (threads > peak.maxThreads) peak.maxThreads = threads;
    if (rss > peak.rss) Object.assign(peak, { rss, threads, at: performance.now() - t0 });
    onSample?.(rss, threads);
  };
  take();
  const timer = setInterval(take, SAMPLE_MS);
  return {
    peak,
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}

const WORK_CODE = `
const { parentPort } = require('node:worker_threads');
function work(iters) {
  let x = 0;
  for (let i = 0; i < iters; i++) x = (x * 31 + i) % 1000003;
  return x;
}
parentPort.on('message', (iters) => parentPort.postMessage(work(iters)));
`;

/** Plain Worker (eval) until its first echo comes back; ms. */
async function workerStart(i) {
  const t0 = performance.now();
  const w = new Worker(ECHO_CODE, { eval: true });
  w.postMessage(i);
  await once(w);
  const ms = performance.now() - t0;
  await w.terminate();
  return ms;
}

// ---------------------------------------------------------------------------------------
// child processes: bursts and the many-facets run

async function newRoot(options = {}) {
  const rt = new Runtime({ main: FIXTURE, durableObjects: { ROOT: 'Root' }, ...options });
  const root = rt.env.ROOT.getByName('r');
  await root.startFacets('warmup-', 0); // starts the root itself
  await sleep(500); // the warm pool fills
  return { rt, root };
}

/** `kind`: burst-seq | burst-par (project), base-seq | base-par (plain Workers). */
async function burstChild(kind) {
  const out = { kind, n: BURST };
  const rss0 = process.memoryUsage().rss;
  const threads0 = osThreads();
  if (kind === 'burst-seq' || kind === 'burst-par') {
    const { rt, root } = await newRoot(DEFAULTS);
    try {
      const sampler = startSampler();
      out.ms = kind === 'burst-seq' ? await root.burstSeq('b', BURST) : await root.burstPar('b', BURST);
      const peak = sampler.stop();
      Object.assign(out, { rss0, threads0, peak, hwm: peakRss() });
    } finally {
      await rt.dispose();
    }
  } else {
    const workers = [];
    const sampler = startSampler();
    const t0 = performance.now();
    if (kind === 'base-seq') {
      for (let i = 0; i < BURST; i++) {
        const w = new Worker(ECHO_CODE, { eval: true });
        workers.push(w);
        w.postMessage(i);
        await once(w);
      }
    } else {
      for (let i = 0; i < BURST; i++) workers.push(new Worker(ECHO_CODE, { eval: true }));
      await Promise.all(workers.map((w, i) => (w.postMessage(i), once(w))));
    }
    out.ms = performance.now() - t0;
    const peak = sampler.stop();
    Object.assign(out, { rss0, threads0, peak, hwm: peakRss() });
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}

async function manyChild() {
  const out = { settings: DEFAULTS, created: 0, stopped: null, errors: [] };
  const rss0 = process.memoryUsage().rss;
  const threads0 = osThreads();
  const { rt, root } = await newRoot(DEFAULTS);
  let stop = null;
  const sampler = startSampler((rss) => {
    if (rss > MANY_RSS_STOP && stop === null) stop = `RSS reached ${fmt(rss / MB, 0)} MB (limit ${fmt(MANY_RSS_STOP / MB, 0)} MB)`;
  });
  const t0 = performance.now();
  const starts = [];
  try {
    out.threadsRuntimeIdle = osThreads() - threads0; // root + warm pool
    for (let i = 0; i < MANY && stop === null; i += MANY_CHUNK) {
      const n = Math.min(MANY_CHUNK, MANY - i);
      try {
        starts.push(...(await root.createRange('m', i, n)));
      } catch (e) {
        out.errors.push(`facets m${i}..m${i + n - 1}: ${errText(e)}`);
        if (out.errors.length >= 5) stop = 'too many errors';
        continue;
      }
      out.created = i + n;
      if (performance.now() - t0 > MANY_TIME_STOP_MS && stop === null && out.created < MANY) {
        stop = `time limit: ${fmt(MANY_TIME_STOP_MS / 1000, 0)} s`;
      }
    }
    out.ms = performance.now() - t0;
    await sleep(200);
    out.threadsEnd = osThreads() - threads0;
  } finally {
    const peak = sampler.stop();
    Object.assign(out, { rss0, threads0, peak, hwm: peakRss(), stopped: stop });
    out.startMedian = median(starts);
    out.startP90 = quantile(starts, 0.9);
    await rt.dispose();
  }
  return out;
}

function runChild(kind) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), `--child=${kind}`], {
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: 16 * MB,
  });
  const last = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !last?.startsWith('{')) {
    throw new Error(
      `child ${kind} failed: status ${r.status} ${r.signal ?? ''}${r.error ? ` (${r.error.message})` : ''}\n${r.stderr}`,
    );
  }
  const out = JSON.parse(last);
  if (r.stderr.trim()) out.stderr = r.stderr.trim();
  return out;
}

// ---------------------------------------------------------------------------------------
// main

async function main() {
  const tStart = performance.now();
  const errors = [];
  const notes = [];
  const rows = [];
  const perRound = [];
  const addRow = (...r) => rows.push(r);

  const pinger = new Worker(PINGER_CODE, { eval: true });
  const echoPeer = new Worker(ECHO_CODE, { eval: true });
  const workPool = Array.from({ length: Math.max(...WORK_WIDTHS) }, () => new Worker(WORK_CODE, { eval: true }));
  const baseline = [pinger, echoPeer, ...workPool];
  let rt = null;
  try {
    rt = new Runtime({ main: FIXTURE, durableObjects: { ROOT: 'Root' }, ...DEFAULTS });
    const root = rt.env.ROOT.getByName('r');

    // worker↔worker wiring: the pinger owns port1, the echo peer port2.
    const { port1, port2 } = new MessageChannel();
    echoPeer.postMessage({ port: port2 }, [port2]);
    pinger.postMessage({ port: port1 }, [port1]);
    await once(pinger);
    const pingerRound = (n, perCall = false) => {
      pinger.postMessage({ n, perCall });
      return once(pinger);
    };

    // ----- 1. parent→facet RPC, sequential -----------------------------------------------
    try {
      for (let i = 0; i < 2; i++) {
        await root.pingFacet(PING_CALLS);
        await pingerRound(PING_CALLS);
      }
      const [p, b] = await interleave(PING_ROUNDS, () => root.pingFacet(PING_CALLS), () => pingerRound(PING_CALLS));
      const pc = await root.pingFacetPerCall(PING_CALLS);
      const bc = await pingerRound(PING_CALLS, true);
      const goal = (us) =>
        `goal ≤ ${GOAL_PING_US} µs: ${mark(us <= GOAL_PING_US)}; workerd ${WORKERD_PING_US} µs: ${us < WORKERD_PING_US ? 'below' : 'NOT below'}`;
      addRow('parent→facet sequential (round avg)', `${fmt(median(p))} µs`, `MessageChannel ${fmt(median(b))} µs`, fmt(median(p) / median(b), 2), goal(median(p)));
      addRow('  same, per-call median', `${fmt(pc)} µs`, `MessageChannel ${fmt(bc)} µs`, fmt(pc / bc, 2), goal(pc));
      perRound.push(`parent→facet µs          project ${spread(p)}  baseline ${spread(b)}`);
      if (AGAINST !== null) {
        const other = await againstRuntime(AGAINST);
        try {
          await other.root.pingFacet(PING_CALLS);
          const [q, o] = await interleave(PING_ROUNDS, () => root.pingFacet(PING_CALLS), () => other.root.pingFacet(PING_CALLS));
          addRow(`parent→facet vs ${AGAINST}`, `${fmt(median(q))} µs`, `that checkout ${fmt(median(o))} µs`, fmt(median(q) / median(o), 2), median(q) <= median(o) ? 'no regression' : 'SLOWER');
          perRound.push(`parent→facet µs          project ${spread(q)}  against ${spread(o)}`);
        } finally {
          await other.rt.dispose();
        }
      }
      if (Math.max(...p) / Math.min(...p) > 3) notes.push('note: parent→facet rounds differ more than 3× — noisy run (or the two threads shared a core).');
    } catch (e) {
      errors.push(`1. parent→facet RPC: ${errText(e)}`);
    }

    // ----- 2. cold facet on a warm runtime ------------------------------------------------
    {
      const p = [];
      const b = [];
      const failed = [];
      const project = async (i) => {
        await sleep(COLD_GAP_MS);
        try {
          p.push(await root.coldStart(`cold-${i}`));
        } catch (e) {
          failed.push(`cold-${i}: ${errText(e)}`);
        }
      };
      const base = async (i) => {
        await sleep(COLD_GAP_MS);
        b.push(await workerStart(i));
      };
      await base(-1); // warm-up of the baseline path (the project's root is warm already)
      await interleave(COLD_STARTS, project, base);
      for (const f of failed) errors.push(`2. cold facet ${f}`);
      const pm = median(p);
      const bm = median(b);
      addRow(
        `cold facet, get + first call (warm pool, ${COLD_GAP_MS} ms apart)`,
        `${fmt(pm, 2)} ms`,
        `new Worker ${fmt(bm, 2)} ms`,
        fmt(pm / bm, 2),
        `goal ≤ ${GOAL_COLD_MS} ms: ${mark(pm <= GOAL_COLD_MS)}; workerd ${WORKERD_COLD_MS} ms: ${pm < WORKERD_COLD_MS ? 'below' : 'NOT below'}; ` +
          `p90 ${fmt(quantile(p, 0.9), 2)} ms` +
          (failed.length ? `; ${failed.length} of ${COLD_STARTS} FAILED` : ''),
      );
      perRound.push(`cold facet ms            ${spread(p, 2)}`);
      perRound.push(`new Worker ms            ${spread(b, 2)}`);
    }

    // ----- 4. CPU work: N facets in parallel vs one ----------------------------------------
    let work = null;
    try {
      const W = Math.max(...WORK_WIDTHS);
      await root.startFacets('w', W);
      await Promise.all(workPool.map(async (w) => (w.postMessage(1000), once(w))));
      // calibrate on the root's thread
      let cal = 0;
      for (let i = 0; i < 3; i++) cal = (await root.localWork(2e7)).ms;
      const total = Math.max(W, Math.round((2e7 * WORK_TARGET_MS) / cal / W) * W);
      const baseRun = async (k) => {
        const t0 = performance.now();
        const r = await Promise.all(workPool.slice(0, k).map((w) => (w.postMessage(total / k), once(w))));
        return { ms: performance.now() - t0, r };
      };
      const arms = [];
      for (const k of WORK_WIDTHS) {
        arms.push(() => root.parallelWork('w', k, total / k));
        arms.push(() => baseRun(k));
      }
      for (const a of arms) await a(); // warm-up (JIT in every thread)
      const res = await interleave(WORK_ROUNDS, ...arms);
      // the project and the baseline must compute the same thing
      for (let j = 0; j < WORK_WIDTHS.length; j++) {
        const pr = res[2 * j][0].r[0];
        const br = res[2 * j + 1][0].r[0];
        if (pr !== br) errors.push(`4. CPU work: facet result ${pr} ≠ baseline ${br} (width ${WORK_WIDTHS[j]})`);
      }
      const ms = res.map((arm) => arm.map((x) => x.ms));
      work = { total, ms };
      const p1 = median(ms[0]);
      const b1 = median(ms[1]);
      for (let j = 0; j < WORK_WIDTHS.length; j++) {
        const k = WORK_WIDTHS[j];
        const pk = median(ms[2 * j]);
        const bk = median(ms[2 * j + 1]);
        addRow(
          `CPU work split over ${k} ${k === 1 ? 'facet ' : 'facets'} (wall, speed-up vs 1)`,
          `${fmt(pk, 0)} ms  ${fmt(p1 / pk, 2)}×`,
          `${k} Worker${k === 1 ? ' ' : 's'} ${fmt(bk, 0)} ms  ${fmt(b1 / bk, 2)}×`,
          fmt(pk / bk, 2),
          k === 1 ? `${fmtInt(total)} iterations in all` : `ideal on ${os.cpus().length} cores: ${fmt(Math.min(k, os.cpus().length), 2)}×`,
        );
        perRound.push(`CPU work ${k} ms            project ${spread(ms[2 * j], 0)}  baseline ${spread(ms[2 * j + 1], 0)}`);
      }
    } catch (e) {
      errors.push(`4. CPU work: ${errText(e)}`);
    }

    await rt.dispose();
    rt = null;
    await Promise.all(baseline.map((w) => w.terminate()));
    baseline.length = 0;

    // ----- 3. bursts (fresh processes) -----------------------------------------------------
    const burst = {};
    for (const kind of ['burst-seq', 'base-seq', 'burst-par', 'base-par']) {
      try {
        burst[kind] = runChild(kind);
        if (burst[kind].stderr) notes.push(`note: child ${kind} wrote to stderr: ${burst[kind].stderr.split('\n')[0]}`);
      } catch (e) {
        errors.push(`3. burst ${kind}: ${errText(e)}`);
      }
    }
    const perThreadMB = (o) => (o.peak.rss - o.rss0) / Math.max(1, o.peak.threads - o.threads0) / MB;
    const burstRows = [];
    for (const [p, b, label] of [
      ['burst-seq', 'base-seq', 'each first call awaited in turn'],
      ['burst-par', 'base-par', 'all first calls in flight at once'],
    ]) {
      const P = burst[p];
      const B = burst[b];
      if (!P) continue;
      const pm = P.ms / BURST;
      const bm = B ? B.ms / BURST : NaN;
      burstRows.push([
        `burst of ${BURST} new facets, ${label}`,
        `${fmt(pm, 2)} ms/facet`,
        `new Worker ${fmt(bm, 2)} ms`,
        fmt(pm / bm, 2),
        `${fmtInt(P.ms)} ms in all; peak RSS ${fmtInt(P.hwm / MB)} MB (baseline ${B ? fmtInt(B.hwm / MB) : '?'} MB)`,
      ]);
    }
    rows.splice(rows.findIndex((r) => r[0].startsWith('CPU work')), 0, ...burstRows);

    // ----- 5. 1,000 facets one after another (fresh process) -------------------------------
    let many = null;
    try {
      many = runChild('many');
      if (many.stderr) notes.push(`note: child many wrote to stderr: ${many.stderr.split('\n')[0]}`);
    } catch (e) {
      errors.push(`5. many facets: ${errText(e)}`);
    }
    if (many) {
      for (const e of many.errors) errors.push(`5. many facets: ${e}`);
      const live = many.peak.threads - many.threads0; // runtime threads at peak RSS (root + pool + facets)
      const perLive = (many.peak.rss - many.rss0) / Math.max(1, live) / MB;
      const complete = many.created >= MANY;
      const baseSeq = burst['base-seq'];
      const what = complete ? `${fmtInt(MANY)} facets one after another` : `${fmtInt(many.created)} of ${fmtInt(MANY)} facets (STOPPED EARLY)`;
      addRow(
        `${what}: peak RSS`,
        `${fmtInt(many.hwm / MB)} MB`,
        '',
        '',
        complete
          ? `goal ≤ ${fmtInt(GOAL_MANY_RSS / MB)} MB: ${mark(many.hwm <= GOAL_MANY_RSS)}`
          : `goal ≤ ${fmtInt(GOAL_MANY_RSS / MB)} MB: ${many.hwm > GOAL_MANY_RSS ? 'MISS' : 'not measured'} (stopped: ${many.stopped})`,
      );
      addRow(
        `  runtime threads at peak RSS (root + pool + facets)`,
        `${fmtInt(live)} (max ${fmtInt(many.peak.maxThreads - many.threads0)})`,
        '',
        '',
        `maxRunningFacets ${many.settings.maxRunningFacets}: ` +
          (many.peak.maxThreads - many.threads0 > many.settings.maxRunningFacets + many.settings.warmThreads + 1 + 4
            ? 'NOT enforced (more facet threads than the limit ran at once)'
            : 'held (within limit + root + pool)'),
      );
      addRow(
        `  RSS per live thread (RSS delta / threads at peak)`,
        `${fmt(perLive, 2)} MB`,
        baseSeq ? `plain Worker ${fmt(perThreadMB(baseSeq), 2)} MB` : '',
        baseSeq ? fmt(perLive / perThreadMB(baseSeq), 2) : '',
        `start of a facet: median ${fmt(many.startMedian, 2)} ms, p90 ${fmt(many.startP90, 2)} ms; ${fmtInt(many.ms)} ms in all`,
      );
      perRound.push(
        `many facets              created ${many.created}, RSS before ${fmtInt(many.rss0 / MB)} MB, peak ${fmtInt(many.peak.rss / MB)} MB ` +
          `(sampled, at ${fmt(many.peak.at / 1000)} s) / ${fmtInt(many.hwm / MB)} MB (VmHWM), runtime threads at the end ${many.threadsEnd}`,
      );
      if (!complete) {
        notes.push(
          `NOTE: the 1,000-facet run STOPPED EARLY after ${many.created} facets (${many.stopped}); ` +
            `${fmtInt(live)} runtime threads were live at peak RSS ${fmtInt(many.peak.rss / MB)} MB.`,
        );
      }
    }
    for (const k of ['burst-seq', 'base-seq', 'burst-par', 'base-par']) {
      const o = burst[k];
      if (o) {
        perRound.push(
          `${k.padEnd(24)} ${fmtInt(o.ms)} ms, peak RSS ${fmtInt(o.hwm / MB)} MB, threads at peak ${o.peak.threads - o.threads0}, ` +
            `${fmt(perThreadMB(o), 2)} MB/thread`,
        );
      }
    }

    // -------------------------------------------------------------------------------------
    // report
    const header = ['metric', 'project', 'baseline', 'ratio', 'goals / notes (project)'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r) => r.map((c, i) => (i === 4 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
    console.log(`durable-facets facets bench — node ${process.version}, ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? ''}`);
    console.log('medians; project and baseline rounds interleaved. ratio = project / baseline');
    console.log('(times: lower is better, below 1 means the project is faster); project times are taken in the root object (parent)');
    console.log(
      `runtime settings: warmThreads ${DEFAULTS.warmThreads}, maxRunningFacets ${DEFAULTS.maxRunningFacets}, idleTimeoutMs ${DEFAULTS.idleTimeoutMs}, no storage directory`,
    );
    console.log('');
    console.log(line(header));
    console.log(line(header.map((_, i) => '-'.repeat(i === 4 ? header[4].length : widths[i]))));
    for (const r of rows) console.log(line(r));
    console.log('');
    console.log('per-round values:');
    for (const l of perRound) console.log(`  ${l}`);
    console.log('');
    console.log(
      `setup: ${PING_ROUNDS} rounds × ${fmtInt(PING_CALLS)} sequential calls (baseline: MessageChannel ping-pong between two worker threads); ` +
        `${COLD_STARTS} cold facets and ${COLD_STARTS} new Workers, each after ${COLD_GAP_MS} ms; ` +
        `bursts of ${BURST} in fresh processes (baseline: new Worker(eval) until its first message); ` +
        `CPU work ${work ? fmtInt(work.total) : '?'} iterations split over ${WORK_WIDTHS.join('/')} facets or plain Workers, ${WORK_ROUNDS} rounds; ` +
        `${fmtInt(MANY)} facets in a fresh process, ${MANY_CHUNK} per RPC, RSS sampled every ${SAMPLE_MS} ms, ` +
        `stop beyond ${fmtInt(MANY_RSS_STOP / MB)} MB RSS or ${fmt(MANY_TIME_STOP_MS / 1000, 0)} s`,
    );
    for (const n of notes) console.log(n);
    if (errors.length) {
      console.log('');
      console.log(`ERRORS (${errors.length}):`);
      for (const e of errors) console.log(`  ${e}`);
      process.exitCode = 1;
    }
    console.log(`total ${fmt((performance.now() - tStart) / 1000)} s`);
  } finally {
    await rt?.dispose();
    await Promise.all(baseline.map((w) => w.terminate()));
  }
}

const childArg = process.argv.find((a) => a.startsWith('--child='));
if (childArg) {
  const kind = childArg.slice('--child='.length);
  const out = kind === 'many' ? await manyChild() : await burstChild(kind);
  process.stdout.write(JSON.stringify(out) + '\n');
} else {
  await main();
}
