import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runtime } from '../index.js';
import { fixture, sleep, until } from './helpers.mjs';

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-facets-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function facets(t, extra = {}) {
  const rt = new Runtime({
    main: fixture('facet-objects.mjs'),
    durableObjects: { ROOT: { className: 'Root', uniqueKey: 'mykey' }, TRACKER: 'Tracker' },
    classes: {
      COUNTER: { className: 'Counter', props: { aProp: 123 } },
      REMOTE: { module: './other-module.mjs', className: 'Remote', props: { lang: 'en' } },
    },
    warmThreads: 1,
    ...extra,
  });
  t.after(() => rt.dispose());
  return rt;
}

test('facet names are validated with the spec\'s TypeErrors, src first for clone', async (t) => {
  const root = facets(t).env.ROOT.getByName('names');
  const cases = [
    [42, 'TypeError: Facet name must be a string.'],
    ['', 'TypeError: Facet name cannot be empty.'],
    ['x'.repeat(129), 'TypeError: Facet name is too long (max 128 characters).'],
    ['a/b', "TypeError: Facet name cannot contain '/'."],
    ['a\nb', 'TypeError: Facet name cannot contain control characters.'],
    ['a\u0085', 'TypeError: Facet name cannot contain control characters.'],
    ['\ud800x', 'TypeError: Facet name must be well-formed Unicode.'],
  ];
  for (const op of ['get', 'abort', 'delete', 'clone']) {
    for (const [name, message] of cases) assert.equal(await root.tryName(op, name), message, `${op} ${JSON.stringify(name)}`);
  }
  assert.equal(await root.tryName('get', 'x'.repeat(128)), null);
  assert.equal(await root.tryName('get', 'ünïcödé ✓'), null);
});

test('nesting depth is limited to 4 counting the root', async (t) => {
  const root = facets(t).env.ROOT.getByName('depth');
  assert.deepEqual(await root.nestedCall('a', 'deeper', ['b', 'c']), []);
  await assert.rejects(root.nestedCall('a', 'deeper', ['b', 'c', 'd']), {
    message: 'Facet nesting depth limit exceeded. The maximum depth including the root Durable Object is 4.',
  });
});

test('get() refuses options without a DurableObjectClass, with workerd\'s text', async (t) => {
  const root = facets(t).env.ROOT.getByName('bad-options');
  const msg =
    "TypeError: Incorrect type for the 'class' field on 'StartupOptions': the provided value is not of type 'DurableObjectClass or LoopbackDurableObjectNamespace or LoopbackColoLocalActorNamespace'.";
  assert.equal(await root.tryGetBadOptions('null'), msg);
  assert.equal(await root.tryGetBadOptions('noclass'), msg);
  assert.equal(await root.tryGetBadOptions('five'), msg);
  await assert.rejects(root.badClass('x'), { name: 'TypeError', message: msg.slice('TypeError: '.length) });
});

test('each facet runs on its own thread with its own storage', async (t) => {
  const root = facets(t).env.ROOT.getByName('own');
  assert.equal(await root.callB('a', 'increment'), 1);
  assert.equal(await root.callB('a', 'increment'), 2);
  assert.equal(await root.callB('b', 'increment'), 1);
  assert.equal(await root.rootValue(), null);
});

test('form B: the callback runs only when the parent has no entry', async (t) => {
  const tracker = facets(t).env.TRACKER.getByName('cb');
  await tracker.call('f', 'increment');
  await tracker.call('f', 'increment');
  assert.equal(await tracker.callbacks(), 1);
});

test('form B: the first stub used wins', async (t) => {
  const tracker = facets(t).env.TRACKER.getByName('race');
  assert.deepEqual(await tracker.firstUsedWins(), ['B', 'B']);
});

test('form B: a failing callback fails every use until abort', async (t) => {
  const root = facets(t).env.ROOT.getByName('sticky');
  await assert.rejects(root.failingCallback('s'), { name: 'TypeError', message: 'callback failed' });
  await assert.rejects(root.callB('s', 'increment'), { message: 'callback failed' });
  await root.abort('s', 'reset');
  assert.equal(await root.callB('s', 'increment'), 1);
});

test('form A: equal options reuse the instance; other options restart it and keep storage', async (t) => {
  const root = facets(t).env.ROOT.getByName('form-a');
  assert.equal(await root.callA('f', 'exports', undefined, 'increment'), 1);
  assert.equal(await root.callA('f', 'exports', undefined, 'memory'), 1);
  await root.keepStub('old', 'f');
  assert.equal(await root.useStub('old', 'memory'), 1);
  assert.equal(await root.callA('f', 'props', undefined, 'memory'), 0, 'a new instance');
  await assert.rejects(root.useStub('old', 'memory'), { message: 'Facet was restarted with new startup options.' });
  assert.equal(await root.callA('f', 'props', undefined, 'value'), 1, 'storage kept');
});

test('ctx.id: a string stays a string, an id stays an id, omitted inherits the parent\'s', async (t) => {
  const rt = facets(t);
  const root = rt.env.ROOT.getByName('ids');
  assert.deepEqual(await root.callA('s', 'exports', 'abc', 'whoami'), { id: 'abc', kind: 'string', name: undefined, props: {} });
  const own = rt.env.ROOT.idFromName('ids').toString();
  const inherited = await root.callB('i', 'whoami');
  assert.deepEqual([inherited.id, inherited.kind, inherited.name], [own, 'object', 'ids']);
  const explicit = await root.callA('e', 'exports', 'rootid', 'whoami');
  assert.deepEqual([explicit.id, explicit.kind, explicit.name], [own, 'object', 'ids']);
});

test('class sources: ctx.exports.X({props}) and env class bindings from other modules', async (t) => {
  const root = facets(t).env.ROOT.getByName('classes');
  assert.deepEqual((await root.callA('p', 'props', undefined, 'whoami')).props, { p: 1 });
  assert.deepEqual((await root.callA('e', 'env', undefined, 'whoami')).props, { aProp: 123 });
});

test('abort() stops the facet at once, even in an endless loop; old stubs get the reason', async (t) => {
  const root = facets(t).env.ROOT.getByName('abort-loop');
  await root.callB('spin', 'increment');
  await root.keepStub('s', 'spin');
  const looping = root.useStub('s', 'loop');
  await sleep(100);
  await root.abort('spin', 'stop spinning');
  await assert.rejects(looping, { message: 'stop spinning' });
  await assert.rejects(root.useStub('s', 'increment'), { message: 'stop spinning' });
  assert.equal((await looping.catch((e) => e)).durableObjectReset, undefined);
  assert.equal(await root.callB('spin', 'increment'), 2, 'restarted with its storage');
});

test('abort() interrupts a facet in the middle of a long SQL statement', async (t) => {
  const root = facets(t).env.ROOT.getByName('abort-sql');
  await root.callB('q', 'increment');
  await root.keepStub('q', 'q');
  const query = root.useStub('q', 'longQuery');
  await sleep(200);
  const ms = await root.abort('q', 'stop querying');
  assert.ok(ms < 1000, `abort took ${ms} ms`);
  await assert.rejects(query, { message: 'stop querying' });
  assert.equal(await root.callB('q', 'value'), 1, 'storage kept and usable');
});

test('abort() is transitive and unknown names are a no-op', async (t) => {
  const root = facets(t).env.ROOT.getByName('abort-tree');
  assert.equal(await root.nested('outer', 'inner', 'memory'), 0);
  assert.equal(await root.nested('outer', 'inner', 'increment'), 1);
  assert.equal(await root.nested('outer', 'inner', 'memory'), 1);
  await root.abort('outer', 'gone');
  await root.abort('never-existed', 'no-op');
  assert.equal(await root.nested('outer', 'inner', 'memory'), 0, 'the child was restarted too');
  assert.equal(await root.nested('outer', 'inner', 'value'), 1);
});

test('delete() removes the facet and its descendants\' storage; old stubs say so', async (t) => {
  const dir = tempDir(t);
  const root = facets(t, { storage: dir }).env.ROOT.getByName('del');
  await root.startAndKeep('k', 'gone', 'increment');
  await root.nested('tree', 'leaf', 'increment');
  await root.delete('gone');
  await root.delete('tree');
  await root.delete('never-existed');
  await assert.rejects(root.useStub('k', 'increment'), { message: 'Facet was deleted.' });
  assert.equal(await root.callB('gone', 'value'), null);
  assert.equal(await root.nested('tree', 'leaf', 'value'), null);
});

test('facets foo, bar, bar→foo, bar→bar get ids 1–4 and keep their data across runtimes', async (t) => {
  const dir = tempDir(t);
  const opts = {
    main: fixture('facet-objects.mjs'),
    durableObjects: { ROOT: { className: 'Root', uniqueKey: 'mykey' } },
    classes: { COUNTER: { className: 'Counter' } },
    storage: dir,
    warmThreads: 0,
  };
  const first = new Runtime(opts);
  const root = first.env.ROOT.getByName('name');
  assert.equal(await root.callB('foo', 'increment'), 1);
  assert.equal(await root.nested('bar', 'foo', 'increment'), 1);
  assert.equal(await root.nested('bar', 'bar', 'increment'), 1);
  await root.setRootValue('root');
  await first.dispose();
  const id = '3652ef6221834806dc8df802d1d216e27b7d07e0a6b7adf6cfdaeec90f06459a';
  const files = fs.readdirSync(path.join(dir, 'mykey')).sort();
  assert.deepEqual(files, [`${id}.1.sqlite`, `${id}.3.sqlite`, `${id}.4.sqlite`, `${id}.facets`, `${id}.sqlite`, 'metadata.sqlite']);
  const second = new Runtime(opts);
  t.after(() => second.dispose());
  const again = second.env.ROOT.getByName('name');
  assert.equal(await again.nested('bar', 'bar', 'increment'), 2);
  assert.equal(await again.nested('bar', 'foo', 'increment'), 2);
  assert.equal(await again.callB('foo', 'increment'), 2);
  assert.equal(await again.rootValue(), 'root');
  assert.equal(fs.existsSync(path.join(dir, 'mykey', `${id}.5.sqlite`)), false);
});

test('a torn .facets tail is repaired on open', async (t) => {
  const dir = tempDir(t);
  const opts = { main: fixture('facet-objects.mjs'), durableObjects: { ROOT: { className: 'Root', uniqueKey: 'mykey' } }, storage: dir, warmThreads: 0 };
  const first = new Runtime(opts);
  await first.env.ROOT.getByName('name').callB('a', 'increment');
  await first.dispose();
  const index = path.join(dir, 'mykey', '3652ef6221834806dc8df802d1d216e27b7d07e0a6b7adf6cfdaeec90f06459a.facets');
  const good = fs.readFileSync(index);
  // The start of a record (frame header, root pointer) whose append was cut short.
  fs.writeFileSync(index, Buffer.concat([good, good.subarray(8, 24)]));
  const second = new Runtime(opts);
  assert.equal(await second.env.ROOT.getByName('name').callB('a', 'increment'), 2);
  assert.equal(await second.env.ROOT.getByName('name').callB('b', 'increment'), 1);
  await second.dispose();
  const grown = fs.readFileSync(index);
  assert.deepEqual(grown.subarray(0, good.length), good, 'torn tail cut off, new entry appended');
  fs.writeFileSync(index, grown.subarray(0, grown.length - 3));
  const third = new Runtime(opts);
  t.after(() => third.dispose());
  assert.equal(await third.env.ROOT.getByName('name').callB('a', 'increment'), 3);
});

test('a corrupt .facets file is a clear error for that object; others keep working', async (t) => {
  const dir = tempDir(t);
  const rt = facets(t, { storage: dir });
  const id = rt.env.ROOT.idFromName('bad').toString();
  fs.mkdirSync(path.join(dir, 'mykey'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'mykey', `${id}.facets`), 'NOTMAGIC and more');
  await assert.rejects(rt.env.ROOT.getByName('bad').callB('x', 'increment'), {
    message: new RegExp(`Facet index .*${id}\\.facets is corrupt: bad magic`),
  });
  assert.equal(await rt.env.ROOT.getByName('good').callB('x', 'increment'), 1);
});

test('an empty facet is deleted when it shuts down', async (t) => {
  const dir = tempDir(t);
  const rt = facets(t, { storage: dir, idleTimeoutMs: 50 });
  const root = rt.env.ROOT.getByName('empty');
  await root.callB('quiet', 'nothing');
  await root.callB('busy', 'increment');
  // Both shut down after 50 ms idle; the empty one's files go with it.
  assert.deepEqual(await until(async () => {
    const names = await root.list();
    return names.length === 1 && names;
  }), ['busy']);
});

test('list() names children with storage or running, sorted', async (t) => {
  const root = facets(t).env.ROOT.getByName('list');
  await root.callB('b', 'increment');
  await root.callB('a', 'nothing');
  await root.callB('c', 'increment');
  assert.deepEqual(await root.list(), ['a', 'b', 'c']);
  await root.delete('b');
  assert.deepEqual(await root.list(), ['a', 'c']);
});

test('clone() copies a facet and its subtree; clone over a name replaces it', async (t) => {
  for (const storage of [undefined, 'disk']) {
    const dir = storage && tempDir(t);
    const root = facets(t, dir ? { storage: dir } : {}).env.ROOT.getByName('clone');
    await root.nested('src', 'a', 'increment');
    await root.nested('src', 'a', 'increment');
    await root.startAndKeep('old', 'dst', 'increment');
    await root.clone('src', 'dst');
    await assert.rejects(root.useStub('old', 'increment'), { message: 'Facet was cloned-over.' });
    assert.equal(await root.nested('dst', 'a', 'value'), 2);
    assert.equal(await root.nested('dst', 'a', 'increment'), 3);
    assert.equal(await root.nested('src', 'a', 'value'), 2, 'src unchanged');
    await root.clone('never', 'dst');
    assert.equal(await root.nested('dst', 'a', 'value'), null, 'cloning nothing empties dst');
  }
});

test('clone(x, x) stops x and keeps its storage', async (t) => {
  const root = facets(t).env.ROOT.getByName('clone-self');
  await root.startAndKeep('old', 'x', 'increment');
  assert.equal(await root.useStub('old', 'memory'), 1);
  await root.clone('x', 'x');
  await assert.rejects(root.useStub('old', 'memory'), { message: 'Facet was cloned-over.' });
  assert.equal(await root.callB('x', 'memory'), 0);
  assert.equal(await root.callB('x', 'value'), 1);
});

test('an env class binding from another module, with its props', async (t) => {
  const root = facets(t).env.ROOT.getByName('remote');
  assert.deepEqual(await root.callRemote('r'), { props: { lang: 'en' }, module: 'other-module.mjs' });
});

test('a facet method that throws is an ordinary error; nothing restarts', async (t) => {
  const root = facets(t).env.ROOT.getByName('throws');
  await root.callB('f', 'increment');
  await assert.rejects(root.callB('f', 'throws'), (e) => e instanceof RangeError && e.durableObjectReset === undefined);
  assert.equal(await root.callB('f', 'memory'), 1);
});

test('a broken facet breaks the whole object by default', async (t) => {
  const root = facets(t).env.ROOT.getByName('break-all');
  await root.callB('sib', 'increment');
  await root.keepStub('sib', 'sib');
  await assert.rejects(root.callB('bad', 'abortSelf'), { message: 'facet aborted itself', durableObjectReset: true });
  assert.equal(await root.callB('sib', 'memory'), 0, 'the sibling restarted with the root');
  assert.equal(await root.callB('sib', 'value'), 1);
});

test('facetFailure "isolate" restarts only the broken subtree', async (t) => {
  const root = facets(t, { facetFailure: 'isolate' }).env.ROOT.getByName('isolate');
  await root.callB('sib', 'increment');
  await root.keepStub('sib', 'sib');
  assert.deepEqual(await root.callBCatch('bad', 'abortSelf'), { message: 'facet aborted itself', reset: true, remote: true });
  assert.equal(await root.useStub('sib', 'memory'), 1, 'the sibling kept running');
  assert.equal(await root.callB('bad', 'memory'), 0, 'the broken facet restarts on next use');
});

test('a facet that runs out of heap breaks, not the process', async (t) => {
  const root = facets(t, { facetFailure: 'isolate' }).env.ROOT.getByName('oom');
  assert.equal((await root.callBCatch('hog', 'allocate')).reset, true);
  assert.equal(await root.callB('hog', 'increment'), 1);
});

test('root deleteAll() aborts running facets and deletes their storage', async (t) => {
  const root = facets(t).env.ROOT.getByName('wipe');
  await root.startAndKeep('k', 'f', 'increment');
  await root.nestedCall('n', 'child', 'leaf', 'increment');
  await root.wipe();
  await assert.rejects(root.useStub('k', 'increment'), { message: 'Facet was deleted.' });
  assert.equal(await root.callB('f', 'value'), null);
  assert.equal(await root.nested('n', 'leaf', 'value'), null);
  assert.deepEqual(await root.list(), ['f', 'n']);
});

test('facets can delete their own children and call deleteAll at depth', async (t) => {
  const root = facets(t).env.ROOT.getByName('nested-ops');
  await root.nested('n', 'leaf', 'increment');
  await root.nestedCall('n', 'deleteChild', 'leaf');
  assert.equal(await root.nested('n', 'leaf', 'value'), null);
  await root.nested('n', 'leaf', 'increment');
  await root.nestedCall('n', 'wipe');
  assert.equal(await root.nested('n', 'leaf', 'value'), null);
});

test('a facet stub passed to another object reaches the facet through its parent', async (t) => {
  const root = facets(t).env.ROOT.getByName('pass');
  assert.equal(await root.passFacetStub('f'), 1);
  assert.equal(await root.callB('f', 'increment'), 2);
});

test('setAlarm in a facet rejects and breaks nothing', async (t) => {
  const root = facets(t).env.ROOT.getByName('alarm');
  await root.callB('f', 'increment');
  assert.equal(await root.callB('f', 'trySetAlarm'), 'Error: Facets currently cannot set alarms.');
  assert.equal(await root.callB('f', 'memory'), 1);
});

test('idle eviction keeps the entry: the callback does not run again', async (t) => {
  const tracker = facets(t, { idleTimeoutMs: 50 }).env.TRACKER.getByName('evict');
  await tracker.call('f', 'increment');
  await sleep(300);
  assert.equal(await tracker.call('f', 'increment'), 2);
  assert.equal(await tracker.callbacks(), 1);
});

const APP = `
import { DurableObject } from 'cloudflare:workers';
import { twice } from './util.js';
export class App extends DurableObject {
  add(text) {
    this.ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS notes (t TEXT)');
    this.ctx.storage.sql.exec('INSERT INTO notes VALUES (?)', text);
    return this.ctx.storage.sql.exec('SELECT count(*) AS n FROM notes').one().n;
  }
  info() {
    return { props: this.ctx.props, greeting: this.env.GREETING, twice: twice(21), exports: Object.keys(this.ctx.exports) };
  }
  counter() {
    return this.ctx.facets.get('c', () => ({ class: this.env.COUNTER })).increment();
  }
}`;

function loaders(t) {
  const rt = new Runtime({
    main: fixture('facet-objects.mjs'),
    durableObjects: { HOST: 'Host' },
    classes: { COUNTER: { className: 'Counter' } },
    workerLoaders: ['LOADER'],
    warmThreads: 1,
  });
  t.after(() => rt.dispose());
  return rt.env.HOST.getByName('tenant');
}

test('worker loaders: code supplied at run time runs as a facet with its own storage', async (t) => {
  const host = loaders(t);
  await host.deploy('notes', APP);
  await host.deploy('todo', APP);
  assert.equal(await host.call('notes', 'add', 'a'), 1);
  assert.equal(await host.call('notes', 'add', 'b'), 2);
  assert.equal(await host.call('todo', 'add', 'x'), 1, 'each app has its own database');
});

test('worker loaders: loaded code sees its props, the env passed in, and its own exports', async (t) => {
  const host = loaders(t);
  await host.deploy('notes', APP);
  assert.deepEqual(await host.call('notes', 'info'), { props: { app: 'notes' }, greeting: 'hello', twice: 42, exports: ['App'] });
  assert.equal(await host.call('notes', 'counter'), 1, 'a class binding passed in env starts facets');
});

test('worker loaders: an unknown class name is refused with workerd\'s text', async (t) => {
  const host = loaders(t);
  await host.deploy('other', APP);
  await assert.rejects(host.callClass('other', 'Nope', 'info'), {
    name: 'TypeError',
    message: `Worker "other:${APP.length}" does not export a Durable Object class named "Nope".`,
  });
});

test('maxRunningFacets evicts the least recently used idle threads', async (t) => {
  const rt = facets(t, { maxRunningFacets: 2 });
  const root = rt.env.ROOT.getByName('lru');
  await root.callB('a', 'increment');
  assert.equal(await root.callB('a', 'memory'), 1);
  for (const name of ['b', 'c', 'd']) await root.callB(name, 'increment');
  // Eviction is asynchronous (the thread ends itself): watch it without calling `a`.
  const aRunning = async () => (await rt.inspect('ROOT', 'lru')).facets.find((f) => f.name === 'a').running;
  await until(async () => !(await aRunning()));
  assert.equal(await root.callB('a', 'memory'), 0, 'a was evicted (its entry and storage kept)');
  assert.equal(await root.callB('a', 'value'), 1);
});

test('cpuTimeoutMs breaks a facet stuck in one synchronous run', async (t) => {
  const root = facets(t, { cpuTimeoutMs: 200, facetFailure: 'isolate' }).env.ROOT.getByName('cpu');
  await root.callB('spin', 'increment');
  assert.deepEqual(await root.callBCatch('spin', 'loop'), {
    message: 'Durable Object exceeded its CPU time limit.',
    reset: true,
    remote: true,
  });
  assert.equal(await root.callB('spin', 'value'), 1);
});

test('rt.inspect() shows the facet tree with ids, sizes and running state', async (t) => {
  const dir = tempDir(t);
  const rt = facets(t, { storage: dir });
  const root = rt.env.ROOT.getByName('name');
  await root.setRootValue('r');
  await root.callB('foo', 'increment');
  await root.nested('bar', 'baz', 'increment');
  const info = await rt.inspect('ROOT', 'name');
  assert.equal(info.id, '3652ef6221834806dc8df802d1d216e27b7d07e0a6b7adf6cfdaeec90f06459a');
  assert.deepEqual(
    info.facets.map((f) => [f.name, f.facetId, f.running]),
    [
      ['', 0, true],
      ['bar', 2, true],
      ['bar/baz', 3, true],
      ['foo', 1, true],
    ],
  );
  assert.ok(info.facets[0].databaseSize > 0 && info.facets[3].databaseSize > 0);
  assert.equal(info.facets[1].databaseSize, 0, 'bar has no database of its own');
  assert.deepEqual(await rt.listIds('ROOT'), [info.id]);
});

test('rt.inspect() works without a storage directory', async (t) => {
  const rt = facets(t);
  const root = rt.env.ROOT.getByName('mem');
  await root.callB('a', 'increment');
  const info = await rt.inspect('ROOT', rt.env.ROOT.idFromName('mem'));
  assert.deepEqual(info.facets.map((f) => [f.name, f.running]), [['', true], ['a', true]]);
  assert.ok(info.facets[1].databaseSize > 0);
  await assert.rejects(rt.inspect('NOPE', 'x'), { name: 'TypeError' });
});

test('an empty facet is deleted when it is aborted', async (t) => {
  const dir = tempDir(t);
  const root = facets(t, { storage: dir }).env.ROOT.getByName('abort-empty');
  await root.callB('e', 'nothing');
  await root.callB('keep', 'increment');
  await root.abort('e', 'bye');
  await root.abort('keep', 'bye');
  assert.deepEqual(await root.list(), ['keep']);
});

test('calls through one facet stub arrive in order, also while it binds', async (t) => {
  const root = facets(t).env.ROOT.getByName('order');
  const results = await root.burst('c', 40);
  assert.deepEqual(results, Array.from({ length: 40 }, (_, i) => i + 1));
});
