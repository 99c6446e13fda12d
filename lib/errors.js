// Error texts shared by the facade (exact strings from SPEC.md / workerd).
import { withCode } from './error-codes.js';

/** @param {string} ctorName */
export function dataCloneError(ctorName) {
  return new DOMException(`Could not serialize object of type "${ctorName}".`, 'DataCloneError');
}

/** @param {string} api */
export function notSupported(api) {
  return withCode(new Error(`${api} is not supported by durable-facets.`), 'NotSupported');
}

export const DISPOSED_MESSAGE = 'The Durable Object runtime has been disposed.';
