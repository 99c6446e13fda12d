// Code written for Cloudflare, importing "cloudflare:workers": inside the runtime's threads
// that specifier is this package; tsconfig `paths` maps it to index.d.ts for TypeScript.
import { DurableObject, RpcTarget, WorkerEntrypoint } from 'cloudflare:workers';
import type { DurableObjectNamespace } from '../../index.js';
import { assertType, type Equals } from './expect.js';

interface PortableEnv {
  SELF: DurableObjectNamespace<Portable>;
}

export class Portable extends DurableObject<PortableEnv> {
  hello(name: string): string {
    return `hello ${name}`;
  }

  async again(): Promise<string> {
    const greeting = await this.env.SELF.getByName('other').hello('again');
    assertType<Equals<typeof greeting, string>>();
    return greeting;
  }
}

export class Target extends RpcTarget {}

export class Entry extends WorkerEntrypoint<PortableEnv> {
  override async fetch(): Promise<Response> {
    this.ctx.waitUntil(Promise.resolve());
    return new Response('ok');
  }
}
