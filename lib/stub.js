// Stubs: property access yields RPC methods; calls through one stub keep their order.
import { STUB, encode } from './codec.js';
import { requestToWire, wireToResponse } from './http.js';
import * as port from './port.js';

/** The class of namespace stubs (its name shows in DataCloneError messages). */
export class DurableObjectStub {}

/**
 * @param {{rt: number, ns: number}} target the namespace the object lives in
 * @param {import('./ids.js').DurableObjectId} id
 */
export function makeStub(target, id) {
  const { rt, ns } = target;
  const hex = id.toString();
  const name = id.name;
  const methods = new Map();
  // Set while a fetch() reads its request body: later calls wait, to keep E-order.
  let tail = null;

  function invoke(method, payload) {
    if (tail === null) return port.send(rt, ns, hex, name, method, payload);
    const p = tail.then(() => port.send(rt, ns, hex, name, method, payload));
    tail = p.catch(() => {});
    return p;
  }

  function method(prop) {
    let f = methods.get(prop);
    if (f === undefined) {
      f = (...args) => {
        let payload;
        try {
          payload = encode(args);
        } catch (e) {
          return Promise.reject(e);
        }
        return invoke(prop, payload);
      };
      methods.set(prop, f);
    }
    return f;
  }

  async function fetchImpl(input, init) {
    const req = input instanceof Request && init === undefined ? input : new Request(input, init);
    const wire = await requestToWire(req);
    return wireToResponse(await port.send(rt, ns, hex, name, 'fetch', encode([wire])));
  }

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
