// SPEC §2.3 / §6.1: the entry point is an instance like any other: idle for idleTimeoutMs, it
// is stopped (its thread goes back to the pool), and the next request starts it again. Read
// from the runtime's diagnostics (logLevel "info"), the only place an entry point's
// lifecycle shows: it has no id for rt.inspect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, fixture, until } from './helpers.mjs';

/** Diagnostic lines written to stderr while the test runs (they are written on this thread). */
function captureStderr(t) {
  const lines = [];
  const write = process.stderr.write;
  process.stderr.write = function (chunk, ...rest) {
    const text = String(chunk);
    if (text.startsWith('durable-facets ')) {
      lines.push(...text.trimEnd().split('\n'));
      return true;
    }
    return write.call(this, chunk, ...rest);
  };
  t.after(() => {
    process.stderr.write = write;
  });
  return lines;
}

const entryLines = (lines, event) => lines.filter((l) => l.includes(` ${event} `) && / entrypoint=default( |$)/.test(l));

test('an idle entry point is stopped after idleTimeoutMs and the next request starts it again', async (t) => {
  const lines = captureStderr(t);
  const rt = runtime(t, {
    main: fixture('entry-object.mjs'),
    durableObjects: { COUNTERS: 'Counter' },
    vars: { GREETING: 'hi' },
    idleTimeoutMs: 50,
    logLevel: 'info',
  });
  assert.equal((await rt.fetch('http://app/count?name=a')).status, 200);
  // A thread's lines travel apart from its replies: wait for them, do not expect them first.
  await until(() => entryLines(lines, 'instance.evict').some((l) => l.includes('reason=idle')));
  assert.equal(entryLines(lines, 'instance.start').length, 1);
  assert.equal((await (await rt.fetch('http://app/count?name=a')).json()).greeting, 'hi');
  await until(() => entryLines(lines, 'instance.start').length === 2);
});
