// WebSockets, as Workers (SPEC §2.4): `WebSocketPair`, `WebSocket` ends, the `Response` that
// carries one (status 101), and the JS half of the hibernation API. The sockets themselves
// live in the Rust core (core/src/sockets.rs), which delivers their events to the thread
// that accepted them, or — for sockets accepted with `ctx.acceptWebSocket()` — as calls to
// the object or facet that accepted it, which starts it again if it was evicted. A JS
// `WebSocket` is only a view of an end (its number in the core); error texts are workerd's
// (web-socket.c++, actor-state.c++).
import { serialize, deserialize } from 'node:v8';
import { native } from './native.js';
import { withCode } from './error-codes.js';
import { connectWebSocket, clientCount, onClientCount, closeClients } from './websocket-client.js';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** Limits of workerd (web-socket.h, actor-state.h, actor-state.c++). */
export const MAX_ATTACHMENT_BYTES = 16 * 1024;
export const MAX_TAGS = 10;
export const MAX_TAG_BYTES = 256;
export const MAX_AUTO_RESPONSE_BYTES = 2048;
const MAX_EVENT_TIMEOUT_MS = 604_800_000;

/** Method prefixes of the core's socket deliveries (core/src/hub_sockets.rs). */
export const THREAD_EVENT = 5;
export const OBJECT_EVENT = 6;

const encoder = new TextEncoder();
const utf8Length = (s) => encoder.encode(s).byteLength;

/** Marks internal construction (users get ends from `WebSocketPair` or a `Response`). */
const INTERNAL = Symbol('internal');

// What an end is on this thread.
const FRESH = 'fresh'; // not accepted: may be accepted, hibernated or put in a Response
const ACCEPTED = 'accepted'; // accept(): its events come to this thread
const HIBERNATABLE = 'hibernatable'; // ctx.acceptWebSocket(): its events go to the object
const USED = 'used'; // handed on in a Response

/** Accepted ends of this thread's current instance, by end: their events land here. */
const live = new Map();
/** Hibernatable ends this instance has a `WebSocket` for (one object per end). */
const hibernatable = new Map();

/**
 * Runs an outgoing frame: through the thread's output gate (lib/port.js `afterGate`), so a
 * message never leaves before the writes made before it are committed, as on Cloudflare.
 */
let outbound = (send) => send();

/** Installs the output gate (lib/port.js). */
export function setOutbound(fn) {
  outbound = fn;
}

/** Called when the number of accepted ends goes from 0 to 1 and back (see `onHolding`). */
let holdingChanged = () => {};

/** `fn(true | false)` when this thread starts or stops holding accepted sockets. */
export function onHolding(fn) {
  holdingChanged = fn;
}

function track(ws) {
  live.set(ws._end, ws);
  if (live.size === 1 && clientCount() === 0) holdingChanged(true);
}

function untrack(ws) {
  if (live.delete(ws._end) && live.size === 0 && clientCount() === 0) holdingChanged(false);
}

// Outbound sockets (lib/websocket-client.js) hold the instance as accepted ones do.
onClientCount(() => {
  if (live.size === 0) holdingChanged(clientCount() > 0);
});

/** Whether this thread's instance holds accepted (non-hibernatable) sockets: it stays up. */
export function holding() {
  return live.size > 0 || clientCount() > 0;
}

function typeError(message) {
  return withCode(new TypeError(message), 'InvalidState');
}

function plainError(message, code = 'InvalidArgument') {
  return withCode(new Error(message), code);
}

/** `close` events (Node 20 has no global CloseEvent). */
export class CloseEvent extends Event {
  constructor(type, init = {}) {
    super(type);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? '';
    this.wasClean = init.wasClean ?? false;
  }
}

/** `error` events. */
export class ErrorEvent extends Event {
  constructor(type, init = {}) {
    super(type);
    this.error = init.error;
    this.message = init.message ?? '';
  }
}

/** A binary message as workerd gives it: an ArrayBuffer of its own. */
function toArrayBuffer(bytes) {
  const ab = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(ab).set(bytes);
  return ab;
}

/** A message to send: a string (text) or bytes (binary), as the core takes them. */
function outgoing(message) {
  if (typeof message === 'string') return message;
  if (message instanceof ArrayBuffer) return new Uint8Array(message.slice(0));
  if (ArrayBuffer.isView(message)) {
    return new Uint8Array(message.buffer.slice(message.byteOffset, message.byteOffset + message.byteLength));
  }
  return String(message);
}

export class WebSocket extends EventTarget {
  static CONNECTING = CONNECTING;
  static OPEN = OPEN;
  static CLOSING = CLOSING;
  static CLOSED = CLOSED;

  /** @internal the end's number in the core */
  _end;
  /**
   * @internal rt.listen's bridge: `{ message(data), close(code, reason, clean) }` called
   * instead of dispatching events (the bridge is the only listener; events cost µs per frame).
   */
  _sink = null;
  #mode = FRESH;
  #sentClose = false;
  #gotClose = false;
  /** The other end, while both were made on this thread by one `WebSocketPair`. */
  #sibling = null;
  /** Serialized attachment: undefined until read from the core; null when none. */
  #attachment = undefined;
  #tags = null;

  constructor(token, end, state) {
    // `new WebSocket(url, protocols?)` (user code): an outbound client, not one of our ends.
    if (token !== INTERNAL) return connectWebSocket(token, end);
    super();
    this._end = end;
    this.url = null;
    this.protocol = null;
    this.extensions = null;
    this.binaryType = 'arraybuffer';
    if (state !== undefined) {
      this.#mode = state.mode;
      this.#sentClose = state.sentClose;
      this.#gotClose = state.gotClose;
      this.#attachment = state.attachment;
      this.#tags = state.tags;
    }
  }

  get CONNECTING() {
    return CONNECTING;
  }
  get OPEN() {
    return OPEN;
  }
  get CLOSING() {
    return CLOSING;
  }
  get CLOSED() {
    return CLOSED;
  }

  /** As workerd: OPEN until a close was sent or received, even before accept(). */
  get readyState() {
    if (this.#sentClose && this.#gotClose) return CLOSED;
    if (this.#sentClose || this.#gotClose) return CLOSING;
    return OPEN;
  }

  /** Starts delivering this end's events here (`message`, `close`, `error`). */
  accept(options) {
    void options;
    if (this.#mode === ACCEPTED) return;
    if (this.#mode === HIBERNATABLE) throw typeError("Can't accept() WebSocket after enabling hibernation.");
    if (this.#mode === USED) throw typeError("Can't accept() WebSocket that was already used in a response.");
    this.#mode = ACCEPTED;
    this.#sibling = null;
    track(this);
    // An end the core no longer has (its peer is long gone and it was forgotten) is closed.
    if (!native.wsAccept(this._end)) {
      this.#sentClose = true;
      this.#gotClose = true;
      untrack(this);
    }
  }

  send(message) {
    if (this.#mode === FRESH || this.#mode === USED) {
      throw typeError('You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.');
    }
    if (this.#sentClose) throw typeError("Can't call WebSocket send() after close().");
    if (this.#gotClose) return; // the peer went away or is closing: ignored, as workerd
    const end = this._end;
    const data = outgoing(message);
    outbound(() => native.wsSend(end, data));
  }

  close(code, reason) {
    checkClose(code, reason);
    if (this.#mode === FRESH || this.#mode === USED) {
      throw typeError('You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.');
    }
    if (this.#sentClose) return;
    this.#sentClose = true;
    const end = this._end;
    outbound(() => native.wsClose(end, code ?? 0, reason ?? ''));
    if (this.#gotClose) {
      // Closed both ways: the core forgot the socket.
      untrack(this);
      if (this.#mode === HIBERNATABLE) hibernatable.delete(end);
    }
  }

  /** Stores a copy of `value` with the socket (it survives hibernation). */
  serializeAttachment(value) {
    let bytes;
    try {
      bytes = serialize(value);
    } catch (e) {
      throw new DOMException(String(e?.message ?? e), 'DataCloneError');
    }
    if (bytes.byteLength > MAX_ATTACHMENT_BYTES) {
      throw plainError(
        `A WebSocket 'attachment' cannot be larger than ${MAX_ATTACHMENT_BYTES} bytes.'attachment' was ${bytes.byteLength} bytes.`,
      );
    }
    this.#attachment = bytes;
    native.wsSetAttachment(this._end, bytes);
  }

  /** A copy of what `serializeAttachment` stored, or null. */
  deserializeAttachment() {
    if (this.#attachment === undefined) this.#attachment = native.wsInfo(this._end)?.attachment ?? null;
    return this.#attachment === null ? null : deserialize(this.#attachment);
  }

  // ---- internal ----------------------------------------------------------------------------

  /** @internal */
  _pairWith(other) {
    this.#sibling = other;
  }

  /** @internal the mode, for the hibernation API and Response checks */
  _mode() {
    return this.#mode;
  }

  /** @internal `ctx.acceptWebSocket()`: the core routes its events to the object. */
  _hibernate(name, tags) {
    if (this.#mode === ACCEPTED || this.#mode === HIBERNATABLE) {
      throw plainError('Cannot call `acceptWebSocket()` if the WebSocket was already accepted via `accept()`', 'InvalidState');
    }
    const sibling = this.#sibling;
    if (this.#mode === USED || (sibling !== null && sibling.#mode !== FRESH)) {
      throw plainError(
        'Cannot call `acceptWebSocket()` on this WebSocket because its pair has already been accepted or used in a Response.',
        'InvalidState',
      );
    }
    native.wsHibernate(this._end, name, tags);
    this.#mode = HIBERNATABLE;
    this.#sibling = null;
    this.#tags = tags;
    hibernatable.set(this._end, this);
  }

  /** @internal the tags, for `ctx.getTags()` */
  _tags() {
    if (this.#mode === FRESH || this.#mode === USED) {
      throw plainError("you must call 'acceptWebSocket()' before attempting to access the tags of a WebSocket.", 'InvalidState');
    }
    if (this.#mode === ACCEPTED) throw plainError('only hibernatable websockets can have tags.', 'InvalidState');
    this.#tags ??= native.wsInfo(this._end)?.tags ?? [];
    return [...this.#tags];
  }

  /** @internal the end leaves in a Response; returns its number. */
  _handOff() {
    if (this.#mode === ACCEPTED) throw typeError("Can't return WebSocket in a Response after calling accept().");
    if (this.#mode === HIBERNATABLE) throw typeError("Can't return WebSocket in a Response after calling acceptWebSocket().");
    if (this.#mode === USED) throw typeError("Can't return WebSocket that was already used in a response.");
    this.#mode = USED;
    native.wsRelease(this._end);
    return this._end;
  }

  /** @internal an event for an accepted end, delivered to this thread */
  _event(kind, data, code, clean) {
    if (kind === 'e') {
      // The peer's connection failed: an error, then nothing more (the core forgot the end).
      this.#gotClose = true;
      this.#sentClose = true;
      untrack(this);
      if (this._sink !== null) return this._sink.close(1011, '', false);
      this.dispatchEvent(new ErrorEvent('error', { message: data, error: new Error(data) }));
      return;
    }
    if (kind === 'c') {
      this.#gotClose = true;
      // As workerd (web_socket_auto_reply_to_close): an accepted socket answers a Close with
      // the same code and reason; one with no code gets a Close without one. A peer that
      // went away (1006) hears nothing.
      if (this.#mode === ACCEPTED && !this.#sentClose) {
        this.#sentClose = true;
        const end = this._end;
        if (clean) outbound(() => native.wsClose(end, code === 1005 || code === 1006 ? 0 : code, code === 0 ? '' : data));
      }
      if (this.#sentClose || !clean) untrack(this);
      const closeCode = code === 0 ? 1005 : code;
      if (this._sink !== null) return this._sink.close(closeCode, code === 0 ? '' : data, clean);
      if (!clean) {
        this.dispatchEvent(new ErrorEvent('error', { message: 'WebSocket peer disconnected', error: new Error('WebSocket peer disconnected') }));
      }
      this.dispatchEvent(new CloseEvent('close', { code: closeCode, reason: code === 0 ? '' : data, wasClean: clean }));
      return;
    }
    if (this.#gotClose) return;
    if (this._sink !== null) return this._sink.message(data);
    const ev = new MessageEvent('message', { data: kind === 't' ? data : toArrayBuffer(data) });
    this.dispatchEvent(ev);
  }

  /**
   * @internal This thread lets go of the end (rt.listen's client connection ended): a Close
   * with `code` (none: the peer hears 1006, as for a lost connection), then forgotten.
   */
  _leave(code, reason) {
    if (this.#mode === FRESH) this.accept();
    if (code !== undefined && !this.#sentClose) this.close(code === 1005 ? undefined : code, code === 1005 ? undefined : reason);
    this.#sentClose = true;
    this.#gotClose = true;
    untrack(this);
    const end = this._end;
    outbound(() => native.wsForget(end));
  }

  /** @internal rt.listen's client connection failed (a protocol error): the peer hears why. */
  _fail(message) {
    if (this.#mode === FRESH) this.accept();
    this.#sentClose = true;
    this.#gotClose = true;
    untrack(this);
    const end = this._end;
    outbound(() => native.wsFail(end, String(message)));
  }

  /** @internal the close of a hibernatable end, as the object's handler sees it */
  _gotClose() {
    this.#gotClose = true;
  }
}

/** Throws as workerd's close() for a bad code or reason (checked before anything else). */
function checkClose(code, reason) {
  if (code !== undefined) {
    const c = Number(code);
    if (!Number.isInteger(c) || c < 1000 || c > 4999 || c === 1004 || c === 1005 || c === 1006 || c === 1015) {
      throw new DOMException(`Invalid WebSocket close code: ${code}.`, 'InvalidAccessError');
    }
  }
  if (reason !== undefined) {
    if (code === undefined) {
      throw new DOMException('If you specify a WebSocket close reason, you must also specify a code.', 'InvalidAccessError');
    }
    if (utf8Length(String(reason)) > 123) {
      throw new DOMException('WebSocket close reason must not be longer than 123 bytes when UTF-8 encoded.', 'SyntaxError');
    }
  }
}

/** `new WebSocketPair()`: `{ 0: client, 1: server }`, connected to each other. */
export class WebSocketPair {
  constructor() {
    const a = native.wsPair();
    const client = new WebSocket(INTERNAL, a);
    const server = new WebSocket(INTERNAL, a + 1);
    client._pairWith(server);
    server._pairWith(client);
    Object.defineProperty(this, 0, { value: client, enumerable: true });
    Object.defineProperty(this, 1, { value: server, enumerable: true });
  }

  *[Symbol.iterator]() {
    yield this[0];
    yield this[1];
  }
}

/** `ctx.setWebSocketAutoResponse()`'s pair: no checks at construction (as workerd). */
export class WebSocketRequestResponsePair {
  #request;
  #response;
  constructor(request, response) {
    this.#request = String(request);
    this.#response = String(response);
  }
  get request() {
    return this.#request;
  }
  get response() {
    return this.#response;
  }
}

// ---- Responses carrying a WebSocket -----------------------------------------------------------

// Node's Response is undici's, which Node loads on first use of the global: ~30 ms of a
// thread's start-up. Ours waits as well: it is linked to Node's when first constructed or
// read from the global (`super` looks its parent up at call time).
const NODE_RESPONSE = Object.getOwnPropertyDescriptor(globalThis, 'Response');
let NodeResponse = null;

/** Defines the global `Response` as `value` (set by installWebSocketGlobals on runtime threads). */
let defineGlobalResponse = null;

function linkResponse() {
  if (NodeResponse === null) {
    NodeResponse = NODE_RESPONSE.get ? NODE_RESPONSE.get.call(globalThis) : NODE_RESPONSE.value;
    Object.setPrototypeOf(Response, NodeResponse);
    Object.setPrototypeOf(Response.prototype, NodeResponse.prototype);
    // Node's lazy getter defines the global as Node's own Response when first called: when
    // this thread links on its own (a 101 answer arrived through stub.fetch before user code
    // read the global), user code must still find ours.
    if (defineGlobalResponse !== null && Object.getOwnPropertyDescriptor(globalThis, 'Response')?.value === NodeResponse) {
      defineGlobalResponse(Response);
    }
  }
  return Response;
}

/** The status of the Response under construction (see `Response#status`). */
let constructing = null;

/**
 * A `Response` that may carry a `webSocket` (status 101), which Node's own refuses. Every
 * Node Response counts as an instance (`instanceof` holds for `fetch()`'s responses).
 */
export class Response extends Object {
  #webSocket = null;

  constructor(body, init) {
    linkResponse();
    const webSocket = init?.webSocket ?? null;
    if (webSocket !== null) {
      if (init.status !== 101) {
        throw withCode(new RangeError('Responses with a WebSocket must have status code 101.'), 'InvalidArgument');
      }
      if (!(webSocket instanceof WebSocket)) throw typeError('Response webSocket must be a WebSocket.');
      const { webSocket: _w, status: _s, ...rest } = init;
      constructing = 200;
      try {
        super(body, rest);
      } finally {
        constructing = null;
      }
      this.#webSocket = webSocket;
    } else {
      if (init?.status === 101) {
        throw withCode(
          new RangeError('Responses may only be constructed with status codes in the range 200 to 599, inclusive.'),
          'InvalidArgument',
        );
      }
      constructing = init?.status ?? 200;
      try {
        super(body, init);
      } finally {
        constructing = null;
      }
    }
  }

  static [Symbol.hasInstance](value) {
    linkResponse();
    return value instanceof NodeResponse;
  }

  // Node's constructor reads `status` before this class's fields exist: `#socket()` is null then.
  #socket() {
    return #webSocket in this ? this.#webSocket : null;
  }

  get status() {
    // Node's constructor reads `status` before it has branded the object.
    if (!(#webSocket in this)) return constructing ?? super.status;
    return this.#webSocket !== null ? 101 : super.status;
  }

  get ok() {
    return this.#socket() !== null ? false : super.ok;
  }

  /** The client end handed to whoever made the request, or null. */
  get webSocket() {
    return this.#socket();
  }

  clone() {
    if (this.#socket() !== null) throw typeError('Cannot clone a response to a WebSocket handshake.');
    return super.clone();
  }
}

/** The WebSocket a response carries (any Response: Node's own have none). */
export function responseSocket(res) {
  try {
    return res?.webSocket instanceof WebSocket ? res.webSocket : null;
  } catch {
    return null;
  }
}

/**
 * The receiving side of a 101 hand-off: a Response whose `webSocket` is the end `end`, now
 * referred to by this thread's instance (it is gone with it unless accepted or sent on).
 */
export function webSocketResponse(end, init) {
  native.wsAdopt(end);
  const ws = new WebSocket(INTERNAL, end);
  return new Response(null, { status: 101, statusText: init.statusText, headers: init.headers, webSocket: ws });
}

/** workerd's check: a WebSocket may only answer a request that asked for one. */
export function checkUpgradeRequest(request, response) {
  if (responseSocket(response) === null) return;
  if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
    throw typeError('Worker tried to return a WebSocket in a response to a request which did not contain the header "Upgrade: websocket".');
  }
}

// ---- Deliveries ---------------------------------------------------------------------------------

/** Parses `"\x05<end>:<kind>[:<code>:<clean>]"` (per message: no split, no array). */
function parseMethod(method) {
  const colon = method.indexOf(':', 1);
  const end = Number(method.slice(1, colon));
  const kind = method[colon + 1];
  if (method.length === colon + 2) return { end, kind, code: 0, clean: false };
  const second = method.indexOf(':', colon + 3);
  return { end, kind, code: Number(method.slice(colon + 3, second)), clean: method[second + 1] === '1' };
}

/**
 * The input gate of this thread's instance (lib/worker/host.js): takes an event of an
 * accepted end to deliver later, in order with calls, while blockConcurrencyWhile() runs —
 * as workerd's input gate holds every event. Returns false when the event may go now.
 * @type {((method: string, payload: string | Uint8Array) => boolean) | null}
 */
let inputGate = null;

/** Installs the input gate (runtime threads). */
export function setInputGate(fn) {
  inputGate = fn;
}

/** An event for an accepted end of this thread (a delivery with call id 0). */
export function socketEvent(method, payload) {
  if (inputGate !== null && inputGate(method, payload)) return;
  deliverSocketEvent(method, payload);
}

/** Delivers an event of an accepted end now (also what the input gate lets go later). */
export function deliverSocketEvent(method, payload) {
  const { end, kind, code, clean } = parseMethod(method);
  const ws = live.get(end);
  if (ws === undefined) return;
  ws._event(kind, payload, code, clean);
}

/**
 * The `WebSocket` of hibernatable end `end` in this instance (rebuilt after a restart).
 * `closeState` (bit 0: sent a Close, bit 1: received one), when the caller knows it;
 * the attachment and tags are read from the core when first used.
 */
function hibernatableSocket(end, closeState) {
  let ws = hibernatable.get(end);
  if (ws !== undefined) return ws;
  let state = closeState;
  if (state === undefined) {
    const info = native.wsInfo(end);
    state = info === null ? 3 : (info.sentClose ? 1 : 0) | (info.gotClose ? 2 : 0);
  }
  ws = new WebSocket(INTERNAL, end, {
    mode: HIBERNATABLE,
    sentClose: (state & 1) !== 0,
    gotClose: (state & 2) !== 0,
    attachment: undefined,
    tags: null,
  });
  hibernatable.set(end, ws);
  return ws;
}

/**
 * A hibernatable end's event, routed to this object as a call: runs `webSocketMessage`,
 * `webSocketClose` or `webSocketError` (a missing handler drops the event, as workerd).
 * Resolves when the handler is done.
 */
export async function hibernationEvent(method, payload, instance) {
  const { end, kind, code, clean } = parseMethod(method);
  const ws = hibernatableSocket(end);
  try {
    if (kind === 'e') {
      ws._gotClose();
      if (typeof instance?.webSocketError === 'function') await instance.webSocketError(ws, new Error(payload));
    } else if (kind === 'c') {
      ws._gotClose();
      if (typeof instance?.webSocketClose === 'function') {
        await instance.webSocketClose(ws, code === 0 ? 1005 : code, code === 0 ? '' : payload, clean);
      }
    } else if (typeof instance?.webSocketMessage === 'function') {
      await instance.webSocketMessage(ws, kind === 't' ? payload : toArrayBuffer(payload));
    }
  } finally {
    // A peer that went away sends nothing more: the end is done with once its handler ran.
    if (kind === 'e' || (kind === 'c' && !clean)) {
      hibernatable.delete(end);
      outbound(() => native.wsForget(end));
    } else if (kind === 'c' && ws.readyState === CLOSED) {
      hibernatable.delete(end);
    }
  }
}

/** The instance on this thread stopped: its views of sockets go (the core closed its ends). */
export function resetSockets() {
  const had = live.size > 0;
  live.clear();
  hibernatable.clear();
  closeClients();
  if (had) holdingChanged(false);
}

// ---- The hibernation API of ctx (lib/state.js) ----------------------------------------------
// Root objects and facets alike: the core keeps each one's sockets and auto-response apart
// (by the instance the calling thread hosts), and restarts an evicted facet from its entry.

/** `ctx.acceptWebSocket(ws, tags?)`. */
export function acceptWebSocket(name, ws, tags) {
  if (!(ws instanceof WebSocket)) {
    throw typeError('Tried to make an api::WebSocket hibernatable when it was in an incompatible state.');
  }
  const distinct = [];
  if (tags !== undefined && tags !== null) {
    for (const t of tags) {
      const tag = String(t);
      if (distinct.length >= MAX_TAGS) throw plainError(`a Hibernatable WebSocket cannot have more than ${MAX_TAGS} tags`);
      if (utf8Length(tag) > MAX_TAG_BYTES) {
        throw plainError(`"${tag}" is longer than the max tag length (${MAX_TAG_BYTES} characters).`);
      }
      if (!distinct.includes(tag)) distinct.push(tag);
    }
  }
  ws._hibernate(name ?? null, distinct);
}

/** `ctx.getWebSockets(tag?)`: also those accepted by earlier instances of the object (or facet). */
export function getWebSockets(tag) {
  const flat = native.wsList(tag === undefined || tag === null ? null : String(tag));
  const out = new Array(flat.length / 2);
  for (let i = 0; i < flat.length; i += 2) out[i / 2] = hibernatableSocket(flat[i], flat[i + 1]);
  return out;
}

/** `ctx.getTags(ws)`. */
export function getTags(ws) {
  if (!(ws instanceof WebSocket)) throw typeError('getTags() expects a WebSocket.');
  return ws._tags();
}

/** `ctx.setWebSocketAutoResponse(pair?)`. */
export function setWebSocketAutoResponse(pair) {
  if (pair === undefined || pair === null) {
    native.wsSetAutoResponse(null, null);
    return;
  }
  if (!(pair instanceof WebSocketRequestResponsePair)) {
    throw typeError('setWebSocketAutoResponse() expects a WebSocketRequestResponsePair.');
  }
  const req = utf8Length(pair.request);
  if (req > MAX_AUTO_RESPONSE_BYTES) {
    throw withCode(
      new RangeError(`Request cannot be larger than ${MAX_AUTO_RESPONSE_BYTES} bytes. A request of size ${req} was provided.`),
      'InvalidArgument',
    );
  }
  const res = utf8Length(pair.response);
  if (res > MAX_AUTO_RESPONSE_BYTES) {
    throw withCode(
      new RangeError(`Response cannot be larger than ${MAX_AUTO_RESPONSE_BYTES} bytes. A response of size ${res} was provided.`),
      'InvalidArgument',
    );
  }
  native.wsSetAutoResponse(pair.request, pair.response);
}

/** `ctx.getWebSocketAutoResponse()`: the pair, or null. */
export function getWebSocketAutoResponse() {
  const p = native.wsAutoResponse();
  return p === null ? null : new WebSocketRequestResponsePair(p[0], p[1]);
}

/** `ctx.getWebSocketAutoResponseTimestamp(ws)`: when an auto-response last answered it. */
export function getWebSocketAutoResponseTimestamp(ws) {
  if (!(ws instanceof WebSocket)) throw typeError('getWebSocketAutoResponseTimestamp() expects a WebSocket.');
  const t = native.wsInfo(ws._end)?.autoTs ?? null;
  return t === null ? null : new Date(t);
}

/** `ctx.setHibernatableWebSocketEventTimeout(ms?)`'s check (enforced by lib/worker/host.js). */
export function checkEventTimeout(ms) {
  if (ms === undefined || ms === null || ms === 0) return null;
  if (typeof ms !== 'number' || !(ms >= 0)) throw typeError('The event timeout must be a non-negative number.');
  if (ms > MAX_EVENT_TIMEOUT_MS) throw plainError(`Event timeout should not exceed ${MAX_EVENT_TIMEOUT_MS} ms.`);
  return ms;
}

/**
 * Runtime threads: the Workers globals. `Response` becomes the one that carries a
 * WebSocket; `WebSocket` is set only where Node has none (Node 22's client stays).
 */
export function installWebSocketGlobals() {
  globalThis.WebSocketPair = WebSocketPair;
  globalThis.WebSocketRequestResponsePair = WebSocketRequestResponsePair;
  const define = (value) =>
    Object.defineProperty(globalThis, 'Response', { value, writable: true, configurable: true, enumerable: false });
  defineGlobalResponse = define;
  Object.defineProperty(globalThis, 'Response', {
    get: () => define(linkResponse()).Response,
    set: define,
    configurable: true,
    enumerable: false,
  });
  // (`in`: reading Node 22's global would load undici.)
  if (!('WebSocket' in globalThis)) globalThis.WebSocket = WebSocket;
}
