// DurableObjectNamespace: ids and stubs for one namespace (same API as Cloudflare).
import { native } from './native.js';
import { DurableObjectId, namespaceOf } from './ids.js';
import { makeStub } from './stub.js';

const NOT_JURISDICTION = 'Jurisdiction restrictions are not implemented in durable-facets.';
const NOT_LOCATION = 'Location hints are not implemented in durable-facets.';

function checkGetOptions(options) {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object') throw new TypeError('get() options must be an object.');
  if (options.locationHint !== undefined) throw new Error(NOT_LOCATION);
  if (options.jurisdiction !== undefined) throw new Error(NOT_JURISDICTION);
}

export class DurableObjectNamespace {
  #rt;
  #ns;
  #token;

  /** @internal */
  constructor(rt, ns, token) {
    this.#rt = rt;
    this.#ns = ns;
    this.#token = token;
  }

  /** @param {string} name */
  idFromName(name) {
    if (typeof name !== 'string') {
      throw new TypeError('idFromName() requires a string name.');
    }
    return new DurableObjectId(native.idFromName(this.#rt, this.#ns, name), name, this.#token);
  }

  /** @param {{ jurisdiction?: string }} [options] */
  newUniqueId(options) {
    if (options?.jurisdiction !== undefined) throw new Error(NOT_JURISDICTION);
    return new DurableObjectId(native.newUniqueId(this.#rt, this.#ns), undefined, this.#token);
  }

  /** @param {string} id 64 hex digits */
  idFromString(id) {
    if (typeof id !== 'string') {
      throw new TypeError('Invalid Durable Object ID: must be 64 hex digits');
    }
    return new DurableObjectId(native.parseId(this.#rt, this.#ns, id), undefined, this.#token);
  }

  /**
   * @param {DurableObjectId} id
   * @param {object} [options]
   */
  get(id, options) {
    if (!(id instanceof DurableObjectId)) {
      throw new TypeError('get() requires a DurableObjectId.');
    }
    if (namespaceOf(id) !== this.#token) {
      throw new TypeError('Durable Object ID is not valid for this namespace.');
    }
    checkGetOptions(options);
    return makeStub({ rt: this.#rt, ns: this.#ns }, id);
  }

  /**
   * @param {string} name
   * @param {object} [options]
   */
  getByName(name, options) {
    checkGetOptions(options);
    return this.get(this.idFromName(name));
  }

  jurisdiction() {
    throw new Error(NOT_JURISDICTION);
  }
}
