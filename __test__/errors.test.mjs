// SPEC §6.5: every error the package creates carries a stable `code` from one table (the
// core's ErrorCode, read through the binding), and codes survive the trip between threads.
// Each test provokes one code the way a user would; the last test checks none was missed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../index.js';
import { codes } from '../lib/error-codes.js';
import { native } from '../lib/native.js';
import { fixture } from './helpers.mjs';

const MiB = 1024 * 1024;
const seen = new Set();

/** Asserts `err` has code `name` (a key of the table) and the other fields; records it. */
function expectCode(err, name, fields = {}) {
  assert.ok(err instanceof Error || err instanceof DOMException, `an Error, got ${String(err)}`);
  assert.equal(err.code, codes[name], `${name}: ${err.message}`);
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof RegExp) assert.match(String(err[k]), v, k);
    else assert.equal(err[k], v, k);
  }
  seen.add(name);
}

/** The error `p` (a promise, or a function throwing synchronously) fails with. */
async function failure(p) {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e;
  }
  assert.fail('expected a failure');
}

function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-errors-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const runtimes = [];
function start(options = {}) {
  const rt = new Runtime({
    main: fixture('error-objects.mjs'),
    durableObjects: { PROVOKER: 'Provoker' },
    workerLoaders: ['LOADER'],
    warmThreads: 0,
    ...options,
  });
  runtimes.push(rt);
  return rt;
}
after(() => Promise.all(runtimes.map((rt) => rt.dispose())));

const rt = start();
const obj = (name) => rt.env.PROVOKER.getByName(name);

// blockConcurrencyWhile's limit is 30 s: started first, checked near the end of the file.
const blockedTooLong = failure(obj('bcw').blockTooLong());

test('InvalidOption: a Runtime option out of range', async () => {
  const e = await failure(() => new Runtime({ main: fixture('error-objects.mjs'), idleTimeoutMs: -1 }));
  expectCode(e, 'InvalidOption', { name: 'RangeError' });
});

test('InvalidArgument: a namespace get() without an id', async () => {
  expectCode(await failure(() => rt.env.PROVOKER.get('lobby')), 'InvalidArgument', { name: 'TypeError' });
});

test('InvalidArgument crosses threads: put() of undefined inside an object', async () => {
  expectCode(await failure(obj('arg').putUndefined()), 'InvalidArgument', { name: 'TypeError', remote: true });
});

test('InvalidState: deleteAll() inside a transaction', async () => {
  expectCode(await failure(obj('state').deleteAllInTransaction()), 'InvalidState', { remote: true });
});

test('NotSupported: jurisdictions, and ctx.container inside an object', async () => {
  expectCode(await failure(() => rt.env.PROVOKER.jurisdiction('eu')), 'NotSupported');
  expectCode(await failure(obj('container').container()), 'NotSupported', { remote: true });
});

test('Disposed: a call after dispose()', async () => {
  const other = start();
  await other.dispose();
  expectCode(await failure(() => other.env.PROVOKER.getByName('x').ping()), 'Disposed');
});

test('IdMalformed and IdWrongNamespace: idFromString', async () => {
  expectCode(await failure(() => rt.env.PROVOKER.idFromString('zz')), 'IdMalformed', { name: 'TypeError' });
  const other = start({ durableObjects: { PROVOKER: { className: 'Provoker', uniqueKey: 'elsewhere' } } });
  const foreign = other.env.PROVOKER.idFromName('x').toString();
  expectCode(await failure(() => rt.env.PROVOKER.idFromString(foreign)), 'IdWrongNamespace', { name: 'TypeError' });
});

test('PayloadTooLarge: arguments over 32 MiB are refused before sending', async () => {
  expectCode(await failure(obj('big').ping(new Uint8Array(33 * MiB))), 'PayloadTooLarge', { name: 'RangeError' });
});

test('RpcUndecodable: a reply this thread cannot decode', async () => {
  const parse = JSON.parse;
  JSON.parse = (text, reviver) => (text === '"pong"' ? parse('{') : parse(text, reviver));
  let e;
  try {
    e = await failure(obj('decode').ping());
  } finally {
    JSON.parse = parse;
  }
  expectCode(e, 'RpcUndecodable');
  assert.equal(await obj('decode').ping(), 'pong', 'the thread keeps working');
});

test('UncloneableThrown: a thrown function arrives as an Error', async () => {
  expectCode(await failure(obj('throw-fn').throwFunction()), 'UncloneableThrown', { remote: true });
});

test('MethodNotFound and NoFetchHandler', async () => {
  expectCode(await failure(obj('m').noSuchMethod()), 'MethodNotFound', { name: 'TypeError', remote: true });
  expectCode(await failure(obj('m').fetch('http://x/')), 'NoFetchHandler', { remote: true });
});

test('ModuleLoad: a syntax error in main, located', async () => {
  const bad = start({ main: fixture('syntax-error.mjs'), durableObjects: { ECHO: 'Echo' }, workerLoaders: [] });
  expectCode(await failure(bad.env.ECHO.getByName('x').ping()), 'ModuleLoad', { message: /syntax-error\.mjs:\d+:\d+/ });
});

test('ModuleNotFound, UnsupportedModule and InvalidExport: loader code', async () => {
  const missing = { 'app.js': "import './nope.js'; export class App {}" };
  expectCode(await failure(obj('loader').runLoaded('missing', missing)), 'ModuleNotFound', { remote: true });
  const sockets = { 'app.js': "import 'cloudflare:sockets'; export class App {}" };
  expectCode(await failure(obj('loader').runLoaded('sockets', sockets)), 'UnsupportedModule', { remote: true });
  const exportsNumber = {
    'app.js': "import { DurableObject } from 'cloudflare:workers'; export class App extends DurableObject { ping() { return 1; } } export const VERSION = 1;",
  };
  expectCode(await failure(obj('loader').runLoaded('version', exportsNumber)), 'InvalidExport', { name: 'TypeError' });
});

test('ClassNotExported and NotDurableObject: namespace bindings', async () => {
  const missing = start({ durableObjects: { X: 'NoSuchClass' } });
  expectCode(await failure(missing.env.X.getByName('x').ping()), 'ClassNotExported', { durableObjectReset: true });
  const plain = start({ durableObjects: { X: 'Plain' } });
  expectCode(await failure(plain.env.X.getByName('x').ping()), 'NotDurableObject', { durableObjectReset: true });
});

test('Aborted: ctx.abort() without a reason', async () => {
  expectCode(await failure(obj('abort').abortWithoutReason()), 'Aborted', { durableObjectReset: true });
});

test('ThreadExited: the thread exits mid-call', async () => {
  expectCode(await failure(obj('exit').exitThread()), 'ThreadExited', { durableObjectReset: true });
});

test('CpuLimit: one synchronous run over cpuTimeoutMs', async () => {
  const limited = start({ cpuTimeoutMs: 100 });
  expectCode(await failure(limited.env.PROVOKER.getByName('cpu').loop()), 'CpuLimit', { durableObjectReset: true });
});

test('FacetName, FacetClass and FacetDepth', async () => {
  expectCode(await failure(obj('facets').badFacetName()), 'FacetName', { name: 'TypeError' });
  expectCode(await failure(obj('facets').badFacetClass()), 'FacetClass', { name: 'TypeError' });
  expectCode(await failure(obj('facets').tooDeep()), 'FacetDepth');
});

test('FacetDeleted, FacetClonedOver and FacetRestarted: calls through old facet stubs', async () => {
  const o = obj('old-stubs');
  await o.keep('d', 'd', {});
  await o.deleteFacet('d');
  expectCode(await failure(o.callKept('d')), 'FacetDeleted');
  await o.keep('c', 'c', {});
  await o.keep('src', 'src', {});
  await o.cloneOver('src', 'c');
  expectCode(await failure(o.callKept('c')), 'FacetClonedOver');
  await o.keep('r', 'r', { v: 1 });
  await o.keep('r2', 'r', { v: 2 });
  expectCode(await failure(o.callKept('r')), 'FacetRestarted');
});

test('FacetAlarm and NoAlarmHandler', async () => {
  expectCode(await failure(obj('alarms').facetAlarm()), 'FacetAlarm');
  expectCode(await failure(obj('alarms').setAlarmWithoutHandler()), 'NoAlarmHandler', { name: 'TypeError' });
});

test('Sql carries the SQLite result code; SqlOne', async () => {
  expectCode(await failure(obj('sql').badSql()), 'Sql', { sqliteCode: 'SQLITE_ERROR', remote: true });
  expectCode(await failure(obj('sql').oneOfNone()), 'SqlOne');
});

test('SqlCritical: a commit that violates a deferred foreign key breaks the object', async () => {
  expectCode(await failure(obj('critical').violateDeferredKey()), 'SqlCritical', { durableObjectReset: true });
});

test('StorageInUse and Storage: the storage directory', async () => {
  const dir = tempDir();
  start({ storage: dir });
  expectCode(await failure(() => start({ storage: dir })), 'StorageInUse');
  expectCode(await failure(() => start({ storage: path.join('/proc', 'no-such-dir', 'x') })), 'Storage');
});

test('MemoryLimit: an object that keeps more than memoryLimitMb', async () => {
  const small = start({ memoryLimitMb: 16 });
  expectCode(await failure(small.env.PROVOKER.getByName('hog').hog(64)), 'MemoryLimit', { durableObjectReset: true });
});

test('FacetIndexCorrupt: a byte flipped in the middle of a facet index', async () => {
  const dir = tempDir();
  const first = start({ storage: dir });
  for (const name of ['a', 'b']) await first.env.PROVOKER.getByName('tree').facetPut(name);
  const index = path.join(dir, 'Provoker', `${first.env.PROVOKER.idFromName('tree')}.facets`);
  await first.dispose();
  const bytes = fs.readFileSync(index);
  bytes[8 + 32] ^= 0x01; // inside the first of two records: not a torn tail
  fs.writeFileSync(index, bytes);
  const second = start({ storage: dir });
  expectCode(await failure(second.env.PROVOKER.getByName('tree').facetPut('a')), 'FacetIndexCorrupt');
});

test('AlarmIndex: setAlarm() in a namespace whose metadata.sqlite is damaged', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'Alarmed'));
  fs.writeFileSync(path.join(dir, 'Alarmed', 'metadata.sqlite'), Buffer.alloc(16384, 0xa5));
  const logged = [];
  const log = console.error;
  console.error = (...args) => logged.push(args.join(' '));
  let damaged;
  try {
    damaged = start({ durableObjects: { ALARMED: 'Alarmed' }, storage: dir });
  } finally {
    console.error = log;
  }
  assert.equal(logged.length, 1, 'the damaged index is logged once');
  expectCode(await failure(damaged.env.ALARMED.getByName('a').arm()), 'AlarmIndex');
});

test('durableObjectId: errors thrown by an object carry its id, also from its facets', async () => {
  const o = obj('with-id');
  const e = await failure(o.badSql());
  assert.equal(e.durableObjectId, rt.env.PROVOKER.idFromName('with-id').toString());
  const deep = await failure(obj('with-id-deep').tooDeep());
  assert.equal(deep.durableObjectId, rt.env.PROVOKER.idFromName('with-id-deep').toString());
});

test('Internal: a binding call on a thread that hosts no object', () => {
  expectCode(
    (() => {
      try {
        native.storageDeleteAll();
      } catch (e) {
        return e;
      }
    })(),
    'Internal',
  );
});

test('Panic: a Rust panic is a JS error with its code', () => {
  let e;
  try {
    native.panicForTest();
  } catch (err) {
    e = err;
  }
  expectCode(e, 'Panic', { message: /panic/ });
});

test('NativeBinding: a copy of the package without its binary says how to build it', () => {
  const dir = tempDir();
  const root = fileURLToPath(new URL('..', import.meta.url));
  fs.cpSync(path.join(root, 'lib'), path.join(dir, 'lib'), {
    recursive: true,
    filter: (src) => !src.endsWith('.node'),
  });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', `
    try { await import(${JSON.stringify(path.join(dir, 'lib', 'native.js'))}); }
    catch (e) { process.stdout.write(e.code); }`], { encoding: 'utf8' });
  assert.equal(out.stdout, codes.NativeBinding);
  seen.add('NativeBinding');
});

test('BlockConcurrencyTimeout: blockConcurrencyWhile() over 30 s breaks the object', async () => {
  expectCode(await blockedTooLong, 'BlockConcurrencyTimeout', { durableObjectReset: true });
});

test('EventTimeout: a hibernatable WebSocket handler past its event timeout breaks the object', async () => {
  const timed = start({ main: fixture('websocket-gates.mjs'), durableObjects: { TIMED: 'Timed' }, workerLoaders: [] });
  const stub = timed.env.TIMED.getByName('event-timeout');
  const ws = (await stub.fetch('http://x/?timeout=100', { headers: { Upgrade: 'websocket' } })).webSocket;
  ws.accept();
  const pending = failure(stub.wait());
  ws.send('hang');
  expectCode(await pending, 'EventTimeout', { durableObjectReset: true });
});

test('ReferenceGone: a function stub whose owner instance stopped, or that was disposed', async () => {
  const stub = obj('reference-gone');
  const fn = await stub.giveFunction();
  assert.equal(await fn(), 'from the object');
  await failure(stub.abortWithoutReason());
  expectCode(await failure(fn()), 'ReferenceGone', {
    message: 'The execution context which hosts this callback is no longer running.',
  });
  const other = await obj('reference-disposed').giveFunction();
  other[Symbol.dispose]();
  expectCode(await failure(other()), 'ReferenceGone', { message: 'RPC stub used after being disposed.' });
});

// Codes no test above can reach from outside, and why.
const UNREACHABLE = {
  // Thrown only inside an instance that has already been stopped, while its thread ends.
  Stopped: 'only code still running in a stopped instance sees it',
  // Raised inside the thread of a stopped instance only (storage fenced by abort/delete).
  StorageClosed: 'only code still running in a fenced instance sees it',
};

test('every code in the table was provoked above (or is listed as unreachable, with why)', () => {
  const missing = Object.keys(codes).filter((name) => !seen.has(name) && !(name in UNREACHABLE));
  assert.deepEqual(missing, []);
});
