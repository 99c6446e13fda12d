// ctx.storage.sql: exec() with workerd's cursor API. Statements are cached by query text
// (a JS Map lookup; the text crosses into Rust only when first compiled).
import { native } from '../native.js';
import { withCode } from '../error-codes.js';

const STAT_ROWS_READ = 0;
const STAT_ROWS_WRITTEN = 1;
const STAT_CURSOR = 3;

/** Total SQL text kept in the statement cache (workerd: 1 MiB, least recently used). */
const CACHE_BYTES = 1024 * 1024;

const ONE_NONE = 'Expected exactly one result from SQL query, but got no results.';
const ONE_MANY = 'Expected exactly one result from SQL query, but got multiple results.';

/** The rows of one exec(): fetched from Rust in batches as they are read. */
export class SqlStorageCursor {
  #storage;
  #rows;
  #pos = 0;
  #width;
  #cursor;
  #columns;
  #rowsRead;
  #rowsWritten;

  /** @internal */
  constructor(storage, rows, columns, stats) {
    this.#storage = storage;
    this.#rows = rows ?? [];
    this.#columns = columns;
    this.#width = columns.length;
    this.#cursor = stats[STAT_CURSOR];
    this.#rowsRead = stats[STAT_ROWS_READ];
    this.#rowsWritten = stats[STAT_ROWS_WRITTEN];
    if (this.#cursor >= 0) storage.track(this, this.#cursor);
  }

  /** Advances to the next row array (raw), or returns null when done. */
  #nextRaw() {
    if (this.#pos >= this.#rows.length) {
      if (this.#cursor < 0) return null;
      const id = this.#cursor;
      this.#storage.untrack(this);
      const stats = this.#storage.stats;
      this.#rows = this.#storage.next(id) ?? [];
      this.#pos = 0;
      this.#cursor = stats[STAT_CURSOR];
      this.#rowsRead = stats[STAT_ROWS_READ];
      this.#rowsWritten = stats[STAT_ROWS_WRITTEN];
      if (this.#cursor >= 0) this.#storage.track(this, this.#cursor);
      if (this.#rows.length === 0) return null;
    }
    const start = this.#pos;
    this.#pos += this.#width;
    return this.#rows.slice(start, this.#pos);
  }

  #toObject(raw) {
    const obj = {};
    for (let i = 0; i < this.#width; i++) obj[this.#columns[i]] = raw[i];
    return obj;
  }

  /** @returns {{done: false, value: object} | {done: true}} */
  next() {
    const raw = this.#nextRaw();
    return raw === null ? { done: true } : { done: false, value: this.#toObject(raw) };
  }

  toArray() {
    const out = [];
    for (let raw = this.#nextRaw(); raw !== null; raw = this.#nextRaw()) out.push(this.#toObject(raw));
    return out;
  }

  one() {
    const first = this.#nextRaw();
    if (first === null) throw withCode(new Error(ONE_NONE), 'SqlOne');
    if (this.#nextRaw() !== null) throw withCode(new Error(ONE_MANY), 'SqlOne');
    return this.#toObject(first);
  }

  /** Rows as arrays (duplicate column names keep every value). */
  *raw() {
    for (let raw = this.#nextRaw(); raw !== null; raw = this.#nextRaw()) yield raw;
  }

  *[Symbol.iterator]() {
    for (let raw = this.#nextRaw(); raw !== null; raw = this.#nextRaw()) yield this.#toObject(raw);
  }

  get columnNames() {
    return this.#columns.slice();
  }

  get rowsRead() {
    return this.#rowsRead;
  }

  get rowsWritten() {
    return this.#rowsWritten;
  }
}

export class SqlStorage {
  #storage;
  /** @type {Map<string, {handle: number, columns: string[] | null, used: number}>} */
  #cache = new Map();
  #cacheBytes = 0;
  #clock = 0;
  /** The storage epoch the cache belongs to (-2: none yet; the engine starts at -1). */
  #epoch = -2;
  /** The native `sqlExec(handle, ...bindings)` (see the binding, src/storage.rs). */
  #run = native.sqlExecFunction();

  /** @internal */
  constructor(storage) {
    this.#storage = storage;
  }

  #compile(query) {
    const handle = native.sqlPrepare(query);
    const entry = { handle, columns: native.sqlColumns(handle), used: 0 };
    this.#cache.set(query, entry);
    this.#cacheBytes += query.length;
    if (this.#cacheBytes > CACHE_BYTES) this.#evict();
    return entry;
  }

  /** Drops least recently used statements until the cache fits again. */
  #evict() {
    const byAge = [...this.#cache].sort((a, b) => a[1].used - b[1].used);
    for (const [query, e] of byAge) {
      if (this.#cacheBytes <= CACHE_BYTES / 2) break;
      this.#cache.delete(query);
      this.#cacheBytes -= query.length;
      native.sqlFinalize(e.handle);
    }
  }

  /**
   * Runs one or more statements; bindings apply to the last one.
   * @param {string} query
   * @param {...unknown} bindings
   */
  exec(query, ...bindings) {
    const storage = this.#storage;
    if (storage.epoch !== this.#epoch) this.#reset(storage);
    let entry = this.#cache.get(query);
    if (entry === undefined) {
      if (typeof query !== 'string') throw withCode(new TypeError('exec() requires a SQL string.'), 'InvalidArgument');
      entry = this.#compile(query);
    }
    entry.used = ++this.#clock;
    let rows;
    try {
      rows = this.#run(entry.handle, ...bindings);
    } finally {
      storage.afterCall();
    }
    return new SqlStorageCursor(storage, rows, entry.columns ?? native.sqlLastColumns(), storage.stats);
  }

  /** Opens the database if needed; statement handles die with a deleteAll(). */
  #reset(storage) {
    storage.open();
    this.#cache.clear();
    this.#cacheBytes = 0;
    this.#epoch = storage.epoch;
  }

  /** Size of the database in bytes: (page_count - freelist_count) * page_size. */
  get databaseSize() {
    this.#storage.open();
    return native.sqlDatabaseSize();
  }
}
