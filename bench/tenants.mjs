// Many-tenants benchmark (issue 9): one root object per tenant ("Tenant"), its apps as facets
// ("App", one table of 10 rows), default runtime options, storage on disk — beside plain
// worker_threads doing the same, in one run.
//
//   node bench/tenants.mjs [--quick] [--only <scenario>[,<scenario>…]]
//
// Scenarios (names for --only): new-seq, new-rate, round-robin, many, burst, clone, rss.
// `--quick` runs fewer rounds and smaller counts (same targets).
//
// Every scenario runs in fresh child processes of this script (`--child=…`): the threads,
// files and memory of one measurement do not weigh on the next, a crash or hang of one is
// reported (killed after a time limit) and the others still run. Storage lives in one temp
// directory, removed at the end. Where a scenario has rounds, project and baseline rounds
// are interleaved (alternating which goes first) and medians are reported, because the
// machine is noisy. App figures are timed in the tenant's thread (parent→facet); the
// baselines' in the main thread. Only the public API is used (Runtime, ctx.facets,
// rt.inspect, stubs), so the script keeps working whatever the runtime does with threads.
import { Worker } from 'node:worker_threads';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Runtime } from '../index.js';
import { median, quantile, fmt, fmtInt, spread, mark, interleave, once, ECHO_CODE, MB, errText, osThreads, peakRss } from './common.mjs';

const FIXTURE = new URL('./fixtures/tenants-worker.mjs', import.meta.url);
const QUICK = process.argv.includes('--quick');
const q = (full, quick) => (QUICK ? quick : full);

const ROWS = 10; // rows of each app's table

// 1a. new apps one after another
const SEQ_ROUNDS = q(4, 2);
const SEQ_PER_ROUND = 10;
// 1b. new apps at a fixed arrival rate (a fresh runtime per round, so apps never exceed the
// running-facet limit and each round starts from the same warm state)
const RATE_PER_S = 50;
const RATE_ROUNDS = q(2, 1);
const RATE_PER_ROUND = 50;
const GOAL_NEW_MS = 3;
const WORKERD_NEW_MS = 5.4; // issue 9, same machine
const ISSUE_NEW_MS = '34–62 ms';

// 2. apps called round-robin
const RR_APPS = 128;
const RR_FIT_APPS = 32;
const RR_ROUNDS = 3;
const GOAL_RR_P50 = 2;
const GOAL_RR_P99 = 20;

// 3. many new apps one after another; a burst of new apps at once
const MANY = q(1_000, 250);
const MANY_CHUNK = 25; // apps per RPC to the tenant (the main thread samples RSS in between)
const MANY_TIME_STOP_MS = q(45_000, 30_000); // beyond it the total is extrapolated (and a MISS)
const MANY_RSS_STOP = 4 * 1024 ** 3;
const GOAL_MANY_MS_PER_1000 = 5_000;
const WORKERD_MANY = '~3–5 s per 1,000';
const BURST = q(200, 100);
const GOAL_BURST_MS = 5;

// 4. an unrelated tenant's RPC delay while another clones / inspects / deletes a big app
const BIG_MB = 100;
const CLONE_ROUNDS = q(2, 1);
const PING_EVERY_MS = 1;
const QUIET_MS = q(2_000, 1_000);
const LEAD_MS = 100; // pings before each operation …
const TAIL_MS = 200; // … and after it
const GOAL_PING_MAX_MS = 20;

// 5. RSS per running idle app
const RSS_N = q(32, 16);
const RSS_REPS = q(2, 1);
const GOAL_RSS_RATIO = 1.0;

const SAMPLE_MS = 100;

// ---------------------------------------------------------------------------------------
// helpers


async function settleRss() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await sleep(50);
  }
  return process.memoryUsage().rss;
}

/** Samples RSS and the OS thread count every SAMPLE_MS; keeps the peaks. */
function startSampler() {
  const peak = { rss: 0, threads: 0 };
  const take = () => {
    peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
    peak.threads = Math.max(peak.threads, osThreads());
  };
  take();
  const timer = setInterval(take, SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}

/** `promise`, or a rejection after `ms` (so that a hung dispose cannot keep a child alive). */
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A runtime with default options and storage in a new directory under `base`. */
function newRuntime(base) {
  const dir = fs.mkdtempSync(path.join(base, 'rt-'));
  const rt = new Runtime({ main: FIXTURE, durableObjects: { TENANT: 'Tenant' }, storage: dir });
  return { rt, dir };
}

/** A tenant started on a runtime, then a pause for the warm pool to fill. */
async function warmTenant(rt, name) {
  const t = rt.env.TENANT.getByName(name);
  await t.ping(0);
  await sleep(500);
  return t;
}

async function disposeRuntime(out, rt, dir) {
  try {
    await within(rt.dispose(), 30_000, 'rt.dispose()');
  } catch (e) {
    out.errors.push(errText(e));
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A plain Worker (eval, echo) until its first message comes back; the worker and the ms. */
async function startWorker(i) {
  const t0 = performance.now();
  const w = new Worker(ECHO_CODE, { eval: true });
  w.postMessage(i);
  await once(w);
  return { w, ms: performance.now() - t0 };
}

const terminateAll = (workers) => Promise.all(workers.splice(0).map((w) => w.terminate()));

// ---------------------------------------------------------------------------------------
// child processes: one per scenario (or arm); each prints one JSON line

const CHILDREN = {
  /** 1a. New apps one after another, rounds interleaved with new Workers. */
  async 'new-seq'(base, out) {
    const { rt, dir } = newRuntime(base);
    const workers = [];
    try {
      const tenant = await warmTenant(rt, 'seq');
      await startWorker(-1).then(({ w }) => w.terminate()); // warm-up of the baseline path
      const [p, b] = await interleave(
        SEQ_ROUNDS,
        (r) => tenant.newApps(`s${r}-`, 0, SEQ_PER_ROUND, ROWS),
        async () => {
          const ms = [];
          for (let i = 0; i < SEQ_PER_ROUND; i++) {
            const s = await startWorker(i);
            workers.push(s.w);
            ms.push(s.ms);
          }
          await terminateAll(workers); // untimed; like the apps, they lived until the round ended
          return ms;
        },
      );
      Object.assign(out, { p, b });
    } finally {
      await terminateAll(workers);
      await disposeRuntime(out, rt, dir);
    }
  },

  /** 1b. New apps arriving at RATE_PER_S, rounds interleaved with new Workers at that rate. */
  async 'new-rate'(base, out) {
    const everyMs = 1000 / RATE_PER_S;
    const workers = [];
    await startWorker(-1).then(({ w }) => w.terminate());
    const [p, b] = await interleave(
      RATE_ROUNDS,
      async (r) => {
        const { rt, dir } = newRuntime(base);
        try {
          const tenant = await warmTenant(rt, `rate-${r}`);
          return await tenant.newAppsAtRate('a', RATE_PER_ROUND, everyMs, ROWS);
        } finally {
          await disposeRuntime(out, rt, dir);
        }
      },
      async () => {
        const ms = [];
        const late = [];
        const pending = [];
        const t0 = performance.now();
        try {
          for (let i = 0; i < RATE_PER_ROUND; i++) {
            const due = t0 + i * everyMs;
            const wait = due - performance.now();
            if (wait > 0) await sleep(wait);
            late.push(performance.now() - due);
            pending.push(startWorker(i).then((s) => (workers.push(s.w), (ms[i] = s.ms))));
          }
          await Promise.all(pending);
        } finally {
          await Promise.allSettled(pending);
          await terminateAll(workers);
        }
        return { ms, late };
      },
    );
    out.p = p.map((x) => x.ms);
    out.pLate = p.map((x) => x.late);
    out.b = b.map((x) => x.ms);
    out.bLate = b.map((x) => x.late);
  },

  /** 2. `n` apps created, then called round-robin RR_ROUNDS times (`n` from the kind). */
  async rr(base, out, n) {
    const { rt, dir } = newRuntime(base);
    try {
      const tenant = await warmTenant(rt, `rr-${n}`);
      out.create = [];
      for (let i = 0; i < n; i += MANY_CHUNK) {
        out.create.push(...(await tenant.newApps('app', i, Math.min(MANY_CHUNK, n - i), ROWS)));
      }
      out.rounds = [];
      for (let r = 0; r < RR_ROUNDS; r++) out.rounds.push(await tenant.callRound('app', n, ROWS));
    } finally {
      await disposeRuntime(out, rt, dir);
    }
  },
  'rr-128': (base, out) => CHILDREN.rr(base, out, RR_APPS),
  'rr-32': (base, out) => CHILDREN.rr(base, out, RR_FIT_APPS),

  /** 2, baseline: RR_APPS plain Workers, all kept loaded, echoed round-robin. */
  async 'rr-base'(base, out) {
    const workers = [];
    try {
      for (let i = 0; i < RR_APPS; i++) workers.push((await startWorker(i)).w);
      out.rounds = [];
      for (let r = 0; r < RR_ROUNDS; r++) {
        const ms = [];
        for (const w of workers) {
          const t0 = performance.now();
          w.postMessage(r);
          await once(w);
          ms.push(performance.now() - t0);
        }
        out.rounds.push(ms);
      }
      out.rss = process.memoryUsage().rss;
    } finally {
      await terminateAll(workers);
    }
  },

  /** 3. MANY new apps one after another (stops early past a time or RSS limit). */
  async many(base, out) {
    const { rt, dir } = newRuntime(base);
    const threads0 = osThreads();
    const rss0 = process.memoryUsage().rss;
    out.created = 0;
    out.stopped = null;
    out.starts = [];
    try {
      const tenant = await warmTenant(rt, 'many');
      const sampler = startSampler();
      const t0 = performance.now();
      for (let i = 0; i < MANY && !out.stopped; i += MANY_CHUNK) {
        const n = Math.min(MANY_CHUNK, MANY - i);
        out.starts.push(...(await tenant.newApps('m', i, n, ROWS)));
        out.created = i + n;
        const elapsed = performance.now() - t0;
        const rss = process.memoryUsage().rss;
        if (out.created < MANY && elapsed > MANY_TIME_STOP_MS) out.stopped = `time limit ${fmt(MANY_TIME_STOP_MS / 1000, 0)} s`;
        if (out.created < MANY && rss > MANY_RSS_STOP) out.stopped = `RSS ${fmtInt(rss / MB)} MB`;
      }
      out.ms = performance.now() - t0;
      const peak = sampler.stop();
      Object.assign(out, { rss0, peakRss: peak.rss, hwm: peakRss(), peakThreads: peak.threads - threads0 });
    } finally {
      await disposeRuntime(out, rt, dir);
    }
  },

  /** 3. BURST new apps, all in flight at once. */
  async burst(base, out) {
    const { rt, dir } = newRuntime(base);
    try {
      const tenant = await warmTenant(rt, 'burst');
      const r = await tenant.newAppsAtOnce('b', BURST, ROWS);
      Object.assign(out, r, { hwm: peakRss() });
    } finally {
      await disposeRuntime(out, rt, dir);
    }
  },

  /** 3, baseline: BURST plain Workers, all first messages in flight at once. */
  async 'burst-base'(base, out) {
    const workers = [];
    try {
      const t0 = performance.now();
      for (let i = 0; i < BURST; i++) workers.push(new Worker(ECHO_CODE, { eval: true }));
      await Promise.all(workers.map((w, i) => (w.postMessage(i), once(w))));
      out.total = performance.now() - t0;
      out.hwm = peakRss();
    } finally {
      await terminateAll(workers);
    }
  },

  /**
   * 4. Tenant A pinged from the main thread every PING_EVERY_MS: quiet, then while tenant B
   * clones its BIG_MB app, while the main thread inspects B, while B deletes the copy.
   */
  async clone(base, out) {
    const { rt, dir } = newRuntime(base);
    try {
      const a = rt.env.TENANT.getByName('A');
      const b = rt.env.TENANT.getByName('B');
      await a.ping(0);
      let t0 = performance.now();
      out.bigSize = await b.fillApp('big', BIG_MB);
      out.fillMs = performance.now() - t0;
      await sleep(300);

      // One ping outstanding at a time; delay = reply − when the ping was due (the previous
      // reply + PING_EVERY_MS), so it counts both a late timer on the main thread and a slow
      // round trip. A freeze shows as one long ping (max), not as many (p99 counts pings).
      const pinger = () => {
        const delays = [];
        const rtts = [];
        let stop = false;
        const done = (async () => {
          let due = performance.now();
          while (!stop) {
            const sent = performance.now();
            await a.ping(1);
            const now = performance.now();
            delays.push(now - due);
            rtts.push(now - sent);
            due = now + PING_EVERY_MS;
            await sleep(PING_EVERY_MS);
          }
        })();
        return async () => {
          stop = true;
          await done;
          return { delays, rtts };
        };
      };
      const during = async (op) => {
        const stop = pinger();
        await sleep(LEAD_MS);
        const t1 = performance.now();
        let inside;
        let error = null;
        try {
          inside = await op();
        } catch (e) {
          error = errText(e);
        }
        const ms = performance.now() - t1;
        await sleep(TAIL_MS);
        return { ms, inside, error, ...(await stop()) };
      };

      out.phases = [];
      const quiet = pinger();
      await sleep(QUIET_MS);
      out.phases.push({ op: 'quiet', ...(await quiet()) });
      for (let r = 0; r < CLONE_ROUNDS; r++) {
        out.phases.push({ op: 'clone', ...(await during(() => b.cloneApp('big', 'copy'))) });
        out.phases.push({ op: 'inspect', ...(await during(() => rt.inspect('TENANT', 'B'))) });
        out.phases.push({ op: 'delete', ...(await during(() => b.deleteApp('copy'))) });
      }
      for (const ph of out.phases) {
        if (ph.op === 'inspect' && ph.inside) {
          const big = ph.inside.facets.find((f) => f.name === 'copy');
          ph.inside = big ? `copy ${fmtInt(big.databaseSize / MB)} MB` : 'no copy';
        }
        if (ph.error) out.errors.push(`${ph.op}: ${ph.error}`);
      }
    } finally {
      await disposeRuntime(out, rt, dir);
    }
  },

  /** 5. RSS of RSS_N running idle apps (after a GC and a pause). */
  async 'rss-project'(base, out) {
    const { rt, dir } = newRuntime(base);
    try {
      const tenant = await warmTenant(rt, 'rss');
      const threads0 = osThreads();
      const before = await settleRss();
      await tenant.newApps('r', 0, RSS_N, ROWS);
      await sleep(500);
      const after = await settleRss();
      Object.assign(out, { before, after, threads: osThreads() - threads0 });
    } finally {
      await disposeRuntime(out, rt, dir);
    }
  },

  /** 5, baseline: RSS of RSS_N plain Workers after their first message. */
  async 'rss-base'(base, out) {
    const workers = [];
    try {
      const threads0 = osThreads();
      const before = await settleRss();
      for (let i = 0; i < RSS_N; i++) workers.push((await startWorker(i)).w);
      await sleep(500);
      const after = await settleRss();
      Object.assign(out, { before, after, threads: osThreads() - threads0 });
    } finally {
      await terminateAll(workers);
    }
  },
};

async function child(kind, base) {
  const out = { kind, errors: [] };
  try {
    await CHILDREN[kind](base, out);
  } catch (e) {
    out.errors.push(errText(e));
  }
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0); // whatever a failed scenario left behind
}

const CHILD_TIMEOUT_MS = {
  'new-seq': 90_000,
  'new-rate': 90_000,
  'rr-128': 120_000,
  'rr-32': 60_000,
  'rr-base': 60_000,
  many: MANY_TIME_STOP_MS + 60_000,
  burst: 60_000,
  'burst-base': 60_000,
  clone: 120_000,
  'rss-project': 60_000,
  'rss-base': 60_000,
};

function runChild(kind, base) {
  process.stderr.write(`  … ${kind}\n`);
  const args = ['--expose-gc', fileURLToPath(import.meta.url), `--child=${kind}`, `--dir=${base}`];
  if (QUICK) args.push('--quick');
  const r = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS[kind],
    killSignal: 'SIGKILL',
    maxBuffer: 64 * MB,
  });
  const last = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !last?.startsWith('{')) {
    const why = r.error?.code === 'ETIMEDOUT' ? `killed after ${CHILD_TIMEOUT_MS[kind] / 1000} s` : `status ${r.status} ${r.signal ?? ''}`;
    throw new Error(`child ${kind} failed: ${why}\n${(r.stderr ?? '').trim().split('\n').slice(-8).join('\n')}`);
  }
  const out = JSON.parse(last);
  if (r.stderr.trim()) out.stderr = r.stderr.trim();
  return out;
}

// ---------------------------------------------------------------------------------------
// main: run the selected scenarios, then print one table

const SCENARIOS = {
  'new-seq': newSeqRows,
  'new-rate': newRateRows,
  'round-robin': roundRobinRows,
  many: manyRows,
  burst: burstRows,
  clone: cloneRows,
  rss: rssRows,
};

function selected() {
  const i = process.argv.indexOf('--only');
  const arg = i >= 0 ? process.argv[i + 1] : process.argv.find((a) => a.startsWith('--only='))?.slice(7);
  if (arg === undefined) return Object.keys(SCENARIOS);
  const names = arg.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(n in SCENARIOS)) {
      console.error(`unknown scenario ${JSON.stringify(n)}; one of: ${Object.keys(SCENARIOS).join(', ')}`);
      process.exit(2);
    }
  }
  return names;
}

const flat = (xs) => xs.flat();
const dist = (xs) => [Math.min(...xs), quantile(xs, 0.1), median(xs), quantile(xs, 0.9), Math.max(...xs)];
const vsWorkerd = (ms, ref) => `workerd ${ref} ms: ${ms < ref ? 'below' : 'NOT below'}`;

/** Each scenario adds rows (metric, project, baseline, ratio, goals) and detail lines. */
function newSeqRows(run, ctx) {
  const o = run('new-seq');
  const p = flat(o.p);
  const b = flat(o.b);
  const pm = median(p);
  const bm = median(b);
  ctx.row(
    `new app one after another (get + CREATE + ${ROWS} INSERTs + SELECT)`,
    `${fmt(pm, 2)} ms`,
    `new Worker ${fmt(bm, 2)} ms`,
    fmt(pm / bm, 2),
    `goal median ≤ ${GOAL_NEW_MS} ms: ${mark(pm <= GOAL_NEW_MS)}; ${vsWorkerd(pm, WORKERD_NEW_MS)}; p90 ${fmt(quantile(p, 0.9), 2)} ms (new Worker ${fmt(quantile(b, 0.9), 2)} ms); issue: ${ISSUE_NEW_MS}`,
  );
  ctx.detail(`new-seq app ms (per round of ${SEQ_PER_ROUND}, medians)  project ${spread(o.p.map(median), 2)}  baseline ${spread(o.b.map(median), 2)}`);
  ctx.detail(`new-seq app ms, min/p10/p50/p90/max    project ${spread(dist(p), 1)}  baseline ${spread(dist(b), 1)}`);
}

function newRateRows(run, ctx) {
  const o = run('new-rate');
  const p = flat(o.p);
  const b = flat(o.b);
  const pm = median(p);
  const bm = median(b);
  ctx.row(
    `new app at ${RATE_PER_S}/s (same work, started on a timer)`,
    `${fmt(pm, 2)} ms`,
    `new Worker ${fmt(bm, 2)} ms`,
    fmt(pm / bm, 2),
    `goal median ≤ ${GOAL_NEW_MS} ms: ${mark(pm <= GOAL_NEW_MS)}; ${vsWorkerd(pm, WORKERD_NEW_MS)}; p90 ${fmt(quantile(p, 0.9), 2)} ms (new Worker ${fmt(quantile(b, 0.9), 2)} ms)`,
  );
  const late = (xs) => fmt(Math.max(0, ...flat(xs)), 1);
  ctx.detail(`new-rate app ms (per round of ${RATE_PER_ROUND}, medians) project ${spread(o.p.map(median), 2)}  baseline ${spread(o.b.map(median), 2)}`);
  ctx.detail(`new-rate app ms, min/p10/p50/p90/max   project ${spread(dist(p), 1)}  baseline ${spread(dist(b), 1)}`);
  ctx.detail(`new-rate latest start vs schedule      project ${late(o.pLate)} ms  baseline ${late(o.bLate)} ms`);
}

function roundRobinRows(run, ctx) {
  const res = {};
  for (const k of ['rr-128', 'rr-32', 'rr-base']) {
    try {
      res[k] = run(k);
    } catch (e) {
      ctx.error(`round-robin ${k}: ${errText(e)}`);
    }
  }
  const base = res['rr-base'] ? flat(res['rr-base'].rounds) : [];
  const bTxt = base.length ? `loaded Workers p50 ${fmt(median(base), 3)} ms` : '';
  for (const [k, n] of [['rr-128', RR_APPS], ['rr-32', RR_FIT_APPS]]) {
    const o = res[k];
    if (!o?.rounds?.length) continue;
    const p = flat(o.rounds);
    const p50 = median(p);
    const p99 = quantile(p, 0.99);
    const goals =
      n === RR_APPS
        ? `goal p50 ≤ ${GOAL_RR_P50} ms: ${mark(p50 <= GOAL_RR_P50)}, p99 ≤ ${GOAL_RR_P99} ms: ${mark(p99 <= GOAL_RR_P99)}`
        : 'reference (every app fits)';
    ctx.row(
      `${n} apps called round-robin, ${RR_ROUNDS} rounds: p50 / p99 per call`,
      `${fmt(p50, 2)} / ${fmt(p99, 1)} ms`,
      n === RR_APPS ? `${bTxt}${base.length ? ` / p99 ${fmt(quantile(base, 0.99), 3)} ms` : ''}` : '',
      n === RR_APPS && base.length ? fmt(p50 / median(base), 1) : '',
      `${goals}; max ${fmt(Math.max(...p), 1)} ms`,
    );
    ctx.detail(
      `round-robin ${String(n).padEnd(3)} p50 per round ${spread(o.rounds.map(median), 2)} ms, p99 ${spread(o.rounds.map((x) => quantile(x, 0.99)), 1)} ms; ` +
        `creating the ${n} apps: median ${fmt(median(o.create), 2)} ms, ${fmtInt(o.create.reduce((s, x) => s + x, 0))} ms in all`,
    );
  }
  if (res['rr-base']) ctx.detail(`round-robin baseline: ${RR_APPS} plain Workers kept loaded, main-thread RSS ${fmtInt(res['rr-base'].rss / MB)} MB`);
}

function manyRows(run, ctx) {
  const o = run('many');
  const complete = o.created >= MANY;
  const perApp = o.ms / Math.max(1, o.created);
  const goalMs = (GOAL_MANY_MS_PER_1000 * MANY) / 1000;
  ctx.row(
    `${fmtInt(MANY)} new apps one after another: total`,
    complete ? `${fmt(o.ms / 1000, 2)} s` : `~${fmt((perApp * MANY) / 1000, 1)} s (extrapolated)`,
    '',
    '',
    `goal ≤ ${fmt(goalMs / 1000, 2)} s: ${complete ? mark(o.ms <= goalMs) : 'MISS'}; start median ${fmt(median(o.starts), 2)} ms, p90 ${fmt(quantile(o.starts, 0.9), 2)} ms; ` +
      `${fmt(perApp, 2)} ms per app; workerd ${WORKERD_MANY}` +
      (complete ? '' : `; STOPPED after ${fmtInt(o.created)} apps in ${fmt(o.ms / 1000, 1)} s (${o.stopped})`),
  );
  ctx.detail(
    `many: RSS before ${fmtInt(o.rss0 / MB)} MB, peak ${fmtInt(o.peakRss / MB)} MB (sampled) / ${fmtInt(o.hwm / MB)} MB (VmHWM), ` +
      `most OS threads added ${o.peakThreads}; start p99 ${fmt(quantile(o.starts, 0.99), 1)} ms, max ${fmt(Math.max(...o.starts), 1)} ms`,
  );
}

function burstRows(run, ctx) {
  const p = run('burst');
  let b = null;
  try {
    b = run('burst-base');
  } catch (e) {
    ctx.error(`burst baseline: ${errText(e)}`);
  }
  const pm = p.total / BURST;
  const bm = b ? b.total / BURST : NaN;
  ctx.row(
    `${BURST} new apps all at once: per app`,
    `${fmt(pm, 2)} ms`,
    `new Worker ×${BURST} ${fmt(bm, 2)} ms`,
    fmt(pm / bm, 2),
    `goal ≤ ${GOAL_BURST_MS} ms: ${mark(pm <= GOAL_BURST_MS)}; ${fmtInt(p.total)} ms in all; peak RSS ${fmtInt(p.hwm / MB)} MB (baseline ${b ? fmtInt(b.hwm / MB) : '?'} MB)`,
  );
  ctx.detail(`burst: each app's own time median ${fmt(median(p.ms), 1)} ms, max ${fmt(Math.max(...p.ms), 1)} ms`);
}

function cloneRows(run, ctx) {
  const o = run('clone');
  const phases = o.phases ?? [];
  const quiet = phases.find((x) => x.op === 'quiet');
  const stat = (xs) => ({ max: Math.max(...xs), p99: quantile(xs, 0.99), n: xs.length });
  const qs = quiet ? stat(quiet.delays) : null;
  const qTxt = qs ? `quiet ${fmt(qs.max, 2)} / ${fmt(qs.p99, 2)} ms` : '';
  for (const op of ['clone', 'inspect', 'delete']) {
    const ph = phases.filter((x) => x.op === op);
    if (!ph.length) continue;
    const s = stat(ph.flatMap((x) => x.delays));
    ctx.row(
      `tenant A's ping while B ${op === 'inspect' ? 'is inspected (rt.inspect)' : `${op}s its ${BIG_MB} MB app`}: max / p99`,
      `${fmt(s.max, 2)} / ${fmt(s.p99, 2)} ms`,
      qTxt,
      qs ? fmt(s.max / qs.max, 1) : '',
      `goal max ≤ ${GOAL_PING_MAX_MS} ms: ${mark(s.max <= GOAL_PING_MAX_MS)}; the ${op} took ${ph.map((x) => fmt(x.ms, 1)).join(' / ')} ms; ${s.n} pings`,
    );
  }
  ctx.detail(`clone: app of ${fmt(o.bigSize / MB, 1)} MB written in ${fmtInt(o.fillMs)} ms; one ping at a time, each ${PING_EVERY_MS} ms after the last reply (a freeze is one long ping), from ${LEAD_MS} ms before and ${TAIL_MS} ms after each operation`);
  for (const ph of phases) {
    const s = stat(ph.delays);
    ctx.detail(
      `clone phase ${ph.op.padEnd(7)} delay max ${fmt(s.max, 2)} ms, p99 ${fmt(s.p99, 2)} ms, median ${fmt(median(ph.delays), 3)} ms; ` +
        `round trip max ${fmt(Math.max(...ph.rtts), 2)} ms; ${s.n} pings` +
        (ph.ms !== undefined ? `; operation ${fmt(ph.ms, 1)} ms (main thread)${typeof ph.inside === 'number' ? `, ${fmt(ph.inside, 1)} ms inside B` : ph.inside ? `, ${ph.inside}` : ''}` : ''),
    );
  }
}

function rssRows(run, ctx) {
  const p = [];
  const b = [];
  const tp = [];
  const tb = [];
  for (let r = 0; r < RSS_REPS; r++) {
    for (const kind of r % 2 === 0 ? ['rss-project', 'rss-base'] : ['rss-base', 'rss-project']) {
      try {
        const o = run(kind);
        const per = (o.after - o.before) / RSS_N / MB;
        if (!Number.isFinite(per)) continue; // the child failed (its error is reported)
        (kind === 'rss-project' ? p : b).push(per);
        (kind === 'rss-project' ? tp : tb).push(o.threads);
      } catch (e) {
        ctx.error(`rss ${kind}: ${errText(e)}`);
      }
    }
  }
  const pm = median(p);
  const bm = median(b);
  ctx.row(
    `RSS per running idle app (${RSS_N} apps; ΔRSS / ${RSS_N})`,
    `${fmt(pm, 2)} MB`,
    `plain Worker ${fmt(bm, 2)} MB`,
    fmt(pm / bm, 2),
    `goal ratio ≤ ${fmt(GOAL_RSS_RATIO, 1)}: ${mark(pm / bm <= GOAL_RSS_RATIO)}; issue: 1.16×`,
  );
  ctx.detail(`rss MB per instance  project ${spread(p, 2)}  baseline ${spread(b, 2)}; OS threads added: project ${tp.join('/')}, baseline ${tb.join('/')}`);
}

async function main() {
  const tStart = performance.now();
  const names = selected();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'df-tenants-bench-'));
  const rows = [];
  const details = [];
  const errors = [];
  const notes = [];
  const ctx = {
    row: (...r) => rows.push(r),
    detail: (l) => details.push(l),
    error: (e) => errors.push(e),
  };
  const run = (kind) => {
    const o = runChild(kind, base);
    for (const e of o.errors) errors.push(`${kind}: ${e}`);
    if (o.stderr) notes.push(`note: child ${kind} wrote to stderr: ${o.stderr.split('\n')[0]}`);
    return o;
  };
  try {
    process.stderr.write(`tenants bench${QUICK ? ' (quick)' : ''}: ${names.join(', ')}\n`);
    for (const name of names) {
      try {
        SCENARIOS[name](run, ctx);
      } catch (e) {
        errors.push(`${name}: ${errText(e)}`);
      }
    }

    const header = ['metric', 'project', 'baseline', 'ratio', 'goals / notes (project)'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r) => r.map((c, i) => (i === 4 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
    console.log(`durable-facets tenants bench${QUICK ? ' (--quick)' : ''} — node ${process.version}, ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? ''}`);
    console.log('one Tenant (root object) per runtime, its apps facets of class App (one table, 10 rows); default runtime options; storage on disk');
    console.log('medians unless said; ratio = project / baseline (times: lower is better); app times are taken in the tenant (parent→facet)');
    console.log('');
    console.log(line(header));
    console.log(line(header.map((_, i) => '-'.repeat(i === 4 ? header[4].length : widths[i]))));
    for (const r of rows) console.log(line(r));
    console.log('');
    console.log('details:');
    for (const l of details) console.log(`  ${l}`);
    console.log('');
    console.log(
      `setup: new-seq ${SEQ_ROUNDS} rounds × ${SEQ_PER_ROUND} apps; new-rate ${RATE_ROUNDS} rounds × ${RATE_PER_ROUND} apps at ${RATE_PER_S}/s, ` +
        `a fresh runtime each; round-robin ${RR_APPS} / ${RR_FIT_APPS} apps × ${RR_ROUNDS} rounds (baseline ${RR_APPS} loaded Workers); ` +
        `many ${fmtInt(MANY)} apps, ${MANY_CHUNK} per RPC; burst ${BURST}; clone ${BIG_MB} MB × ${CLONE_ROUNDS}; ` +
        `rss ${RSS_N} apps / Workers × ${RSS_REPS}; each scenario in fresh child processes`,
    );
    for (const n of notes) console.log(n);
    if (errors.length) {
      console.log('');
      console.log(`ERRORS (${errors.length}):`);
      for (const e of errors) console.log(`  ${e.replace(/\n/g, '\n    ')}`);
      process.exitCode = 1;
    }
    console.log(`total ${fmt((performance.now() - tStart) / 1000)} s`);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

const childArg = process.argv.find((a) => a.startsWith('--child='));
if (childArg) {
  const dir = process.argv.find((a) => a.startsWith('--dir='))?.slice('--dir='.length) ?? os.tmpdir();
  await child(childArg.slice('--child='.length), dir);
} else {
  await main();
  process.exit(); // with process.exitCode
}
