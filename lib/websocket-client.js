// Outbound WebSockets from the runtime's threads: `new WebSocket(url, protocols?)` in object
// code, as on Workers, where Node has no WebSocket of its own (Node 20; Node 22+ keeps its
// global). The client is the `ws` package's (its API is the browser's: `addEventListener`,
// `send`, `close`, `readyState`), binary messages arrive as ArrayBuffers as on Workers, and
// each socket belongs to the instance that opened it: while open it keeps the instance from
// idle eviction (as an accepted socket does), and it is closed when the instance stops, so a
// recycled thread never carries a stopped instance's connection.
import { createRequire } from 'node:module';
import { withCode } from './error-codes.js';

const require = createRequire(import.meta.url);

/** Open clients of this thread's current instance. */
const clients = new Set();

/** Called when the number of open clients goes from 0 to 1 and back. */
let countChanged = () => {};

/** `fn()` whenever `clientCount()` may have crossed zero (lib/websocket.js `holding`). */
export function onClientCount(fn) {
  countChanged = fn;
}

/** Open outbound sockets of the current instance. */
export function clientCount() {
  return clients.size;
}

/**
 * `new WebSocket(url, protocols?)`: connects out. A URL other than ws:, wss:, http: or https:
 * is a SyntaxError, as in browsers (http(s) are taken as ws(s)).
 * @param {string | URL} url
 * @param {string | string[]} [protocols]
 */
export function connectWebSocket(url, protocols) {
  let target;
  try {
    target = new URL(String(url));
  } catch {
    throw withCode(new SyntaxError(`Invalid URL: ${String(url)}`), 'InvalidArgument');
  }
  if (target.protocol === 'http:') target.protocol = 'ws:';
  else if (target.protocol === 'https:') target.protocol = 'wss:';
  if (target.protocol !== 'ws:' && target.protocol !== 'wss:') {
    throw withCode(new SyntaxError(`The URL's scheme must be "ws" or "wss"; "${target.protocol.slice(0, -1)}" is not allowed.`), 'InvalidArgument');
  }
  if (target.hash !== '') throw withCode(new SyntaxError('The URL contains a fragment identifier.'), 'InvalidArgument');
  const { WebSocket: Client } = require('ws');
  const socket = new Client(target.href, protocols ?? []);
  socket.binaryType = 'arraybuffer';
  // `ws` emits 'error' as a Node event: without a listener it would throw from its internals.
  // The browser-style 'error' event still reaches `addEventListener('error', …)`.
  socket.on('error', () => {});
  clients.add(socket);
  if (clients.size === 1) countChanged();
  socket.once('close', () => {
    if (clients.delete(socket) && clients.size === 0) countChanged();
  });
  return socket;
}

/** The instance stopped: its outbound sockets go with it. */
export function closeClients() {
  const had = clients.size > 0;
  for (const socket of clients) {
    try {
      socket.terminate();
    } catch {}
  }
  clients.clear();
  if (had) countChanged();
}
