// The object-thread side of `durable-facets/testing` (lib/testing.js): internal calls that
// run a test's callback inside the instance, or evict it. Their method names start with NUL,
// which no stub sends for a user's name (lib/stub.js `methodFor`), so only the helpers reach
// them.
import { native } from '../native.js';
import * as port from '../port.js';
import * as refs from '../refs.js';
import { encodeRpc } from '../codec.js';
import { withCode } from '../error-codes.js';
import { holding as holdingSockets } from '../websocket.js';
import { setTimeout } from '../timers.js';

/** `runInDurableObject`: `[source, ...args]`. */
export const RUN_METHOD = '\u0000testRun';
/** `evictDurableObject`: no arguments. */
export const EVICT_METHOD = '\u0000testEvict';

/** How often an eviction that waits for the instance to become idle asks again (ms). */
const EVICT_RETRY_MS = 2;

/** Whether `method` is one of the testing helpers' internal calls. */
export function isTestingMethod(method) {
  return method === RUN_METHOD || method === EVICT_METHOD;
}

/**
 * Carries out a testing call on the hosted instance.
 * @param {object} host the Host of worker/host.js (instance, ctx, settle, fail, …)
 * @param {number} callId
 * @param {string} method RUN_METHOD or EVICT_METHOD
 * @param {unknown[]} args the decoded arguments
 * @param {() => void} recycle tears the instance down and hands the thread back
 */
export function performTesting(host, callId, method, args, recycle) {
  if (method === RUN_METHOD) return host.settle(callId, run(host, args));
  evict(host, callId, recycle);
}

/**
 * Compiles the callback's source in this thread's global scope: it sees the globals, never
 * the variables of the file it was written in. Arrow functions, function expressions and
 * method shorthand (`run(instance) {…}`) all compile.
 */
function compile(source) {
  try {
    return (0, eval)(wrap(`(${source}\n)`));
  } catch (first) {
    try {
      const holder = (0, eval)(wrap(`({ ${source}\n})`));
      const [fn] = Object.values(holder);
      if (typeof fn === 'function') return fn;
    } catch {}
    throw withCode(
      new TypeError(`runInDurableObject(): the callback's source does not compile on its own (${first?.message}).`),
      'InvalidArgument',
    );
  }
}

/**
 * vitest compiles `import(x)` in test files to `__vite_ssr_dynamic_import__(x)`: a callback
 * written there finds that name here too.
 */
function wrap(expression) {
  return `"use strict"; ((__vite_ssr_dynamic_import__) => ${expression})((specifier) => import(specifier))`;
}

async function run(host, [source, ...args]) {
  const fn = compile(source);
  try {
    return await fn(host.instance, host.ctx, ...args);
  } catch (e) {
    throw explainScope(e, source);
  }
}

/**
 * A ReferenceError for a name the callback's own source uses: most likely a variable of the
 * test file it closed over, which does not exist in the object's thread. Said so, with the
 * way out.
 */
function explainScope(error, source) {
  if (!(error instanceof ReferenceError)) return error;
  const name = /^(\S+) is not defined$/.exec(error.message)?.[1];
  if (name === undefined || !new RegExp(`(^|[^\\w$])${name.replace(/\$/g, '\\$')}($|[^\\w$])`).test(source)) return error;
  const explained = new ReferenceError(
    `runInDurableObject(): ${name} is not defined. The callback runs in the Durable Object's ` +
      `thread, compiled from its source, so it cannot use variables or imports of the test ` +
      `file: pass values as extra arguments (runInDurableObject(stub, (instance, ctx, ${name}) => …, ${name})) ` +
      `and import modules inside it (await import(…)).`,
    { cause: error },
  );
  return withCode(explained, 'InvalidArgument');
}

/**
 * Stops the instance as idle eviction would (its storage is kept, hibernatable WebSockets
 * too), once nothing but this call is in flight to or from it. The call is answered by the
 * hub in the same step that retires the instance, so the caller's next call starts a new one.
 */
function evict(host, callId, recycle) {
  const cannot = (why) =>
    host.fail(callId, withCode(new Error(`evictDurableObject(): the instance cannot be evicted while ${why}.`), 'InvalidState'));
  const attempt = () => {
    if (host.ending) return; // stopped meanwhile: the hub rejects or answered the call
    // What keeps an instance running for good (idle eviction would wait forever) is refused.
    if (refs.exporting()) return cannot('other threads hold references to what it exported');
    if (holdingSockets()) return cannot('it has accepted WebSockets that are not hibernatable');
    if (host.holds > 0 || host.blocked > 0) return setTimeout(attempt, EVICT_RETRY_MS);
    // Writes of a turn that has not ended yet commit first (as idle eviction).
    host.engine?.endOfTurn();
    if (host.ending) return;
    if (port.gateClosed()) return setTimeout(attempt, EVICT_RETRY_MS);
    if (native.retireAnswering(callId, encodeRpc(undefined, [])) === 0) recycle();
    else setTimeout(attempt, EVICT_RETRY_MS);
  };
  attempt();
}
