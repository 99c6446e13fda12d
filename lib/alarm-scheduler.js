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
  /** @type {Map<string, {ns: number, idHex: string, name: string | null, time: number, retry: number, timer: any, running: boolean}>} */
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
    const entry = existing ?? { ns, idHex, name, time, retry: 0, timer: null, running: false };
    entry.time = time;
    entry.retry = 0;
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
    if (entry.time > now() + 1) return this.#arm(key, entry, entry.time - now());
    entry.running = true;
    const retry = entry.retry;
    this.#log?.info('alarm.run', { ...this.#log.object(entry.ns, entry.idHex, entry.name), retry });
    try {
      const { next } = await port.send(this.#rt, entry.ns, entry.idHex, entry.name, ALARM_METHOD, encode([retry]));
      entry.running = false;
      if (this.#alarms.get(key) !== entry) return;
      if (next === null) this.#alarms.delete(key);
      else {
        entry.time = next;
        entry.retry = 0;
        this.#arm(key, entry, next - now());
      }
    } catch (e) {
      entry.running = false;
      if (this.#disposed || this.#alarms.get(key) !== entry) return;
      if (retry >= MAX_RETRIES) {
        this.#log?.error('alarm.fail', { ...this.#log.object(entry.ns, entry.idHex, entry.name), retries: retry, error: e?.message });
        this.#alarms.delete(key);
        port.send(this.#rt, entry.ns, entry.idHex, entry.name, ALARM_GIVE_UP_METHOD, encode([])).catch(() => {});
        return;
      }
      entry.retry = retry + 1;
      this.#log?.warn('alarm.retry', { ...this.#log.object(entry.ns, entry.idHex, entry.name), retry: retry + 1, inMs: this.#retryBaseMs * 2 ** retry, error: e?.message });
      this.#arm(key, entry, this.#retryBaseMs * 2 ** retry);
    }
  }

  dispose() {
    this.#disposed = true;
    for (const e of this.#alarms.values()) clearTimeout(e.timer);
    this.#alarms.clear();
  }
}
