// The executable plan: a tree of nodes, each producing rows in batches. The planner builds it
// from bound queries; executing it opens a cursor on the root, which opens its children.
import type { Row } from '../types/datum.js';
import type { SqlType } from '../types/oids.js';
import type { ExecContext } from '../exec/context.js';

export interface PlanColumn {
  readonly name: string;
  readonly type: SqlType;
  /** The table and attribute number the column is read from (RowDescription), else 0. */
  readonly tableOid: number;
  readonly columnAttr: number;
}

/** Pulls rows in batches; `null` means no more. Batches are never empty. */
export interface RowCursor {
  next(): Promise<Row[] | null>;
  close(): void;
}

/** One line of EXPLAIN output, with its children. */
export interface ExplainNode {
  readonly title: string;
  readonly details: readonly string[];
  readonly children: readonly ExplainNode[];
}

export interface PlanNode {
  readonly columns: readonly PlanColumn[];
  open(ctx: ExecContext): RowCursor;
  explain(): ExplainNode;
}

/** Rows per batch that nodes aim for. */
export const BATCH_ROWS = 256;

export function planColumn(name: string, type: SqlType, tableOid = 0, columnAttr = 0): PlanColumn {
  return { name, type, tableOid, columnAttr };
}

/** Reads a cursor to the end (bounded by `limit` rows). */
export async function drain(cursor: RowCursor, limit = Number.POSITIVE_INFINITY): Promise<Row[]> {
  const out: Row[] = [];
  try {
    while (out.length < limit) {
      const batch = await cursor.next();
      if (batch === null) break;
      for (const row of batch) {
        out.push(row);
        if (out.length >= limit) break;
      }
    }
  } finally {
    cursor.close();
  }
  return out;
}
