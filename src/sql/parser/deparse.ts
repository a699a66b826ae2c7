// Syntax trees back to SQL text: how column defaults, CHECK constraints and view definitions are
// stored in the catalog (and shown by pg_get_expr, pg_get_viewdef and psql's \d). The output parses
// back to the same tree; it is fully parenthesized rather than pretty.
import type { Expr, FromItem, Query, SortItem, Target, TypeName, WindowSpec } from './ast.js';

export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

const RESERVED = new Set([
  'all', 'analyse', 'analyze', 'and', 'any', 'array', 'as', 'asc', 'asymmetric', 'both', 'case', 'cast', 'check', 'collate', 'column',
  'constraint', 'create', 'current_catalog', 'current_date', 'current_role', 'current_time', 'current_timestamp', 'current_user',
  'default', 'deferrable', 'desc', 'distinct', 'do', 'else', 'end', 'except', 'false', 'fetch', 'for', 'foreign', 'from', 'grant',
  'group', 'having', 'in', 'initially', 'intersect', 'into', 'lateral', 'leading', 'limit', 'localtime', 'localtimestamp', 'not',
  'null', 'offset', 'on', 'only', 'or', 'order', 'placing', 'primary', 'references', 'returning', 'select', 'session_user', 'some',
  'symmetric', 'table', 'then', 'to', 'trailing', 'true', 'union', 'unique', 'user', 'using', 'variadic', 'when', 'where', 'window', 'with',
]);

export function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function typeName(t: TypeName): string {
  const names = t.names.filter((n, i) => !(i === 0 && n === 'pg_catalog' && t.names.length > 1));
  let s = names.map((n) => (n.includes(' ') ? n : quoteIdent(n))).join('.');
  if (t.modifiers.length > 0) s += `(${t.modifiers.join(', ')})`;
  for (let i = 0; i < t.arrayDims; i++) s += '[]';
  return s;
}

function sortItem(s: SortItem): string {
  let out = deparseExpr(s.expr);
  if (s.direction === 'asc') out += ' ASC';
  if (s.direction === 'desc') out += ' DESC';
  if (s.nulls === 'first') out += ' NULLS FIRST';
  if (s.nulls === 'last') out += ' NULLS LAST';
  return out;
}

function windowSpec(w: WindowSpec): string {
  const parts: string[] = [];
  if (w.refName) parts.push(quoteIdent(w.refName));
  if (w.partitionBy.length > 0) parts.push(`PARTITION BY ${w.partitionBy.map(deparseExpr).join(', ')}`);
  if (w.orderBy.length > 0) parts.push(`ORDER BY ${w.orderBy.map(sortItem).join(', ')}`);
  return `(${parts.join(' ')})`;
}

export function deparseExpr(e: Expr): string {
  switch (e.kind) {
    case 'const': {
      const v = e.value;
      switch (v.type) {
        case 'integer':
        case 'numeric':
          return v.text.startsWith('-') ? `(${v.text})` : v.text;
        case 'string':
          return quoteLiteral(v.text);
        case 'boolean':
          return v.value ? 'true' : 'false';
        case 'null':
          return 'NULL';
        case 'bitstring':
          return `B'${v.text.slice(1)}'`;
      }
      return 'NULL';
    }
    case 'column':
      return [...e.parts.map(quoteIdent), ...(e.star ? ['*'] : [])].join('.');
    case 'param':
      return `$${e.index}`;
    case 'op':
      return e.left === undefined ? `(${e.op} ${deparseExpr(e.right)})` : `(${deparseExpr(e.left)} ${e.op} ${deparseExpr(e.right)})`;
    case 'and':
    case 'or':
      return `(${e.args.map(deparseExpr).join(e.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `(NOT ${deparseExpr(e.arg)})`;
    case 'func': {
      // pg_catalog stays: extract, overlay, trim and friends only parse back in that spelling.
      const name = e.name.map(quoteIdent).join('.');
      const args = e.star ? '*' : `${e.distinct ? 'DISTINCT ' : ''}${e.args.map((a, i) => (e.argNames[i] ? `${quoteIdent(e.argNames[i]!)} => ${deparseExpr(a)}` : deparseExpr(a))).join(', ')}${e.orderBy.length > 0 && !e.withinGroup ? ` ORDER BY ${e.orderBy.map(sortItem).join(', ')}` : ''}`;
      let out = `${name}(${args})`;
      if (e.withinGroup) out += ` WITHIN GROUP (ORDER BY ${e.orderBy.map(sortItem).join(', ')})`;
      if (e.filter) out += ` FILTER (WHERE ${deparseExpr(e.filter)})`;
      if (e.over) out += ` OVER ${e.over.name && e.over.partitionBy.length === 0 && e.over.orderBy.length === 0 ? quoteIdent(e.over.name) : windowSpec(e.over)}`;
      return out;
    }
    case 'cast':
      return `(${deparseExpr(e.arg)})::${typeName(e.type)}`;
    case 'case':
      return `CASE${e.operand ? ` ${deparseExpr(e.operand)}` : ''}${e.whens.map((w) => ` WHEN ${deparseExpr(w.when)} THEN ${deparseExpr(w.then)}`).join('')}${e.else ? ` ELSE ${deparseExpr(e.else)}` : ''} END`;
    case 'coalesce':
      return `COALESCE(${e.args.map(deparseExpr).join(', ')})`;
    case 'nullif':
      return `NULLIF(${deparseExpr(e.left)}, ${deparseExpr(e.right)})`;
    case 'greatest':
    case 'least':
      return `${e.kind.toUpperCase()}(${e.args.map(deparseExpr).join(', ')})`;
    case 'isNull':
      return `(${deparseExpr(e.arg)} IS ${e.negated ? 'NOT ' : ''}NULL)`;
    case 'boolTest':
      return `(${deparseExpr(e.arg)} IS ${e.test.toUpperCase()})`;
    case 'distinctFrom':
      return `(${deparseExpr(e.left)} IS ${e.negated ? 'NOT ' : ''}DISTINCT FROM ${deparseExpr(e.right)})`;
    case 'between':
      return `(${deparseExpr(e.arg)} ${e.negated ? 'NOT ' : ''}BETWEEN ${e.symmetric ? 'SYMMETRIC ' : ''}${deparseExpr(e.low)} AND ${deparseExpr(e.high)})`;
    case 'inList':
      return `(${deparseExpr(e.arg)} ${e.negated ? 'NOT ' : ''}IN (${e.list.map(deparseExpr).join(', ')}))`;
    case 'like': {
      const op = e.similar ? 'SIMILAR TO' : e.caseInsensitive ? 'ILIKE' : 'LIKE';
      return `(${deparseExpr(e.arg)} ${e.negated ? 'NOT ' : ''}${op} ${deparseExpr(e.pattern)}${e.escape ? ` ESCAPE ${deparseExpr(e.escape)}` : ''})`;
    }
    case 'quantified':
      return `(${deparseExpr(e.left)} ${e.op} ${e.quantifier.toUpperCase()} (${deparseExpr(e.array)}))`;
    case 'subquery':
      return `(${deparseQuery(e.query)})`;
    case 'exists':
      return `EXISTS (${deparseQuery(e.query)})`;
    case 'quantifiedSubquery':
      return `(${deparseExpr(e.left)} ${e.op} ${e.quantifier.toUpperCase()} (${deparseQuery(e.query)}))`;
    case 'arraySubquery':
      return `ARRAY(${deparseQuery(e.query)})`;
    case 'array':
      return `ARRAY[${e.elements.map(deparseExpr).join(', ')}]`;
    case 'row':
      return `ROW(${e.args.map(deparseExpr).join(', ')})`;
    case 'subscript':
      return `(${deparseExpr(e.arg)})[${e.index ? deparseExpr(e.index) : ''}${e.slice ? `:${e.upper ? deparseExpr(e.upper) : ''}` : ''}]`;
    case 'field':
      return `(${deparseExpr(e.arg)}).${e.field === '*' ? '*' : quoteIdent(e.field)}`;
    case 'sqlValue':
      return `${e.fn.toUpperCase()}${e.precision !== undefined ? `(${e.precision})` : ''}`;
    case 'collate':
      return `(${deparseExpr(e.arg)} COLLATE ${e.collation.map(quoteIdent).join('.')})`;
    case 'default':
      return 'DEFAULT';
    case 'atTimeZone':
      return `(${deparseExpr(e.arg)} AT TIME ZONE ${deparseExpr(e.zone)})`;
  }
}

function target(t: Target): string {
  return t.alias === undefined ? deparseExpr(t.expr) : `${deparseExpr(t.expr)} AS ${quoteIdent(t.alias)}`;
}

function fromItem(f: FromItem): string {
  const alias = (a: { name: string; columns: readonly string[] } | undefined): string =>
    a === undefined ? '' : ` AS ${quoteIdent(a.name)}${a.columns.length > 0 ? `(${a.columns.map(quoteIdent).join(', ')})` : ''}`;
  switch (f.kind) {
    case 'table':
      return `${f.only ? 'ONLY ' : ''}${f.name.parts.map(quoteIdent).join('.')}${alias(f.alias)}`;
    case 'subquery':
      return `${f.lateral ? 'LATERAL ' : ''}(${deparseQuery(f.query)})${alias(f.alias)}`;
    case 'function':
      return `${f.lateral ? 'LATERAL ' : ''}${f.calls.map(deparseExpr).join(', ')}${f.withOrdinality ? ' WITH ORDINALITY' : ''}${alias(f.alias)}`;
    case 'join': {
      const type = f.type === 'cross' ? 'CROSS JOIN' : `${f.natural ? 'NATURAL ' : ''}${f.type.toUpperCase()} JOIN`;
      const cond = f.on ? ` ON ${deparseExpr(f.on)}` : f.using ? ` USING (${f.using.map(quoteIdent).join(', ')})` : '';
      return `(${fromItem(f.left)} ${type} ${fromItem(f.right)}${cond})${alias(f.alias)}`;
    }
  }
}

export function deparseQuery(q: Query): string {
  let out = '';
  if (q.with !== undefined) {
    out += `WITH ${q.with.recursive ? 'RECURSIVE ' : ''}${q.with.tables
      .map((t) => `${quoteIdent(t.name)}${t.columns.length > 0 ? `(${t.columns.map(quoteIdent).join(', ')})` : ''} AS (${deparseQuery(t.query)})`)
      .join(', ')} `;
  }
  switch (q.kind) {
    case 'select': {
      out += 'SELECT ';
      if (q.distinct === true) out += 'DISTINCT ';
      else if (Array.isArray(q.distinct)) out += `DISTINCT ON (${(q.distinct as Expr[]).map(deparseExpr).join(', ')}) `;
      out += q.targets.map(target).join(', ');
      if (q.from.length > 0) out += ` FROM ${q.from.map(fromItem).join(', ')}`;
      if (q.where) out += ` WHERE ${deparseExpr(q.where)}`;
      if (q.groupBy.length > 0) {
        out += ` GROUP BY ${q.groupBy.map((g) => (g.kind === 'expr' ? deparseExpr(g.expr) : '()')).join(', ')}`;
      }
      if (q.having) out += ` HAVING ${deparseExpr(q.having)}`;
      break;
    }
    case 'values':
      out += `VALUES ${q.rows.map((r) => `(${r.map(deparseExpr).join(', ')})`).join(', ')}`;
      break;
    case 'setop':
      out += `(${deparseQuery(q.left)}) ${q.op.toUpperCase()}${q.all ? ' ALL' : ''} (${deparseQuery(q.right)})`;
      break;
  }
  if (q.orderBy.length > 0) out += ` ORDER BY ${q.orderBy.map(sortItem).join(', ')}`;
  if (q.limit) out += ` LIMIT ${deparseExpr(q.limit)}`;
  if (q.offset) out += ` OFFSET ${deparseExpr(q.offset)}`;
  return out;
}
