// Public typings of durable-facets, shaped like @cloudflare/workers-types (workerd's
// `types/generated-snapshot/index.d.ts` and `types/defines/rpc.d.ts`), plus the runtime's own
// types (`Runtime`, `RuntimeOptions`, `InspectResult`, …). The napi-generated declarations in
// lib/native/ are internal.
//
// Where durable-facets goes beyond Cloudflare (facets.get() with an options object,
// facets.list(), Runtime), the additions are marked "durable-facets:". Where Cloudflare's API
// is typed but not supported here, the JSDoc says what happens at run time.
//
// Request, Response and RequestInit come from the `DOM` lib or from `@types/node`.
// TypeScript code that imports from "cloudflare:workers" (as the runtime's threads allow) gets
// that module, and Cloudflare's global names, from `"types": ["durable-facets/globals"]`
// (globals.d.ts), or can map the specifier to these typings:
// `"paths": { "cloudflare:workers": ["./node_modules/durable-facets/index.d.ts"] }`.

// ---------------------------------------------------------------------------------------------
// Brands and helpers (not exported: see the `export {}` at the end of this file)
// ---------------------------------------------------------------------------------------------

// The brands are the string keys @cloudflare/workers-types uses (`Rpc.DurableObjectBranded` is
// `{ "__DURABLE_OBJECT_BRAND": never }`): a class typed against either package is branded for
// both, so `DurableObjectNamespace<Room>` accepts a `Room` extending workers-types'
// `DurableObject`, and these typings accept an `Env` written with workers-types' namespaces.
declare const __DURABLE_OBJECT_BRAND: '__DURABLE_OBJECT_BRAND';
declare const __RPC_TARGET_BRAND: '__RPC_TARGET_BRAND';
declare const __WORKER_ENTRYPOINT_BRAND: '__WORKER_ENTRYPOINT_BRAND';
declare const __DURABLE_OBJECT_CLASS_BRAND: unique symbol;

/** Carries a `DurableObjectClass`'s type argument without constraining assignability. */
interface DurableObjectClassTag<_T> {
  readonly durableObjectClass: true;
}


/** Names a stub never forwards as RPC: its own members and the reserved handler names. */
type ReservedRpcName =
  | 'constructor'
  | 'fetch'
  | 'alarm'
  | 'dup'
  | 'then'
  | 'id'
  | 'name'
  | `webSocket${string}`
  | `__${string}_BRAND`;

/** True for `any`. */
type IsAny<T> = 0 extends 1 & T ? true : false;

// `Symbol.dispose` / `Symbol.asyncDispose` as declared by lib `esnext.disposable` and by
// `@types/node`, so these typings also work with `lib: ["ES2022"]`. (Merges with both.)
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
    readonly asyncDispose: unique symbol;
  }
}

// ---------------------------------------------------------------------------------------------
// Base classes (values: exported by index.js; "cloudflare:workers" maps to them in the runtime)
// ---------------------------------------------------------------------------------------------

/** Brand of `DurableObject` subclasses: what a typed namespace, stub or class refers to. */
export interface DurableObjectBranded {
  [__DURABLE_OBJECT_BRAND]: never;
}

/** Brand of `RpcTarget` subclasses. */
export interface RpcTargetBranded {
  [__RPC_TARGET_BRAND]: never;
}

/** Brand of `WorkerEntrypoint` subclasses. */
export interface WorkerEntrypointBranded {
  [__WORKER_ENTRYPOINT_BRAND]: never;
}

/**
 * Base class of Durable Objects: `class Room extends DurableObject<Env> { … }`. Every public
 * method can be called over RPC through a stub, except `constructor`, `fetch`, `alarm`, `dup`
 * and `webSocket*`.
 * @typeParam Env the type of `this.env` (namespaces, class bindings, vars, worker loaders)
 * @typeParam Props the type of `this.ctx.props`
 */
export declare abstract class DurableObject<Env = unknown, Props = {}> implements DurableObjectBranded {
  [__DURABLE_OBJECT_BRAND]: never;
  /** The instance's state: id, storage, facets, exports, props. */
  protected ctx: DurableObjectState<Props>;
  /** The bindings of this instance. */
  protected env: Env;
  constructor(ctx: DurableObjectState, env: Env);
  /** Handles `stub.fetch(request)`. Without it, `stub.fetch()` rejects. */
  fetch?(request: Request): Response | Promise<Response>;
  /** Runs when the alarm set by `ctx.storage.setAlarm()` fires (root objects only). */
  alarm?(alarmInfo?: AlarmInvocationInfo): void | Promise<void>;
  /**
   * A message on a socket accepted with `ctx.acceptWebSocket()`: a string for a text frame,
   * an ArrayBuffer for a binary one. Runs on a new instance if the object was evicted.
   */
  webSocketMessage?(ws: WebSocket, message: string | ArrayBuffer): void | Promise<void>;
  /**
   * The peer closed a socket accepted with `ctx.acceptWebSocket()` (`wasClean` false and code
   * 1006 when it went away without a Close frame). Call `ws.close()` to answer it.
   */
  webSocketClose?(ws: WebSocket, code: number, reason: string, wasClean: boolean): void | Promise<void>;
  /** An error on a socket accepted with `ctx.acceptWebSocket()`. */
  webSocketError?(ws: WebSocket, error: unknown): void | Promise<void>;
}

/**
 * Base class of objects passed by reference over RPC (SPEC §2.2): an instance inside an
 * argument or result arrives as a stub (`Rpc.Stub<T>`) whose method calls run where the
 * instance lives. Its prototype methods and getters are reachable, its own fields are not.
 * `[Symbol.dispose]()`, when defined, runs once the last reference to it was let go.
 */
export declare abstract class RpcTarget implements RpcTargetBranded {
  [__RPC_TARGET_BRAND]: never;
}

/** Types of values crossing threads by reference (shaped like `@cloudflare/workers-types`). */
export declare namespace Rpc {
  /** What travels by reference: functions and RpcTarget instances (stubs of them too). */
  type Stubable = RpcTargetBranded | ((...args: any[]) => any);

  /** Members every stub of a reference has. */
  interface StubBase<T extends Stubable> {
    /** Another handle of the same reference; each handle is disposed on its own. */
    dup(): Stub<T>;
    /** Lets go of the reference (later calls reject: `RPC stub used after being disposed.`). */
    [Symbol.dispose](): void;
  }

  /** A stub of a function (callable) or of an RpcTarget (its methods). */
  type Stub<T extends Stubable> = Provider<T> & StubBase<T>;

  /** The RPC methods of `T`: each returns a pipelinable `Result` of its awaited result. */
  type Methods<T> = RpcMethods<T>;

  /** What a stub of `T` offers: a call for a function, methods for an RpcTarget. */
  type Provider<T> = (T extends (...args: infer A) => infer R ? (...args: A) => Result<Awaited<R>> : unknown) &
    (T extends RpcTargetBranded ? Methods<T> : unknown);

  /**
   * The promise of a call's result, which is also a stub of that result (promise
   * pipelining): `stub.counter("a").increment()` sends the second call at once.
   */
  type Result<R> = Promise<Stubify<R>> & (R extends Stubable ? Provider<R> : unknown);

  /** A value as the receiver gets it: functions and RpcTargets inside it become stubs. */
  type Stubify<T> = T extends Stubable
    ? Stub<T>
    : T extends
          | Date
          | RegExp
          | Error
          | ArrayBuffer
          | ArrayBufferView
          | Map<any, any>
          | Set<any>
          | DurableObjectId
          | string
          | number
          | bigint
          | boolean
          | null
          | undefined
      ? T
      : T extends object
        ? { [K in keyof T]: Stubify<T[K]> }
        : T;
}

/**
 * The `ctx` of one event of the entry point (as typed by Cloudflare): `this.ctx` of a
 * `WorkerEntrypoint`, the third argument of an `ExportedHandler`'s `fetch`.
 */
export interface ExecutionContext<Props = unknown> {
  /** Keeps the entry point running (not evicted when idle) until `promise` settles; a rejection is logged. */
  waitUntil(promise: Promise<unknown>): void;
  /** Accepted; does nothing (there is no origin to pass a failed request through to). */
  passThroughOnException(): void;
  /** Always `{}` for the entry point served by `rt.fetch()` / `rt.listen()`. */
  readonly props: Props;
  /**
   * Loopback bindings of `main`'s exports, as `DurableObjectState.exports`: Durable Object
   * classes, and one service stub per exported entry point (`default`, named
   * `WorkerEntrypoint` classes).
   */
  readonly exports: CtxExports;
}

/**
 * Base class of stateless entry points: `export default class extends WorkerEntrypoint<Env>`
 * in `main` serves `rt.fetch()`, `rt.listen()` and (its public methods) `rt.entrypoint`. As on
 * workerd, each event (a request, an RPC call) gets a new instance.
 */
export declare abstract class WorkerEntrypoint<Env = unknown, Props = {}> implements WorkerEntrypointBranded {
  [__WORKER_ENTRYPOINT_BRAND]: never;
  /** This event's context: `waitUntil`, `passThroughOnException`, `props`. */
  protected ctx: ExecutionContext<Props>;
  /** The bindings: the same object as `this.env` of the objects on this thread. */
  protected env: Env;
  constructor(ctx: ExecutionContext, env: Env);
  /** Handles `rt.fetch()` and the requests of `rt.listen()`. */
  fetch?(request: Request): Response | Promise<Response>;
}

/** The `fetch` of an object default export: `(request, env, ctx)`. */
export type ExportedHandlerFetchHandler<Env = unknown> = (
  request: Request,
  env: Env,
  ctx: ExecutionContext,
) => Response | Promise<Response>;

/**
 * An object default export of `main` (as typed by Cloudflare):
 * `export default { async fetch(request, env, ctx) { … } } satisfies ExportedHandler<Env>`.
 * Only `fetch` is called by durable-facets.
 */
export interface ExportedHandler<Env = unknown> {
  fetch?: ExportedHandlerFetchHandler<Env>;
}

declare global {
  /** As in @cloudflare/workers-types: augment `Cloudflare.Env` to type the importable `env`. */
  namespace Cloudflare {
    interface Env {}
    /**
     * As in @cloudflare/workers-types (and as `durable-facets types` writes it): declare
     * `mainModule: typeof import("./worker.ts")` (and `durableNamespaces: "Room" | …`, the
     * classes with a namespace binding) to type `ctx.exports` and what `new Runtime(options)`
     * infers for `rt.env`.
     */
    interface GlobalProps {}
  }
}

/**
 * The environment of the code's own worker, as `import { env } from "cloudflare:workers"`:
 * for `main` and `classes` modules the same object as `this.env` of the instances on that
 * thread (already set while modules are evaluated); for loader code the `env` its loader was
 * given. `undefined` outside the runtime's threads (on the user's main thread).
 */
export declare const env: Cloudflare.Env;

// ---------------------------------------------------------------------------------------------
// Ids, namespaces, stubs
// ---------------------------------------------------------------------------------------------

/**
 * The id of one object: 64 lowercase hex digits, derived exactly as workerd derives them.
 * Made by a namespace (`idFromName`, `newUniqueId`, `idFromString`); not constructible.
 */
export declare abstract class DurableObjectId {
  #private;
  /** The id as 64 lowercase hex digits. */
  toString(): string;
  /** True if `other` is the same id. */
  equals(other: DurableObjectId): boolean;
  /** The name, for ids made by `idFromName()` / `getByName()`. */
  readonly name?: string;
  /** Always `undefined`: jurisdictions are not implemented. */
  readonly jurisdiction?: string;
}

/** Cloudflare's jurisdictions (not implemented: using one throws). */
export type DurableObjectJurisdiction = 'eu' | 'fedramp' | 'fedramp-high' | 'us';

/** Cloudflare's location hints (not implemented: passing one throws). */
export type DurableObjectLocationHint = 'wnam' | 'enam' | 'sam' | 'weur' | 'eeur' | 'apac' | 'oc' | 'afr' | 'me';

/** Options of `newUniqueId()`. */
export interface DurableObjectNamespaceNewUniqueIdOptions {
  /** Not implemented: throws `Error: Jurisdiction restrictions are not implemented in durable-facets.` */
  jurisdiction?: DurableObjectJurisdiction;
}

/** Options of `get()` / `getByName()`. */
export interface DurableObjectNamespaceGetDurableObjectOptions {
  /** Not implemented: throws `Error: Location hints are not implemented in durable-facets.` */
  locationHint?: DurableObjectLocationHint;
  /** Accepted and ignored (there is one location). */
  routingMode?: 'primary-only';
}

/**
 * The RPC methods of `T` as seen through a stub: each public method returns a Promise of its
 * (awaited) result, which is also a stub of it (`Rpc.Result`). Fields, getters and reserved names (`constructor`, `fetch`, `alarm`, `dup`,
 * `then`, `id`, `name`, `webSocket*`) are left out.
 */
export type RpcMethods<T> = {
  [K in keyof T as K extends ReservedRpcName
    ? never
    : K extends string
      ? T[K] extends (...args: any[]) => any
        ? K
        : never
      : never]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Rpc.Result<Awaited<R>> : never;
};

/**
 * Something that accepts `fetch()`; with a `DurableObject` type argument, also its RPC methods.
 * (Cloudflare's `Fetcher`, without `connect()`.)
 */
export type Fetcher<T extends DurableObjectBranded | undefined = undefined> = (IsAny<T> extends true
  ? unknown
  : T extends DurableObjectBranded
    ? RpcMethods<T>
    : unknown) & {
  /** Delivers a request to the object's `fetch()` handler (bodies stream both ways, no size limit). */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<FetchResponse>;
};

/**
 * A stub for one object of a namespace: `stub.method(...args)` returns a Promise. Calls made
 * through one stub arrive in order. `stub.then` is `undefined`, so stubs can be awaited and
 * returned from async functions.
 */
export type DurableObjectStub<T extends DurableObjectBranded | undefined = undefined> = Fetcher<T> & {
  /** The object's id. */
  readonly id: DurableObjectId;
  /** The name, for stubs made from a name. */
  readonly name?: string;
  /** Returns this stub (stubs need no duplication here). */
  dup(): DurableObjectStub<T>;
  /** Does nothing (stubs hold no resources here). */
  [Symbol.dispose](): void;
};

/**
 * A stub for a facet (`ctx.facets.get()`): like a namespace stub, but without `id`, `name` or
 * `dup()`. Passed over RPC it arrives as a reference through this instance (the receiver's
 * calls reach the facet while this instance runs); it cannot be stored (`DataCloneError`).
 */
export type DurableObjectFacetStub<T extends DurableObjectBranded | undefined = undefined> = Fetcher<T> & {
  /** Does nothing (stubs hold no resources here). */
  [Symbol.dispose](): void;
};

/**
 * durable-facets: `rt.entrypoint`, the entry point seen as a service binding: `fetch()`, and
 * with a `WorkerEntrypoint` type argument its RPC methods (each call is one event).
 */
export type WorkerEntrypointStub<T extends WorkerEntrypointBranded | undefined = undefined> = (IsAny<T> extends true
  ? unknown
  : T extends WorkerEntrypointBranded
    ? RpcMethods<T>
    : unknown) & {
  /** Calls the default export's `fetch` on a runtime thread (bodies stream both ways, no size limit). */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<FetchResponse>;
  /** Does nothing (stubs hold no resources here). */
  [Symbol.dispose](): void;
};

/**
 * A namespace binding: ids and stubs for the objects of one class.
 * @typeParam T the `DurableObject` class, for typed stubs
 */
export declare abstract class DurableObjectNamespace<T extends DurableObjectBranded | undefined = undefined> {
  /** A new random id (`jurisdiction` is not implemented). */
  newUniqueId(options?: DurableObjectNamespaceNewUniqueIdOptions): DurableObjectId;
  /** The id for `name` (the same as workerd's for the same `uniqueKey`). */
  idFromName(name: string): DurableObjectId;
  /**
   * Parses a 64-hex id. Throws `TypeError` for a malformed string or an id of another
   * namespace.
   */
  idFromString(id: string): DurableObjectId;
  /** A stub for the object `id` (returned at once; the object starts on the first call). */
  get(id: DurableObjectId, options?: DurableObjectNamespaceGetDurableObjectOptions): DurableObjectStub<T>;
  /** `get(idFromName(name))`. */
  getByName(name: string, options?: DurableObjectNamespaceGetDurableObjectOptions): DurableObjectStub<T>;
  /**
   * Not implemented: always throws
   * `Error: Jurisdiction restrictions are not implemented in durable-facets.`
   */
  jurisdiction(jurisdiction: DurableObjectJurisdiction): never;
}

// ---------------------------------------------------------------------------------------------
// Classes, ctx.exports, worker loaders
// ---------------------------------------------------------------------------------------------

/**
 * An opaque handle on a Durable Object class, usable as the `class` of a facet: a class
 * binding from `env`, `ctx.exports.X`, `ctx.exports.X({ props })`, or a class from a worker
 * loader. Only the runtime makes them; a plain object is not one.
 * @typeParam T the class, for typed facet stubs
 */
export interface DurableObjectClass<T extends DurableObjectBranded | undefined = undefined> {
  readonly [__DURABLE_OBJECT_CLASS_BRAND]: DurableObjectClassTag<T>;
}

/** `ctx.exports.X` for a class with no namespace binding: callable as `X({ props })`. */
export interface LoopbackDurableObjectClass<T extends DurableObjectBranded | undefined = undefined>
  extends DurableObjectClass<T> {
  /** The same class, whose instances see `props` as `ctx.props`. */
  (options: { props?: unknown }): DurableObjectClass<T>;
}

/**
 * `ctx.exports.X` for a class that a namespace binding uses: that namespace, also accepted as
 * a facet class and callable as `X({ props })`.
 */
export type LoopbackDurableObjectNamespace<T extends DurableObjectBranded | undefined = undefined> =
  DurableObjectNamespace<T> & LoopbackDurableObjectClass<T>;

/**
 * The type of `ctx.exports`: one entry per `DurableObject` class exported by `main` (or, in
 * code from a worker loader, by its own module). Untyped by default; declare your classes by
 * augmenting this interface:
 *
 * ```ts
 * declare module "durable-facets" {
 *   interface DurableObjectExports {
 *     Counter: LoopbackDurableObjectClass<Counter>;
 *     Room: LoopbackDurableObjectNamespace<Room>;
 *   }
 * }
 * ```
 */
export interface DurableObjectExports {
  [className: string]: LoopbackDurableObjectClass;
}

/** Names of `main`'s classes with a namespace binding (`Cloudflare.GlobalProps.durableNamespaces`). */
type DurableNamespaces = Cloudflare.GlobalProps extends { durableNamespaces: infer N } ? N : never;

/** An export of `main` that `ctx.exports` offers as an entry point's loopback service stub. */
type EntrypointExport<K, V> = V extends abstract new (...args: any[]) => WorkerEntrypointBranded
  ? true
  : K extends 'default'
    ? V extends { fetch: (...args: any[]) => unknown }
      ? true
      : false
    : false;

/**
 * `ctx.exports` computed from `main`'s module type: one loopback per DurableObject class, and
 * one service stub per entry point (`default`, named `WorkerEntrypoint` classes).
 */
export type ExportsOf<M> = {
  [K in keyof M as M[K] extends abstract new (...args: any[]) => DurableObjectBranded
    ? K
    : EntrypointExport<K, M[K]> extends true
      ? K
      : never]: M[K] extends abstract new (...args: any[]) => infer I
    ? I extends DurableObjectBranded
      ? K extends DurableNamespaces
        ? LoopbackDurableObjectNamespace<I>
        : LoopbackDurableObjectClass<I>
      : I extends WorkerEntrypointBranded
        ? LoopbackServiceStub<I>
        : never
    : LoopbackServiceStub;
};

/**
 * `ctx.exports.X` of an entry point `main` exports: its service stub, also callable as
 * `X({ props })` for the same entry point with `ctx.props` (as workerd's loopback bindings).
 */
export type LoopbackServiceStub<T extends WorkerEntrypointBranded | undefined = undefined> = WorkerEntrypointStub<T> &
  ((options?: { props?: unknown }) => WorkerEntrypointStub<T>);

/** The type of `ctx.exports`: from `MainModule` when declared, else `DurableObjectExports`. */
type CtxExports = Cloudflare.GlobalProps extends { mainModule: infer M } ? ExportsOf<M> : DurableObjectExports;

/**
 * Code supplied at run time to a worker loader (Cloudflare's `WorkerLoaderWorkerCode`).
 * durable-facets runs `modules` as ES modules; other fields are accepted and ignored.
 */
export interface WorkerCode {
  /** Name of the entry module (a key of `modules`). */
  mainModule: string;
  /**
   * Module name → ES module source. Modules import each other by name, and may import
   * "cloudflare:workers" and `node:` builtins. Modules named `*.ts` / `*.mts` are TypeScript,
   * stripped of their types (erasable syntax only). (Cloudflare's module objects are not
   * supported.)
   */
  modules: Record<string, string>;
  /** The `env` of the loaded classes: structured-cloneable values and class bindings. */
  env?: Record<string, unknown>;
  /** Accepted and ignored. */
  compatibilityDate?: string;
  /** Accepted and ignored. */
  compatibilityFlags?: string[];
  /** Accepted and ignored. */
  allowExperimental?: boolean;
  /** Accepted and ignored. */
  globalOutbound?: unknown;
}

/** Options of `WorkerStub.getDurableObjectClass()`. */
export interface WorkerStubEntrypointOptions {
  /** What instances of the class see as `ctx.props` (structured-cloneable). */
  props?: unknown;
}

/** A worker whose code a `WorkerLoader` supplies. */
export interface WorkerStub {
  /**
   * A facet class running the loaded code's export `name` (default: `"default"`). The code
   * is loaded when a facet of the class starts; an unknown name fails that start with
   * `TypeError: Worker "<name>" does not export a Durable Object class named "<class>".`
   */
  getDurableObjectClass<T extends DurableObjectBranded | undefined = undefined>(
    name?: string,
    options?: WorkerStubEntrypointOptions,
  ): DurableObjectClass<T>;
}

/**
 * A worker loader binding (`workerLoaders` option), as Cloudflare's Dynamic Worker Loader.
 * Loaded code is cached by name: `getCode` is skipped once the name is loaded.
 */
export interface WorkerLoader {
  /** The worker `name`; `getCode` supplies its code when it is first needed. */
  get(name: string, getCode: () => WorkerCode | Promise<WorkerCode>): WorkerStub;
}

// ---------------------------------------------------------------------------------------------
// ctx.facets
// ---------------------------------------------------------------------------------------------

/** What a facet starts with: its class and, optionally, the id it sees as `ctx.id`. */
export interface FacetStartupOptions<T extends DurableObjectBranded | undefined = undefined> {
  /**
   * What the facet sees as `ctx.id`: a string stays a string, an id stays an id. Omitted: the
   * parent's id. Never affects where storage lives.
   */
  id?: DurableObjectId | string;
  /** The facet's class. */
  class: DurableObjectClass<T>;
}

/**
 * `ctx.facets`: the child objects ("facets") of this object, each with its own thread and
 * database, stored together with it. A name is a string of 1–128 characters without `/` or
 * control characters; a bad name throws `TypeError` synchronously. Nesting depth is at most 4
 * counting the root.
 */
export interface DurableObjectFacets {
  /**
   * durable-facets: a stub for facet `name`, started with `options` (the original design).
   * When the stub is first used, an entry with different options is replaced: its running
   * instance stops and its old stubs reject; storage is kept.
   */
  get<T extends DurableObjectBranded | undefined = undefined>(
    name: string,
    options: FacetStartupOptions<T>,
  ): DurableObjectFacetStub<T>;
  /**
   * A stub for facet `name` (Cloudflare's form). `getStartupOptions` runs only when there is
   * no entry for `name` (first use, or after abort, delete, clone-over, breakage or a restart
   * of this object); otherwise the existing entry is used.
   */
  get<T extends DurableObjectBranded | undefined = undefined>(
    name: string,
    getStartupOptions: () => FacetStartupOptions<T> | Promise<FacetStartupOptions<T>>,
  ): DurableObjectFacetStub<T>;
  /**
   * Stops facet `name` and its subtree at once; storage is kept. Calls through its stubs
   * reject with `reason` (a string becomes `Error(reason)`). Unknown names: no-op.
   */
  abort(name: string, reason: unknown): void;
  /** Stops facet `name` and deletes its storage and that of its descendants. */
  delete(name: string): void;
  /**
   * durable-facets (and recent workerd): replaces `dst` and its subtree with a copy of
   * `src`'s last committed state and subtree; `src` keeps running.
   */
  clone(src: string, dst: string): void;
  /**
   * durable-facets: the names of the direct children that have storage or are running,
   * sorted.
   */
  list(): string[];
}

// ---------------------------------------------------------------------------------------------
// DurableObjectState (this.ctx)
// ---------------------------------------------------------------------------------------------

/** Options of `ctx.abort()` (Cloudflare's; ignored). */
export interface DurableObjectAbortOptions {
  retryAlarm?: boolean;
}

// ---------------------------------------------------------------------------------------------
// WebSockets (SPEC §2.4): also globals (`WebSocketPair`, …) inside the runtime's threads
// ---------------------------------------------------------------------------------------------

/** A `message` event of an accepted WebSocket. */
export interface WebSocketMessageEvent extends Event {
  readonly data: string | ArrayBuffer;
}

/** A `close` event (`code` 1005: a Close without a code; 1006: the peer went away). */
export interface WebSocketCloseEvent extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/** An `error` event. */
export interface WebSocketErrorEvent extends Event {
  readonly error: unknown;
  readonly message: string;
}

export interface WebSocketEventMap {
  message: WebSocketMessageEvent;
  close: WebSocketCloseEvent;
  error: WebSocketErrorEvent;
}

/**
 * One end of a `WebSocketPair`, or the client end a `Response` with status 101 handed over
 * (`response.webSocket`). As on Cloudflare: `accept()` before `send()`, events through
 * `addEventListener`, or `ctx.acceptWebSocket()` for the hibernation API.
 */
export declare class WebSocket extends EventTarget {
  private constructor();
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  /** `OPEN` (even before `accept()`), `CLOSING` once a Close went one way, `CLOSED` both ways. */
  readonly readyState: number;
  /** Always null for pair ends. */
  readonly url: string | null;
  readonly protocol: string | null;
  readonly extensions: string | null;
  /** Binary messages arrive as ArrayBuffers. */
  binaryType: 'arraybuffer';
  /** Starts delivering this end's events to this thread. */
  accept(options?: { allowHalfOpen?: boolean }): void;
  /** Text for a string, binary otherwise. Throws before `accept()` and after `close()`. */
  send(message: string | ArrayBuffer | ArrayBufferView): void;
  /** Codes 1000-4999 except 1004-1006 and 1015; a reason (≤ 123 UTF-8 bytes) needs a code. */
  close(code?: number, reason?: string): void;
  /** Stores a structured clone of `value` (≤ 16 KiB serialized) that survives hibernation. */
  serializeAttachment(value: unknown): void;
  /** A copy of what `serializeAttachment()` stored, or null. */
  deserializeAttachment(): any;
  addEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: (this: WebSocket, event: WebSocketEventMap[K]) => void,
    options?: boolean | { once?: boolean; signal?: AbortSignal },
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | { once?: boolean; signal?: AbortSignal }): void;
}

/** `new WebSocketPair()`: two connected ends, `{ 0: client, 1: server }` (iterable). */
export declare class WebSocketPair {
  constructor();
  readonly 0: WebSocket;
  readonly 1: WebSocket;
  [Symbol.iterator](): IterableIterator<WebSocket>;
}

/** `ctx.setWebSocketAutoResponse()`'s pair: a text request answered by the core with `response`. */
export declare class WebSocketRequestResponsePair {
  constructor(request: string, response: string);
  readonly request: string;
  readonly response: string;
}

/**
 * The init of a `Response` that hands over a WebSocket: `status: 101` and `webSocket`.
 * `new Response(null, { status: 101, webSocket: client } satisfies WebSocketResponseInit)`.
 */
export type WebSocketResponseInit = Omit<ResponseInit, 'webSocket'> & {
  status?: number;
  // (Omit: @cloudflare/workers-types gives ResponseInit a `webSocket` of its own WebSocket.)
  webSocket?: WebSocket | null;
};

/** A `Response` as `stub.fetch()` and `rt.fetch()` resolve it: a 101 carries `webSocket`. */
export type FetchResponse = Response & { readonly webSocket?: WebSocket | null };

/** What an `alarm()` handler is told about the run. */
export interface AlarmInvocationInfo {
  /** True when an earlier run of this alarm failed. */
  readonly isRetry: boolean;
  /** 0 for the first run, then 1, 2, … (at most 6 retries). */
  readonly retryCount: number;
}

/**
 * `this.ctx` of a Durable Object or facet.
 * @typeParam Props the type of `props`
 */
export interface DurableObjectState<Props = unknown> {
  /**
   * The object's id. In a facet: the `id` of its startup options (a plain string stays a
   * string at run time), else its parent's id.
   */
  readonly id: DurableObjectId;
  /** SQLite-backed storage: SQL, KV, transactions, alarms. */
  readonly storage: DurableObjectStorage;
  /** The facets (child objects) of this object. */
  readonly facets: DurableObjectFacets;
  /**
   * The classes exported by this worker's `main` module: typed from
   * `Cloudflare.GlobalProps.mainModule` when declared (see `MainModule`), else by
   * `DurableObjectExports`.
   */
  readonly exports: CtxExports;
  /** The props of the class this instance was started from (`{}` when none). */
  readonly props: Props;
  /** Keeps the instance from being evicted until `promise` settles. */
  waitUntil(promise: Promise<unknown>): void;
  /**
   * Delivers no other event to this instance until `callback` settles. A throw, or more than
   * 30 s, breaks the instance.
   */
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
  /**
   * Breaks this instance at once: calls in flight reject with `reason` (made an `Error`), and
   * the next call starts a fresh instance. `options` is ignored.
   */
  abort(reason?: string, options?: DurableObjectAbortOptions): void;
  /** Not supported: reading it throws `Error: ctx.container is not supported by durable-facets.` */
  readonly container: never;
  /**
   * Accepts `ws` with the hibernation API (root objects and facets alike): its events reach
   * the `webSocket*` handlers, also after the object or facet was evicted while the socket
   * stayed open. A facet's sockets are its own (not its parent's nor a sibling's).
   * At most 10 distinct tags of ≤ 256 bytes; at most 32768 sockets per object or facet.
   */
  acceptWebSocket(ws: WebSocket, tags?: string[]): void;
  /** The sockets accepted with `acceptWebSocket()` (by any instance of this object), or those with `tag`. */
  getWebSockets(tag?: string): WebSocket[];
  /** Text messages equal to `request` are answered with `response` without waking the object; no argument clears it. */
  setWebSocketAutoResponse(maybeReqResp?: WebSocketRequestResponsePair): void;
  getWebSocketAutoResponse(): WebSocketRequestResponsePair | null;
  /** When an auto-response last answered `ws`, or null. */
  getWebSocketAutoResponseTimestamp(ws: WebSocket): Date | null;
  /** Validated and kept as on Cloudflare; durable-facets does not time handlers out. */
  setHibernatableWebSocketEventTimeout(timeoutMs?: number): void;
  getHibernatableWebSocketEventTimeout(): number | null;
  /** The tags `ws` was accepted with. */
  getTags(ws: WebSocket): string[];
}

// ---------------------------------------------------------------------------------------------
// Storage (this.ctx.storage)
// ---------------------------------------------------------------------------------------------

/** Options of the async KV reads (Cloudflare's; accepted and ignored). */
export interface DurableObjectGetOptions {
  allowConcurrency?: boolean;
  noCache?: boolean;
}

/** Options of the async KV writes (Cloudflare's; accepted and ignored). */
export interface DurableObjectPutOptions {
  allowConcurrency?: boolean;
  allowUnconfirmed?: boolean;
  noCache?: boolean;
}

/** Options of `storage.list()`: a key range, in UTF-8 byte order. */
export interface DurableObjectListOptions {
  /** First key (inclusive). Not with `startAfter`. */
  start?: string;
  /** First key (exclusive). Not with `start`. */
  startAfter?: string;
  /** Last key (exclusive). */
  end?: string;
  /** Only keys starting with this. */
  prefix?: string;
  /** Descending order. */
  reverse?: boolean;
  /** At most this many entries (positive). */
  limit?: number;
  /** Accepted and ignored. */
  allowConcurrency?: boolean;
  /** Accepted and ignored. */
  noCache?: boolean;
}

/** Options of `getAlarm()` (Cloudflare's; ignored). */
export interface DurableObjectGetAlarmOptions {
  allowConcurrency?: boolean;
}

/** Options of `setAlarm()` / `deleteAlarm()` (Cloudflare's; ignored). */
export interface DurableObjectSetAlarmOptions {
  allowConcurrency?: boolean;
  allowUnconfirmed?: boolean;
}

/** Options of `storage.kv.list()`. */
export interface SyncKvListOptions {
  /** First key (inclusive). Not with `startAfter`. */
  start?: string;
  /** First key (exclusive). Not with `start`. */
  startAfter?: string;
  /** Last key (exclusive). */
  end?: string;
  /** Only keys starting with this. */
  prefix?: string;
  /** Descending order. */
  reverse?: boolean;
  /** At most this many entries (positive). */
  limit?: number;
}

/** A value in a SQL row: INTEGER (as a number), REAL, TEXT, BLOB or NULL. */
export type SqlStorageValue = ArrayBuffer | string | number | null;

/** The result of `sql.exec()`: rows are read lazily; iterate it once. */
export interface SqlStorageCursor<T extends Record<string, SqlStorageValue>> {
  /** The next row as an object, or `{ done: true }`. */
  next(): { done?: false; value: T } | { done: true; value?: never };
  /** The remaining rows as objects. */
  toArray(): T[];
  /** The only row; throws if there are none or more than one. */
  one(): T;
  /** The remaining rows as arrays (duplicate column names keep every value). */
  raw<U extends SqlStorageValue[]>(): IterableIterator<U>;
  /** The result's column names. */
  readonly columnNames: string[];
  /** Rows read so far (an approximation: stock SQLite has no row counters). */
  readonly rowsRead: number;
  /** Rows written by the statements. */
  readonly rowsWritten: number;
  [Symbol.iterator](): IterableIterator<T>;
}

/** `ctx.storage.sql`: this object's SQLite database. */
export interface SqlStorage {
  /**
   * Runs one or more statements (bindings apply to the last one) and returns a cursor over
   * the last one's rows. `BEGIN`, `SAVEPOINT`, `ATTACH` and `_cf_` names are not allowed.
   * @typeParam T the shape of a row
   */
  exec<T extends Record<string, SqlStorageValue> = Record<string, SqlStorageValue>>(
    query: string,
    ...bindings: any[]
  ): SqlStorageCursor<T>;
  /** Size of the database in bytes. */
  readonly databaseSize: number;
}

/** `ctx.storage.kv`: synchronous KV in the same database (structured-clone values). */
export interface SyncKvStorage {
  /** The value of `key`, or `undefined`. */
  get<T = unknown>(key: string): T | undefined;
  /** `[key, value]` pairs; starting another `list()` invalidates this iterator. */
  list<T = unknown>(options?: SyncKvListOptions): Iterable<[string, T]>;
  /** Stores `value` under `key`. */
  put<T>(key: string, value: T): void;
  /** Deletes `key`; true if it existed. */
  delete(key: string): boolean;
}

/** The `txn` of `storage.transaction()`: the KV and alarm API, plus `rollback()`. */
export interface DurableObjectTransaction {
  get<T = unknown>(key: string, options?: DurableObjectGetOptions): Promise<T | undefined>;
  get<T = unknown>(keys: string[], options?: DurableObjectGetOptions): Promise<Map<string, T>>;
  list<T = unknown>(options?: DurableObjectListOptions): Promise<Map<string, T>>;
  put<T>(key: string, value: T, options?: DurableObjectPutOptions): Promise<void>;
  put<T>(entries: Record<string, T>, options?: DurableObjectPutOptions): Promise<void>;
  delete(key: string, options?: DurableObjectPutOptions): Promise<boolean>;
  delete(keys: string[], options?: DurableObjectPutOptions): Promise<number>;
  /** Rolls the transaction back when the closure returns. */
  rollback(): void;
  getAlarm(options?: DurableObjectGetAlarmOptions): Promise<number | null>;
  setAlarm(scheduledTime: number | Date, options?: DurableObjectSetAlarmOptions): Promise<void>;
  deleteAlarm(options?: DurableObjectSetAlarmOptions): Promise<void>;
}

/**
 * `ctx.storage`: one SQLite database per object and per facet. Writes made in one turn form
 * one implicit transaction; nothing leaves the object before they are committed.
 */
export interface DurableObjectStorage {
  /** The value of `key`, or `undefined`. */
  get<T = unknown>(key: string, options?: DurableObjectGetOptions): Promise<T | undefined>;
  /** The values of the `keys` that exist. */
  get<T = unknown>(keys: string[], options?: DurableObjectGetOptions): Promise<Map<string, T>>;
  /** Entries in key order (UTF-8 bytes). */
  list<T = unknown>(options?: DurableObjectListOptions): Promise<Map<string, T>>;
  /** Stores `value` (structured-clone) under `key`. */
  put<T>(key: string, value: T, options?: DurableObjectPutOptions): Promise<void>;
  /** Stores several entries atomically. */
  put<T>(entries: Record<string, T>, options?: DurableObjectPutOptions): Promise<void>;
  /** Deletes `key`; true if it existed. */
  delete(key: string, options?: DurableObjectPutOptions): Promise<boolean>;
  /** Deletes `keys`; the number that existed. */
  delete(keys: string[], options?: DurableObjectPutOptions): Promise<number>;
  /** Deletes all data of this object, its alarm, and all its facets. */
  deleteAll(options?: DurableObjectPutOptions): Promise<void>;
  /**
   * Runs `closure` atomically; no other event is delivered meanwhile. A throw rolls back and
   * rejects.
   */
  transaction<T>(closure: (txn: DurableObjectTransaction) => Promise<T>): Promise<T>;
  /** The alarm time (ms since the epoch), or null. Always null in a facet. */
  getAlarm(options?: DurableObjectGetAlarmOptions): Promise<number | null>;
  /**
   * Sets the alarm (the class needs an `alarm()` handler). Rejects in a facet
   * (`Error: Facets currently cannot set alarms.`).
   */
  setAlarm(scheduledTime: number | Date, options?: DurableObjectSetAlarmOptions): Promise<void>;
  /** Deletes the alarm. */
  deleteAlarm(options?: DurableObjectSetAlarmOptions): Promise<void>;
  /** Resolves when every write made before the call is committed. */
  sync(): Promise<void>;
  /** SQL over this object's database. */
  readonly sql: SqlStorage;
  /** Synchronous KV. */
  readonly kv: SyncKvStorage;
  /** Runs `closure` in a savepoint: kept if it returns, rolled back if it throws. */
  transactionSync<T>(closure: () => T): T;
  /** Point-in-time recovery is not supported: rejects. */
  getCurrentBookmark(): Promise<string>;
  /** Point-in-time recovery is not supported: rejects. */
  getBookmarkForTime(timestamp: number | Date): Promise<string>;
  /** Point-in-time recovery is not supported: rejects. */
  onNextSessionRestoreBookmark(bookmark: string): Promise<string>;
}

// ---------------------------------------------------------------------------------------------
// The runtime (main thread)
// ---------------------------------------------------------------------------------------------

/** What happens when a facet breaks (throwing constructor, `ctx.abort()`, dead thread, …). */
export type FacetFailureMode = 'object' | 'isolate';

/** A namespace binding spelled out. */
export interface DurableObjectNamespaceBinding {
  /** The class, exported by `main`. */
  className: string;
  /**
   * Names the namespace and its storage directory `<storage>/<uniqueKey>/`, and keys the id
   * derivation (default: `className`). Bindings with the same `uniqueKey` are aliases.
   */
  uniqueKey?: string;
  /** Overrides the runtime-wide `facetFailure` for this namespace. */
  facetFailure?: FacetFailureMode;
}

/** A class binding: a facet class without a storage namespace. */
export interface DurableObjectClassBinding {
  /** The exported class name. */
  className: string;
  /**
   * The module exporting it: a file path (relative to `main`'s directory) or a `file:` URL.
   * Default: `main`.
   */
  module?: string | URL;
  /** What instances see as `ctx.props` (structured-cloneable; default `{}`). */
  props?: unknown;
}

/**
 * Options of `new Runtime(options)`. Binding names (the keys of `durableObjects`, `classes`
 * and `vars`, and the entries of `workerLoaders`) are JS identifiers, each used once. Every
 * mistake is a `TypeError`/`Error` naming the option, thrown by the constructor (a class
 * that is missing or not a `DurableObject` subclass fails the first call instead).
 */
export interface RuntimeOptions {
  /**
   * The module whose exports are the Durable Object classes: a file path (relative to the
   * current working directory) or a `file:` URL (object or string). JavaScript, or TypeScript
   * (`.ts`/`.mts`, erasable syntax only: the runtime strips the types; README "TypeScript").
   */
  main: string | URL;
  /**
   * Namespace bindings: binding name → exported class name, or
   * `{ className, uniqueKey?, facetFailure? }`. In `rt.env` and in every object's `env`.
   */
  durableObjects?: Record<string, string | DurableObjectNamespaceBinding>;
  /**
   * Class bindings without storage (facet classes): binding name →
   * `{ className, module?, props? }`. In every object's `env` (not in `rt.env`).
   */
  classes?: Record<string, DurableObjectClassBinding>;
  /** Plain structured-cloneable values, in `rt.env` and in every object's `env`. */
  vars?: Record<string, unknown>;
  /**
   * Worker loader bindings (`WorkerLoader`), by name. In every object's `env` (not in
   * `rt.env`).
   */
  workerLoaders?: string[];
  /**
   * Storage directory (path or `file:` URL): `<storage>/<uniqueKey>/` per namespace, locked
   * by this runtime. Omitted: in-memory databases, kept until `delete`, `deleteAll` or
   * `dispose`.
   */
  storage?: string | URL;
  /** An idle thread (no call in flight, nothing pending) ends after this long. Default 10 000 ms; ≥ 1. */
  idleTimeoutMs?: number;
  /**
   * Soft bound on running threads: beyond it the least recently used idle ones are evicted
   * (their threads are recycled). Default 64, or `os.totalmem() / memoryLimitMb` (at least 8)
   * when that is smaller; an integer ≥ 1.
   */
  maxRunningFacets?: number;
  /**
   * Pre-started threads, not counted in `maxRunningFacets`: the floor of a warm pool that grows
   * with the rate of new instances. Default 2; an integer ≥ 0.
   */
  warmThreads?: number;
  /**
   * When a facet breaks: `"object"` (default) restarts the whole object; `"isolate"` (today's
   * Cloudflare behaviour) only the facet and its descendants.
   */
  facetFailure?: FacetFailureMode;
  /**
   * `"normal"` (default): WAL with `synchronous=NORMAL`, a commit survives the process being
   * killed. `"full"`: fsync every commit, survives power loss too.
   */
  synchronous?: 'normal' | 'full';
  /** Delay before the first alarm retry, doubling after each; default 1000 ms; ≥ 1. */
  alarmRetryBaseMs?: number;
  /**
   * Diagnostics on stderr (thread starts, recycles, evictions, alarm runs/retries/failures,
   * thread errors, each naming the object): `"silent"` (default) to `"debug"`.
   * `DEBUG=durable-facets` (read as the `debug` package reads it) raises it to `"debug"`.
   */
  logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /**
   * A synchronous run longer than this breaks the facet
   * (`Error: Durable Object exceeded its CPU time limit.`). Default: no limit; ≥ 1.
   */
  cpuTimeoutMs?: number;
  /**
   * Memory limit of each thread in MB (V8 heap and ArrayBuffers). An instance that holds more
   * after a call, or grows past this plus 512 MB within one synchronous run, breaks with
   * `Error: Durable Object exceeded its memory limit (<n> MB).` (code `ERR_DO_MEMORY_LIMIT`);
   * see Limits in the README. Default 128; an integer ≥ 16.
   */
  memoryLimitMb?: number;
}

/**
 * The second argument of `Runtime.fromWranglerConfig()` / `readWranglerConfig()`: Runtime
 * options merged over the ones read from the wrangler configuration (`durableObjects` per
 * binding and field, `classes` and `vars` per key, `workerLoaders` added, anything else
 * replaced), and `env`, the `env.<name>` section to use (as `wrangler --env <name>`).
 */
export type WranglerConfigOverrides = Omit<Partial<RuntimeOptions>, 'durableObjects'> & {
  /** Per binding, merged over the binding read (`{ TENANTS: { facetFailure: "isolate" } }`). */
  durableObjects?: Record<string, string | Partial<DurableObjectNamespaceBinding>>;
  /** The `env.<name>` section to read instead of the top level. */
  env?: string;
};

/**
 * Reads a wrangler configuration (`wrangler.jsonc`, `wrangler.json`, `wrangler.toml`) into
 * `Runtime` options: `main` (relative to the file), `durable_objects.bindings` (each class
 * created by a `new_sqlite_classes` migration), `vars`, `worker_loaders`. Bindings
 * durable-facets does not provide fail with `ERR_DO_NOT_SUPPORTED`; see README
 * "Configuration from wrangler".
 */
export declare function readWranglerConfig(
  path: string | URL,
  overrides?: WranglerConfigOverrides,
): Promise<RuntimeOptions>;

/** One database of an object, as `rt.inspect()` reports it. */
export interface FacetInfo {
  /** Full facet name (`foo/bar`); `""` for the root object. */
  name: string;
  /**
   * The facet's id in the storage layout (`<id>.<facetId>.sqlite`); 0 for the root; `null`
   * for a facet of an in-memory runtime (no `storage`).
   */
  facetId: number | null;
  /** Size in bytes by `sql.databaseSize`'s formula; 0 without a database. */
  databaseSize: number;
  /** Whether its instance is running. */
  running: boolean;
}

/** The result of `rt.inspect()`. */
export interface InspectResult {
  /** The object's id (64 hex digits). */
  id: string;
  /** The root first (`name: ""`), then the facets by full name. */
  facets: FacetInfo[];
}

/**
 * The keys of `Env` that hold a namespace (any string for an untyped `Env`). Checked by shape,
 * so a namespace typed by `@cloudflare/workers-types` (a global `DurableObjectNamespace`) counts.
 */
export type NamespaceBindingName<Env> = string extends keyof Env
  ? string
  : { [K in keyof Env]-?: Env[K] extends NamespaceLike ? K : never }[keyof Env] & string;

/** What both packages' `DurableObjectNamespace` have. */
interface NamespaceLike {
  idFromName(name: string): unknown;
  idFromString(id: string): unknown;
  newUniqueId(...args: any[]): unknown;
  getByName(name: string, ...args: any[]): unknown;
}

/**
 * The module type of `main` when declared as in `@cloudflare/workers-types` (and written by
 * `durable-facets types` / `wrangler types`):
 * `declare namespace Cloudflare { interface GlobalProps { mainModule: typeof import("./worker.ts") } }`;
 * `{}` when not declared.
 */
export type MainModule = Cloudflare.GlobalProps extends { mainModule: infer M } ? M : {};

/** The instance type of `main`'s export `className`, if it is a DurableObject class; else `undefined`. */
export type MainClass<ClassName> = ClassName extends keyof MainModule
  ? MainModule[ClassName] extends abstract new (...args: any[]) => infer I
    ? I extends DurableObjectBranded
      ? I
      : undefined
    : undefined
  : undefined;

/** The class name a `durableObjects` entry names. */
type BindingClassName<S> = S extends string ? S : S extends { readonly className: infer C } ? C : never;

/**
 * `rt.env` of `new Runtime(options)` without type arguments: its namespace bindings
 * (`DurableObjectNamespace` of the class, typed when `Cloudflare.GlobalProps.mainModule` is
 * declared — see `MainModule`) and its vars. Options whose keys are not known to the compiler
 * (a `RuntimeOptions` variable) give `Record<string, unknown>`.
 */
export type RuntimeEnv<O extends RuntimeOptions> = string extends keyof NonNullable<O['durableObjects']>
  ? Record<string, unknown>
  : string extends keyof NonNullable<O['vars']>
    ? Record<string, unknown>
    : {
        -readonly [K in keyof NonNullable<O['durableObjects']>]: DurableObjectNamespace<
          MainClass<BindingClassName<NonNullable<O['durableObjects']>[K]>>
        >;
      } & { -readonly [K in keyof NonNullable<O['vars']>]: NonNullable<O['vars']>[K] };

/** The `WorkerEntrypoint` class `main` exports as default (see `MainModule`), else `undefined`. */
export type MainEntrypoint = MainModule extends { default: abstract new (...args: any[]) => infer I }
  ? I extends WorkerEntrypointBranded
    ? I
    : undefined
  : undefined;

/**
 * The `code` of every error durable-facets creates (README "Error codes"; declared once in
 * `core/src/error.rs`). `DataCloneError`s are `DOMException`s and keep the platform's numeric code.
 */
export type DurableFacetsErrorCode =
  | 'ERR_DO_INVALID_OPTION'
  | 'ERR_DO_INVALID_ARGUMENT'
  | 'ERR_DO_INVALID_STATE'
  | 'ERR_DO_NOT_SUPPORTED'
  | 'ERR_DO_DISPOSED'
  | 'ERR_DO_ID_MALFORMED'
  | 'ERR_DO_ID_WRONG_NAMESPACE'
  | 'ERR_DO_PAYLOAD_TOO_LARGE'
  | 'ERR_DO_RPC_UNDECODABLE'
  | 'ERR_DO_UNCLONEABLE_THROWN'
  | 'ERR_DO_METHOD_NOT_FOUND'
  | 'ERR_DO_NO_FETCH_HANDLER'
  | 'ERR_DO_MODULE_LOAD'
  | 'ERR_DO_MODULE_NOT_FOUND'
  | 'ERR_DO_UNSUPPORTED_MODULE'
  | 'ERR_DO_CLASS_NOT_EXPORTED'
  | 'ERR_DO_NOT_DURABLE_OBJECT'
  | 'ERR_DO_INVALID_EXPORT'
  | 'ERR_DO_ABORTED'
  | 'ERR_DO_BLOCK_CONCURRENCY_TIMEOUT'
  | 'ERR_DO_EVENT_TIMEOUT'
  | 'ERR_DO_CPU_LIMIT'
  | 'ERR_DO_MEMORY_LIMIT'
  | 'ERR_DO_THREAD_EXITED'
  | 'ERR_DO_FACET_NAME'
  | 'ERR_DO_FACET_DEPTH'
  | 'ERR_DO_FACET_CLASS'
  | 'ERR_DO_FACET_DELETED'
  | 'ERR_DO_FACET_CLONED_OVER'
  | 'ERR_DO_FACET_RESTARTED'
  | 'ERR_DO_STOPPED'
  | 'ERR_DO_REFERENCE_GONE'
  | 'ERR_DO_FACET_ALARM'
  | 'ERR_DO_NO_ALARM_HANDLER'
  | 'ERR_DO_SQL'
  | 'ERR_DO_SQL_CRITICAL'
  | 'ERR_DO_SQL_ONE'
  | 'ERR_DO_STORAGE_CLOSED'
  | 'ERR_DO_STORAGE_IN_USE'
  | 'ERR_DO_STORAGE'
  | 'ERR_DO_FACET_INDEX_CORRUPT'
  | 'ERR_DO_ALARM_INDEX'
  | 'ERR_DO_NATIVE_BINDING'
  | 'ERR_DO_PANIC'
  | 'ERR_DO_INTERNAL';

/** durable-facets: options of `rt.listen()`. */
export interface ListenOptions {
  /** TCP port; `0` (the default) picks a free one. */
  port?: number;
  /** Address to listen on (default `"127.0.0.1"`). */
  hostname?: string;
}

/** durable-facets: a server started by `rt.listen()`. */
export interface RuntimeListener {
  /** `http://<hostname>:<port>/`. */
  readonly url: string;
  /** The port listened on (the one picked, for `port: 0`). */
  readonly port: number;
  /** Stops accepting connections (idle keep-alive ones end); resolves once the server has stopped. */
  close(): Promise<void>;
}

/**
 * Hosts Durable Object classes in this process, each object on its own thread:
 *
 * ```ts
 * const rt = new Runtime<{ ROOMS: DurableObjectNamespace<Room> }>({
 *   main: new URL("./worker.mjs", import.meta.url),
 *   durableObjects: { ROOMS: "Room" },
 * });
 * await rt.env.ROOMS.getByName("lobby").join("alice");
 * await rt.dispose();
 * ```
 *
 * Without type arguments, `rt.env` is inferred from `options` (see `RuntimeEnv`): a binding
 * typo is a compile error.
 *
 * @typeParam Env the type of `rt.env`: the namespace bindings and vars (given explicitly: not
 *   checked against `options`)
 * @typeParam Entry the `WorkerEntrypoint` class `main` exports as default, for a typed
 *   `rt.entrypoint` (not checked against `main`)
 */
export interface Runtime<
  Env extends object = Record<string, unknown>,
  Entry extends WorkerEntrypointBranded | undefined = undefined,
> {
  /** Namespace bindings and vars, for the main thread (frozen). */
  readonly env: Readonly<Env>;
  /**
   * The stored facet tree of one object, read without going through the object. Rejects with
   * `TypeError` if `binding` is not a namespace binding.
   * @param binding a namespace binding of this runtime
   * @param idOrName an id of that namespace, or a name
   */
  inspect(binding: NamespaceBindingName<Env>, idOrName: DurableObjectId | string): Promise<InspectResult>;
  /** The ids (64 hex digits, sorted) of the objects of a namespace that have storage. */
  listIds(binding: NamespaceBindingName<Env>): Promise<string[]>;
  /**
   * Calls the `fetch` of `main`'s default export (an `ExportedHandler` object or a
   * `WorkerEntrypoint` class) on a runtime thread, never on this one; its `env` is the env the
   * objects see. Without one: `Error: Handler does not export a fetch() function.`
   */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
  /**
   * The entry point as a service binding: `fetch()` and the RPC methods of a default export
   * that extends `WorkerEntrypoint` (typed by the `Entry` type argument).
   */
  readonly entrypoint: WorkerEntrypointStub<Entry>;
  /**
   * Serves HTTP with the entry point's `fetch` (as `wrangler dev`); resolves once listening.
   * `rt.dispose()` closes it too. A failed request is answered 500 and logged here.
   */
  listen(options?: ListenOptions): Promise<RuntimeListener>;
  /**
   * Commits pending writes, rejects calls in flight, ends every thread and releases
   * everything this runtime holds. Idempotent.
   */
  dispose(): Promise<void>;
  /** `dispose()`, for `await using rt = new Runtime(…)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Keys of `O` that `Shape` does not know (a typo), typed `never`. */
type Unknown<O, Shape> = { [K in Exclude<keyof O, keyof Shape>]: never };

/**
 * What makes an options literal with a misspelt key fail to compile, as a `RuntimeOptions`
 * parameter would (an inferred type parameter alone accepts extra keys): top-level options
 * and the fields of namespace and class bindings.
 */
type UnknownOptions<O> = Unknown<O, RuntimeOptions> &
  (O extends { durableObjects: infer D }
    ? { durableObjects: { [K in keyof D]: D[K] extends string ? unknown : Unknown<D[K], DurableObjectNamespaceBinding> } }
    : unknown) &
  (O extends { classes: infer C } ? { classes: { [K in keyof C]: Unknown<C[K], DurableObjectClassBinding> } } : unknown);

/** `new Runtime(options)`: see `Runtime`. */
export interface RuntimeConstructor {
  /**
   * Validates `options` and starts the runtime (threads start on demand). `rt.env` is
   * inferred from `options`: its `durableObjects` and `vars`.
   */
  new <const O extends RuntimeOptions>(options: O & UnknownOptions<O>): Runtime<RuntimeEnv<O>, MainEntrypoint>;
  /** Validates `options` and starts the runtime, with `rt.env` typed `Env`. */
  new <
    Env extends object = Record<string, unknown>,
    Entry extends WorkerEntrypointBranded | undefined = undefined,
  >(
    options: RuntimeOptions,
  ): Runtime<Env, Entry>;
  /**
   * A runtime configured by a wrangler configuration file, `overrides` merged over it
   * (see `readWranglerConfig`).
   */
  fromWranglerConfig<Env extends object = Record<string, unknown>>(
    path: string | URL,
    overrides?: WranglerConfigOverrides,
  ): Promise<Runtime<Env>>;
  readonly prototype: Runtime<any, any>;
}

export declare const Runtime: RuntimeConstructor;

export {};
