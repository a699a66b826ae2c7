// The relational operators of an executable plan, except those that touch tables (scan.ts) and
// those that write (mutations.ts). Each pulls batches from its children; those that must see all
// their input first (sort, aggregation, the build side of a hash join, set operations) hold at
// most ctx.memoryRowLimit rows and fail with 54000 beyond it.
import { SqlError, SqlState } from '../errors.js';
import type { Accumulator, AggregateOverload, SetReturningOverload, WindowOverload } from '../functions/registry.js';
import type { BoundExpr } from '../plan/bound.js';
import { BATCH_ROWS, type ExplainNode, type PlanColumn, type PlanNode, type RowCursor } from '../plan/plan_node.js';
import { datumKey } from '../types/compare.js';
import type { Datum, Row } from '../types/datum.js';
import type { SqlType } from '../types/oids.js';
import type { ExecContext } from './context.js';
import { compile, compilePredicate, type CompiledExpr } from './eval.js';

// ---- helpers ---------------------------------------------------------------------------------------------

class ArrayCursor implements RowCursor {
  private at = 0;
  constructor(private readonly rows: readonly Row[]) {}
  async next(): Promise<Row[] | null> {
    if (this.at >= this.rows.length) return null;
    const batch = this.rows.slice(this.at, this.at + BATCH_ROWS);
    this.at += batch.length;
    return batch;
  }
  close(): void {}
}

export function cursorOf(rows: readonly Row[]): RowCursor {
  return new ArrayCursor(rows);
}

export async function collect(cursor: RowCursor, ctx: ExecContext, what: string): Promise<Row[]> {
  const rows: Row[] = [];
  try {
    for (;;) {
      const batch = await cursor.next();
      if (batch === null) break;
      for (const r of batch) rows.push(r);
      if (rows.length > ctx.memoryRowLimit) {
        throw new SqlError(SqlState.programLimitExceeded, `${what} exceeds ${ctx.memoryRowLimit} rows held in memory`);
      }
      ctx.checkCancelled();
    }
  } finally {
    cursor.close();
  }
  return rows;
}

async function evalAll(exprs: readonly CompiledExpr[], row: Row, ctx: ExecContext): Promise<Datum[]> {
  const out: Datum[] = new Array(exprs.length);
  for (let i = 0; i < exprs.length; i++) {
    const e = exprs[i]!;
    out[i] = e.async ? await e.run(row, ctx) : e.sync!(row, ctx);
  }
  return out;
}

function allSync(exprs: readonly CompiledExpr[]): boolean {
  return exprs.every((e) => !e.async);
}

/** A grouping / distinct key for values of known types; null is a value of its own here. */
export function rowKey(values: readonly Datum[], oids: readonly number[]): string {
  let key = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    key += v === null ? '\u0000N' : `\u0000${datumKey(v, oids[i]!)}`;
  }
  return key;
}

function explain(title: string, details: string[], children: PlanNode[]): ExplainNode {
  return { title, details, children: children.map((c) => c.explain()) };
}

// ---- leaves -------------------------------------------------------------------------------------------------

/** VALUES (…), (…) and SELECT without FROM (one row of no columns feeding a projection). */
export class ValuesNode implements PlanNode {
  constructor(
    readonly columns: readonly PlanColumn[],
    private readonly rows: ReadonlyArray<readonly BoundExpr[]>,
  ) {}

  open(ctx: ExecContext): RowCursor {
    const compiled = this.rows.map((r) => r.map(compile));
    let at = 0;
    return {
      next: async () => {
        if (at >= compiled.length) return null;
        const batch: Row[] = [];
        while (at < compiled.length && batch.length < BATCH_ROWS) batch.push(await evalAll(compiled[at++]!, [], ctx));
        return batch;
      },
      close: () => {},
    };
  }

  explain(): ExplainNode {
    return explain(this.rows.length === 1 && this.columns.length === 0 ? 'Result' : 'Values Scan', [`rows: ${this.rows.length}`], []);
  }
}

/** Rows computed elsewhere (a materialized WITH query, the working table of a recursive one). */
export class MaterializedNode implements PlanNode {
  constructor(
    readonly columns: readonly PlanColumn[],
    private readonly source: (ctx: ExecContext) => Promise<readonly Row[]>,
    private readonly title: string,
  ) {}

  open(ctx: ExecContext): RowCursor {
    let rows: readonly Row[] | undefined;
    let at = 0;
    return {
      next: async () => {
        rows ??= await this.source(ctx);
        if (at >= rows.length) return null;
        const batch = rows.slice(at, at + BATCH_ROWS);
        at += batch.length;
        return batch as Row[];
      },
      close: () => {},
    };
  }

  explain(): ExplainNode {
    return explain(this.title, [], []);
  }
}

/** A set-returning function in FROM: generate_series(1, 10), unnest(array), ... */
export class FunctionScanNode implements PlanNode {
  constructor(
    readonly columns: readonly PlanColumn[],
    private readonly name: string,
    private readonly overload: SetReturningOverload,
    private readonly args: readonly BoundExpr[],
    private readonly argTypes: readonly SqlType[],
    private readonly withOrdinality: boolean,
  ) {}

  open(ctx: ExecContext): RowCursor {
    const args = this.args.map(compile);
    let it: Iterator<Datum[]> | undefined;
    let done = false;
    let ordinal = 0;
    return {
      next: async () => {
        if (done) return null;
        if (it === undefined) {
          const values = await evalAll(args, [], ctx);
          if (this.overload.strict !== false && values.some((v) => v === null)) {
            done = true;
            return null;
          }
          it = this.overload.rows(values, this.argTypes, ctx)[Symbol.iterator]();
        }
        const batch: Row[] = [];
        while (batch.length < BATCH_ROWS) {
          const r = it.next();
          if (r.done) {
            done = true;
            break;
          }
          ordinal++;
          batch.push(this.withOrdinality ? [...r.value, BigInt(ordinal)] : r.value);
        }
        ctx.checkCancelled();
        return batch.length === 0 ? null : batch;
      },
      close: () => {},
    };
  }

  explain(): ExplainNode {
    return explain(`Function Scan on ${this.name}`, [], []);
  }
}

// ---- row-at-a-time operators ---------------------------------------------------------------------------------

export class FilterNode implements PlanNode {
  constructor(
    private readonly child: PlanNode,
    readonly predicate: BoundExpr,
  ) {}

  get columns(): readonly PlanColumn[] {
    return this.child.columns;
  }

  open(ctx: ExecContext): RowCursor {
    const pred = compilePredicate(this.predicate);
    const input = this.child.open(ctx);
    return {
      next: async () => {
        for (;;) {
          const batch = await input.next();
          if (batch === null) return null;
          const out: Row[] = [];
          if (!pred.async) {
            const f = pred.sync!;
            for (const r of batch) if (f(r, ctx)) out.push(r);
          } else {
            for (const r of batch) if (await pred.run(r, ctx)) out.push(r);
          }
          if (out.length > 0) return out;
          ctx.checkCancelled();
        }
      },
      close: () => input.close(),
    };
  }

  explain(): ExplainNode {
    return explain('Filter', [], [this.child]);
  }
}

export class ProjectNode implements PlanNode {
  constructor(
    private readonly child: PlanNode,
    readonly exprs: readonly BoundExpr[],
    readonly columns: readonly PlanColumn[],
  ) {}

  open(ctx: ExecContext): RowCursor {
    const exprs = this.exprs.map(compile);
    const sync = allSync(exprs);
    const fns = exprs.map((e) => e.sync!);
    const n = fns.length;
    const input = this.child.open(ctx);
    return {
      next: async () => {
        const batch = await input.next();
        if (batch === null) return null;
        const out: Row[] = new Array(batch.length);
        if (sync) {
          for (let i = 0; i < batch.length; i++) {
            const r = batch[i]!;
            const o: Datum[] = new Array(n);
            for (let j = 0; j < n; j++) o[j] = fns[j]!(r, ctx);
            out[i] = o;
          }
        } else {
          for (let i = 0; i < batch.length; i++) out[i] = await evalAll(exprs, batch[i]!, ctx);
        }
        return out;
      },
      close: () => input.close(),
    };
  }

  explain(): ExplainNode {
    return this.child.explain();
  }
}

export class LimitNode implements PlanNode {
  constructor(
    private readonly child: PlanNode,
    private readonly limit: BoundExpr | undefined,
    private readonly offset: BoundExpr | undefined,
  ) {}

  get columns(): readonly PlanColumn[] {
    return this.child.columns;
  }

  open(ctx: ExecContext): RowCursor {
    let remaining = Number.POSITIVE_INFINITY;
    let skip = 0;
    let started = false;
    let input: RowCursor | undefined;
    const start = async (): Promise<void> => {
      started = true;
      if (this.limit !== undefined) {
        const v = await compile(this.limit).run([], ctx);
        if (v !== null) {
          const n = Number(v);
          if (n < 0) throw new SqlError(SqlState.invalidRowCountInLimitClause, 'LIMIT must not be negative');
          remaining = n;
        }
      }
      if (this.offset !== undefined) {
        const v = await compile(this.offset).run([], ctx);
        if (v !== null) {
          const n = Number(v);
          if (n < 0) throw new SqlError(SqlState.invalidRowCountInResultOffsetClause, 'OFFSET must not be negative');
          skip = n;
        }
      }
      if (remaining > 0) input = this.child.open(ctx);
    };
    return {
      next: async () => {
        if (!started) await start();
        if (input === undefined) return null;
        while (remaining > 0) {
          const batch = await input.next();
          if (batch === null) break;
          let rows = batch;
          if (skip > 0) {
            if (skip >= rows.length) {
              skip -= rows.length;
              continue;
            }
            rows = rows.slice(skip);
            skip = 0;
          }
          if (rows.length > remaining) rows = rows.slice(0, remaining);
          remaining -= rows.length;
          if (remaining <= 0) {
            input.close();
            input = undefined;
          }
          return rows;
        }
        input?.close();
        input = undefined;
        return null;
      },
      close: () => input?.close(),
    };
  }

  explain(): ExplainNode {
    return explain('Limit', [], [this.child]);
  }
}

// ---- sort, distinct ---------------------------------------------------------------------------------------

export interface SortKey {
  readonly expr: BoundExpr;
  readonly descending: boolean;
  readonly nullsFirst: boolean;
  /** Compares two non-null values. */
  readonly compare: (a: Datum, b: Datum) => number;
}

export class SortNode implements PlanNode {
  constructor(
    private readonly child: PlanNode,
    private readonly keys: readonly SortKey[],
  ) {}

  get columns(): readonly PlanColumn[] {
    return this.child.columns;
  }

  open(ctx: ExecContext): RowCursor {
    let sorted: Row[] | undefined;
    let at = 0;
    const keys = this.keys.map((k) => ({ ...k, eval: compile(k.expr) }));
    return {
      next: async () => {
        if (sorted === undefined) {
          const rows = await collect(this.child.open(ctx), ctx, 'a sort');
          const withKeys: Array<{ row: Row; key: Datum[]; seq: number }> = [];
          for (let i = 0; i < rows.length; i++) {
            const row = rows[i]!;
            const key: Datum[] = [];
            for (const k of keys) key.push(k.eval.async ? await k.eval.run(row, ctx) : k.eval.sync!(row, ctx));
            withKeys.push({ row, key, seq: i });
          }
          withKeys.sort((a, b) => {
            for (let i = 0; i < keys.length; i++) {
              const k = keys[i]!;
              const x = a.key[i]!;
              const y = b.key[i]!;
              if (x === null || y === null) {
                if (x === y) continue;
                // nulls first/last is independent of the direction
                return (x === null) === k.nullsFirst ? -1 : 1;
              }
              const c = k.compare(x, y);
              if (c !== 0) return k.descending ? -c : c;
            }
            return a.seq - b.seq;
          });
          sorted = withKeys.map((w) => w.row);
        }
        if (at >= sorted.length) return null;
        const batch = sorted.slice(at, at + BATCH_ROWS);
        at += batch.length;
        return batch;
      },
      close: () => {},
    };
  }

  explain(): ExplainNode {
    return explain('Sort', [], [this.child]);
  }
}

/** DISTINCT (on = all columns) or DISTINCT ON (the first row of each group of the input order). */
export class DistinctNode implements PlanNode {
  constructor(
    private readonly child: PlanNode,
    private readonly on: readonly BoundExpr[] | undefined,
  ) {}

  get columns(): readonly PlanColumn[] {
    return this.child.columns;
  }

  open(ctx: ExecContext): RowCursor {
    const seen = new Set<string>();
    const on = this.on?.map(compile);
    const oids = this.on ? this.on.map((e) => e.type.oid) : this.child.columns.map((c) => c.type.oid);
    const input = this.child.open(ctx);
    return {
      next: async () => {
        for (;;) {
          const batch = await input.next();
          if (batch === null) return null;
          const out: Row[] = [];
          for (const r of batch) {
            const values = on ? await evalAll(on, r, ctx) : r;
            const key = rowKey(values, oids);
            if (seen.has(key)) continue;
            seen.add(key);
            if (seen.size > ctx.memoryRowLimit) throw new SqlError(SqlState.programLimitExceeded, `DISTINCT exceeds ${ctx.memoryRowLimit} rows held in memory`);
            out.push(r);
          }
          if (out.length > 0) return out;
        }
      },
      close: () => input.close(),
    };
  }

  explain(): ExplainNode {
    return explain(this.on ? 'Unique (DISTINCT ON)' : 'HashAggregate (DISTINCT)', [], [this.child]);
  }
}

// ---- set operations --------------------------------------------------------------------------------------

export class SetOpNode implements PlanNode {
  constructor(
    readonly columns: readonly PlanColumn[],
    private readonly op: 'union' | 'intersect' | 'except',
    private readonly all: boolean,
    private readonly left: PlanNode,
    private readonly right: PlanNode,
  ) {}

  open(ctx: ExecContext): RowCursor {
    const oids = this.columns.map((c) => c.type.oid);
    if (this.op === 'union' && this.all) {
      let current: RowCursor | undefined = this.left.open(ctx);
      let onRight = false;
      return {
        next: async () => {
          while (current !== undefined) {
            const batch = await current.next();
            if (batch !== null) return batch;
            current.close();
            if (onRight) current = undefined;
            else {
              onRight = true;
              current = this.right.open(ctx);
            }
          }
          return null;
        },
        close: () => current?.close(),
      };
    }
    let result: Row[] | undefined;
    let at = 0;
    return {
      next: async () => {
        if (result === undefined) result = await this.compute(ctx, oids);
        if (at >= result.length) return null;
        const batch = result.slice(at, at + BATCH_ROWS);
        at += batch.length;
        return batch;
      },
      close: () => {},
    };
  }

  private async compute(ctx: ExecContext, oids: number[]): Promise<Row[]> {
    const left = await collect(this.left.open(ctx), ctx, 'a set operation');
    const right = await collect(this.right.open(ctx), ctx, 'a set operation');
    const out: Row[] = [];
    if (this.op === 'union') {
      const seen = new Set<string>();
      for (const r of [...left, ...right]) {
        const k = rowKey(r, oids);
        if (!seen.has(k)) {
          seen.add(k);
          out.push(r);
        }
      }
      return out;
    }
    const counts = new Map<string, number>();
    for (const r of right) {
      const k = rowKey(r, oids);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const emitted = new Set<string>();
    for (const r of left) {
      const k = rowKey(r, oids);
      const c = counts.get(k) ?? 0;
      if (this.op === 'intersect') {
        if (c > 0) {
          if (this.all) {
            counts.set(k, c - 1);
            out.push(r);
          } else if (!emitted.has(k)) {
            emitted.add(k);
            out.push(r);
          }
        }
      } else {
        // except
        if (this.all) {
          if (c > 0) counts.set(k, c - 1);
          else out.push(r);
        } else if (c === 0 && !emitted.has(k)) {
          emitted.add(k);
          out.push(r);
        }
      }
    }
    return out;
  }

  explain(): ExplainNode {
    return explain(`${this.op === 'union' ? (this.all ? 'Append' : 'HashSetOp Union') : `HashSetOp ${this.op === 'intersect' ? 'Intersect' : 'Except'}${this.all ? ' All' : ''}`}`, [], [this.left, this.right]);
  }
}

// ---- joins ------------------------------------------------------------------------------------------------

export type JoinType = 'inner' | 'left' | 'right' | 'full' | 'cross' | 'semi' | 'anti';

function nulls(n: number): Datum[] {
  return new Array<Datum>(n).fill(null);
}

export class HashJoinNode implements PlanNode {
  readonly columns: readonly PlanColumn[];

  constructor(
    private readonly type: JoinType,
    private readonly left: PlanNode,
    private readonly right: PlanNode,
    /** Key expressions over the left row and over the right row (same count, comparable types). */
    private readonly leftKeys: readonly BoundExpr[],
    private readonly rightKeys: readonly BoundExpr[],
    /** Extra condition over the joined row (left ++ right). */
    private readonly residual: BoundExpr | undefined,
  ) {
    this.columns = type === 'semi' || type === 'anti' ? left.columns : [...left.columns, ...right.columns];
  }

  open(ctx: ExecContext): RowCursor {
    const leftKeys = this.leftKeys.map(compile);
    const rightKeys = this.rightKeys.map(compile);
    const oids = this.leftKeys.map((k) => k.type.oid);
    const residual = this.residual === undefined ? undefined : compilePredicate(this.residual);
    const leftWidth = this.left.columns.length;
    const rightWidth = this.right.columns.length;
    const type = this.type;
    let table: Map<string, Array<{ row: Row; matched: boolean }>> | undefined;
    let allRight: Array<{ row: Row; matched: boolean }> = [];
    let input: RowCursor | undefined;
    let finished = false;
    const build = async (): Promise<void> => {
      table = new Map();
      const rows = await collect(this.right.open(ctx), ctx, 'a hash join');
      for (const row of rows) {
        const key = await evalAll(rightKeys, row, ctx);
        const entry = { row, matched: false };
        allRight.push(entry);
        if (key.some((v) => v === null)) continue;
        const k = rowKey(key, oids);
        const bucket = table.get(k);
        if (bucket === undefined) table.set(k, [entry]);
        else bucket.push(entry);
      }
      input = this.left.open(ctx);
    };
    return {
      next: async () => {
        if (table === undefined) await build();
        while (!finished) {
          const batch = await input!.next();
          if (batch === null) {
            finished = true;
            input!.close();
            if (type === 'right' || type === 'full') {
              const out = allRight.filter((e) => !e.matched).map((e) => [...nulls(leftWidth), ...e.row]);
              allRight = [];
              if (out.length > 0) return out;
            }
            return null;
          }
          const out: Row[] = [];
          for (const l of batch) {
            const key = await evalAll(leftKeys, l, ctx);
            const bucket = key.some((v) => v === null) ? undefined : table!.get(rowKey(key, oids));
            let matched = false;
            if (bucket !== undefined) {
              for (const entry of bucket) {
                const joined = [...l, ...entry.row];
                if (residual !== undefined && !(residual.async ? await residual.run(joined, ctx) : residual.sync!(joined, ctx))) continue;
                matched = true;
                entry.matched = true;
                if (type === 'semi' || type === 'anti') break;
                out.push(joined);
              }
            }
            if (type === 'semi' && matched) out.push(l);
            else if (type === 'anti' && !matched) out.push(l);
            else if (!matched && (type === 'left' || type === 'full')) out.push([...l, ...nulls(rightWidth)]);
          }
          if (out.length > 0) return out;
          ctx.checkCancelled();
        }
        return null;
      },
      close: () => input?.close(),
    };
  }

  explain(): ExplainNode {
    return explain(`Hash ${this.type === 'inner' ? '' : this.type[0]!.toUpperCase() + this.type.slice(1) + ' '}Join`, [`keys: ${this.leftKeys.length}`], [this.left, this.right]);
  }
}

/** A join by nested loops over the materialized right side (any condition; also cross joins). */
export class NestedLoopJoinNode implements PlanNode {
  readonly columns: readonly PlanColumn[];

  constructor(
    private readonly type: JoinType,
    private readonly left: PlanNode,
    private readonly right: PlanNode,
    private readonly predicate: BoundExpr | undefined,
  ) {
    this.columns = type === 'semi' || type === 'anti' ? left.columns : [...left.columns, ...right.columns];
  }

  open(ctx: ExecContext): RowCursor {
    const pred = this.predicate === undefined ? undefined : compilePredicate(this.predicate);
    const leftWidth = this.left.columns.length;
    const rightWidth = this.right.columns.length;
    const type = this.type;
    let rightRows: Row[] | undefined;
    let rightMatched: boolean[] = [];
    let input: RowCursor | undefined;
    let finished = false;
    return {
      next: async () => {
        if (rightRows === undefined) {
          rightRows = await collect(this.right.open(ctx), ctx, 'a nested-loop join');
          rightMatched = new Array<boolean>(rightRows.length).fill(false);
          input = this.left.open(ctx);
        }
        while (!finished) {
          const batch = await input!.next();
          if (batch === null) {
            finished = true;
            input!.close();
            if (type === 'right' || type === 'full') {
              const out: Row[] = [];
              for (let i = 0; i < rightRows.length; i++) if (!rightMatched[i]) out.push([...nulls(leftWidth), ...rightRows[i]!]);
              if (out.length > 0) return out;
            }
            return null;
          }
          const out: Row[] = [];
          for (const l of batch) {
            let matched = false;
            for (let i = 0; i < rightRows.length; i++) {
              const joined = [...l, ...rightRows[i]!];
              if (pred !== undefined && !(pred.async ? await pred.run(joined, ctx) : pred.sync!(joined, ctx))) continue;
              matched = true;
              rightMatched[i] = true;
              if (type === 'semi' || type === 'anti') break;
              out.push(joined);
            }
            if (type === 'semi' && matched) out.push(l);
            else if (type === 'anti' && !matched) out.push(l);
            else if (!matched && (type === 'left' || type === 'full')) out.push([...l, ...nulls(rightWidth)]);
            if (out.length > ctx.memoryRowLimit) throw new SqlError(SqlState.programLimitExceeded, `a join produced more than ${ctx.memoryRowLimit} rows in one batch`);
          }
          ctx.checkCancelled();
          if (out.length > 0) return out;
        }
        return null;
      },
      close: () => input?.close(),
    };
  }

  explain(): ExplainNode {
    return explain(`Nested Loop${this.type === 'inner' || this.type === 'cross' ? '' : ` ${this.type[0]!.toUpperCase()}${this.type.slice(1)} Join`}`, [], [this.left, this.right]);
  }
}

/** A join whose right side is re-planned for every left row (LATERAL, correlated FROM items). */
export class ApplyJoinNode implements PlanNode {
  readonly columns: readonly PlanColumn[];

  constructor(
    private readonly type: 'inner' | 'left',
    private readonly left: PlanNode,
    private readonly right: PlanNode,
    private readonly predicate: BoundExpr | undefined,
  ) {
    this.columns = [...left.columns, ...right.columns];
  }

  open(ctx: ExecContext): RowCursor {
    const pred = this.predicate === undefined ? undefined : compilePredicate(this.predicate);
    const rightWidth = this.right.columns.length;
    const input = this.left.open(ctx);
    return {
      next: async () => {
        for (;;) {
          const batch = await input.next();
          if (batch === null) return null;
          const out: Row[] = [];
          for (const l of batch) {
            const rights = await ctx.runSubquery(this.right, l, Number.POSITIVE_INFINITY);
            let matched = false;
            for (const r of rights) {
              const joined = [...l, ...r];
              if (pred !== undefined && !(await pred.run(joined, ctx))) continue;
              matched = true;
              out.push(joined);
            }
            if (!matched && this.type === 'left') out.push([...l, ...nulls(rightWidth)]);
          }
          if (out.length > 0) return out;
        }
      },
      close: () => input.close(),
    };
  }

  explain(): ExplainNode {
    return explain('Nested Loop (lateral)', [], [this.left, this.right]);
  }
}

// ---- aggregation ------------------------------------------------------------------------------------------

export interface AggregateCall {
  readonly name: string;
  readonly overload: AggregateOverload;
  readonly argTypes: readonly SqlType[];
  readonly args: readonly BoundExpr[];
  readonly distinct: boolean;
  readonly filter: BoundExpr | undefined;
  /** ORDER BY inside the call (array_agg(x ORDER BY y)). */
  readonly orderBy: readonly SortKey[];
  /** count(*): counts rows, not values. */
  readonly star: boolean;
}

interface GroupState {
  readonly key: Datum[];
  readonly accs: Accumulator[];
  readonly seen: Array<Set<string> | undefined>;
  readonly ordered: Array<Array<{ args: Datum[]; sort: Datum[] }> | undefined>;
}

/** GROUP BY (or a whole-input aggregate): output rows are group keys then aggregate results. */
export class HashAggregateNode implements PlanNode {
  constructor(
    private readonly child: PlanNode,
    private readonly groupBy: readonly BoundExpr[],
    private readonly aggregates: readonly AggregateCall[],
    readonly columns: readonly PlanColumn[],
  ) {}

  open(ctx: ExecContext): RowCursor {
    let result: Row[] | undefined;
    let at = 0;
    return {
      next: async () => {
        if (result === undefined) result = await this.compute(ctx);
        if (at >= result.length) return null;
        const batch = result.slice(at, at + BATCH_ROWS);
        at += batch.length;
        return batch;
      },
      close: () => {},
    };
  }

  private newGroup(key: Datum[]): GroupState {
    return {
      key,
      accs: this.aggregates.map((a) => a.overload.create(a.argTypes)),
      seen: this.aggregates.map((a) => (a.distinct ? new Set<string>() : undefined)),
      ordered: this.aggregates.map((a) => (a.orderBy.length > 0 ? [] : undefined)),
    };
  }

  private async compute(ctx: ExecContext): Promise<Row[]> {
    const groupExprs = this.groupBy.map(compile);
    const groupOids = this.groupBy.map((e) => e.type.oid);
    const aggs = this.aggregates.map((a) => ({
      call: a,
      args: a.args.map(compile),
      filter: a.filter === undefined ? undefined : compilePredicate(a.filter),
      order: a.orderBy.map((k) => compile(k.expr)),
      argOids: a.args.map((e) => e.type.oid),
      strict: a.overload.strict !== false,
    }));
    const groups = new Map<string, GroupState>();
    const input = this.child.open(ctx);
    try {
      for (;;) {
        const batch = await input.next();
        if (batch === null) break;
        for (const row of batch) {
          const key = await evalAll(groupExprs, row, ctx);
          const k = rowKey(key, groupOids);
          let g = groups.get(k);
          if (g === undefined) {
            g = this.newGroup(key);
            groups.set(k, g);
            if (groups.size > ctx.memoryRowLimit) throw new SqlError(SqlState.programLimitExceeded, `GROUP BY exceeds ${ctx.memoryRowLimit} groups held in memory`);
          }
          for (let i = 0; i < aggs.length; i++) {
            const a = aggs[i]!;
            if (a.filter !== undefined && !(a.filter.async ? await a.filter.run(row, ctx) : a.filter.sync!(row, ctx))) continue;
            const args = await evalAll(a.args, row, ctx);
            if (!a.call.star && a.strict && args.some((v) => v === null)) continue;
            const seen = g.seen[i];
            if (seen !== undefined) {
              const dk = rowKey(args, a.argOids);
              if (seen.has(dk)) continue;
              seen.add(dk);
            }
            const ordered = g.ordered[i];
            if (ordered !== undefined) ordered.push({ args, sort: await evalAll(a.order, row, ctx) });
            else g.accs[i]!.add(args, ctx);
          }
        }
        ctx.checkCancelled();
      }
    } finally {
      input.close();
    }
    if (groups.size === 0 && this.groupBy.length === 0) groups.set('', this.newGroup([]));
    const out: Row[] = [];
    for (const g of groups.values()) {
      for (let i = 0; i < aggs.length; i++) {
        const ordered = g.ordered[i];
        if (ordered === undefined) continue;
        const keys = aggs[i]!.call.orderBy;
        ordered.sort((a, b) => {
          for (let j = 0; j < keys.length; j++) {
            const k = keys[j]!;
            const x = a.sort[j]!;
            const y = b.sort[j]!;
            if (x === null || y === null) {
              if (x === y) continue;
              return (x === null) === k.nullsFirst ? -1 : 1;
            }
            const c = k.compare(x, y);
            if (c !== 0) return k.descending ? -c : c;
          }
          return 0;
        });
        for (const o of ordered) g.accs[i]!.add(o.args, ctx);
      }
      out.push([...g.key, ...g.accs.map((a) => a.result(ctx))]);
    }
    return out;
  }

  explain(): ExplainNode {
    return explain(this.groupBy.length > 0 ? 'HashAggregate' : 'Aggregate', [], [this.child]);
  }
}

// ---- window functions ---------------------------------------------------------------------------------------

export interface WindowCall {
  readonly overload: WindowOverload | undefined;
  /** An aggregate used as a window function (sum(x) OVER (...)). */
  readonly aggregate: AggregateCall | undefined;
  readonly args: readonly BoundExpr[];
  readonly partitionBy: readonly BoundExpr[];
  readonly orderBy: readonly SortKey[];
  /** 'range' (default: frame ends at the last peer) or 'rows'; 'whole' when no ORDER BY. */
  readonly frame: { readonly mode: 'range' | 'rows'; readonly start: FrameBound; readonly end: FrameBound };
}

export type FrameBound = { readonly kind: 'unboundedPreceding' | 'currentRow' | 'unboundedFollowing' } | { readonly kind: 'preceding' | 'following'; readonly offset: number };

/** Appends one column per window function to each input row. Input order is not preserved. */
export class WindowNode implements PlanNode {
  readonly columns: readonly PlanColumn[];

  constructor(
    private readonly child: PlanNode,
    private readonly calls: readonly WindowCall[],
    extra: readonly PlanColumn[],
  ) {
    this.columns = [...child.columns, ...extra];
  }

  open(ctx: ExecContext): RowCursor {
    let result: Row[] | undefined;
    let at = 0;
    return {
      next: async () => {
        if (result === undefined) result = await this.compute(ctx);
        if (at >= result.length) return null;
        const batch = result.slice(at, at + BATCH_ROWS);
        at += batch.length;
        return batch;
      },
      close: () => {},
    };
  }

  private async compute(ctx: ExecContext): Promise<Row[]> {
    const rows = await collect(this.child.open(ctx), ctx, 'a window function');
    const results: Datum[][] = rows.map(() => []);
    for (const call of this.calls) {
      const part = call.partitionBy.map(compile);
      const partOids = call.partitionBy.map((e) => e.type.oid);
      const order = call.orderBy.map((k) => compile(k.expr));
      const args = call.args.map(compile);
      const partitions = new Map<string, number[]>();
      const sortKeys: Datum[][] = [];
      for (let i = 0; i < rows.length; i++) {
        const pk = rowKey(await evalAll(part, rows[i]!, ctx), partOids);
        let list = partitions.get(pk);
        if (list === undefined) partitions.set(pk, (list = []));
        list.push(i);
        sortKeys.push(await evalAll(order, rows[i]!, ctx));
      }
      const cmpKeys = (a: number, b: number): number => {
        for (let j = 0; j < call.orderBy.length; j++) {
          const k = call.orderBy[j]!;
          const x = sortKeys[a]![j]!;
          const y = sortKeys[b]![j]!;
          if (x === null || y === null) {
            if (x === y) continue;
            return (x === null) === k.nullsFirst ? -1 : 1;
          }
          const c = k.compare(x, y);
          if (c !== 0) return k.descending ? -c : c;
        }
        return 0;
      };
      for (const indexes of partitions.values()) {
        indexes.sort((a, b) => cmpKeys(a, b) || a - b);
        const partRows = indexes.map((i) => rows[i]!);
        const argCache = new Map<number, Datum[]>();
        const argsOf = (local: number): Datum[] => {
          let v = argCache.get(local);
          if (v === undefined) {
            v = args.map((a) => (a.async ? null : a.sync!(partRows[local]!, ctx)));
            argCache.set(local, v);
          }
          return v;
        };
        let peerStart = 0;
        for (let local = 0; local < indexes.length; local++) {
          if (local > 0 && cmpKeys(indexes[local - 1]!, indexes[local]!) !== 0) peerStart = local;
          let peerEnd = local + 1;
          while (peerEnd < indexes.length && cmpKeys(indexes[local]!, indexes[peerEnd]!) === 0) peerEnd++;
          const [frameStart, frameEnd] = frameOf(call, local, peerStart, peerEnd, indexes.length);
          let value: Datum;
          if (call.aggregate !== undefined) {
            const acc = call.aggregate.overload.create(call.aggregate.argTypes);
            const strict = call.aggregate.overload.strict !== false;
            for (let j = frameStart; j < frameEnd; j++) {
              const a = argsOf(j);
              if (!call.aggregate.star && strict && a.some((v) => v === null)) continue;
              acc.add(a, ctx);
            }
            value = acc.result(ctx);
          } else {
            value = call.overload!.compute({ rows: partRows, current: local, peerStart, peerEnd, frameStart, frameEnd }, argsOf, ctx);
          }
          results[indexes[local]!]!.push(value);
        }
      }
    }
    return rows.map((r, i) => [...r, ...results[i]!]);
  }

  explain(): ExplainNode {
    return explain('WindowAgg', [], [this.child]);
  }
}

function frameOf(call: WindowCall, local: number, peerStart: number, peerEnd: number, n: number): [number, number] {
  if (call.orderBy.length === 0 && call.frame.mode === 'range') return [0, n];
  const bound = (b: FrameBound, isEnd: boolean): number => {
    switch (b.kind) {
      case 'unboundedPreceding':
        return 0;
      case 'unboundedFollowing':
        return n;
      case 'currentRow':
        return call.frame.mode === 'range' ? (isEnd ? peerEnd : peerStart) : isEnd ? local + 1 : local;
      case 'preceding':
        return Math.max(0, local - b.offset + (isEnd ? 1 : 0));
      case 'following':
        return Math.min(n, local + b.offset + (isEnd ? 1 : 0));
    }
  };
  const start = bound(call.frame.start, false);
  const end = bound(call.frame.end, true);
  return [start, Math.max(start, end)];
}
