// Cairn's own syntax tree. The parser (libpg-query, PostgreSQL's real grammar) produces its raw
// parse tree; adapter.ts turns that into these types, so nothing past the adapter depends on the
// shape of PostgreSQL's internal nodes. Only what Cairn can execute has a node here; everything
// else is refused in the adapter with 0A000 naming the feature.
//
// `location` fields are 0-based offsets into the statement text (PostgreSQL reports them to
// clients 1-based, in characters); -1 when unknown.

export interface QualifiedName {
  /** Up to three parts: [catalog, schema, name]; the last is always present. */
  readonly parts: readonly string[];
  readonly location: number;
}

export interface TypeName {
  /** Lower-case name parts as written, e.g. ['pg_catalog', 'int4'] or ['varchar']. */
  readonly names: readonly string[];
  /** Type modifiers as written: varchar(10) → [10]; numeric(10, 2) → [10, 2]. */
  readonly modifiers: readonly number[];
  /** Array dimensions: int[] → 1. */
  readonly arrayDims: number;
  /** For interval: the field restriction bitmask PostgreSQL encodes as the first typmod. */
  readonly intervalFields?: number;
  readonly location: number;
}

// ---- Expressions -----------------------------------------------------------------------------------

export type ConstValue =
  | { readonly type: 'integer'; readonly text: string }
  | { readonly type: 'numeric'; readonly text: string }
  | { readonly type: 'string'; readonly text: string }
  | { readonly type: 'bitstring'; readonly text: string }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'null' };

export type SqlValueFunction =
  | 'current_date'
  | 'current_time'
  | 'current_timestamp'
  | 'localtime'
  | 'localtimestamp'
  | 'current_role'
  | 'current_user'
  | 'user'
  | 'session_user'
  | 'current_catalog'
  | 'current_schema';

export type BoolTest = 'true' | 'not true' | 'false' | 'not false' | 'unknown' | 'not unknown';

export interface WindowSpec {
  readonly name?: string;
  readonly refName?: string;
  readonly partitionBy: readonly Expr[];
  readonly orderBy: readonly SortItem[];
  /** PostgreSQL's frame option bits; 0 or the default when no frame clause was written. */
  readonly frameOptions: number;
  readonly frameStart?: Expr;
  readonly frameEnd?: Expr;
}

export type Expr =
  | { readonly kind: 'const'; readonly value: ConstValue; readonly location: number }
  | { readonly kind: 'column'; readonly parts: readonly string[]; readonly star: boolean; readonly location: number }
  | { readonly kind: 'param'; readonly index: number; readonly location: number }
  /** A binary operator (left present) or a prefix operator (left absent). */
  | { readonly kind: 'op'; readonly op: string; readonly schema?: string; readonly left?: Expr; readonly right: Expr; readonly location: number }
  | { readonly kind: 'and' | 'or'; readonly args: readonly Expr[]; readonly location: number }
  | { readonly kind: 'not'; readonly arg: Expr; readonly location: number }
  | {
      readonly kind: 'func';
      readonly name: readonly string[];
      readonly args: readonly Expr[];
      /** Names of named arguments (name => value), parallel to args; undefined for positional ones. */
      readonly argNames: ReadonlyArray<string | undefined>;
      readonly star: boolean;
      readonly distinct: boolean;
      readonly variadic: boolean;
      readonly filter?: Expr;
      readonly orderBy: readonly SortItem[];
      readonly withinGroup: boolean;
      readonly over?: WindowSpec;
      readonly location: number;
    }
  | { readonly kind: 'cast'; readonly arg: Expr; readonly type: TypeName; readonly location: number }
  | { readonly kind: 'case'; readonly operand?: Expr; readonly whens: ReadonlyArray<{ readonly when: Expr; readonly then: Expr }>; readonly else?: Expr; readonly location: number }
  | { readonly kind: 'coalesce'; readonly args: readonly Expr[]; readonly location: number }
  | { readonly kind: 'nullif'; readonly left: Expr; readonly right: Expr; readonly location: number }
  | { readonly kind: 'greatest' | 'least'; readonly args: readonly Expr[]; readonly location: number }
  | { readonly kind: 'isNull'; readonly arg: Expr; readonly negated: boolean; readonly location: number }
  | { readonly kind: 'boolTest'; readonly arg: Expr; readonly test: BoolTest; readonly location: number }
  | { readonly kind: 'distinctFrom'; readonly left: Expr; readonly right: Expr; readonly negated: boolean; readonly location: number }
  | { readonly kind: 'between'; readonly arg: Expr; readonly low: Expr; readonly high: Expr; readonly negated: boolean; readonly symmetric: boolean; readonly location: number }
  | { readonly kind: 'inList'; readonly arg: Expr; readonly list: readonly Expr[]; readonly negated: boolean; readonly location: number }
  | {
      readonly kind: 'like';
      readonly arg: Expr;
      readonly pattern: Expr;
      readonly escape?: Expr;
      readonly negated: boolean;
      readonly caseInsensitive: boolean;
      readonly similar: boolean;
      readonly location: number;
    }
  /** left op ANY/ALL (array) */
  | { readonly kind: 'quantified'; readonly op: string; readonly quantifier: 'any' | 'all'; readonly left: Expr; readonly array: Expr; readonly location: number }
  | { readonly kind: 'subquery'; readonly query: Query; readonly location: number }
  | { readonly kind: 'exists'; readonly query: Query; readonly location: number }
  /** left op ANY/ALL (subquery); IN (subquery) is op '=' with 'any'. */
  | { readonly kind: 'quantifiedSubquery'; readonly op: string; readonly quantifier: 'any' | 'all'; readonly left: Expr; readonly query: Query; readonly location: number }
  | { readonly kind: 'arraySubquery'; readonly query: Query; readonly location: number }
  | { readonly kind: 'array'; readonly elements: readonly Expr[]; readonly location: number }
  | { readonly kind: 'row'; readonly args: readonly Expr[]; readonly location: number }
  | { readonly kind: 'subscript'; readonly arg: Expr; readonly index?: Expr; readonly upper?: Expr; readonly slice: boolean; readonly location: number }
  | { readonly kind: 'field'; readonly arg: Expr; readonly field: string; readonly location: number }
  | { readonly kind: 'sqlValue'; readonly fn: SqlValueFunction; readonly precision?: number; readonly location: number }
  | { readonly kind: 'collate'; readonly arg: Expr; readonly collation: readonly string[]; readonly location: number }
  | { readonly kind: 'default'; readonly location: number }
  | { readonly kind: 'atTimeZone'; readonly arg: Expr; readonly zone: Expr; readonly location: number };

// ---- Queries -----------------------------------------------------------------------------------------

export interface SortItem {
  readonly expr: Expr;
  readonly direction: 'asc' | 'desc' | 'default';
  readonly nulls: 'first' | 'last' | 'default';
  /** ORDER BY x USING < */
  readonly usingOp?: string;
}

export interface Target {
  readonly expr: Expr;
  readonly alias?: string;
  readonly location: number;
}

export interface Alias {
  readonly name: string;
  readonly columns: readonly string[];
}

export type FromItem =
  | { readonly kind: 'table'; readonly name: QualifiedName; readonly alias?: Alias; readonly only: boolean }
  | { readonly kind: 'subquery'; readonly query: Query; readonly alias?: Alias; readonly lateral: boolean; readonly location: number }
  | {
      readonly kind: 'function';
      readonly calls: ReadonlyArray<Extract<Expr, { kind: 'func' }>>;
      readonly alias?: Alias;
      readonly lateral: boolean;
      readonly withOrdinality: boolean;
      readonly location: number;
    }
  | {
      readonly kind: 'join';
      readonly type: 'inner' | 'left' | 'right' | 'full' | 'cross';
      readonly left: FromItem;
      readonly right: FromItem;
      readonly on?: Expr;
      readonly using?: readonly string[];
      readonly natural: boolean;
      readonly alias?: Alias;
      readonly location: number;
    };

export interface CommonTable {
  readonly name: string;
  readonly columns: readonly string[];
  readonly query: Query;
  readonly materialized: 'default' | 'always' | 'never';
  readonly location: number;
}

export interface With {
  readonly recursive: boolean;
  readonly tables: readonly CommonTable[];
}

export type LockingStrength = 'update' | 'no key update' | 'share' | 'key share';

export interface QueryModifiers {
  readonly with?: With;
  readonly orderBy: readonly SortItem[];
  readonly limit?: Expr;
  readonly offset?: Expr;
  /** FETCH FIRST n ROWS WITH TIES */
  readonly withTies: boolean;
  readonly locking: ReadonlyArray<{ readonly strength: LockingStrength; readonly tables: readonly QualifiedName[]; readonly wait: 'block' | 'nowait' | 'skip' }>;
}

export interface SelectQuery extends QueryModifiers {
  readonly kind: 'select';
  /** DISTINCT (true), DISTINCT ON (exprs), or neither (false). */
  readonly distinct: boolean | readonly Expr[];
  readonly targets: readonly Target[];
  readonly into?: QualifiedName;
  readonly from: readonly FromItem[];
  readonly where?: Expr;
  readonly groupBy: readonly GroupingItem[];
  readonly groupByDistinct: boolean;
  readonly having?: Expr;
  readonly windows: readonly WindowSpec[];
}

export type GroupingItem =
  | { readonly kind: 'expr'; readonly expr: Expr }
  | { readonly kind: 'empty' }
  | { readonly kind: 'rollup' | 'cube'; readonly items: readonly Expr[][] }
  | { readonly kind: 'sets'; readonly sets: readonly GroupingItem[] };

export interface ValuesQuery extends QueryModifiers {
  readonly kind: 'values';
  readonly rows: ReadonlyArray<readonly Expr[]>;
}

export interface SetOpQuery extends QueryModifiers {
  readonly kind: 'setop';
  readonly op: 'union' | 'intersect' | 'except';
  readonly all: boolean;
  readonly left: Query;
  readonly right: Query;
}

export type Query = SelectQuery | ValuesQuery | SetOpQuery;

// ---- Statements ----------------------------------------------------------------------------------------

export interface ColumnConstraint {
  readonly kind: 'notNull' | 'null' | 'default' | 'primaryKey' | 'unique' | 'check' | 'references' | 'generated' | 'identity';
  readonly name?: string;
  readonly expr?: Expr;
  readonly references?: ForeignKeyRef;
  readonly location: number;
}

export interface ForeignKeyRef {
  readonly table: QualifiedName;
  readonly columns: readonly string[];
  readonly onDelete: string;
  readonly onUpdate: string;
}

export interface ColumnDef {
  readonly name: string;
  readonly type: TypeName;
  readonly constraints: readonly ColumnConstraint[];
  readonly collation?: readonly string[];
  readonly location: number;
}

export interface IndexElement {
  /** A column name, or an expression (expression indexes are refused later). */
  readonly column?: string;
  readonly expr?: Expr;
  readonly direction: 'asc' | 'desc' | 'default';
  readonly nulls: 'first' | 'last' | 'default';
}

export interface TableConstraint {
  readonly kind: 'primaryKey' | 'unique' | 'check' | 'foreignKey' | 'exclusion';
  readonly name?: string;
  readonly columns: readonly string[];
  readonly expr?: Expr;
  readonly references?: ForeignKeyRef;
  /** INCLUDE (columns) of a unique/primary key constraint. */
  readonly include: readonly string[];
  readonly location: number;
}

export type AlterTableAction =
  | { readonly kind: 'addColumn'; readonly column: ColumnDef; readonly ifNotExists: boolean }
  | { readonly kind: 'dropColumn'; readonly name: string; readonly ifExists: boolean; readonly cascade: boolean }
  | { readonly kind: 'alterColumnDefault'; readonly name: string; readonly expr?: Expr }
  | { readonly kind: 'alterColumnNotNull'; readonly name: string; readonly notNull: boolean }
  | { readonly kind: 'alterColumnType'; readonly name: string; readonly type: TypeName }
  | { readonly kind: 'addConstraint'; readonly constraint: TableConstraint }
  | { readonly kind: 'dropConstraint'; readonly name: string; readonly ifExists: boolean }
  | { readonly kind: 'renameColumn'; readonly from: string; readonly to: string }
  | { readonly kind: 'renameTable'; readonly to: string }
  | { readonly kind: 'renameConstraint'; readonly from: string; readonly to: string };

export type ObjectKind = 'table' | 'index' | 'view' | 'sequence' | 'schema' | 'database' | 'materialized view' | 'type';

export type TransactionMode = { readonly kind: 'isolation'; readonly level: string } | { readonly kind: 'readOnly'; readonly readOnly: boolean } | { readonly kind: 'deferrable'; readonly deferrable: boolean };

export type CopyOption = { readonly name: string; readonly value?: string };

export type Statement =
  | { readonly kind: 'query'; readonly query: Query }
  | {
      readonly kind: 'insert';
      readonly table: QualifiedName;
      readonly alias?: string;
      readonly columns?: readonly string[];
      /** undefined for DEFAULT VALUES */
      readonly source?: Query;
      readonly onConflict?: {
        readonly targetColumns: readonly string[];
        readonly constraint?: string;
        readonly action: 'nothing' | 'update';
        readonly set: readonly SetClause[];
        readonly where?: Expr;
      };
      readonly returning: readonly Target[];
      readonly with?: With;
      /** UPSERT INTO (CockroachDB): insert, or replace the row with the same primary key. */
      readonly upsert: boolean;
    }
  | {
      readonly kind: 'update';
      readonly table: QualifiedName;
      readonly alias?: string;
      readonly set: readonly SetClause[];
      readonly from: readonly FromItem[];
      readonly where?: Expr;
      readonly returning: readonly Target[];
      readonly with?: With;
    }
  | {
      readonly kind: 'delete';
      readonly table: QualifiedName;
      readonly alias?: string;
      readonly using: readonly FromItem[];
      readonly where?: Expr;
      readonly returning: readonly Target[];
      readonly with?: With;
    }
  | {
      readonly kind: 'createTable';
      readonly name: QualifiedName;
      readonly ifNotExists: boolean;
      readonly columns: readonly ColumnDef[];
      readonly constraints: readonly TableConstraint[];
      readonly temporary: boolean;
      readonly asQuery?: Query;
    }
  | {
      readonly kind: 'createIndex';
      readonly name?: string;
      readonly table: QualifiedName;
      readonly unique: boolean;
      readonly ifNotExists: boolean;
      readonly elements: readonly IndexElement[];
      readonly include: readonly string[];
      readonly where?: Expr;
      readonly method?: string;
      readonly concurrently: boolean;
    }
  | { readonly kind: 'createDatabase'; readonly name: string; readonly ifNotExists: boolean }
  | { readonly kind: 'createSchema'; readonly name: string; readonly ifNotExists: boolean }
  | { readonly kind: 'createView'; readonly name: QualifiedName; readonly columns: readonly string[]; readonly query: Query; readonly replace: boolean; readonly queryText: string }
  | {
      readonly kind: 'createSequence';
      readonly name: QualifiedName;
      readonly ifNotExists: boolean;
      readonly options: ReadonlyArray<{ readonly name: string; readonly value?: number | string | boolean }>;
    }
  | { readonly kind: 'drop'; readonly object: ObjectKind; readonly names: readonly QualifiedName[]; readonly ifExists: boolean; readonly cascade: boolean }
  | { readonly kind: 'alterTable'; readonly table: QualifiedName; readonly ifExists: boolean; readonly actions: readonly AlterTableAction[] }
  | { readonly kind: 'renameObject'; readonly object: ObjectKind; readonly name: QualifiedName; readonly to: string; readonly ifExists: boolean }
  | { readonly kind: 'truncate'; readonly tables: readonly QualifiedName[]; readonly restartIdentity: boolean; readonly cascade: boolean }
  | {
      readonly kind: 'transaction';
      readonly action: 'begin' | 'start' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo' | 'prepare' | 'commitPrepared' | 'rollbackPrepared';
      readonly modes: readonly TransactionMode[];
      readonly savepoint?: string;
      readonly chain: boolean;
    }
  | { readonly kind: 'set'; readonly name: string; readonly values: readonly Expr[]; readonly local: boolean; readonly toDefault: boolean; readonly transactionModes?: readonly TransactionMode[] }
  | { readonly kind: 'reset'; readonly name: string }
  | { readonly kind: 'show'; readonly name: string }
  | {
      readonly kind: 'copy';
      readonly table?: QualifiedName;
      readonly query?: Query;
      readonly columns: readonly string[];
      readonly from: boolean;
      readonly stdio: boolean;
      readonly filename?: string;
      readonly options: readonly CopyOption[];
    }
  | { readonly kind: 'explain'; readonly statement: Statement; readonly analyze: boolean; readonly verbose: boolean; readonly format: string }
  | { readonly kind: 'prepare'; readonly name: string; readonly types: readonly TypeName[]; readonly statement: Statement; readonly text: string }
  | { readonly kind: 'execute'; readonly name: string; readonly params: readonly Expr[] }
  | { readonly kind: 'deallocate'; readonly name?: string }
  | { readonly kind: 'discard'; readonly target: string }
  | { readonly kind: 'comment'; readonly object: string; readonly name: readonly string[]; readonly text?: string }
  | { readonly kind: 'analyze'; readonly tables: readonly QualifiedName[] }
  | { readonly kind: 'listen' | 'notify' | 'unlisten'; readonly channel: string }
  | { readonly kind: 'grant'; readonly text: string };

export interface SetClause {
  /** Column name, possibly with a field/subscript path (refused later if present). */
  readonly column: string;
  readonly path: readonly string[];
  readonly value: Expr;
  readonly location: number;
}

/** One statement of a query string, with its place in the text. */
export interface ParsedStatement {
  readonly statement: Statement;
  /** The statement's own text (for views, PREPARE, logs and pg_stat_activity-like views). */
  readonly text: string;
  readonly location: number;
  readonly length: number;
  /** The PostgreSQL command tag of the statement ('SELECT', 'INSERT', ...), known before planning. */
  readonly tag: string;
}
