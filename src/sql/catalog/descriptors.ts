// What the catalog knows about databases, schemas, tables, indexes, views and sequences. These
// descriptors are stored in the KV store (catalog_store.ts) as JSON, cached by every gateway
// (schema_cache.ts), and versioned: each change writes a new version of the descriptor and bumps
// the cluster-wide schema version, so every gateway can tell which descriptors it must reload.
//
// A schema change that cannot happen in one step (adding an index to a table that has rows,
// adding a column whose default must be computed per row) moves the new element through the
// states of F1's online schema change, one cluster-wide version at a time:
//   deleteOnly → writeOnly → (backfill) → public
// so that no two gateways ever hold versions that disagree about which writes must maintain it.
import type { SqlType } from '../types/oids.js';

/** How far along an index or column being added (or dropped) is. */
export type ElementState = 'deleteOnly' | 'writeOnly' | 'backfilling' | 'public';

export interface ColumnDescriptor {
  readonly id: number;
  readonly name: string;
  readonly type: SqlType;
  readonly nullable: boolean;
  /** The DEFAULT expression as SQL text, re-parsed when needed. */
  readonly defaultExpr?: string;
  /** The value a row written before this column existed reads as (a constant default, else NULL). */
  readonly absentValue?: string;
  /** A column the user did not declare (the rowid of a table without a primary key). */
  readonly hidden: boolean;
  readonly state: ElementState;
  /** A GENERATED ALWAYS AS (expr) STORED column. */
  readonly computedExpr?: string;
  /** Owned sequence (SERIAL), by descriptor id. */
  readonly ownsSequence?: number;
}

export interface IndexColumn {
  readonly columnId: number;
  readonly descending: boolean;
}

export interface IndexDescriptor {
  readonly id: number;
  readonly name: string;
  readonly unique: boolean;
  readonly primary: boolean;
  /** Key columns, in order. */
  readonly columns: readonly IndexColumn[];
  /** INCLUDE columns stored with a secondary index entry. */
  readonly storing: readonly number[];
  readonly state: ElementState;
  /** Predicate of a partial index, as SQL text. */
  readonly predicate?: string;
  /** The constraint that created it (PRIMARY KEY / UNIQUE), if any. */
  readonly constraintName?: string;
}

export interface CheckConstraint {
  readonly name: string;
  readonly expr: string;
  readonly columnIds: readonly number[];
  readonly validated: boolean;
}

export interface ForeignKeyConstraint {
  readonly name: string;
  readonly columnIds: readonly number[];
  readonly referencedTableId: number;
  readonly referencedColumnIds: readonly number[];
  readonly onDelete: string;
  readonly onUpdate: string;
}

interface DescriptorBase {
  readonly id: number;
  readonly name: string;
  /** Incremented by every change to this descriptor. */
  readonly version: number;
  /** The cluster-wide schema version at which this version was written. */
  readonly modifiedAtSchemaVersion: number;
  readonly comment?: string;
}

export interface DatabaseDescriptor extends DescriptorBase {
  readonly kind: 'database';
  readonly dropping?: boolean;
}

export interface SchemaDescriptor extends DescriptorBase {
  readonly kind: 'schema';
  readonly databaseId: number;
}

export interface TableDescriptor extends DescriptorBase {
  readonly kind: 'table';
  readonly databaseId: number;
  readonly schemaId: number;
  readonly columns: readonly ColumnDescriptor[];
  readonly nextColumnId: number;
  readonly primaryIndex: IndexDescriptor;
  readonly indexes: readonly IndexDescriptor[];
  readonly nextIndexId: number;
  readonly checks: readonly CheckConstraint[];
  readonly foreignKeys: readonly ForeignKeyConstraint[];
  /** 'dropping': DROP TABLE committed; the data is being removed. */
  readonly state: 'public' | 'dropping';
  /** Set for a view: its defining query (SQL text) and output column names. */
  readonly view?: { readonly query: string; readonly columnNames: readonly string[] };
  /** Set for a sequence. */
  readonly sequence?: SequenceOptions;
  readonly temporary?: boolean;
}

export interface SequenceOptions {
  readonly increment: bigint | string;
  readonly minValue: bigint | string;
  readonly maxValue: bigint | string;
  readonly start: bigint | string;
  readonly cycle: boolean;
  readonly cache: number;
  /** The column that owns it (SERIAL), if any. */
  readonly ownedBy?: { readonly tableId: number; readonly columnId: number };
}

export type Descriptor = DatabaseDescriptor | SchemaDescriptor | TableDescriptor;

export function isView(t: TableDescriptor): boolean {
  return t.view !== undefined;
}

export function isSequence(t: TableDescriptor): boolean {
  return t.sequence !== undefined;
}

/** Columns every reader sees (public), in declaration order. */
export function visibleColumns(t: TableDescriptor): ColumnDescriptor[] {
  return t.columns.filter((c) => c.state === 'public' && !c.hidden);
}

/** Columns that writes must fill in (public and those being added in writeOnly/backfilling). */
export function writableColumns(t: TableDescriptor): ColumnDescriptor[] {
  return t.columns.filter((c) => c.state !== 'deleteOnly');
}

export function columnById(t: TableDescriptor, id: number): ColumnDescriptor | undefined {
  return t.columns.find((c) => c.id === id);
}

/** The primary index and every secondary index whose entries writes must maintain. */
export function maintainedIndexes(t: TableDescriptor): IndexDescriptor[] {
  return t.indexes.filter((i) => i.state !== 'deleteOnly');
}

/** Ids the catalog gives itself; user descriptors start at FIRST_USER_ID. */
export const SystemIds = {
  systemDatabase: 1,
  systemPublicSchema: 2,
  defaultDatabase: 3,
  defaultPublicSchema: 4,
  postgresDatabase: 5,
  postgresPublicSchema: 6,
  /** Virtual schemas shared by every database. */
  pgCatalogSchema: 11,
  informationSchema: 12,
  crdbInternalSchema: 13,
} as const;

/** User objects get ids (and so OIDs) from here on, as PostgreSQL's user OIDs start at 16384. */
export const FIRST_USER_ID = 16384;

/** The primary index always has this id; secondary indexes count up from 2. */
export const PRIMARY_INDEX_ID = 1;
