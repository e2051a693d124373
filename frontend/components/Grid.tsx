"use client";
import type { SqlValue } from "@/lib/types";

const LONG = 200;

export function Cell({ value, type }: { value: SqlValue; type: string | undefined }) {
  if (value === null || value === undefined) return <td className="cell-null">NULL</td>;
  if (type === "blob") return <td className="muted" title="base64">blob ({String(value).length * 3 / 4 | 0} bytes)</td>;
  if (typeof value === "number" || typeof value === "bigint") return <td className="cell-num">{String(value)}</td>;
  const text = String(value);
  return <td title={text.length > LONG ? text : undefined}>{text.length > LONG ? `${text.slice(0, LONG)}…` : text}</td>;
}

/** Rows of a query result: NULLs marked, numbers aligned, long text and blobs cut short. */
export function Grid({ columns, rows, types, testId = "grid", onEdit }: {
  columns: string[];
  rows: SqlValue[][];
  types?: (string | undefined)[][];
  testId?: string;
  /** Offer an Edit button on each row. */
  onEdit?: (row: number) => void;
}) {
  return (
    <div className="grid-wrap">
      <table className="t" data-testid={testId}>
        <thead><tr>{onEdit && <th />}{columns.map((c, i) => <th key={i} scope="col">{c}</th>)}</tr></thead>
        <tbody>
          {rows.map((row, r) => (
            <tr key={r}>
              {onEdit && <td><button type="button" className="link" onClick={() => onEdit(r)}>Edit</button></td>}
              {row.map((value, c) => <Cell key={c} value={value} type={types?.[r]?.[c]} />)}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
