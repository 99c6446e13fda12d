// Alarms of a root object, on its own thread: stored in _cf_METADATA row 1 (ns), reported
// to the supervisor (which schedules them) once committed.
import { native } from '../native.js';
import { now } from '../timers.js';
import { withCode } from '../error-codes.js';

/** Internal method names the supervisor calls (a NUL keeps them out of RPC's reach). */
export const ALARM_METHOD = '\u0000alarm';
export const ALARM_GIVE_UP_METHOD = '\u0000alarmGiveUp';

const NO_HANDLER = 'Your Durable Object class must have an alarm() handler in order to call setAlarm()';

export class Alarms {
  #host;
  #engine;
  /** set/delete since the last commit */
  #changed = false;
  /** While alarm() runs: the time that fired, and whether the handler changed the alarm. */
  #running = null;

  #facet;

  constructor(host, engine, facet = false) {
    this.#host = host;
    this.#engine = engine;
    this.#facet = facet;
  }

  /** @returns {number | null} ms since the epoch */
  get() {
    if (this.#facet) return null;
    this.#engine.open();
    const ns = native.alarmGet();
    if (ns === null) return null;
    if (this.#running !== null && !this.#running.changed && ns === this.#running.ns) return null;
    return Math.round(ns / 1e6);
  }

  set(scheduledTime) {
    // Facets cannot set alarms (workerd's text); nothing is written, nothing breaks.
    if (this.#facet) throw withCode(new Error('Facets currently cannot set alarms.'), 'FacetAlarm');
    if (typeof this.#host.instance?.alarm !== 'function') throw withCode(new TypeError(NO_HANDLER), 'NoAlarmHandler');
    let ms = scheduledTime instanceof Date ? scheduledTime.getTime() : scheduledTime;
    if (typeof ms !== 'number' || Number.isNaN(ms)) {
      throw withCode(new TypeError('setAlarm() requires a number of milliseconds or a Date.'), 'InvalidArgument');
    }
    if (ms <= 0) throw withCode(new TypeError('setAlarm() cannot be called with an alarm time <= 0'), 'InvalidArgument');
    ms = Math.max(Math.floor(ms), now());
    this.#write(ms * 1e6);
  }

  delete() {
    if (!this.#facet) this.#write(null);
  }

  #write(ns) {
    const e = this.#engine;
    e.open();
    try {
      native.alarmSet(ns);
    } finally {
      e.afterCall();
    }
    this.#changed = true;
    if (this.#running !== null) this.#running.changed = true;
  }

  /** After a commit: tell the supervisor about a changed alarm. */
  afterCommit() {
    if (!this.#changed) return;
    this.#changed = false;
    native.alarmChanged(native.alarmGet(), this.#host.name);
  }

  /** deleteAll() removed the alarm along with everything else. */
  afterDeleteAll() {
    this.#changed = false;
    if (this.#facet) return;
    native.alarmChanged(null, this.#host.name);
  }

  /**
   * Runs alarm() if the stored alarm is due (`force`: if one is set at all, for
   * runDurableObjectAlarm). Resolves `{ next, ran }`: the alarm time still set afterwards
   * (ms) or null, and whether alarm() ran. Rejects with the handler's error (the supervisor
   * retries).
   */
  async run(retryCount, force = false) {
    const e = this.#engine;
    e.open();
    const ns = native.alarmGet();
    if (ns === null) return { next: null, ran: false };
    if (!force && ns / 1e6 > now() + 1) return { next: Math.round(ns / 1e6), ran: false };
    const instance = this.#host.instance;
    if (typeof instance.alarm !== 'function') return { next: null, ran: false };
    this.#running = { ns, changed: false };
    try {
      await instance.alarm({ isRetry: retryCount > 0, retryCount });
      // Stopped meanwhile: the thread may host another object now; its alarm is not ours.
      if (e.closed) return { next: null, ran: true };
      // Deleted only now that the handler succeeded, unless it set a new one.
      if (!this.#running.changed) {
        try {
          native.alarmSet(null);
        } finally {
          e.afterCall();
        }
        this.#changed = false;
        native.alarmChanged(null, this.#host.name);
      }
    } finally {
      this.#running = null;
    }
    const after = native.alarmGet();
    return { next: after === null ? null : Math.round(after / 1e6), ran: true };
  }

  /** The supervisor gave up after the last retry: the alarm is deleted. */
  giveUp() {
    this.delete();
  }
}
