// Stubs: property access yields RPC methods; calls through one stub keep their order.
import { STUB, encode, encodeArgs } from './codec.js';
import { requestToWire, wireToResponse } from './http.js';
import * as port from './port.js';

/** The class of namespace stubs (its name shows in DataCloneError messages). */
export class DurableObjectStub {}

/**
 * The RPC methods of a stub, one function per name: arguments are encoded (DataCloneError
 * rejects) before `send(method, payload)` delivers the call.
 * @param {(method: string, payload: string | Buffer) => Promise<unknown>} send
 */
export function methodTable(send) {
  const methods = new Map();
  return (prop) => {
    let f = methods.get(prop);
    if (f === undefined) {
      f = (...args) => {
        let payload;
        try {
          payload = encodeArgs(args);
        } catch (e) {
          return Promise.reject(e);
        }
        return send(prop, payload);
      };
      methods.set(prop, f);
    }
    return f;
  };
}

/**
 * `stub.fetch()` over `send`: the request (body read in full) goes as a `fetch` call, the
 * response comes back.
 */
export async function fetchOver(send, input, init) {
  const req = input instanceof Request && init === undefined ? input : new Request(input, init);
  const wire = await requestToWire(req);
  return wireToResponse(await send('fetch', encode([wire])));
}

/**
 * @param {{rt: number, ns: number}} target the namespace the object lives in
 * @param {import('./ids.js').DurableObjectId} id
 */
export function makeStub(target, id) {
  const { rt, ns } = target;
  const hex = id.toString();
  const name = id.name;
  // Set while a fetch() reads its request body: later calls wait, to keep E-order.
  let tail = null;

  const direct = (method, payload) => port.send(rt, ns, hex, name, method, payload);

  function invoke(method, payload) {
    if (tail === null) return direct(method, payload);
    const p = tail.then(() => direct(method, payload));
    tail = p.catch(() => {});
    return p;
  }

  const method = methodTable(invoke);
  const fetchImpl = (input, init) => fetchOver(direct, input, init);

  function fetch(input, init) {
    if (tail === null && (input instanceof Request ? input.body === null : init?.body == null)) {
      return fetchImpl(input, init);
    }
    const p = (tail ?? Promise.resolve()).then(() => fetchImpl(input, init));
    tail = p.catch(() => {});
    return p;
  }

  const stub = new Proxy(new DurableObjectStub(), {
    get(_t, prop) {
      switch (prop) {
        case 'id':
          return id;
        case 'name':
          return name;
        case 'then':
          return undefined;
        case 'fetch':
          return fetch;
        case 'dup':
          return () => stub;
        case STUB:
          return 'DurableObjectStub';
      }
      if (prop === Symbol.dispose) return () => {};
      if (typeof prop === 'symbol') return undefined;
      return method(prop);
    },
    has(_t, prop) {
      return prop === 'id' || prop === 'name' || prop === 'fetch' || prop === 'dup';
    },
    set() {
      return false;
    },
  });
  return stub;
}
