// Property tests: valid facet names (any well-formed text up to 128 characters, stored as
// UTF-8) round-trip through facets.list(); invalid ones are refused with the spec's
// TypeErrors (SPEC §5.1) by get, abort, delete and clone. See arbitraries.mjs for runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, fixture } from './helpers.mjs';
import { fc, options, unit } from './arbitraries.mjs';

function wire(t) {
  return runtime(t, { main: fixture('wire-objects.mjs'), durableObjects: { WIRE: 'Wire' } });
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const nameUnit = unit.filter((u) => u !== '/' && !CONTROL.test(u) && u.isWellFormed());

/** Valid names: any well-formed text of 1 to 128 UTF-16 units, none of '/' or controls. */
const validName = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: nameUnit, minLength: 1, maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('a', 'é', 'あ', '😀', '\uFFFD', '\uFF01'), fc.string({ unit: nameUnit, maxLength: 3 }))
      .map(([fill, tail]) => (fill.repeat(Math.floor((128 - tail.length) / fill.length)) + tail).slice(0, 128))
      .filter((n) => n.length > 0 && n.isWellFormed()),
  },
);

/** The spec's error for `name` (null when valid), in the order the checks apply. */
function nameError(name) {
  if (typeof name !== 'string') return 'Facet name must be a string.';
  if (name.length === 0) return 'Facet name cannot be empty.';
  if (name.length > 128) return 'Facet name is too long (max 128 characters).';
  if (name.includes('/')) return "Facet name cannot contain '/'.";
  if (CONTROL.test(name)) return 'Facet name cannot contain control characters.';
  if (!name.isWellFormed()) return 'Facet name must be well-formed Unicode.';
  return null;
}

/** Invalid names: non-strings, '', too long, or a valid name with one bad character in it. */
const invalidName = fc.oneof(
  fc.oneof(fc.integer(), fc.boolean(), fc.constantFrom(null, undefined), fc.array(fc.integer(), { maxLength: 2 }), fc.object({ maxDepth: 0 })),
  fc.constant(''),
  fc.tuple(validName, fc.string({ unit, minLength: 129, maxLength: 200 })).map(([a, b]) => a + b),
  fc
    .tuple(
      validName,
      fc.oneof(
        fc.constant('/'),
        fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f })).map((c) => String.fromCharCode(c)),
        fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
      ),
      fc.nat(),
    )
    .map(([name, bad, at]) => {
      const chars = [...name];
      const i = at % (chars.length + 1);
      return (chars.slice(0, i).join('') + bad + chars.slice(i).join('')).slice(0, 128);
    }),
).filter((n) => nameError(n) !== null);

const byteOrder = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));

test('valid facet names round-trip through facets.list(), sorted by their UTF-8 bytes', async (t) => {
  const stub = wire(t).env.WIRE.getByName('names');
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(validName, { minLength: 1, maxLength: 4 }), async (names) => {
      try {
        assert.deepStrictEqual(await stub.facetNames(names), [...names].sort(byteOrder));
      } finally {
        await stub.resetFacets();
      }
    }),
    options(0.1),
  );
});

test('valid facet names are accepted by get()', async (t) => {
  const stub = wire(t).env.WIRE.getByName('valid');
  await fc.assert(
    fc.asyncProperty(validName, async (name) => {
      assert.equal(await stub.facetNameError(name), null);
    }),
    options(),
  );
});

test("invalid facet names are refused by get, abort, delete and clone with the spec's TypeError", async (t) => {
  const stub = wire(t).env.WIRE.getByName('invalid');
  await fc.assert(
    fc.asyncProperty(invalidName, async (name) => {
      const expected = { cls: 'TypeError', message: nameError(name) };
      assert.deepStrictEqual(await stub.facetNameErrors(name), { get: expected, abort: expected, delete: expected, clone: expected });
    }),
    options(),
  );
});
