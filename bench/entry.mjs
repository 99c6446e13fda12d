// Entry point benchmark (SPEC §2.3): rt.fetch and rt.listen beside baselines in one run.
//
//   node bench/entry.mjs
//
// * rt.fetch round trip vs stub.fetch to an object vs the same handler called on the main
//   thread (each: build a Request, call, read the body as text).
// * rt.listen requests/s vs a plain node:http server answering the same text on the main
//   thread, and vs node:http calling the handler on the main thread through the listener's
//   own Node↔web conversion — sequential (one keep-alive connection) and 16 concurrent.
// Rounds of the arms are interleaved (rotating which goes first) and medians reported: the
// machine is noisy.
import http from 'node:http';
import { Runtime } from '../index.js';
import { nodeToRequest, responseToNode } from '../lib/listen.js';
import { median, fmt, fmtInt, spread, interleave } from './common.mjs';
import * as fixture from './fixtures/entry-worker.mjs';

const FIXTURE = new URL('./fixtures/entry-worker.mjs', import.meta.url);
const ROUNDS = 5;
const FETCH_CALLS = 2_000; // per round, sequential
const SEQ_REQUESTS = 2_000; // per round, one connection
const CONC_REQUESTS = 4_000; // per round, 16 connections
const WIDTH = 16;

/** µs per call over `n` sequential calls. */
async function seq(call, n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await call(i);
  return ((performance.now() - t0) * 1000) / n;
}

/** Requests/s with `width` requests always outstanding, `total` in all. */
async function flight(call, width, total) {
  let sent = 0;
  const lane = async () => {
    while (sent < total) await call(sent++);
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: width }, lane));
  return total / ((performance.now() - t0) / 1000);
}

/** GET `url` through `agent`, resolving with the body text. */
function get(agent, url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** A node:http server on a free port; resolves `{ url, close() }`. */
async function nodeServer(handler) {
  const server = http.createServer(handler);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => new Promise((r) => {
      server.close(r);
      server.closeAllConnections();
    }),
  };
}

const ratio = (a, b) => `${fmt(a / b, 2)}×`;

async function main() {
  const rt = new Runtime({ main: FIXTURE, durableObjects: { ECHO: 'Echo' }, warmThreads: 2, idleTimeoutMs: 60_000 });
  const stub = rt.env.ECHO.getByName('bench');
  const check = async (res, path) => {
    const text = await res.text();
    if (text !== `ok ${path}`) throw new Error(`unexpected body ${text}`);
  };

  // ---- rt.fetch vs stub.fetch vs the handler on the main thread
  const viaEntry = async () => check(await rt.fetch('http://app/e'), '/e');
  const viaStub = async () => check(await stub.fetch('http://app/s'), '/s');
  const direct = async () => check(await fixture.default.fetch(new Request('http://app/d')), '/d');
  const ping = (i) => stub.ping(i);
  for (const f of [viaEntry, viaStub, direct, ping]) for (let i = 0; i < 200; i++) await f(i); // warm-up
  const [entryUs, stubUs, directUs, pingUs] = await interleave(
    ROUNDS,
    () => seq(viaEntry, FETCH_CALLS),
    () => seq(viaStub, FETCH_CALLS),
    () => seq(direct, FETCH_CALLS),
    () => seq(ping, FETCH_CALLS),
  );
  console.log(`fetch round trip (µs per call, ${ROUNDS} rounds × ${fmtInt(FETCH_CALLS)} sequential, median):`);
  console.log(`  rt.fetch (entry point)      ${fmt(median(entryUs))} ${spread(entryUs)}`);
  console.log(`  stub.fetch (object)         ${fmt(median(stubUs))} ${spread(stubUs)}`);
  console.log(`  handler on the main thread  ${fmt(median(directUs))} ${spread(directUs)}`);
  console.log(`  (for scale: stub.ping() RPC ${fmt(median(pingUs))} ${spread(pingUs)}: the rest of a fetch is Request/Response work)`);
  console.log(`  rt.fetch / stub.fetch = ${ratio(median(entryUs), median(stubUs))}, rt.fetch / direct = ${ratio(median(entryUs), median(directUs))}`);

  // ---- rt.listen vs node:http
  const listener = await rt.listen({ port: 0 });
  const plain = await nodeServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`ok ${new URL(req.url, 'http://x').pathname}`);
  });
  const converted = await nodeServer((req, res) => {
    fixture.default
      .fetch(nodeToRequest(req, 'http://127.0.0.1'))
      .then((response) => responseToNode(response, res, req.method))
      .catch(() => res.destroy());
  });
  const servers = [
    ['rt.listen (entry point)', listener.url],
    ['node:http, same handler on main', converted.url],
    ['node:http, plain res.end()', plain.url],
  ];
  for (const [name, sockets, total, label] of [
    ['sequential', 1, SEQ_REQUESTS, '1 keep-alive connection'],
    ['concurrent', WIDTH, CONC_REQUESTS, `${WIDTH} concurrent keep-alive connections`],
  ]) {
    const agents = servers.map(() => new http.Agent({ keepAlive: true, maxSockets: sockets }));
    const arms = servers.map(([, url], i) => {
      const path = `${url}r`;
      return () => flight(async () => {
        const body = await get(agents[i], path);
        if (body !== 'ok /r') throw new Error(`unexpected body ${body}`);
      }, sockets, total);
    });
    for (const arm of arms) await arm(); // warm-up (connections, JIT)
    const results = await interleave(ROUNDS, ...arms);
    console.log(`HTTP requests/s, ${name} (${label}, ${ROUNDS} rounds × ${fmtInt(total)}, median):`);
    results.forEach((xs, i) => console.log(`  ${servers[i][0].padEnd(33)} ${fmtInt(median(xs))} ${spread(xs, 0)}`));
    const [l, c, p] = results.map(median);
    console.log(`  rt.listen / plain node:http = ${ratio(l, p)}, rt.listen / same handler on main = ${ratio(l, c)}`);
    for (const a of agents) a.destroy();
  }

  await listener.close();
  await plain.close();
  await converted.close();
  await rt.dispose();
}

await main();
