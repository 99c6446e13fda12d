// DurableObjectId: 64 lowercase hex chars, as workerd derives them (see core/src/ids.rs).

const NAMESPACE = Symbol('namespace');

export class DurableObjectId {
  #hex;
  /** @type {string | undefined} */
  name;

  /** @internal */
  constructor(hex, name, namespaceToken) {
    this.#hex = hex;
    if (name !== undefined && name !== null) this.name = name;
    Object.defineProperty(this, NAMESPACE, { value: namespaceToken });
  }

  /** @returns {string} the id as 64 lowercase hex digits */
  toString() {
    return this.#hex;
  }

  /** @param {DurableObjectId} other */
  equals(other) {
    return other instanceof DurableObjectId && other.#hex === this.#hex;
  }

  get jurisdiction() {
    return undefined;
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `DurableObjectId(${this.#hex}${this.name !== undefined ? `, name: ${JSON.stringify(this.name)}` : ''})`;
  }
}

/** @internal the namespace token an id was made by */
export function namespaceOf(id) {
  return id[NAMESPACE];
}
