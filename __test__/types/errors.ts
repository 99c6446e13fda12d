// Misuse that must not type-check: each `@ts-expect-error` below must really be an error
// (tsc reports an unused one).
import { DurableObject, DurableObjectId, DurableObjectNamespace, Runtime, type DurableObjectClass } from '../../index.js';
import type { Chat, Env, Room } from './worker.js';

export class Misuse extends DurableObject<Env> {
  getSecondArgument(): void {
    // @ts-expect-error a string is not startup options
    this.ctx.facets.get('a', 'Chat');
    // @ts-expect-error options without `class`
    this.ctx.facets.get('b', { id: 'x' });
    // @ts-expect-error a plain object is not a DurableObjectClass
    this.ctx.facets.get('c', { class: {} });
    // @ts-expect-error nor is a function
    this.ctx.facets.get('d', { class: () => {} });
    // @ts-expect-error a namespace binding is not a facet class
    this.ctx.facets.get('e', { class: this.env.ROOMS });
    // @ts-expect-error a callback must return startup options
    this.ctx.facets.get('f', () => ({ klass: this.env.CHAT }));
    // @ts-expect-error a callback returning a non-class
    this.ctx.facets.get('g', async () => ({ class: 'Chat' }));
    // @ts-expect-error the id is a string or a DurableObjectId
    this.ctx.facets.get('h', { class: this.env.CHAT, id: 42 });
    // @ts-expect-error the second argument is required
    this.ctx.facets.get('i');
  }

  facetNames(): void {
    // @ts-expect-error a facet name is a string
    this.ctx.facets.get(1, { class: this.env.CHAT });
    // @ts-expect-error a facet name is a string
    this.ctx.facets.get(1, () => ({ class: this.env.CHAT }));
    // @ts-expect-error a facet name is a string
    this.ctx.facets.abort(2, 'reason');
    // @ts-expect-error a facet name is a string
    this.ctx.facets.delete(3);
    // @ts-expect-error a facet name is a string
    this.ctx.facets.clone('a', 4);
    // @ts-expect-error list() returns names, not numbers
    const n: number[] = this.ctx.facets.list();
    void n;
  }

  async typedStubs(): Promise<void> {
    const chat = this.ctx.facets.get('chat', () => ({ class: this.env.CHAT }));
    // @ts-expect-error Chat has no such method
    await chat.nope();
    // @ts-expect-error wrong argument type
    await chat.post(1, 'text');
    // @ts-expect-error the result is a Promise, not a number
    const n: number = chat.post('a', 'b');
    void n;
    // @ts-expect-error facet stubs have no id
    void chat.id;
    // @ts-expect-error facet stubs have no dup()
    chat.dup();

    const room = this.env.ROOMS.getByName('lobby');
    // @ts-expect-error Room has no such method
    await room.leave('alice');
    // @ts-expect-error fields are not RPC methods
    await room.members;
    // @ts-expect-error private methods are not RPC methods
    await room.chat();
    // @ts-expect-error alarm is a reserved name
    await room.alarm();
    // @ts-expect-error join takes a string
    await room.join(42);
    // @ts-expect-error getByName takes a string
    this.env.ROOMS.getByName(1);
    // @ts-expect-error get takes a DurableObjectId
    this.env.ROOMS.get('lobby');
    // @ts-expect-error a plain object is not a DurableObjectId
    this.env.ROOMS.get({ toString: () => 'x', equals: () => false });
  }

  storageMisuse(): void {
    // @ts-expect-error rows hold SQL values only
    this.ctx.storage.sql.exec<{ when: Date }>('SELECT 1');
    // @ts-expect-error the column is `n`
    void this.ctx.storage.sql.exec<{ n: number }>('SELECT 1 AS n').one().m;
    // @ts-expect-error kv.delete is synchronous and returns a boolean
    const p: Promise<boolean> = this.ctx.storage.kv.delete('k');
    void p;
    // @ts-expect-error setAlarm takes a number or a Date
    void this.ctx.storage.setAlarm('tomorrow');
    // @ts-expect-error list options: limit is a number
    void this.ctx.storage.list({ limit: '10' });
    // @ts-expect-error databaseSize is a property, not a method
    this.ctx.storage.sql.getDatabaseSize();
  }
}

// Classes and ids cannot be forged.
// @ts-expect-error DurableObjectClass is opaque
const forged: DurableObjectClass<Chat> = {};
void forged;
// @ts-expect-error DurableObjectId is not constructible
new DurableObjectId();
// @ts-expect-error DurableObjectNamespace is not constructible
new DurableObjectNamespace();
// @ts-expect-error DurableObject is abstract
new DurableObject({} as never, {});
// @ts-expect-error a namespace's type argument must be a DurableObject class
type NotAnObject = DurableObjectNamespace<{ join(): void }>;

// Runtime options.
// @ts-expect-error `main` is required
new Runtime({});
// @ts-expect-error warmThreads is a number
new Runtime({ main: './w.mjs', warmThreads: '2' });
// @ts-expect-error unknown option
new Runtime({ main: './w.mjs', warmthreads: 2 });
// @ts-expect-error facetFailure is "object" or "isolate"
new Runtime({ main: './w.mjs', facetFailure: 'restart' });
// @ts-expect-error synchronous is "normal" or "full"
new Runtime({ main: './w.mjs', synchronous: 'off' });
// @ts-expect-error a namespace binding needs a className
new Runtime({ main: './w.mjs', durableObjects: { ROOMS: { uniqueKey: 'Room' } } });
// @ts-expect-error unknown field of a namespace binding
new Runtime({ main: './w.mjs', durableObjects: { ROOMS: { className: 'Room', class: 'Room' } } });
// @ts-expect-error a class binding is an object, not a name
new Runtime({ main: './w.mjs', classes: { CHAT: 'Chat' } });
// @ts-expect-error workerLoaders is a list of names
new Runtime({ main: './w.mjs', workerLoaders: 'LOADER' });
// @ts-expect-error main is a path or a URL
new Runtime({ main: 42 });

const rt = new Runtime<{ ROOMS: DurableObjectNamespace<Room>; GREETING: string }>({ main: './w.mjs' });
// @ts-expect-error no such binding
rt.env.CHATS;
// @ts-expect-error env is read-only
rt.env.GREETING = 'bye';
// @ts-expect-error Room has no such method
await rt.env.ROOMS.getByName('lobby').leave('alice');
// @ts-expect-error inspect() takes a namespace binding
await rt.inspect('GREETING', 'lobby');
// @ts-expect-error inspect() takes a namespace binding
await rt.listIds('NOPE');
// @ts-expect-error inspect() takes an id or a name
await rt.inspect('ROOMS', 42);
// @ts-expect-error dispose takes no callback
await rt.dispose(() => {});

// Error codes are a closed union: a typo in a comparison is caught.
import type { DurableFacetsErrorCode } from '../../index.js';
export function isFacetGone(code: DurableFacetsErrorCode): boolean {
  const known: DurableFacetsErrorCode = 'ERR_DO_FACET_DELETED';
  // @ts-expect-error not a code of durable-facets
  const typo: DurableFacetsErrorCode = 'ERR_DO_FACET_DELETD';
  return code === known || code === typo;
}
