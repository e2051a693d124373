/**
 * 64-bit integers. SQLite integers are 64-bit; the server writes them as exact JSON numbers
 * (never quoted), and JSON.parse would round any beyond 2^53. `intMode` chooses what integer
 * cells (and `lastrowid`) of query results become:
 *
 * - `"number"` (default): a JS number; a value beyond Number.MAX_SAFE_INTEGER throws a
 *   CinchError `int_overflow` instead of being silently rounded.
 * - `"bigint"`: every integer cell is a `bigint`.
 * - `"string"`: every integer cell is its decimal string.
 *
 * In `bigint` and `string` modes the answer is parsed with lossless-json, so no digit is lost.
 * Parameters may be `bigint`s in every mode: they travel as exact JSON numbers.
 */
import { isInteger, parse, type LosslessNumber } from "lossless-json";

import { CinchError } from "./errors.js";

export type IntMode = "number" | "bigint" | "string";

/** A value of a query result cell (blobs are base64 text). */
export type Value = string | number | bigint | boolean | null;

/** A bound parameter: `bigint`s keep all 64 bits. */
export type Param = string | number | bigint | boolean | null;

export type Params = Param[] | Record<string, Param>;

const BIG = "\u0000cinch-bigint:";
const BIG_QUOTED = /"\\u0000cinch-bigint:(-?\d+)"/g;

/** JSON.stringify that writes bigints as exact JSON numbers. */
export function stringify(body: unknown): string {
  try {
    return JSON.stringify(body);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === "bigint" ? BIG + v.toString() : v));
    return text.replace(BIG_QUOTED, "$1");
  }
}

interface ResultLike {
  types?: string[][];
  rows?: unknown[][];
  lastrowid?: unknown;
}

function losslessNumber(text: string): unknown {
  return isInteger(text) ? { lossless: text } : Number(text);
}

function convert(raw: string, mode: IntMode): Value {
  return mode === "bigint" ? BigInt(raw) : raw;
}

function isLossless(v: unknown): v is { lossless: string } {
  return typeof v === "object" && v !== null && "lossless" in v;
}

/** Turns every remaining lossless integer that is not a row cell into a plain number. */
function plainNumbers(value: unknown): unknown {
  if (isLossless(value)) return Number(value.lossless);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = plainNumbers(value[i]);
    return value;
  }
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) obj[key] = plainNumbers(obj[key]);
  }
  return value;
}

function fixResult(result: ResultLike, mode: IntMode): void {
  const rows = result.rows ?? [];
  for (const row of rows) {
    for (let j = 0; j < row.length; j++) {
      const cell = row[j];
      if (isLossless(cell)) row[j] = convert(cell.lossless, mode);
    }
  }
  if (isLossless(result.lastrowid)) result.lastrowid = convert(result.lastrowid.lossless, mode);
}

/** Every query result inside a parsed answer (a result, a batch, a live frame). */
function resultsOf(data: unknown): ResultLike[] {
  if (!data || typeof data !== "object") return [];
  const obj = data as { results?: ResultLike[]; result?: ResultLike; rows?: unknown };
  if (Array.isArray(obj.results)) return obj.results;
  if (obj.result && typeof obj.result === "object") return [obj.result];
  if (Array.isArray(obj.rows)) return [obj as ResultLike];
  return [];
}

/** Parses an answer carrying query results in `bigint` or `string` mode. */
export function parseLossless(text: string, mode: Exclude<IntMode, "number">): unknown {
  const data = parse(text, undefined, losslessNumber as (v: string) => LosslessNumber);
  for (const result of resultsOf(data)) fixResult(result, mode);
  return plainNumbers(data);
}

/** In `number` mode: refuse integers JSON.parse could not keep exactly. */
export function checkSafe(data: unknown, operation?: string): void {
  for (const result of resultsOf(data)) {
    const types = result.types ?? [];
    const rows = result.rows ?? [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const kinds = types[i];
      for (let j = 0; j < row.length; j++) {
        const cell = row[j];
        if (typeof cell === "number" && !Number.isSafeInteger(cell) && kinds?.[j] === "integer") {
          throw new CinchError({
            code: "int_overflow",
            message: `row ${i}, column ${j} holds an integer beyond 2^53 that a JS number cannot keep`,
            hint: 'create the client with intMode: "bigint" or "string"',
            operation,
          });
        }
      }
    }
  }
}
