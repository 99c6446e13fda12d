// Typical user code: Durable Object classes written as for Cloudflare, typed with the
// package's declarations.
import {
  DurableObject,
  RpcTarget,
  type AlarmInvocationInfo,
  type DurableObjectClass,
  type DurableObjectFacetStub,
  type DurableObjectNamespace,
  type DurableObjectState,
  type SqlStorageCursor,
  type WorkerLoader,
} from '../../index.js';
import { assertType, type Equals } from './expect.js';

/** `this.env` inside the objects: namespaces, class bindings, worker loaders, vars. */
export interface Env {
  ROOMS: DurableObjectNamespace<Room>;
  CHAT: DurableObjectClass<Chat>;
  LOADER: WorkerLoader;
  GREETING: string;
}

// ctx.exports, typed by augmenting the package's DurableObjectExports (names inside the
// augmentation resolve in the package's scope).
declare module '../../index.js' {
  interface DurableObjectExports {
    Chat: LoopbackDurableObjectClass<Chat>;
    Room: LoopbackDurableObjectNamespace<Room>;
  }
}

export interface ChatProps {
  lang: string;
}

export interface Message {
  user: string;
  text: string;
  at: number;
}

/** A facet class: its own thread and database, started by a Room. */
export class Chat extends DurableObject<Env, ChatProps> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS messages (user TEXT, text TEXT, at INTEGER)');
  }

  post(user: string, text: string): number {
    this.ctx.storage.sql.exec('INSERT INTO messages VALUES (?, ?, ?)', user, text, Date.now());
    return this.ctx.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM messages').one().n;
  }

  history(limit = 50): Message[] {
    const cursor = this.ctx.storage.sql.exec<{ user: string; text: string; at: number }>(
      'SELECT user, text, at FROM messages ORDER BY at DESC LIMIT ?',
      limit,
    );
    assertType<Equals<typeof cursor, SqlStorageCursor<{ user: string; text: string; at: number }>>>();
    const names: string[] = cursor.columnNames;
    void names;
    void cursor.rowsRead, cursor.rowsWritten;
    return cursor.toArray();
  }

  lang(): string {
    return this.ctx.props.lang;
  }

  raw(): (string | number)[][] {
    const rows: (string | number)[][] = [];
    for (const row of this.ctx.storage.sql.exec('SELECT user, at FROM messages').raw<[string, number]>()) {
      rows.push(row);
    }
    for (const row of this.ctx.storage.sql.exec('SELECT * FROM messages')) {
      assertType<Equals<typeof row, Record<string, ArrayBuffer | string | number | null>>>();
    }
    const step = this.ctx.storage.sql.exec<{ n: number }>('SELECT 1 AS n').next();
    if (!step.done) assertType<Equals<typeof step.value, { n: number }>>();
    return rows;
  }

  size(): number {
    return this.ctx.storage.sql.databaseSize;
  }
}

/** A root object: a namespace binding (ROOMS), with alarms, KV and facets. */
export class Room extends DurableObject<Env> {
  /** Not reachable over RPC: fields are not methods. */
  members = new Set<string>();

  async join(user: string): Promise<string[]> {
    this.members.add(user);
    const kv = this.ctx.storage.kv;
    kv.put(`member:${user}`, { joined: Date.now() });
    const joined = kv.get<{ joined: number }>(`member:${user}`)?.joined;
    void joined;
    for (const [key, value] of kv.list<{ joined: number }>({ prefix: 'member:', limit: 10 })) {
      assertType<Equals<typeof key, string>>();
      assertType<Equals<typeof value, { joined: number }>>();
    }
    const deleted: boolean = kv.delete('nobody');
    void deleted;
    await this.ctx.storage.setAlarm(Date.now() + 60_000);
    return [...this.members];
  }

  count(): number {
    return this.members.size;
  }

  greeting(): string {
    return this.env.GREETING;
  }

  // Facets, form B (Cloudflare's callback) with a class binding from env.
  private chat() {
    return this.ctx.facets.get('chat', () => ({ class: this.env.CHAT }));
  }

  async say(user: string, text: string): Promise<number> {
    const chat = this.chat();
    assertType<Equals<typeof chat, DurableObjectFacetStub<Chat>>>();
    const n = await chat.post(user, text);
    assertType<Equals<typeof n, number>>();
    const history = await chat.history();
    assertType<Equals<typeof history, Message[]>>();
    return n;
  }

  // Facets, form A (options object), with props and an explicit id.
  async frenchChat(): Promise<string> {
    const stub = this.ctx.facets.get('fr', {
      class: this.ctx.exports.Chat({ props: { lang: 'fr' } }),
      id: 'chat-fr',
    });
    return stub.lang();
  }

  // Form A with the object's own id; form B returning a Promise; ctx.exports loopbacks.
  async more(): Promise<void> {
    await this.ctx.facets.get('own-id', { class: this.env.CHAT, id: this.ctx.id }).post('a', 'b');
    const lazy = this.ctx.facets.get('lazy', async () => {
      await this.ctx.storage.sync();
      return { class: this.ctx.exports.Chat };
    });
    assertType<Equals<typeof lazy, DurableObjectFacetStub<Chat>>>();
    const n: number = await lazy.post('a', 'b');
    void n;
    // A namespace loopback is both a namespace and a facet class.
    const roomAsFacet = this.ctx.facets.get('sub-room', () => ({ class: this.ctx.exports.Room }));
    assertType<Equals<typeof roomAsFacet, DurableObjectFacetStub<Room>>>();
    const members: string[] = await roomAsFacet.join('x');
    void members;
    const other = this.ctx.exports.Room.getByName('other');
    const count: number = await other.count();
    void count;
    // An entry not declared in DurableObjectExports is an untyped class: its stub only has
    // fetch(), unless the class type is given explicitly.
    const untyped = this.ctx.facets.get('untyped', () => ({ class: this.ctx.exports['Unlisted']! }));
    assertType<Equals<typeof untyped, DurableObjectFacetStub>>();
    const explicit = this.ctx.facets.get<Chat>('explicit', () => ({ class: this.ctx.exports['Unlisted']! }));
    const m: Message[] = await explicit.history(5);
    void m;
    // Admin.
    this.ctx.facets.abort('lazy', 'restart please');
    this.ctx.facets.abort('lazy', new Error('restart please'));
    this.ctx.facets.delete('own-id');
    this.ctx.facets.clone('chat', 'chat-copy');
    const names: string[] = this.ctx.facets.list();
    void names;
    // fetch on a facet stub.
    const res: Response = await lazy.fetch('https://facet/history');
    void res;
  }

  // Classes supplied at run time through a worker loader.
  async dynamic(source: string): Promise<number> {
    const app = this.ctx.facets.get('app', async () => {
      const worker = this.env.LOADER.get('app-v1', async () => ({
        compatibilityDate: '2026-01-01',
        mainModule: 'app.js',
        modules: { 'app.js': source },
        env: { GREETING: 'hello', CHAT: this.env.CHAT },
      }));
      return { class: worker.getDurableObjectClass<Chat>('Chat', { props: { lang: 'en' } }) };
    });
    return app.post('bot', 'hi');
  }

  // Storage: async KV, transactions, alarms.
  async storage(): Promise<void> {
    const s = this.ctx.storage;
    const one = await s.get<number>('n');
    assertType<Equals<typeof one, number | undefined>>();
    const many = await s.get<number>(['a', 'b']);
    assertType<Equals<typeof many, Map<string, number>>>();
    await s.put('n', 1);
    await s.put({ a: 1, b: 2 }, { allowUnconfirmed: true });
    const existed: boolean = await s.delete('n');
    const removed: number = await s.delete(['a', 'b']);
    void existed, removed;
    const listed = await s.list<number>({ startAfter: 'a', end: 'z', reverse: true, limit: 2 });
    assertType<Equals<typeof listed, Map<string, number>>>();
    const total = s.transactionSync(() => s.sql.exec<{ n: number }>('SELECT 1 AS n').one().n);
    assertType<Equals<typeof total, number>>();
    const viaTxn = await s.transaction(async (txn) => {
      await txn.put('k', 'v');
      const v = await txn.get<string>('k');
      if (v === undefined) txn.rollback();
      return v;
    });
    assertType<Equals<typeof viaTxn, string | undefined>>();
    const alarm = await s.getAlarm();
    assertType<Equals<typeof alarm, number | null>>();
    await s.setAlarm(new Date(Date.now() + 1000));
    await s.deleteAlarm();
    await s.sync();
    await s.deleteAll();
  }

  // ctx lifetime controls.
  async lifetime(): Promise<string> {
    this.ctx.waitUntil(Promise.resolve());
    const value = await this.ctx.blockConcurrencyWhile(async () => 'ready');
    assertType<Equals<typeof value, string>>();
    const id: string = this.ctx.id.toString();
    const name: string | undefined = this.ctx.id.name;
    void name;
    if (value === 'never') this.ctx.abort('reset');
    return id;
  }

  override async fetch(request: Request): Promise<Response> {
    return new Response(`hello ${new URL(request.url).pathname}`);
  }

  override async alarm(info?: AlarmInvocationInfo): Promise<void> {
    if (info?.isRetry) console.log(`retry ${info.retryCount}`);
  }
}

/** RpcTarget subclasses load (passing them by reference is a later milestone). */
export class Counter extends RpcTarget {
  n = 0;
}
