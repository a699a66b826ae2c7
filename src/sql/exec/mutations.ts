// Writing rows: INSERT (with ON CONFLICT), UPDATE and DELETE, each maintaining the primary index
// and every secondary index that writes must keep current, checking NOT NULL, CHECK and unique
// constraints with PostgreSQL's errors. Uniqueness is checked against the transaction's snapshot
// when the statement runs and again at commit (keys written with insert(), which fails if another
// transaction wrote the key first), so a concurrent duplicate cannot slip in.
import type { ColumnDescriptor, IndexDescriptor, TableDescriptor } from '../catalog/descriptors.js';
import { keyId } from '../catalog/kv.js';
import { SqlError, SqlState } from '../errors.js';
import type { BoundExpr } from '../plan/bound.js';
import { BATCH_ROWS, type ExplainNode, type PlanColumn, type PlanNode, type RowCursor } from '../plan/plan_node.js';
import type { Datum, Row } from '../types/datum.js';
import { formatText } from '../types/text_io.js';
import type { ExecContext } from './context.js';
import { compile, compilePredicate, type CompiledExpr } from './eval.js';
import { tableCodec, type TableCodec } from './table_codec.js';

/** Rows one mutation statement may write (the transaction's own bound applies too). */
export const MAX_ROWS_PER_STATEMENT = 1_000_000;

export interface CheckSpec {
  readonly name: string;
  /** Over the table's row layout. */
  readonly expr: BoundExpr;
}

export interface OnConflictSpec {
  /** The unique index (or the primary index) whose conflict is handled. */
  readonly index: IndexDescriptor | undefined;
  readonly action: 'nothing' | 'update';
  /** For DO UPDATE: new values per row position, over [existing row ++ excluded row]. */
  readonly set: ReadonlyArray<{ readonly position: number; readonly expr: BoundExpr }>;
  readonly where: BoundExpr | undefined;
}

function quoteValue(v: Datum, c: ColumnDescriptor, ctx: ExecContext): string {
  return v === null ? 'null' : formatText(v, c.type, ctx.settings);
}

function uniqueViolation(table: TableDescriptor, index: IndexDescriptor, row: readonly Datum[], ctx: ExecContext): SqlError {
  const cols = index.columns.map((ic) => table.columns.find((c) => c.id === ic.columnId)!);
  const positions = index.columns.map((ic) => table.columns.findIndex((c) => c.id === ic.columnId));
  const name = index.constraintName ?? index.name;
  return new SqlError(SqlState.uniqueViolation, `duplicate key value violates unique constraint "${name}"`, {
    detail: `Key (${cols.map((c) => c.name).join(', ')})=(${positions.map((p, i) => quoteValue(row[p]!, cols[i]!, ctx)).join(', ')}) already exists.`,
    table: table.name,
    constraint: name,
  });
}

/** Checks NOT NULL and CHECK constraints of a row about to be written. */
export function checkRow(table: TableDescriptor, row: readonly Datum[], checks: ReadonlyArray<{ name: string; run: ReturnType<typeof compilePredicate> }>, ctx: ExecContext): Promise<void> | void {
  for (let i = 0; i < table.columns.length; i++) {
    const c = table.columns[i]!;
    if (!c.nullable && c.state !== 'deleteOnly' && row[i] === null) {
      throw new SqlError(SqlState.notNullViolation, `null value in column "${c.name}" of relation "${table.name}" violates not-null constraint`, {
        detail: `Failing row contains (${table.columns.filter((x) => !x.hidden && x.state === 'public').map((x) => quoteValue(row[table.columns.indexOf(x)]!, x, ctx)).join(', ')}).`,
        table: table.name,
        column: c.name,
      });
    }
  }
  if (checks.length === 0) return;
  return (async () => {
    for (const ch of checks) {
      // A CHECK passes unless it is false (null passes).
      const c = compileValueCheck(ch.run);
      const ok = await c(row as Row, ctx);
      if (!ok) {
        throw new SqlError(SqlState.checkViolation, `new row for relation "${table.name}" violates check constraint "${ch.name}"`, {
          detail: `Failing row contains (${table.columns.filter((x) => !x.hidden && x.state === 'public').map((x) => quoteValue(row[table.columns.indexOf(x)]!, x, ctx)).join(', ')}).`,
          table: table.name,
          constraint: ch.name,
        });
      }
    }
  })();
}

function compileValueCheck(p: ReturnType<typeof compilePredicate>): (row: Row, ctx: ExecContext) => Promise<boolean> {
  return p.run;
}

/** The checks of a table compiled as "not false" predicates. */
export function compileChecks(checks: readonly CheckSpec[]): Array<{ name: string; run: ReturnType<typeof compilePredicate> }> {
  return checks.map((c) => {
    const compiled = compile(c.expr);
    return {
      name: c.name,
      run: {
        async: true,
        run: async (row: Row, ctx: ExecContext) => (await compiled.run(row, ctx)) !== false,
      } as ReturnType<typeof compilePredicate>,
    };
  });
}

/** Writes a new row and its index entries; keys that must not exist yet are written with insert(). */
function writeRow(ctx: ExecContext, codec: TableCodec, key: Uint8Array, row: readonly Datum[], indexes: readonly IndexDescriptor[], uniqueByConstruction = false): void {
  const w = ctx.writer!;
  if (uniqueByConstruction) w.put(key, codec.encodeValue(row));
  else w.insert(key, codec.encodeValue(row));
  for (const index of indexes) {
    const e = codec.indexEntry(index, row);
    if (index.unique) w.insert(e.key, e.value);
    else w.put(e.key, e.value);
  }
}

function deleteRow(ctx: ExecContext, codec: TableCodec, key: Uint8Array, row: readonly Datum[], indexes: readonly IndexDescriptor[]): void {
  const w = ctx.writer!;
  w.delete(key);
  for (const index of indexes) w.delete(codec.indexEntry(index, row).key);
}

function secondaryIndexes(table: TableDescriptor): IndexDescriptor[] {
  // deleteOnly indexes only need deletes; writeOnly, backfilling and public ones need both.
  return table.indexes.filter((i) => !i.primary);
}

function writableSecondaries(table: TableDescriptor): IndexDescriptor[] {
  return table.indexes.filter((i) => !i.primary && i.state !== 'deleteOnly');
}

// ---- INSERT ----------------------------------------------------------------------------------------------

export class InsertNode implements PlanNode {
  constructor(
    readonly table: TableDescriptor,
    /** Produces the full rows to insert (table layout), defaults already filled in. */
    private readonly source: PlanNode,
    private readonly checks: readonly CheckSpec[],
    private readonly onConflict: OnConflictSpec | undefined,
    /** RETURNING expressions over the written row, or undefined. */
    private readonly returning: readonly BoundExpr[] | undefined,
    readonly columns: readonly PlanColumn[],
  ) {}

  open(ctx: ExecContext): RowCursor {
    let out: Row[] | undefined;
    let at = 0;
    return {
      next: async () => {
        out ??= await this.run(ctx);
        if (at >= out.length) return null;
        const b = out.slice(at, at + BATCH_ROWS);
        at += b.length;
        return b;
      },
      close: () => {},
    };
  }

  /** Rows affected, for the command tag; set after the cursor is drained. */
  affected = 0;

  private async run(ctx: ExecContext): Promise<Row[]> {
    if (ctx.writer === undefined) throw new SqlError(SqlState.readOnlySqlTransaction, 'cannot execute INSERT in a read-only transaction');
    const table = this.table;
    const codec = tableCodec(table);
    const checks = compileChecks(this.checks);
    const returning = this.returning?.map(compile);
    const uniques = writableSecondaries(table).filter((i) => i.unique);
    const indexes = writableSecondaries(table);
    const conflictSet = this.onConflict?.set.map((s) => ({ position: s.position, expr: compile(s.expr) }));
    const conflictWhere = this.onConflict?.where === undefined ? undefined : compilePredicate(this.onConflict.where);
    const hiddenKey = table.primaryIndex.columns.length === 1 && table.columns.find((c) => c.id === table.primaryIndex.columns[0]!.columnId)?.hidden === true;
    ctx.writtenTables.add(table.id);
    let affected = 0;
    const results: Row[] = [];
    const seenKeys = new Map<string, Row>();
    const input = this.source.open(ctx);
    try {
      for (;;) {
        const batch = await input.next();
        if (batch === null) break;
        for (const row of batch) await checkRow(table, row, checks, ctx);
        const keys = batch.map((r) => codec.encodePrimaryKey(r));
        // A hidden row id is unique by construction: nothing to look up.
        const existing = hiddenKey ? new Map<string, Uint8Array>() : await ctx.reader.batchGet(keys);
        // Unique index entries of the batch, checked in one round too.
        const uniqueKeys: Array<Array<{ key: Uint8Array; index: IndexDescriptor } | undefined>> = batch.map((r) =>
          uniques.map((index) => {
            const e = codec.indexEntry(index, r);
            // An entry with a NULL column is stored with the primary key in it: never a conflict.
            return e.value.length > 0 && e.value[0] === 0xfe ? { key: e.key, index } : undefined;
          }),
        );
        const flat = uniqueKeys.flat().filter((x): x is { key: Uint8Array; index: IndexDescriptor } => x !== undefined);
        const existingUnique = flat.length === 0 ? new Map<string, Uint8Array>() : await ctx.reader.batchGet(flat.map((x) => x.key));
        for (let i = 0; i < batch.length; i++) {
          const row = batch[i]!;
          const key = keys[i]!;
          const id = keyId(key);
          const pkClash = existing.has(id) || seenKeys.has(id);
          let conflictIndex: IndexDescriptor | undefined = pkClash ? table.primaryIndex : undefined;
          let conflictPk: Uint8Array | undefined = pkClash ? key : undefined;
          if (conflictIndex === undefined) {
            for (const u of uniqueKeys[i]!) {
              if (u === undefined) continue;
              const v = existingUnique.get(keyId(u.key));
              const inBatch = seenKeys.get(`u:${keyId(u.key)}`);
              if (v !== undefined) {
                conflictIndex = u.index;
                conflictPk = codec.primaryKeyOfEntry(u.index, u.key, v);
                break;
              }
              if (inBatch !== undefined) {
                conflictIndex = u.index;
                conflictPk = codec.encodePrimaryKey(inBatch);
                break;
              }
            }
          }
          if (conflictIndex !== undefined) {
            const oc = this.onConflict;
            const handles = oc !== undefined && (oc.index === undefined || oc.index.id === conflictIndex.id);
            if (!handles) throw uniqueViolation(table, conflictIndex, row, ctx);
            if (oc!.action === 'nothing') continue;
            // DO UPDATE: the existing row (as this statement sees it, including its own writes).
            const pkId = keyId(conflictPk!);
            if (seenKeys.get(`done:${pkId}`) !== undefined) {
              throw new SqlError(SqlState.cardinalityViolation, 'ON CONFLICT DO UPDATE command cannot affect row a second time', {
                hint: 'Ensure that no rows proposed for insertion within the same command have duplicate constrained values.',
              });
            }
            const oldValue = await ctx.writer.get(conflictPk!);
            if (oldValue === undefined) throw new SqlError(SqlState.internalError, 'conflicting row vanished');
            const old = codec.decode(conflictPk!, oldValue);
            const joined = [...old, ...row];
            if (conflictWhere !== undefined && !(await conflictWhere.run(joined, ctx))) continue;
            const updated = old.slice();
            for (const s of conflictSet!) updated[s.position] = s.expr.async ? await s.expr.run(joined, ctx) : s.expr.sync!(joined, ctx);
            await checkRow(table, updated, checks, ctx);
            await updateRow(ctx, codec, table, conflictPk!, old, updated);
            seenKeys.set(`done:${pkId}`, updated);
            affected++;
            if (returning) results.push(await evalRow(returning, updated, ctx));
            continue;
          }
          writeRow(ctx, codec, key, row, indexes, hiddenKey);
          seenKeys.set(id, row);
          seenKeys.set(`done:${id}`, row);
          for (const u of uniqueKeys[i]!) if (u !== undefined) seenKeys.set(`u:${keyId(u.key)}`, row);
          affected++;
          if (affected > MAX_ROWS_PER_STATEMENT) throw new SqlError(SqlState.programLimitExceeded, `a statement may write at most ${MAX_ROWS_PER_STATEMENT} rows`);
          if (returning) results.push(await evalRow(returning, row, ctx));
        }
        ctx.checkCancelled();
      }
    } finally {
      input.close();
    }
    this.affected = affected;
    return results;
  }

  explain(): ExplainNode {
    return { title: `Insert on ${this.table.name}`, details: [], children: [this.source.explain()] };
  }
}

async function evalRow(exprs: readonly CompiledExpr[], row: Row, ctx: ExecContext): Promise<Row> {
  const out: Datum[] = [];
  for (const e of exprs) out.push(e.async ? await e.run(row, ctx) : e.sync!(row, ctx));
  return out;
}

/** Replaces a row: moves it if its primary key changed, and fixes up every index entry that changed. */
export async function updateRow(ctx: ExecContext, codec: TableCodec, table: TableDescriptor, oldKey: Uint8Array, old: readonly Datum[], updated: readonly Datum[]): Promise<void> {
  const w = ctx.writer!;
  const newKey = codec.encodePrimaryKey(updated);
  const moved = keyId(newKey) !== keyId(oldKey);
  if (moved) {
    const clash = await w.get(newKey);
    if (clash !== undefined) throw uniqueViolation(table, table.primaryIndex, updated, ctx);
    w.delete(oldKey);
    w.insert(newKey, codec.encodeValue(updated));
  } else {
    w.put(newKey, codec.encodeValue(updated));
  }
  for (const index of secondaryIndexes(table)) {
    const before = codec.indexEntry(index, old);
    const after = codec.indexEntry(index, updated);
    const sameKey = keyId(before.key) === keyId(after.key);
    if (index.state === 'deleteOnly') {
      if (!sameKey) w.delete(before.key);
      continue;
    }
    if (sameKey) {
      if (moved || Buffer.compare(Buffer.from(before.value), Buffer.from(after.value)) !== 0) w.put(after.key, after.value);
      continue;
    }
    w.delete(before.key);
    if (index.unique && after.value.length > 0 && after.value[0] === 0xfe) {
      const clash = await w.get(after.key);
      if (clash !== undefined) throw uniqueViolation(table, index, updated, ctx);
      w.insert(after.key, after.value);
    } else {
      w.put(after.key, after.value);
    }
  }
}

// ---- UPDATE and DELETE -------------------------------------------------------------------------------------

/** Rows locked per request. */
const LOCK_BATCH_ROWS = 1_024;

/**
 * Locks the rows a statement is about to change and moves each to its newest committed version:
 * a concurrent writer is waited for rather than conflicted with, as PostgreSQL's row locks do. A
 * row deleted meanwhile is skipped; one changed meanwhile is checked against WHERE again (when the
 * statement reads only its table), and its new version is what the statement changes.
 */
async function lockTargets(
  ctx: ExecContext,
  codec: TableCodec,
  targets: ReadonlyArray<{ key: Uint8Array; old: Row; source: Row }>,
  recheck: BoundExpr | undefined,
  width: number,
): Promise<Array<{ key: Uint8Array; old: Row; source: Row }>> {
  if (ctx.locker === undefined || targets.length === 0) return [...targets];
  const pred = recheck === undefined ? undefined : compilePredicate(recheck);
  const out: Array<{ key: Uint8Array; old: Row; source: Row }> = [];
  for (let i = 0; i < targets.length; i += LOCK_BATCH_ROWS) {
    const chunk = targets.slice(i, i + LOCK_BATCH_ROWS);
    const values = await ctx.locker.lockKeys(chunk.map((t) => t.key));
    for (const t of chunk) {
      const v = values.get(keyId(t.key));
      if (v === undefined) continue; // deleted by a transaction that committed first
      const now = codec.decode(t.key, v);
      if (recheck === undefined) {
        out.push({ key: t.key, old: now, source: [...now, ...t.source.slice(width)] });
        continue;
      }
      if (!(await pred!.run(now, ctx))) continue;
      out.push({ key: t.key, old: now, source: now });
    }
  }
  return out;
}

export class UpdateNode implements PlanNode {
  affected = 0;

  constructor(
    readonly table: TableDescriptor,
    /** Rows whose first table.columns.length values are the target table's row (then FROM items). */
    private readonly source: PlanNode,
    /** New values per row position, over the source row. */
    private readonly set: ReadonlyArray<{ readonly position: number; readonly expr: BoundExpr }>,
    private readonly checks: readonly CheckSpec[],
    private readonly returning: readonly BoundExpr[] | undefined,
    readonly columns: readonly PlanColumn[],
    /** WHERE over the table's row alone, re-checked on the newest version of a locked row (no FROM). */
    private readonly recheck: BoundExpr | undefined,
    private readonly singleTable: boolean,
  ) {}

  open(ctx: ExecContext): RowCursor {
    let out: Row[] | undefined;
    let at = 0;
    return {
      next: async () => {
        out ??= await this.run(ctx);
        if (at >= out.length) return null;
        const b = out.slice(at, at + BATCH_ROWS);
        at += b.length;
        return b;
      },
      close: () => {},
    };
  }

  private async run(ctx: ExecContext): Promise<Row[]> {
    if (ctx.writer === undefined) throw new SqlError(SqlState.readOnlySqlTransaction, 'cannot execute UPDATE in a read-only transaction');
    const table = this.table;
    const codec = tableCodec(table);
    const width = table.columns.length;
    const checks = compileChecks(this.checks);
    const set = this.set.map((s) => ({ position: s.position, expr: compile(s.expr) }));
    const returning = this.returning?.map(compile);
    ctx.writtenTables.add(table.id);
    // Rows are collected first: updating while scanning would let the scan see its own writes.
    const targets: Array<{ key: Uint8Array; old: Row; source: Row }> = [];
    const seen = new Set<string>();
    const input = this.source.open(ctx);
    try {
      for (;;) {
        const batch = await input.next();
        if (batch === null) break;
        for (const r of batch) {
          const old = r.slice(0, width);
          const key = codec.encodePrimaryKey(old);
          const id = keyId(key);
          if (seen.has(id)) continue; // a join matched the row twice: the first match wins
          seen.add(id);
          targets.push({ key, old, source: r });
          if (targets.length > MAX_ROWS_PER_STATEMENT) throw new SqlError(SqlState.programLimitExceeded, `a statement may write at most ${MAX_ROWS_PER_STATEMENT} rows`);
        }
        ctx.checkCancelled();
      }
    } finally {
      input.close();
    }
    const current = await lockTargets(ctx, codec, targets, this.singleTable ? this.recheck : undefined, width);
    const results: Row[] = [];
    for (const t of current) {
      const updated = t.old.slice();
      for (const s of set) updated[s.position] = s.expr.async ? await s.expr.run(t.source, ctx) : s.expr.sync!(t.source, ctx);
      await checkRow(table, updated, checks, ctx);
      await updateRow(ctx, codec, table, t.key, t.old, updated);
      if (returning) results.push(await evalRow(returning, [...updated, ...t.source.slice(width)], ctx));
    }
    this.affected = current.length;
    return results;
  }

  explain(): ExplainNode {
    return { title: `Update on ${this.table.name}`, details: [], children: [this.source.explain()] };
  }
}

export class DeleteNode implements PlanNode {
  affected = 0;

  constructor(
    readonly table: TableDescriptor,
    private readonly source: PlanNode,
    private readonly returning: readonly BoundExpr[] | undefined,
    readonly columns: readonly PlanColumn[],
    private readonly recheck: BoundExpr | undefined,
    private readonly singleTable: boolean,
  ) {}

  open(ctx: ExecContext): RowCursor {
    let out: Row[] | undefined;
    let at = 0;
    return {
      next: async () => {
        out ??= await this.run(ctx);
        if (at >= out.length) return null;
        const b = out.slice(at, at + BATCH_ROWS);
        at += b.length;
        return b;
      },
      close: () => {},
    };
  }

  private async run(ctx: ExecContext): Promise<Row[]> {
    if (ctx.writer === undefined) throw new SqlError(SqlState.readOnlySqlTransaction, 'cannot execute DELETE in a read-only transaction');
    const table = this.table;
    const codec = tableCodec(table);
    const width = table.columns.length;
    const indexes = secondaryIndexes(table);
    const returning = this.returning?.map(compile);
    ctx.writtenTables.add(table.id);
    const targets: Array<{ key: Uint8Array; row: Row; source: Row }> = [];
    const seen = new Set<string>();
    const input = this.source.open(ctx);
    try {
      for (;;) {
        const batch = await input.next();
        if (batch === null) break;
        for (const r of batch) {
          const row = r.slice(0, width);
          const key = codec.encodePrimaryKey(row);
          const id = keyId(key);
          if (seen.has(id)) continue;
          seen.add(id);
          targets.push({ key, row, source: r });
          if (targets.length > MAX_ROWS_PER_STATEMENT) throw new SqlError(SqlState.programLimitExceeded, `a statement may write at most ${MAX_ROWS_PER_STATEMENT} rows`);
        }
        ctx.checkCancelled();
      }
    } finally {
      input.close();
    }
    const locked = await lockTargets(ctx, codec, targets.map((t) => ({ key: t.key, old: t.row, source: t.source })), this.singleTable ? this.recheck : undefined, width);
    const results: Row[] = [];
    for (const t of locked) {
      deleteRow(ctx, codec, t.key, t.old, indexes);
      if (returning) results.push(await evalRow(returning, t.source, ctx));
    }
    this.affected = locked.length;
    return results;
  }

  explain(): ExplainNode {
    return { title: `Delete on ${this.table.name}`, details: [], children: [this.source.explain()] };
  }
}
