// ctx.storage: SQL, KV (async and sync), transactions, alarms, and the implicit
// transaction + output gate that make a received result imply durable writes.
import { native } from '../native.js';
import * as port from '../port.js';
import { notSupported } from '../errors.js';
import { withCode } from '../error-codes.js';
import { SqlStorage } from './sql.js';
import { SyncKvStorage, compileListOptions, listEntries, getValue, putValue } from './kv.js';
import { deserialize } from './serialize.js';
import { AsyncLocalStorage } from 'node:async_hooks';

/** Which storage's transaction() callback is running (nested calls nest, others wait). */
const txnScope = new AsyncLocalStorage();

const STAT_OPENED = 2;

const CONSTRAINT_RESET =
  'Durable Object was reset and rolled back to its last known good state because the application left the database in a state where constraints were violated: ';

const deleteAllInTransaction = () => withCode(new Error('Cannot call deleteAll() within a transaction'), 'InvalidState');

const PUT_USAGE =
  'put() may only be called with a single key-value pair and optional options as put(key, value, options) or with multiple key-value pairs and optional options as put(entries, options)';

/**
 * The instance's storage plumbing (internal): opens the database lazily, watches for the
 * first write of a turn, and commits at the end of the turn before anything leaves.
 */
export class StorageEngine {
  stats = new Float64Array(5);
  /** Small stored values are copied here by the native side (see kvGetInto). */
  scratch = Buffer.allocUnsafeSlow(64 * 1024);
  /** Statement epoch; -1 until the database is opened. */
  epoch = -1;
  /** Depth of explicit `transaction()` calls in progress. */
  explicit = 0;
  #host;
  #cursors = new FinalizationRegistry(({ id, epoch }) => {
    if (epoch === this.epoch) native.sqlCloseCursor(id);
  });
  #syncWaiters = [];
  /** Called after each commit (alarm bookkeeping). */
  onCommit = null;

  constructor(host) {
    this.#host = host;
  }

  /** The instance stopped and its thread was recycled: this storage is gone for good. */
  closed = false;

  open() {
    // Code of a stopped instance that still runs (a callback of its own I/O) must not
    // reach the database of the thread's next instance.
    if (this.closed) throw withCode(new Error('This Durable Object instance was stopped.'), 'Stopped');
    if (this.epoch < 0) this.epoch = native.storageOpen(this.stats, this.scratch);
  }

  /**
   * See `closed`; the native handle was dropped by the host (native.storageClose). The
   * epoch becomes one no database has: cached statements are dropped at their next use
   * (which then throws), and the cursor finalizer leaves the next instance's cursors alone.
   */
  close() {
    this.closed = true;
    this.epoch = -2;
    this.#syncWaiters = [];
  }

  /** After every native storage call: a new implicit transaction closes the output gate. */
  afterCall() {
    const opened = this.stats[STAT_OPENED];
    if (opened !== 0) {
      this.stats[STAT_OPENED] = 0;
      if (opened === 2) {
        // Only reads: the read transaction ends with the turn; nothing is held back.
        this.readOpen = true;
        port.scheduleSpin();
      } else if (this.explicit === 0) {
        port.closeGate();
        port.scheduleSpin();
      }
    }
  }

  /** A read transaction is open (see afterCall). */
  readOpen = false;

  /** End of turn (before the thread spins or sleeps): commit, then let messages out. */
  endOfTurn() {
    if (this.explicit > 0) return;
    if (port.gateClosed()) this.commit();
    else if (this.readOpen) this.commit();
  }

  commit() {
    if (this.closed) return; // the thread's next instance owns the transaction state now
    this.readOpen = false;
    try {
      native.txnCommit();
    } catch (e) {
      // A failed commit breaks the instance (its held results never leave).
      this.#host.break(e?.sqliteCode === 'SQLITE_CONSTRAINT' ? withCode(new Error(CONSTRAINT_RESET + e.message), 'SqlCritical') : e);
      return;
    }
    this.onCommit?.();
    port.openGate();
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once the writes made so far are committed. */
  sync() {
    if (!port.gateClosed()) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  next(cursorId) {
    this.open();
    try {
      return native.sqlNext(cursorId);
    } finally {
      this.afterCall();
    }
  }

  track(cursor, id) {
    this.#cursors.register(cursor, { id, epoch: this.epoch }, cursor);
  }

  untrack(cursor) {
    this.#cursors.unregister(cursor);
  }

  /** Empties the database; pending writes of this turn are dropped with it. */
  deleteAll() {
    this.open();
    this.epoch = native.storageDeleteAll();
    port.openGate();
  }
}

function checkKey(key) {
  if (typeof key === 'symbol') throw withCode(new TypeError('Cannot convert a Symbol value to a string'), 'InvalidArgument');
  return String(key);
}

function mapOf(flat) {
  const out = new Map();
  for (let i = 0; i < flat.length; i += 2) out.set(flat[i], deserialize(flat[i + 1]));
  return out;
}

export class DurableObjectStorage {
  #engine;
  #host;
  #sql;
  #kv;

  /** @internal */
  constructor(host, engine) {
    this.#host = host;
    this.#engine = engine;
    this.#sql = new SqlStorage(engine);
    this.#kv = new SyncKvStorage(engine);
  }

  get sql() {
    return this.#sql;
  }

  get kv() {
    return this.#kv;
  }

  /** Runs `fn` in a savepoint: its writes are kept if it returns, rolled back if it throws. */
  transactionSync(fn) {
    if (typeof fn !== 'function') throw withCode(new TypeError('transactionSync() requires a function.'), 'InvalidArgument');
    const e = this.#engine;
    e.open();
    let depth;
    try {
      depth = native.txnSavepoint();
    } finally {
      e.afterCall();
    }
    let result;
    try {
      result = fn();
    } catch (err) {
      native.txnRollbackTo(depth);
      throw err;
    }
    native.txnRelease(depth);
    return result;
  }

  /**
   * Runs `closure(txn)` atomically; no other event is delivered meanwhile. A throw rolls
   * back and rejects (without resetting the object).
   */
  async transaction(closure) {
    if (typeof closure !== 'function') throw withCode(new TypeError('transaction() requires a function.'), 'InvalidArgument');
    const e = this.#engine;
    e.open();
    // Transactions of different handlers run one after the other (their savepoints must
    // nest); one started inside another's callback nests in it.
    if (txnScope.getStore() === this) return this.#runTransaction(closure);
    const previous = this.#txnTail;
    let done;
    this.#txnTail = new Promise((resolve) => (done = resolve));
    try {
      await previous;
      return await txnScope.run(this, () => this.#runTransaction(closure));
    } finally {
      done();
    }
  }

  #txnTail = Promise.resolve();

  #runTransaction(closure) {
    const e = this.#engine;
    return this.#host.holdInput(async () => {
      if (e.explicit === 0 && port.gateClosed()) e.commit();
      e.explicit++;
      // Results (this handler's and others') wait for the transaction's commit; outgoing
      // calls go out, since the transaction may await them (its writes are not committed,
      // so nothing written in it leaks through them).
      port.holdReplies(true);
      let depth;
      try {
        depth = native.txnSavepoint();
      } catch (err) {
        e.explicit--;
        throw err;
      }
      e.stats[STAT_OPENED] = 0;
      const txn = new DurableObjectTransaction(this);
      let result;
      try {
        result = await closure(txn);
        // Stopped while the closure awaited: its transaction was rolled back with the
        // instance; nothing here may touch the thread's next instance.
        e.open();
        if (txn.rolledBack) native.txnRollbackTo(depth);
        else native.txnRelease(depth);
      } catch (err) {
        if (!e.closed) native.txnRollbackTo(depth);
        throw err;
      } finally {
        txn.done = true;
        e.explicit--;
        if (e.explicit === 0 && !e.closed) {
          port.holdReplies(false);
          e.commit();
        }
      }
      return result;
    });
  }


  async get(keys, options) {
    this.#engine.open();
    try {
      if (Array.isArray(keys)) {
        const out = new Map();
        // Keys as stored (UTF-8: a lone surrogate is U+FFFD, as in workerd), each once.
        for (const k of [...new Set(keys.map((key) => checkKey(key).toWellFormed()))].sort(byteOrder)) {
          const v = getValue(k, this.#engine.scratch);
          if (v !== undefined || native.kvGet(k) !== undefined) out.set(k, v);
        }
        return out;
      }
      void options;
      return getValue(checkKey(keys), this.#engine.scratch);
    } finally {
      this.#engine.afterCall();
    }
  }

  async put(keyOrEntries, value, options) {
    const e = this.#engine;
    e.open();
    if (typeof keyOrEntries === 'object' && keyOrEntries !== null && !Array.isArray(keyOrEntries)) {
      if (value !== undefined && (typeof value !== 'object' || value === null)) throw withCode(new TypeError(PUT_USAGE), 'InvalidArgument');
      const entries = Object.entries(keyOrEntries).filter(([, v]) => v !== undefined);
      this.transactionSync(() => {
        for (const [k, v] of entries) {
          try {
            putValue(k, v);
          } finally {
            e.afterCall();
          }
        }
      });
      return;
    }
    if (value === undefined) throw withCode(new TypeError('put() called with undefined value.'), 'InvalidArgument');
    void options;
    try {
      putValue(checkKey(keyOrEntries), value);
    } finally {
      e.afterCall();
    }
  }

  async delete(keys, options) {
    const e = this.#engine;
    e.open();
    void options;
    try {
      if (Array.isArray(keys)) {
        let n = 0;
        for (const k of keys) if (native.kvDelete(checkKey(k))) n++;
        return n;
      }
      return native.kvDelete(checkKey(keys));
    } finally {
      e.afterCall();
    }
  }

  async list(options) {
    this.#engine.open();
    return mapOf(listEntries(compileListOptions(options)));
  }

  /** Deletes all data of this object (and its alarm). */
  async deleteAll(options) {
    void options;
    this.#engine.open(); // a stopped instance's code must not reach its thread's next one
    if (this.#engine.explicit > 0) throw deleteAllInTransaction();
    // Every facet below this instance goes too (each running one is aborted first).
    native.facetsDeleteAll();
    this.#engine.deleteAll();
    this.#host.alarms.afterDeleteAll();
  }

  /** Resolves when every write made before the call is committed. */
  sync() {
    return this.#engine.sync();
  }

  async getAlarm(options) {
    void options;
    return this.#host.alarms.get();
  }

  async setAlarm(scheduledTime, options) {
    void options;
    this.#host.alarms.set(scheduledTime);
  }

  async deleteAlarm(options) {
    void options;
    this.#host.alarms.delete();
  }

  getCurrentBookmark() {
    return Promise.reject(notSupported('Point-in-time recovery (getCurrentBookmark)'));
  }

  getBookmarkForTime() {
    return Promise.reject(notSupported('Point-in-time recovery (getBookmarkForTime)'));
  }

  onNextSessionRestoreBookmark() {
    return Promise.reject(notSupported('Point-in-time recovery (onNextSessionRestoreBookmark)'));
  }
}

function byteOrder(a, b) {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The `txn` of `transaction()`: the storage API, plus rollback(). */
class DurableObjectTransaction {
  #storage;
  rolledBack = false;
  done = false;

  constructor(storage) {
    this.#storage = storage;
  }

  #check(op) {
    if (this.done) {
      throw withCode(
        new Error(`Cannot call ${op} on transaction that has already committed: did you move \`txn\` outside of the closure?`),
        'InvalidState',
      );
    }
    if (this.rolledBack) throw withCode(new Error(`Cannot ${op} on rolled back transaction`), 'InvalidState');
  }

  get(...a) {
    this.#check('get');
    return this.#storage.get(...a);
  }
  put(...a) {
    this.#check('put');
    return this.#storage.put(...a);
  }
  delete(...a) {
    this.#check('delete');
    return this.#storage.delete(...a);
  }
  list(...a) {
    this.#check('list');
    return this.#storage.list(...a);
  }
  getAlarm(...a) {
    this.#check('getAlarm');
    return this.#storage.getAlarm(...a);
  }
  setAlarm(...a) {
    this.#check('setAlarm');
    return this.#storage.setAlarm(...a);
  }
  deleteAlarm(...a) {
    this.#check('deleteAlarm');
    return this.#storage.deleteAlarm(...a);
  }
  deleteAll() {
    return Promise.reject(deleteAllInTransaction());
  }
  rollback() {
    this.#check('rollback');
    this.rolledBack = true;
  }
}
