// The entry module of every runtime thread. A thread started for a runtime evaluates host.js
// at once. A *spare* thread (see lib/runtime.js `startSpare`) is started before any runtime
// needs it: it evaluates the runtime's own modules meanwhile — most of a thread's start-up —
// and waits for the message that gives it to a runtime, then evaluates host.js.
// (Dynamic imports, never a top-level await: see host.js `boot`.)
import { workerData, parentPort } from 'node:worker_threads';
import { setBootData } from './boot-data.js';

function host(data) {
  if (data.env !== undefined) {
    // A spare handed over: the environment of the moment it was taken (lib/runtime.js boot).
    for (const key of Object.keys(process.env)) if (!Object.hasOwn(data.env, key)) delete process.env[key];
    Object.assign(process.env, data.env);
    delete data.env;
  }
  setBootData(data);
  import('./host.js');
}

if (workerData?.spare) {
  // host.js's own imports (any left out just load later); none runs user code.
  const preloads = [
    '../port.js',
    '../codec.js',
    '../refs.js',
    '../storage/index.js',
    '../facets.js',
    '../state.js',
    '../http.js',
    '../namespace.js',
    './loader.js',
    './instance-scope.js',
    './memory-guard.js',
    './alarms.js',
    './entry.js',
    './testing.js',
  ].map((m) => import(m));
  // Handed over before the preloads finished, host.js's imports simply wait for them.
  parentPort.once('message', (data) => host(data));
  Promise.allSettled(preloads);
} else {
  host(workerData);
}
