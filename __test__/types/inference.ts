// `rt.env` inferred from the Runtime options (no type arguments): namespace bindings and vars
// are typed, a misspelt binding is a compile error; and an `Env` written with
// @cloudflare/workers-types' types (string-keyed brands, its own namespace type) is accepted.
import { Runtime, DurableObject, type DurableObjectNamespace, type DurableObjectStub, type RuntimeEnv } from '../../index.js';
import { assertType, type Equals } from './expect.js';

const rt = new Runtime({
  main: './worker.ts',
  durableObjects: { ROOMS: 'Room', LOBBIES: { className: 'Lobby', uniqueKey: 'Lobby' } },
  classes: { CHAT: { className: 'Chat' } },
  vars: { X: 1, GREETING: 'hi', LIMITS: { max: 3 } },
  workerLoaders: ['LOADER'],
});

// Namespaces: main's module type is not declared in this project (see MainModule), so the
// classes are unknown and stubs are untyped, as Cloudflare's `DurableObjectNamespace`.
assertType<Equals<typeof rt.env.ROOMS, DurableObjectNamespace<undefined>>>();
assertType<Equals<typeof rt.env.LOBBIES, DurableObjectNamespace<undefined>>>();
const res: Response = await rt.env.ROOMS.getByName('a').fetch('https://room/');
void res;
// Vars keep their literal types (as `wrangler types` writes them).
assertType<Equals<typeof rt.env.X, 1>>();
assertType<Equals<typeof rt.env.GREETING, 'hi'>>();
const max: 3 = rt.env.LIMITS.max;
void max;

// @ts-expect-error ROOMZ is not a binding of these options
void rt.env.ROOMZ;
// @ts-expect-error class bindings are not in rt.env
void rt.env.CHAT;
// @ts-expect-error worker loaders are not in rt.env
void rt.env.LOADER;
// @ts-expect-error rt.env is read-only
rt.env.X = 2;

await rt.inspect('ROOMS', 'a');
await rt.listIds('LOBBIES');
// @ts-expect-error a var is not a namespace
await rt.inspect('GREETING', 'a');
// @ts-expect-error not a binding at all
await rt.inspect('ROOMZ', 'a');

// No bindings: an empty env.
const bare = new Runtime({ main: './worker.ts' });
// @ts-expect-error nothing is bound
void bare.env.ROOMS;

// RuntimeEnv is the inferred type.
type Inferred = RuntimeEnv<{ main: string; durableObjects: { A: 'A' }; vars: { V: true } }>;
assertType<Equals<Inferred['V'], true>>();
assertType<Equals<keyof Inferred, 'A' | 'V'>>();

// Misspelt option keys still fail, at every level checked before inference existed.
// @ts-expect-error unknown option (durableObject)
new Runtime({ main: './w.ts', durableObject: { ROOMS: 'Room' } });
// @ts-expect-error unknown field of a class binding
new Runtime({ main: './w.ts', classes: { CHAT: { className: 'Chat', modul: './x.ts' } } });

// ---------------------------------------------------------------------------------------------
// Types shaped like @cloudflare/workers-types: its `DurableObject` is branded with the string
// key "__DURABLE_OBJECT_BRAND", its namespace is its own class.
// ---------------------------------------------------------------------------------------------

declare abstract class ForeignDurableObject {
  __DURABLE_OBJECT_BRAND: never;
}
declare class ForeignRoom extends ForeignDurableObject {
  join(name: string): string[];
}
declare abstract class ForeignNamespace<T extends { __DURABLE_OBJECT_BRAND: never } | undefined = undefined> {
  newUniqueId(options?: { jurisdiction?: string }): { toString(): string };
  idFromName(name: string): { toString(): string };
  idFromString(id: string): { toString(): string };
  get(id: { toString(): string }): { fetch(url: string): Promise<Response>; readonly __t?: T };
  getByName(name: string): { fetch(url: string): Promise<Response>; readonly __t?: T };
  jurisdiction(j: string): ForeignNamespace<T>;
}

type ForeignEnv = { ROOMS: ForeignNamespace<ForeignRoom>; GREETING: string };
const foreign = new Runtime<ForeignEnv>({ main: './worker.ts', durableObjects: { ROOMS: 'Room' } });
// Was `never` (not one of this package's namespaces): accepted by shape.
await foreign.inspect('ROOMS', 'a');
await foreign.listIds('ROOMS');
// @ts-expect-error a var is not a namespace, whichever package typed Env
await foreign.inspect('GREETING', 'a');

// A class branded by workers-types types this package's namespaces and stubs.
const typed = {} as DurableObjectNamespace<ForeignRoom>;
const members = await typed.getByName('a').join('ann');
assertType<Equals<typeof members, string[]>>();
const stub: DurableObjectStub<ForeignRoom> = typed.getByName('b');
// @ts-expect-error the brand is not an RPC method
void stub.__DURABLE_OBJECT_BRAND;

// And this package's classes carry the same brand as workers-types' ones.
class LocalRoom extends DurableObject {
  hello(): string {
    return 'hi';
  }
}
const asForeign: ForeignNamespace<LocalRoom> | undefined = undefined;
void asForeign;
