// DurableObjectNamespace: ids and stubs for one namespace (same API as Cloudflare).
import { native } from './native.js';
import { DurableObjectId, namespaceOf } from './ids.js';
import { makeStub } from './stub.js';
import { withCode } from './error-codes.js';

const NOT_JURISDICTION = 'Jurisdiction restrictions are not implemented in durable-facets.';
const NOT_LOCATION = 'Location hints are not implemented in durable-facets.';

const notJurisdiction = () => withCode(new Error(NOT_JURISDICTION), 'NotSupported');

function checkGetOptions(options) {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object') throw withCode(new TypeError('get() options must be an object.'), 'InvalidArgument');
  if (options.locationHint !== undefined) throw withCode(new Error(NOT_LOCATION), 'NotSupported');
  if (options.jurisdiction !== undefined) throw notJurisdiction();
}

/**
 * @internal (lib/testing.js) The runtime id and namespace index of a namespace, or null for
 * anything else. Not a member: user code never sees it.
 * @type {(value: unknown) => { rt: number, ns: number } | null}
 */
export let namespaceTarget;

export class DurableObjectNamespace {
  #rt;
  #ns;
  #token;

  static {
    namespaceTarget = (v) => (v !== null && typeof v === 'object' && #rt in v ? { rt: v.#rt, ns: v.#ns } : null);
  }

  /** @internal */
  constructor(rt, ns, token) {
    this.#rt = rt;
    this.#ns = ns;
    this.#token = token;
  }

  /** @param {string} name */
  idFromName(name) {
    if (typeof name !== 'string') {
      throw withCode(new TypeError('idFromName() requires a string name.'), 'InvalidArgument');
    }
    return new DurableObjectId(native.idFromName(this.#rt, this.#ns, name), name, this.#token);
  }

  /** @param {{ jurisdiction?: string }} [options] */
  newUniqueId(options) {
    if (options?.jurisdiction !== undefined) throw notJurisdiction();
    return new DurableObjectId(native.newUniqueId(this.#rt, this.#ns), undefined, this.#token);
  }

  /** @param {string} id 64 hex digits */
  idFromString(id) {
    if (typeof id !== 'string') {
      throw withCode(new TypeError('Invalid Durable Object ID: must be 64 hex digits'), 'IdMalformed');
    }
    return new DurableObjectId(native.parseId(this.#rt, this.#ns, id), undefined, this.#token);
  }

  /**
   * @param {DurableObjectId} id
   * @param {object} [options]
   */
  get(id, options) {
    if (!(id instanceof DurableObjectId)) {
      throw withCode(new TypeError('get() requires a DurableObjectId.'), 'InvalidArgument');
    }
    if (namespaceOf(id) !== this.#token) {
      throw withCode(new TypeError('Durable Object ID is not valid for this namespace.'), 'IdWrongNamespace');
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
    throw notJurisdiction();
  }
}
