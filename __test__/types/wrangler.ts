// Runtimes from wrangler configurations: Runtime.fromWranglerConfig and readWranglerConfig.
import { DurableObjectNamespace, Runtime, readWranglerConfig, type RuntimeOptions } from '../../index.js';
import { assertType, type Equals } from './expect.js';
import type { Room } from './worker.js';

export async function fromConfig(): Promise<void> {
  const rt = await Runtime.fromWranglerConfig<{ ROOMS: DurableObjectNamespace<Room> }>('./wrangler.jsonc', {
    storage: './data',
    idleTimeoutMs: 1000,
    durableObjects: { ROOMS: { facetFailure: 'isolate' } },
    env: 'staging',
  });
  assertType<Equals<typeof rt, Runtime<{ ROOMS: DurableObjectNamespace<Room> }>>>();
  await rt.env.ROOMS.getByName('lobby').join('alice');

  const untyped = await Runtime.fromWranglerConfig(new URL('file:///app/wrangler.toml'));
  assertType<Equals<typeof untyped, Runtime<Record<string, unknown>>>>();

  const options = await readWranglerConfig('wrangler.json');
  assertType<Equals<typeof options, RuntimeOptions>>();
  // @ts-expect-error overrides are Runtime options
  await readWranglerConfig('wrangler.json', { mian: 'x.js' });
  // @ts-expect-error env names a section
  await readWranglerConfig('wrangler.json', { env: 1 });
}
