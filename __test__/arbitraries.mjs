// fast-check arbitraries and settings shared by the property tests (*.property.test.mjs).
//
// Runs are short and reproducible by default (fixed seed, FC_NUM_RUNS runs, 200 unless
// set); a long run: FC_NUM_RUNS=20000 FC_SEED=<any> node --test __test__/*.property.test.mjs
// (scripts/property-long-run.sh).
import fc from 'fast-check';

export { fc };

export const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 200);
export const SEED = Number(process.env.FC_SEED ?? 20261129);

/** Options for fc.assert: `share` of the runs (expensive properties run fewer cases). */
export function options(share = 1) {
  return { numRuns: Math.max(1, Math.round(NUM_RUNS * share)), seed: SEED, endOnFailure: true };
}

const fromCodePoint = (c) => String.fromCodePoint(c);

/** One UTF-16 unit or surrogate pair of every UTF-8 width, lone surrogates included. */
export const unit = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 0x7f }).map(fromCodePoint) },
  { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0x7ff }).map(fromCodePoint) },
  {
    weight: 2,
    arbitrary: fc.oneof(fc.integer({ min: 0x800, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0xffff })).map(fromCodePoint),
  },
  { weight: 2, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map(fromCodePoint) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
);

/** Units of well-formed text (no lone surrogates). */
export const wellFormedUnit = unit.filter((u) => u.isWellFormed());

/** Short strings of any units. */
export const anyString = fc.string({ unit, maxLength: 24 });

/** Buffer sizes text crosses (the binding's scratch buffer was 512 bytes). */
export const BOUNDARIES = [255, 256, 511, 512, 1023, 1024, 4095, 4096, 65535, 65536];

export const utf8Length = (s) => Buffer.byteLength(s, 'utf8');

/**
 * Strings whose UTF-8 form crosses a boundary: a filler (ASCII or multibyte, shifted by
 * up to 3 ASCII bytes) up to the boundary ± 4 bytes, then a short tail of any units, so a
 * multibyte character straddles the boundary.
 */
export function boundaryString(units = unit) {
  return fc
    .tuple(
      fc.constantFrom(...BOUNDARIES),
      fc.integer({ min: -4, max: 4 }),
      fc.constantFrom('a', 'é', 'あ', '😀', '\uFFFD'),
      fc.integer({ min: 0, max: 3 }),
      fc.string({ unit: units, minLength: 1, maxLength: 6 }),
    )
    .map(([boundary, delta, fill, shift, tail]) => {
      const target = Math.max(0, boundary + delta);
      const head = 'a'.repeat(Math.min(shift, target));
      const width = utf8Length(fill);
      const n = Math.floor((target - head.length) / width);
      const pad = 'a'.repeat(target - head.length - n * width);
      return head + fill.repeat(n) + pad + tail;
    });
}

/** Text of every kind: mostly short, sometimes across a boundary. */
export const text = fc.oneof({ weight: 4, arbitrary: anyString }, { weight: 1, arbitrary: boundaryString() });

/** Well-formed text of every kind. */
export const wellFormedText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: wellFormedUnit, maxLength: 24 }) },
  { weight: 1, arbitrary: boundaryString(wellFormedUnit) },
);

/** Leaf values: every primitive structured clone keeps apart. */
const leaves = [
  anyString,
  fc.double(),
  fc.integer(),
  fc.bigInt(),
  fc.constantFrom(-0, 0, NaN, Infinity, -Infinity, null, undefined, true, false, 2 ** 53, -(2 ** 31)),
];

/** Whether `v` holds an invalid Date (which no deep-equality check finds equal to itself). */
function hasInvalidDate(v, seen = new Set()) {
  if (v === null || typeof v !== 'object' || seen.has(v)) return false;
  seen.add(v);
  if (v instanceof Date) return Number.isNaN(v.getTime());
  if (v instanceof Map) return [...v].some(([k, x]) => hasInvalidDate(k, seen) || hasInvalidDate(x, seen));
  if (v instanceof Set) return [...v].some((x) => hasInvalidDate(x, seen));
  return Object.values(v).some((x) => hasInvalidDate(x, seen));
}

/** Structured-cloneable values: nested objects, arrays, Map, Set, Date, BigInt, typed arrays,… */
export const structured = fc.anything({
  key: fc.oneof(anyString, fc.constantFrom('__proto__', 'constructor', 'length', '0', '-1')),
  values: leaves,
  maxDepth: 3,
  maxKeys: 5,
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
}).filter((v) => !hasInvalidDate(v));

/** JSON-friendly leaves, so that arrays and getters also take the JSON path. */
const jsonLeaf = fc.oneof(anyString, fc.integer(), fc.boolean(), fc.constant(null));

/** Arrays with extra (non-index) properties. */
const arrayWithProperties = fc
  .tuple(
    fc.array(fc.oneof(jsonLeaf, structured), { maxLength: 4 }),
    fc.dictionary(anyString.map((k) => `p${k}`), fc.oneof(jsonLeaf, structured), { minKeys: 1, maxKeys: 3 }),
  )
  .map(([a, props]) => Object.assign(a, props));

/** Plain records (to be read through getters, see `withGetters`). */
export const record = fc.dictionary(anyString, fc.oneof(jsonLeaf, structured), { minKeys: 1, maxKeys: 3 });

/**
 * A fresh object whose properties are getters returning `record`'s values on their first
 * read only (structured clone reads each once; a second read shows `{ readTwice: true }`).
 */
export function withGetters(rec) {
  const out = {};
  for (const [k, v] of Object.entries(rec)) {
    let reads = 0;
    Object.defineProperty(out, k, { get: () => (reads++ === 0 ? v : { readTwice: true }), enumerable: true });
  }
  return out;
}

/** The same object twice (structured clone keeps identity). */
const shared = fc.object({ maxDepth: 1 }).map((o) => ({ a: o, b: [o] }));

/** Values an RPC argument or result can be. */
export const value = fc.oneof(
  { weight: 6, arbitrary: structured },
  { weight: 2, arbitrary: text },
  { weight: 1, arbitrary: arrayWithProperties },
  { weight: 1, arbitrary: shared },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((a) => a.buffer) },
);

/** The standard Error classes an error keeps across threads. */
export const ERROR_CLASSES = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError'];
export const errorClass = fc.constantFrom(...ERROR_CLASSES);
