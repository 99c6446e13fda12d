// TypeScript user modules (SPEC §1): `.ts`/`.mts` files and loader modules named `*.ts` are
// stripped of their types by the runtime's own loader, whatever Node version and flags run it.
//
// Why amaro (the stripper Node itself bundles), pinned, rather than Node's
// `module.stripTypeScriptTypes`: that function exists only on Node ≥ 22.13 and prints an
// ExperimentalWarning on first use; with amaro every supported Node strips the same way
// (one behaviour, one set of error messages) and prints nothing. "strip-only" mode replaces
// types with spaces, so every line and column stays where it was: stack traces and load errors
// point into the user's .ts file without source maps.
//
// Loading amaro costs ~110 ms and its first transform ~30 ms (a 2.5 MB bundle with a wasm
// build of swc) — about as much as a whole thread boot. So a stripped source is cached on disk,
// keyed by a hash of the source: a thread boot (any thread, any process, after a restart)
// that finds its modules unchanged reads the cache and never loads amaro.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { withLocation } from './load-errors.js';

const require = createRequire(import.meta.url);

/** True for a module name or URL the loader strips (`.ts`, `.mts`; not declaration files). */
export function isTypeScript(name) {
  return /\.m?ts$/.test(name) && !/\.d\.m?ts$/.test(name);
}

let amaro = null;
let amaroVersion = null;

/** amaro's version, part of every cache key (a new stripper may strip differently). */
function stripperVersion() {
  // amaro exports no "./package.json"; its main is dist/index.js.
  amaroVersion ??= JSON.parse(
    fs.readFileSync(path.join(path.dirname(require.resolve('amaro')), '..', 'package.json'), 'utf8'),
  ).version;
  return amaroVersion;
}

/** The cache key of `source`: 40 hex digits. */
export function cacheKey(source) {
  return createHash('sha1').update(`amaro@${stripperVersion()}\0strip-only\0`).update(source).digest('hex');
}

/**
 * The cache directory: `<DURABLE_FACETS_TS_CACHE>/durable-facets-ts` (`0`, `off`, `false` or
 * an empty value turn the disk cache off), else `<tmpdir>/durable-facets-ts-<uid>`.
 *
 * Only a directory that is this user's own, private (no group or other access) and not a
 * symlink is used: in a shared tmpdir another user could otherwise pre-create the path (or a
 * symlink to somewhere else) and plant code the runtime would run, or have `prune` delete
 * files elsewhere. The configured path gets a subdirectory of ours for the same reason:
 * `prune` must only ever see cache entries.
 * @returns {string | null}
 */
function cacheDir() {
  if (cacheDirMemo !== undefined) return cacheDirMemo;
  const configured = process.env.DURABLE_FACETS_TS_CACHE;
  let dir;
  if (configured !== undefined) {
    dir = ['', '0', 'off', 'false'].includes(configured) ? null : path.join(path.resolve(configured), 'durable-facets-ts');
  } else {
    const uid = typeof process.getuid === 'function' ? process.getuid() : null;
    dir = path.join(os.tmpdir(), `durable-facets-ts-${uid ?? os.userInfo().username}`);
  }
  if (dir !== null && !privateDir(dir)) dir = null;
  cacheDirMemo = dir;
  return dir;
}

/** Creates `dir` (0700) if needed; true if it is a real directory, ours, and private. */
function privateDir(dir) {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    if (!st.isDirectory()) return false; // a symlink, whatever it points to
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return false;
    return process.platform === 'win32' || (st.mode & 0o077) === 0;
  } catch {
    return false;
  }
}
let cacheDirMemo;

/**
 * Stripped sources of this thread, by cache key: the most recent few (a recycled thread may
 * load many apps' loader code over its life; the disk cache keeps the rest).
 */
const memory = new Map();
const MEMORY_ENTRIES = 128;

/** Cache entries unused this long are removed (a hit does not refresh an entry: one re-strip a week). */
const MAX_AGE_MS = 7 * 24 * 3600 * 1000;
let pruned = false;

/** Names of cache entries: `<key>.js`, and `<key>.<pid>.<random>.tmp` while written. */
const ENTRY_NAME = /^[0-9a-f]{40}(?:\.js|\.\d+\.[a-z0-9]+\.tmp)$/;

/** Removes old entries, once per thread, on its first cache miss (edits leave old versions). */
function prune(dir) {
  if (pruned) return;
  pruned = true;
  const cutoff = Date.now() - MAX_AGE_MS;
  try {
    for (const name of fs.readdirSync(dir)) {
      // Only our own entries (`<key>.js`, and temporaries a crash left): nothing else.
      if (!ENTRY_NAME.test(name)) continue;
      const file = path.join(dir, name);
      try {
        const st = fs.lstatSync(file);
        if (st.isFile() && st.mtimeMs < cutoff) fs.rmSync(file, { force: true });
      } catch {}
    }
  } catch {}
}


function readCached(key) {
  const dir = cacheDir();
  if (dir === null) return undefined;
  let fd;
  try {
    // Not through a symlink planted in place of an entry.
    fd = fs.openSync(path.join(dir, `${key}.js`), fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
    return fs.readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function writeCached(key, code) {
  const dir = cacheDir();
  if (dir === null) return;
  prune(dir);
  // Write aside, then rename: a concurrent reader (another thread booting) sees all or nothing.
  const tmp = path.join(dir, `${key}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    fs.writeFileSync(tmp, code, { mode: 0o600 });
    fs.renameSync(tmp, path.join(dir, `${key}.js`));
  } catch {
    // A read-only or full disk only costs the next boot a strip.
    try {
      fs.rmSync(tmp, { force: true });
    } catch {}
  }
}

/**
 * `source` without its types (same length, same line and column of every token). A syntax
 * amaro refuses (enum, namespace, parameter property, `<T>x`, `import x = require()`) or a
 * parse error throws a SyntaxError naming `where` and line:column, code `ERR_DO_MODULE_LOAD`.
 * @param {string} source TypeScript source
 * @param {string} where how errors name the module (a path, or a loader module's name)
 * @returns {string} JavaScript
 */
export function stripTypes(source, where) {
  const key = cacheKey(source);
  let code = memory.get(key);
  if (code !== undefined) return code;
  code = readCached(key);
  if (code === undefined) {
    code = strip(source, where);
    writeCached(key, code);
  }
  memory.set(key, code);
  if (memory.size > MEMORY_ENTRIES) memory.delete(memory.keys().next().value);
  return code;
}

function strip(source, where) {
  amaro ??= require('amaro');
  try {
    return amaro.transformSync(source, { mode: 'strip-only' }).code;
  } catch (e) {
    throw stripError(e, source, where);
  }
}

/**
 * amaro throws its diagnostic as a string (swc's report: "  x <message>", the source lines,
 * carets under the offending span). Made a located SyntaxError.
 */
function stripError(thrown, source, where) {
  if (typeof thrown !== 'string') return thrown;
  // eslint-disable-next-line no-control-regex
  const report = thrown.replace(/\x1b\[[0-9;]*m/g, '');
  const lines = report.split('\n');
  const message = (/^\s*[x×]\s+(.*)$/.exec(lines.find((l) => /\S/.test(l)) ?? '')?.[1] ?? report.trim()).trim();
  const error = new SyntaxError(message);
  const at = reportedPosition(lines, source);
  return at === null ? withLocation(error, where) : withLocation(error, where, at.line, at.column);
}

/**
 * Line and column (1-based, UTF-16 as V8 counts) of the first caret of an amaro report: the
 * caret line (" : ^^^") follows the numbered source line (" 12 | code") it marks; the report
 * renders tabs as 4 columns and wide characters as 2.
 */
function reportedPosition(lines, source) {
  const sourceLine = (n) => source.split(/\r\n|\r|\n/)[n - 1] ?? '';
  for (let i = 0; i < lines.length; i++) {
    // A span over several lines (a namespace, an enum) is drawn ",-> first line … `-> last":
    // no caret; its first line's first token is where it starts.
    const multi = /^\s*(\d+)\s\|\s,->/.exec(lines[i]);
    if (multi !== null) {
      const line = Number(multi[1]);
      return { line, column: sourceLine(line).search(/\S|$/) + 1 };
    }
    if (i === 0) continue;
    const caret = /^(\s*):\s?(.*)$/.exec(lines[i]);
    if (caret === null || !caret[2].includes('^')) continue;
    const numbered = /^\s*(\d+)\s\|/.exec(lines[i - 1]);
    if (numbered === null) continue;
    const line = Number(numbered[1]);
    const display = caret[2].indexOf('^');
    const text = sourceLine(line);
    let width = 0;
    let index = 0;
    while (index < text.length && width < display) {
      const cp = text.codePointAt(index);
      width += cp === 0x09 ? 4 : isWide(cp) ? 2 : 1;
      index += cp > 0xffff ? 2 : 1;
    }
    return { line, column: index + 1 };
  }
  return null;
}

/** East Asian wide and emoji code points, which the report renders 2 columns wide. */
function isWide(cp) {
  return (
    cp > 0xffff ||
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6)
  );
}

/**
 * A relative import without its extension from a TypeScript module fails as in Node's own
 * type stripping (imports name files exactly); the error says which file was meant.
 * @param {unknown} error the resolution failure
 * @param {string} specifier
 * @param {string} parentUrl the importing module's URL
 */
export function suggestExtension(error, specifier, parentUrl) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !/^\.\.?\//.test(specifier) || !parentUrl.startsWith('file:')) return;
  if (/\.[cm]?[jt]s$/.test(specifier)) return;
  for (const ext of ['.ts', '.mts', '.js', '.mjs', '/index.ts', '/index.js']) {
    let file;
    try {
      file = new URL(specifier + ext, parentUrl);
      if (!fs.statSync(file).isFile()) continue;
    } catch {
      continue;
    }
    try {
      // Node names the resolver's caller (this package's loader), not the importing module.
      error.message = error.message.replace(/ imported from \S+$/, ` imported from ${fileURLToPath(parentUrl)}`);
      error.message += `. Did you mean "${specifier}${ext}"? Imports name files with their extension, as in Node's type stripping.`;
    } catch {}
    return;
  }
}
