import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtime } from './helpers.mjs';
import { DurableObjectId } from '../index.js';

test('idFromName derives workerd ids (test vector mykey/name)', (t) => {
  const rt = runtime(t, { durableObjects: { ECHO: { className: 'Echo', uniqueKey: 'mykey' } } });
  const id = rt.env.ECHO.idFromName('name');
  assert.equal(id.toString(), '3652ef6221834806dc8df802d1d216e27b7d07e0a6b7adf6cfdaeec90f06459a');
  assert.equal(id.name, 'name');
  assert.ok(id instanceof DurableObjectId);
});

test('uniqueKey defaults to the class name', (t) => {
  const a = runtime(t, { durableObjects: { ECHO: 'Echo' } });
  const b = runtime(t, { durableObjects: { ECHO: { className: 'Echo', uniqueKey: 'Echo' } } });
  assert.equal(a.env.ECHO.idFromName('x').toString(), b.env.ECHO.idFromName('x').toString());
});

test('newUniqueId gives distinct 64-hex ids without a name', (t) => {
  const rt = runtime(t);
  const a = rt.env.ECHO.newUniqueId();
  const b = rt.env.ECHO.newUniqueId();
  assert.match(a.toString(), /^[0-9a-f]{64}$/);
  assert.notEqual(a.toString(), b.toString());
  assert.equal(a.name, undefined);
  assert.ok(!a.equals(b));
});

test('idFromString round-trips ids of its namespace, in either case', (t) => {
  const rt = runtime(t);
  const id = rt.env.ECHO.newUniqueId();
  const back = rt.env.ECHO.idFromString(id.toString().toUpperCase());
  assert.ok(back.equals(id));
  assert.equal(back.toString(), id.toString());
});

test('idFromString rejects malformed strings', (t) => {
  const rt = runtime(t);
  for (const bad of ['', 'abc', 'z'.repeat(64), 'a'.repeat(63), 42]) {
    assert.throws(() => rt.env.ECHO.idFromString(bad), {
      name: 'TypeError',
      message: 'Invalid Durable Object ID: must be 64 hex digits',
    });
  }
});

test('idFromString rejects ids of another namespace', (t) => {
  const rt = runtime(t, { durableObjects: { ECHO: 'Echo', OTHER: { className: 'Echo', uniqueKey: 'other' } } });
  const foreign = rt.env.OTHER.idFromName('x').toString();
  assert.throws(() => rt.env.ECHO.idFromString(foreign), {
    name: 'TypeError',
    message: 'Durable Object ID is not valid for this namespace.',
  });
});

test('get() rejects an id made by another namespace', (t) => {
  const rt = runtime(t, { durableObjects: { ECHO: 'Echo', OTHER: { className: 'Echo', uniqueKey: 'other' } } });
  assert.throws(() => rt.env.ECHO.get(rt.env.OTHER.idFromName('x')), {
    name: 'TypeError',
    message: 'Durable Object ID is not valid for this namespace.',
  });
  assert.throws(() => rt.env.ECHO.get('not an id'), TypeError);
});

test('aliases of one uniqueKey are one namespace', async (t) => {
  const rt = runtime(t, { durableObjects: { ECHO: 'Echo', ALIAS: { className: 'Echo', uniqueKey: 'Echo' } } });
  await rt.env.ECHO.getByName('shared').inc();
  assert.equal(await rt.env.ALIAS.getByName('shared').inc(), 2);
  assert.ok(rt.env.ALIAS.get(rt.env.ECHO.idFromName('y')));
});

test('jurisdictions and location hints are refused', (t) => {
  const rt = runtime(t);
  assert.throws(() => rt.env.ECHO.jurisdiction('eu'), {
    message: 'Jurisdiction restrictions are not implemented in durable-facets.',
  });
  assert.throws(() => rt.env.ECHO.newUniqueId({ jurisdiction: 'eu' }), /Jurisdiction restrictions/);
  assert.throws(() => rt.env.ECHO.getByName('x', { locationHint: 'wnam' }), {
    message: 'Location hints are not implemented in durable-facets.',
  });
});
