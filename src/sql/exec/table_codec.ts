// A table's rows as KV pairs (keys in catalog/keys.ts):
//
//   primary index   t/table/1/<pk columns>                → the other columns (value_encoding.ts)
//   secondary index t/table/index/<index columns>/<pk>     → INCLUDE columns (empty without any)
//   unique index    t/table/index/<index columns>          → <pk> (the key of the row)
//                   (a unique index entry with a NULL among its columns is stored like a
//                   non-unique one: NULLs never collide)
//
// A row in memory has one slot per column of the descriptor, in descriptor order; columns still
// being added (or dropped) are there too, so writers can fill (or clear) them.
import type { ColumnDescriptor, IndexDescriptor, TableDescriptor } from '../catalog/descriptors.js';
import { indexPrefix, INDEX_PREFIX_LENGTH, prefixEnd } from '../catalog/keys.js';
import { SqlError, SqlState } from '../errors.js';
import type { Datum, Row } from '../types/datum.js';
import { decodeKeyDatum, encodeKeyDatum, KeyReader, KeyWriter } from '../types/key_encoding.js';
import { Oid } from '../types/oids.js';
import { DEFAULT_TYPE_SETTINGS } from '../types/settings.js';
import { parseText } from '../types/text_io.js';
import { decodeRow, encodeRow, type EncodedColumn } from '../types/value_encoding.js';

export interface IndexEntry {
  readonly index: IndexDescriptor;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const LOSSY_KEY_TYPES = new Set<number>([Oid.numeric, Oid.bpchar, Oid.interval, Oid.float4, Oid.float8, Oid.timetz]);
/** First byte of a unique index entry's value (never the first byte of an encoded row). */
const UNIQUE_VALUE_MARKER = 0xfe;

export class TableCodec {
  readonly prefix: Uint8Array;
  /** Row positions of the primary key columns, in key order. */
  readonly pkPositions: number[];
  private readonly pkDescending: boolean[];
  private readonly pkOids: number[];
  /** Row positions and encodings of the columns stored in the value (every non-key column). */
  private readonly valuePositions: number[];
  private readonly valueColumns: EncodedColumn[];
  /** Values of columns absent from old rows (added later with a default). */
  private readonly absentValues: Datum[];
  private readonly hasAbsentDefaults: boolean;
  private readonly scratch: KeyWriter = new KeyWriter(64);
  private readonly decodeOut: Datum[];
  private readonly absentFlags: Uint8Array;

  constructor(readonly table: TableDescriptor) {
    this.prefix = indexPrefix(table.id, table.primaryIndex.id);
    const pos = (id: number): number => {
      const p = table.columns.findIndex((c) => c.id === id);
      if (p < 0) throw new SqlError(SqlState.dataCorrupted, `table "${table.name}" has an index on unknown column ${id}`);
      return p;
    };
    this.pkPositions = table.primaryIndex.columns.map((c) => pos(c.columnId));
    this.pkDescending = table.primaryIndex.columns.map((c) => c.descending);
    this.pkOids = this.pkPositions.map((p) => table.columns[p]!.type.oid);
    // Key columns whose key encoding keeps only a representative of equal values (numeric scale,
    // char padding, interval fields, -0) are stored in the value too, so rows read back exactly.
    const pkSet = new Set(this.pkPositions.filter((p) => !LOSSY_KEY_TYPES.has(table.columns[p]!.type.oid)));
    this.valuePositions = [];
    this.valueColumns = [];
    table.columns.forEach((c, i) => {
      if (pkSet.has(i)) return;
      this.valuePositions.push(i);
      this.valueColumns.push({ id: c.id, oid: c.type.oid });
    });
    this.absentValues = table.columns.map((c) => absentValueOf(c));
    this.hasAbsentDefaults = this.absentValues.some((v) => v !== null);
    this.decodeOut = new Array<Datum>(this.valueColumns.length).fill(null);
    this.absentFlags = new Uint8Array(this.valueColumns.length);
  }

  get width(): number {
    return this.table.columns.length;
  }

  /** All keys of the primary index: [start, end). */
  primarySpan(): { start: Uint8Array; end: Uint8Array } {
    return { start: this.prefix, end: prefixEnd(this.prefix) };
  }

  encodePrimaryKey(row: readonly Datum[]): Uint8Array {
    const w = this.scratch;
    w.reset();
    w.bytes(this.prefix);
    for (let i = 0; i < this.pkPositions.length; i++) {
      const v = row[this.pkPositions[i]!]!;
      if (v === null) throw new SqlError(SqlState.notNullViolation, `null value in column "${this.table.columns[this.pkPositions[i]!]!.name}" of relation "${this.table.name}" violates not-null constraint`);
      encodeKeyDatum(w, v, this.pkOids[i]!, this.pkDescending[i]!);
    }
    return w.finish();
  }

  /** The primary key from the key values alone (in key order). */
  encodePrimaryKeyValues(values: readonly Datum[]): Uint8Array {
    const w = this.scratch;
    w.reset();
    w.bytes(this.prefix);
    for (let i = 0; i < values.length; i++) encodeKeyDatum(w, values[i]!, this.pkOids[i]!, this.pkDescending[i]!);
    return w.finish();
  }

  encodeValue(row: readonly Datum[]): Uint8Array {
    const values: Datum[] = new Array(this.valuePositions.length);
    for (let i = 0; i < this.valuePositions.length; i++) values[i] = row[this.valuePositions[i]!]!;
    return encodeRow(this.valueColumns, values);
  }

  /** Decodes a primary-index pair into a full row. */
  decode(key: Uint8Array, value: Uint8Array): Row {
    const row: Row = new Array<Datum>(this.table.columns.length);
    const r = new KeyReader(key, INDEX_PREFIX_LENGTH);
    for (let i = 0; i < this.pkPositions.length; i++) row[this.pkPositions[i]!] = decodeKeyDatum(r, this.pkOids[i]!, this.pkDescending[i]!);
    const out = this.decodeOut;
    const missing = decodeRow(value, this.valueColumns, out, this.hasAbsentDefaults ? this.absentFlags : undefined);
    for (let i = 0; i < this.valuePositions.length; i++) {
      const p = this.valuePositions[i]!;
      const v = missing > 0 && this.hasAbsentDefaults && this.absentFlags[i] === 1 ? this.absentValues[p]! : out[i]!;
      // A key column is also in the value only when its key form is lossy; an old row may lack it.
      if (v !== null || row[p] === undefined) row[p] = v;
    }
    return row;
  }

  // ---- secondary indexes --------------------------------------------------------------------------------

  private indexPositions(index: IndexDescriptor): number[] {
    return index.columns.map((c) => this.table.columns.findIndex((x) => x.id === c.columnId));
  }

  /** The entry a row has in a secondary index. */
  indexEntry(index: IndexDescriptor, row: readonly Datum[]): IndexEntry {
    const w = new KeyWriter(64);
    w.bytes(indexPrefix(this.table.id, index.id));
    const positions = this.indexPositions(index);
    let sawNull = false;
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i]!;
      const v = row[p]!;
      if (v === null) sawNull = true;
      encodeKeyDatum(w, v, this.table.columns[p]!.type.oid, index.columns[i]!.descending);
    }
    const pkStart = w.length;
    const covered = new Set(positions);
    for (let i = 0; i < this.pkPositions.length; i++) {
      // Key columns already in the index key are not repeated.
      if (covered.has(this.pkPositions[i]!) && !index.unique) continue;
      encodeKeyDatum(w, row[this.pkPositions[i]!]!, this.pkOids[i]!, this.pkDescending[i]!);
    }
    const full = w.finish();
    const storing = index.storing.length === 0 ? EMPTY : this.encodeStoring(index, row);
    if (index.unique && !sawNull) {
      // The key is the index columns; the value carries the primary key (and any INCLUDE columns).
      const pk = full.subarray(pkStart);
      const value = new Uint8Array(1 + 4 + pk.length + storing.length);
      value[0] = UNIQUE_VALUE_MARKER;
      new DataView(value.buffer).setUint32(1, pk.length);
      value.set(pk, 5);
      value.set(storing, 5 + pk.length);
      return { index, key: full.slice(0, pkStart), value };
    }
    return { index, key: full, value: storing };
  }

  private encodeStoring(index: IndexDescriptor, row: readonly Datum[]): Uint8Array {
    const cols: EncodedColumn[] = [];
    const values: Datum[] = [];
    for (const id of index.storing) {
      const p = this.table.columns.findIndex((c) => c.id === id);
      cols.push({ id, oid: this.table.columns[p]!.type.oid });
      values.push(row[p]!);
    }
    return encodeRow(cols, values);
  }

  /** The primary key (as a full primary-index key) an index entry points at. */
  primaryKeyOfEntry(index: IndexDescriptor, key: Uint8Array, value: Uint8Array): Uint8Array {
    if (index.unique && value.length >= 5 && value[0] === UNIQUE_VALUE_MARKER) {
      const n = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(1);
      const pk = value.subarray(5, 5 + n);
      const out = new Uint8Array(this.prefix.length + pk.length);
      out.set(this.prefix);
      out.set(pk, this.prefix.length);
      return out;
    }
    // Skip the index columns, then re-encode the primary key from the values after them.
    const r = new KeyReader(key, INDEX_PREFIX_LENGTH);
    const positions = this.indexPositions(index);
    const values: Datum[] = new Array<Datum>(this.table.columns.length).fill(null);
    for (let i = 0; i < positions.length; i++) {
      values[positions[i]!] = decodeKeyDatum(r, this.table.columns[positions[i]!]!.type.oid, index.columns[i]!.descending);
    }
    const covered = new Set(positions);
    for (let i = 0; i < this.pkPositions.length; i++) {
      if (covered.has(this.pkPositions[i]!) && !index.unique) continue;
      values[this.pkPositions[i]!] = decodeKeyDatum(r, this.pkOids[i]!, this.pkDescending[i]!);
    }
    return this.encodePrimaryKey(values);
  }

  /** Writes the key-column values of a prefix of an index (for ranges and point lookups). */
  encodeIndexPrefix(index: IndexDescriptor, values: readonly Datum[]): KeyWriter {
    const w = new KeyWriter(64);
    w.bytes(indexPrefix(this.table.id, index.id));
    const positions = index.primary ? this.pkPositions : this.indexPositions(index);
    for (let i = 0; i < values.length; i++) {
      encodeKeyDatum(w, values[i]!, this.table.columns[positions[i]!]!.type.oid, index.columns[i]!.descending);
    }
    return w;
  }
}

/** The value a column reads as in rows written before it existed. */
function absentValueOf(c: ColumnDescriptor): Datum {
  if (c.absentValue === undefined) return null;
  return parseText(c.absentValue, c.type, DEFAULT_TYPE_SETTINGS);
}

const CODECS = new WeakMap<TableDescriptor, TableCodec>();

/** The codec of a descriptor version (cached: descriptors are immutable). */
export function tableCodec(table: TableDescriptor): TableCodec {
  let c = CODECS.get(table);
  if (c === undefined) {
    c = new TableCodec(table);
    CODECS.set(table, c);
  }
  return c;
}
