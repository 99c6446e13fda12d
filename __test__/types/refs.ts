// Type test of RPC by reference (SPEC §2.2): callbacks, RpcTarget results, pipelining.
import { DurableObject, RpcTarget, type DurableObjectNamespace, type Rpc } from '../../index.js';
import { assertType, type Equals } from './expect.js';

class Counter extends RpcTarget {
  n = 0;
  increment(by: number): number {
    return (this.n += by);
  }
  async label(): Promise<string> {
    return `n=${this.n}`;
  }
}

export class Board extends DurableObject {
  counter(_name: string): Counter {
    return new Counter();
  }
  async subscribe(callback: (message: string) => number): Promise<void> {
    callback('hello');
  }
  info(): { plain: string; double: (x: number) => number } {
    return { plain: 'p', double: (x) => x * 2 };
  }
}

declare const ns: DurableObjectNamespace<Board>;
const board = ns.getByName('b');

// A method returning an RpcTarget resolves to a stub of it.
const counter = await board.counter('a');
assertType<Equals<typeof counter, Rpc.Stub<Counter>>>();
const n: number = await counter.increment(2);
const label: string = await counter.label();
void n, label;
counter[Symbol.dispose]();
const again: Rpc.Stub<Counter> = counter.dup();
void again;

// Promise pipelining: the promise of a result is a stub of it.
const pipelined: number = await board.counter('b').increment(1);
void pipelined;

// Functions inside plain results arrive as callable stubs.
const info = await board.info();
const doubled: number = await info.double(21);
const plain: string = info.plain;
void doubled, plain;

// Callbacks are accepted as arguments.
await board.subscribe((m) => m.length);
// @ts-expect-error the callback's parameter types are checked
await board.subscribe((m: number) => m);

// @ts-expect-error own fields of an RpcTarget are not RPC members
void counter.n;
