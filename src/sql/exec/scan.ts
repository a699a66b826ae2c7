// Reading a table: by primary-key points, by a key range of the primary index or of a secondary
// index (then fetching the rows by primary key, in batches), or in full. Every row read is checked
// against the table's pushed-down predicates before it leaves the node.
import { prefixEnd } from '../catalog/keys.js';
import { keyId } from '../catalog/kv.js';
import type { AccessPath } from '../plan/access.js';
import type { BoundExpr } from '../plan/bound.js';
import { BATCH_ROWS, planColumn, type ExplainNode, type PlanColumn, type PlanNode, type RowCursor } from '../plan/plan_node.js';
import type { Datum, Row } from '../types/datum.js';
import type { ExecContext } from './context.js';
import { compile, compilePredicate } from './eval.js';
import type { TableCodec } from './table_codec.js';

/** Pairs asked for per KV scan request. */
export const SCAN_PAGE = 1024;
/** Keys fetched per batchGet (index lookups, point reads). */
const LOOKUP_BATCH = 512;

function after(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

export class TableScanNode implements PlanNode {
  readonly columns: readonly PlanColumn[];

  constructor(
    readonly codec: TableCodec,
    readonly alias: string,
    readonly path: AccessPath,
    readonly filter: BoundExpr | undefined,
  ) {
    this.columns = codec.table.columns.map((c) => planColumn(c.name, c.type, codec.table.id, c.id));
  }

  open(ctx: ExecContext): RowCursor {
    const pred = this.filter === undefined ? undefined : compilePredicate(this.filter);
    const source = this.rows(ctx);
    const keep = async (rows: Row[]): Promise<Row[]> => {
      if (pred === undefined) return rows;
      const out: Row[] = [];
      if (!pred.async) {
        for (const r of rows) if (pred.sync!(r, ctx)) out.push(r);
      } else for (const r of rows) if (await pred.run(r, ctx)) out.push(r);
      return out;
    };
    let done = false;
    return {
      next: async () => {
        while (!done) {
          const r = await source.next();
          if (r.done) {
            done = true;
            return null;
          }
          const rows = await keep(r.value);
          if (rows.length > 0) return rows;
          ctx.checkCancelled();
        }
        return null;
      },
      close: () => {
        done = true;
        void source.return?.(undefined);
      },
    };
  }

  /** Batches of decoded rows, before the predicate. */
  private async *rows(ctx: ExecContext): AsyncGenerator<Row[], void, undefined> {
    const codec = this.codec;
    const path = this.path;
    switch (path.kind) {
      case 'full': {
        const span = codec.primarySpan();
        yield* this.scanPrimary(ctx, span.start, span.end);
        return;
      }
      case 'points': {
        const keyValues = await this.evalKeys(path.keys, ctx);
        if (path.index.primary) {
          const keys = keyValues.map((vals) => codec.encodePrimaryKeyValues(vals));
          yield* this.fetchByPrimaryKeys(ctx, dedupe(keys));
        } else {
          const entryKeys = dedupe(keyValues.map((vals) => codec.encodeIndexPrefix(path.index, vals).finish()));
          for (let i = 0; i < entryKeys.length; i += LOOKUP_BATCH) {
            const chunk = entryKeys.slice(i, i + LOOKUP_BATCH);
            const found = await ctx.reader.batchGet(chunk);
            const pks: Uint8Array[] = [];
            for (const k of chunk) {
              const v = found.get(keyId(k));
              if (v !== undefined) pks.push(codec.primaryKeyOfEntry(path.index, k, v));
            }
            yield* this.fetchByPrimaryKeys(ctx, pks);
          }
        }
        return;
      }
      case 'range': {
        const prefixValues: Datum[] = [];
        for (const e of path.prefix) {
          const v = await compile(e).run([], ctx);
          if (v === null) return; // col = NULL matches nothing
          prefixValues.push(v);
        }
        const base = codec.encodeIndexPrefix(path.index, prefixValues).finish();
        let start = base;
        let end = prefixEnd(base);
        if (path.lower !== undefined) {
          const v = await compile(path.lower.expr).run([], ctx);
          if (v === null) return;
          const k = codec.encodeIndexPrefix(path.index, [...prefixValues, v]).finish();
          start = path.lower.inclusive ? k : prefixEnd(k);
        }
        if (path.upper !== undefined) {
          const v = await compile(path.upper.expr).run([], ctx);
          if (v === null) return;
          const k = codec.encodeIndexPrefix(path.index, [...prefixValues, v]).finish();
          end = path.upper.inclusive ? prefixEnd(k) : k;
        }
        if (compareBytes(start, end) >= 0) return;
        if (path.index.primary) yield* this.scanPrimary(ctx, start, end);
        else yield* this.scanIndex(ctx, start, end);
        return;
      }
    }
  }

  private async evalKeys(keys: ReadonlyArray<readonly BoundExpr[]>, ctx: ExecContext): Promise<Datum[][]> {
    const out: Datum[][] = [];
    for (const exprs of keys) {
      const vals: Datum[] = [];
      let hasNull = false;
      for (const e of exprs) {
        const v = await compile(e).run([], ctx);
        if (v === null) hasNull = true;
        vals.push(v);
      }
      if (!hasNull) out.push(vals);
    }
    return out;
  }

  private async *scanPrimary(ctx: ExecContext, start: Uint8Array, end: Uint8Array): AsyncGenerator<Row[], void, undefined> {
    let from = start;
    for (;;) {
      const page = await ctx.reader.scan(from, end, SCAN_PAGE);
      if (page.length === 0) return;
      const rows: Row[] = new Array(page.length);
      for (let i = 0; i < page.length; i++) rows[i] = this.codec.decode(page[i]!.key, page[i]!.value);
      for (let i = 0; i < rows.length; i += BATCH_ROWS) yield rows.slice(i, i + BATCH_ROWS);
      if (page.length < SCAN_PAGE) return;
      from = after(page[page.length - 1]!.key);
    }
  }

  private async *scanIndex(ctx: ExecContext, start: Uint8Array, end: Uint8Array): AsyncGenerator<Row[], void, undefined> {
    const index = (this.path as Extract<AccessPath, { kind: 'range' }>).index;
    let from = start;
    for (;;) {
      const page = await ctx.reader.scan(from, end, SCAN_PAGE);
      if (page.length === 0) return;
      const pks = page.map((p) => this.codec.primaryKeyOfEntry(index, p.key, p.value));
      for (let i = 0; i < pks.length; i += LOOKUP_BATCH) yield* this.fetchByPrimaryKeys(ctx, pks.slice(i, i + LOOKUP_BATCH));
      if (page.length < SCAN_PAGE) return;
      from = after(page[page.length - 1]!.key);
    }
  }

  private async *fetchByPrimaryKeys(ctx: ExecContext, keys: readonly Uint8Array[]): AsyncGenerator<Row[], void, undefined> {
    for (let i = 0; i < keys.length; i += LOOKUP_BATCH) {
      const chunk = keys.slice(i, i + LOOKUP_BATCH);
      const found = chunk.length === 1 ? singleGet(await ctx.reader.get(chunk[0]!), chunk[0]!) : await ctx.reader.batchGet(chunk);
      const rows: Row[] = [];
      for (const k of chunk) {
        const v = found.get(keyId(k));
        if (v === undefined) continue;
        rows.push(this.codec.decode(k, v));
      }
      if (rows.length > 0) yield rows;
    }
  }

  explain(): ExplainNode {
    const t = this.codec.table.name;
    const alias = this.alias !== t ? ` ${this.alias}` : '';
    const details: string[] = [];
    if (this.filter !== undefined) details.push('Filter: (pushed down)');
    switch (this.path.kind) {
      case 'full':
        return { title: `Seq Scan on ${t}${alias}`, details, children: [] };
      case 'points':
        return {
          title: `${this.path.index.primary ? 'Index Scan' : 'Index Lookup'} using ${this.path.index.name} on ${t}${alias}`,
          details: [`Points: ${this.path.keys.length}`, ...details],
          children: [],
        };
      case 'range':
        return {
          title: `${this.path.index.primary ? 'Index Scan' : 'Index Scan (then lookup)'} using ${this.path.index.name} on ${t}${alias}`,
          details: [`Range: ${this.path.prefix.length} equal column(s)${this.path.lower ? ', lower bound' : ''}${this.path.upper ? ', upper bound' : ''}`, ...details],
          children: [],
        };
    }
  }
}

function singleGet(v: Uint8Array | undefined, k: Uint8Array): Map<string, Uint8Array> {
  const m = new Map<string, Uint8Array>();
  if (v !== undefined) m.set(keyId(k), v);
  return m;
}

function dedupe(keys: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const k of keys) {
    const id = keyId(k);
    if (!seen.has(id)) {
      seen.add(id);
      out.push(k);
    }
  }
  return out;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
