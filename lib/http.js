// Request/Response crossing threads for `stub.fetch()`: bodies fully buffered.
import { withCode } from './error-codes.js';
import { responseSocket, webSocketResponse } from './websocket.js';

export const MAX_BODY_BYTES = 32 * 1024 * 1024;

async function readBody(msg, what) {
  if (msg.body === null) return null;
  const body = await msg.arrayBuffer();
  if (body.byteLength > MAX_BODY_BYTES) {
    throw withCode(new RangeError(`${what} body is larger than 32 MiB.`), 'PayloadTooLarge');
  }
  return body;
}

/** @param {Request} req */
export async function requestToWire(req) {
  return {
    url: req.url,
    method: req.method,
    headers: [...req.headers],
    body: await readBody(req, 'Request'),
  };
}

export function wireToRequest(w) {
  return new Request(w.url, { method: w.method, headers: w.headers, body: w.body });
}

/** @param {Response} res */
export async function responseToWire(res) {
  if (!(res instanceof Response)) {
    throw withCode(new TypeError('fetch() handler must return a Response.'), 'InvalidArgument');
  }
  // A 101 hand-off (SPEC §2.4): the client end leaves with the response, by its number.
  const ws = responseSocket(res);
  if (ws !== null) return { status: 101, statusText: res.statusText, headers: [...res.headers], body: null, webSocket: ws._handOff() };
  return {
    status: res.status,
    statusText: res.statusText,
    headers: [...res.headers],
    body: await readBody(res, 'Response'),
  };
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

export function wireToResponse(w) {
  if (w.webSocket != null) return webSocketResponse(w.webSocket, w);
  return new Response(NULL_BODY_STATUS.has(w.status) ? null : w.body, {
    status: w.status,
    statusText: w.statusText,
    headers: w.headers,
  });
}
