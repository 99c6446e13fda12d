// Bodies crossing threads (stub.fetch, rt.fetch, rt.listen; SPEC §2.2, §2.3): streamed over
// RPC by reference, with backpressure, never buffered whole.
//
// The sending thread gathers what the body has ready right away (up to INLINE_BYTES). A body
// that ended by then goes inline, as bytes (the small-request path: one call, no reference).
// Otherwise the wire carries those first bytes and a `BodySource`, an RpcTarget wrapping
// the body's reader, which travels by reference: the receiving thread builds a ReadableStream
// whose `pull` calls `source.pull()` (one chunk of at most CHUNK_BYTES back per call) and
// whose `cancel` calls `source.cancel(reason)`. Only as much is read on the sending side as
// the receiver asks for (plus one chunk read ahead), so memory stays bounded whatever the
// body's size; each chunk is one RPC payload, far below the 32 MiB payload cap.
//
// The receiver lets go of the reference (`[Symbol.dispose]`) when the stream ends, errors or
// is cancelled; when it is garbage-collected unread, or when the receiving instance stops,
// the reference is released too, and the source's own dispose cancels the body's reader.
import { RpcTarget } from './durable-object.js';
import { setImmediate } from './timers.js';
import { withCode } from './error-codes.js';
import { bytesMoved } from './gc.js';
import { RawBytes } from './raw-bytes.js';

/** A body that has ended within this many bytes (when first gathered) goes inline. */
export const INLINE_BYTES = 64 * 1024;
/** The most one `pull()` brings back: small chunks are coalesced up to it. */
export const CHUNK_BYTES = 256 * 1024;

/** What a race against the next macrotask yields when the read is still pending. */
const LATER = Symbol('later');

const nextMacrotask = () => new Promise((resolve) => setImmediate(resolve, LATER));

function badChunk() {
  return withCode(new TypeError('Received non-Uint8Array chunk'), 'InvalidArgument');
}

/** Parts joined into one Uint8Array of their own (V8 serializes a view's whole backing buffer). */
function joined(parts) {
  if (parts.length === 1) {
    const v = parts[0];
    if (v.byteOffset === 0 && v.buffer.byteLength === v.byteLength) return v;
  }
  let bytes = 0;
  for (const p of parts) bytes += p.byteLength;
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Reads a body stream in bounded pieces (the sending side). */
class Gatherer {
  /** @param {ReadableStream} stream */
  constructor(stream) {
    this.reader = stream.getReader();
    /** A read that did not settle before the last gather ended (kept for the next). */
    this.pending = null;
    /** The rest of a chunk larger than what the last gather could take. */
    this.carry = null;
    this.done = false;
  }

  /**
   * Up to `max` bytes, as the chunks they came in (views; null: none). With `block`, waits
   * for the first chunk; then takes only chunks ready before the next macrotask, so a
   * producer that waits for the consumer is never waited for.
   */
  async gather(max, block) {
    const parts = [];
    let bytes = 0;
    let tick = null;
    if (this.carry !== null) {
      const c = this.carry;
      const n = Math.min(max, c.byteLength);
      parts.push(c.subarray(0, n));
      bytes = n;
      this.carry = n < c.byteLength ? c.subarray(n) : null;
    }
    while (bytes < max && !this.done) {
      const read = this.pending ?? this.reader.read();
      this.pending = null;
      let r;
      try {
        if (block && bytes === 0) {
          r = await read;
        } else {
          tick ??= nextMacrotask();
          r = await Promise.race([read, tick]);
          if (r === LATER) {
            this.pending = read;
            break;
          }
        }
      } catch (e) {
        // The body failed: what was read before still goes; the error comes with the next
        // pull (a response whose body fails later is still a response).
        if (bytes === 0 && block) throw e;
        this.pending = read;
        break;
      }
      if (r.done) {
        this.done = true;
        break;
      }
      const v = r.value;
      if (!ArrayBuffer.isView(v)) throw badChunk();
      const chunk = v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      if (chunk.byteLength === 0) continue;
      const n = Math.min(max - bytes, chunk.byteLength);
      parts.push(n < chunk.byteLength ? chunk.subarray(0, n) : chunk);
      if (n < chunk.byteLength) this.carry = chunk.subarray(n);
      bytes += n;
    }
    return bytes === 0 ? null : parts;
  }

  /** Whether everything was read (nothing carried over). */
  get ended() {
    return this.done && this.carry === null;
  }

  cancel(reason) {
    this.done = true;
    this.carry = null;
    this.pending = null;
    return this.reader.cancel(reason).catch(() => {});
  }
}

/**
 * The sending end of a streamed body, passed by reference: the receiver pulls chunks.
 * Its methods are its RPC surface (see refs.js: prototype methods of an RpcTarget).
 */
export class BodySource extends RpcTarget {
  /** @type {Gatherer | null} */
  #g;

  /** @param {Gatherer} g */
  constructor(g) {
    super();
    this.#g = g;
  }

  /** Pulls in progress: the receiver may ask again before an answer came (read-ahead). */
  #last = Promise.resolve();

  /**
   * The next chunk (at most CHUNK_BYTES), or null at the end. It goes as raw bytes: the
   * receiver gets one Uint8Array (lib/raw-bytes.js).
   */
  pull() {
    const p = this.#last.then(() => this.#next());
    this.#last = p.catch(() => {});
    return p;
  }

  async #next() {
    const g = this.#g;
    if (g === null) return null;
    try {
      const parts = await g.gather(CHUNK_BYTES, true);
      if (parts === null) {
        this.#g = null;
        return null;
      }
      let n = 0;
      for (const p of parts) n += p.byteLength;
      bytesMoved(n);
      return new RawBytes(parts);
    } catch (e) {
      this.#g = null;
      throw e;
    }
  }

  /** The receiver cancelled the body: the sending stream is cancelled with `reason`. */
  cancel(reason) {
    const g = this.#g;
    this.#g = null;
    return g?.cancel(reason);
  }

  /** The last reference was let go: nobody will read the rest. */
  [Symbol.dispose]() {
    this.cancel();
  }
}

/**
 * The wire form of a body: null (no body), a Uint8Array (the whole body, inline), or
 * `{ head, source }` (the first bytes, maybe null, and a BodySource for the rest).
 * Locks `stream` (the Request/Response counts as used, as when its body is read).
 * @param {ReadableStream | null} stream
 */
export async function bodyToWire(stream) {
  if (stream === null) return null;
  const g = new Gatherer(stream);
  const parts = await g.gather(INLINE_BYTES, false);
  const head = parts === null ? null : joined(parts);
  if (g.ended) return head ?? new Uint8Array(0);
  return { head, source: new BodySource(g) };
}

/** The BodySource of a wire body, if it has one (the sender cancels it when the call fails). */
export function sourceOf(wireBody) {
  return wireBody !== null && typeof wireBody === 'object' && wireBody.source instanceof BodySource ? wireBody.source : null;
}

/**
 * The body a receiver builds from the wire form (see bodyToWire): null, the inline bytes,
 * or a ReadableStream pulling from the sender's source.
 */
export function wireToBody(w) {
  if (w === null || w === undefined) return null;
  if (ArrayBuffer.isView(w)) return w;
  return sourceStream(w.head ?? null, w.source);
}

/** How many `pull()` calls a receiver keeps on their way (read-ahead). */
const AHEAD = 2;

/**
 * A ReadableStream over a remote BodySource (`source` is its stub). Up to AHEAD pulls are
 * in flight, so the sender gathers and encodes the next chunk while the last one crosses;
 * the stream asks for more only when its queue is empty (highWaterMark 1): at most AHEAD + 1
 * chunks (each ≤ CHUNK_BYTES) are on their way or queued at a time.
 */
function sourceStream(head, source) {
  let open = true;
  /** @type {Promise<Uint8Array | null>[]} answers of pulls sent, oldest first */
  const ahead = [];
  let ended = false;
  const release = () => {
    if (!open) return;
    open = false;
    try {
      source[Symbol.dispose]();
    } catch {}
  };
  const ask = () => {
    while (!ended && ahead.length < AHEAD) {
      const p = Promise.resolve(source.pull());
      p.catch(() => {});
      ahead.push(p);
    }
  };
  return new ReadableStream(
    {
      start(controller) {
        if (head !== null && head.byteLength > 0) controller.enqueue(head);
      },
      async pull(controller) {
        ask();
        let chunk;
        try {
          chunk = await ahead.shift();
        } catch (e) {
          ended = true;
          release();
          throw e;
        }
        if (chunk === null || chunk === undefined) {
          ended = true;
          release();
          controller.close();
        } else {
          bytesMoved(chunk.byteLength);
          controller.enqueue(chunk);
        }
      },
      async cancel(reason) {
        ended = true;
        if (!open) return;
        try {
          await source.cancel(reason);
        } catch {
          // A reason that cannot cross: the release below still cancels the source.
        } finally {
          release();
        }
      },
    },
    { highWaterMark: 1 },
  );
}
