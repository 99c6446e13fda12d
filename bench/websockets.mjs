// WebSocket benchmark (SPEC §2.4), the project beside baselines measured in the same run:
//
//   node bench/websockets.mjs [--sockets 10000]
//
// 1. Echo round trip through rt.listen to an object that uses the hibernation API vs the same
//    echo served by a plain `ws` server on the main thread (goal: median ≤ 2×). The figure is
//    measured by a real `ws` client in another process, as every real client is: 1,000
//    sequential messages per round, the arms interleaved. Printed beside it, for what it
//    shows, the same with the client in this very process: there the plain server and its
//    client share one event loop, so its round trip never waits for a sleeping thread to
//    wake, while any design with the object on its own thread waits for two such wakes —
//    on a VM whose idle cores halt, that wake, not our code, is most of the difference.
// 2. N hibernated sockets on one object (made through stub.fetch, each client end accepted
//    on the main thread): RSS per socket while the object is evicted (goal ≤ 20 KB), beside
//    the RSS per connection of a plain `ws` server holding N connections of a client in
//    another process; and the cold start: the first message after eviction (constructor
//    included) vs a message to the running object.
import { fork } from 'node:child_process';
import { once } from 'node:events';
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

/** Per-round median round trips (µs) of each of `sockets`, the arms interleaved. */
async function echoArms(sockets) {
  for (const ws of sockets) await echoRounds(ws, 200); // warm-up: object started, JIT warm
  const perArm = await interleave(ROUNDS, ...sockets.map((ws) => () => echoRounds(ws, MESSAGES)));
  return perArm.map((rounds) => ({ medians: rounds.map(median), p90: quantile(rounds.flat(), 0.9) }));
}

/** Runs echoArms in a child process (a client as real ones are: not in the server's process). */
async function echoArmsFromChild(urls) {
  const child = fork(new URL(import.meta.url), ['--echo-client', ...urls], { stdio: 'inherit' });
  const exited = once(child, 'exit');
  const [result] = await Promise.race([
    once(child, 'message'),
    exited.then(([code]) => {
      throw new Error(`echo client exited with ${code}`);
    }),
  ]);
  await exited; // its connections are gone before this process opens its own
  return result;
}

async function echo() {
  const rt = new Runtime({ main: FIXTURE, durableObjects: { ECHO: 'Echo' }, warmThreads: 0 });
  const listener = await rt.listen({ port: 0 });
  const projectUrl = `${listener.url.replace('http', 'ws')}echo`;

  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(binary ? data : data.toString())));
  const baselineUrl = `ws://127.0.0.1:${wss.address().port}/`;

  // Floor of any design with the object on another thread: the same plain `ws` server,
  // each message posted to a plain worker_threads Worker (MessagePort) and echoed back from
  // there — two thread hops and nothing else.
  const worker = new Worker(
    "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));",
    { eval: true },
  );
  await once(worker, 'online');
  const hopWss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(hopWss, 'listening');
  hopWss.on('connection', (ws) => {
    const back = (m) => ws.send(m);
    worker.on('message', back);
    ws.on('close', () => worker.off('message', back));
    ws.on('message', (data, binary) => worker.postMessage(binary ? data : data.toString()));
  });
  const hopUrl = `ws://127.0.0.1:${hopWss.address().port}/`;

  const [p, b, h] = await echoArmsFromChild([projectUrl, baselineUrl, hopUrl]);
  const inProcess = await Promise.all([projectUrl, baselineUrl, hopUrl].map(open));
  const [pi, bi, hi] = await echoArms(inProcess);
  for (const ws of inProcess) ws.close();

  const line = (label, arm, base) =>
    `  ${label.padEnd(44)} ${fmt(median(arm.medians)).padStart(6)} µs  p90 ${fmt(arm.p90).padStart(6)}  rounds [${arm.medians.map((x) => fmt(x)).join(' ')}]` +
    (base ? `  ${fmt(median(arm.medians) / median(base.medians), 2)}×` : '');
  const ratio = median(p.medians) / median(b.medians);
  console.log(`WebSocket echo, ${MESSAGES} sequential messages × ${ROUNDS} rounds (median round trip):`);
  console.log(' a ws client in another process (the figure):');
  console.log(line('rt.listen → object (hibernation API)', p, b));
  console.log(line('plain ws server on the main thread', b));
  console.log(line('floor: plain ws + a worker_threads hop each way', h, b));
  console.log(`  ratio ${fmt(ratio, 2)}× (goal ≤ 2×) ${mark(ratio <= 2)}`);
  console.log(' the client in this process (the plain server never waits for a thread to wake):');
  console.log(line('rt.listen → object (hibernation API)', pi, bi));
  console.log(line('plain ws server on the main thread', bi));
  console.log(line('floor: plain ws + a worker_threads hop each way', hi, bi));
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

if (process.argv[2] === '--echo-client') {
  const sockets = await Promise.all(process.argv.slice(3).map(open));
  process.send(await echoArms(sockets), () => process.exit(0));
} else if (process.argv[2] === '--client') {
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
