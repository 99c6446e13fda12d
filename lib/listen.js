// `rt.listen()` (SPEC §2.3): an HTTP server on the main thread that only forwards. Each
// request becomes a `Request` handed to the entry point's `fetch` on a runtime thread; the
// `Response` is written back. Bodies are piped between Node and web streams here, never
// buffered by this module (how they cross threads is lib/http.js's business).
import { createServer, STATUS_CODES } from 'node:http';
import { Readable, finished } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WebSocketServer } from 'ws';
import { withCode, codes } from './error-codes.js';
import { bridgeWebSocket } from './listen-websocket.js';

/** The listener's internal `closeAll()` (rt.dispose() ends connections in flight too). */
export const CLOSE_ALL = Symbol('closeAll');

/** Headers of one hop, which the server (Node) frames itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

const NO_BODY_METHODS = new Set(['GET', 'HEAD']);

/** Statuses whose responses carry no body (and Node refuses to write one for). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

function invalid(message) {
  return withCode(new TypeError(message), 'InvalidArgument');
}

/** @param {unknown} options */
function listenOptions(options) {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') throw invalid('listen() options must be an object.');
  const { port = 0, hostname = '127.0.0.1' } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalid('listen() option "port" must be an integer from 0 to 65535.');
  }
  if (typeof hostname !== 'string' || hostname === '') {
    throw invalid('listen() option "hostname" must be a non-empty string.');
  }
  return { port, hostname };
}

/**
 * The `Request` of a Node request: every header as received (repeated ones kept), except the
 * hop-by-hop ones; the body as a web stream of the Node stream.
 * @param {import('node:http').IncomingMessage} req
 * @param {string} origin `http://host:port` of the listener (for requests without Host)
 */
export function nodeToRequest(req, origin) {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i].toLowerCase())) headers.append(raw[i], raw[i + 1]);
  }
  const host = req.headers.host;
  const url = /^https?:\/\//i.test(req.url) ? req.url : new URL(req.url, host ? `http://${host}` : origin).href;
  const init = { method: req.method, headers };
  if (!NO_BODY_METHODS.has(req.method)) {
    init.body = nodeBody(req);
    init.duplex = 'half';
  }
  return new Request(url, init);
}

/** What a request body's web stream holds before the socket is paused (bytes). */
const BODY_HIGH_WATER = 256 * 1024;

/** Node's AbortError (what `Readable.toWeb` errors its stream with when the client left). */
function abortError(cause) {
  const e = new Error('The operation was aborted', { cause });
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}

/**
 * A request body as a web stream, its chunks as Node read them. `Readable.toWeb` copies
 * each chunk (to detach it from Node's buffer pool): here every chunk is copied once anyway,
 * when it crosses to the runtime thread (lib/raw-bytes.js), and held only until then.
 * Backpressure: the socket is paused while BODY_HIGH_WATER bytes wait to be read.
 * @param {import('node:http').IncomingMessage} req
 */
function nodeBody(req) {
  let controller;
  let settled = false;
  const onData = (chunk) => {
    controller.enqueue(chunk);
    if (controller.desiredSize <= 0) req.pause();
  };
  return new ReadableStream(
    {
      start(c) {
        controller = c;
        req.on('data', onData);
        finished(req, (error) => {
          req.off('data', onData);
          if (settled) return;
          settled = true;
          // A client that went away mid-body: the reader sees an AbortError, as with toWeb.
          if (error?.code === 'ERR_STREAM_PREMATURE_CLOSE') error = abortError(error);
          if (error) controller.error(error);
          else controller.close();
        });
      },
      pull() {
        req.resume();
      },
      cancel() {
        settled = true;
        req.off('data', onData);
        // The rest of the body is not wanted; the response may still be written.
        req.resume();
      },
    },
    { highWaterMark: BODY_HIGH_WATER, size: (chunk) => chunk.byteLength },
  );
}

/**
 * Writes `response` to `res`: status, headers (each Set-Cookie on its own line) and the body
 * piped from its web stream (none for HEAD and null-body statuses).
 * @param {Response} response
 * @param {import('node:http').ServerResponse} res
 * @param {string} method the request's method
 */
export async function responseToNode(response, res, method) {
  const flat = [];
  for (const [name, value] of response.headers) {
    if (!HOP_BY_HOP.has(name)) flat.push(name, value);
  }
  res.writeHead(response.status, response.statusText || undefined, flat);
  const body = response.body;
  if (body === null || method === 'HEAD' || NULL_BODY_STATUS.has(response.status)) {
    res.end();
    await body?.cancel().catch(() => {});
    return;
  }
  await pipeline(Readable.fromWeb(body), res);
}

/** Where an upgrade request carries the 101 response's protocol and headers to `ws`. */
const HANDSHAKE = Symbol('handshake');

/** Headers `ws` writes itself in a 101 (besides the hop-by-hop ones). */
const WS_OWN = new Set(['upgrade', 'sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions']);

/** The subprotocol and the extra header lines of a 101 response. */
function handshake(response) {
  const headers = [];
  for (const [name, value] of response.headers) {
    if (!HOP_BY_HOP.has(name) && !WS_OWN.has(name)) headers.push(`${name}: ${value}`);
  }
  return { protocol: response.headers.get('sec-websocket-protocol') ?? undefined, headers };
}

/** Answers an upgrade request with an ordinary response on the raw socket, then closes it. */
async function writeRaw(socket, response) {
  let body = Buffer.alloc(0);
  try {
    if (response.body !== null) body = Buffer.from(await response.arrayBuffer());
  } catch {}
  let head = `HTTP/1.1 ${response.status} ${response.statusText || STATUS_CODES[response.status] || ''}\r\n`;
  for (const [name, value] of response.headers) {
    if (!HOP_BY_HOP.has(name) && name !== 'content-length') head += `${name}: ${value}\r\n`;
  }
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
}

/** The status of a failed request: 413 for a body over the limit, else 500. */
function failureStatus(error) {
  try {
    return error?.code === codes.PayloadTooLarge ? 413 : 500;
  } catch {
    return 500;
  }
}

/**
 * Serves HTTP with `fetch` (the entry point's): resolves once the server listens.
 * @param {(request: Request) => Promise<Response>} fetch
 * @param {{ port?: number, hostname?: string }} [options]
 * @param {(listener: object) => void} [onClose] called once the listener is closed
 * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
 */
export async function listen(fetch, options, onClose = () => {}) {
  const { port, hostname } = listenOptions(options);
  let origin = '';
  const server = createServer((req, res) => {
    serve(req, res).catch(() => res.destroy());
  });

  async function serve(req, res) {
    let request;
    try {
      request = nodeToRequest(req, origin);
    } catch (e) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`Bad Request: ${e?.message}\n`);
      return;
    }
    let response;
    try {
      response = await fetch(request);
    } catch (e) {
      if (res.destroyed) return; // the client went away: nobody reads the answer
      // As `wrangler dev`, the error is shown where the server runs, not sent to the client.
      console.error(`durable-facets: rt.listen: ${req.method} ${request.url} failed:`, e);
      const status = failureStatus(e);
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(status === 413 ? 'Payload Too Large\n' : 'Internal Server Error\n');
      return;
    }
    await responseToNode(response, res, req.method);
  }

  // WebSocket upgrades (SPEC §2.4): the entry point answers the upgrade request; a 101 with
  // a `webSocket` completes the handshake (the `ws` package speaks the protocol) and its
  // frames are bridged to that end; any other answer is written and the connection closed.
  // The subprotocol and the headers are the entry point's, as on Cloudflare: `ws` offers
  // none of its own choosing.
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (_offered, req) => req[HANDSHAKE]?.protocol ?? false });
  wss.on('headers', (lines, req) => lines.push(...(req[HANDSHAKE]?.headers ?? [])));
  /** Open client connections (closed with the listener: they outlive its HTTP server). */
  const clients = new Set();
  server.on('upgrade', (req, socket, head) => {
    upgrade(req, socket, head).catch(() => socket.destroy());
  });

  async function upgrade(req, socket, head) {
    socket.on('error', () => {});
    let response;
    try {
      response = await fetch(nodeToRequest(req, origin));
    } catch (e) {
      if (socket.destroyed) return;
      console.error(`durable-facets: rt.listen: WebSocket upgrade ${req.url} failed:`, e);
      return writeRaw(socket, new Response('Internal Server Error\n', { status: 500 }));
    }
    const end = response.status === 101 ? response.webSocket : null;
    if (end === null || end === undefined) return writeRaw(socket, response);
    if (socket.destroyed) {
      end._leave();
      return;
    }
    req[HANDSHAKE] = handshake(response);
    wss.handleUpgrade(req, socket, head, (client) => {
      clients.add(client);
      client.on('close', () => clients.delete(client));
      bridgeWebSocket(client, end);
    });
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const host = address.family === 'IPv6' || address.family === 6 ? `[${address.address}]` : address.address;
  origin = `http://${host}:${address.port}`;

  let closed = null;
  const listener = {
    url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${address.port}/`,
    port: address.port,
    /** Stops accepting connections; resolves once the server has stopped. */
    close() {
      closed ??= new Promise((resolve) => {
        server.close(() => resolve());
        for (const client of clients) client.close(1001, 'Server is shutting down');
        // Keep-alive connections with no request in flight would hold close() open.
        server.closeIdleConnections();
      }).then(() => onClose(listener));
      return closed;
    },
  };
  // Not enumerable: internal. Ends every connection, requests in flight too (rt.dispose()).
  Object.defineProperty(listener, CLOSE_ALL, {
    value() {
      const p = listener.close();
      server.closeAllConnections();
      for (const client of clients) client.terminate();
      return p;
    },
  });
  return listener;
}
