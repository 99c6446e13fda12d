// This thread's port to the Rust hub: outgoing calls and their promises, and the pump that
// takes deliveries off this thread's inbox.
//
// Worker threads spin briefly (capped) for the next delivery before parking, so a busy
// pair of threads exchanges calls without waiting for the kernel; the user's main thread
// parks and is woken through a threadsafe function. It spins only right after answering a
// callback while it awaits an answer of its own, for at most CALLBACK_WAIT_MICROS (`pump`).
import { native } from './native.js';
import { encodeArgs, decode, decodeError } from './codec.js';
import { undecodableReply } from './errors.js';
import { setImmediate, now, hrNow } from './timers.js';
import { serveCall } from './ref-server.js';
import { discardReferences, setReleaser } from './refs.js';
import { socketEvent, onHolding, setOutbound, THREAD_EVENT } from './websocket.js';

const KIND_CALL = 1;
const KIND_REPLY = 2;
const KIND_START = 3;
const KIND_SPAWN = 4;
const KIND_ALARM = 5;
const KIND_START_FACET = 6;
const KIND_TERMINATE = 7;
const KIND_EVICT = 8;
const KIND_STOP = 9;

/** How long a worker thread spins for its next delivery before parking (µs), at least. */
const SPIN_MICROS = 50;
/** The native cap of a spin (µs, MAX_SPIN in src/lib.rs). */
const SPIN_MAX_MICROS = 200;
/**
 * How long it spins while calls it made are in flight: their answers are expected soon. A
 * callback to the main thread takes that thread's wake-up (25–60 µs on a VM) plus its turn;
 * parking meanwhile would add a second wake-up, of this thread.
 */
const SPIN_AWAITING_MICROS = SPIN_MAX_MICROS;

// Adaptive spin between deliveries: a thread that parked and was woken soon after (within
// the cap) would have caught that delivery by spinning a little longer, and then the sender
// would not have paid for its wake-up (25–60 µs on a VM, as much as a whole call). So the
// budget grows to 1.5× such a gap (capped); a gap longer than the cap (the caller went
// quiet) halves it again, and below SPIN_MICROS to nothing: a thread whose deliveries come
// further apart than any spin would catch parks at once (bench/paced.mjs, same round trips:
// a call every 0.3 ms costs 18% of a core instead of 34%; every ms, 7% instead of 10%).
// A sequential caller whose round trip outside this thread is just over 50 µs (the main
// thread's own wake-up plus its JS) no longer costs a wake-up of this thread per call.
// The price: a caller that keeps a thread busy every 100–150 µs keeps it spinning (~100% of
// a core for a ~25 µs round trip, where parking costs 20–100 µs per wake-up on a VM).
let spinBudget = SPIN_MICROS;
/** When this thread last parked after spinning (hrNow ms; 0: not parked). */
let parkedAt = 0;
/** How long (µs) the spin before that park lasted. */
let parkedSpin = 0;

/** A worker was woken after parking: adapt the spin budget to how soon the delivery came. */
function adaptSpin() {
  const gap = parkedSpin + (hrNow() - parkedAt) * 1000;
  parkedAt = 0;
  if (gap < SPIN_MAX_MICROS) spinBudget = Math.min(SPIN_MAX_MICROS, Math.max(spinBudget, gap * 1.5));
  else spinBudget = spinBudget / 2 >= SPIN_MICROS ? spinBudget / 2 : 0;
}

/** @type {Map<number, {resolve: Function, reject: Function}>} */
const pending = new Map();

let attached = false;
let worker = false;
let referenced = false;
let spinScheduled = false;

// The output gate (worker threads): while the instance has uncommitted writes, nothing
// leaves it. Held messages go out in order once the commit succeeded.
let gate = false;
/** @type {Function[]} */
let held = [];
/** Runs at the end of each turn, before spinning (the storage commit). */
let endOfTurn = null;

/** @type {{ call?: Function, start?: Function, spawn?: Function, alarm?: Function, error?: Function }} */
const handlers = {};

// Nothing a delivery's handler throws may leave dispatch(): the rest of the batch would be
// lost and the pump would stop parking, wedging every later call of this thread.
function dispatch(batch) {
  for (let i = 0; i < batch.length; i += 4) {
    try {
      dispatchOne(batch, i);
    } catch (e) {
      reportError(e);
    }
  }
}

function dispatchOne(batch, i) {
  switch (batch[i]) {
    case KIND_REPLY:
      settle(batch[i + 1], batch[i + 2], batch[i + 3]);
      break;
    case KIND_CALL:
      // An event of a WebSocket this thread accepted (SPEC §2.4; never answered).
      if (batch[i + 1] === 0 && batch[i + 2].charCodeAt(0) === THREAD_EVENT) socketEvent(batch[i + 2], batch[i + 3]);
      else handlers.call(batch[i + 1], batch[i + 2], batch[i + 3]);
      break;
    case KIND_START:
      handlers.start(batch[i + 1], batch[i + 2], batch[i + 3]);
      break;
    case KIND_SPAWN:
      handlers.spawn(batch[i + 1], batch[i + 2], batch[i + 3] === 1);
      break;
    case KIND_ALARM:
      handlers.alarm(batch[i + 1], batch[i + 2], batch[i + 3]);
      break;
    case KIND_START_FACET:
      handlers.startFacet(batch[i + 1], batch[i + 2]);
      break;
    case KIND_TERMINATE:
      handlers.terminate(batch[i + 1], batch[i + 2]);
      break;
    case KIND_EVICT:
      handlers.evict();
      break;
    case KIND_STOP:
      handlers.stop();
      break;
  }
}

/** An internal failure: logged (through the thread's handler), never thrown further. */
function reportError(e) {
  try {
    handlers.error?.(e);
  } catch {}
}

/** Settles the promise of a call; a reply that cannot be decoded rejects it (never throws). */
function settle(callId, status, payload) {
  const p = pending.get(callId);
  if (p === undefined) {
    // Nobody waits for it any more (its instance stopped): what the result exported by
    // reference is let go at once, or its owner would count the reference forever.
    if (status === 0) discardReferences(() => decode(payload));
    return;
  }
  pending.delete(callId);
  if (status !== 0) {
    // decodeError never throws: an undecodable error payload becomes an Error saying so.
    p.reject(decodeError(payload, status === 2));
  } else {
    try {
      p.resolve(decode(payload));
    } catch (e) {
      p.reject(undecodableReply(e));
    }
  }
  if (pending.size === 0) updateRef();
}

/**
 * How long the main thread waits (spinning, µs) for the answer it awaits after it answered a
 * call through one of its references (a callback) in the same pump. In that exchange the
 * answer usually follows within microseconds (the object was waiting for the callback's
 * result to finish the call the main thread made), but by then the main thread's vCPU has
 * halted, and waking it costs 20–35 µs on this VM (no guest halt-polling): measured, a
 * callback round trip paid one such wake-up more than two plain calls (held function stub:
 * 2.6–2.8× a plain call; with this wait 1.5–1.6×). Bounded, and only in that exchange: the
 * user's thread is otherwise never held up.
 */
const CALLBACK_WAIT_MICROS = 25;
/** The main thread answered a call synchronously during the current pump (see `reply`). */
let answered = false;

/**
 * Spins up to CALLBACK_WAIT_MICROS for a delivery, and dispatches it if one came. (The
 * native spin yields the core between bursts: when the object's thread shares it, it still
 * runs and answers.)
 */
function awaitAnswer() {
  const batch = native.spinDrain(CALLBACK_WAIT_MICROS);
  if (batch !== null) dispatch(batch);
}

/** Worker threads under a CPU limit: when the current turn started (0: parked). */
let heartbeat = null;

/** Drains and dispatches until the inbox stays empty, then parks (main) or spins (worker). */
function pump() {
  // Only callbacks answered during this pump count (not a reply made in a microtask since).
  answered = false;
  if (parkedAt !== 0) adaptSpin();
  if (heartbeat !== null) heartbeat[0] = now();
  try {
    // A wake-up may follow a turn the runtime did not dispatch (a timer callback that
    // wrote): its writes commit before anything else happens.
    if (worker && endOfTurn !== null) endOfTurn();
    let batch;
    while ((batch = native.drain()) !== null) dispatch(batch);
    if (worker) scheduleSpin();
    else {
      // A callback answered while an answer is awaited: it is probably on its way. Once
      // per pump: an object calling main-thread callbacks in a loop must not keep this
      // thread from its timers, I/O and microtasks (each pump is one event-loop callback).
      if (answered && pending.size > 0) awaitAnswer();
      while (native.park()) while ((batch = native.drain()) !== null) dispatch(batch);
    }
  } catch (e) {
    reportError(e);
  }
}

function spin() {
  spinScheduled = false;
  if (heartbeat !== null) heartbeat[0] = now();
  try {
    if (endOfTurn !== null) endOfTurn();
    const budget = pending.size > 0 ? SPIN_AWAITING_MICROS : spinBudget;
    const batch = native.spinDrain(budget);
    if (batch !== null) {
      dispatch(batch);
      scheduleSpin();
    } else if (native.park()) {
      pump();
    } else {
      parkedAt = hrNow();
      parkedSpin = budget;
      if (heartbeat !== null) heartbeat[0] = 0;
    }
  } catch (e) {
    reportError(e);
  }
}

/**
 * Forgets everything of the instance that stopped on this (recycled) thread: its calls'
 * pending promises are dropped (they never settle, so its continuations never run), its
 * held messages and its end-of-turn hook are discarded.
 */
export function resetInstance() {
  pending.clear();
  outbox = [];
  lastTicket = null;
  gate = false;
  held = [];
  holdResults = false;
  endOfTurn = null;
}

/** Registers the end-of-turn hook (see `endOfTurn`). */
export function setEndOfTurn(fn) {
  endOfTurn = fn;
}

export function closeGate() {
  gate = true;
}

// During transaction(): results wait for its commit, outgoing calls do not (the
// transaction may await them; its writes are not committed, so nothing leaks yet).
let holdResults = false;

export function holdReplies(on) {
  holdResults = on;
}

export function gateClosed() {
  return gate;
}

/** The writes are committed: release everything held, in order. */
export function openGate() {
  gate = false;
  if (holdResults) {
    // Only results are held back: outgoing calls may go.
    const calls = [];
    const rest = [];
    for (const send of held) (send.isCall ? calls : rest).push(send);
    held = rest;
    for (const send of calls) send();
    return;
  }
  const out = held;
  held = [];
  for (const send of out) send();
}

/** Worker threads: after this macrotask, spin briefly for the next delivery. */
export function scheduleSpin() {
  if (worker && !spinScheduled) {
    spinScheduled = true;
    setImmediate(spin);
  }
}

/** Accepted WebSockets on the main thread: their events keep the process alive too. */
let holdingSockets = false;
onHolding((on) => {
  holdingSockets = on;
  updateRef();
});

/** The main thread keeps the process alive only while it waits for answers (or socket events). */
function updateRef() {
  if (worker || !attached) return;
  const want = pending.size > 0 || holdingSockets;
  if (want !== referenced) {
    referenced = want;
    native.setRef(want);
  }
}

/**
 * Attaches the current (main) thread as a caller and supervisor.
 * @param {{ spawn: Function, alarm: Function, error?: Function }} h
 */
export function attachCaller(h) {
  // The main thread is called only through references it exported (SPEC §2.2).
  handlers.call ??= serveCall;
  if (!attached) {
    attached = true;
    native.attachCaller(pump);
    native.park();
  }
  Object.assign(handlers, h);
}

/**
 * Attaches this worker thread under the id its supervisor reserved.
 * @returns {number} the runtime id
 */
export function attachWorker(tid, h, beat = null) {
  worker = true;
  heartbeat = beat;
  attached = true;
  Object.assign(handlers, h);
  const rt = native.attachWorker(pump, tid);
  pump();
  return rt;
}

/** Processes whatever is queued right now (e.g. rejections made by dispose). */
export function pumpNow() {
  if (attached) pump();
}

/**
 * Sends a call; resolves with the decoded result or rejects with the remote error.
 * The arguments are encoded before anything is sent (DataCloneError rejects).
 */
export function call(rt, ns, idHex, name, method, args) {
  let payload;
  try {
    payload = encodeArgs(args);
  } catch (e) {
    return Promise.reject(e);
  }
  return send(rt, ns, idHex, name, method, payload);
}

/**
 * Sends an already encoded call (held by the output gate while it is closed). `method` and
 * `payload` may be functions, called when the call goes out (a pipelined call names the id
 * of a call sent before it; a call may gather a pipelined one into its message, see
 * stub.js). `ticket`, when given, receives the call's id (or the error that kept it from
 * being sent); with `ticket.defer` the call waits in this thread's outbox until the end of
 * the current microtask (or until anything else is sent, or `flushCalls()`).
 */
export function send(rt, ns, idHex, name, method, payload, ticket) {
  return dispatchCall(() => native.call(rt, ns, idHex, name ?? null, methodNow(method), payloadNow(method, payload)), ticket);
}

/** Sends an already encoded call to facet entry `entry` (see `send`). */
export function sendFacet(rt, entry, method, payload, ticket) {
  return dispatchCall(() => native.facetCall(rt, entry, methodNow(method), payloadNow(method, payload)), ticket);
}

/** Sends an already encoded call to what instance `instance` of thread `tid` exported. */
export function sendRef(tid, instance, method, payload, ticket) {
  return dispatchCall(() => native.refCall(tid, instance, methodNow(method), payloadNow(method, payload)), ticket);
}

// `method` is a string, a function giving it, or an object giving both method and payload
// (`{ method(), payload() }`: an RPC operation of stub.js, read when it goes out).
function methodNow(m) {
  return typeof m === 'string' ? m : typeof m === 'function' ? m() : m.method();
}

function payloadNow(m, p) {
  return typeof m === 'object' ? m.payload() : typeof p === 'function' ? p() : p;
}

// Calls deferred to the end of the microtask (`ticket.defer`): a call made on the result
// of one still waiting here rides in the same message (promise pipelining, stub.js). Order
// is kept: anything else this thread sends first sends what waits here.
/** @type {Array<() => void>} */
let outbox = [];
/** The ticket of the call last put in the outbox (null: none waits). */
let lastTicket = null;
let flushQueued = false;
let flushing = false;

/** Whether the call of `ticket` is the last one waiting in the outbox (nothing after it). */
export function lastDeferred(ticket) {
  return lastTicket === ticket;
}

/** Sends every deferred call now, in order. */
export function flushCalls() {
  if (flushing || outbox.length === 0) return;
  flushing = true;
  try {
    // A call sent may defer more (never the case today): loop until empty.
    while (outbox.length > 0) {
      const out = outbox;
      outbox = [];
      lastTicket = null;
      for (const t of out) goOut(t.start, t, t.resolve, t.reject);
    }
  } finally {
    flushing = false;
  }
}

const RESOLVED = Promise.resolve();

function flushLater() {
  flushQueued = false;
  flushCalls();
}

/**
 * A deferred call's ticket carries what sending it needs (`start`, `resolve`, `reject`)
 * and is its entry in `pending`: nothing else is allocated per call.
 */
function dispatchCall(start, ticket) {
  return new Promise((resolve, reject) => {
    if (ticket !== undefined && ticket.defer === true) {
      ticket.start = start;
      ticket.resolve = resolve;
      ticket.reject = reject;
      outbox.push(ticket);
      lastTicket = ticket;
      if (!flushQueued) {
        flushQueued = true;
        // A resolved promise's reaction: a plain microtask (queueMicrotask costs more).
        RESOLVED.then(flushLater);
      }
    } else {
      if (outbox.length > 0) flushCalls();
      goOut(start, ticket, resolve, reject);
    }
  });
}

/** Sends a call now, or holds it while the output gate is closed. */
function goOut(start, ticket, resolve, reject) {
  if (gate) {
    const go = () => goNow(start, ticket, resolve, reject);
    go.isCall = true;
    held.push(go);
  } else goNow(start, ticket, resolve, reject);
  scheduleSpin();
}

function goNow(start, ticket, resolve, reject) {
  let id;
  try {
    id = start();
  } catch (e) {
    if (ticket !== undefined) ticket.error = e;
    reject(e);
    return;
  }
  if (ticket === undefined) pending.set(id, { resolve, reject });
  else {
    ticket.id = id;
    pending.set(id, ticket.defer === true ? ticket : { resolve, reject });
  }
  if (pending.size === 1) updateRef();
}

/**
 * Sends a reference release (refs.js): after the calls waiting in the outbox, and held by
 * the output gate as a call is (a release must not overtake a call made before it through
 * the same reference: the owner would refuse that call).
 */
function sendRelease(send) {
  if (outbox.length > 0) flushCalls();
  if (gate) {
    send.isCall = true;
    held.push(send);
  } else send();
  scheduleSpin();
}
setReleaser(sendRelease);

/** Sends a WebSocket frame of this thread's instance (held, as results, while the gate is closed). */
function afterGate(send) {
  if (outbox.length > 0) flushCalls();
  if (gate || holdResults) held.push(send);
  else send();
  scheduleSpin();
}
setOutbound(afterGate);

/** Answers a call made to this thread's instance (held while the output gate is closed). */
export function reply(callId, status, payload) {
  if (!worker) answered = true;
  if (outbox.length > 0) flushCalls();
  if (gate || holdResults) held.push(() => native.reply(callId, status, payload));
  else native.reply(callId, status, payload);
  scheduleSpin();
}
