// The Worker's entry point (SPEC §2.3): a default export typed as for Cloudflare, and the
// main thread's rt.fetch / rt.entrypoint / rt.listen.
import {
  DurableObject,
  Runtime,
  WorkerEntrypoint,
  type DurableObjectNamespace,
  type ExecutionContext,
  type ExportedHandler,
  type ListenOptions,
  type RuntimeListener,
  type WorkerEntrypointStub,
} from '../../index.js';
import { assertType, type Equals } from './expect.js';

interface EntryEnv {
  COUNTERS: DurableObjectNamespace<Counter>;
  GREETING: string;
}

export class Counter extends DurableObject<EntryEnv> {
  n = 0;
  increment(by = 1): number {
    return (this.n += by);
  }
}

/** The class form: this.env, this.ctx, and RPC methods. */
export class Front extends WorkerEntrypoint<EntryEnv> {
  override async fetch(request: Request): Promise<Response> {
    const n = await this.env.COUNTERS.getByName(new URL(request.url).pathname).increment();
    assertType<Equals<typeof n, number>>();
    this.ctx.waitUntil(Promise.resolve(n));
    this.ctx.passThroughOnException();
    return Response.json({ n, greeting: this.env.GREETING });
  }

  add(a: number, b: number): number {
    return a + b;
  }

  async greet(name: string): Promise<string> {
    return `${this.env.GREETING} ${name}`;
  }
}

/** The object form, checked with `satisfies` as in Cloudflare's templates. */
export const handler = {
  async fetch(request, env, ctx) {
    assertType<Equals<typeof request, Request>>();
    assertType<Equals<typeof env, EntryEnv>>();
    assertType<Equals<typeof ctx, ExecutionContext>>();
    ctx.waitUntil(Promise.resolve());
    return new Response(await env.COUNTERS.getByName('a').increment(2).then(String));
  },
} satisfies ExportedHandler<EntryEnv>;

// @ts-expect-error fetch must return a Response
export const wrong = { fetch: () => 'text' } satisfies ExportedHandler<EntryEnv>;

const rt = new Runtime<{ COUNTERS: DurableObjectNamespace<Counter> }, Front>({
  main: './entry.mjs',
  durableObjects: { COUNTERS: 'Counter' },
});

// rt.fetch: a Response, whatever the input form.
const r1: Response = await rt.fetch('http://app/');
const r2 = await rt.fetch(new URL('http://app/'), { method: 'POST', body: 'x' });
const r3 = await rt.fetch(new Request('http://app/'));
assertType<Equals<typeof r2, Response>>();
void r1, r3;
// @ts-expect-error rt.fetch needs an input
void rt.fetch();

// rt.entrypoint: typed RPC methods of the WorkerEntrypoint type argument.
assertType<Equals<typeof rt.entrypoint, WorkerEntrypointStub<Front>>>();
const sum = await rt.entrypoint.add(1, 2);
assertType<Equals<typeof sum, number>>();
const greeting = await rt.entrypoint.greet('bob');
assertType<Equals<typeof greeting, string>>();
const viaStub: Response = await rt.entrypoint.fetch('http://app/');
void viaStub;
// @ts-expect-error wrong argument type
void rt.entrypoint.add('1', 2);
// @ts-expect-error not a method of Front
void rt.entrypoint.missing();
// @ts-expect-error fields and ctx are not RPC methods
void rt.entrypoint.env;

// Untyped: fetch only.
const plain = new Runtime({ main: './entry.mjs' });
const plainRes: Response = await plain.entrypoint.fetch('http://app/');
void plainRes;
// @ts-expect-error without an Entry type argument, no RPC methods are known
void plain.entrypoint.add(1, 2);

// rt.listen: options and the listener.
const options: ListenOptions = { port: 0, hostname: '127.0.0.1' };
const listener = await rt.listen(options);
assertType<Equals<typeof listener, RuntimeListener>>();
const url: string = listener.url;
const port: number = listener.port;
await listener.close();
await rt.listen();
await rt.listen({ port: 8787 });
// @ts-expect-error port is a number
await rt.listen({ port: '8787' });
// @ts-expect-error unknown option
await rt.listen({ host: 'localhost' });
// @ts-expect-error the listener's fields are read-only
listener.port = 1;
void url, port;

/** `ctx.exports` of a module with a named entry point and a default handler object. */
interface EntryModule {
  Counter: typeof Counter;
  Front: typeof Front;
  default: { fetch(request: Request): Promise<Response> };
  helper: (x: number) => number;
}
declare const loopbacks: import('../../index.js').ExportsOf<EntryModule>;
// Each entry point is a service stub: its RPC methods return promises of their results.
assertType<Equals<keyof typeof loopbacks, 'Counter' | 'Front' | 'default'>>();
export const viaDefault: Promise<Response> = loopbacks.default.fetch('https://app/');
export const viaFront: Promise<Response> = loopbacks.Front.fetch('https://app/');
// @ts-expect-error a plain function export is not an entry point
loopbacks.helper;
export const added: Promise<number> = loopbacks.Front.add(1, 2);
// Callable with props, as workerd's loopbacks: the same stub type.
export const scoped: Promise<number> = loopbacks.Front({ props: { user: 'zoë' } }).add(1, 2);
