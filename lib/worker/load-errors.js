// Where a module failed to load. SPEC §6.5: a syntax error, a throw at top level or a
// missing import is reported with the module's path (loader code: its module name) and
// line:column — in the message, since only the message and stack reach the caller.
//
// V8 keeps a SyntaxError's position in a private field that Node prints only for uncaught
// errors; `vm.SourceTextModule` exposes none of it. So the position is found again by
// compiling prefixes of the source (only on this failure path): the shortest prefix that
// fails with the same message ends at the offending token.
import { codes } from '../error-codes.js';

/** Errors already given a location (a module's error is rethrown on every import). */
const located = new WeakSet();

/** Code of load failures the runtime reports (a user's own `code` is kept). */
export const LOAD_ERROR_CODE = codes.ModuleLoad;

/** Line and column (1-based, as in stack frames) of UTF-16 offset `offset` of `source`. */
export function lineColumn(source, offset) {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x0a || c === 0x2028 || c === 0x2029 || (c === 0x0d && source.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/**
 * The offset of the token a compile error points at, or -1.
 * @param {string} source
 * @param {string} message the error's message
 * @param {(text: string) => void} compile throws like the original compile did
 */
export function locateSyntaxError(source, message, compile) {
  const failsSame = (n) => {
    try {
      compile(source.slice(0, n));
      return false;
    } catch (e) {
      return e?.message === message;
    }
  };
  if (!failsSame(source.length)) return -1;
  // Shortest failing prefix: prefixes that end before the offending token end early
  // ("Unexpected end of input") or fail differently.
  let lo = 0;
  let hi = source.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (failsSame(mid)) hi = mid;
    else lo = mid + 1;
  }
  // V8 points at the token's start; messages that quote it ("Unexpected token '}'",
  // "Unexpected identifier 'x'") let us step back over it.
  const quoted = /'([^']+)'$/.exec(message)?.[1];
  if (quoted !== undefined && source.slice(0, lo).endsWith(quoted)) return lo - quoted.length;
  return Math.max(0, lo - 1);
}

/**
 * Offset of the first string literal equal to `specifier` in `source` (its opening quote,
 * where V8 points for import errors), or -1.
 */
export function locateSpecifier(source, specifier) {
  let best = -1;
  for (const q of ["'", '"']) {
    const i = source.indexOf(q + specifier + q);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/**
 * Frame of `error`'s stack where a module threw at top level: the first frame in a
 * file: URL or loader module (named by `nameOf`), skipping this package's own files.
 * @param {unknown} error
 * @param {(location: string) => string | null} nameOf module path or name of a frame's
 *   script, or null for frames that are not user modules
 */
export function thrownAt(error, nameOf) {
  const stack = typeof error?.stack === 'string' ? error.stack : '';
  for (const line of stack.split('\n')) {
    const m = /^\s+at (?:.*? \()?(.+?):(\d+):(\d+)\)?$/.exec(line);
    if (m === null) continue;
    const where = nameOf(m[1]);
    if (where !== null) return { where, line: Number(m[2]), column: Number(m[3]) };
  }
  return null;
}

/**
 * Where Node's own loader (CommonJS) placed a SyntaxError: it prefixes the stack with
 * "<file>:<line>", the source line and a caret under the column.
 */
export function decoratedAt(error) {
  if (!(error instanceof SyntaxError) || typeof error.stack !== 'string') return null;
  const m = /^((?:file:\/\/|\/)[^\n]*?):(\d+)\n[^\n]*\n( *)\^/.exec(error.stack);
  if (m === null) return null;
  const where = m[1].startsWith('file:') ? decodeURIComponent(new URL(m[1]).pathname) : m[1];
  return { where, line: Number(m[2]), column: m[3].length + 1 };
}

/**
 * Adds "(at <where>:<line>:<column>)" to the message (and stack) of a load failure, once,
 * and a `code` when it has none. Non-object throws are left as they are.
 * @returns the same error
 */
export function withLocation(error, where, line, column) {
  if (error === null || typeof error !== 'object' || located.has(error)) return error;
  located.add(error);
  const at = where === undefined ? null : line === undefined ? where : `${where}:${line}:${column}`;
  try {
    if (at !== null) {
      const old = String(error.message ?? '');
      const message = `${old} (at ${at})`;
      const header = `${error.name ?? 'Error'}: ${old}`;
      error.message = message;
      if (typeof error.stack === 'string') {
        // A compile error's frames are the loader's, not the user's: show the module instead.
        error.stack =
          error instanceof SyntaxError && !error.stack.includes(`${where}:`)
            ? `${error.name}: ${message}\n    at ${at}`
            : error.stack.startsWith(header)
              ? `${error.name ?? 'Error'}: ${message}${error.stack.slice(header.length)}`
              : error.stack;
      }
    }
    if (error.code === undefined) error.code = LOAD_ERROR_CODE;
  } catch {
    // A frozen error stays as thrown.
  }
  return error;
}

/** True once `error` went through withLocation. */
export function isLocated(error) {
  return error !== null && typeof error === 'object' && located.has(error);
}
