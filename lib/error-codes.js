// The error taxonomy, declared once in the core (core/src/error.rs `ErrorCode`) and read from the
// binding: `codes.FacetDeleted === "ERR_DO_FACET_DELETED"`.
import { native } from './native.js';

/** @type {Readonly<Record<string, string>>} */
export const codes = Object.freeze(native.errorCodes());

/**
 * Gives `err` the code named `name` (a key of `codes`) and returns it. An unknown name is a
 * defect of the runtime and throws, so a typo cannot ship an error without its code.
 * @template {Error} E
 * @param {E} err
 * @param {string} name
 * @returns {E}
 */
export function withCode(err, name) {
  const code = codes[name];
  if (code === undefined) throw new Error(`durable-facets: no error code named "${name}"`);
  err.code = code;
  return err;
}
