// Typical main-thread code: a Runtime with a typed env.
import {
  DurableObjectId,
  DurableObjectNamespace,
  Runtime,
  type DurableObjectStub,
  type FacetInfo,
  type InspectResult,
  type RuntimeOptions,
} from '../../index.js';
import { assertType, type Equals } from './expect.js';
import type { Room } from './worker.js';

type MainEnv = {
  ROOMS: DurableObjectNamespace<Room>;
  LOBBIES: DurableObjectNamespace<Room>;
  GREETING: string;
};

// Every option of lib/options.js.
const options: RuntimeOptions = {
  main: new URL('./worker.mjs', import.meta.url),
  durableObjects: {
    ROOMS: 'Room',
    LOBBIES: { className: 'Room', uniqueKey: 'Room', facetFailure: 'isolate' },
  },
  classes: {
    CHAT: { className: 'Chat' },
    EDITOR: { module: './editor.mjs', className: 'Editor', props: { lang: 'en' } },
    REMOTE: { module: new URL('file:///srv/remote.mjs'), className: 'Remote' },
  },
  vars: { GREETING: 'hi', LIMITS: { max: 3 } },
  workerLoaders: ['LOADER'],
  storage: './data',
  idleTimeoutMs: 10_000,
  maxRunningFacets: 64,
  warmThreads: 2,
  facetFailure: 'object',
  synchronous: 'full',
  alarmRetryBaseMs: 1000,
  cpuTimeoutMs: 5000,
};

const rt = new Runtime<MainEnv>(options);

// Typed stubs: RPC methods return Promises of their results.
const lobby = rt.env.ROOMS.getByName('lobby');
assertType<Equals<typeof lobby, DurableObjectStub<Room>>>();
const members = await lobby.join('alice');
assertType<Equals<typeof members, string[]>>();
const count = await rt.env.LOBBIES.get(rt.env.LOBBIES.idFromName('x')).count();
assertType<Equals<typeof count, number>>();
const said: number = await lobby.say('alice', 'hi');
void said;

// Stub members.
const id: DurableObjectId = lobby.id;
const name: string | undefined = lobby.name;
const same: DurableObjectStub<Room> = lobby.dup();
lobby[Symbol.dispose]();
const res: Response = await lobby.fetch('https://room/');
const res2: Response = await lobby.fetch(new Request('https://room/', { method: 'POST', body: 'x' }));
void id, name, same, res, res2;

// Ids and namespaces.
const unique = rt.env.ROOMS.newUniqueId();
const parsed = rt.env.ROOMS.idFromString(unique.toString());
const equal: boolean = parsed.equals(unique);
void equal;
if (rt.env.ROOMS instanceof DurableObjectNamespace) void 0;
if ((lobby.id as unknown) instanceof DurableObjectId) void 0;

// Vars.
const greeting: string = rt.env.GREETING;
void greeting;

// Untyped namespaces: stubs only have fetch/id/name (as on Cloudflare).
const untyped = new Runtime<{ THINGS: DurableObjectNamespace }>({ main: './things.mjs', durableObjects: { THINGS: 'Thing' } });
const thing = untyped.env.THINGS.getByName('t');
await thing.fetch('https://thing/');
await untyped.dispose();

// Options typed RuntimeOptions (keys unknown to the compiler): anything, unknown.
const loose = new Runtime(options);
assertType<Equals<typeof loose.env, Readonly<Record<string, unknown>>>>();
await loose.inspect('ANY', 'name');

// Explicit Env, as before inference: anything, unknown by default.
const explicit = new Runtime<Record<string, unknown>>({ main: 'file:///srv/worker.mjs' });
await explicit.inspect('ANY', 'name');

// Inspection.
const info = await rt.inspect('ROOMS', 'lobby');
assertType<Equals<typeof info, InspectResult>>();
const root: FacetInfo | undefined = info.facets[0];
if (root) {
  const facetId: number | null = root.facetId;
  const size: number = root.databaseSize;
  const running: boolean = root.running;
  const full: string = root.name;
  void facetId, size, running, full;
}
await rt.inspect('LOBBIES', rt.env.LOBBIES.idFromName('lobby'));
const ids = await rt.listIds('ROOMS');
assertType<Equals<typeof ids, string[]>>();

// Disposal.
await rt[Symbol.asyncDispose]();
const disposed: Promise<void> = rt.dispose();
await disposed;
