// Type test of testing.d.ts (`durable-facets/testing`).
import { DurableObjectId, DurableObjectNamespace, type DurableObjectState, type DurableObjectStub } from '../../index.js';
import { evictDurableObject, listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from '../../testing.js';
import { assertType, type Equals } from './expect.js';
import type { Room } from './worker.js';

declare const rooms: DurableObjectNamespace<Room>;
declare const untyped: DurableObjectNamespace;
const room = rooms.getByName('lobby');

// The instance and ctx are typed from the stub; the result is awaited.
const count = await runInDurableObject(room, async (instance, ctx) => {
  assertType<Equals<typeof instance, Room>>();
  assertType<Equals<typeof ctx, DurableObjectState>>();
  return 1;
});
assertType<Equals<typeof count, number>>();

// Extra arguments are typed against the callback's parameters.
const echoed = await runInDurableObject(room, (_instance, _ctx, a: string, b: number) => `${a}${b}`, 'x', 1);
assertType<Equals<typeof echoed, string>>();
// @ts-expect-error: the argument does not match the callback's parameter
await runInDurableObject(room, (_instance, _ctx, a: string) => a, 1);

// An untyped stub gives `any`, or the class given explicitly.
await runInDurableObject(untyped.getByName('x'), (instance) => instance.anything);
const named = await runInDurableObject<Room, string>(untyped.getByName('x') as DurableObjectStub<Room>, (instance) => instance.constructor.name);
assertType<Equals<typeof named, string>>();

const ran = await runDurableObjectAlarm(room);
assertType<Equals<typeof ran, boolean>>();
await runDurableObjectAlarm(untyped.getByName('x'));
// @ts-expect-error: a namespace is not a stub
await runDurableObjectAlarm(rooms);

const ids = await listDurableObjectIds(rooms);
assertType<Equals<typeof ids, DurableObjectId[]>>();
await listDurableObjectIds(untyped);
// @ts-expect-error: a stub is not a namespace
await listDurableObjectIds(room);

const evicted = await evictDurableObject(room);
assertType<Equals<typeof evicted, void>>();
// @ts-expect-error: a callback is required
await runInDurableObject(room);
