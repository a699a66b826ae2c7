// The catalog as PostgreSQL's system catalogs present it, and the catalog functions. This module
// decides which OID every relation, index and constraint has, which relations a session sees
// through its search_path, and the SQL text PostgreSQL's pg_get_*def functions print; the virtual
// tables of pg_catalog and information_schema read the catalog through it, and the functions psql
// and drivers call (pg_table_is_visible, pg_get_expr, pg_get_indexdef, pg_get_constraintdef,
// pg_get_viewdef, pg_get_serial_sequence, to_regclass, pg_size_pretty, ...) are registered here.
//
// Indexes and constraints have no descriptor of their own in Cairn, so their OIDs are computed
// from their table's id and their place in it (subObjectOid): stable as long as the table is,
// and the same on every gateway.
import type { CatalogSnapshot } from '../catalog/catalog_snapshot.js';
import {
  FIRST_USER_ID,
  SystemIds,
  type ColumnDescriptor,
  type DatabaseDescriptor,
  type IndexDescriptor,
  type SchemaDescriptor,
  type TableDescriptor,
} from '../catalog/descriptors.js';
import { virtualSchemaId } from '../catalog/resolver.js';
import { SqlError, SqlState } from '../errors.js';
import type { ExecContext } from '../exec/context.js';
import { defineScalar, type ScalarOverload } from '../functions/registry.js';
import type { ConstValue, Expr, FromItem, Query, SelectQuery, SortItem, TypeName, WindowSpec } from '../parser/ast.js';
import { parseSql } from '../parser/parser.js';
import type { EvalContext, ScalarImpl } from '../plan/bound.js';
import { parseStoredExpr } from '../plan/stored_exprs.js';
import { resolveTypeName } from '../plan/type_names.js';
import type { Datum } from '../types/datum.js';
import { Numeric } from '../types/numeric.js';
import { formatType, Oid, Types, type SqlType } from '../types/oids.js';
import { virtualTableDefs, type VirtualTableDef } from './registry.js';

// ---- fixed OIDs ----------------------------------------------------------------------------------------

/** OIDs PostgreSQL gives its built-in objects; clients and psql compare against some of them. */
export const BuiltinOids = {
  pgCatalogNamespace: SystemIds.pgCatalogSchema,
  informationSchemaNamespace: SystemIds.informationSchema,
  crdbInternalNamespace: SystemIds.crdbInternalSchema,
  /** The bootstrap superuser: Cairn's root, owner of everything. */
  rootRole: 10,
  heapAccessMethod: 2,
  btreeAccessMethod: 403,
  defaultTablespace: 1663,
  globalTablespace: 1664,
  defaultCollation: 100,
  cCollation: 950,
  posixCollation: 951,
  internalLanguage: 12,
  sqlLanguage: 14,
  utf8Encoding: 6,
} as const;

/** pg_class OIDs of the catalogs other catalogs name in their classid/classoid columns. */
export const CatalogClassOids = {
  pgClass: 1259,
  pgType: 1247,
  pgProc: 1255,
  pgNamespace: 2615,
  pgDatabase: 1262,
  pgConstraint: 2606,
  pgAttrdef: 2604,
  pgAuthid: 1260,
} as const;

// ---- OIDs of indexes, constraints and column defaults --------------------------------------------------

/** Sub-object OIDs live above every descriptor id and every built-in OID. */
const SUB_OBJECT_OID_BASE = 0x8000_0000;
/** OIDs reserved per table for its indexes, constraints and column defaults. */
const SUB_OBJECT_SLOTS = 1024;
/** Tables whose id is below this have sub-object OIDs (2^31 OIDs / SUB_OBJECT_SLOTS per table). */
export const MAX_TABLE_ID_WITH_SUB_OBJECTS = FIRST_USER_ID + Math.floor(0x8000_0000 / SUB_OBJECT_SLOTS);

/** How a table's SUB_OBJECT_SLOTS are shared out: [first slot, count] per kind. */
const SUB_OBJECT_LAYOUT = {
  /** By index id. */
  index: [0, 256],
  /** The PRIMARY KEY / UNIQUE constraint an index implements, by index id. */
  indexConstraint: [256, 256],
  /** CHECK constraints, by position in the table's list. */
  check: [512, 128],
  /** FOREIGN KEY constraints, by position. */
  foreignKey: [640, 128],
  /** Column defaults (pg_attrdef), by column id. */
  columnDefault: [768, 256],
} as const satisfies Record<string, readonly [number, number]>;

export type SubObjectKind = keyof typeof SUB_OBJECT_LAYOUT;

/** The OID of a table's index, constraint or column default, or undefined past the layout's bounds. */
export function subObjectOid(tableId: number, kind: SubObjectKind, n: number): number | undefined {
  const [first, count] = SUB_OBJECT_LAYOUT[kind];
  if (tableId < FIRST_USER_ID || tableId >= MAX_TABLE_ID_WITH_SUB_OBJECTS || n < 0 || n >= count) return undefined;
  return SUB_OBJECT_OID_BASE + (tableId - FIRST_USER_ID) * SUB_OBJECT_SLOTS + first + n;
}

/** The inverse of subObjectOid. */
export function decodeSubObjectOid(oid: number): { tableId: number; kind: SubObjectKind; n: number } | undefined {
  if (!Number.isInteger(oid) || oid < SUB_OBJECT_OID_BASE || oid > 0xffff_ffff) return undefined;
  const offset = oid - SUB_OBJECT_OID_BASE;
  const tableId = FIRST_USER_ID + Math.floor(offset / SUB_OBJECT_SLOTS);
  const slot = offset % SUB_OBJECT_SLOTS;
  for (const [kind, [first, count]] of Object.entries(SUB_OBJECT_LAYOUT) as Array<[SubObjectKind, readonly [number, number]]>) {
    if (slot >= first && slot < first + count) return { tableId, kind, n: slot - first };
  }
  return undefined;
}

// ---- columns --------------------------------------------------------------------------------------------

/** PostgreSQL's system columns take attnums -1 .. -6; Cairn's hidden columns go below them. */
const HIDDEN_ATTNUM_BASE = -100;

/** pg_attribute.attnum of a column: its id for declared columns, negative for hidden ones (rowid). */
export function attnumOf(c: ColumnDescriptor): number {
  return c.hidden ? HIDDEN_ATTNUM_BASE - c.id : c.id;
}

/** Columns a table shows in pg_attribute: public ones (declared and hidden). */
export function catalogColumns(t: TableDescriptor): ColumnDescriptor[] {
  return t.columns.filter((c) => c.state === 'public');
}

/** Indexes shown as relations: not being dropped, within the OID layout, over declared columns only. */
export function catalogIndexes(t: TableDescriptor): IndexDescriptor[] {
  if (t.view !== undefined || t.sequence !== undefined) return [];
  return t.indexes.filter(
    (i) =>
      i.state !== 'deleteOnly' &&
      subObjectOid(t.id, 'index', i.id) !== undefined &&
      // The implicit primary key over rowid of a table declared without one is not PostgreSQL's to show.
      i.columns.every((k) => t.columns.find((c) => c.id === k.columnId)?.hidden === false),
  );
}

// ---- relations --------------------------------------------------------------------------------------

interface RelationBase {
  readonly oid: number;
  readonly name: string;
  /** pg_namespace OID. */
  readonly namespace: number;
}

/** A row of pg_class, with what it describes. */
export type PgRelation =
  | (RelationBase & { readonly kind: 'table'; readonly relkind: 'r' | 'v' | 'S'; readonly table: TableDescriptor; readonly schema: SchemaDescriptor })
  | (RelationBase & { readonly kind: 'index'; readonly table: TableDescriptor; readonly index: IndexDescriptor; readonly schema: SchemaDescriptor })
  | (RelationBase & { readonly kind: 'virtual'; readonly def: VirtualTableDef });

export interface PgNamespace {
  readonly oid: number;
  readonly name: string;
}

/** Search paths a catalog snapshot keeps views for before it forgets them all. */
const MAX_CACHED_VIEWS_PER_SNAPSHOT = 32;

/**
 * What one session sees of one catalog snapshot: the schemas of its database, every relation in
 * them (with the virtual tables), and which names its search_path makes visible.
 */
export class CatalogView {
  readonly database: DatabaseDescriptor | undefined;
  readonly namespaces: readonly PgNamespace[];
  readonly relations: readonly PgRelation[];
  /** Namespace OIDs in the order unqualified names are searched (pg_catalog first unless placed). */
  readonly searchOrder: readonly number[];
  private readonly byOid = new Map<number, PgRelation>();
  private readonly namespaceById = new Map<number, PgNamespace>();
  private readonly namespaceByName = new Map<string, PgNamespace>();
  /** Relation name → the namespace it is found in first along the search path. */
  private readonly firstFound = new Map<string, number>();
  private readonly byNamespaceAndName = new Map<string, PgRelation>();

  constructor(
    readonly catalog: CatalogSnapshot,
    databaseName: string,
    searchPath: readonly string[],
  ) {
    this.database = catalog.database(databaseName);
    const defs = virtualTableDefs();
    const namespaces: PgNamespace[] = [
      { oid: BuiltinOids.pgCatalogNamespace, name: 'pg_catalog' },
      { oid: BuiltinOids.informationSchemaNamespace, name: 'information_schema' },
    ];
    if (defs.some((d) => d.schema === 'crdb_internal')) namespaces.push({ oid: BuiltinOids.crdbInternalNamespace, name: 'crdb_internal' });
    const schemas = this.database === undefined ? [] : catalog.schemasOf(this.database.id);
    for (const s of schemas) namespaces.push({ oid: s.id, name: s.name });
    this.namespaces = namespaces;
    for (const n of namespaces) {
      this.namespaceById.set(n.oid, n);
      this.namespaceByName.set(n.name, n);
    }
    const relations: PgRelation[] = [];
    for (const def of defs) relations.push({ kind: 'virtual', oid: def.oid, name: def.name, namespace: virtualSchemaId(def.schema), def });
    for (const schema of schemas) {
      for (const table of catalog.tablesOf(schema.id)) {
        const relkind = table.view !== undefined ? 'v' : table.sequence !== undefined ? 'S' : 'r';
        relations.push({ kind: 'table', oid: table.id, name: table.name, namespace: schema.id, relkind, table, schema });
        for (const index of catalogIndexes(table)) {
          relations.push({ kind: 'index', oid: subObjectOid(table.id, 'index', index.id)!, name: index.name, namespace: schema.id, table, index, schema });
        }
      }
    }
    this.relations = relations;
    for (const r of relations) {
      this.byOid.set(r.oid, r);
      this.byNamespaceAndName.set(`${r.namespace}/${r.name}`, r);
    }
    const order: number[] = [];
    if (!searchPath.includes('pg_catalog')) order.push(BuiltinOids.pgCatalogNamespace);
    for (const entry of searchPath) {
      const ns = this.namespaceByName.get(entry);
      if (ns !== undefined && !order.includes(ns.oid)) order.push(ns.oid);
    }
    this.searchOrder = order;
    for (const ns of order) {
      for (const r of relations) if (r.namespace === ns && !this.firstFound.has(r.name)) this.firstFound.set(r.name, ns);
    }
  }

  /** The view for this statement's catalog and session, shared by every call in the statement. */
  static of(ctx: ExecContext): CatalogView {
    const key = `${ctx.session.database}\u0000${ctx.session.searchPath.join('\u0000')}`;
    let perSnapshot = VIEWS.get(ctx.catalog);
    if (perSnapshot === undefined) VIEWS.set(ctx.catalog, (perSnapshot = new Map()));
    let view = perSnapshot.get(key);
    if (view === undefined) {
      if (perSnapshot.size >= MAX_CACHED_VIEWS_PER_SNAPSHOT) perSnapshot.clear();
      view = new CatalogView(ctx.catalog, ctx.session.database, ctx.session.searchPath);
      perSnapshot.set(key, view);
    }
    return view;
  }

  relation(oid: number): PgRelation | undefined {
    return this.byOid.get(oid);
  }

  relationIn(namespace: number, name: string): PgRelation | undefined {
    return this.byNamespaceAndName.get(`${namespace}/${name}`);
  }

  namespace(oid: number): PgNamespace | undefined {
    return this.namespaceById.get(oid);
  }

  namespaceNamed(name: string): PgNamespace | undefined {
    return this.namespaceByName.get(name);
  }

  /** pg_table_is_visible: found by its bare name, in its own namespace, along the search path. */
  isVisible(r: PgRelation): boolean {
    return this.firstFound.get(r.name) === r.namespace;
  }

  /** A relation named as regclass input names it: "t", "s.t", or "db.s.t" for this database. */
  lookup(parts: readonly string[]): PgRelation | undefined {
    const name = parts[parts.length - 1]!;
    if (parts.length === 1) {
      const ns = this.firstFound.get(name);
      return ns === undefined ? undefined : this.relationIn(ns, name);
    }
    if (parts.length === 3 && parts[0] !== this.database?.name) return undefined;
    const ns = this.namespaceByName.get(parts[parts.length - 2]!);
    return ns === undefined ? undefined : this.relationIn(ns.oid, name);
  }

  /** The relation's name as regclass output and PostgreSQL's deparser give it: qualified when not visible. */
  displayName(r: PgRelation): string {
    if (this.isVisible(r)) return quoteIdentifier(r.name);
    return `${quoteIdentifier(this.namespace(r.namespace)?.name ?? '?')}.${quoteIdentifier(r.name)}`;
  }

  qualifiedName(r: PgRelation): string {
    return `${quoteIdentifier(this.namespace(r.namespace)?.name ?? '?')}.${quoteIdentifier(r.name)}`;
  }
}

const VIEWS = new WeakMap<CatalogSnapshot, Map<string, CatalogView>>();

/** The executor's context behind a function's EvalContext (the executor always passes one). */
export function execContextOf(ctx: EvalContext): ExecContext {
  const exec = ctx as Partial<ExecContext>;
  if (exec.catalog === undefined) throw new SqlError(SqlState.internalError, 'catalog function called without a catalog');
  return ctx as ExecContext;
}

// ---- names as text ----------------------------------------------------------------------------------

/** PostgreSQL's keywords other than the unreserved ones: quote_ident quotes identifiers spelled like them. */
const NON_UNRESERVED_KEYWORDS = new Set(
  (
    'all analyse analyze and any array as asc asymmetric authorization between bigint binary bit boolean both case cast char ' +
    'character check coalesce collate collation column concurrently constraint create cross current_catalog current_date ' +
    'current_role current_schema current_time current_timestamp current_user dec decimal default deferrable desc distinct do ' +
    'else end except exists extract false fetch float for foreign freeze from full grant greatest group grouping having ilike ' +
    'in initially inner inout int integer intersect interval into is isnull join lateral leading least left like limit ' +
    'localtime localtimestamp national natural nchar none normalize not notnull null nullif numeric offset on only or order ' +
    'out outer overlaps overlay placing position precision primary real references returning right row select session_user ' +
    'setof similar smallint some substring symmetric table tablesample then time timestamp to trailing treat trim true union ' +
    'unique user using values varchar variadic verbose when where window with xmlattributes xmlconcat xmlelement xmlexists ' +
    'xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable'
  ).split(' '),
);

/** quote_ident's rule: lower-case letters, digits and underscores, not a keyword, else double quotes. */
export function quoteIdentifier(name: string): string {
  if (/^[a-z_][a-z0-9_]*$/.test(name) && !NON_UNRESERVED_KEYWORDS.has(name)) return name;
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal as the deparser writes it (standard_conforming_strings is always on). */
function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Longest name text regclass/regtype input reads (a qualified name of three 63-byte identifiers, and then some). */
const MAX_NAME_INPUT_LENGTH = 1024;

/**
 * A possibly qualified name as regclass input reads it: dot-separated identifiers, unquoted ones
 * folded to lower case, "quoted" ones kept as written. Throws 42602 as PostgreSQL does.
 */
export function parseQualifiedName(text: string): string[] {
  if (text.length > MAX_NAME_INPUT_LENGTH) throw new SqlError(SqlState.nameTooLong, 'name is too long');
  const invalid = (): SqlError => new SqlError(SqlState.invalidName, 'invalid name syntax');
  const parts: string[] = [];
  let i = 0;
  const skipSpaces = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  skipSpaces();
  for (;;) {
    let part = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new SqlError(SqlState.invalidName, 'improper qualified name (unterminated quoted identifier)');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += text[i++];
      }
      if (part === '') throw invalid();
    } else {
      const start = i;
      while (i < text.length && text[i] !== '.' && !/\s/.test(text[i]!) && text[i] !== '"') i++;
      part = text.slice(start, i).toLowerCase();
      if (part === '') throw invalid();
    }
    parts.push(part);
    skipSpaces();
    if (i >= text.length) break;
    if (text[i] !== '.') throw invalid();
    i++;
    skipSpaces();
  }
  if (parts.length > 3) throw new SqlError(SqlState.syntaxError, `improper relation name (too many dotted names): ${text}`);
  return parts;
}

/** regclass input: an OID as digits, '-' for 0, or a relation name; undefined when no such relation. */
export function lookupRegclass(view: CatalogView, text: string): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) <= 0xffff_ffff ? Number(t) : undefined;
  if (t === '-') return 0;
  return view.lookup(parseQualifiedName(t))?.oid;
}

/** regclass input that raises 42P01 for a missing relation, as PostgreSQL does. */
export function regclassIn(view: CatalogView, text: string): number {
  const oid = lookupRegclass(view, text);
  if (oid === undefined) throw new SqlError(SqlState.undefinedTable, `relation "${text}" does not exist`);
  return oid;
}

/** regclass output: the name (qualified when not visible), or the number for an unknown OID. */
export function regclassOut(view: CatalogView, oid: number): string {
  if (oid === 0) return '-';
  const r = view.relation(oid);
  return r === undefined ? String(oid) : view.displayName(r);
}

/** regnamespace output. */
export function regnamespaceOut(view: CatalogView, oid: number): string {
  if (oid === 0) return '-';
  const ns = view.namespace(oid);
  return ns === undefined ? String(oid) : quoteIdentifier(ns.name);
}

/** Type names written like a cast's target: 'integer', 'character varying(10)', 'int4[]'. */
export function lookupRegtype(text: string): SqlType | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return { oid: Number(t), typmod: -1 };
  if (t.length > MAX_NAME_INPUT_LENGTH || t === '' || /[;'\\]/.test(t)) throw new SqlError(SqlState.syntaxError, `invalid type name "${text}"`);
  let type: TypeName | undefined;
  try {
    const parsed = parseSql(`SELECT NULL::${t}`);
    const stmt = parsed.length === 1 ? parsed[0]!.statement : undefined;
    const target = stmt?.kind === 'query' && stmt.query.kind === 'select' && stmt.query.targets.length === 1 ? stmt.query.targets[0]!.expr : undefined;
    if (target?.kind === 'cast' && target.arg.kind === 'const' && target.arg.value.type === 'null') type = target.type;
  } catch {
    type = undefined;
  }
  if (type === undefined) throw new SqlError(SqlState.syntaxError, `invalid type name "${text}"`);
  try {
    return resolveTypeName(type).type;
  } catch {
    return undefined;
  }
}

// ---- SQL text as PostgreSQL's deparser prints it -----------------------------------------------------

/** PostgreSQL's pretty-printing indentation steps (ruleutils.c). */
const PRETTYINDENT_STD = 8;
const PRETTYINDENT_JOIN = 4;
const PRETTYINDENT_VAR = 4;
/** Past this indentation, nested levels indent less and wrap around. */
const PRETTYINDENT_LIMIT = 40;

/**
 * The text being built. PostgreSQL always indents (a new line per clause); `pretty` drops the
 * parentheses operator precedence makes unnecessary and leaves visible relations unqualified.
 */
class RuleText {
  text = '';
  indent = 0;
  constructor(readonly pretty: boolean) {}

  append(s: string): void {
    this.text += s;
  }

  trimTrailingSpaces(): void {
    this.text = this.text.replace(/ +$/, '');
  }

  /** ruleutils' appendContextKeyword: a new line at the current indentation, then `word`. */
  keyword(word: string, before: number, after: number, plus: number): void {
    this.indent += before;
    this.trimTrailingSpaces();
    let amount: number;
    if (this.indent < PRETTYINDENT_LIMIT) amount = Math.max(this.indent, 0) + plus;
    else amount = ((PRETTYINDENT_LIMIT + Math.trunc((this.indent - PRETTYINDENT_LIMIT) / (PRETTYINDENT_STD / 2))) % PRETTYINDENT_LIMIT) + plus;
    this.text += `\n${' '.repeat(Math.max(amount, 0))}${word}`;
    this.indent = Math.max(this.indent + after, 0);
  }

  /** Text written by `f` into a separate buffer with the same indentation state. */
  capture(f: () => void): string {
    const saved = this.text;
    this.text = '';
    try {
      f();
      return this.text;
    } finally {
      this.text = saved;
    }
  }
}

/** Names the FROM items of a query give its columns, for qualifying bare column references. */
interface FromEntry {
  readonly alias: string;
  /** Column names, or undefined when not known. */
  readonly columns: readonly string[] | undefined;
}

class NameScope {
  constructor(
    readonly entries: readonly FromEntry[],
    readonly parent: NameScope | undefined,
    readonly ctes: ReadonlyMap<string, readonly string[]>,
  ) {}

  /** alias.column for a bare column name one FROM item has (searching outward), else as written. */
  qualify(parts: readonly string[]): readonly string[] {
    if (parts.length !== 1) return parts;
    for (let s: NameScope | undefined = this; s !== undefined; s = s.parent) {
      const found = s.entries.filter((e) => e.columns?.includes(parts[0]!) === true);
      if (found.length === 1) return [found[0]!.alias, parts[0]!];
      if (found.length > 1) return parts;
    }
    return parts;
  }

  cte(name: string): readonly string[] | undefined {
    for (let s: NameScope | undefined = this; s !== undefined; s = s.parent) {
      const c = s.ctes.get(name);
      if (c !== undefined) return c;
    }
    return undefined;
  }
}

/** How expressions are printed: with a scope for qualifying columns (view definitions) or without. */
interface PrintEnv {
  readonly buf: RuleText;
  readonly scope: NameScope | undefined;
  readonly view: CatalogView | undefined;
}

const INT4_MIN = -2147483648n;
const INT4_MAX = 2147483647n;
const INT8_MIN = -(1n << 63n);
const INT8_MAX = (1n << 63n) - 1n;

/** A literal as PostgreSQL prints the Const the parser made of it. */
function constText(v: ConstValue): string {
  switch (v.type) {
    case 'integer': {
      let big: bigint;
      try {
        big = BigInt(v.text);
      } catch {
        return v.text;
      }
      const type = big >= INT4_MIN && big <= INT4_MAX ? 'integer' : big >= INT8_MIN && big <= INT8_MAX ? 'bigint' : 'numeric';
      return type === 'integer' && big >= 0n ? v.text : `'${v.text}'::${type}`;
    }
    case 'numeric':
      return /^[0-9]/.test(v.text) && /[eE.]/.test(v.text) ? v.text : `'${v.text}'::numeric`;
    case 'string':
      return quoteLiteral(v.text);
    case 'boolean':
      return v.value ? 'true' : 'false';
    case 'null':
      return 'NULL';
    case 'bitstring':
      return `B'${v.text.slice(1)}'`;
  }
}

/** A string literal cast to a type: PostgreSQL folds it into a Const of that type. */
function foldedConstText(v: ConstValue, type: SqlType, typeText: string): string | undefined {
  if (v.type !== 'string') return undefined;
  if (type.typmod < 0) {
    if (type.oid === Oid.int4 && /^[0-9]+$/.test(v.text) && BigInt(v.text) <= INT4_MAX) return String(BigInt(v.text));
    if (type.oid === Oid.numeric && /^[0-9]/.test(v.text) && /[eE.]/.test(v.text) && /^[0-9.eE+-]+$/.test(v.text)) return v.text;
    if (type.oid === Oid.bool) {
      const l = v.text.trim().toLowerCase();
      if (['t', 'true', 'y', 'yes', 'on', '1'].includes(l)) return 'true';
      if (['f', 'false', 'n', 'no', 'off', '0'].includes(l)) return 'false';
    }
  }
  return `${quoteLiteral(v.text)}::${typeText}`;
}

function typeNameText(t: TypeName): { type: SqlType | undefined; text: string } {
  try {
    const type = resolveTypeName(t).type;
    return { type, text: formatType(type) };
  } catch {
    const names = t.names.filter((n, i) => !(i === 0 && n === 'pg_catalog' && t.names.length > 1));
    return { type: undefined, text: `${names.join('.')}${t.modifiers.length > 0 ? `(${t.modifiers.join(',')})` : ''}${'[]'.repeat(t.arrayDims)}` };
  }
}

/**
 * Rewrites the constructs PostgreSQL's parser turns into other nodes, so they print the way
 * PostgreSQL prints what it stored: BETWEEN as comparisons, IN (list) as = ANY (ARRAY[...]), LIKE
 * as ~~, IS NOT DISTINCT FROM as NOT (IS DISTINCT FROM), AT TIME ZONE as timezone().
 */
function lower(e: Expr): Expr {
  const loc = e.location;
  const op = (o: string, left: Expr, right: Expr): Expr => ({ kind: 'op', op: o, left, right, location: loc });
  switch (e.kind) {
    case 'between': {
      const inside = (low: Expr, high: Expr): Expr => ({ kind: 'and', args: [op('>=', e.arg, low), op('<=', e.arg, high)], location: loc });
      const outside = (low: Expr, high: Expr): Expr => ({ kind: 'or', args: [op('<', e.arg, low), op('>', e.arg, high)], location: loc });
      if (!e.symmetric) return e.negated ? outside(e.low, e.high) : inside(e.low, e.high);
      return e.negated
        ? { kind: 'and', args: [outside(e.low, e.high), outside(e.high, e.low)], location: loc }
        : { kind: 'or', args: [inside(e.low, e.high), inside(e.high, e.low)], location: loc };
    }
    case 'inList':
      return { kind: 'quantified', op: e.negated ? '<>' : '=', quantifier: e.negated ? 'all' : 'any', left: e.arg, array: { kind: 'array', elements: e.list, location: loc }, location: loc };
    case 'like': {
      const name = e.similar ? '~' : e.caseInsensitive ? '~~*' : '~~';
      let pattern = e.pattern;
      if (e.similar || e.escape !== undefined) {
        const fn = e.similar ? 'similar_to_escape' : 'like_escape';
        pattern = { kind: 'func', name: [fn], args: e.escape === undefined ? [e.pattern] : [e.pattern, e.escape], argNames: [], star: false, distinct: false, variadic: false, orderBy: [], withinGroup: false, location: loc };
      }
      return op(e.negated ? `!${name}` : name, e.arg, pattern);
    }
    case 'distinctFrom':
      return e.negated ? { kind: 'not', arg: { ...e, negated: false }, location: loc } : e;
    case 'atTimeZone':
      return { kind: 'func', name: ['timezone'], args: [e.zone, e.arg], argNames: [], star: false, distinct: false, variadic: false, orderBy: [], withinGroup: false, location: loc };
    default:
      return e;
  }
}

/** The first character decides an operator's precedence class in ruleutils (+ - low, * / % high). */
function precedenceClass(op: string): 'low' | 'high' | undefined {
  const c = op[0];
  return c === '+' || c === '-' ? 'low' : c === '*' || c === '/' || c === '%' ? 'high' : undefined;
}

/** Parents that delimit their operands themselves, so an operand needs no parentheses of its own. */
function delimitsOperands(parent: Expr): boolean {
  switch (parent.kind) {
    case 'func':
    case 'and':
    case 'or':
    case 'not':
    case 'subscript':
    case 'array':
    case 'row':
    case 'coalesce':
    case 'greatest':
    case 'least':
    case 'nullif':
    case 'case':
      return true;
    default:
      return false;
  }
}

/** ruleutils' isSimpleNode: whether `node` needs no parentheses as an operand of `parent` (pretty mode). */
function isSimpleNode(node: Expr, parent: Expr): boolean {
  switch (node.kind) {
    case 'const':
    case 'column':
    case 'param':
    case 'default':
    case 'func':
    case 'array':
    case 'row':
    case 'coalesce':
    case 'greatest':
    case 'least':
    case 'nullif':
    case 'case':
    case 'subscript':
    case 'sqlValue':
      return true;
    case 'cast':
      return node.arg.kind === 'const' || isSimpleNode(lower(node.arg), node);
    case 'op':
      if (parent.kind === 'op') {
        if (node.left === undefined || parent.left === undefined) return false;
        const mine = precedenceClass(node.op);
        const theirs = precedenceClass(parent.op);
        if (mine === undefined || theirs === undefined) return false;
        if (mine === 'high' && theirs === 'low') return true;
        if (mine === 'low' && theirs === 'high') return false;
        // Same precedence: (a - b) - c needs none, a - (b - c) does.
        return parent.left === node;
      }
      return delimitsOperands(parent);
    case 'isNull':
    case 'boolTest':
    case 'distinctFrom':
    case 'subquery':
    case 'exists':
    case 'quantifiedSubquery':
    case 'arraySubquery':
      return delimitsOperands(parent);
    case 'and':
    case 'or':
    case 'not':
      if (parent.kind === 'and' || parent.kind === 'or' || parent.kind === 'not') {
        if (node.kind === 'or') return parent.kind === 'or';
        return parent.kind === 'and' || parent.kind === 'or';
      }
      return delimitsOperands(parent);
    default:
      return false;
  }
}

function printOperand(e: Expr, parent: Expr, env: PrintEnv): void {
  const need = env.buf.pretty && !isSimpleNode(lower(e), parent);
  if (need) env.buf.append('(');
  printExpr(e, env);
  if (need) env.buf.append(')');
}

function columnText(parts: readonly string[], env: PrintEnv): string {
  const qualified = env.scope?.qualify(parts) ?? parts;
  return qualified.map(quoteIdentifier).join('.');
}

function functionName(name: readonly string[]): string {
  const parts = name.length > 1 && name[0] === 'pg_catalog' ? name.slice(1) : name;
  return parts.map(quoteIdentifier).join('.');
}

function printSortItems(items: readonly SortItem[], env: PrintEnv): void {
  items.forEach((s, i) => {
    if (i > 0) env.buf.append(', ');
    printExpr(s.expr, env);
    if (s.usingOp !== undefined) env.buf.append(` USING ${s.usingOp}`);
    else if (s.direction === 'desc') env.buf.append(' DESC');
    const descending = s.direction === 'desc' || s.usingOp === '>';
    if (s.nulls === 'first' && !descending) env.buf.append(' NULLS FIRST');
    if (s.nulls === 'last' && descending) env.buf.append(' NULLS LAST');
  });
}

function printWindowSpec(w: WindowSpec, env: PrintEnv): void {
  env.buf.append('(');
  let sep = '';
  if (w.refName !== undefined) {
    env.buf.append(quoteIdentifier(w.refName));
    sep = ' ';
  }
  if (w.partitionBy.length > 0) {
    env.buf.append(`${sep}PARTITION BY `);
    w.partitionBy.forEach((p, i) => {
      if (i > 0) env.buf.append(', ');
      printExpr(p, env);
    });
    sep = ' ';
  }
  if (w.orderBy.length > 0) {
    env.buf.append(`${sep}ORDER BY `);
    printSortItems(w.orderBy, env);
  }
  env.buf.append(')');
}

function printFunc(e: Extract<Expr, { kind: 'func' }>, env: PrintEnv): void {
  const buf = env.buf;
  buf.append(`${functionName(e.name)}(`);
  if (e.star) buf.append('*');
  else {
    if (e.distinct) buf.append('DISTINCT ');
    e.args.forEach((a, i) => {
      if (i > 0) buf.append(', ');
      if (e.variadic && i === e.args.length - 1) buf.append('VARIADIC ');
      const argName = e.argNames[i];
      if (argName !== undefined) buf.append(`${quoteIdentifier(argName)} => `);
      printExpr(a, env);
    });
    if (e.orderBy.length > 0 && !e.withinGroup) {
      buf.append(' ORDER BY ');
      printSortItems(e.orderBy, env);
    }
  }
  buf.append(')');
  if (e.withinGroup) {
    buf.append(' WITHIN GROUP (ORDER BY ');
    printSortItems(e.orderBy, env);
    buf.append(')');
  }
  if (e.filter !== undefined) {
    buf.append(' FILTER (WHERE ');
    printExpr(e.filter, env);
    buf.append(')');
  }
  if (e.over !== undefined) {
    buf.append(' OVER ');
    if (e.over.name !== undefined && e.over.partitionBy.length === 0 && e.over.orderBy.length === 0 && e.over.refName === undefined) buf.append(quoteIdentifier(e.over.name));
    else printWindowSpec(e.over, env);
  }
}

function printList(items: readonly Expr[], env: PrintEnv): void {
  items.forEach((x, i) => {
    if (i > 0) env.buf.append(', ');
    printExpr(x, env);
  });
}

function printSubquery(q: Query, env: PrintEnv): void {
  printQueryBody(q, env.buf, env.scope, env.view, undefined);
}

/** Prints an expression as ruleutils' get_rule_expr does. */
function printExpr(original: Expr, env: PrintEnv): void {
  const e = lower(original);
  const buf = env.buf;
  const open = (): void => {
    if (!buf.pretty) buf.append('(');
  };
  const close = (): void => {
    if (!buf.pretty) buf.append(')');
  };
  switch (e.kind) {
    case 'const':
      buf.append(constText(e.value));
      return;
    case 'column':
      buf.append(e.star ? [...(e.parts.length > 0 ? [columnText(e.parts, env)] : []), '*'].join('.') : columnText(e.parts, env));
      return;
    case 'param':
      buf.append(`$${e.index}`);
      return;
    case 'op':
      open();
      if (e.left === undefined) buf.append(`${e.op} `);
      else {
        printOperand(e.left, e, env);
        buf.append(` ${e.op} `);
      }
      printOperand(e.right, e, env);
      close();
      return;
    case 'and':
    case 'or':
      open();
      e.args.forEach((a, i) => {
        if (i > 0) buf.append(e.kind === 'and' ? ' AND ' : ' OR ');
        printOperand(a, e, env);
      });
      close();
      return;
    case 'not':
      open();
      buf.append('NOT ');
      printOperand(e.arg, e, env);
      close();
      return;
    case 'func':
      printFunc(e, env);
      return;
    case 'cast': {
      const { type, text } = typeNameText(e.type);
      const folded = e.arg.kind === 'const' && type !== undefined ? foldedConstText(e.arg.value, type, text) : undefined;
      if (folded !== undefined) {
        buf.append(folded);
        return;
      }
      open();
      printOperand(e.arg, e, env);
      close();
      buf.append(`::${text}`);
      return;
    }
    case 'case':
      buf.keyword('CASE', 0, PRETTYINDENT_VAR, 0);
      if (e.operand !== undefined) {
        buf.append(' ');
        printExpr(e.operand, env);
      }
      for (const w of e.whens) {
        buf.keyword('WHEN ', 0, 0, 0);
        printExpr(w.when, env);
        buf.append(' THEN ');
        printExpr(w.then, env);
      }
      buf.keyword('ELSE ', 0, 0, 0);
      if (e.else === undefined) buf.append('NULL');
      else printExpr(e.else, env);
      buf.keyword('END', -PRETTYINDENT_VAR, 0, 0);
      return;
    case 'coalesce':
      buf.append('COALESCE(');
      printList(e.args, env);
      buf.append(')');
      return;
    case 'greatest':
    case 'least':
      buf.append(`${e.kind.toUpperCase()}(`);
      printList(e.args, env);
      buf.append(')');
      return;
    case 'nullif':
      buf.append('NULLIF(');
      printList([e.left, e.right], env);
      buf.append(')');
      return;
    case 'isNull':
      open();
      printOperand(e.arg, e, env);
      buf.append(e.negated ? ' IS NOT NULL' : ' IS NULL');
      close();
      return;
    case 'boolTest':
      open();
      printOperand(e.arg, e, env);
      buf.append(` IS ${e.test.toUpperCase()}`);
      close();
      return;
    case 'distinctFrom':
      open();
      printOperand(e.left, e, env);
      buf.append(' IS DISTINCT FROM ');
      printOperand(e.right, e, env);
      close();
      return;
    case 'quantified':
      open();
      printOperand(e.left, e, env);
      buf.append(` ${e.op} ${e.quantifier.toUpperCase()} (`);
      printOperand(e.array, e, env);
      buf.append(')');
      close();
      return;
    case 'subquery':
      buf.append('(');
      printSubquery(e.query, env);
      buf.append(')');
      return;
    case 'exists':
      buf.append('(EXISTS (');
      printSubquery(e.query, env);
      buf.append('))');
      return;
    case 'quantifiedSubquery':
      buf.append('(');
      printExpr(e.left, env);
      buf.append(e.op === '=' && e.quantifier === 'any' ? ' IN (' : ` ${e.op} ${e.quantifier.toUpperCase()} (`);
      printSubquery(e.query, env);
      buf.append('))');
      return;
    case 'arraySubquery':
      buf.append('ARRAY(');
      printSubquery(e.query, env);
      buf.append(')');
      return;
    case 'array':
      buf.append('ARRAY[');
      printList(e.elements, env);
      buf.append(']');
      return;
    case 'row':
      buf.append('ROW(');
      printList(e.args, env);
      buf.append(')');
      return;
    case 'subscript': {
      const bare = e.arg.kind === 'column';
      if (!bare) buf.append('(');
      printExpr(e.arg, env);
      if (!bare) buf.append(')');
      buf.append('[');
      if (e.index !== undefined) printExpr(e.index, env);
      if (e.slice) {
        buf.append(':');
        if (e.upper !== undefined) printExpr(e.upper, env);
      }
      buf.append(']');
      return;
    }
    case 'field':
      buf.append('(');
      printExpr(e.arg, env);
      buf.append(`).${e.field === '*' ? '*' : quoteIdentifier(e.field)}`);
      return;
    case 'sqlValue':
      buf.append(`${e.fn.toUpperCase()}${e.precision !== undefined ? `(${e.precision})` : ''}`);
      return;
    case 'collate':
      open();
      printOperand(e.arg, e, env);
      buf.append(` COLLATE ${e.collation.map(quoteIdentifier).join('.')}`);
      close();
      return;
    case 'default':
      buf.append('DEFAULT');
      return;
    case 'between':
    case 'inList':
    case 'like':
    case 'atTimeZone':
      // lower() rewrote these.
      throw new SqlError(SqlState.internalError, `unexpected ${e.kind} while printing an expression`);
  }
}

/** The name a target of a FROM subquery or CTE gives its column when it has no alias. */
function targetName(expr: Expr): string {
  if (expr.kind === 'column' && !expr.star) return expr.parts[expr.parts.length - 1]!;
  if (expr.kind === 'func') return expr.name[expr.name.length - 1]!;
  if (expr.kind === 'cast') return targetName(expr.arg) === '?column?' ? (expr.type.names[expr.type.names.length - 1] ?? '?column?') : targetName(expr.arg);
  return '?column?';
}

function queryColumnNames(q: Query): string[] | undefined {
  if (q.kind === 'select') {
    if (q.targets.some((t) => t.expr.kind === 'column' && t.expr.star)) return undefined;
    return q.targets.map((t) => t.alias ?? targetName(t.expr));
  }
  if (q.kind === 'setop') return queryColumnNames(q.left);
  return q.rows[0]?.map((_, i) => `column${i + 1}`);
}

/** The FROM entries of a FROM item: each relation's alias and column names. */
function fromEntries(item: FromItem, scope: NameScope | undefined, view: CatalogView | undefined, ctes: ReadonlyMap<string, readonly string[]>): FromEntry[] {
  const renamed = (columns: readonly string[] | undefined, alias: { columns: readonly string[] } | undefined): readonly string[] | undefined => {
    if (columns === undefined) return alias !== undefined && alias.columns.length > 0 ? alias.columns : undefined;
    if (alias === undefined || alias.columns.length === 0) return columns;
    return columns.map((c, i) => alias.columns[i] ?? c);
  };
  switch (item.kind) {
    case 'table': {
      const parts = item.name.parts;
      const name = parts[parts.length - 1]!;
      let columns: readonly string[] | undefined = parts.length === 1 ? (ctes.get(name) ?? scope?.cte(name)) : undefined;
      if (columns === undefined && view !== undefined) {
        const r = view.lookup(parts);
        if (r?.kind === 'table') columns = r.table.view !== undefined ? r.table.view.columnNames : r.table.columns.filter((c) => c.state === 'public' && !c.hidden).map((c) => c.name);
        else if (r?.kind === 'virtual') columns = r.def.columns.map((c) => c.name);
      }
      return [{ alias: item.alias?.name ?? name, columns: renamed(columns, item.alias) }];
    }
    case 'subquery':
      return [{ alias: item.alias?.name ?? 'unnamed_subquery', columns: renamed(queryColumnNames(item.query), item.alias) }];
    case 'function': {
      const fn = item.calls[0]?.name;
      const alias = item.alias?.name ?? fn?.[fn.length - 1] ?? 'function';
      return [{ alias, columns: item.alias !== undefined && item.alias.columns.length > 0 ? item.alias.columns : [alias] }];
    }
    case 'join':
      return [...fromEntries(item.left, scope, view, ctes), ...fromEntries(item.right, scope, view, ctes)];
  }
}

function printAlias(alias: { name: string; columns: readonly string[] } | undefined, buf: RuleText): void {
  if (alias === undefined) return;
  buf.append(` ${quoteIdentifier(alias.name)}`);
  if (alias.columns.length > 0) buf.append(`(${alias.columns.map(quoteIdentifier).join(', ')})`);
}

function printFromItem(item: FromItem, env: PrintEnv): void {
  const buf = env.buf;
  switch (item.kind) {
    case 'table':
      buf.append(`${item.only ? 'ONLY ' : ''}${item.name.parts.map(quoteIdentifier).join('.')}`);
      printAlias(item.alias, buf);
      return;
    case 'subquery':
      if (item.lateral) buf.append('LATERAL ');
      buf.append('(');
      printSubquery(item.query, env);
      buf.append(')');
      printAlias(item.alias, buf);
      return;
    case 'function':
      if (item.lateral) buf.append('LATERAL ');
      item.calls.forEach((c, i) => {
        if (i > 0) buf.append(', ');
        printExpr(c, env);
      });
      if (item.withOrdinality) buf.append(' WITH ORDINALITY');
      printAlias(item.alias, buf);
      return;
    case 'join': {
      const rightNeedsParens = buf.pretty && item.right.kind === 'join' && item.right.alias === undefined;
      const wrap = !buf.pretty || item.alias !== undefined;
      if (wrap) buf.append('(');
      printFromItem(item.left, env);
      const natural = item.natural ? 'NATURAL ' : '';
      const word =
        item.type === 'cross' ? ' CROSS JOIN ' : item.type === 'inner' ? (item.on === undefined && item.using === undefined && !item.natural ? ' CROSS JOIN ' : ` ${natural}JOIN `) : ` ${natural}${item.type.toUpperCase()} JOIN `;
      buf.keyword(word, -PRETTYINDENT_STD, PRETTYINDENT_STD, PRETTYINDENT_JOIN);
      if (rightNeedsParens) buf.append('(');
      printFromItem(item.right, env);
      if (rightNeedsParens) buf.append(')');
      if (item.using !== undefined) buf.append(` USING (${item.using.map(quoteIdentifier).join(', ')})`);
      else if (item.on !== undefined) {
        buf.append(' ON ');
        if (!buf.pretty) buf.append('(');
        printExpr(item.on, env);
        if (!buf.pretty) buf.append(')');
      } else if (item.type !== 'inner' && item.type !== 'cross' && !item.natural) buf.append(' ON TRUE');
      if (wrap) buf.append(')');
      printAlias(item.alias, buf);
      return;
    }
  }
}

/** A target of a view's query after `*` expansion: the expression, the name it would show without
 *  AS (a column's own name; "?column?" for anything else) and the name it gives its column. */
interface ExpandedTarget {
  readonly expr: Expr;
  readonly natural: string | undefined;
  readonly resname: string;
}

/** A target list with `*` expanded into the columns the FROM items give, as PostgreSQL stores views. */
function expandTargets(q: SelectQuery, scope: NameScope): ExpandedTarget[] {
  const out: ExpandedTarget[] = [];
  for (const t of q.targets) {
    const e = t.expr;
    if (e.kind === 'column' && e.star) {
      const entries = e.parts.length === 0 ? scope.entries : scope.entries.filter((x) => x.alias === e.parts[e.parts.length - 1]);
      if (entries.length > 0 && entries.every((x) => x.columns !== undefined)) {
        for (const entry of entries) {
          for (const c of entry.columns!) out.push({ expr: { kind: 'column', parts: [entry.alias, c], star: false, location: -1 }, natural: c, resname: c });
        }
        continue;
      }
      out.push({ expr: e, natural: undefined, resname: '?column?' });
      continue;
    }
    const natural = e.kind === 'column' ? e.parts[e.parts.length - 1] : '?column?';
    out.push({ expr: e, natural, resname: t.alias ?? targetName(e) });
  }
  return out;
}

function printSelect(q: SelectQuery, buf: RuleText, outer: NameScope | undefined, view: CatalogView | undefined, columnNames: readonly string[] | undefined, ctes: ReadonlyMap<string, readonly string[]>): void {
  const entries = q.from.flatMap((f) => fromEntries(f, outer, view, ctes));
  const scope = new NameScope(entries, outer, ctes);
  const env: PrintEnv = { buf, scope, view };
  buf.indent += PRETTYINDENT_STD;
  buf.append(' SELECT');
  if (q.distinct === true) buf.append(' DISTINCT');
  else if (Array.isArray(q.distinct)) {
    buf.append(' DISTINCT ON (');
    printList(q.distinct as readonly Expr[], env);
    buf.append(')');
  }
  const targets = expandTargets(q, scope);
  targets.forEach((t, i) => {
    buf.append(i === 0 ? ' ' : ', ');
    const field = buf.capture(() => {
      printExpr(t.expr, env);
      const name = columnNames?.[i] ?? t.resname;
      if (t.natural !== undefined && name !== t.natural) buf.append(` AS ${quoteIdentifier(name)}`);
    });
    // With PostgreSQL's wrap column of 0, every target after the first starts a new line.
    if (field.startsWith('\n')) buf.trimTrailingSpaces();
    else if (i > 0) buf.keyword('', -PRETTYINDENT_STD, PRETTYINDENT_STD, PRETTYINDENT_VAR);
    buf.append(field);
  });
  q.from.forEach((f, i) => {
    if (i === 0) {
      buf.keyword(' FROM ', -PRETTYINDENT_STD, PRETTYINDENT_STD, 2);
      printFromItem(f, env);
      return;
    }
    buf.append(', ');
    const item = buf.capture(() => printFromItem(f, env));
    if (item.startsWith('\n')) buf.trimTrailingSpaces();
    else buf.keyword('', -PRETTYINDENT_STD, PRETTYINDENT_STD, PRETTYINDENT_VAR);
    buf.append(item);
  });
  if (q.where !== undefined) {
    buf.keyword(' WHERE ', -PRETTYINDENT_STD, PRETTYINDENT_STD, 1);
    printExpr(q.where, env);
  }
  if (q.groupBy.length > 0) {
    buf.keyword(' GROUP BY ', -PRETTYINDENT_STD, PRETTYINDENT_STD, 1);
    if (q.groupByDistinct) buf.append('DISTINCT ');
    q.groupBy.forEach((g, i) => {
      if (i > 0) buf.append(', ');
      if (g.kind === 'expr') printExpr(g.expr, env);
      else if (g.kind === 'empty') buf.append('()');
      else if (g.kind === 'rollup' || g.kind === 'cube') {
        buf.append(`${g.kind.toUpperCase()}(`);
        g.items.forEach((set, j) => {
          if (j > 0) buf.append(', ');
          if (set.length === 1) printExpr(set[0]!, env);
          else {
            buf.append('(');
            printList(set, env);
            buf.append(')');
          }
        });
        buf.append(')');
      } else buf.append('GROUPING SETS (...)');
    });
  }
  if (q.having !== undefined) {
    buf.keyword(' HAVING ', -PRETTYINDENT_STD, PRETTYINDENT_STD, 0);
    printExpr(q.having, env);
  }
  printModifiers(q, env);
}

function printModifiers(q: Query, env: PrintEnv): void {
  const buf = env.buf;
  if (q.orderBy.length > 0) {
    buf.keyword(' ORDER BY ', -PRETTYINDENT_STD, PRETTYINDENT_STD, 1);
    printSortItems(q.orderBy, env);
  }
  if (q.offset !== undefined) {
    buf.keyword(' OFFSET ', -PRETTYINDENT_STD, PRETTYINDENT_STD, 0);
    printExpr(q.offset, env);
  }
  if (q.limit !== undefined) {
    if (q.withTies) {
      buf.keyword(' FETCH FIRST ', -PRETTYINDENT_STD, PRETTYINDENT_STD, 0);
      printExpr(q.limit, env);
      buf.append(' ROWS WITH TIES');
    } else {
      buf.keyword(' LIMIT ', -PRETTYINDENT_STD, PRETTYINDENT_STD, 0);
      if (q.limit.kind === 'const' && q.limit.value.type === 'null') buf.append('ALL');
      else printExpr(q.limit, env);
    }
  }
}

function printSetOperand(q: Query, buf: RuleText, outer: NameScope | undefined, view: CatalogView | undefined, columnNames: readonly string[] | undefined, ctes: ReadonlyMap<string, readonly string[]>): void {
  if (q.kind === 'setop' && q.with === undefined && q.orderBy.length === 0 && q.limit === undefined && q.offset === undefined) {
    printSetOp(q, buf, outer, view, columnNames, ctes);
    return;
  }
  const paren = q.with !== undefined || q.orderBy.length > 0 || q.limit !== undefined || q.offset !== undefined;
  if (paren) buf.append('(');
  const saved = buf.indent;
  printQueryBody(q, buf, outer, view, columnNames, ctes);
  buf.indent = saved;
  if (paren) buf.append(')');
}

function printSetOp(q: Extract<Query, { kind: 'setop' }>, buf: RuleText, outer: NameScope | undefined, view: CatalogView | undefined, columnNames: readonly string[] | undefined, ctes: ReadonlyMap<string, readonly string[]>): void {
  const leftNested = q.left.kind === 'setop' && q.left.with === undefined && q.left.orderBy.length === 0 && q.left.limit === undefined;
  const leftParen = leftNested && !((q.left as Extract<Query, { kind: 'setop' }>).op === q.op && (q.left as Extract<Query, { kind: 'setop' }>).all === q.all);
  let sub = 0;
  if (leftParen) {
    buf.append('(');
    sub = PRETTYINDENT_STD;
    buf.keyword('', sub, 0, 0);
  }
  printSetOperand(q.left, buf, outer, view, columnNames, ctes);
  if (leftParen) buf.keyword(') ', -sub, 0, 0);
  else buf.keyword('', -sub, 0, 0);
  buf.append(`${q.op.toUpperCase()} ${q.all ? 'ALL ' : ''}`);
  const rightParen = q.right.kind === 'setop';
  sub = rightParen ? PRETTYINDENT_STD : 0;
  if (rightParen) buf.append('(');
  buf.keyword('', sub, 0, 0);
  printSetOperand(q.right, buf, outer, view, undefined, ctes);
  buf.indent -= sub;
  if (rightParen) buf.keyword(')', 0, 0, 0);
}

/** ruleutils' get_query_def: WITH, the query, ORDER BY, OFFSET, LIMIT. */
function printQueryBody(
  q: Query,
  buf: RuleText,
  outer: NameScope | undefined,
  view: CatalogView | undefined,
  columnNames: readonly string[] | undefined,
  outerCtes: ReadonlyMap<string, readonly string[]> = new Map(),
): void {
  const saved = buf.indent;
  const ctes = new Map(outerCtes);
  if (q.with !== undefined) {
    buf.indent += PRETTYINDENT_STD;
    buf.append(` WITH ${q.with.recursive ? 'RECURSIVE ' : ''}`);
    q.with.tables.forEach((t, i) => {
      if (i > 0) buf.append(', ');
      buf.append(`${quoteIdentifier(t.name)}${t.columns.length > 0 ? `(${t.columns.map(quoteIdentifier).join(', ')})` : ''} AS ${t.materialized === 'always' ? 'MATERIALIZED ' : t.materialized === 'never' ? 'NOT MATERIALIZED ' : ''}(`);
      buf.keyword('', 0, 0, 0);
      printQueryBody(t.query, buf, outer, view, t.columns.length > 0 ? t.columns : undefined, ctes);
      buf.keyword('', 0, 0, 0);
      buf.append(')');
      const names = t.columns.length > 0 ? t.columns : queryColumnNames(t.query);
      if (names !== undefined) ctes.set(t.name, names);
    });
    buf.indent -= PRETTYINDENT_STD;
    buf.keyword('', 0, 0, 0);
  }
  switch (q.kind) {
    case 'select':
      printSelect(q, buf, outer, view, columnNames, ctes);
      break;
    case 'values': {
      const env: PrintEnv = { buf, scope: outer, view };
      buf.append('VALUES ');
      q.rows.forEach((r, i) => {
        if (i > 0) buf.append(', ');
        buf.append('(');
        printList(r, env);
        buf.append(')');
      });
      printModifiers(q, env);
      break;
    }
    case 'setop':
      printSetOp(q, buf, outer, view, columnNames, ctes);
      printModifiers(q, { buf, scope: outer, view });
      break;
  }
  buf.indent = saved;
}

/** An expression stored as SQL text (a default, a CHECK, a partial index predicate) as pg_get_expr prints it. */
export function expressionText(stored: string, pretty: boolean): string {
  const buf = new RuleText(pretty);
  printExpr(parseStoredExpr(stored, 'expression'), { buf, scope: undefined, view: undefined });
  return buf.text;
}

/** pg_get_viewdef's text: the view's query laid out as PostgreSQL prints it, with a final ';'. */
export function viewDefinition(view: CatalogView, table: TableDescriptor, pretty: boolean): string | null {
  if (table.view === undefined) return null;
  const parsed = parseSql(table.view.query);
  const stmt = parsed[0]?.statement;
  if (parsed.length !== 1 || stmt?.kind !== 'query') throw new SqlError(SqlState.dataCorrupted, `view "${table.name}" has an invalid definition`);
  const buf = new RuleText(pretty);
  printQueryBody(stmt.query, buf, undefined, view, table.view.columnNames);
  return `${buf.text};`;
}

function columnName(t: TableDescriptor, id: number): string {
  return t.columns.find((c) => c.id === id)?.name ?? `column${id}`;
}

/** pg_get_indexdef(index): CREATE [UNIQUE] INDEX ... USING btree (...); with `column` > 0, that column's text. */
export function indexDefinition(view: CatalogView, rel: Extract<PgRelation, { kind: 'index' }>, column: number, pretty: boolean): string {
  const { table, index } = rel;
  const keys = index.columns.map((k) => `${quoteIdentifier(columnName(table, k.columnId))}${k.descending ? ' DESC' : ''}`);
  if (column > 0) {
    const all = [...index.columns.map((k) => k.columnId), ...index.storing];
    const id = all[column - 1];
    return id === undefined ? '' : quoteIdentifier(columnName(table, id));
  }
  const tableRel = view.relation(table.id);
  const tableName = tableRel === undefined ? quoteIdentifier(table.name) : pretty ? view.displayName(tableRel) : view.qualifiedName(tableRel);
  let text = `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdentifier(index.name)} ON ${tableName} USING btree (${keys.join(', ')})`;
  if (index.storing.length > 0) text += ` INCLUDE (${index.storing.map((id) => quoteIdentifier(columnName(table, id))).join(', ')})`;
  if (index.predicate !== undefined) text += ` WHERE ${expressionText(index.predicate, pretty)}`;
  return text;
}

/** A constraint of a table, as pg_constraint lists it. */
export type PgConstraint =
  | { readonly oid: number; readonly kind: 'p' | 'u'; readonly name: string; readonly table: TableDescriptor; readonly index: IndexDescriptor }
  | { readonly oid: number; readonly kind: 'c'; readonly name: string; readonly table: TableDescriptor; readonly check: TableDescriptor['checks'][number] }
  | { readonly oid: number; readonly kind: 'f'; readonly name: string; readonly table: TableDescriptor; readonly foreignKey: TableDescriptor['foreignKeys'][number] };

/** The constraints of a table: its primary key and UNIQUE constraints (by their indexes), CHECKs and foreign keys. */
export function constraintsOf(t: TableDescriptor): PgConstraint[] {
  const out: PgConstraint[] = [];
  for (const index of catalogIndexes(t)) {
    if (index.state !== 'public') continue;
    if (!index.primary && index.constraintName === undefined) continue;
    const oid = subObjectOid(t.id, 'indexConstraint', index.id);
    if (oid !== undefined) out.push({ oid, kind: index.primary ? 'p' : 'u', name: index.constraintName ?? index.name, table: t, index });
  }
  t.checks.forEach((check, i) => {
    const oid = subObjectOid(t.id, 'check', i);
    if (oid !== undefined) out.push({ oid, kind: 'c', name: check.name, table: t, check });
  });
  t.foreignKeys.forEach((foreignKey, i) => {
    const oid = subObjectOid(t.id, 'foreignKey', i);
    if (oid !== undefined) out.push({ oid, kind: 'f', name: foreignKey.name, table: t, foreignKey });
  });
  return out;
}

/** The constraint with this OID in the view's database. */
export function constraintByOid(view: CatalogView, oid: number): PgConstraint | undefined {
  const decoded = decodeSubObjectOid(oid);
  if (decoded === undefined) return undefined;
  const rel = view.relation(decoded.tableId);
  if (rel?.kind !== 'table') return undefined;
  return constraintsOf(rel.table).find((c) => c.oid === oid);
}

const REFERENTIAL_ACTIONS: Readonly<Record<string, string>> = {
  'no action': 'NO ACTION',
  restrict: 'RESTRICT',
  cascade: 'CASCADE',
  'set null': 'SET NULL',
  'set default': 'SET DEFAULT',
};

function referentialAction(action: string): string {
  return REFERENTIAL_ACTIONS[action.toLowerCase().replace(/_/g, ' ')] ?? action.toUpperCase();
}

/** pg_get_constraintdef: PRIMARY KEY (id), UNIQUE (x), CHECK ((x > 0)), FOREIGN KEY (a) REFERENCES t(b). */
export function constraintDefinition(view: CatalogView, c: PgConstraint, pretty: boolean): string {
  const cols = (ids: readonly number[]): string => ids.map((id) => quoteIdentifier(columnName(c.table, id))).join(', ');
  switch (c.kind) {
    case 'p':
    case 'u': {
      let text = `${c.kind === 'p' ? 'PRIMARY KEY' : 'UNIQUE'} (${cols(c.index.columns.map((k) => k.columnId))})`;
      if (c.index.storing.length > 0) text += ` INCLUDE (${cols(c.index.storing)})`;
      return text;
    }
    case 'c':
      return `CHECK (${expressionText(c.check.expr, pretty)})${c.check.validated ? '' : ' NOT VALID'}`;
    case 'f': {
      const fk = c.foreignKey;
      const target = view.relation(fk.referencedTableId);
      const targetTable = view.catalog.table(fk.referencedTableId);
      const targetName = target === undefined ? quoteIdentifier(targetTable?.name ?? String(fk.referencedTableId)) : view.displayName(target);
      const targetCols = fk.referencedColumnIds.map((id) => quoteIdentifier(targetTable === undefined ? `column${id}` : columnName(targetTable, id))).join(', ');
      let text = `FOREIGN KEY (${cols(fk.columnIds)}) REFERENCES ${targetName}(${targetCols})`;
      const onUpdate = referentialAction(fk.onUpdate);
      const onDelete = referentialAction(fk.onDelete);
      if (onUpdate !== 'NO ACTION' && onUpdate !== '') text += ` ON UPDATE ${onUpdate}`;
      if (onDelete !== 'NO ACTION' && onDelete !== '') text += ` ON DELETE ${onDelete}`;
      return text;
    }
  }
}

/** The sequence a column's SERIAL default uses (owned by the column), if any. */
export function ownedSequence(view: CatalogView, table: TableDescriptor, column: ColumnDescriptor): TableDescriptor | undefined {
  if (column.ownsSequence !== undefined) {
    const s = view.catalog.table(column.ownsSequence);
    if (s?.sequence !== undefined) return s;
  }
  for (const r of view.relations) {
    if (r.kind === 'table' && r.table.sequence?.ownedBy?.tableId === table.id && r.table.sequence.ownedBy.columnId === column.id) return r.table;
  }
  return undefined;
}

// ---- sizes ---------------------------------------------------------------------------------------------

/** PostgreSQL 15's pg_size_pretty units: each unit is used below its limit (half-rounded from the one before). */
const SIZE_UNITS: ReadonlyArray<{ readonly name: string; readonly limit: bigint; readonly round: boolean; readonly bits: number }> = [
  { name: 'bytes', limit: 10n * 1024n, round: false, bits: 0 },
  { name: 'kB', limit: 20n * 1024n - 1n, round: true, bits: 10 },
  { name: 'MB', limit: 20n * 1024n - 1n, round: true, bits: 20 },
  { name: 'GB', limit: 20n * 1024n - 1n, round: true, bits: 30 },
  { name: 'TB', limit: 20n * 1024n - 1n, round: true, bits: 40 },
  { name: 'PB', limit: 20n * 1024n - 1n, round: true, bits: 50 },
];

function halfRounded(x: bigint): bigint {
  return (x + (x < 0n ? -1n : 1n)) / 2n;
}

/** pg_size_pretty(bigint). */
export function sizePretty(bytes: bigint): string {
  let size = bytes;
  for (let i = 0; i < SIZE_UNITS.length; i++) {
    const unit = SIZE_UNITS[i]!;
    const next = SIZE_UNITS[i + 1];
    const abs = size < 0n ? -size : size;
    if (next === undefined || abs < unit.limit) return `${unit.round ? halfRounded(size) : size} ${unit.name}`;
    const shift = next.bits - unit.bits - (next.round ? 1 : 0) + (unit.round ? 1 : 0);
    // Division, not a shift, so negative sizes round like positive ones.
    size /= 1n << BigInt(shift);
  }
  throw new SqlError(SqlState.internalError, 'pg_size_pretty ran out of units');
}

/** pg_size_pretty(numeric): bytes keep their fraction; larger sizes are whole numbers of a unit. */
export function sizePrettyNumeric(bytes: Numeric): string {
  if (!bytes.isFinite) return `${bytes.toString()} bytes`;
  if (bytes.abs().compare(Numeric.fromBigInt(SIZE_UNITS[0]!.limit)) < 0) return `${bytes.toString()} bytes`;
  return sizePretty(bytes.trunc().toBigInt());
}

// ---- the functions -----------------------------------------------------------------------------------

const OID = Oid.oid;
const REGCLASS = Oid.regclass;
const TEXT = Oid.text;
const BOOL = Oid.bool;
const INT4 = Oid.int4;

function viewOf(ctx: EvalContext): CatalogView {
  return CatalogView.of(execContextOf(ctx));
}

/** A relation named by a text argument (the forms regclass input accepts); 42P01 when missing. */
function relationArg(ctx: EvalContext, text: string): PgRelation {
  const view = viewOf(ctx);
  const r = view.relation(regclassIn(view, text));
  if (r === undefined) throw new SqlError(SqlState.undefinedTable, `relation "${text}" does not exist`);
  return r;
}

const tableIsVisible: ScalarImpl = (a, ctx) => {
  const view = viewOf(ctx);
  const r = view.relation(a[0] as number);
  return r === undefined ? null : view.isVisible(r);
};
defineScalar('pg_table_is_visible', { params: [OID], returns: Types.bool, impl: tableIsVisible });
// Every type and function is in pg_catalog, which is always searched.
defineScalar('pg_type_is_visible', { params: [OID], returns: Types.bool, impl: () => true });
defineScalar('pg_function_is_visible', { params: [OID], returns: Types.bool, impl: () => true });

/** pg_get_expr's stored expression: Cairn keeps expressions as SQL text, so adbin is that text. */
function getExpr(a: Datum[]): Datum {
  const text = a[0] as string;
  return expressionText(text, a.length > 2 && a[2] === true);
}
defineScalar(
  'pg_get_expr',
  { params: [Oid.pg_node_tree, OID], returns: Types.text, impl: getExpr },
  { params: [Oid.pg_node_tree, OID, BOOL], returns: Types.text, impl: getExpr },
  { params: [TEXT, OID], returns: Types.text, impl: getExpr },
  { params: [TEXT, OID, BOOL], returns: Types.text, impl: getExpr },
);

function getIndexdef(a: Datum[], ctx: EvalContext): Datum {
  const view = viewOf(ctx);
  const r = view.relation(a[0] as number);
  if (r?.kind !== 'index') return null;
  return indexDefinition(view, r, a.length > 1 ? (a[1] as number) : 0, a.length > 2 && a[2] === true);
}
defineScalar(
  'pg_get_indexdef',
  { params: [OID], returns: Types.text, impl: getIndexdef },
  { params: [OID, INT4, BOOL], returns: Types.text, impl: getIndexdef },
);

function getConstraintdef(a: Datum[], ctx: EvalContext): Datum {
  const view = viewOf(ctx);
  const c = constraintByOid(view, a[0] as number);
  return c === undefined ? null : constraintDefinition(view, c, a.length > 1 && a[1] === true);
}
defineScalar(
  'pg_get_constraintdef',
  { params: [OID], returns: Types.text, impl: getConstraintdef },
  { params: [OID, BOOL], returns: Types.text, impl: getConstraintdef },
);

function getViewdef(rel: PgRelation | undefined, pretty: boolean, ctx: EvalContext): Datum {
  if (rel?.kind !== 'table') return null;
  return viewDefinition(viewOf(ctx), rel.table, pretty);
}
defineScalar(
  'pg_get_viewdef',
  { params: [OID], returns: Types.text, impl: (a, ctx) => getViewdef(viewOf(ctx).relation(a[0] as number), false, ctx) },
  { params: [OID, BOOL], returns: Types.text, impl: (a, ctx) => getViewdef(viewOf(ctx).relation(a[0] as number), a[1] === true, ctx) },
  { params: [TEXT], returns: Types.text, impl: (a, ctx) => getViewdef(relationArg(ctx, a[0] as string), false, ctx) },
  { params: [TEXT, BOOL], returns: Types.text, impl: (a, ctx) => getViewdef(relationArg(ctx, a[0] as string), a[1] === true, ctx) },
);

defineScalar('pg_get_serial_sequence', {
  params: [TEXT, TEXT],
  returns: Types.text,
  impl: (a, ctx) => {
    const view = viewOf(ctx);
    const rel = relationArg(ctx, a[0] as string);
    if (rel.kind !== 'table') return null;
    const columnName = a[1] as string;
    const column = rel.table.columns.find((c) => c.name === columnName && c.state === 'public');
    if (column === undefined) throw new SqlError(SqlState.undefinedColumn, `column "${columnName}" of relation "${rel.name}" does not exist`);
    const seq = ownedSequence(view, rel.table, column);
    const seqRel = seq === undefined ? undefined : view.relation(seq.id);
    return seqRel === undefined ? null : view.qualifiedName(seqRel);
  },
});

// Cairn keeps no size statistics a gateway can read cheaply: every relation reports 0 bytes.
function relationSize(rel: PgRelation | undefined): Datum {
  return rel === undefined ? null : 0n;
}
for (const fn of ['pg_relation_size', 'pg_total_relation_size', 'pg_table_size', 'pg_indexes_size']) {
  const overloads: ScalarOverload[] = [
    { params: [REGCLASS], returns: Types.int8, impl: (a, ctx) => relationSize(viewOf(ctx).relation(a[0] as number)) },
    { params: [TEXT], returns: Types.int8, impl: (a, ctx) => relationSize(relationArg(ctx, a[0] as string)) },
  ];
  if (fn === 'pg_relation_size') overloads.push({ params: [REGCLASS, TEXT], returns: Types.int8, impl: (a, ctx) => relationSize(viewOf(ctx).relation(a[0] as number)) });
  defineScalar(fn, ...overloads);
}
defineScalar(
  'pg_database_size',
  { params: [Oid.name], returns: Types.int8, impl: (a, ctx) => (execContextOf(ctx).catalog.database(a[0] as string) === undefined ? null : 0n) },
  { params: [TEXT], returns: Types.int8, impl: (a, ctx) => (execContextOf(ctx).catalog.database(a[0] as string) === undefined ? null : 0n) },
  { params: [OID], returns: Types.int8, impl: (a, ctx) => (execContextOf(ctx).catalog.databaseById(a[0] as number) === undefined ? null : 0n) },
);

defineScalar(
  'pg_size_pretty',
  { params: [Oid.int8], returns: Types.text, impl: (a) => sizePretty(a[0] as bigint) },
  { params: [Oid.numeric], returns: Types.text, impl: (a) => sizePrettyNumeric(a[0] as Numeric) },
);

defineScalar('to_regclass', {
  params: [TEXT],
  returns: Types.regclass,
  impl: (a, ctx) => {
    const view = viewOf(ctx);
    const text = (a[0] as string).trim();
    // A number is not a name here: to_regclass('1259') looks for a relation called "1259".
    if (/^\d+$/.test(text)) return view.lookup([text])?.oid ?? null;
    return view.lookup(parseQualifiedName(text))?.oid ?? null;
  },
});
defineScalar('to_regtype', {
  params: [TEXT],
  returns: Types.regtype,
  impl: (a) => {
    const text = (a[0] as string).trim();
    if (/^\d+$/.test(text)) return null;
    return lookupRegtype(text)?.oid ?? null;
  },
});
defineScalar('to_regnamespace', {
  params: [TEXT],
  returns: Types.regnamespace,
  impl: (a, ctx) => {
    const parts = parseQualifiedName(a[0] as string);
    if (parts.length !== 1) throw new SqlError(SqlState.invalidName, 'invalid name syntax');
    return viewOf(ctx).namespaceNamed(parts[0]!)?.oid ?? null;
  },
});

// Cairn has no partitioning, triggers, rules, extended statistics or publications.
const nothing: ScalarImpl = () => null;
defineScalar('pg_get_partkeydef', { params: [OID], returns: Types.text, impl: nothing });
defineScalar('pg_get_statisticsobjdef_columns', { params: [OID], returns: Types.text, impl: nothing });
defineScalar('pg_get_triggerdef', { params: [OID], returns: Types.text, impl: nothing }, { params: [OID, BOOL], returns: Types.text, impl: nothing });
defineScalar('pg_get_ruledef', { params: [OID], returns: Types.text, impl: nothing }, { params: [OID, BOOL], returns: Types.text, impl: nothing });
defineScalar('pg_relation_is_publishable', { params: [REGCLASS], returns: Types.bool, impl: () => false });
