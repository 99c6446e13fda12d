// Helpers of the WebSocket tests: a runtime serving __test__/fixtures/websockets.mjs and a
// real `ws` client over TCP whose messages queue up until read.
import WebSocket from 'ws';
import { runtime, fixture } from './helpers.mjs';

/** A runtime on the WebSocket fixtures (Room: hibernation; Plain: accept()). */
export function wsRuntime(t, options = {}) {
  return runtime(t, {
    main: fixture('websockets.mjs'),
    durableObjects: { ROOMS: 'Room', PLAINS: 'Plain' },
    ...options,
  });
}

/** `rt.listen()` on a free port, closed after the test; resolves its ws:// base URL. */
export async function wsBase(t, rt) {
  const l = await rt.listen({ port: 0 });
  t.after(() => l.close());
  return l.url.replace(/^http/, 'ws');
}

/**
 * Connects; resolves `{ ws, next(), closed }`: `next()` resolves the next message (text as
 * string, binary as Buffer), `closed` resolves `[code, reason]`.
 */
export function connect(t, url) {
  const ws = new WebSocket(url);
  t.after(() => ws.terminate());
  const queue = [];
  const waiters = [];
  ws.on('message', (data, binary) => {
    const m = binary ? Buffer.from(data) : data.toString();
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve([code, reason.toString()])));
  const next = () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, next, closed }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const e = new Error(`unexpected response ${res.statusCode}`);
        e.status = res.statusCode;
        e.headers = res.headers;
        e.body = Buffer.concat(chunks).toString();
        reject(e);
      });
    });
  });
}

/** Sends `message` and resolves the next message. */
export async function ask(client, message) {
  client.ws.send(message);
  return client.next();
}

/** Whether the root object `name` of binding `binding` runs now. */
export async function running(rt, binding, name) {
  const info = await rt.inspect(binding, name);
  return info.facets[0]?.running ?? false;
}
