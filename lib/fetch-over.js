// `fetch()` through a stub (namespace, facet, entry point): the request goes as one `fetch`
// call whose body streams (lib/body-stream.js), the response comes back the same way.
import { encodeRpcArgs } from './codec.js';
import { unexport } from './refs.js';
import { requestToWire, wireToResponse } from './http.js';
import { sourceOf } from './body-stream.js';

/**
 * A route `send(method, payload, ticket)` that keeps the order calls were made in (E-order,
 * SPEC §2.2) when some of them need a moment before they can go: `send.when(ready, method)`
 * takes the next place in the order for a call whose payload `ready` resolves later (a
 * fetch gathering the first bytes of its body). Calls made meanwhile wait for it to be
 * *sent*, not answered; with nothing waiting, calls go at once.
 * @param {(method: string | (() => string), payload: string | Buffer, ticket?: object) => Promise<unknown>} send
 */
export function orderedSender(send) {
  let waiting = 0;
  /** Resolves once every call placed so far was sent (null: nothing waits). */
  let tail = null;

  function when(ready, method, ticket) {
    waiting++;
    const prev = tail ?? Promise.resolve();
    let done;
    tail = new Promise((resolve) => (done = resolve));
    const sent = Promise.all([prev, ready]).then(([, payload]) => ({ answer: send(method, payload, ticket) }));
    const next = () => {
      done();
      if (--waiting === 0) tail = null;
    };
    sent.then(next, next);
    return sent.then((s) => s.answer);
  }

  const ordered = (method, payload, ticket) => {
    if (waiting === 0) return send(method, payload, ticket);
    return when(payload, method, ticket);
  };
  ordered.when = when;
  return ordered;
}

/**
 * `stub.fetch(input, init)` over `send` (an orderedSender, or a plain route).
 * @returns {Promise<Response>}
 */
export function fetchOver(send, input, init) {
  let req;
  let wire;
  try {
    req = input instanceof Request && init === undefined ? input : new Request(input, init);
    wire = requestToWire(req);
  } catch (e) {
    return Promise.reject(e);
  }
  const exported = [];
  let source = null;
  const encode = (w) => {
    source = sourceOf(w.body);
    return encodeRpcArgs([w], exported);
  };
  let answer;
  if (!(wire instanceof Promise)) {
    let payload;
    try {
      payload = encode(wire);
    } catch (e) {
      return Promise.reject(e);
    }
    answer = send('fetch', payload);
  } else {
    const ready = Promise.resolve(wire).then(encode);
    answer = send.when !== undefined ? send.when(ready, 'fetch') : ready.then((p) => send('fetch', p));
  }
  return answer.then(wireToResponse, (e) => {
    // The request's body will not be read (or the call never arrived): let it go.
    if (source !== null) {
      source.cancel(e);
      unexport(exported);
    }
    throw e;
  });
}
