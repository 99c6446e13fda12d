// DurableObjectState (`this.ctx`): the instance's id, lifetime controls and (later) storage.
import { notSupported } from './errors.js';

const BCW_TIMEOUT_MS = 30_000;

const UNSUPPORTED = [
  ['acceptWebSocket', 'WebSocket hibernation'],
  ['getWebSockets', 'WebSocket hibernation'],
  ['setWebSocketAutoResponse', 'WebSocket hibernation'],
  ['getWebSocketAutoResponse', 'WebSocket hibernation'],
  ['getWebSocketAutoResponseTimestamp', 'WebSocket hibernation'],
  ['setHibernatableWebSocketEventTimeout', 'WebSocket hibernation'],
  ['getHibernatableWebSocketEventTimeout', 'WebSocket hibernation'],
  ['getTags', 'WebSocket hibernation'],
];

export class DurableObjectState {
  #host;

  /**
   * @internal
   * @param {object} host the worker host (see worker/host.js)
   */
  constructor(host, { id, exports, props, storage, facets }) {
    this.#host = host;
    /** @type {import('./ids.js').DurableObjectId} */
    this.id = id;
    this.exports = exports;
    this.props = props;
    /** @type {import('./storage/index.js').DurableObjectStorage} */
    this.storage = storage;
    /** @type {import('./facets.js').DurableObjectFacets} */
    this.facets = facets;
  }

  /** Keeps the instance alive (not evicted) until `promise` settles. */
  waitUntil(promise) {
    this.#host.hold(Promise.resolve(promise));
  }

  /**
   * Delivers no other event to this instance until `fn` settles. If `fn` throws or takes
   * longer than 30 s, the instance is broken.
   * @template T
   * @param {() => T | Promise<T>} fn
   * @returns {Promise<T>}
   */
  blockConcurrencyWhile(fn) {
    return this.#host.blockConcurrencyWhile(fn, BCW_TIMEOUT_MS);
  }

  /** Breaks this instance at once; calls in flight reject with `reason`. */
  abort(reason) {
    this.#host.abort(reason);
  }

  get container() {
    throw notSupported('ctx.container');
  }
}

for (const [method, api] of UNSUPPORTED) {
  Object.defineProperty(DurableObjectState.prototype, method, {
    value() {
      throw notSupported(`${api} (ctx.${method})`);
    },
    writable: true,
    configurable: true,
  });
}
