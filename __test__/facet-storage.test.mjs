// Facet storage on disk: the facet index under damage (SPEC §5.5), deleteAll and list()
// below children without data (§5.4, §5.7), crash-safe clone-over, and inspection that
// leaves nothing behind (§7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runtime } from '../index.js';
import { fixture } from './helpers.mjs';

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-facet-storage-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A runtime on the Tree fixture; disposed after the test unless disposed before. */
function open(t, storage, extra = {}) {
  const rt = new Runtime({
    main: fixture('facet-storage-objects.mjs'),
    durableObjects: { TREE: { className: 'Tree', uniqueKey: 'trees' } },
    warmThreads: 0,
    ...(storage ? { storage } : {}),
    ...extra,
  });
  t.after(() => rt.dispose());
  return rt;
}

const files = (dir) => fs.readdirSync(path.join(dir, 'trees')).sort();

/** Facets a, b, c (ids 1–3) of object "obj" holding 'A', 'B', 'C'; the runtime disposed. */
async function threeFacets(t, dir) {
  const rt = open(t, dir);
  const root = rt.env.TREE.getByName('obj');
  for (const name of ['a', 'b', 'c']) await root.at([name], 'put', name.toUpperCase());
  const id = rt.env.TREE.idFromName('obj').toString();
  await rt.dispose();
  const index = path.join(dir, 'trees', `${id}.facets`);
  // Records of one-letter names are 44 bytes each, after the 8-byte magic.
  assert.equal(fs.statSync(index).size, 8 + 3 * 44);
  return { id, index, bytes: fs.readFileSync(index) };
}

const corrupt = (index) => ({
  name: 'Error',
  message: new RegExp(`^Facet index ${index.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupt: `),
});

// ---------------------------------------------------------------- defect 5: the index

test('a byte flipped in the middle of the facet index is corruption, never another facet\'s data', async (t) => {
  const dir = tempDir(t);
  const { index, bytes } = await threeFacets(t, dir);
  bytes[8 + 32] ^= 0x01; // the name of facet a, record 1 of 3
  fs.writeFileSync(index, bytes);
  const rt = open(t, dir);
  const root = rt.env.TREE.getByName('obj');
  for (const name of ['a', 'b', 'c', 'new']) await assert.rejects(root.at([name], 'get'), corrupt(index), name);
  assert.deepEqual(fs.readFileSync(index), bytes, 'the index is not "repaired"');
  // Other objects keep working.
  await rt.env.TREE.getByName('other').at(['a'], 'put', 'fine');
  assert.equal(await rt.env.TREE.getByName('other').at(['a'], 'get'), 'fine');
});

test('the corruption error carries its code where it is thrown', async (t) => {
  const dir = tempDir(t);
  const { index, bytes } = await threeFacets(t, dir);
  bytes[8 + 32] ^= 0x01;
  fs.writeFileSync(index, bytes);
  const root = open(t, dir).env.TREE.getByName('obj');
  const { message, code } = await root.tryList();
  assert.match(message, corrupt(index).message);
  assert.equal(code, 'ERR_DO_FACET_INDEX_CORRUPT');
});

test('a truncated facet index never hands a name an id whose files exist', async (t) => {
  const dir = tempDir(t);
  const { id, index, bytes } = await threeFacets(t, dir);
  fs.writeFileSync(index, bytes.subarray(0, 8 + 44 + 20)); // records 2 (b) and 3 (c) lost
  const root = open(t, dir).env.TREE.getByName('obj');
  assert.equal(await root.at(['a'], 'get'), 'A', 'what the index still knows works');
  // c (or any new name) would get id 2 again: b's database.
  await assert.rejects(root.at(['c'], 'get'), {
    message: new RegExp(`is corrupt: facet id 2 is not in the index but has files \\(.*${id}\\.2\\.sqlite\\): records were lost$`),
  });
  await assert.rejects(root.at(['new'], 'put', 'x'), corrupt(index));
  assert.equal(fs.readFileSync(path.join(dir, 'trees', `${id}.2.sqlite`)).length > 0, true);
});

test('zeros over the middle of the facet index are corruption', async (t) => {
  const dir = tempDir(t);
  const { index, bytes } = await threeFacets(t, dir);
  bytes.fill(0, 8 + 44, 8 + 88); // record 2 of 3
  fs.writeFileSync(index, bytes);
  const root = open(t, dir).env.TREE.getByName('obj');
  await assert.rejects(root.at(['c'], 'get'), corrupt(index));
  await assert.rejects(root.list(), corrupt(index));
});

test('garbage after the last record is corruption, not a torn tail', async (t) => {
  const dir = tempDir(t);
  const { index, bytes } = await threeFacets(t, dir);
  fs.writeFileSync(index, Buffer.concat([bytes, Buffer.from('garbage that is not a record')]));
  await assert.rejects(open(t, dir).env.TREE.getByName('obj').at(['d'], 'get'), corrupt(index));
});

test('a torn last record is cut off and its name starts afresh', async (t) => {
  const dir = tempDir(t);
  const { id, index, bytes } = await threeFacets(t, dir);
  // A crash in the middle of appending c's record: c never got files.
  for (const f of files(dir)) if (f.startsWith(`${id}.3.`)) fs.rmSync(path.join(dir, 'trees', f));
  fs.writeFileSync(index, bytes.subarray(0, bytes.length - 9));
  const rt = open(t, dir);
  const root = rt.env.TREE.getByName('obj');
  assert.equal(fs.statSync(index).size, bytes.length - 9, 'opening alone writes nothing');
  assert.equal(await root.at(['c'], 'get'), null);
  await root.at(['c'], 'put', 'C2');
  assert.deepEqual([await root.at(['a'], 'get'), await root.at(['b'], 'get'), await root.at(['c'], 'get')], ['A', 'B', 'C2']);
  await rt.dispose();
  assert.deepEqual(fs.readFileSync(index), bytes, 'c got id 3 again, in a whole record');
});

// ------------------------------------------------- defect 10: below children without data

for (const storage of ['disk', 'memory']) {
  test(`root deleteAll() deletes data below a child that never wrote and is not running (${storage})`, async (t) => {
    const dir = storage === 'disk' ? tempDir(t) : undefined;
    const root = open(t, dir).env.TREE.getByName('wipe');
    await root.at(['p', 'k'], 'put', 'below p');
    await root.abort('p'); // p and k stop; p never wrote anything
    await root.wipe();
    assert.equal(await root.at(['p', 'k'], 'get'), null);
    assert.deepEqual(await root.list(), ['p'], 'p runs again (empty)');
  });

  test(`deleteAll() reaches every depth below children without data (${storage})`, async (t) => {
    const dir = storage === 'disk' ? tempDir(t) : undefined;
    const root = open(t, dir).env.TREE.getByName('deep');
    await root.at(['p', 'q', 'k'], 'put', 'three down');
    await root.at(['p'], 'abort', 'q');
    await root.at(['p'], 'wipe');
    assert.equal(await root.at(['p', 'q', 'k'], 'get'), null);
    await root.at(['x', 'y', 'z'], 'put', 'three down');
    await root.abort('x');
    await root.wipe();
    assert.equal(await root.at(['x', 'y', 'z'], 'get'), null);
  });

  test(`list() shows a child whose only storage is below it (${storage})`, async (t) => {
    const dir = storage === 'disk' ? tempDir(t) : undefined;
    const root = open(t, dir).env.TREE.getByName('list');
    await root.at(['p', 'q', 'k'], 'put', 'deep data');
    await root.at(['e'], 'nothing');
    await root.abort('p');
    await root.abort('e');
    assert.deepEqual(await root.list(), ['p'], 'e had nothing and is gone');
    assert.deepEqual(await root.at(['p'], 'list'), ['q'], 'and q below p');
  });
}

test('after deleteAll() no file of the deleted facets remains on disk', async (t) => {
  const dir = tempDir(t);
  const rt = open(t, dir);
  const root = rt.env.TREE.getByName('files');
  const id = rt.env.TREE.idFromName('files').toString();
  await root.at(['p', 'k'], 'put', 'x');
  await root.at(['p', 'q', 'k'], 'put', 'y');
  await root.abort('p');
  await root.wipe();
  await rt.dispose();
  assert.deepEqual(files(dir).filter((f) => f.startsWith(`${id}.`) && f !== `${id}.facets` && f !== `${id}.sqlite`), []);
});

// ------------------------------------------------------------ defect 21: inspect

test('rt.inspect() of a stopped facet leaves no -wal/-shm behind after dispose()', async (t) => {
  const dir = tempDir(t);
  const rt = open(t, dir);
  const root = rt.env.TREE.getByName('inspect');
  await root.at(['f'], 'put', 'x'.repeat(10_000));
  await root.at(['g', 'h'], 'put', 'ü'.repeat(10_000));
  await root.abort('f');
  await root.abort('g');
  const before = files(dir);
  const info = await rt.inspect('TREE', 'inspect');
  assert.deepEqual(info.facets.map((f) => [f.name, f.running]), [['', true], ['f', false], ['g/h', false]]);
  assert.ok(info.facets[1].databaseSize >= 10_000 && info.facets[2].databaseSize >= 20_000, JSON.stringify(info.facets));
  assert.deepEqual(files(dir), before, 'inspecting made no file');
  await rt.dispose();
  assert.deepEqual(files(dir).filter((f) => /-(wal|shm)$/.test(f)), []);
});

test('rt.inspect() reports the same sizes as the database itself', async (t) => {
  const dir = tempDir(t);
  const rt = open(t, dir);
  const root = rt.env.TREE.getByName('sizes');
  await root.at(['f'], 'fill', 't', 200, 100);
  const running = (await rt.inspect('TREE', 'sizes')).facets[1].databaseSize;
  await root.abort('f');
  const stopped = (await rt.inspect('TREE', 'sizes')).facets[1].databaseSize;
  assert.equal(stopped, running);
  assert.ok(stopped > 200 * 100);
});

test('rt.inspect() does not keep an empty facet from being deleted when it stops', async (t) => {
  const dir = tempDir(t);
  const rt = open(t, dir);
  const root = rt.env.TREE.getByName('implicit');
  const id = rt.env.TREE.idFromName('implicit').toString();
  await root.at(['e'], 'fill', 't', 1, 1);
  await root.at(['e'], 'wipe');
  await rt.inspect('TREE', 'implicit');
  await root.abort('e');
  await rt.inspect('TREE', 'implicit');
  assert.deepEqual(await root.list(), []);
  assert.deepEqual(files(dir).filter((f) => f.startsWith(`${id}.1.`)), []);
});

// ------------------------------------------------------------ defect 7: clone-over

test('clone() over a facet replaces its database whole and leaves no temporary file', async (t) => {
  const dir = tempDir(t);
  const rt = open(t, dir);
  const root = rt.env.TREE.getByName('clone');
  const id = rt.env.TREE.idFromName('clone').toString();
  await root.at(['src'], 'fill', 'new', 400, 1000);
  await root.at(['dst'], 'fill', 'old', 50, 10);
  await root.at(['dst', 'child'], 'put', 'old child');
  await root.clone('src', 'dst');
  assert.deepEqual(await root.at(['dst'], 'summary'), { tag: 'new', rows: 400 });
  assert.equal(await root.at(['dst', 'child'], 'get'), null, 'the old subtree is gone');
  assert.deepEqual(files(dir).filter((f) => f.includes('-clone')), []);
  await rt.dispose();
  assert.deepEqual(files(dir).filter((f) => f.startsWith(`${id}.`) && /-|journal/.test(f)), []);
});

test('a process killed at any step of clone() over a facet finds dst old or new after restart', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const base = tempDir(t);
  {
    const rt = open(t, base);
    const root = rt.env.TREE.getByName('crash');
    await root.at(['src'], 'fill', 'new', 2000, 1000); // ~4 MB of 'é'
    await root.at(['src', 'child'], 'put', 'new child');
    await root.at(['dst'], 'fill', 'old', 100, 10);
    await rt.dispose();
  }
  const child = fixture('clone-crash-child.mjs').pathname;
  const steps = ['Copying', 'Copied', 'CopySynced', 'OldCheckpointed', 'CompanionsRemoved', 'Renamed', 'DirSynced'];
  for (const step of [...steps, null]) {
    const dir = tempDir(t);
    fs.cpSync(base, dir, { recursive: true });
    const env = { ...process.env, DURABLE_FACETS_CRASH_CLONE_AT: step ?? '' };
    const r = spawnSync('sh', ['-c', 'ulimit -c 0; exec "$0" "$@"', process.execPath, child, dir], { env, encoding: 'utf8' });
    if (step) assert.equal(r.signal, 'SIGABRT', `crash after ${step}: ${r.stderr}`);
    else assert.equal(r.stdout, 'cloned', r.stderr);
    const rt = open(t, dir);
    const root = rt.env.TREE.getByName('crash');
    const renamed = step === null || steps.indexOf(step) >= steps.indexOf('Renamed');
    assert.deepEqual(await root.at(['dst'], 'summary'), renamed ? { tag: 'new', rows: 2000 } : { tag: 'old', rows: 101 }, `crash after ${step}`);
    assert.deepEqual(await root.at(['src'], 'summary'), { tag: 'new', rows: 2000 });
    await rt.dispose();
  }
});
