// WebSocket benchmark (SPEC §2.4), the project beside baselines measured in the same run:
//
//   node bench/websockets.mjs [--sockets 10000]
//
// 1. Echo round trip through rt.listen to an object that uses the hibernation API (a real
//    `ws` client over TCP, 1,000 sequential messages per round) vs the same echo served by a
//    plain `ws` server on the main thread. Goal: median ≤ 2×.
// 2. N hibernated sockets on one object (made through stub.fetch, each client end accepted
//    on the main thread): RSS per socket while the object is evicted (goal ≤ 20 KB), beside
//    the RSS per connection of a plain `ws` server holding N connections of a client in
//    another process; and the cold start: the first message after eviction (constructor
//    included) vs a message to the running object.
import { fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket, { WebSocketServer } from 'ws';
import { Runtime } from '../index.js';
import { median, quantile, fmt, fmtInt, mark, interleave } from './common.mjs';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

const ROUNDS = 5;
const MESSAGES = 1_000;
const argSockets = process.argv.indexOf('--sockets');
const SOCKETS = argSockets > 0 ? Number(process.argv[argSockets + 1]) : 10_000;
const FIXTURE = new URL('./fixtures/ws-echo.mjs', import.meta.url);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Opens a `ws` client; resolves it once open. */
function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Round trips (µs) of `n` sequential messages on `ws`. */
async function echoRounds(ws, n) {
  const out = [];
  let resolve;
  ws.on('message', () => resolve());
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise((r) => {
      resolve = r;
      ws.send(`message ${i}`);
    });
    out.push((performance.now() - t0) * 1000);
  }
  ws.removeAllListeners('message');
  return out;
}

async function rss() {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(50);
  }
  return process.memoryUsage().rss;
}

// ---- 1. echo ------------------------------------------------------------------------------

async function echo() {
  const rt = new Runtime({ main: FIXTURE, durableObjects: { ECHO: 'Echo' }, warmThreads: 0 });
  const listener = await rt.listen({ port: 0 });
  const project = await open(`${listener.url.replace('http', 'ws')}echo`);

  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(binary ? data : data.toString())));
  const baseline = await open(`ws://127.0.0.1:${wss.address().port}/`);

  // Floor of any design with the object on another thread: the same plain `ws` server,
  // each message posted to a plain worker_threads Worker (MessagePort) and echoed back from
  // there — two thread hops and nothing else.
  const worker = new Worker(
    "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));",
    { eval: true },
  );
  await new Promise((r) => worker.once('online', r));
  const hopWss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => hopWss.once('listening', r));
  hopWss.on('connection', (ws) => {
    worker.on('message', (m) => ws.send(m));
    ws.on('message', (data, binary) => worker.postMessage(binary ? data : data.toString()));
  });
  const hop = await open(`ws://127.0.0.1:${hopWss.address().port}/`);

  // Reference: one RPC round trip main thread → the same object (two thread hops, as the
  // echo's own hops between the main thread, which owns the TCP socket, and the object).
  const stub = rt.env.ECHO.getByName('echo');
  const rpcRounds = async (n) => {
    const out = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await stub.ping(i);
      out.push((performance.now() - t0) * 1000);
    }
    return out;
  };

  await echoRounds(project, 200); // warm-up: the object started, JIT warm
  await echoRounds(baseline, 200);
  await echoRounds(hop, 200);
  await rpcRounds(200);
  const [p, b, h, c] = await interleave(
    ROUNDS,
    () => echoRounds(project, MESSAGES),
    () => echoRounds(baseline, MESSAGES),
    () => echoRounds(hop, MESSAGES),
    () => rpcRounds(MESSAGES),
  );
  const pm = p.map(median);
  const bm = b.map(median);
  const ratio = median(pm) / median(bm);
  console.log(`WebSocket echo, ${MESSAGES} sequential messages × ${ROUNDS} rounds (median round trip, µs):`);
  console.log(`  rt.listen → object (hibernation API): ${fmt(median(pm))} µs  p90 ${fmt(quantile(p.flat(), 0.9))}  rounds [${pm.map((x) => fmt(x)).join(' ')}]`);
  console.log(`  plain ws server on the main thread:   ${fmt(median(bm))} µs  p90 ${fmt(quantile(b.flat(), 0.9))}  rounds [${bm.map((x) => fmt(x)).join(' ')}]`);
  console.log(`  ratio ${fmt(ratio, 2)}× (goal ≤ 2×) ${mark(ratio <= 2)}`);
  const hm = h.map(median);
  console.log(`  floor: plain ws server + a worker_threads hop each way: ${fmt(median(hm))} µs (${fmt(median(hm) / median(bm), 2)}× the plain server)  rounds [${hm.map((x) => fmt(x)).join(' ')}]`);
  console.log(`  reference: stub.ping() RPC round trip main thread → the same object: ${fmt(median(c.map(median)))} µs`);
  project.close();
  baseline.close();
  hop.close();
  wss.close();
  hopWss.close();
  await worker.terminate();
  await listener.close();
  await rt.dispose();
}

// ---- 2. many hibernated sockets ---------------------------------------------------------------

async function hibernated() {
  const rt = new Runtime({ main: FIXTURE, durableObjects: { ECHO: 'Echo' }, warmThreads: 0, idleTimeoutMs: 300 });
  const stub = rt.env.ECHO.getByName('many');
  const connectOne = async () => {
    const res = await stub.fetch('http://x/many', { headers: { Upgrade: 'websocket' } });
    const ws = res.webSocket;
    ws.accept();
    return ws;
  };
  // The object and the main thread's machinery exist before the baseline reading.
  const warm = await connectOne();
  const running = async () => (await rt.inspect('ECHO', 'many')).facets[0].running;
  while (await running()) await sleep(50);
  const before = await rss();
  const sockets = [warm];
  const t0 = performance.now();
  for (let i = 1; i < SOCKETS; i++) sockets.push(await connectOne());
  const openMs = performance.now() - t0;
  while (await running()) await sleep(50);
  const after = await rss();
  const perSocket = (after - before) / (SOCKETS - 1);

  // Cold start: the first message after eviction starts a new instance.
  const roundTrip = (ws, text) =>
    new Promise((resolve) => {
      const t = performance.now();
      ws.addEventListener('message', () => resolve((performance.now() - t) * 1000), { once: true });
      ws.send(text);
    });
  const colds = [];
  const warms = [];
  for (let r = 0; r < 3; r++) {
    while (await running()) await sleep(50);
    colds.push(await roundTrip(sockets[r], 'wake up'));
    for (let i = 0; i < 20; i++) warms.push(await roundTrip(sockets[r], 'again'));
  }
  console.log(`${fmtInt(SOCKETS)} hibernated sockets on one object (opened in ${fmt(openMs / 1000, 1)} s through stub.fetch):`);
  console.log(`  RSS while the object is evicted: +${fmt((after - before) / 1024 / 1024, 1)} MB, ${fmt(perSocket / 1024, 2)} KB per socket (goal ≤ 20 KB) ${mark(perSocket <= 20 * 1024)}`);
  console.log(`  first message after eviction (cold start): median ${fmt(median(colds) / 1000, 2)} ms [${colds.map((x) => fmt(x / 1000, 2)).join(' ')}]; to the running object: median ${fmt(median(warms), 0)} µs`);
  for (const ws of sockets) ws.close();
  await rt.dispose();
  return perSocket;
}

/** Baseline: RSS per connection of a plain `ws` server holding N connections (client in a child). */
async function plainServerMemory() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const held = [];
  wss.on('connection', (ws) => held.push(ws));
  const before = await rss();
  const child = fork(new URL(import.meta.url), ['--client', String(wss.address().port), String(SOCKETS)], { stdio: 'inherit' });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('error', reject);
  });
  while (held.length < SOCKETS) await sleep(20);
  const after = await rss();
  child.kill();
  wss.close();
  for (const ws of held) ws.terminate();
  const per = (after - before) / SOCKETS;
  console.log(`  baseline: a plain ws server holding ${fmtInt(SOCKETS)} connections: ${fmt(per / 1024, 2)} KB per connection`);
}

if (process.argv[2] === '--client') {
  const port = Number(process.argv[3]);
  const n = Number(process.argv[4]);
  const clients = [];
  for (let i = 0; i < n; i++) clients.push(await open(`ws://127.0.0.1:${port}/`));
  process.send('open');
  setInterval(() => {}, 1 << 30);
} else {
  await echo();
  await hibernated();
  await plainServerMemory();
}
