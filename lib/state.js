// DurableObjectState (`this.ctx`): the instance's id, lifetime controls and (later) storage.
import { notSupported } from './errors.js';
import * as ws from './websocket.js';

const BCW_TIMEOUT_MS = 30_000;

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

  // ---- WebSocket hibernation (SPEC §2.4; lib/websocket.js) ----

  /** Accepts `ws` for this object: its events reach the handlers, even after eviction. */
  acceptWebSocket(webSocket, tags) {
    ws.acceptWebSocket(this.#host.name, webSocket, tags);
  }

  /** Sockets accepted with `acceptWebSocket` (by any instance of this object), by tag. */
  getWebSockets(tag) {
    return ws.getWebSockets(tag);
  }

  getTags(webSocket) {
    return ws.getTags(webSocket);
  }

  setWebSocketAutoResponse(pair) {
    ws.setWebSocketAutoResponse(pair);
  }

  getWebSocketAutoResponse() {
    return ws.getWebSocketAutoResponse();
  }

  getWebSocketAutoResponseTimestamp(webSocket) {
    return ws.getWebSocketAutoResponseTimestamp(webSocket);
  }

  /** As workerd: a hibernatable handler running longer ends the instance (its sockets stay). */
  setHibernatableWebSocketEventTimeout(ms) {
    this.#eventTimeout = ws.checkEventTimeout(ms);
    this.#host.eventTimeoutMs = this.#eventTimeout;
  }

  getHibernatableWebSocketEventTimeout() {
    return this.#eventTimeout;
  }

  #eventTimeout = null;

  get container() {
    throw notSupported('ctx.container');
  }
}
