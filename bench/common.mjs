// Helpers shared by the benchmark scripts: statistics, formatting, /proc readings, and the
// plain worker_threads baselines the project is measured against.
import fs from 'node:fs';

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

export const MB = 1024 * 1024;
export const errText = (e) => `${e?.name ?? 'Error'}: ${e?.message ?? e}`;

/** A numeric field of /proc/self/status (Linux), or NaN. */
export function procStatus(field) {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
}
export const osThreads = () => procStatus('Threads');
/** Peak RSS of this process (bytes). */
export const peakRss = () => procStatus('VmHWM') * 1024; // kB → bytes

export const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
export const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : String(x));
export const spread = (xs, d = 1) => `[${xs.map((x) => fmt(x, d)).join(' ')}]`;
export const mark = (ok) => (ok ? 'PASS' : 'MISS');

/** Runs the arms of each round in a rotating order; returns one array of results per arm. */
export async function interleave(rounds, ...arms) {
  const out = arms.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < arms.length; k++) {
      const i = (r + k) % arms.length;
      out[i].push(await arms[i](r));
    }
  }
  return out;
}

/** The next message of a plain Worker (or its error). */
export function once(worker) {
  return new Promise((resolve, reject) => {
    const onMsg = (m) => {
      worker.off('error', onErr);
      resolve(m);
    };
    const onErr = (e) => {
      worker.off('message', onMsg);
      reject(e);
    };
    worker.once('message', onMsg);
    worker.once('error', onErr);
  });
}

/** Baseline worker (CommonJS, eval): echoes messages, or those of a MessagePort it is sent. */
export const ECHO_CODE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m !== null && typeof m === 'object' && m.port) {
    m.port.on('message', (x) => m.port.postMessage(x));
  } else {
    parentPort.postMessage(m);
  }
});
`;

/**
 * Baseline worker (CommonJS, eval): given a port to an echo worker, pings it n times in
 * sequence and reports µs per round trip (mean, or with perCall the median of single calls).
 */
export const PINGER_CODE = `
const { parentPort } = require('node:worker_threads');
let port = null;
let resolve = null;
const ping = (x) => new Promise((r) => { resolve = r; port.postMessage(x); });
parentPort.on('message', async (m) => {
  if (m.port) {
    port = m.port;
    port.on('message', (x) => { const r = resolve; resolve = null; r(x); });
    parentPort.postMessage('ready');
    return;
  }
  await ping(-1);
  if (m.perCall) {
    const t = new Float64Array(m.n);
    for (let i = 0; i < m.n; i++) {
      const t0 = performance.now();
      await ping(i);
      t[i] = (performance.now() - t0) * 1000;
    }
    t.sort();
    const h = m.n >> 1;
    parentPort.postMessage(m.n % 2 ? t[h] : (t[h - 1] + t[h]) / 2);
    return;
  }
  const t0 = performance.now();
  for (let i = 0; i < m.n; i++) await ping(i);
  parentPort.postMessage(((performance.now() - t0) * 1000) / m.n);
});
`;
