// Storage benchmark: durable-facets ctx.storage (SQL, KV) beside better-sqlite3, in one run.
//
//   npm i --no-save better-sqlite3@12   # the baseline, once (not a dependency)
//   node bench/storage.mjs
//
// Both sides use files in one fresh temp directory (os.tmpdir(), removed at the end), WAL
// with synchronous=NORMAL. Rounds of the project and of its baseline are interleaved
// (alternating which goes first) and medians are reported, because the machine is noisy.
// Every round starts from an empty database on both sides: the project object calls
// ctx.storage.deleteAll() (which removes its files) and recreates the table in a separate,
// untimed RPC; the baseline opens a new file. One object (one thread) serves every metric,
// so its JIT is as warm as the main thread's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { Runtime } from '../index.js';
import { median, fmt, fmtInt, spread, mark, interleave } from './common.mjs';
import { importBaseline } from './baseline.mjs';

// The baseline is not a dependency of the package (it compiles for a minute on install):
// installed on demand, see bench/baseline.mjs.
const { default: Database } = await importBaseline('better-sqlite3', '12');

const FIXTURE = new URL('./fixtures/storage-worker.mjs', import.meta.url);

const ROUNDS = 7;
const SYNC_ROWS = 100_000;
const IMPLICIT_ROWS = 10_000;
const KV_OPS = 10_000;
const ONE_CALLS = 2_000;

const GOAL_SYNC = 1_000_000; // rows/s
const GOAL_SYNC_RATIO = 0.9; // × better-sqlite3
const WORKERD_SYNC = 369_000;
const GOAL_IMPLICIT = 350_000;
const BAR_IMPLICIT = 454_000; // workerd
const GOAL_KV = 350_000;
const BAR_KV_PUT = 174_000; // workerd
const BAR_KV_GET = 150_000; // workerd

// ---------------------------------------------------------------------------------------
// helpers

const rate = (n, ms) => n / (ms / 1000);

// ---------------------------------------------------------------------------------------
// baseline: better-sqlite3 on a new file per round

const CREATE_T = 'CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, a REAL, b TEXT)';
const INSERT_T = 'INSERT INTO t (a, b) VALUES (?, ?)';

let baseSeq = 0;

function removeDb(file) {
  for (const s of ['', '-wal', '-shm', '-journal']) fs.rmSync(file + s, { force: true });
}

/** Opens a new database file, runs `fn(db)`, closes and removes the file. */
function withBaseDb(dir, fn) {
  const file = path.join(dir, `base-${baseSeq++}.db`);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(CREATE_T);
    db.exec('CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID');
    return fn(db);
  } finally {
    db.close();
    removeDb(file);
  }
}

/** n INSERTs in one db.transaction(); ms (commit included). */
function baseInsertTxn(db, n) {
  const stmt = db.prepare(INSERT_T);
  const t0 = performance.now();
  db.transaction(() => {
    for (let i = 0; i < n; i++) stmt.run(i, 'row');
  })();
  const ms = performance.now() - t0;
  const c = db.prepare('SELECT COUNT(*) AS n FROM t').get().n;
  if (c !== n) throw new Error(`baseline: ${c} rows, expected ${n}`);
  return ms;
}

/** KV put (in one transaction) then get (autocommit reads, then again in one read transaction); ms of each. */
function baseKv(db, n) {
  const put = db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)');
  const get = db.prepare('SELECT value FROM kv WHERE key = ?').pluck();
  let t0 = performance.now();
  db.transaction(() => {
    for (let i = 0; i < n; i++) put.run('k' + i, v8.serialize(i));
  })();
  const putMs = performance.now() - t0;
  let sum = 0;
  t0 = performance.now();
  for (let i = 0; i < n; i++) sum += v8.deserialize(get.get('k' + i));
  const getMs = performance.now() - t0;
  if (sum !== (n * (n - 1)) / 2) throw new Error(`baseline kv: wrong sum ${sum}`);
  sum = 0;
  t0 = performance.now();
  db.transaction(() => {
    for (let i = 0; i < n; i++) sum += v8.deserialize(get.get('k' + i));
  })();
  const getTxnMs = performance.now() - t0;
  if (sum !== (n * (n - 1)) / 2) throw new Error(`baseline kv: wrong sum ${sum}`);
  return { putMs, getMs, getTxnMs };
}

/** n autocommit INSERTs (one transaction each); µs per row. */
function baseAutocommit(db, n) {
  const stmt = db.prepare(INSERT_T);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) stmt.run(i, 'x');
  return ((performance.now() - t0) * 1000) / n;
}

// ---------------------------------------------------------------------------------------
// main

async function main() {
  const tStart = performance.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'df-storage-bench-'));
  const projectDir = path.join(tmp, 'project');
  const baseDir = path.join(tmp, 'baseline');
  fs.mkdirSync(projectDir);
  fs.mkdirSync(baseDir);
  let rt = null;
  try {
    rt = new Runtime({
      main: FIXTURE,
      durableObjects: { BENCH: 'Bench' },
      storage: projectDir,
      warmThreads: 0,
      idleTimeoutMs: 600_000,
    });
    const stub = rt.env.BENCH.getByName('bench');
    await stub.setup();

    const expectRows = async (n, what) => {
      const c = await stub.count();
      if (c !== n) throw new Error(`${what}: the object holds ${c} rows, expected ${n}`);
    };

    // --- the project's arms (each starts from a fresh database, reset untimed) ---
    const pSync = async () => {
      await stub.reset();
      const t0 = performance.now();
      const inside = await stub.insertSync(SYNC_ROWS);
      const whole = performance.now() - t0;
      return { inside, whole };
    };
    const pImplicit = async () => {
      await stub.reset();
      const t0 = performance.now();
      const inside = await stub.insertImplicit(IMPLICIT_ROWS);
      const whole = performance.now() - t0;
      return { inside, whole };
    };
    const pKv = async () => {
      await stub.reset();
      let t0 = performance.now();
      const putInside = await stub.kvPut(KV_OPS);
      const putWhole = performance.now() - t0;
      t0 = performance.now();
      const getInside = await stub.kvGet(KV_OPS);
      const getWhole = performance.now() - t0;
      return { putInside, putWhole, getInside, getWhole };
    };
    const oneCalls = [];
    const seqCalls = async (method, n, perCall) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const c0 = performance.now();
        await stub[method](i);
        perCall?.push((performance.now() - c0) * 1000);
      }
      return ((performance.now() - t0) * 1000) / n;
    };
    const noopCalls = [];
    const pOne = async () => {
      await stub.reset();
      return seqCalls('writeOne', ONE_CALLS, oneCalls);
    };
    const pNoop = () => seqCalls('noop', ONE_CALLS, noopCalls);

    // --- baseline arms ---
    const bSync = () => withBaseDb(baseDir, (db) => baseInsertTxn(db, SYNC_ROWS));
    const bImplicit = () => withBaseDb(baseDir, (db) => baseInsertTxn(db, IMPLICIT_ROWS));
    const bKv = () => withBaseDb(baseDir, (db) => baseKv(db, KV_OPS));
    const bOne = () => withBaseDb(baseDir, (db) => baseAutocommit(db, ONE_CALLS));

    // --- warm-up (one round of everything) + sanity checks ---
    await pSync();
    await expectRows(SYNC_ROWS, 'insertSync');
    bSync();
    await pImplicit();
    await expectRows(IMPLICIT_ROWS, 'insertImplicit');
    bImplicit();
    await pKv();
    bKv();
    await pOne();
    await expectRows(ONE_CALLS, 'writeOne');
    await pNoop();
    bOne();
    oneCalls.length = 0;
    noopCalls.length = 0;

    // --- measured rounds ---
    const [sp, sb] = await interleave(ROUNDS, pSync, bSync);
    const [ip, ib] = await interleave(ROUNDS, pImplicit, bImplicit);
    const [kp, kb] = await interleave(ROUNDS, pKv, bKv);
    const [op, np, ob] = await interleave(ROUNDS, pOne, pNoop, bOne);
    await expectRows(ONE_CALLS, 'writeOne (last round)');

    // -------------------------------------------------------------------------------------
    // report
    const rows = [];
    const syncInside = sp.map((x) => rate(SYNC_ROWS, x.inside));
    const syncWhole = sp.map((x) => rate(SYNC_ROWS, x.whole));
    const syncBase = sb.map((ms) => rate(SYNC_ROWS, ms));
    const syncGoal = (r) =>
      `goal ≥ ${fmtInt(GOAL_SYNC)}/s: ${mark(r >= GOAL_SYNC)}; ≥ ${GOAL_SYNC_RATIO}× better-sqlite3: ${mark(
        r >= GOAL_SYNC_RATIO * median(syncBase),
      )}; workerd ${fmtInt(WORKERD_SYNC)}/s: ${r > WORKERD_SYNC ? 'above' : 'BELOW'}`;
    rows.push([
      `${fmtInt(SYNC_ROWS)} INSERTs in transactionSync, timed inside the object`,
      `${fmtInt(median(syncInside))} rows/s`,
      `${fmtInt(median(syncBase))} rows/s`,
      fmt(median(syncInside) / median(syncBase), 2),
      syncGoal(median(syncInside)),
    ]);
    rows.push([
      `  same, whole RPC from main (commit included)`,
      `${fmtInt(median(syncWhole))} rows/s`,
      `${fmtInt(median(syncBase))} rows/s`,
      fmt(median(syncWhole) / median(syncBase), 2),
      syncGoal(median(syncWhole)),
    ]);

    const implWhole = ip.map((x) => rate(IMPLICIT_ROWS, x.whole));
    const implInside = ip.map((x) => rate(IMPLICIT_ROWS, x.inside));
    const implBase = ib.map((ms) => rate(IMPLICIT_ROWS, ms));
    const implGoal = (r) =>
      `goal ≥ ${fmtInt(GOAL_IMPLICIT)}/s: ${mark(r >= GOAL_IMPLICIT)}; hard bar > workerd ${fmtInt(BAR_IMPLICIT)}/s: ${mark(
        r > BAR_IMPLICIT,
      )}`;
    rows.push([
      `${fmtInt(IMPLICIT_ROWS)} INSERTs, implicit txn, whole RPC from main`,
      `${fmtInt(median(implWhole))} ops/s`,
      `${fmtInt(median(implBase))} rows/s`,
      fmt(median(implWhole) / median(implBase), 2),
      implGoal(median(implWhole)),
    ]);
    rows.push([
      `  same, loop timed inside the object (no commit)`,
      `${fmtInt(median(implInside))} ops/s`,
      `${fmtInt(median(implBase))} rows/s`,
      fmt(median(implInside) / median(implBase), 2),
      '',
    ]);

    const kvGoal = (r, bar) =>
      `goal ≥ ${fmtInt(GOAL_KV)}/s: ${mark(r >= GOAL_KV)}; hard bar > workerd ${fmtInt(bar)}/s: ${mark(r > bar)}`;
    const putInside = kp.map((x) => rate(KV_OPS, x.putInside));
    const putWhole = kp.map((x) => rate(KV_OPS, x.putWhole));
    const putBase = kb.map((x) => rate(KV_OPS, x.putMs));
    const getInside = kp.map((x) => rate(KV_OPS, x.getInside));
    const getWhole = kp.map((x) => rate(KV_OPS, x.getWhole));
    const getBase = kb.map((x) => rate(KV_OPS, x.getMs));
    const getBaseTxn = kb.map((x) => rate(KV_OPS, x.getTxnMs));
    rows.push([
      `KV put ×${fmtInt(KV_OPS)}, timed inside the object (no commit)`,
      `${fmtInt(median(putInside))} ops/s`,
      `${fmtInt(median(putBase))} ops/s`,
      fmt(median(putInside) / median(putBase), 2),
      kvGoal(median(putInside), BAR_KV_PUT),
    ]);
    rows.push([
      `  same, whole RPC from main (commit included)`,
      `${fmtInt(median(putWhole))} ops/s`,
      `${fmtInt(median(putBase))} ops/s`,
      fmt(median(putWhole) / median(putBase), 2),
      kvGoal(median(putWhole), BAR_KV_PUT),
    ]);
    rows.push([
      `KV get ×${fmtInt(KV_OPS)}, timed inside the object`,
      `${fmtInt(median(getInside))} ops/s`,
      `${fmtInt(median(getBase))} ops/s`,
      fmt(median(getInside) / median(getBase), 2),
      kvGoal(median(getInside), BAR_KV_GET),
    ]);
    rows.push([
      `  same, whole RPC from main`,
      `${fmtInt(median(getWhole))} ops/s`,
      `${fmtInt(median(getBase))} ops/s`,
      fmt(median(getWhole) / median(getBase), 2),
      kvGoal(median(getWhole), BAR_KV_GET),
    ]);
    rows.push([
      `  inside the object, vs baseline reads in one db.transaction`,
      `${fmtInt(median(getInside))} ops/s`,
      `${fmtInt(median(getBaseTxn))} ops/s`,
      fmt(median(getInside) / median(getBaseTxn), 2),
      '',
    ]);

    const opM = median(op);
    const npM = median(np);
    const obM = median(ob);
    rows.push([
      `RPC writing one row, sequential (round avg)`,
      `${fmt(opM)} µs`,
      `autocommit run() ${fmt(obM)} µs`,
      fmt(opM / obM, 2),
      `plain RPC (noop) ${fmt(npM)} µs → write + commit adds ${fmt(opM - npM)} µs`,
    ]);
    const opC = median(oneCalls);
    const npC = median(noopCalls);
    rows.push([
      `  same, per-call median`,
      `${fmt(opC)} µs`,
      `autocommit run() ${fmt(obM)} µs`,
      fmt(opC / obM, 2),
      `plain RPC (noop) ${fmt(npC)} µs → write + commit adds ${fmt(opC - npC)} µs`,
    ]);

    const header = ['metric', 'project', 'better-sqlite3', 'ratio', 'goals (project)'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r) => r.map((c, i) => (i === 4 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
    console.log(
      `durable-facets storage bench — node ${process.version}, ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? ''}`,
    );
    console.log(`medians of ${ROUNDS} rounds; project and baseline rounds interleaved. ratio = project / baseline`);
    console.log(`(rates: higher is better, above 1 means the project is faster; times: lower is better)`);
    console.log(
      `files in ${tmp} (removed at the end), WAL + synchronous=NORMAL on both sides; ` +
        `a fresh database every round (project: ctx.storage.deleteAll() + CREATE TABLE, untimed; baseline: a new file)`,
    );
    console.log('');
    console.log(line(header));
    console.log(line(header.map((_, i) => '-'.repeat(i === 4 ? header[4].length : widths[i]))));
    for (const r of rows) console.log(line(r));
    console.log('');
    const k = (xs) => spread(xs.map((x) => x / 1000), 0);
    console.log('per-round values (k/s unless µs):');
    console.log(`  transactionSync inside    project ${k(syncInside)}  baseline ${k(syncBase)}`);
    console.log(`  transactionSync whole     project ${k(syncWhole)}`);
    console.log(`  implicit whole            project ${k(implWhole)}  baseline ${k(implBase)}`);
    console.log(`  implicit inside           project ${k(implInside)}`);
    console.log(`  KV put inside             project ${k(putInside)}  baseline ${k(putBase)}`);
    console.log(`  KV put whole              project ${k(putWhole)}`);
    console.log(`  KV get inside             project ${k(getInside)}  baseline ${k(getBase)}`);
    console.log(`  KV get whole              project ${k(getWhole)}  baseline in one txn ${k(getBaseTxn)}`);
    console.log(`  writeOne µs               project ${spread(op)}  noop ${spread(np)}  baseline ${spread(ob)}`);
    console.log('');
    console.log(
      `setup: ${ROUNDS} rounds (+1 warm-up) of: ${fmtInt(SYNC_ROWS)} rows in transactionSync / db.transaction; ` +
        `${fmtInt(IMPLICIT_ROWS)} rows in one RPC (implicit txn) / db.transaction; ` +
        `${fmtInt(KV_OPS)} KV put (baseline: INSERT OR REPLACE + v8.serialize in one db.transaction) then get ` +
        `(baseline: SELECT + v8.deserialize, autocommit, and again in one db.transaction); ${fmtInt(ONE_CALLS)} sequential writeOne / noop RPCs ` +
        `(baseline: autocommit stmt.run(), one transaction per row)`,
    );
    const wide = (xs) => Math.max(...xs) / Math.min(...xs) > 3;
    for (const [name, xs] of [
      ['transactionSync', syncInside],
      ['implicit', implWhole],
      ['KV put', putInside],
      ['KV get', getInside],
      ['writeOne', op],
    ]) {
      if (wide(xs)) console.log(`note: ${name} rounds differ more than 3× — noisy run.`);
    }
    console.log(`total ${fmt((performance.now() - tStart) / 1000)} s`);
  } finally {
    await rt?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
