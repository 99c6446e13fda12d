// Property tests: SQL bindings and results, KV keys and values round-trip; KV lists keys in
// the order workerd does. One Runtime per property; see arbitraries.mjs for runs and seed.
//
// Text is stored as UTF-8 (SQLite TEXT, KV keys), as in workerd: a lone surrogate cannot be
// stored and becomes U+FFFD there (`toWellFormed`), never elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, fixture } from './helpers.mjs';
import { fc, options, text, structured, wellFormedText } from './arbitraries.mjs';

function wire(t) {
  return runtime(t, { main: fixture('wire-objects.mjs'), durableObjects: { WIRE: 'Wire' } });
}

/** SQL values: TEXT, BLOB (ArrayBuffer or a view), REAL, integers (bound as REAL), NULL. */
const sqlValue = fc.oneof(
  { weight: 3, arbitrary: text },
  { weight: 2, arbitrary: fc.double({ noNaN: true }) },
  { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constantFrom(2 ** 53, -(2 ** 63), 2 ** 63)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 1100 }).map((a) => a.buffer) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.constant(null) },
);

/** What SQLite gives back for a binding, as workerd converts it. */
function sqlExpected(v) {
  if (typeof v === 'string') return v.toWellFormed();
  if (ArrayBuffer.isView(v)) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
  return v;
}

test('SQL bindings round-trip through a table and straight back as results', async (t) => {
  const stub = wire(t).env.WIRE.getByName('sql');
  await fc.assert(
    fc.asyncProperty(fc.array(sqlValue, { minLength: 1, maxLength: 8 }), async (values) => {
      const expected = values.map(sqlExpected);
      assert.deepStrictEqual(await stub.sqlRoundTrip(values), expected, 'through a table');
      assert.deepStrictEqual(await stub.sqlSelect(values), expected, 'SELECT ?, ?, …');
    }),
    options(),
  );
});

/** UTF-8 byte order of keys: SQLite's BINARY collation on TEXT, which workerd lists in. */
const byteOrder = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Keys whose order differs between UTF-8 bytes and UTF-16 units (JS `<`): at the first
 * difference one has U+E000–U+FFFF, the other a character beyond U+FFFF.
 */
function ordersDiffer(a, b) {
  return Math.sign(byteOrder(a, b)) !== Math.sign(a < b ? -1 : a > b ? 1 : 0);
}

test('KV keys and values round-trip; list() orders keys by their UTF-8 bytes, as workerd', async (t) => {
  const stub = wire(t).env.WIRE.getByName('kv');
  const entries = fc.uniqueArray(fc.tuple(text, structured), {
    maxLength: 8,
    selector: ([k]) => k.toWellFormed(),
  });
  await fc.assert(
    fc.asyncProperty(entries, async (kvs) => {
      const out = await stub.kvRoundTrip(kvs);
      const values = kvs.map(([, v]) => structuredClone(v));
      assert.deepStrictEqual(out.got, values, 'storage.get');
      assert.deepStrictEqual(out.sync, values, 'storage.kv.get');
      const keys = kvs.map(([k]) => k.toWellFormed()).sort(byteOrder);
      assert.deepStrictEqual(out.listed, keys, 'storage.list');
      assert.deepStrictEqual(out.syncListed, keys, 'storage.kv.list');
      assert.deepStrictEqual(out.many, keys, 'storage.get([…])');
    }),
    options(0.5),
  );
});

test('KV list() order is JS string order for keys that do not mix U+E000–U+FFFF with astral characters', async (t) => {
  const stub = wire(t).env.WIRE.getByName('kv-order');
  const keys = fc.uniqueArray(wellFormedText, { minLength: 2, maxLength: 8 });
  await fc.assert(
    fc.asyncProperty(keys, async (ks) => {
      fc.pre(!ks.some((a) => ks.some((b) => ordersDiffer(a, b))));
      const out = await stub.kvRoundTrip(ks.map((k) => [k, 1]));
      assert.deepStrictEqual(out.listed, [...ks].sort());
    }),
    options(0.5),
  );
});

test('KV list() orders "\\uFF01" before "😀" (UTF-8 bytes), where JS sorts it after', async (t) => {
  // The documented difference: workerd lists by SQLite's BINARY collation (UTF-8 bytes).
  const out = await wire(t).env.WIRE.getByName('kv-order').kvRoundTrip([['\uFF01', 1], ['😀', 2]]);
  assert.deepStrictEqual(out.listed, ['\uFF01', '😀'].sort(byteOrder));
  assert.deepStrictEqual(out.listed, ['\uFF01', '😀']);
  assert.deepStrictEqual(['\uFF01', '😀'].sort(), ['😀', '\uFF01']);
});

test('text in the query itself (a literal, a column name) round-trips', async (t) => {
  const stub = wire(t).env.WIRE.getByName('sql-text');
  await fc.assert(
    // The query holds the text twice; SQL text is limited to 100,000 bytes (as in workerd).
    fc.asyncProperty(text.filter((s) => s.length > 0 && !s.includes('\0') && Buffer.byteLength(s) < 40_000), async (s) => {
      const stored = s.toWellFormed();
      assert.deepStrictEqual(await stub.sqlText(s), { columns: [stored], row: [stored] });
    }),
    options(0.5),
  );
});

/** Stored keys within list() options, by UTF-8 bytes (workerd's compileListOptions). */
function expectedList(keys, { start, end, prefix, reverse, limit }) {
  const bytes = (k) => Buffer.from(k);
  let out = keys
    .map((k) => k.toWellFormed())
    .filter((k) => (start === undefined || byteOrder(k, start) >= 0) && (end === undefined || byteOrder(k, end) < 0))
    .filter((k) => prefix === undefined || bytes(k).subarray(0, bytes(prefix).length).equals(bytes(prefix)))
    .sort(byteOrder);
  if (reverse) out.reverse();
  if (limit !== undefined) out = out.slice(0, limit);
  return out;
}

test('KV list() with start, end, prefix, reverse and limit selects keys by their UTF-8 bytes', async (t) => {
  const stub = wire(t).env.WIRE.getByName('kv-bounds');
  const keys = fc.uniqueArray(text, { minLength: 1, maxLength: 8, selector: (k) => k.toWellFormed() });
  const bound = (ks) => fc.oneof(fc.constant(undefined), fc.constantFrom(...ks), text, fc.constantFrom(...ks).chain((k) => fc.nat(k.length).map((n) => k.slice(0, n))));
  const scenario = keys.chain((ks) =>
    fc.tuple(
      fc.constant(ks),
      fc.record(
        { start: bound(ks), end: bound(ks), prefix: bound(ks), reverse: fc.boolean(), limit: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }) },
        { requiredKeys: [] },
      ),
    ),
  );
  await fc.assert(
    fc.asyncProperty(scenario, async ([ks, opts]) => {
      const stored = Object.fromEntries(Object.entries(opts).map(([k, v]) => [k, typeof v === 'string' ? v.toWellFormed() : v]));
      const expected = expectedList(ks, stored);
      const out = await stub.kvListWith(ks, opts);
      assert.deepStrictEqual(out.listed, expected, 'storage.list');
      assert.deepStrictEqual(out.syncListed, expected, 'storage.kv.list');
    }),
    options(0.5),
  );
});
