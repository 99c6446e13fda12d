// Error texts shared by the facade (exact strings from SPEC.md / workerd).

/** @param {string} ctorName */
export function dataCloneError(ctorName) {
  return new DOMException(`Could not serialize object of type "${ctorName}".`, 'DataCloneError');
}

/** @param {string} api */
export function notSupported(api) {
  return new Error(`${api} is not supported by durable-facets.`);
}

export const DISPOSED_MESSAGE = 'The Durable Object runtime has been disposed.';
