// Streaming bodies benchmark (SPEC §2.2 stub.fetch, §2.3 rt.listen), beside baselines in
// the same run.
//
//   node bench/streaming.mjs [--gib=1] [--only=upload|small] [--root=/path/to/other/tree]
//
// * Upload: 1 GiB produced on the main thread in fresh 64 KiB chunks and read chunk by chunk
//   by an object's fetch() through stub.fetch — vs the same bytes posted (copied, with a
//   window of 8 chunks in flight) to a plain worker_threads Worker over its MessagePort.
//   And a real HTTP client uploading 1 GiB chunked through rt.listen to the entry point —
//   vs a plain node:http server on the main thread counting the same bytes.
//   Each arm runs in a child process of its own: its peak RSS growth (sampled every 16 MB,
//   from after warm-up) is its own.
// * Small requests: stub.fetch round trip of a GET without body and of a POST with a
//   100-byte body (µs per call, median of rounds). `--root` runs this part on another
//   checkout (e.g. main, for a before/after).
import { fork } from 'node:child_process';
import http from 'node:http';
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, fmt, spread, interleave, MB } from './common.mjs';

const FIXTURE = new URL('./fixtures/streaming-worker.mjs', import.meta.url);
const CHUNK = 64 * 1024;
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const TOTAL = Math.round(Number(args.gib ?? 1) * 1024) * MB;
const ROOT = args.root ?? fileURLToPath(new URL('..', import.meta.url));

async function runtime(options = {}) {
  const { Runtime } = await import(pathToFileURL(`${ROOT}/index.js`).href);
  return new Runtime({ main: FIXTURE, durableObjects: { SINK: 'Sink' }, warmThreads: 1, idleTimeoutMs: 60_000, ...options });
}

/** Samples RSS growth from now on: `sample()` as bytes go by, `peak()` in MB. */
function rssMeter() {
  const rss0 = process.memoryUsage().rss;
  let max = rss0;
  return {
    sample: () => (max = Math.max(max, process.memoryUsage().rss)),
    peak: () => (Math.max(max, process.memoryUsage().rss) - rss0) / MB,
  };
}

/** A ReadableStream of `total` bytes in fresh 64 KiB chunks, sampling RSS every 16 MB. */
function source(total, meter, counts) {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= total) return c.close();
      c.enqueue(new Uint8Array(CHUNK));
      sent += CHUNK;
      counts.pulls++;
      if (sent % (16 * MB) === 0) meter.sample();
    },
  });
}

// ---- arms (each in its own child process) -------------------------------------------------

const ARMS = {
  async 'stub.fetch'() {
    const rt = await runtime();
    const stub = rt.env.SINK.getByName('bench');
    await (await stub.fetch('http://sink/small', { method: 'POST', body: 'warm' })).text();
    const meter = rssMeter();
    const counts = { pulls: 0 };
    const t0 = performance.now();
    const res = await stub.fetch('http://sink/count', { method: 'POST', body: source(TOTAL, meter, counts), duplex: 'half' });
    const [bytes, chunks] = (await res.text()).split(' ').map(Number);
    const s = (performance.now() - t0) / 1000;
    await rt.dispose();
    return { bytes, chunks, pulls: counts.pulls, mbps: bytes / MB / s, rss: meter.peak() };
  },

  async 'MessagePort'() {
    const w = new Worker(
      `const { parentPort } = require('node:worker_threads');
       let bytes = 0, chunks = 0;
       parentPort.on('message', (m) => {
         if (m === null) return parentPort.postMessage({ bytes, chunks });
         bytes += m.byteLength; chunks++;
         parentPort.postMessage(1);
       });`,
      { eval: true },
    );
    await new Promise((r) => w.once('online', r));
    const meter = rssMeter();
    let acked = 0;
    let wake = null;
    let done;
    const result = new Promise((r) => (done = r));
    w.on('message', (m) => {
      if (m === 1) {
        acked++;
        wake?.();
      } else done(m);
    });
    const t0 = performance.now();
    let pulls = 0;
    for (let sent = 0; sent < TOTAL; sent += CHUNK) {
      while (pulls - acked >= 8) await new Promise((r) => (wake = r));
      w.postMessage(new Uint8Array(CHUNK));
      pulls++;
      if ((sent + CHUNK) % (16 * MB) === 0) meter.sample();
    }
    w.postMessage(null);
    const { bytes, chunks } = await result;
    const s = (performance.now() - t0) / 1000;
    await w.terminate();
    return { bytes, chunks, pulls, mbps: bytes / MB / s, rss: meter.peak() };
  },

  async 'rt.listen'() {
    const rt = await runtime();
    const l = await rt.listen({ port: 0 });
    await upload(`${l.url}small`, 1);
    const r = await uploadMeasured(`${l.url}count`);
    await l.close();
    await rt.dispose();
    return r;
  },

  async 'node:http'() {
    const server = http.createServer((req, res) => {
      let bytes = 0;
      let chunks = 0;
      req.on('data', (c) => {
        bytes += c.length;
        chunks++;
      });
      req.on('end', () => res.end(`${bytes} ${chunks}`));
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${server.address().port}/count`;
    await upload(url, 1);
    const r = await uploadMeasured(url);
    server.close();
    return r;
  },
};

/** Uploads `total` bytes chunked (64 KiB writes, with backpressure); resolves the response text. */
function upload(url, total, meter = null, counts = { pulls: 0 }) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    (async () => {
      for (let sent = 0; sent < total; sent += CHUNK) {
        const n = Math.min(CHUNK, total - sent);
        counts.pulls++;
        if (!req.write(new Uint8Array(n))) await new Promise((r) => req.once('drain', r));
        if (meter && (sent + n) % (16 * MB) === 0) meter.sample();
      }
      req.end();
    })().catch(reject);
  });
}

async function uploadMeasured(url) {
  const meter = rssMeter();
  const counts = { pulls: 0 };
  const t0 = performance.now();
  const [bytes, chunks] = (await upload(url, TOTAL, meter, counts)).split(' ').map(Number);
  const s = (performance.now() - t0) / 1000;
  return { bytes, chunks, pulls: counts.pulls, mbps: bytes / MB / s, rss: meter.peak() };
}

function child(arm) {
  return new Promise((resolve, reject) => {
    const c = fork(fileURLToPath(import.meta.url), [...process.argv.slice(2), `--arm=${arm}`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.once('message', resolve);
    c.once('exit', (code) => (code === 0 ? null : reject(new Error(`${arm} exited with ${code}`))));
  });
}

// ---- small requests -------------------------------------------------------------------------

async function small() {
  const ROUNDS = 5;
  const CALLS = 2_000;
  const rt = await runtime();
  const stub = rt.env.SINK.getByName('small');
  const body = 'x'.repeat(100);
  const get = async () => {
    if ((await (await stub.fetch('http://sink/small')).text()) !== 'ok 0') throw new Error('bad answer');
  };
  const post = async () => {
    if ((await (await stub.fetch('http://sink/small', { method: 'POST', body })).text()) !== 'ok 100') throw new Error('bad answer');
  };
  const seq = async (f) => {
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) await f();
    return ((performance.now() - t0) * 1000) / CALLS;
  };
  for (let i = 0; i < 300; i++) await get(), await post();
  const [g, p] = await interleave(ROUNDS, () => seq(get), () => seq(post));
  await rt.dispose();
  console.log(`small stub.fetch round trip (${ROOT}; µs per call, ${ROUNDS} rounds × ${CALLS} sequential, median):`);
  console.log(`  GET, no body              ${fmt(median(g))} ${spread(g)}`);
  console.log(`  POST, 100-byte body       ${fmt(median(p))} ${spread(p)}`);
}

// ---- main -----------------------------------------------------------------------------------

async function main() {
  if (args.arm) {
    const r = await ARMS[args.arm]();
    process.send(r, () => process.exit(0));
    return;
  }
  if (args.only !== 'small') {
    const gib = fmt(TOTAL / 1024 / MB, 2);
    console.log(`${gib} GiB upload read chunk by chunk (64 KiB chunks produced on the main thread; each arm in its own process):`);
    console.log('  arm                                    MB/s   peak RSS growth   chunks read   source pulls');
    const rows = [
      ['stub.fetch → object fetch()', 'stub.fetch'],
      ['baseline: worker MessagePort (copied)', 'MessagePort'],
      ['rt.listen, HTTP client → entry fetch()', 'rt.listen'],
      ['baseline: plain node:http on main', 'node:http'],
    ];
    const results = {};
    for (const [label, arm] of rows) {
      const r = await child(arm);
      results[arm] = r;
      if (r.bytes !== TOTAL) throw new Error(`${arm}: ${r.bytes} bytes arrived, ${TOTAL} sent`);
      console.log(
        `  ${label.padEnd(38)} ${fmt(r.mbps, 0).padStart(5)}   ${`${fmt(r.rss)} MB`.padStart(15)}   ${String(r.chunks).padStart(11)}   ${String(r.pulls).padStart(12)}`,
      );
    }
    const goal = (x) => (x <= 64 ? 'PASS' : 'MISS');
    console.log(`  stub.fetch peak RSS growth ${fmt(results['stub.fetch'].rss)} MB (goal ≤ 64 MB: ${goal(results['stub.fetch'].rss)}); throughput ${fmt(results['stub.fetch'].mbps / results.MessagePort.mbps, 2)}× the MessagePort baseline`);
    console.log(`  rt.listen peak RSS growth ${fmt(results['rt.listen'].rss)} MB; throughput ${fmt(results['rt.listen'].mbps / results['node:http'].mbps, 2)}× plain node:http`);
  }
  if (args.only !== 'upload') await small();
}

await main();
