// Property tests: arbitrary text and structured values cross every pair of threads exactly
// as structured clone copies them, and thrown errors keep class, name and every character
// of their message. One Runtime per property; see arbitraries.mjs for runs and seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, fixture } from './helpers.mjs';
import { fc, options, value, text, boundaryString, errorClass, record, withGetters } from './arbitraries.mjs';

function wire(t) {
  return runtime(t, { main: fixture('wire-objects.mjs'), durableObjects: { WIRE: 'Wire' } });
}

/** Asserts that `got` is what structured clone makes of the value sent (`expected`). */
function assertClone(got, expected, where) {
  assert.deepStrictEqual(got, expected, where);
}

test('values round-trip main → object → main as structured clone copies them', async (t) => {
  const stub = wire(t).env.WIRE.getByName('main');
  await fc.assert(
    fc.asyncProperty(value, async (v) => {
      const expected = structuredClone(v);
      assertClone(await stub.echo(v), expected, 'result');
    }),
    options(),
  );
});

test('each getter is read exactly once, main → object and object → object', async (t) => {
  const stub = wire(t).env.WIRE.getByName('getters');
  await fc.assert(
    fc.asyncProperty(record, async (rec) => {
      const expected = structuredClone(rec);
      assertClone(await stub.echo(withGetters(rec)), expected, 'main → object');
      assertClone(await stub.echo([{ nested: withGetters(rec) }]), [{ nested: expected }], 'nested');
      const { got, same } = await stub.relay('getters-b', 'echo', [withGetters(rec)], rec);
      assert.equal(same, true, 'object → object');
      assertClone(got, expected, 'object → object → main');
    }),
    options(0.5),
  );
});

test('strings across buffer boundaries round-trip main → object → main', async (t) => {
  const stub = wire(t).env.WIRE.getByName('boundary');
  await fc.assert(
    fc.asyncProperty(boundaryString(), async (s) => {
      assert.equal(await stub.echo(s), s);
      assert.deepEqual(await stub.echo({ [s]: [s] }), { [s]: [s] });
      // Through V8 serialization too (a Map is not JSON).
      assert.deepEqual(await stub.echo(new Map([[s, s]])), new Map([[s, s]]));
    }),
    options(),
  );
});

test('values round-trip object → object, as arguments and as results', async (t) => {
  const stub = wire(t).env.WIRE.getByName('a');
  await fc.assert(
    fc.asyncProperty(value, async (v) => {
      const expected = structuredClone(v);
      // a receives v (and a copy to compare with), calls b.echo(v), compares what came back.
      const { got, same } = await stub.relay('b', 'echo', [v], v);
      assert.equal(same, true, 'b → a: the result equals what a sent');
      assertClone(got, expected, 'result at main');
      assert.equal(await stub.relay('b', 'same', [v, v], true).then((r) => r.got), true, 'a → b: arguments arrive equal');
    }),
    options(0.5),
  );
});

test('values round-trip parent → facet, as arguments and as results', async (t) => {
  const stub = wire(t).env.WIRE.getByName('parent');
  await fc.assert(
    fc.asyncProperty(value, async (v) => {
      const expected = structuredClone(v);
      const { got, same } = await stub.facetRelay('f', 'echo', [v], v);
      assert.equal(same, true, 'facet → parent: the result equals what the parent sent');
      assertClone(got, expected, 'result at main');
      assert.equal(await stub.facetRelay('f', 'same', [v, v], true).then((r) => r.got), true, 'parent → facet: arguments arrive equal');
    }),
    options(0.5),
  );
});

const expectedError = (cls, message) => ({ cls, name: cls, message, code: undefined, remote: true });

test('thrown errors keep class, name and message main ← object', async (t) => {
  const stub = wire(t).env.WIRE.getByName('errors');
  await fc.assert(
    fc.asyncProperty(errorClass, text, async (cls, message) => {
      const e = await stub.throwAs(cls, message).then(() => assert.fail('resolved'), (err) => err);
      assert.equal(e.constructor.name, cls);
      assert.equal(e.name, cls);
      assert.equal(e.message, message);
      assert.equal(e.remote, true);
    }),
    options(),
  );
});

test('thrown errors keep class, name and message object ← object', async (t) => {
  const stub = wire(t).env.WIRE.getByName('errors-a');
  await fc.assert(
    fc.asyncProperty(errorClass, text, async (cls, message) => {
      assert.deepEqual(await stub.relayError('errors-b', 'throwAs', [cls, message]), expectedError(cls, message));
    }),
    options(0.5),
  );
});

test('thrown errors keep class, name and message parent ← facet', async (t) => {
  const stub = wire(t).env.WIRE.getByName('errors-parent');
  await fc.assert(
    fc.asyncProperty(errorClass, text, fc.boolean(), async (cls, message, async) => {
      const method = async ? 'rejectAs' : 'throwAs';
      assert.deepEqual(await stub.facetError('f', method, [cls, message]), expectedError(cls, message));
    }),
    options(0.5),
  );
});

test('object names round-trip through getByName() to ctx.id.name', async (t) => {
  const rt = wire(t);
  await fc.assert(
    fc.asyncProperty(text.filter((s) => s.length > 0), async (name) => {
      const stub = rt.env.WIRE.getByName(name);
      const { name: seen, id } = await stub.whoName();
      assert.equal(seen, name.toWellFormed());
      assert.equal(id, rt.env.WIRE.idFromName(name).toString());
    }),
    options(0.1),
  );
});

test('facet props and string ids round-trip to the facet', async (t) => {
  const stub = wire(t).env.WIRE.getByName('props');
  await fc.assert(
    fc.asyncProperty(value, text.filter((s) => s.length > 0), async (props, id) => {
      // No props (undefined or null) are {}, as `X({ props })` documents.
      const expected = structuredClone(props ?? {});
      const seen = await stub.facetProps('p', props, id);
      assert.deepStrictEqual(seen.props, expected);
      assert.equal(seen.id, id);
    }),
    options(0.25),
  );
});
