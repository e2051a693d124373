"use client";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef } from "react";
import { Cell } from "@/components/Grid";
import type { SqlValue } from "@/lib/types";

// Rows are one line high (long text is cut short in the cell), so a fixed estimate holds.
const ROW_PX = 29;
// Ask for the next page while this many loaded rows are still below the view.
const AHEAD = 40;

/** A tall result in a scrolling box that renders only the rows in view (plus a margin); when
 *  the view nears the last loaded row and `onMore` is given, it asks for the next page. */
export function VirtualGrid({ columns, rows, types, testId = "grid", onEdit, onMore, loadingMore }: {
  columns: string[];
  rows: SqlValue[][];
  types?: (string | undefined)[][];
  testId?: string;
  onEdit?: (row: number) => void;
  /** Load the next page (absent: every row is loaded). */
  onMore?: () => void;
  loadingMore?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => box.current,
    estimateSize: () => ROW_PX,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0];
  const last = items[items.length - 1];
  const lastIndex = last?.index ?? -1;

  useEffect(() => {
    if (onMore && !loadingMore && lastIndex >= rows.length - AHEAD) onMore();
  }, [onMore, loadingMore, lastIndex, rows.length]);

  const top = first?.start ?? 0;
  const bottom = last ? virtualizer.getTotalSize() - last.end : 0;
  const span = columns.length + (onEdit ? 1 : 0);
  return (
    <div className="grid-wrap" ref={box} data-testid={`${testId}-scroll`}>
      <table className="t t-virtual" data-testid={testId} aria-rowcount={rows.length + 1}>
        <thead><tr>{onEdit && <th />}{columns.map((c, i) => <th key={i} scope="col">{c}</th>)}</tr></thead>
        <tbody>
          {top > 0 && <tr aria-hidden="true"><td colSpan={span} style={{ height: top, padding: 0, border: 0 }} /></tr>}
          {items.map((item) => {
            const row = rows[item.index] ?? [];
            return (
              <tr key={item.key} data-row={item.index} aria-rowindex={item.index + 2} style={{ height: ROW_PX }}>
                {onEdit && <td><button type="button" className="link" onClick={() => onEdit(item.index)}>Edit</button></td>}
                {row.map((value, c) => <Cell key={c} value={value} type={types?.[item.index]?.[c]} />)}
              </tr>
            );
          })}
          {bottom > 0 && <tr aria-hidden="true"><td colSpan={span} style={{ height: bottom, padding: 0, border: 0 }} /></tr>}
        </tbody>
      </table>
      {loadingMore && <p className="muted" role="status">Loading more rows…</p>}
    </div>
  );
}
