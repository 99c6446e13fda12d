// KV: list-option compilation shared by the async API and ctx.storage.kv (sync).
import { native } from '../native.js';
import { serialize, deserialize } from './serialize.js';
import { withCode } from '../error-codes.js';

/** @returns {{start: string, end: string | null, prefix: string | null, reverse: boolean, limit: number}} */
export function compileListOptions(options = {}) {
  if (options === null || typeof options !== 'object') {
    throw withCode(new TypeError('list() options must be an object.'), 'InvalidArgument');
  }
  const { start, startAfter, end, prefix, reverse, limit } = options;
  if (start !== undefined && startAfter !== undefined) {
    throw withCode(new TypeError('list() cannot be called with both start and startAfter values.'), 'InvalidArgument');
  }
  if (limit !== undefined && !(limit > 0)) throw withCode(new TypeError('List limit must be positive.'), 'InvalidArgument');
  let from = '';
  if (start !== undefined) from = String(start);
  if (startAfter !== undefined) from = `${String(startAfter)}\0`;
  return {
    start: from,
    end: end === undefined ? null : String(end),
    prefix: prefix === undefined ? null : String(prefix),
    reverse: !!reverse,
    limit: limit === undefined ? -1 : Math.floor(limit),
  };
}

/** [key, value] pairs of a list() as a flat native array. */
export function listEntries(opts) {
  return native.kvList(opts.start, opts.end, opts.prefix, opts.reverse, opts.limit);
}

/** The value of `key`; small values come through `scratch` (no Buffer per call). */
export function getValue(key, scratch) {
  const n = native.kvGetInto(key);
  if (n === -1) return undefined;
  if (n === -2) return deserialize(native.kvGet(key));
  return deserialize(scratch, n);
}

export function putValue(key, value) {
  native.kvPut(key, serialize(value));
}

const INVALIDATED =
  'kv.list() iterator was invalidated because a new call to kv.list() was started. Only one kv.list() iterator can exist at a time.';

/** ctx.storage.kv: synchronous KV in the same database. */
export class SyncKvStorage {
  #storage;
  #listGeneration = 0;

  /** @internal */
  constructor(storage) {
    this.#storage = storage;
  }

  /** @param {string} key */
  get(key) {
    const s = this.#storage;
    s.open();
    try {
      return getValue(String(key), s.scratch);
    } finally {
      s.afterCall();
    }
  }

  /** @param {string} key */
  put(key, value) {
    const s = this.#storage;
    s.open();
    try {
      putValue(String(key), value);
    } finally {
      s.afterCall();
    }
  }

  /** @param {string} key */
  delete(key) {
    const s = this.#storage;
    s.open();
    try {
      return native.kvDelete(String(key));
    } finally {
      s.afterCall();
    }
  }

  /** Iterates [key, value] pairs; starting another list() invalidates this one. */
  list(options) {
    const s = this.#storage;
    s.open();
    const flat = listEntries(compileListOptions(options));
    const generation = ++this.#listGeneration;
    const self = this;
    let i = 0;
    return {
      [Symbol.iterator]() {
        return this;
      },
      next() {
        if (generation !== self.#listGeneration) throw withCode(new Error(INVALIDATED), 'InvalidState');
        if (i >= flat.length) return { done: true, value: undefined };
        const entry = [flat[i], deserialize(flat[i + 1])];
        i += 2;
        return { done: false, value: entry };
      },
    };
  }
}
