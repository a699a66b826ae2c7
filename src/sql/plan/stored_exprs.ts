// Expressions kept as SQL text in the catalog (defaults, CHECK constraints) parsed back.
import { SqlError, SqlState } from '../errors.js';
import type { Expr } from '../parser/ast.js';
import { parseSql } from '../parser/parser.js';

export function parseStoredExpr(text: string, what: string): Expr {
  const stmt = parseSql(`SELECT ${text}`)[0]?.statement;
  if (stmt?.kind !== 'query' || stmt.query.kind !== 'select' || stmt.query.targets.length !== 1) {
    throw new SqlError(SqlState.dataCorrupted, `${what} "${text}" cannot be parsed`);
  }
  return stmt.query.targets[0]!.expr;
}

export function parseStoredCheck(text: string): Expr {
  return parseStoredExpr(text, 'check constraint');
}
