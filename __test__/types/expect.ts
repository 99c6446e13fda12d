// Type-level assertions for the type test (never run: tsc checks them with noEmit).

/** True when A and B are the same type (not merely mutually assignable). */
export type Equals<A, B> = (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;

/** Fails to type-check unless T is `true`: `assertType<Equals<typeof x, string>>()`. */
export function assertType<_T extends true>(): void {}
