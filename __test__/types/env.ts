// `env` of "cloudflare:workers" (SPEC §1), typed as Cloudflare's: augment `Cloudflare.Env`.
import { env, DurableObject } from 'cloudflare:workers';
import type { DurableObjectNamespace } from '../../index.js';
import { assertType, type Equals } from './expect.js';

declare global {
  namespace Cloudflare {
    interface Env {
      GREETING: string;
      ENV_ROOMS: DurableObjectNamespace<EnvRoom>;
    }
  }
}

export class EnvRoom extends DurableObject<Cloudflare.Env> {
  greet(): string {
    return env.GREETING;
  }
}

assertType<Equals<typeof env.GREETING, string>>();
// @ts-expect-error env is read-only
env = {} as Cloudflare.Env;
