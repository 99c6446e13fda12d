// Diagnostics (lib/diagnostics.js): `logLevel` and DEBUG=durable-facets log lifecycle events
// with the object's identity; nothing by default. Each case runs a child process and reads
// its stderr (fixtures/diagnostics-child.mjs goes through every logged event).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../index.js';
import { debugEnables, resolveLogLevel } from '../lib/diagnostics.js';
import { fixture } from './helpers.mjs';

const CHILD = fileURLToPath(fixture('diagnostics-child.mjs'));
const LINE = /^durable-facets \d{4}-\d\d-\d\dT\S+ (ERROR|WARN |INFO |DEBUG) (\S+)(.*)$/;

/** Runs the child with `logLevel` (or "-") and DEBUG; resolves its diagnostic records. */
function run(logLevel, debug) {
  const env = { ...process.env };
  delete env.DEBUG;
  if (debug !== undefined) env.DEBUG = debug;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CHILD, logLevel], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(Object.assign(err, { stderr }));
      assert.equal(stdout.trim(), 'done');
      const records = [];
      for (const line of stderr.split('\n')) {
        const m = LINE.exec(line);
        if (m) records.push({ level: m[1].trim(), event: m[2], fields: m[3], line });
      }
      resolve({ records, stderr });
    });
  });
}

const events = (records, name) => records.filter((r) => r.event === name);

// One child per configuration, shared by the tests that read it.
let debugRun;
const debugRecords = async () => (await (debugRun ??= run('-', 'durable-facets'))).records;

test('nothing is logged by default', async () => {
  const { records, stderr } = await run('-', undefined);
  assert.deepEqual(records, []);
  // The uncaught exception is still reported as before (not a diagnostic record).
  assert.match(stderr, /Uncaught Error: thrown from a timer/);
});

test('DEBUG=durable-facets logs an instance start with binding, class, id and name', async () => {
  const [start] = events(await debugRecords(), 'instance.start');
  assert.equal(start.level, 'INFO');
  assert.match(start.fields, /thread=\d+ binding=ROOMS class=Room id=[0-9a-f]{64} name=lobby$/);
});

test('DEBUG=durable-facets logs a facet start with its facet path', async () => {
  const [start] = events(await debugRecords(), 'facet.start');
  assert.match(start.fields, /binding=ROOMS class=Part id=[0-9a-f]{64} name=lobby facet=sub$/);
});

test('DEBUG=durable-facets logs thread starts and exits', async () => {
  const records = await debugRecords();
  assert.ok(events(records, 'thread.start').length >= 2);
  assert.ok(events(records, 'thread.exit').length >= 1);
  assert.match(events(records, 'thread.start')[0].fields, /^ thread=\d+$/);
});

test('DEBUG=durable-facets logs idle evictions and thread recycles with the identity', async () => {
  const records = await debugRecords();
  const evictions = events(records, 'instance.evict');
  assert.ok(evictions.some((r) => /class=Part .*facet=sub reason=idle/.test(r.fields)));
  assert.ok(evictions.some((r) => /class=Room .*name=lobby reason=idle/.test(r.fields)));
  assert.ok(events(records, 'thread.recycle').some((r) => /name=lobby/.test(r.fields)));
});

test('DEBUG=durable-facets logs alarm runs, retries and the final failure', async () => {
  const records = await debugRecords();
  const lobby = (r) => / name=lobby /.test(r.fields);
  const doomed = (r) => / name=doomed /.test(r.fields);
  assert.equal(events(records, 'alarm.run').filter(lobby).length, 3);
  const retries = events(records, 'alarm.retry').filter(lobby);
  assert.deepEqual(retries.map((r) => r.level), ['WARN', 'WARN']);
  assert.match(retries[0].fields, /binding=ROOMS class=Room id=[0-9a-f]{64} name=lobby retry=1 inMs=5 error="alarm failure 1"/);
  assert.equal(events(records, 'alarm.fail').filter(lobby).length, 0);
  assert.equal(events(records, 'alarm.run').filter(doomed).length, 7);
  const [fail] = events(records, 'alarm.fail');
  assert.equal(fail.level, 'ERROR');
  assert.match(fail.fields, /name=doomed retries=6 error="alarm failure 7"/);
});

test("DEBUG=durable-facets logs an instance's uncaught error with its identity", async () => {
  const [uncaught] = events(await debugRecords(), 'instance.uncaught');
  assert.equal(uncaught.level, 'ERROR');
  assert.match(uncaught.fields, /class=Room id=[0-9a-f]{64} name=lobby error="Error: thrown from a timer"/);
});

test('logLevel "warn" logs retries and failures only', async () => {
  const { records } = await run('warn', undefined);
  assert.ok(records.length > 0);
  assert.deepEqual([...new Set(records.map((r) => r.level))].sort(), ['ERROR', 'WARN']);
  assert.ok(events(records, 'alarm.retry').length > 0);
});

test('logLevel "silent" with DEBUG=durable-facets* still logs (DEBUG raises the level)', async () => {
  const { records } = await run('silent', 'durable-facets*');
  assert.ok(events(records, 'instance.start').length > 0);
  assert.ok(events(records, 'thread.start').length > 0);
});

test('DEBUG is read as the debug package reads it', () => {
  assert.equal(debugEnables('durable-facets'), true);
  assert.equal(debugEnables('durable-facets*'), true);
  assert.equal(debugEnables('express:*,durable-facets'), true);
  assert.equal(debugEnables('express:* durable-facets'), true);
  assert.equal(debugEnables('*'), true);
  assert.equal(debugEnables('*,-durable-facets'), false);
  assert.equal(debugEnables('express:*'), false);
  assert.equal(debugEnables('durable'), false);
  assert.equal(debugEnables(''), false);
  assert.equal(debugEnables(undefined), false);
});

test('the logLevel option defaults to silent and DEBUG raises it to debug', () => {
  assert.equal(resolveLogLevel(undefined, undefined), 'silent');
  assert.equal(resolveLogLevel('warn', undefined), 'warn');
  assert.equal(resolveLogLevel('warn', 'durable-facets'), 'debug');
  assert.equal(resolveLogLevel(undefined, 'other'), 'silent');
});

test('a bad logLevel is a TypeError naming the accepted values', () => {
  for (const logLevel of ['loud', 'INFO', 3, null]) {
    assert.throws(
      () => new Runtime({ main: fixture('objects.mjs'), logLevel }),
      (e) =>
        e instanceof TypeError &&
        e.code === 'ERR_DO_INVALID_OPTION' &&
        /options\.logLevel must be one of "silent", "error", "warn", "info", "debug"/.test(e.message),
    );
  }
});
