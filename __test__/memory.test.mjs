// The per-thread memory limit (SPEC §6.2, `memoryLimitMb`): an object that over-allocates in an
// ordinary way breaks itself only. Every scenario runs in a child process, since a failure
// here means the process aborts (V8's fatal out-of-memory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../index.js';
import { fixture } from './helpers.mjs';

const CHILD = fileURLToPath(new URL('./fixtures/memory-child.mjs', import.meta.url));

/**
 * Runs `calls` ([name, method, ...args]) against namespace HOG of a runtime in a child process.
 * @returns {Array<{ value?: unknown, error?: { name: string, message: string, code?: string, reset: boolean } }>}
 */
function run(options, calls, parallel = false) {
  const r = spawnSync(process.execPath, [CHILD, JSON.stringify({ options, calls, parallel })], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 1 << 20,
  });
  assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, `child exited with ${r.status}: ${r.stderr.slice(0, 2000)}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.pop(), 'done', r.stdout);
  return lines.map((l) => JSON.parse(l));
}

const limitError = (mb) => ({
  error: { name: 'Error', message: `Durable Object exceeded its memory limit (${mb} MB).`, code: undefined, reset: true },
});

/** The results without `code` (one test below checks the code itself). */
const withoutCodes = (results) =>
  results.map((r) => (r.error ? { error: { ...r.error, code: undefined } } : r));

test('an object growing past its memory limit within one call breaks with the memory limit error', () => {
  const results = run({ memoryLimitMb: 16 }, [['a', 'grow']]);
  assert.deepEqual(withoutCodes(results), [limitError(16)]);
});

test('other objects keep working while one runs out of memory', () => {
  const results = run({ memoryLimitMb: 16 }, [
    ['b', 'inc'],
    ['a', 'grow'],
    ['b', 'inc'],
  ]);
  assert.deepEqual(results[0], { value: 1 });
  assert.equal(results[1].error?.message, 'Durable Object exceeded its memory limit (16 MB).');
  assert.deepEqual(results[2], { value: 2 }, 'b kept its instance');
});

test('the next call after a memory break starts a fresh instance', () => {
  const results = run({ memoryLimitMb: 16 }, [
    ['a', 'inc'],
    ['a', 'thread'],
    ['a', 'grow'],
    ['a', 'inc'],
    ['a', 'thread'],
  ]);
  assert.deepEqual(results[0], { value: 1 });
  assert.ok(results[2].error);
  assert.deepEqual(results[3], { value: 1 }, 'a fresh instance');
  assert.notEqual(results[4].value, results[1].value, 'on a new thread');
});

test('a facet that runs out of memory breaks its whole object by default', () => {
  const results = run({ memoryLimitMb: 16 }, [
    ['PARENT:p', 'inc'],
    ['PARENT:p', 'call', 'kid', 'grow'],
    ['PARENT:p', 'inc'],
  ]);
  assert.deepEqual(withoutCodes(results), [{ value: 1 }, limitError(16), { value: 1 }]);
});

test('with facetFailure "isolate" a facet over its memory limit breaks only itself', () => {
  const results = run({ memoryLimitMb: 16, facetFailure: 'isolate' }, [
    ['PARENT:p', 'inc'],
    ['PARENT:p', 'call', 'kid', 'inc'],
    ['PARENT:p', 'call', 'kid', 'keep', 40],
    ['PARENT:p', 'inc'],
    ['PARENT:p', 'call', 'kid', 'inc'],
  ]);
  const error = { ...limitError(16).error, reset: false };
  assert.deepEqual(withoutCodes(results), [{ value: 1 }, { value: 1 }, { error }, { value: 2 }, { value: 1 }]);
});

test('one string allocation far beyond the limit breaks only that object', () => {
  // 200 MB in a single allocation: more than Node's 16 MB grace beyond a worker's heap limit.
  const results = run({ memoryLimitMb: 32 }, [
    ['b', 'inc'],
    ['a', 'flatString', 200_000_000],
    ['b', 'inc'],
  ]);
  assert.deepEqual(withoutCodes(results), [{ value: 1 }, limitError(32), { value: 2 }]);
});

test('JSON.stringify of a huge value inside an object breaks only that object', () => {
  const results = run({ memoryLimitMb: 32 }, [
    ['b', 'inc'],
    ['a', 'stringify', 150_000_000],
    ['b', 'inc'],
  ]);
  assert.deepEqual(withoutCodes(results), [{ value: 1 }, limitError(32), { value: 2 }]);
});

test('a huge array breaks only that object', () => {
  const results = run({ memoryLimitMb: 32 }, [
    ['b', 'inc'],
    ['a', 'array', 20_000_000], // 160 MB of doubles in one allocation
    ['b', 'inc'],
  ]);
  assert.deepEqual(withoutCodes(results), [{ value: 1 }, limitError(32), { value: 2 }]);
});

test('a Buffer.alloc loop breaks only that object', () => {
  const results = run({ memoryLimitMb: 32 }, [
    ['b', 'inc'],
    ['a', 'buffers', 100],
    ['b', 'inc'],
  ]);
  assert.deepEqual(withoutCodes(results), [{ value: 1 }, limitError(32), { value: 2 }]);
});

test('a string concatenation loop breaks only that object', () => {
  const results = run({ memoryLimitMb: 32 }, [
    ['b', 'inc'],
    ['a', 'concat', 3_000_000], // ~100 M characters, two bytes each
    ['b', 'inc'],
  ]);
  assert.deepEqual(withoutCodes(results), [{ value: 1 }, limitError(32), { value: 2 }]);
});

test('garbage beyond the limit does not break an object whose live data fits', () => {
  const results = run({ memoryLimitMb: 32 }, [
    ['a', 'keep', 16],
    ['a', 'churn', 200],
    ['a', 'churn', 200],
    ['a', 'inc'],
  ]);
  assert.deepEqual(results, [{ value: 16 }, { value: 200 * 1024 * 1024 }, { value: 200 * 1024 * 1024 }, { value: 1 }]);
});

test('dead Buffers beyond the limit do not break an object', () => {
  const results = run({ memoryLimitMb: 16 }, [
    ['a', 'churnBuffers', 300],
    ['a', 'churnBuffers', 300],
    ['a', 'inc'],
  ]);
  assert.deepEqual(results, [{ value: 300 * 1024 * 1024 }, { value: 300 * 1024 * 1024 }, { value: 1 }]);
});

test('an object holding more than its limit after a call breaks', () => {
  const results = run({ memoryLimitMb: 32 }, [
    ['a', 'keep', 16],
    ['a', 'inc'],
    ['a', 'keep', 48],
    ['a', 'inc'],
  ]);
  assert.deepEqual(withoutCodes(results), [{ value: 16 }, { value: 1 }, limitError(32), { value: 1 }]);
});

test('the memory limit error carries code ERR_DO_MEMORY_LIMIT', () => {
  const results = run({ memoryLimitMb: 16 }, [['a', 'grow']]);
  assert.equal(results[0].error?.code, 'ERR_DO_MEMORY_LIMIT');
});

test('memoryLimitMb must be an integer from 16 to 2³¹−1', () => {
  const cases = [
    [0, RangeError],
    [15, RangeError],
    [-1, RangeError],
    [2 ** 31, RangeError],
    [16.5, TypeError],
    ['128', TypeError],
    [Number.NaN, TypeError],
  ];
  for (const [memoryLimitMb, cls] of cases) {
    assert.throws(
      () => new Runtime({ main: fixture('memory-objects.mjs'), durableObjects: { HOG: 'Hog' }, memoryLimitMb }),
      (e) => e instanceof cls && e.message.includes('options.memoryLimitMb') && e.code === 'ERR_DO_INVALID_OPTION',
      String(memoryLimitMb),
    );
  }
});

test('memoryLimitMb defaults to 128', () => {
  const results = run({}, [['a', 'keep', 140]]);
  assert.deepEqual(withoutCodes(results), [limitError(128)]);
});

test('objects over their limit at the same moment all break: the guard never gives up', () => {
  // Each thread captures a gc() by switching a process-wide V8 flag on and off; threads
  // doing it at once once undid each other and left some without a guard for good.
  const calls = Array.from({ length: 6 }, (_, i) => [`h${i}`, 'keep', 40]);
  const results = run({ memoryLimitMb: 16 }, calls, true);
  assert.deepEqual(withoutCodes(results), calls.map(() => limitError(16)));
});

test('a thread whose instance went over its memory limit is not reused by the next instance', () => {
  const [before, broke, after] = run({ memoryLimitMb: 16 }, [['a', 'thread'], ['a', 'grow'], ['a', 'thread']]);
  assert.equal(broke.error?.message, 'Durable Object exceeded its memory limit (16 MB).');
  assert.equal(typeof before.value, 'number');
  assert.notEqual(after.value, before.value);
});
