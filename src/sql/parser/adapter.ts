// From PostgreSQL's raw parse tree (as libpg-query gives it, JSON of the C node structs) to
// Cairn's syntax tree (ast.ts). The raw tree omits fields at their zero value (0, false, "",
// empty lists), so every read here supplies the default. A node kind Cairn cannot execute is
// refused with 0A000 naming the feature and pointing at its place in the text.
import { SqlError, SqlState } from '../errors.js';
import type {
  Alias,
  AlterTableAction,
  ColumnConstraint,
  ColumnDef,
  CommonTable,
  ConstValue,
  CopyOption,
  Expr,
  ForeignKeyRef,
  FromItem,
  GroupingItem,
  IndexElement,
  ObjectKind,
  QualifiedName,
  Query,
  QueryModifiers,
  SelectQuery,
  SetClause,
  SortItem,
  SqlValueFunction,
  Statement,
  TableConstraint,
  Target,
  TransactionMode,
  TypeName,
  WindowSpec,
  With,
} from './ast.js';

/** A raw node: an object with a single key naming its type. */
type RawNode = Record<string, unknown>;
type Body = Record<string, unknown>;

function unsupported(feature: string, location = -1): SqlError {
  const err = new SqlError(SqlState.featureNotSupported, `${feature} is not supported`);
  return location >= 0 ? err.withPosition(location + 1) : err;
}

function kindOf(node: unknown): [string, Body] {
  if (node === null || typeof node !== 'object') throw new SqlError(SqlState.internalError, 'malformed parse tree');
  const keys = Object.keys(node);
  if (keys.length !== 1) throw new SqlError(SqlState.internalError, `malformed parse tree node with keys ${keys.join(',')}`);
  const k = keys[0]!;
  return [k, ((node as RawNode)[k] ?? {}) as Body];
}

const num = (v: unknown, d = 0): number => (typeof v === 'number' ? v : d);
const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);
const bool = (v: unknown): boolean => v === true;
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const loc = (b: Body): number => num(b.location, -1);

/** A String node's value (names in lists are String nodes). */
function stringValue(node: unknown): string {
  const [k, b] = kindOf(node);
  if (k === 'String') return str(b.sval);
  if (k === 'A_Star') return '*';
  throw new SqlError(SqlState.internalError, `expected a name, found ${k}`);
}

function names(v: unknown): string[] {
  return list(v).map(stringValue);
}

function rangeVarName(b: Body): QualifiedName {
  const parts: string[] = [];
  if (b.catalogname) parts.push(str(b.catalogname));
  if (b.schemaname) parts.push(str(b.schemaname));
  parts.push(str(b.relname));
  return { parts, location: loc(b) };
}

function aliasOf(v: unknown): Alias | undefined {
  if (v === undefined || v === null) return undefined;
  const b = v as Body;
  return { name: str(b.aliasname), columns: names(b.colnames) };
}

// ---- Types ----------------------------------------------------------------------------------------------

export function adaptTypeName(b: Body): TypeName {
  const typeNames = names(b.names).map((n) => n.toLowerCase());
  const modifiers: number[] = [];
  let intervalFields: number | undefined;
  const isInterval = typeNames[typeNames.length - 1] === 'interval';
  for (const m of list(b.typmods)) {
    const [k, mb] = kindOf(m);
    if (k === 'A_Const') {
      const c = constOf(mb);
      if (c.type !== 'integer') throw new SqlError(SqlState.syntaxError, 'type modifiers must be simple constants or identifiers').withPosition(loc(mb) + 1);
      const value = Number(c.text);
      // The interval field restriction comes first, as a bit mask; a precision may follow.
      if (isInterval && intervalFields === undefined && list(b.typmods).length >= 1 && modifiers.length === 0 && value > 6) intervalFields = value;
      else modifiers.push(value);
    } else {
      throw new SqlError(SqlState.syntaxError, 'type modifiers must be simple constants or identifiers').withPosition(loc(mb) + 1);
    }
  }
  if (b.setof) throw unsupported('SETOF types', loc(b));
  if (b.pct_type) throw unsupported('%TYPE references', loc(b));
  return {
    names: typeNames,
    modifiers,
    arrayDims: list(b.arrayBounds).length,
    ...(intervalFields !== undefined ? { intervalFields } : {}),
    location: loc(b),
  };
}

// ---- Expressions ------------------------------------------------------------------------------------------

function constOf(b: Body): ConstValue {
  if (b.isnull) return { type: 'null' };
  if (b.ival !== undefined) return { type: 'integer', text: String(num((b.ival as Body).ival)) };
  if (b.fval !== undefined) {
    const text = str((b.fval as Body).fval);
    // PostgreSQL's lexer makes an integer too large for int4 a "float" token; it is still an integer.
    return /^-?\d+$/.test(text) ? { type: 'integer', text } : { type: 'numeric', text };
  }
  if (b.sval !== undefined) return { type: 'string', text: str((b.sval as Body).sval) };
  if (b.boolval !== undefined) return { type: 'boolean', value: bool((b.boolval as Body).boolval) };
  if (b.bsval !== undefined) return { type: 'bitstring', text: str((b.bsval as Body).bsval) };
  return { type: 'null' };
}

function opName(v: unknown): { op: string; schema?: string } {
  const parts = names(v);
  const op = parts[parts.length - 1] ?? '';
  return parts.length > 1 ? { op, schema: parts[0]! } : { op };
}

function sortItems(v: unknown): SortItem[] {
  return list(v).map((n) => {
    const [k, b] = kindOf(n);
    if (k !== 'SortBy') throw new SqlError(SqlState.internalError, `expected SortBy, found ${k}`);
    const dir = str(b.sortby_dir);
    const nulls = str(b.sortby_nulls);
    const item: SortItem = {
      expr: adaptExpr(b.node),
      direction: dir === 'SORTBY_ASC' ? 'asc' : dir === 'SORTBY_DESC' ? 'desc' : 'default',
      nulls: nulls === 'SORTBY_NULLS_FIRST' ? 'first' : nulls === 'SORTBY_NULLS_LAST' ? 'last' : 'default',
      ...(dir === 'SORTBY_USING' ? { usingOp: opName(b.useOp).op } : {}),
    };
    return item;
  });
}

function windowSpec(b: Body): WindowSpec {
  return {
    ...(b.name ? { name: str(b.name) } : {}),
    ...(b.refname ? { refName: str(b.refname) } : {}),
    partitionBy: list(b.partitionClause).map(adaptExpr),
    orderBy: sortItems(b.orderClause),
    frameOptions: num(b.frameOptions),
    ...(b.startOffset ? { frameStart: adaptExpr(b.startOffset) } : {}),
    ...(b.endOffset ? { frameEnd: adaptExpr(b.endOffset) } : {}),
  };
}

const SQL_VALUE_FUNCTIONS: Record<string, SqlValueFunction> = {
  SVFOP_CURRENT_DATE: 'current_date',
  SVFOP_CURRENT_TIME: 'current_time',
  SVFOP_CURRENT_TIME_N: 'current_time',
  SVFOP_CURRENT_TIMESTAMP: 'current_timestamp',
  SVFOP_CURRENT_TIMESTAMP_N: 'current_timestamp',
  SVFOP_LOCALTIME: 'localtime',
  SVFOP_LOCALTIME_N: 'localtime',
  SVFOP_LOCALTIMESTAMP: 'localtimestamp',
  SVFOP_LOCALTIMESTAMP_N: 'localtimestamp',
  SVFOP_CURRENT_ROLE: 'current_role',
  SVFOP_CURRENT_USER: 'current_user',
  SVFOP_USER: 'user',
  SVFOP_SESSION_USER: 'session_user',
  SVFOP_CURRENT_CATALOG: 'current_catalog',
  SVFOP_CURRENT_SCHEMA: 'current_schema',
};

function funcCall(b: Body): Extract<Expr, { kind: 'func' }> {
  const args: Expr[] = [];
  const argNames: Array<string | undefined> = [];
  for (const a of list(b.args)) {
    const [k, ab] = kindOf(a);
    if (k === 'NamedArgExpr') {
      args.push(adaptExpr(ab.arg));
      argNames.push(str(ab.name));
    } else {
      args.push(adaptExpr(a));
      argNames.push(undefined);
    }
  }
  return {
    kind: 'func',
    name: names(b.funcname).map((n) => n),
    args,
    argNames,
    star: bool(b.agg_star),
    distinct: bool(b.agg_distinct),
    variadic: bool(b.func_variadic),
    ...(b.agg_filter ? { filter: adaptExpr(b.agg_filter) } : {}),
    orderBy: sortItems(b.agg_order),
    withinGroup: bool(b.agg_within_group),
    ...(b.over ? { over: windowSpec(b.over as Body) } : {}),
    location: loc(b),
  };
}

function adaptAExpr(b: Body): Expr {
  const kind = str(b.kind);
  const location = loc(b);
  const { op, schema } = opName(b.name);
  const left = b.lexpr === undefined ? undefined : adaptExpr(b.lexpr);
  const rightRaw = b.rexpr;
  switch (kind) {
    case 'AEXPR_OP': {
      if (rightRaw === undefined) throw unsupported('postfix operators', location);
      const right = adaptExpr(rightRaw);
      return left === undefined ? { kind: 'op', op, ...(schema ? { schema } : {}), right, location } : { kind: 'op', op, ...(schema ? { schema } : {}), left, right, location };
    }
    case 'AEXPR_OP_ANY':
    case 'AEXPR_OP_ALL':
      return { kind: 'quantified', op, quantifier: kind === 'AEXPR_OP_ANY' ? 'any' : 'all', left: left!, array: adaptExpr(rightRaw), location };
    case 'AEXPR_DISTINCT':
    case 'AEXPR_NOT_DISTINCT':
      return { kind: 'distinctFrom', left: left!, right: adaptExpr(rightRaw), negated: kind === 'AEXPR_NOT_DISTINCT', location };
    case 'AEXPR_NULLIF':
      return { kind: 'nullif', left: left!, right: adaptExpr(rightRaw), location };
    case 'AEXPR_IN': {
      const items = list((rightRaw as { List?: Body }).List?.items).map(adaptExpr);
      return { kind: 'inList', arg: left!, list: items, negated: op === '<>', location };
    }
    case 'AEXPR_LIKE':
    case 'AEXPR_ILIKE':
    case 'AEXPR_SIMILAR': {
      const negated = op.startsWith('!');
      let pattern: Expr;
      let escape: Expr | undefined;
      const [rk, rb] = kindOf(rightRaw);
      // LIKE ... ESCAPE e arrives as like_escape(pattern, e); SIMILAR TO as similar_to_escape(...).
      const fname = rk === 'FuncCall' ? names(rb.funcname).join('.') : '';
      if (fname === 'pg_catalog.like_escape' || fname === 'pg_catalog.similar_to_escape') {
        const fargs = list(rb.args).map(adaptExpr);
        pattern = fargs[0]!;
        escape = fargs[1];
      } else {
        pattern = adaptExpr(rightRaw);
      }
      return {
        kind: 'like',
        arg: left!,
        pattern,
        ...(escape ? { escape } : {}),
        negated,
        caseInsensitive: kind === 'AEXPR_ILIKE',
        similar: kind === 'AEXPR_SIMILAR',
        location,
      };
    }
    case 'AEXPR_BETWEEN':
    case 'AEXPR_NOT_BETWEEN':
    case 'AEXPR_BETWEEN_SYM':
    case 'AEXPR_NOT_BETWEEN_SYM': {
      const bounds = list((rightRaw as { List?: Body }).List?.items).map(adaptExpr);
      return {
        kind: 'between',
        arg: left!,
        low: bounds[0]!,
        high: bounds[1]!,
        negated: kind.includes('NOT'),
        symmetric: kind.endsWith('SYM'),
        location,
      };
    }
    default:
      throw unsupported(`operator kind ${kind}`, location);
  }
}

function subLink(b: Body): Expr {
  const type = str(b.subLinkType);
  const query = adaptQuery(b.subselect);
  const location = loc(b);
  switch (type) {
    case 'EXISTS_SUBLINK':
      return { kind: 'exists', query, location };
    case 'EXPR_SUBLINK':
      return { kind: 'subquery', query, location };
    case 'ARRAY_SUBLINK':
      return { kind: 'arraySubquery', query, location };
    case 'ANY_SUBLINK':
    case 'ALL_SUBLINK': {
      const op = b.operName === undefined ? '=' : opName(b.operName).op;
      return { kind: 'quantifiedSubquery', op, quantifier: type === 'ANY_SUBLINK' ? 'any' : 'all', left: adaptExpr(b.testexpr), query, location };
    }
    default:
      throw unsupported(`subquery kind ${type}`, location);
  }
}

export function adaptExpr(node: unknown): Expr {
  const [k, b] = kindOf(node);
  const location = loc(b);
  switch (k) {
    case 'A_Const':
      return { kind: 'const', value: constOf(b), location };
    case 'ColumnRef': {
      const fields = list(b.fields);
      const parts: string[] = [];
      let star = false;
      for (const f of fields) {
        const [fk, fb] = kindOf(f);
        if (fk === 'A_Star') star = true;
        else if (fk === 'String') parts.push(str(fb.sval));
      }
      return { kind: 'column', parts, star, location };
    }
    case 'ParamRef':
      return { kind: 'param', index: num(b.number), location };
    case 'A_Expr':
      return adaptAExpr(b);
    case 'BoolExpr': {
      const args = list(b.args).map(adaptExpr);
      const op = str(b.boolop);
      if (op === 'NOT_EXPR') return { kind: 'not', arg: args[0]!, location };
      return { kind: op === 'AND_EXPR' ? 'and' : 'or', args, location };
    }
    case 'FuncCall':
      return funcCall(b);
    case 'TypeCast':
      return { kind: 'cast', arg: adaptExpr(b.arg), type: adaptTypeName(b.typeName as Body), location };
    case 'CaseExpr':
      return {
        kind: 'case',
        ...(b.arg ? { operand: adaptExpr(b.arg) } : {}),
        whens: list(b.args).map((w) => {
          const [, wb] = kindOf(w);
          return { when: adaptExpr(wb.expr), then: adaptExpr(wb.result) };
        }),
        ...(b.defresult ? { else: adaptExpr(b.defresult) } : {}),
        location,
      };
    case 'CoalesceExpr':
      return { kind: 'coalesce', args: list(b.args).map(adaptExpr), location };
    case 'MinMaxExpr':
      return { kind: str(b.op) === 'IS_GREATEST' ? 'greatest' : 'least', args: list(b.args).map(adaptExpr), location };
    case 'NullTest':
      return { kind: 'isNull', arg: adaptExpr(b.arg), negated: str(b.nulltesttype) === 'IS_NOT_NULL', location };
    case 'BooleanTest': {
      const t = str(b.booltesttype);
      const test = ({ IS_TRUE: 'true', IS_NOT_TRUE: 'not true', IS_FALSE: 'false', IS_NOT_FALSE: 'not false', IS_UNKNOWN: 'unknown', IS_NOT_UNKNOWN: 'not unknown' } as const)[
        t as 'IS_TRUE'
      ];
      return { kind: 'boolTest', arg: adaptExpr(b.arg), test, location };
    }
    case 'SubLink':
      return subLink(b);
    case 'A_ArrayExpr':
      return { kind: 'array', elements: list(b.elements).map(adaptExpr), location };
    case 'RowExpr':
      return { kind: 'row', args: list(b.args).map(adaptExpr), location };
    case 'A_Indirection': {
      let expr = adaptExpr(b.arg);
      for (const ind of list(b.indirection)) {
        const [ik, ib] = kindOf(ind);
        if (ik === 'String') expr = { kind: 'field', arg: expr, field: str(ib.sval), location };
        else if (ik === 'A_Indices') {
          const slice = bool(ib.is_slice);
          expr = {
            kind: 'subscript',
            arg: expr,
            ...(ib.lidx ? { index: adaptExpr(ib.lidx) } : {}),
            ...(ib.uidx ? (slice ? { upper: adaptExpr(ib.uidx) } : { index: adaptExpr(ib.uidx) }) : {}),
            slice,
            location,
          };
        } else if (ik === 'A_Star') {
          expr = { kind: 'field', arg: expr, field: '*', location };
        } else throw unsupported(`indirection ${ik}`, location);
      }
      return expr;
    }
    case 'SQLValueFunction': {
      const fn = SQL_VALUE_FUNCTIONS[str(b.op)];
      if (fn === undefined) throw unsupported(`SQL value function ${str(b.op)}`, location);
      const typmod = num(b.typmod, -1);
      return { kind: 'sqlValue', fn, ...(typmod >= 0 ? { precision: typmod } : {}), location };
    }
    case 'CollateClause':
      return { kind: 'collate', arg: adaptExpr(b.arg), collation: names(b.collname), location };
    case 'SetToDefault':
      return { kind: 'default', location };
    case 'GroupingFunc':
      throw unsupported('GROUPING()', location);
    case 'XmlExpr':
    case 'XmlSerialize':
      throw unsupported('XML', location);
    case 'A_Star':
      return { kind: 'column', parts: [], star: true, location };
    default:
      // AT TIME ZONE arrives as timezone(zone, arg) (a FuncCall), so it needs no case here.
      throw unsupported(`expression ${k}`, location);
  }
}

// ---- Queries -----------------------------------------------------------------------------------------------

function targets(v: unknown): Target[] {
  return list(v).map((t) => {
    const [, b] = kindOf(t);
    return { expr: adaptExpr(b.val), ...(b.name ? { alias: str(b.name) } : {}), location: loc(b) };
  });
}

function withClause(v: unknown): With | undefined {
  if (v === undefined) return undefined;
  const b = v as Body;
  const tables: CommonTable[] = list(b.ctes).map((c) => {
    const [, cb] = kindOf(c);
    const m = str(cb.ctematerialized);
    if (list(cb.ctecolnames).length > 0 && cb.search_clause) throw unsupported('SEARCH clauses', loc(cb));
    if (cb.cycle_clause) throw unsupported('CYCLE clauses', loc(cb));
    const [qk] = kindOf(cb.ctequery);
    if (qk !== 'SelectStmt') throw unsupported('data-modifying statements in WITH', loc(cb));
    return {
      name: str(cb.ctename),
      columns: names(cb.aliascolnames),
      query: adaptQuery(cb.ctequery),
      materialized: m === 'CTEMaterializeAlways' ? 'always' : m === 'CTEMaterializeNever' ? 'never' : 'default',
      location: loc(cb),
    };
  });
  return { recursive: bool(b.recursive), tables };
}

function fromItem(node: unknown): FromItem {
  const [k, b] = kindOf(node);
  switch (k) {
    case 'RangeVar': {
      const alias = aliasOf(b.alias);
      return { kind: 'table', name: rangeVarName(b), ...(alias ? { alias } : {}), only: b.inh === false };
    }
    case 'RangeSubselect': {
      const alias = aliasOf(b.alias);
      return { kind: 'subquery', query: adaptQuery(b.subquery), ...(alias ? { alias } : {}), lateral: bool(b.lateral), location: -1 };
    }
    case 'RangeFunction': {
      if (bool(b.is_rowsfrom)) throw unsupported('ROWS FROM', -1);
      const calls = list(b.functions).map((f) => {
        const items = list((f as { List?: Body }).List?.items);
        const [fk, fb] = kindOf(items[0]);
        if (fk !== 'FuncCall') {
          // e.g. FROM CURRENT_DATE
          throw unsupported(`${fk} in FROM`, loc(fb));
        }
        if (items[1] !== undefined && Object.keys(items[1] as object).length > 0) throw unsupported('column definition lists', loc(fb));
        return funcCall(fb);
      });
      const alias = aliasOf(b.alias);
      return { kind: 'function', calls, ...(alias ? { alias } : {}), lateral: bool(b.lateral), withOrdinality: bool(b.ordinality), location: calls[0]?.location ?? -1 };
    }
    case 'JoinExpr': {
      const jt = str(b.jointype);
      const quals = b.quals;
      const using = b.usingClause === undefined ? undefined : names(b.usingClause);
      const natural = bool(b.isNatural);
      let type: 'inner' | 'left' | 'right' | 'full' | 'cross';
      switch (jt) {
        case 'JOIN_INNER':
          type = quals === undefined && using === undefined && !natural ? 'cross' : 'inner';
          break;
        case 'JOIN_LEFT':
          type = 'left';
          break;
        case 'JOIN_RIGHT':
          type = 'right';
          break;
        case 'JOIN_FULL':
          type = 'full';
          break;
        default:
          throw unsupported(`join type ${jt}`, -1);
      }
      const alias = aliasOf(b.alias);
      if (b.join_using_alias) throw unsupported('aliases of USING join columns', -1);
      return {
        kind: 'join',
        type,
        left: fromItem(b.larg),
        right: fromItem(b.rarg),
        ...(quals !== undefined ? { on: adaptExpr(quals) } : {}),
        ...(using !== undefined ? { using } : {}),
        natural,
        ...(alias ? { alias } : {}),
        location: -1,
      };
    }
    case 'RangeTableSample':
      throw unsupported('TABLESAMPLE', -1);
    case 'RangeTableFunc':
      throw unsupported('XMLTABLE', -1);
    default:
      throw unsupported(`${k} in FROM`, -1);
  }
}

function groupingItem(node: unknown): GroupingItem {
  const [k, b] = kindOf(node);
  if (k !== 'GroupingSet') return { kind: 'expr', expr: adaptExpr(node) };
  const kind = str(b.kind);
  const content = list(b.content);
  const asRows = (): Expr[][] =>
    content.map((c) => {
      const [ck, cb] = kindOf(c);
      if (ck === 'RowExpr') return list(cb.args).map(adaptExpr);
      return [adaptExpr(c)];
    });
  switch (kind) {
    case 'GROUPING_SET_EMPTY':
      return { kind: 'empty' };
    case 'GROUPING_SET_ROLLUP':
      return { kind: 'rollup', items: asRows() };
    case 'GROUPING_SET_CUBE':
      return { kind: 'cube', items: asRows() };
    case 'GROUPING_SET_SETS':
      return { kind: 'sets', sets: content.map(groupingItem) };
    default:
      throw unsupported(`grouping set ${kind}`, loc(b));
  }
}

function modifiers(b: Body): QueryModifiers {
  const option = str(b.limitOption);
  const w = withClause(b.withClause);
  return {
    ...(w ? { with: w } : {}),
    orderBy: sortItems(b.sortClause),
    ...(b.limitCount !== undefined ? { limit: adaptExpr(b.limitCount) } : {}),
    ...(b.limitOffset !== undefined ? { offset: adaptExpr(b.limitOffset) } : {}),
    withTies: option === 'LIMIT_OPTION_WITH_TIES',
    locking: list(b.lockingClause).map((l) => {
      const [, lb] = kindOf(l);
      const s = str(lb.strength);
      const wait = str(lb.waitPolicy);
      return {
        strength: s === 'LCS_FORNOKEYUPDATE' ? 'no key update' : s === 'LCS_FORSHARE' ? 'share' : s === 'LCS_FORKEYSHARE' ? 'key share' : 'update',
        tables: list(lb.lockedRels).map((r) => rangeVarName(kindOf(r)[1])),
        wait: wait === 'LockWaitSkip' ? 'skip' : wait === 'LockWaitError' ? 'nowait' : 'block',
      } as const;
    }),
  };
}

/** A SelectStmt body (also the unwrapped larg/rarg of a set operation). */
function selectBody(b: Body): Query {
  const op = str(b.op, 'SETOP_NONE');
  const mods = modifiers(b);
  if (op !== 'SETOP_NONE') {
    return {
      kind: 'setop',
      op: op === 'SETOP_UNION' ? 'union' : op === 'SETOP_INTERSECT' ? 'intersect' : 'except',
      all: bool(b.all),
      left: selectBody(b.larg as Body),
      right: selectBody(b.rarg as Body),
      ...mods,
    };
  }
  if (b.valuesLists !== undefined) {
    const rows = list(b.valuesLists).map((r) => list((r as { List?: Body }).List?.items).map(adaptExpr));
    return { kind: 'values', rows, ...mods };
  }
  const distinctRaw = b.distinctClause;
  let distinct: boolean | Expr[] = false;
  if (distinctRaw !== undefined) {
    const items = list(distinctRaw);
    // DISTINCT alone is a list holding one empty node.
    distinct = items.length === 0 || (items.length === 1 && Object.keys(items[0] as object).length === 0) ? true : items.map(adaptExpr);
  }
  const into = b.intoClause as Body | undefined;
  const query: SelectQuery = {
    kind: 'select',
    distinct,
    targets: targets(b.targetList),
    ...(into ? { into: rangeVarName(into.rel as Body) } : {}),
    from: list(b.fromClause).map(fromItem),
    ...(b.whereClause !== undefined ? { where: adaptExpr(b.whereClause) } : {}),
    groupBy: list(b.groupClause).map(groupingItem),
    groupByDistinct: bool(b.groupDistinct),
    ...(b.havingClause !== undefined ? { having: adaptExpr(b.havingClause) } : {}),
    windows: list(b.windowClause).map((w) => windowSpec(kindOf(w)[1])),
    ...mods,
  };
  return query;
}

export function adaptQuery(node: unknown): Query {
  const [k, b] = kindOf(node);
  if (k !== 'SelectStmt') throw unsupported(`${k} as a query`, loc(b));
  return selectBody(b);
}

// ---- DDL pieces ---------------------------------------------------------------------------------------------

function fkRef(b: Body): ForeignKeyRef {
  const actions: Record<string, string> = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' };
  return {
    table: rangeVarName(b.pktable as Body),
    columns: names(b.pk_attrs),
    onDelete: actions[str(b.fk_del_action, 'a')] ?? 'no action',
    onUpdate: actions[str(b.fk_upd_action, 'a')] ?? 'no action',
  };
}

function columnConstraint(node: unknown): ColumnConstraint {
  const [, b] = kindOf(node);
  const type = str(b.contype);
  const name = b.conname ? { name: str(b.conname) } : {};
  const location = loc(b);
  switch (type) {
    case 'CONSTR_NOTNULL':
      return { kind: 'notNull', ...name, location };
    case 'CONSTR_NULL':
      return { kind: 'null', ...name, location };
    case 'CONSTR_DEFAULT':
      return { kind: 'default', ...name, expr: adaptExpr(b.raw_expr), location };
    case 'CONSTR_PRIMARY':
      return { kind: 'primaryKey', ...name, location };
    case 'CONSTR_UNIQUE':
      return { kind: 'unique', ...name, location };
    case 'CONSTR_CHECK':
      return { kind: 'check', ...name, expr: adaptExpr(b.raw_expr), location };
    case 'CONSTR_FOREIGN':
      return { kind: 'references', ...name, references: fkRef(b), location };
    case 'CONSTR_GENERATED':
      return { kind: 'generated', ...name, expr: adaptExpr(b.raw_expr), location };
    case 'CONSTR_IDENTITY':
      return { kind: 'identity', ...name, location };
    default:
      throw unsupported(`column constraint ${type}`, location);
  }
}

function columnDef(b: Body): ColumnDef {
  return {
    name: str(b.colname),
    type: adaptTypeName(b.typeName as Body),
    constraints: list(b.constraints).map(columnConstraint),
    ...(b.collClause ? { collation: names((b.collClause as Body).collname) } : {}),
    location: loc(b),
  };
}

function tableConstraint(b: Body): TableConstraint {
  const type = str(b.contype);
  const location = loc(b);
  const name = b.conname ? { name: str(b.conname) } : {};
  const include = names(b.including);
  switch (type) {
    case 'CONSTR_PRIMARY':
      return { kind: 'primaryKey', ...name, columns: names(b.keys), include, location };
    case 'CONSTR_UNIQUE':
      return { kind: 'unique', ...name, columns: names(b.keys), include, location };
    case 'CONSTR_CHECK':
      return { kind: 'check', ...name, columns: [], expr: adaptExpr(b.raw_expr), include, location };
    case 'CONSTR_FOREIGN':
      return { kind: 'foreignKey', ...name, columns: names(b.fk_attrs), references: fkRef(b), include, location };
    case 'CONSTR_EXCLUSION':
      throw unsupported('EXCLUDE constraints', location);
    default:
      throw unsupported(`table constraint ${type}`, location);
  }
}

function indexElements(v: unknown): IndexElement[] {
  return list(v).map((e) => {
    const [, b] = kindOf(e);
    const dir = str(b.ordering);
    const nulls = str(b.nulls_ordering);
    return {
      ...(b.name ? { column: str(b.name) } : {}),
      ...(b.expr ? { expr: adaptExpr(b.expr) } : {}),
      direction: dir === 'SORTBY_ASC' ? 'asc' : dir === 'SORTBY_DESC' ? 'desc' : 'default',
      nulls: nulls === 'SORTBY_NULLS_FIRST' ? 'first' : nulls === 'SORTBY_NULLS_LAST' ? 'last' : 'default',
    };
  });
}

const OBJECT_KINDS: Record<string, ObjectKind> = {
  OBJECT_TABLE: 'table',
  OBJECT_INDEX: 'index',
  OBJECT_VIEW: 'view',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_SCHEMA: 'schema',
  OBJECT_DATABASE: 'database',
  OBJECT_MATVIEW: 'materialized view',
  OBJECT_TYPE: 'type',
};

function defElemValue(arg: unknown): string | number | boolean | undefined {
  if (arg === undefined) return undefined;
  const [k, b] = kindOf(arg);
  switch (k) {
    case 'String':
      return str(b.sval);
    case 'Integer':
      return num(b.ival);
    case 'Float':
      return Number(str(b.fval));
    case 'Boolean':
      return bool(b.boolval);
    case 'A_Const': {
      const c = constOf(b);
      if (c.type === 'string' || c.type === 'integer' || c.type === 'numeric') return c.text;
      if (c.type === 'boolean') return c.value;
      return undefined;
    }
    case 'TypeName':
      return names(b.names).join('.');
    case 'List':
      return list(b.items).map((i) => String(defElemValue(i))).join('.');
    case 'A_Star':
      return '*';
    default:
      return undefined;
  }
}

function transactionModes(v: unknown): TransactionMode[] {
  return list(v).map((o) => {
    const [, b] = kindOf(o);
    const name = str(b.defname);
    const value = defElemValue(b.arg);
    if (name === 'transaction_isolation') return { kind: 'isolation', level: String(value) };
    if (name === 'transaction_read_only') return { kind: 'readOnly', readOnly: value === true || value === 1 || value === 'true' || value === '1' };
    if (name === 'transaction_deferrable') return { kind: 'deferrable', deferrable: value === true || value === 1 || value === 'true' || value === '1' };
    throw unsupported(`transaction option ${name}`);
  });
}

function alterTableAction(node: unknown): AlterTableAction {
  const [, b] = kindOf(node);
  const sub = str(b.subtype);
  const name = str(b.name);
  switch (sub) {
    case 'AT_AddColumn':
      return { kind: 'addColumn', column: columnDef(kindOf(b.def)[1]), ifNotExists: bool(b.missing_ok) };
    case 'AT_DropColumn':
      return { kind: 'dropColumn', name, ifExists: bool(b.missing_ok), cascade: str(b.behavior) === 'DROP_CASCADE' };
    case 'AT_ColumnDefault':
      return b.def === undefined ? { kind: 'alterColumnDefault', name } : { kind: 'alterColumnDefault', name, expr: adaptExpr(b.def) };
    case 'AT_SetNotNull':
      return { kind: 'alterColumnNotNull', name, notNull: true };
    case 'AT_DropNotNull':
      return { kind: 'alterColumnNotNull', name, notNull: false };
    case 'AT_AlterColumnType':
      return { kind: 'alterColumnType', name, type: adaptTypeName(kindOf(b.def)[1].typeName as Body) };
    case 'AT_AddConstraint':
      return { kind: 'addConstraint', constraint: tableConstraint(kindOf(b.def)[1]) };
    case 'AT_DropConstraint':
      return { kind: 'dropConstraint', name, ifExists: bool(b.missing_ok) };
    default:
      throw unsupported(`ALTER TABLE ${sub.replace(/^AT_/, '')}`);
  }
}

// ---- Statements ----------------------------------------------------------------------------------------------

function setClauses(v: unknown): SetClause[] {
  return list(v).map((t) => {
    const [, b] = kindOf(t);
    const path = list(b.indirection).map((i) => {
      const [ik, ib] = kindOf(i);
      return ik === 'String' ? str(ib.sval) : '[]';
    });
    let value: Expr;
    const [vk, vb] = kindOf(b.val);
    if (vk === 'MultiAssignRef') {
      // (a, b) = (1, 2): each column takes its element of the row; (a, b) = (SELECT ...) is refused.
      const [sk, sb] = kindOf(vb.source);
      const colno = num(vb.colno);
      if (sk === 'RowExpr') value = adaptExpr(list(sb.args)[colno - 1]);
      else throw unsupported('assigning a subquery to several columns', loc(b));
    } else {
      value = adaptExpr(b.val);
    }
    return { column: str(b.name), path, value, location: loc(b) };
  });
}

function returning(v: unknown): Target[] {
  return targets(v);
}

export function adaptStatement(node: unknown, text: string): Statement {
  const [k, b] = kindOf(node);
  switch (k) {
    case 'SelectStmt':
      return { kind: 'query', query: adaptQuery(node) };
    case 'InsertStmt': {
      const relation = b.relation as Body;
      const source = b.selectStmt === undefined ? undefined : adaptQuery(b.selectStmt);
      const oc = b.onConflictClause as Body | undefined;
      const w = withClause(b.withClause);
      const alias = (relation.alias as Body | undefined)?.aliasname;
      let onConflict: Extract<Statement, { kind: 'insert' }>['onConflict'];
      if (oc !== undefined) {
        const infer = oc.infer as Body | undefined;
        if (infer?.whereClause) throw unsupported('ON CONFLICT ... WHERE on the conflict target', loc(oc));
        onConflict = {
          targetColumns: infer === undefined ? [] : indexElements(infer.indexElems).map((e) => e.column ?? ''),
          ...(infer?.conname ? { constraint: str(infer.conname) } : {}),
          action: str(oc.action) === 'ONCONFLICT_UPDATE' ? 'update' : 'nothing',
          set: setClauses(oc.targetList),
          ...(oc.whereClause !== undefined ? { where: adaptExpr(oc.whereClause) } : {}),
        };
      }
      if (str(b.override) !== '' && str(b.override) !== 'OVERRIDING_NOT_SET') throw unsupported('OVERRIDING');
      return {
        kind: 'insert',
        table: rangeVarName(relation),
        ...(alias ? { alias: str(alias) } : {}),
        ...(b.cols !== undefined ? { columns: list(b.cols).map((c) => str(kindOf(c)[1].name)) } : {}),
        ...(source ? { source } : {}),
        ...(onConflict ? { onConflict } : {}),
        returning: returning(b.returningList),
        ...(w ? { with: w } : {}),
        upsert: false,
      };
    }
    case 'UpdateStmt': {
      const relation = b.relation as Body;
      const w = withClause(b.withClause);
      const alias = (relation.alias as Body | undefined)?.aliasname;
      return {
        kind: 'update',
        table: rangeVarName(relation),
        ...(alias ? { alias: str(alias) } : {}),
        set: setClauses(b.targetList),
        from: list(b.fromClause).map(fromItem),
        ...(b.whereClause !== undefined ? { where: adaptExpr(b.whereClause) } : {}),
        returning: returning(b.returningList),
        ...(w ? { with: w } : {}),
      };
    }
    case 'DeleteStmt': {
      const relation = b.relation as Body;
      const w = withClause(b.withClause);
      const alias = (relation.alias as Body | undefined)?.aliasname;
      return {
        kind: 'delete',
        table: rangeVarName(relation),
        ...(alias ? { alias: str(alias) } : {}),
        using: list(b.usingClause).map(fromItem),
        ...(b.whereClause !== undefined ? { where: adaptExpr(b.whereClause) } : {}),
        returning: returning(b.returningList),
        ...(w ? { with: w } : {}),
      };
    }
    case 'CreateStmt': {
      if (b.inhRelations !== undefined) throw unsupported('INHERITS');
      if (b.partspec !== undefined) throw unsupported('PARTITION BY');
      if (b.partbound !== undefined) throw unsupported('partitions');
      if (b.ofTypename !== undefined) throw unsupported('typed tables');
      const relation = b.relation as Body;
      const columns: ColumnDef[] = [];
      const constraints: TableConstraint[] = [];
      for (const e of list(b.tableElts)) {
        const [ek, eb] = kindOf(e);
        if (ek === 'ColumnDef') columns.push(columnDef(eb));
        else if (ek === 'Constraint') constraints.push(tableConstraint(eb));
        else if (ek === 'TableLikeClause') throw unsupported('LIKE in CREATE TABLE', loc(eb));
        else throw unsupported(`${ek} in CREATE TABLE`);
      }
      return {
        kind: 'createTable',
        name: rangeVarName(relation),
        ifNotExists: bool(b.if_not_exists),
        columns,
        constraints,
        temporary: str(relation.relpersistence) === 't',
      };
    }
    case 'CreateTableAsStmt': {
      const into = b.into as Body;
      if (str(b.objtype) !== 'OBJECT_TABLE') throw unsupported('CREATE MATERIALIZED VIEW');
      return {
        kind: 'createTable',
        name: rangeVarName(into.rel as Body),
        ifNotExists: bool(b.if_not_exists),
        columns: names(into.colNames).map((n) => ({ name: n, type: { names: [], modifiers: [], arrayDims: 0, location: -1 }, constraints: [], location: -1 })),
        constraints: [],
        temporary: false,
        asQuery: adaptQuery(b.query),
      };
    }
    case 'IndexStmt': {
      const include = indexElements(b.indexIncludingParams).map((e) => e.column ?? '');
      return {
        kind: 'createIndex',
        ...(b.idxname ? { name: str(b.idxname) } : {}),
        table: rangeVarName(b.relation as Body),
        unique: bool(b.unique) || bool(b.primary),
        ifNotExists: bool(b.if_not_exists),
        elements: indexElements(b.indexParams),
        include,
        ...(b.whereClause !== undefined ? { where: adaptExpr(b.whereClause) } : {}),
        ...(b.accessMethod ? { method: str(b.accessMethod) } : {}),
        concurrently: bool(b.concurrent),
      };
    }
    case 'CreatedbStmt':
      return { kind: 'createDatabase', name: str(b.dbname), ifNotExists: false };
    case 'CreateSchemaStmt':
      if (list(b.schemaElts).length > 0) throw unsupported('CREATE SCHEMA with elements');
      return { kind: 'createSchema', name: str(b.schemaname), ifNotExists: bool(b.if_not_exists) };
    case 'ViewStmt': {
      if (str(b.withCheckOption) !== '' && str(b.withCheckOption) !== 'NO_CHECK_OPTION') throw unsupported('WITH CHECK OPTION');
      return {
        kind: 'createView',
        name: rangeVarName(b.view as Body),
        columns: names(b.aliases),
        query: adaptQuery(b.query),
        replace: bool(b.replace),
        queryText: text,
      };
    }
    case 'CreateSeqStmt':
      return {
        kind: 'createSequence',
        name: rangeVarName(b.sequence as Body),
        ifNotExists: bool(b.if_not_exists),
        options: list(b.options).map((o) => {
          const [, ob] = kindOf(o);
          const value = defElemValue(ob.arg);
          return value === undefined ? { name: str(ob.defname) } : { name: str(ob.defname), value };
        }),
      };
    case 'DropStmt': {
      const object = OBJECT_KINDS[str(b.removeType)];
      if (object === undefined) throw unsupported(`DROP ${str(b.removeType).replace(/^OBJECT_/, '')}`);
      const objects = list(b.objects).map((o): QualifiedName => {
        const [ok, ob] = kindOf(o);
        if (ok === 'List') return { parts: names(ob.items), location: -1 };
        if (ok === 'String') return { parts: [str(ob.sval)], location: -1 };
        if (ok === 'TypeName') return { parts: names(ob.names), location: loc(ob) };
        throw unsupported(`DROP of ${ok}`);
      });
      return { kind: 'drop', object, names: objects, ifExists: bool(b.missing_ok), cascade: str(b.behavior) === 'DROP_CASCADE' };
    }
    case 'DropdbStmt':
      return { kind: 'drop', object: 'database', names: [{ parts: [str(b.dbname)], location: -1 }], ifExists: bool(b.missing_ok), cascade: false };
    case 'AlterTableStmt': {
      if (str(b.objtype) !== 'OBJECT_TABLE') throw unsupported(`ALTER ${str(b.objtype).replace(/^OBJECT_/, '')}`);
      return { kind: 'alterTable', table: rangeVarName(b.relation as Body), ifExists: bool(b.missing_ok), actions: list(b.cmds).map(alterTableAction) };
    }
    case 'RenameStmt': {
      const type = str(b.renameType);
      const relation = b.relation as Body | undefined;
      if (type === 'OBJECT_COLUMN' && relation) {
        return { kind: 'alterTable', table: rangeVarName(relation), ifExists: bool(b.missing_ok), actions: [{ kind: 'renameColumn', from: str(b.subname), to: str(b.newname) }] };
      }
      if (type === 'OBJECT_TABCONSTRAINT' && relation) {
        return { kind: 'alterTable', table: rangeVarName(relation), ifExists: bool(b.missing_ok), actions: [{ kind: 'renameConstraint', from: str(b.subname), to: str(b.newname) }] };
      }
      const object = OBJECT_KINDS[type];
      if (object === undefined) throw unsupported(`ALTER ${type.replace(/^OBJECT_/, '')} RENAME`);
      const name: QualifiedName = relation ? rangeVarName(relation) : b.object ? { parts: names((b.object as { List?: Body }).List?.items ?? []), location: -1 } : { parts: [str(b.subname)], location: -1 };
      return { kind: 'renameObject', object, name, to: str(b.newname), ifExists: bool(b.missing_ok) };
    }
    case 'TruncateStmt':
      return {
        kind: 'truncate',
        tables: list(b.relations).map((r) => rangeVarName(kindOf(r)[1])),
        restartIdentity: bool(b.restart_seqs),
        cascade: str(b.behavior) === 'DROP_CASCADE',
      };
    case 'TransactionStmt': {
      const map: Record<string, Extract<Statement, { kind: 'transaction' }>['action']> = {
        TRANS_STMT_BEGIN: 'begin',
        TRANS_STMT_START: 'start',
        TRANS_STMT_COMMIT: 'commit',
        TRANS_STMT_ROLLBACK: 'rollback',
        TRANS_STMT_SAVEPOINT: 'savepoint',
        TRANS_STMT_RELEASE: 'release',
        TRANS_STMT_ROLLBACK_TO: 'rollbackTo',
        TRANS_STMT_PREPARE: 'prepare',
        TRANS_STMT_COMMIT_PREPARED: 'commitPrepared',
        TRANS_STMT_ROLLBACK_PREPARED: 'rollbackPrepared',
      };
      const action = map[str(b.kind)];
      if (action === undefined) throw unsupported(`transaction statement ${str(b.kind)}`);
      return {
        kind: 'transaction',
        action,
        modes: transactionModes(b.options),
        ...(b.savepoint_name ? { savepoint: str(b.savepoint_name) } : {}),
        chain: bool(b.chain),
      };
    }
    case 'VariableSetStmt': {
      const kind = str(b.kind);
      const name = str(b.name).toLowerCase();
      const local = bool(b.is_local);
      switch (kind) {
        case 'VAR_SET_VALUE':
          return { kind: 'set', name, values: list(b.args).map(adaptExpr), local, toDefault: false };
        case 'VAR_SET_DEFAULT':
          return { kind: 'set', name, values: [], local, toDefault: true };
        case 'VAR_SET_CURRENT':
          throw unsupported('SET ... FROM CURRENT');
        case 'VAR_SET_MULTI':
          if (name === 'transaction' || name === 'session characteristics') {
            return { kind: 'set', name, values: [], local, toDefault: false, transactionModes: transactionModes(b.args) };
          }
          throw unsupported(`SET ${name}`);
        case 'VAR_RESET':
          return { kind: 'reset', name };
        case 'VAR_RESET_ALL':
          return { kind: 'reset', name: 'all' };
        default:
          throw unsupported(`SET kind ${kind}`);
      }
    }
    case 'VariableShowStmt':
      return { kind: 'show', name: str(b.name).toLowerCase() };
    case 'CopyStmt': {
      const options: CopyOption[] = list(b.options).map((o) => {
        const [, ob] = kindOf(o);
        const value = defElemValue(ob.arg);
        return value === undefined ? { name: str(ob.defname) } : { name: str(ob.defname), value: String(value) };
      });
      return {
        kind: 'copy',
        ...(b.relation ? { table: rangeVarName(b.relation as Body) } : {}),
        ...(b.query ? { query: adaptQuery(b.query) } : {}),
        columns: names(b.attlist),
        from: bool(b.is_from),
        stdio: b.filename === undefined,
        ...(b.filename !== undefined ? { filename: str(b.filename) } : {}),
        options,
      };
    }
    case 'ExplainStmt': {
      let analyze = false;
      let verbose = false;
      let format = 'text';
      for (const o of list(b.options)) {
        const [, ob] = kindOf(o);
        const name = str(ob.defname);
        const value = defElemValue(ob.arg);
        const on = value === undefined || value === true || value === 'true' || value === 'on' || value === 1;
        if (name === 'analyze') analyze = on;
        else if (name === 'verbose') verbose = on;
        else if (name === 'format') format = String(value).toLowerCase();
      }
      return { kind: 'explain', statement: adaptStatement(b.query, text), analyze, verbose, format };
    }
    case 'PrepareStmt':
      return {
        kind: 'prepare',
        name: str(b.name),
        types: list(b.argtypes).map((t) => adaptTypeName(kindOf(t)[1])),
        statement: adaptStatement(b.query, text),
        text,
      };
    case 'ExecuteStmt':
      return { kind: 'execute', name: str(b.name), params: list(b.params).map(adaptExpr) };
    case 'DeallocateStmt':
      return bool(b.isall) || !b.name ? { kind: 'deallocate' } : { kind: 'deallocate', name: str(b.name) };
    case 'DiscardStmt':
      return { kind: 'discard', target: str(b.target).replace(/^DISCARD_/, '').toLowerCase() };
    case 'CommentStmt':
      return { kind: 'comment', object: str(b.objtype), name: [], ...(b.comment !== undefined ? { text: str(b.comment) } : {}) };
    case 'VacuumStmt':
      return { kind: 'analyze', tables: list(b.rels).map((r) => rangeVarName((kindOf(r)[1].relation ?? {}) as Body)) };
    case 'ListenStmt':
      return { kind: 'listen', channel: str(b.conditionname) };
    case 'UnlistenStmt':
      return { kind: 'unlisten', channel: str(b.conditionname) };
    case 'NotifyStmt':
      return { kind: 'notify', channel: str(b.conditionname) };
    case 'GrantStmt':
    case 'GrantRoleStmt':
    case 'AlterDefaultPrivilegesStmt':
      return { kind: 'grant', text };
    default:
      throw unsupported(statementName(k));
  }
}

function statementName(k: string): string {
  const known: Record<string, string> = {
    CreateFunctionStmt: 'CREATE FUNCTION',
    CreateTrigStmt: 'CREATE TRIGGER',
    CreateRoleStmt: 'CREATE ROLE',
    AlterRoleStmt: 'ALTER ROLE',
    DropRoleStmt: 'DROP ROLE',
    CreateExtensionStmt: 'CREATE EXTENSION',
    DoStmt: 'DO',
    LockStmt: 'LOCK',
    ClusterStmt: 'CLUSTER',
    CheckPointStmt: 'CHECKPOINT',
    ReindexStmt: 'REINDEX',
    CreateEnumStmt: 'CREATE TYPE',
    CompositeTypeStmt: 'CREATE TYPE',
    DefineStmt: 'CREATE AGGREGATE/OPERATOR/TYPE',
    RuleStmt: 'CREATE RULE',
    DeclareCursorStmt: 'DECLARE CURSOR',
    FetchStmt: 'FETCH',
    ClosePortalStmt: 'CLOSE',
    CallStmt: 'CALL',
    RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW',
    AlterSeqStmt: 'ALTER SEQUENCE',
    CreateDomainStmt: 'CREATE DOMAIN',
    CreatePolicyStmt: 'CREATE POLICY',
    AlterDatabaseStmt: 'ALTER DATABASE',
    AlterDatabaseSetStmt: 'ALTER DATABASE',
    AlterOwnerStmt: 'ALTER ... OWNER',
    AlterObjectSchemaStmt: 'ALTER ... SET SCHEMA',
    MergeStmt: 'MERGE',
    LoadStmt: 'LOAD',
    AlterSystemStmt: 'ALTER SYSTEM',
  };
  return known[k] ?? k.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}
