// Alarm timers of one runtime, on the main thread: each object's next alarm, retried with
// exponential backoff (6 retries) when its handler fails. Timers never keep the process
// alive (unref'd).
import * as port from './port.js';
import { encode } from './codec.js';
import { setTimeout, clearTimeout, now } from './timers.js';

const ALARM_METHOD = '\u0000alarm';
const ALARM_GIVE_UP_METHOD = '\u0000alarmGiveUp';
const MAX_RETRIES = 6;
/** setTimeout's ceiling; later alarms re-arm when it fires. */
const MAX_DELAY = 2 ** 31 - 1;

export class AlarmScheduler {
  #rt;
  #retryBaseMs;
  /** @type {Map<string, {ns: number, idHex: string, name: string | null, time: number, retry: number, timer: any, running: boolean, done?: Promise<void> | null, forced: boolean}>} */
  #alarms = new Map();
  #disposed = false;

  #log;

  /** @param {import('./diagnostics.js').Logger} log alarms run, retry and fail are logged */
  constructor(rt, retryBaseMs, log) {
    this.#rt = rt;
    this.#retryBaseMs = retryBaseMs;
    this.#log = log;
  }

  /** An object's alarm changed (`time` null: deleted). */
  set(ns, idHex, name, time) {
    const key = `${ns}:${idHex}`;
    const existing = this.#alarms.get(key);
    if (existing) {
      clearTimeout(existing.timer);
      if (time === null && !existing.running) {
        this.#alarms.delete(key);
        return;
      }
    }
    if (time === null) return;
    const entry = existing ?? { ns, idHex, name, time, retry: 0, timer: null, running: false, forced: false };
    entry.time = time;
    entry.retry = 0;
    entry.forced = false;
    if (name !== null) entry.name = name;
    this.#alarms.set(key, entry);
    if (!entry.running) this.#arm(key, entry, time - now());
  }

  #arm(key, entry, delay) {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.#fire(key, entry), Math.min(Math.max(0, delay), MAX_DELAY));
    entry.timer.unref();
  }

  async #fire(key, entry) {
    if (this.#disposed || this.#alarms.get(key) !== entry) return;
    if (!entry.forced && entry.time > now() + 1) return this.#arm(key, entry, entry.time - now());
    // The retries of a forced run (runDurableObjectAlarm) are forced too: the stored time
    // may still be ahead.
    await this.#run(key, entry, entry.forced).catch(() => {});
  }

  /**
   * Runs `entry`'s alarm on its object (`force`: even if not due yet). Resolves whether
   * alarm() ran; rejects with the handler's error after scheduling its retry (6 retries with
   * exponential backoff, then the alarm is deleted).
   */
  #run(key, entry, force) {
    entry.running = true;
    const retry = entry.retry;
    const done = (async () => {
      this.#log?.info('alarm.run', { ...this.#log.object(entry.ns, entry.idHex, entry.name), retry, forced: force || undefined });
      try {
        const { next, ran } = await port.send(this.#rt, entry.ns, entry.idHex, entry.name, ALARM_METHOD, encode([retry, force]));
        entry.running = false;
        entry.forced = false;
        if (this.#alarms.get(key) !== entry) return ran;
        if (next === null) this.#alarms.delete(key);
        else {
          entry.time = next;
          entry.retry = 0;
          this.#arm(key, entry, next - now());
        }
        return ran;
      } catch (e) {
        entry.running = false;
        if (this.#disposed || this.#alarms.get(key) !== entry) throw e;
        if (retry >= MAX_RETRIES) {
          this.#log?.error('alarm.fail', { ...this.#log.object(entry.ns, entry.idHex, entry.name), retries: retry, error: e?.message });
          this.#alarms.delete(key);
          port.send(this.#rt, entry.ns, entry.idHex, entry.name, ALARM_GIVE_UP_METHOD, encode([])).catch(() => {});
          throw e;
        }
        entry.retry = retry + 1;
        entry.forced = force;
        this.#log?.warn('alarm.retry', { ...this.#log.object(entry.ns, entry.idHex, entry.name), retry: retry + 1, inMs: this.#retryBaseMs * 2 ** retry, error: e?.message });
        this.#arm(key, entry, this.#retryBaseMs * 2 ** retry);
        throw e;
      }
    })();
    entry.done = done.then(
      () => {},
      () => {},
    );
    return done;
  }

  /**
   * Runs an object's alarm now if one is set (runDurableObjectAlarm): resolves whether
   * alarm() ran. Afterwards the alarm is as after a normal run: deleted, or what the handler
   * set; a failure is retried as a normal alarm's (and rejects this call). The object's own
   * storage decides whether an alarm is set, so one just committed counts even before its
   * timer here was armed. One alarm() at a time per object: a run under way finishes first.
   */
  async runNow(ns, idHex, name) {
    const key = `${ns}:${idHex}`;
    for (let e = this.#alarms.get(key); e?.running; e = this.#alarms.get(key)) await e.done;
    let entry = this.#alarms.get(key);
    if (entry === undefined) {
      entry = { ns, idHex, name, time: now(), retry: 0, timer: null, running: false, done: null, forced: false };
      this.#alarms.set(key, entry);
    }
    clearTimeout(entry.timer);
    return this.#run(key, entry, true);
  }

  dispose() {
    this.#disposed = true;
    for (const e of this.#alarms.values()) clearTimeout(e.timer);
    this.#alarms.clear();
  }
}
