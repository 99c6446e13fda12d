// Request/Response crossing threads for `stub.fetch()`, `rt.fetch()` and `rt.listen()`:
// head fields by value, bodies streamed (lib/body-stream.js).
import { withCode } from './error-codes.js';
import { bodyToWire, wireToBody } from './body-stream.js';
import { responseSocket, webSocketResponse } from './websocket.js';

/**
 * The wire form of a request. A body is gathered only as far as it is ready now (see
 * bodyToWire); with none, the wire is made synchronously (the hot path).
 * @param {Request} req
 * @returns {object | Promise<object>}
 */
export function requestToWire(req) {
  const wire = { url: req.url, method: req.method, headers: [...req.headers], body: null };
  if (req.body === null) return wire;
  return bodyToWire(req.body).then((body) => {
    wire.body = body;
    return wire;
  });
}

export function wireToRequest(w) {
  const body = wireToBody(w.body);
  const init = { method: w.method, headers: w.headers, body };
  if (body instanceof ReadableStream) init.duplex = 'half';
  return new Request(w.url, init);
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
    body: await bodyToWire(res.body),
  };
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

export function wireToResponse(w) {
  if (w.webSocket != null) return webSocketResponse(w.webSocket, w);
  const body = wireToBody(w.body);
  if (NULL_BODY_STATUS.has(w.status)) {
    // A body the status forbids is never read: let its source go.
    if (body instanceof ReadableStream) body.cancel().catch(() => {});
    return new Response(null, { status: w.status, statusText: w.statusText, headers: w.headers });
  }
  return new Response(body, { status: w.status, statusText: w.statusText, headers: w.headers });
}
