// Values and errors crossing threads: nothing a reply or an error holds can wedge a thread,
// values follow structured clone, stubs are never stored, payloads are capped at 32 MiB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime, fixture } from './helpers.mjs';

const MiB = 1024 * 1024;

function wire(t, options = {}) {
  const rt = runtime(t, {
    main: fixture('wire-objects.mjs'),
    durableObjects: { WIRE: 'Wire' },
    ...options,
  });
  return rt;
}

// ---- Defect 2: a reply that cannot be decoded ----------------------------------------------
//
// Replies come from this package's own encoder, so a reply that cannot be decoded takes a
// bug like defect 1 (a cut string) or a stack too small for a deep value; the tests simulate
// one by making this thread's JSON.parse fail on a marker.

const MARK = 'UNDECODABLE-MARKER-ü';

async function withUndecodable(fn) {
  const parse = JSON.parse;
  JSON.parse = function (text, reviver) {
    if (typeof text === 'string' && text.includes(MARK)) throw new SyntaxError('simulated decoding failure');
    return parse.call(this, text, reviver);
  };
  try {
    return await fn();
  } finally {
    JSON.parse = parse;
  }
}

test('an error reply the main thread cannot decode rejects the call with ERR_DO_RPC_UNDECODABLE', async (t) => {
  const stub = wire(t).env.WIRE.getByName('undecodable');
  const e = await withUndecodable(() => stub.throwAs('TypeError', MARK).catch((err) => err));
  assert.ok(e instanceof Error);
  assert.equal(e.code, 'ERR_DO_RPC_UNDECODABLE');
  assert.equal(e.message, 'The reply to an RPC call could not be decoded: simulated decoding failure');
  assert.equal(e.remote, true);
});

test('a result the main thread cannot decode rejects the call with ERR_DO_RPC_UNDECODABLE', async (t) => {
  const stub = wire(t).env.WIRE.getByName('undecodable');
  await assert.rejects(
    withUndecodable(() => stub.echo(MARK)),
    { code: 'ERR_DO_RPC_UNDECODABLE', message: 'The reply to an RPC call could not be decoded: simulated decoding failure' },
  );
});

test('after an undecodable reply the main thread keeps working, in every Runtime', async (t) => {
  const rt = wire(t);
  const stub = rt.env.WIRE.getByName('undecodable');
  await withUndecodable(() => Promise.allSettled([stub.throwAs('Error', MARK), stub.ping(), stub.echo(MARK)]));
  assert.equal(await stub.ping(), 'pong');
  assert.equal(await rt.env.WIRE.getByName('other').ping(), 'pong');
  assert.equal(await wire(t).env.WIRE.getByName('second').ping(), 'pong');
});

test('after an undecodable reply a worker thread keeps working', async (t) => {
  const out = await wire(t).env.WIRE.getByName('caller').undecodableReplies('callee', MARK);
  const undecodable = {
    cls: 'Error',
    name: 'Error',
    message: 'The reply to an RPC call could not be decoded: simulated decoding failure',
    code: 'ERR_DO_RPC_UNDECODABLE',
    remote: true,
  };
  assert.deepEqual(out, { error: undecodable, result: { ...undecodable, remote: undefined }, after: ['pong', 'pong'] });
});

// ---- Defect 3: errors that cannot be encoded ---------------------------------------------

// Values that cannot be cloned arrive as an Error with their string form (or a text saying
// they have none) and code ERR_DO_UNCLONEABLE_THROWN; Errors with parts that cannot be read
// arrive without those parts.
const UNCLONEABLE = 'ERR_DO_UNCLONEABLE_THROWN';
const HOSTILE = {
  revokedProxy: { name: 'Error', message: 'A Proxy that cannot be serialized was thrown.', code: UNCLONEABLE },
  revokedErrorProxy: { name: 'Error', message: 'A Proxy that cannot be serialized was thrown.', code: UNCLONEABLE },
  getPrototypeOfTrap: { name: 'Error', code: UNCLONEABLE },
  messageGetter: { name: 'TypeError', message: '' },
  nameGetter: { name: 'RangeError', message: 'name getter throws' },
  stackGetter: { name: 'Error', message: 'stack getter throws' },
  hostileCause: { name: 'Error', message: 'hostile cause' },
  causeGetter: { name: 'Error', message: 'cause getter throws' },
  revokedPrototype: { name: 'Error', message: 'A value that cannot be serialized was thrown.', code: UNCLONEABLE },
  toStringThrows: { name: 'Error', message: 'A value that cannot be serialized was thrown.', code: UNCLONEABLE },
  selfCause: { name: 'Error', message: 'self cause' },
};

for (const [kind, expected] of Object.entries(HOSTILE)) {
  test(`throwing a hostile value (${kind}) rejects the caller with an Error; the object keeps answering`, async (t) => {
    const stub = wire(t).env.WIRE.getByName(kind);
    for (const method of ['throwHostile', 'rejectHostile']) {
      const e = await stub[method](kind).then(
        () => assert.fail('resolved'),
        (err) => err,
      );
      assert.ok(e instanceof Error, `${method}: an Error`);
      assert.equal(e.remote, true);
      assert.equal(e.name, expected.name);
      if (expected.message !== undefined) assert.equal(e.message, expected.message);
      assert.equal(e.code, expected.code);
      assert.equal(await stub.ping(), 'pong');
    }
  });
}

test('a constructor throwing a revoked Proxy breaks its instance with an Error; the caller gets it', async (t) => {
  const rt = wire(t, { durableObjects: { WIRE: 'Wire', HOSTILE: 'HostileConstructor' } });
  for (let i = 0; i < 2; i++) {
    await assert.rejects(rt.env.HOSTILE.getByName('h').ping(), {
      name: 'Error',
      message: 'A Proxy that cannot be serialized was thrown.',
      code: 'ERR_DO_UNCLONEABLE_THROWN',
      durableObjectReset: true,
    });
  }
  assert.equal(await rt.env.WIRE.getByName('other').ping(), 'pong');
});

test('a thrown error keeps its code, own cloneable data and cause; other properties are left out', async (t) => {
  const stub = wire(t).env.WIRE.getByName('data');
  const e = await stub.throwWithData('どうぞ').catch((err) => err);
  assert.ok(e instanceof RangeError);
  assert.equal(e.message, 'どうぞ');
  assert.equal(e.code, 'ERR_SOMETHING');
  assert.deepEqual(e.details, { n: 1, when: new Date(0) });
  assert.equal('callback' in e, false);
  assert.ok(e.cause instanceof TypeError);
  assert.equal(e.cause.message, 'cause: どうぞ');
});

test("a callee's stack frames follow the caller's stack", async (t) => {
  const e = await wire(t).env.WIRE.getByName('stack').throwAs('Error', 'where').catch((err) => err);
  assert.match(e.stack, /^Error: where\n/);
  assert.match(e.stack, /wire-objects\.mjs/);
});

test('a result whose then getter throws rejects the call with that error', async (t) => {
  const stub = wire(t).env.WIRE.getByName('then');
  await assert.rejects(stub.hostileThen(), { message: 'then getter', remote: true });
  assert.equal(await stub.ping(), 'pong');
});

// ---- Defect 8: facet errors with non-ASCII text ---------------------------------------

const TEXTS = [
  'これは日本語のテキストです。'.repeat(30),
  'a'.repeat(510) + 'é facet',
  'Ошибка 😀 \u{10FFFF} \uFFFD',
  'lone \ud800 and \udfff surrogates',
];

test("a facet's thrown error reaches its parent with every character", async (t) => {
  const stub = wire(t).env.WIRE.getByName('facet-errors');
  for (const [i, text] of TEXTS.entries()) {
    for (const method of ['throwAs', 'rejectAs']) {
      assert.deepEqual(await stub.facetError(`f${i}`, method, ['TypeError', text]), {
        cls: 'TypeError',
        name: 'TypeError',
        message: text,
        code: undefined,
        remote: true,
      });
    }
  }
});

test("a facet's form-B callback error reaches its caller with every character", async (t) => {
  const stub = wire(t).env.WIRE.getByName('facet-callback');
  for (const [i, text] of TEXTS.entries()) {
    const e = await stub.facetCallbackThrows(`cb${i}`, 'RangeError', text);
    assert.equal(e.cls, 'RangeError');
    assert.equal(e.message, text);
  }
});

test("a facet constructor's error reaches its caller with every character", async (t) => {
  // The broken facet resets its root (the default facetFailure): the root's caller gets it.
  const stub = wire(t).env.WIRE.getByName('facet-ctor');
  for (const [i, text] of TEXTS.entries()) {
    await assert.rejects(stub.facetConstructorThrows(`ctor${i}`, 'SyntaxError', text), (e) => {
      assert.ok(e instanceof SyntaxError);
      assert.equal(e.message, text);
      return true;
    });
  }
});

test("with facetFailure: 'isolate', a facet constructor's error reaches its parent with every character", async (t) => {
  const stub = wire(t, { facetFailure: 'isolate' }).env.WIRE.getByName('facet-ctor');
  for (const [i, text] of TEXTS.entries()) {
    const e = await stub.facetConstructorThrows(`ctor${i}`, 'SyntaxError', text);
    assert.equal(e.cls, 'SyntaxError');
    assert.equal(e.message, text);
  }
});

test("abort(name, reason) rejects the facet's pending calls with every character of the reason", async (t) => {
  const stub = wire(t).env.WIRE.getByName('facet-abort');
  for (const [i, text] of TEXTS.entries()) {
    const e = await stub.facetAborted(`ab${i}`, text);
    assert.equal(e.cls, 'Error');
    assert.equal(e.message, text);
  }
});

// ---- Defect 17: structured clone --------------------------------------------------------

test('a Proxy argument throws DataCloneError before anything is sent', async (t) => {
  const stub = wire(t).env.WIRE.getByName('proxy');
  for (const v of [new Proxy({}, {}), { nested: [new Proxy([], {})] }]) {
    await assert.rejects(stub.echo(v), (e) => {
      assert.ok(e instanceof DOMException);
      assert.equal(e.name, 'DataCloneError');
      assert.equal(e.message, 'Could not serialize object of type "Proxy".');
      return true;
    });
  }
});

test('a Proxy result rejects the caller with DataCloneError', async (t) => {
  await assert.rejects(wire(t).env.WIRE.getByName('proxy').proxyResult(), {
    name: 'DataCloneError',
    message: 'Could not serialize object of type "Proxy".',
  });
});

test('SharedArrayBuffers and views over them throw DataCloneError', async (t) => {
  const stub = wire(t).env.WIRE.getByName('sab');
  const sab = new SharedArrayBuffer(8);
  for (const v of [sab, new Uint8Array(sab), new DataView(sab), { deep: [new Float64Array(sab)] }]) {
    await assert.rejects(stub.echo(v), {
      name: 'DataCloneError',
      message: 'Could not serialize object of type "SharedArrayBuffer".',
    });
  }
  for (const view of [false, true]) {
    await assert.rejects(stub.sabResult(view), { name: 'DataCloneError' });
  }
});

test('extra properties of arrays survive, as arguments and as results', async (t) => {
  const stub = wire(t).env.WIRE.getByName('array-props');
  const a = ['x', 'y'];
  a.label = 'kept';
  a[-1] = 'negative';
  const got = await stub.echo(a);
  assert.deepEqual([...got], ['x', 'y']);
  assert.equal(got.label, 'kept');
  assert.equal(got[-1], 'negative');
  assert.equal((await stub.arrayWithProps()).extra, 'kept');
});

test('sparse arrays keep their holes and shared references their identity', async (t) => {
  const stub = wire(t).env.WIRE.getByName('shape');
  const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
  const got = await stub.echo(sparse);
  assert.equal(got.length, 3);
  assert.equal(1 in got, false);
  const shared = { n: 1 };
  const pair = await stub.echo([shared, shared]);
  assert.equal(pair[0], pair[1]);
  const cyclic = { name: 'loop' };
  cyclic.self = cyclic;
  const back = await stub.echo(cyclic);
  assert.equal(back.self, back);
});

test('each getter of an argument is read exactly once', async (t) => {
  const stub = wire(t).env.WIRE.getByName('getter');
  let reads = 0;
  const v = {
    get value() {
      return ++reads;
    },
  };
  assert.deepEqual(await stub.echo(v), { value: 1 });
  assert.equal(reads, 1);
  // A getter that changes what it returns cannot slip a non-JSON value past the check.
  let calls = 0;
  const shifty = {
    get v() {
      return ++calls === 1 ? 1 : new Map([[1, 2]]);
    },
  };
  assert.deepEqual(await stub.echo(shifty), { v: 1 });
});

test('each getter of a result is read exactly once', async (t) => {
  const stub = wire(t).env.WIRE.getByName('getter-result');
  assert.deepEqual(await stub.getterResult(), { value: 1 });
  assert.equal(await stub.readCount(), 1);
});

test('the structured-clone edge values survive a round trip exactly', async (t) => {
  const stub = wire(t).env.WIRE.getByName('edges');
  const nullProto = Object.assign(Object.create(null), { a: 1 });
  const values = [
    -0,
    NaN,
    Infinity,
    undefined,
    10n ** 30n,
    [undefined, null],
    { u: undefined },
    new Date(0),
    /x+/giu,
    new Map([[{ k: 1 }, new Set([1])]]),
    new Uint16Array([1, 2, 3]),
    new Float64Array([-0, NaN]),
    new ArrayBuffer(3),
    Object(1),
    Object('s'),
    JSON.parse('{"__proto__": 1}'),
  ];
  for (const v of values) assert.deepEqual(await stub.echo(v), v);
  const back = await stub.echo(nullProto);
  assert.deepEqual({ ...back }, { a: 1 });
  assert.equal(Object.getPrototypeOf(back), Object.prototype, 'as structured clone: an ordinary object');
});

// ---- Defect 18: stubs are never stored ------------------------------------------------------

for (const nestedIn of ['none', 'object', 'array']) {
  test(`storage.put of a facet stub (${nestedIn}) throws DataCloneError, async and sync KV`, async (t) => {
    const out = await wire(t).env.WIRE.getByName('put-facet').putStub('facet', nestedIn);
    const expected = {
      isDOMException: true,
      name: 'DataCloneError',
      message: 'Stubs pointing to Durable Object facets are not serializable.',
    };
    assert.deepEqual(out, { put: expected, kvPut: expected });
  });

  test(`storage.put of a namespace stub (${nestedIn}) throws DataCloneError, async and sync KV`, async (t) => {
    const out = await wire(t).env.WIRE.getByName('put-ns').putStub('namespace', nestedIn);
    const expected = {
      isDOMException: true,
      name: 'DataCloneError',
      message: 'Could not serialize object of type "DurableObjectStub".',
    };
    assert.deepEqual(out, { put: expected, kvPut: expected });
  });
}

test('storage.put of a Proxy, a function or a SharedArrayBuffer throws DataCloneError', async (t) => {
  const stub = wire(t).env.WIRE.getByName('put-other');
  for (const kind of ['proxy', 'fn', 'sab']) {
    const e = await stub.putValue(kind);
    assert.equal(e.isDOMException, true, kind);
    assert.equal(e.name, 'DataCloneError', kind);
  }
});

// ---- Defect 4 (part): the 32 MiB cap --------------------------------------------------------

const TOO_LARGE = /^Serialized RPC arguments or return values are limited to 32MiB, but the size of this value was/;

test('arguments serializing to exactly 32 MiB are sent; one byte more is a RangeError', async (t) => {
  const stub = wire(t).env.WIRE.getByName('cap');
  // JSON of ["x…x"]: the string plus 4 bytes.
  const fits = 'x'.repeat(32 * MiB - 4);
  assert.equal((await stub.echo(fits)).length, fits.length);
  await assert.rejects(stub.echo(`${fits}x`), (e) => {
    assert.ok(e instanceof RangeError);
    assert.equal(e.code, 'ERR_DO_PAYLOAD_TOO_LARGE');
    assert.match(e.message, TOO_LARGE);
    return true;
  });
  assert.equal(await stub.ping(), 'pong');
});

test('the cap counts UTF-8 bytes, not characters', async (t) => {
  const stub = wire(t).env.WIRE.getByName('cap-utf8');
  // 17 Mi characters, 34 MiB of UTF-8.
  await assert.rejects(stub.echo('é'.repeat(17 * MiB)), { code: 'ERR_DO_PAYLOAD_TOO_LARGE' });
  await assert.rejects(stub.echo(new Uint8Array(33 * MiB)), { code: 'ERR_DO_PAYLOAD_TOO_LARGE' });
});

test('a result over 32 MiB rejects the caller with a RangeError; the object keeps working', async (t) => {
  const stub = wire(t).env.WIRE.getByName('cap-result');
  await assert.rejects(stub.big(33 * MiB), (e) => {
    assert.ok(e instanceof RangeError);
    assert.equal(e.code, 'ERR_DO_PAYLOAD_TOO_LARGE');
    assert.match(e.message, TOO_LARGE);
    return true;
  });
  assert.equal(await stub.ping(), 'pong');
});

test('an object calling another with over 32 MiB gets the RangeError itself', async (t) => {
  const e = await wire(t)
    .env.WIRE.getByName('cap-caller')
    .relayError('cap-caller', 'bigArg', ['cap-callee', 33 * MiB]);
  assert.equal(e.cls, 'RangeError');
  assert.equal(e.code, 'ERR_DO_PAYLOAD_TOO_LARGE');
});

test('an error whose message is over 32 MiB reaches the caller as the RangeError of the cap', async (t) => {
  const stub = wire(t).env.WIRE.getByName('cap-error');
  await assert.rejects(stub.bigError(33 * MiB), { name: 'RangeError', code: 'ERR_DO_PAYLOAD_TOO_LARGE' });
  assert.equal(await stub.ping(), 'pong');
});

test('a buffer referenced twice counts once toward the 32 MiB cap, as V8 writes it once', async (t) => {
  const stub = wire(t).env.WIRE.getByName('cap-shared');
  const b = new Uint8Array(20 * MiB).fill(7);
  const [x, y] = await stub.echo([b, b]);
  assert.equal(x, y, 'one copy arrives, referenced twice');
  assert.equal(x.length, 20 * MiB);
});
