// Output of the durable-facets CLI: sizes, tables, stored values as text and as JSON.
import { inspect } from 'node:util';
import { deserialize } from '../storage/serialize.js';

/** `1234` → `"1.2 KiB"`. */
export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A text table: header, rule, rows (NULL for null cells); no trailing spaces. */
export function table(columns, rows) {
  const cells = [columns, ...rows.map((r) => r.map((c) => (c === null ? 'NULL' : c)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const last = columns.length - 1;
  const line = (r) => r.map((c, i) => (i === last ? String(c) : String(c).padEnd(widths[i]))).join(' | ');
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.slice(1).map(line)].join('\n');
}

/** A blob cell of an offline query (`x'0aff'`) → its bytes. */
export function blobBytes(cell) {
  return Buffer.from(cell.slice(2, -1), 'hex');
}

/**
 * One cell of an offline query as a JSON value, by its SQLite type (`kind`): integers as
 * numbers (as strings beyond 2^53), reals as numbers, blobs as `{ base64 }`.
 */
export function cellJson(cell, kind) {
  switch (kind) {
    case 'n':
      return null;
    case 'i': {
      const n = Number(cell);
      return Number.isSafeInteger(n) ? n : cell;
    }
    case 'r':
      return Number(cell);
    case 'b':
      return { base64: blobBytes(cell).toString('base64') };
    default:
      return cell;
  }
}

/**
 * A stored KV value (V8-serialized, as workerd stores it) → `{ value }`, or `{ error }` for
 * bytes that do not decode (a damaged value, or one written by something else).
 */
export function decodeValue(bytes) {
  try {
    return { value: deserialize(bytes) };
  } catch (e) {
    return { error: `undecodable value (${bytes.length} bytes): ${e.message}` };
  }
}

/** A decoded value as one line of text, as `util.inspect` shows it. */
export function valueText(value) {
  return inspect(value, { depth: 8, breakLength: Infinity, maxArrayLength: 100, maxStringLength: 2000, compact: true });
}

/**
 * A decoded value in a JSON-compatible form: BigInt → string, Map → object (or entries
 * when a key is not a string), Set → array, binary data → `{ base64 }`, undefined → null.
 */
export function valueJson(value) {
  return JSON.parse(JSON.stringify(value === undefined ? null : value, (_, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Map) return [...v.keys()].every((k) => typeof k === 'string') ? Object.fromEntries(v) : [...v];
    if (v instanceof Set) return [...v];
    if (v instanceof ArrayBuffer) return { base64: Buffer.from(v).toString('base64') };
    if (ArrayBuffer.isView(v)) return { base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
    if (v instanceof RegExp) return String(v);
    if (v instanceof Error) return { name: v.name, message: v.message };
    return v;
  }));
}
