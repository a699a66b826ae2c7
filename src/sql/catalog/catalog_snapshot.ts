// An immutable view of the catalog at one schema version, indexed for name resolution. A gateway
// holds the newest one it has loaded (schema_cache.ts); a transaction that changed the schema sees
// its own changes through an overlay (withChanges) until it commits.
import type { DatabaseDescriptor, Descriptor, SchemaDescriptor, TableDescriptor } from './descriptors.js';

export class CatalogSnapshot {
  private readonly byId = new Map<number, Descriptor>();
  private readonly databases = new Map<string, DatabaseDescriptor>();
  private readonly schemas = new Map<number, Map<string, SchemaDescriptor>>();
  private readonly tables = new Map<number, Map<string, TableDescriptor>>();

  constructor(
    /** The cluster-wide schema version these descriptors are from. */
    readonly version: bigint,
    descriptors: readonly Descriptor[],
  ) {
    for (const d of descriptors) this.index(d);
  }

  private index(d: Descriptor): void {
    this.byId.set(d.id, d);
    switch (d.kind) {
      case 'database':
        if (!d.dropping) this.databases.set(d.name, d);
        break;
      case 'schema': {
        let m = this.schemas.get(d.databaseId);
        if (m === undefined) this.schemas.set(d.databaseId, (m = new Map()));
        m.set(d.name, d);
        break;
      }
      case 'table': {
        if (d.state === 'dropping') break;
        let m = this.tables.get(d.schemaId);
        if (m === undefined) this.tables.set(d.schemaId, (m = new Map()));
        m.set(d.name, d);
        break;
      }
    }
  }

  get(id: number): Descriptor | undefined {
    return this.byId.get(id);
  }

  table(id: number): TableDescriptor | undefined {
    const d = this.byId.get(id);
    return d?.kind === 'table' ? d : undefined;
  }

  database(name: string): DatabaseDescriptor | undefined {
    return this.databases.get(name);
  }

  databaseById(id: number): DatabaseDescriptor | undefined {
    const d = this.byId.get(id);
    return d?.kind === 'database' ? d : undefined;
  }

  allDatabases(): DatabaseDescriptor[] {
    return [...this.databases.values()].sort((a, b) => a.id - b.id);
  }

  schema(databaseId: number, name: string): SchemaDescriptor | undefined {
    return this.schemas.get(databaseId)?.get(name);
  }

  schemasOf(databaseId: number): SchemaDescriptor[] {
    return [...(this.schemas.get(databaseId)?.values() ?? [])].sort((a, b) => a.id - b.id);
  }

  tableByName(schemaId: number, name: string): TableDescriptor | undefined {
    return this.tables.get(schemaId)?.get(name);
  }

  tablesOf(schemaId: number): TableDescriptor[] {
    return [...(this.tables.get(schemaId)?.values() ?? [])].sort((a, b) => a.id - b.id);
  }

  /** Every descriptor, dropping ones included. */
  all(): Descriptor[] {
    return [...this.byId.values()];
  }

  /** This view with some descriptors replaced or added, and some removed. */
  withChanges(changed: readonly Descriptor[], removed: readonly number[] = []): CatalogSnapshot {
    const gone = new Set(removed);
    const replaced = new Map(changed.map((d) => [d.id, d]));
    const merged: Descriptor[] = [];
    for (const d of this.byId.values()) if (!gone.has(d.id) && !replaced.has(d.id)) merged.push(d);
    for (const d of changed) if (!gone.has(d.id)) merged.push(d);
    return new CatalogSnapshot(this.version, merged);
  }
}
