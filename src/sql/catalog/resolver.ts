// Resolving names written in statements to catalog objects, the way CockroachDB does on top of
// PostgreSQL's rules: `t` searches the session's search_path in the current database;
// `s.t` is schema s of the current database, or, if no such schema exists, table t in schema
// public of database s (so `bank.accounts` works right after `CREATE DATABASE bank`);
// `d.s.t` is explicit. pg_catalog and information_schema exist in every database.
import { SqlError, SqlState } from '../errors.js';
import type { QualifiedName } from '../parser/ast.js';
import type { CatalogSnapshot } from './catalog_snapshot.js';
import type { DatabaseDescriptor, SchemaDescriptor, TableDescriptor } from './descriptors.js';
import { SystemIds } from './descriptors.js';

export const VIRTUAL_SCHEMAS = ['pg_catalog', 'information_schema', 'crdb_internal'] as const;
export type VirtualSchemaName = (typeof VIRTUAL_SCHEMAS)[number];

export function isVirtualSchema(name: string): name is VirtualSchemaName {
  return (VIRTUAL_SCHEMAS as readonly string[]).includes(name);
}

export function virtualSchemaId(name: VirtualSchemaName): number {
  return name === 'pg_catalog' ? SystemIds.pgCatalogSchema : name === 'information_schema' ? SystemIds.informationSchema : SystemIds.crdbInternalSchema;
}

export interface SessionNaming {
  readonly database: string;
  readonly searchPath: readonly string[];
}

export type ResolvedRelation =
  | { readonly kind: 'table'; readonly table: TableDescriptor; readonly database: DatabaseDescriptor; readonly schema: SchemaDescriptor }
  | { readonly kind: 'virtual'; readonly schema: VirtualSchemaName; readonly name: string; readonly database: DatabaseDescriptor | undefined };

/** Names of virtual tables per virtual schema, supplied by the virtual table registry. */
export interface VirtualTableNames {
  has(schema: VirtualSchemaName, name: string): boolean;
}

export class NameResolver {
  constructor(
    readonly catalog: CatalogSnapshot,
    readonly session: SessionNaming,
    private readonly virtualTables: VirtualTableNames,
  ) {}

  currentDatabase(): DatabaseDescriptor | undefined {
    return this.catalog.database(this.session.database);
  }

  requireCurrentDatabase(): DatabaseDescriptor {
    const db = this.currentDatabase();
    if (db === undefined) {
      throw new SqlError(SqlState.invalidCatalogName, `database "${this.session.database}" does not exist`, {
        hint: 'set the current database with SET database = <name> or USE <name>',
      });
    }
    return db;
  }

  database(name: string): DatabaseDescriptor | undefined {
    return this.catalog.database(name);
  }

  /** The schemas names are searched in, in order (pg_catalog is always searched first, as in PostgreSQL). */
  searchSchemas(db: DatabaseDescriptor): Array<SchemaDescriptor | VirtualSchemaName> {
    const out: Array<SchemaDescriptor | VirtualSchemaName> = ['pg_catalog'];
    for (const name of this.session.searchPath) {
      if (name === 'pg_catalog') continue;
      if (isVirtualSchema(name)) out.push(name);
      else {
        const s = this.catalog.schema(db.id, name === '$user' ? '' : name);
        if (s !== undefined) out.push(s);
      }
    }
    return out;
  }

  /** Resolves a relation; undefined when it does not exist. */
  lookupRelation(name: QualifiedName): ResolvedRelation | undefined {
    const parts = name.parts;
    const rel = parts[parts.length - 1]!;
    if (parts.length === 1) {
      const db = this.currentDatabase();
      if (db === undefined) return undefined;
      for (const s of this.searchSchemas(db)) {
        if (typeof s === 'string') {
          if (this.virtualTables.has(s, rel)) return { kind: 'virtual', schema: s, name: rel, database: db };
        } else {
          const t = this.catalog.tableByName(s.id, rel);
          if (t !== undefined) return { kind: 'table', table: t, database: db, schema: s };
        }
      }
      return undefined;
    }
    if (parts.length === 2) {
      const first = parts[0]!;
      const db = this.currentDatabase();
      if (isVirtualSchema(first)) return this.virtualTables.has(first, rel) ? { kind: 'virtual', schema: first, name: rel, database: db } : undefined;
      if (db !== undefined) {
        const s = this.catalog.schema(db.id, first);
        if (s !== undefined) {
          const t = this.catalog.tableByName(s.id, rel);
          return t === undefined ? undefined : { kind: 'table', table: t, database: db, schema: s };
        }
      }
      const other = this.catalog.database(first);
      if (other !== undefined) {
        const s = this.catalog.schema(other.id, 'public');
        const t = s === undefined ? undefined : this.catalog.tableByName(s.id, rel);
        return t === undefined || s === undefined ? undefined : { kind: 'table', table: t, database: other, schema: s };
      }
      return undefined;
    }
    const [dbName, schemaName] = parts.slice(-3) as [string, string, string];
    const db = this.catalog.database(dbName);
    if (db === undefined) return undefined;
    if (isVirtualSchema(schemaName)) return this.virtualTables.has(schemaName, rel) ? { kind: 'virtual', schema: schemaName, name: rel, database: db } : undefined;
    const s = this.catalog.schema(db.id, schemaName);
    const t = s === undefined ? undefined : this.catalog.tableByName(s.id, rel);
    return t === undefined || s === undefined ? undefined : { kind: 'table', table: t, database: db, schema: s };
  }

  requireRelation(name: QualifiedName): ResolvedRelation {
    const r = this.lookupRelation(name);
    if (r === undefined) {
      if (name.parts.length === 1) this.requireCurrentDatabase();
      throw new SqlError(SqlState.undefinedTable, `relation "${name.parts.join('.')}" does not exist`).withPosition(name.location + 1);
    }
    return r;
  }

  requireTable(name: QualifiedName, forWhat: string): { table: TableDescriptor; database: DatabaseDescriptor; schema: SchemaDescriptor } {
    const r = this.requireRelation(name);
    if (r.kind === 'virtual') throw new SqlError(SqlState.insufficientPrivilege, `${r.schema}.${r.name} is a system catalog: ${forWhat} is not allowed`);
    return r;
  }

  /** Where a new object named `name` goes: its database and schema. */
  targetSchema(name: QualifiedName): { database: DatabaseDescriptor; schema: SchemaDescriptor; name: string } {
    const parts = name.parts;
    const rel = parts[parts.length - 1]!;
    if (parts.length === 1) {
      const db = this.requireCurrentDatabase();
      for (const s of this.searchSchemas(db)) if (typeof s !== 'string') return { database: db, schema: s, name: rel };
      throw new SqlError(SqlState.invalidSchemaName, 'no schema has been selected to create in');
    }
    if (parts.length === 2) {
      const first = parts[0]!;
      if (isVirtualSchema(first)) throw new SqlError(SqlState.insufficientPrivilege, `cannot create objects in the system schema ${first}`);
      const db = this.currentDatabase();
      const s = db === undefined ? undefined : this.catalog.schema(db.id, first);
      if (db !== undefined && s !== undefined) return { database: db, schema: s, name: rel };
      const other = this.catalog.database(first);
      if (other !== undefined) {
        const ps = this.catalog.schema(other.id, 'public');
        if (ps !== undefined) return { database: other, schema: ps, name: rel };
      }
      throw new SqlError(SqlState.invalidSchemaName, `schema "${first}" does not exist`);
    }
    const [dbName, schemaName] = parts.slice(-3) as [string, string, string];
    const db = this.catalog.database(dbName);
    if (db === undefined) throw new SqlError(SqlState.invalidCatalogName, `database "${dbName}" does not exist`);
    const s = this.catalog.schema(db.id, schemaName);
    if (s === undefined) throw new SqlError(SqlState.invalidSchemaName, `schema "${schemaName}" does not exist`);
    return { database: db, schema: s, name: rel };
  }
}
