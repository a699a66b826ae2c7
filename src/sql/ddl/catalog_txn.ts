// The catalog changes of one transaction: descriptors written, names claimed and released, ids
// allocated. The transaction sees its own changes (view()) before it commits; at commit the
// cluster-wide schema version is bumped in the same KV transaction, and afterwards the gateway
// reloads the catalog, tells the other gateways, and runs the steps the change still owes (the
// later states of an online schema change, backfills, removal of dropped data).
import type { CatalogSnapshot } from '../catalog/catalog_snapshot.js';
import {
  allocateDescriptorIds,
  bumpSchemaVersion,
  claimName,
  deleteDescriptor,
  releaseName,
  writeDescriptor,
} from '../catalog/catalog_store.js';
import type { Descriptor } from '../catalog/descriptors.js';
import type { SqlTxn } from '../session/sql_txn.js';

export type PostCommitJob = () => Promise<void>;

export class CatalogTxn {
  private readonly overlay = new Map<number, Descriptor>();
  private readonly removed = new Set<number>();
  private cachedView: CatalogSnapshot | undefined;
  /** Steps to run once the transaction committed (awaited by the statement or COMMIT). */
  readonly jobs: PostCommitJob[] = [];
  /** Work that may run after the client got its answer (data removal). */
  readonly background: PostCommitJob[] = [];
  /** The schema version this transaction's change became, once committed. */
  newVersion: bigint | undefined;

  constructor(
    readonly txn: SqlTxn,
    private base: CatalogSnapshot,
    private readonly installer: (newVersion: bigint, changed: readonly number[]) => Promise<void>,
  ) {}

  get changed(): boolean {
    return this.overlay.size > 0 || this.removed.size > 0;
  }

  view(): CatalogSnapshot {
    this.cachedView ??= this.base.withChanges([...this.overlay.values()], [...this.removed]);
    return this.cachedView;
  }

  /** Stages a new version of a descriptor (its version counter moves on). */
  put(d: Descriptor): Descriptor {
    const previous = this.overlay.get(d.id) ?? this.base.get(d.id);
    const next = { ...d, version: (previous?.version ?? 0) + (this.overlay.has(d.id) ? 0 : 1) } as Descriptor;
    this.overlay.set(d.id, next);
    this.removed.delete(d.id);
    this.cachedView = undefined;
    writeDescriptor(this.txn, next);
    return next;
  }

  /** Removes a descriptor for good (its data must already be gone or be removed in the background). */
  remove(id: number): void {
    this.overlay.delete(id);
    this.removed.add(id);
    this.cachedView = undefined;
    deleteDescriptor(this.txn, id);
  }

  claimName(parentId: number, schemaId: number, name: string, id: number): void {
    claimName(this.txn, parentId, schemaId, name, id);
  }

  releaseName(parentId: number, schemaId: number, name: string): void {
    releaseName(this.txn, parentId, schemaId, name);
  }

  async allocateIds(count: number): Promise<number> {
    return allocateDescriptorIds(this.txn, count);
  }

  /** Called just before the KV commit: bumps the schema version and stamps the descriptors with it. */
  async beforeCommit(): Promise<void> {
    const changed = [...this.overlay.keys(), ...this.removed];
    const version = await bumpSchemaVersion(this.txn, changed);
    for (const [id, d] of this.overlay) {
      const stamped = { ...d, modifiedAtSchemaVersion: Number(version) } as Descriptor;
      this.overlay.set(id, stamped);
      writeDescriptor(this.txn, stamped);
    }
    this.newVersion = version;
  }

  /** Called once the KV commit succeeded. */
  async afterCommit(): Promise<void> {
    if (this.newVersion === undefined) return;
    await this.installer(this.newVersion, [...this.overlay.keys(), ...this.removed]);
    for (const job of this.jobs) await job();
    for (const job of this.background) void job().catch(() => {});
  }
}
