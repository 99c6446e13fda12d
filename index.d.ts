// Public typings of durable-facets, shaped like @cloudflare/workers-types.
// (The napi-generated declarations in lib/native/ are internal.)

/** Options of `new Runtime(options)`. */
export interface RuntimeOptions {
  /** Module whose exports are the Durable Object classes (path or file: URL). */
  main: string | URL;
  /** Namespace bindings: binding name → exported class name (or a full spec). */
  durableObjects?: Record<string, string | { className: string; uniqueKey?: string; facetFailure?: 'object' | 'isolate' }>;
  /** Class bindings without storage (facet classes). */
  classes?: Record<string, { className: string; module?: string | URL; props?: unknown }>;
  /** Plain structured-cloneable values exposed in `env`. */
  vars?: Record<string, unknown>;
  /** Storage directory; omitted → in-memory databases. */
  storage?: string | URL;
  /** Evict an object's thread after this long idle (default 10 000 ms). */
  idleTimeoutMs?: number;
  /** Soft bound on running threads (default 64). */
  maxRunningFacets?: number;
  /** Pre-started threads (default 2). */
  warmThreads?: number;
  facetFailure?: 'object' | 'isolate';
  synchronous?: 'normal' | 'full';
  alarmRetryBaseMs?: number;
  cpuTimeoutMs?: number;
  workerLoaders?: string[];
}

/** Hosts Durable Object classes in the current process. */
export declare class Runtime<Env = Record<string, unknown>> {
  constructor(options: RuntimeOptions);
  /** Namespace bindings and vars, for the main thread. */
  readonly env: Env;
  /** Rejects calls in flight, ends every thread. Idempotent. */
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface DurableObjectId {
  toString(): string;
  equals(other: DurableObjectId): boolean;
  readonly name?: string;
  readonly jurisdiction?: string;
}
export declare const DurableObjectId: { prototype: DurableObjectId };

export interface DurableObjectNamespaceGetDurableObjectOptions {
  locationHint?: string;
  routingMode?: 'primary-only';
}

type RpcMethods<T> = {
  [K in keyof T as K extends 'fetch' | 'alarm' | 'constructor' | 'dup' | `webSocket${string}`
    ? never
    : T[K] extends (...args: any[]) => any
      ? K
      : never]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** A stub for one object: every public method returns a Promise. */
export type DurableObjectStub<T = undefined> = (T extends undefined ? Record<string, (...args: any[]) => Promise<any>> : RpcMethods<T>) & {
  readonly id: DurableObjectId;
  readonly name?: string;
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  dup(): DurableObjectStub<T>;
  [Symbol.dispose](): void;
};

export declare class DurableObjectNamespace<T = undefined> {
  newUniqueId(options?: { jurisdiction?: string }): DurableObjectId;
  idFromName(name: string): DurableObjectId;
  idFromString(id: string): DurableObjectId;
  get(id: DurableObjectId, options?: DurableObjectNamespaceGetDurableObjectOptions): DurableObjectStub<T>;
  getByName(name: string, options?: DurableObjectNamespaceGetDurableObjectOptions): DurableObjectStub<T>;
  jurisdiction(jurisdiction: string): never;
}

export interface DurableObjectState<Props = unknown> {
  readonly id: DurableObjectId;
  readonly exports: Record<string, unknown>;
  readonly props: Props;
  waitUntil(promise: Promise<unknown>): void;
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
  abort(reason?: string): void;
}

export interface AlarmInvocationInfo {
  readonly isRetry: boolean;
  readonly retryCount: number;
}

/** Base class of Durable Objects. */
export declare abstract class DurableObject<Env = unknown, Props = {}> {
  protected ctx: DurableObjectState<Props>;
  protected env: Env;
  constructor(ctx: DurableObjectState<Props>, env: Env);
  fetch?(request: Request): Response | Promise<Response>;
  alarm?(alarmInfo?: AlarmInvocationInfo): void | Promise<void>;
}

/** Marker base class for objects passed by reference over RPC (a later milestone). */
export declare abstract class RpcTarget {}

export declare abstract class WorkerEntrypoint<Env = unknown> {
  protected ctx: unknown;
  protected env: Env;
  constructor(ctx: unknown, env: Env);
}
