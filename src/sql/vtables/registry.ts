// The virtual tables of pg_catalog, information_schema and crdb_internal: each a name, its columns
// and a function computing its rows from the catalog the statement runs against. Modules under
// vtables/ register their tables here when imported (index.ts imports them all).
import type { VirtualSchemaName } from '../catalog/resolver.js';
import type { ExecContext } from '../exec/context.js';
import type { VirtualTableSource } from '../plan/planner.js';
import type { Row } from '../types/datum.js';
import type { SqlType } from '../types/oids.js';

export interface VirtualTableDef {
  readonly schema: VirtualSchemaName;
  readonly name: string;
  /** The OID the table has in pg_class (fixed, as PostgreSQL's catalogs have). */
  readonly oid: number;
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: SqlType }>;
  rows(ctx: ExecContext): Promise<Row[]> | Row[];
}

const TABLES = new Map<string, VirtualTableDef>();

function key(schema: string, name: string): string {
  return `${schema}.${name}`;
}

export function defineVirtualTable(def: VirtualTableDef): void {
  TABLES.set(key(def.schema, def.name), def);
}

export function virtualTableDefs(): VirtualTableDef[] {
  return [...TABLES.values()];
}

export const virtualTables: VirtualTableSource & { oidOf(schema: VirtualSchemaName, name: string): number | undefined } = {
  has: (schema, name) => TABLES.has(key(schema, name)),
  columns: (schema, name) => TABLES.get(key(schema, name))?.columns ?? [],
  rows: (schema, name, ctx) => {
    const def = TABLES.get(key(schema, name));
    return def === undefined ? [] : def.rows(ctx);
  },
  oidOf: (schema, name) => TABLES.get(key(schema, name))?.oid,
};
