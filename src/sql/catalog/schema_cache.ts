// A gateway's copy of the catalog. It polls the cluster-wide schema version and reloads the
// descriptors when the version moves, so a change made through any gateway reaches every other one
// within a poll interval; a gateway that made a change installs it at once. A name that is not
// found forces a reload before "does not exist" is reported, so a table created elsewhere a moment
// ago is found.
//
// Schema changes that take several steps wait, between steps, until every gateway can have loaded
// the previous step (SCHEMA_LEASE_MS; see ddl/), and a transaction checks before it commits that
// its gateway's copy is fresh (loaded within the lease) and that no table it wrote changed since
// it planned its statements (validateForCommit). Together these keep at most two adjacent schema
// versions in use at any time, as F1's online schema change requires.
import { SqlError, SqlState } from '../errors.js';
import { CatalogSnapshot } from './catalog_snapshot.js';
import { decodeDescriptor, readAllDescriptors, readSchemaVersion } from './catalog_store.js';
import type { Descriptor } from './descriptors.js';
import { descriptorKey, versionLogKey } from './keys.js';
import { keyId, type KvReader } from './kv.js';

/** How often a gateway reads the schema version. */
export const SCHEMA_POLL_MS = 200;
/** A gateway's copy older than this may not be used to commit writes (it reloads first). */
export const SCHEMA_LEASE_MS = 1_000;
/** Loads a commit tries before it gives up on confirming the schema is current. */
const FRESHNESS_ATTEMPTS = 3;
/** Versions behind beyond which a gateway reloads the whole catalog rather than the changes. */
const MAX_INCREMENTAL_VERSIONS = 256n;

export interface SchemaCacheOptions {
  /** A reader at a fresh timestamp (a snapshot taken now). */
  readonly freshReader: () => Promise<KvReader>;
  /** The current time in ms (the timestamp oracle's physical clock). */
  readonly now?: () => number;
  readonly onError?: (err: unknown) => void;
}

export class SchemaCache {
  private current: CatalogSnapshot = new CatalogSnapshot(-1n, []);
  /** When (ms) the version `current` has was last confirmed as the newest. */
  private confirmedAtMs = 0;
  private loading: Promise<CatalogSnapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /** Changed-descriptor ids per version, for validateForCommit (bounded to recent versions). */
  private readonly recentChanges = new Map<bigint, readonly number[]>();

  constructor(private readonly options: SchemaCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  get snapshot(): CatalogSnapshot {
    return this.current;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.refresh().catch((err) => this.options.onError?.(err));
    }, SCHEMA_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the version and reloads if it moved. Concurrent callers share one load. */
  async refresh(): Promise<CatalogSnapshot> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<CatalogSnapshot> {
    const started = this.now();
    const reader = await this.options.freshReader();
    const version = await readSchemaVersion(reader);
    if (version !== this.current.version) {
      const previous = this.current;
      const incremental = previous.version >= 0n && version > previous.version && version - previous.version <= MAX_INCREMENTAL_VERSIONS;
      const next = incremental ? await this.loadChanges(reader, previous, version) : undefined;
      if (next !== undefined) {
        if (version > this.current.version) this.current = next;
      } else {
        const descriptors = await readAllDescriptors(reader);
        const full = new CatalogSnapshot(version, descriptors);
        if (previous.version >= 0n) {
          const changed: number[] = [];
          const before = new Map(previous.all().map((d) => [d.id, d.version]));
          for (const d of descriptors) if (before.get(d.id) !== d.version) changed.push(d.id);
          for (const id of before.keys()) if (full.get(id) === undefined) changed.push(id);
          this.noteChanges(version, changed);
        }
        if (version > this.current.version || this.current.version < 0n) this.current = full;
      }
    }
    this.confirmedAtMs = Math.max(this.confirmedAtMs, started);
    return this.current;
  }

  /**
   * Reads only what changed since `previous`: the version log names the descriptors each version
   * touched. A whole reload would walk every version of every descriptor ever dropped.
   */
  private async loadChanges(reader: KvReader, previous: CatalogSnapshot, version: bigint): Promise<CatalogSnapshot | undefined> {
    const logKeys: Uint8Array[] = [];
    for (let v = previous.version + 1n; v <= version; v++) logKeys.push(versionLogKey(v));
    const logs = await reader.batchGet(logKeys);
    const ids = new Set<number>();
    const perVersion: Array<[bigint, number[]]> = [];
    for (let i = 0; i < logKeys.length; i++) {
      const raw = logs.get(keyId(logKeys[i]!));
      if (raw === undefined) return undefined;
      let changed: number[];
      try {
        changed = JSON.parse(new TextDecoder().decode(raw)) as number[];
      } catch {
        return undefined;
      }
      perVersion.push([previous.version + 1n + BigInt(i), changed]);
      for (const id of changed) ids.add(id);
    }
    const keys = [...ids].map((id) => descriptorKey(id));
    const found = keys.length === 0 ? new Map<string, Uint8Array>() : await reader.batchGet(keys);
    const changed: Descriptor[] = [];
    const removed: number[] = [];
    for (const id of ids) {
      const raw = found.get(keyId(descriptorKey(id)));
      if (raw === undefined) removed.push(id);
      else changed.push(decodeDescriptor(raw));
    }
    for (const [v, list] of perVersion) this.noteChanges(v, list);
    return new CatalogSnapshot(version, [...previous.withChanges(changed, removed).all()]);
  }

  private noteChanges(version: bigint, ids: readonly number[]): void {
    this.recentChanges.set(version, ids);
    // Keep the last few hundred versions: enough for any transaction within its lease.
    if (this.recentChanges.size > 512) {
      const oldest = [...this.recentChanges.keys()].sort((a, b) => (a < b ? -1 : 1)).slice(0, this.recentChanges.size - 512);
      for (const v of oldest) this.recentChanges.delete(v);
    }
  }

  /** Installs a snapshot this gateway just committed (its own schema change). */
  install(next: CatalogSnapshot, changedIds: readonly number[]): void {
    if (next.version > this.current.version) {
      this.noteChanges(next.version, changedIds);
      this.current = next;
      this.confirmedAtMs = this.now();
    }
  }

  /** The snapshot, reloaded first if it is older than the lease. */
  async fresh(): Promise<CatalogSnapshot> {
    if (this.now() - this.confirmedAtMs > SCHEMA_LEASE_MS) await this.refresh();
    return this.current;
  }

  /**
   * Before a transaction that planned its statements at schema version `plannedAt` and wrote to
   * the tables `written` commits: the copy must be fresh, and none of those tables may have changed
   * in a later version (the transaction would have written under rules no longer in force).
   * Throws a retryable 40001 otherwise.
   */
  async validateForCommit(plannedAt: bigint, written: ReadonlySet<number>): Promise<void> {
    if (written.size === 0) return;
    let snap = await this.fresh();
    // A load that began before a long busy stretch of this process ends stale: load again.
    for (let i = 0; i < FRESHNESS_ATTEMPTS && this.now() - this.confirmedAtMs > SCHEMA_LEASE_MS; i++) {
      await this.loading?.catch(() => {});
      snap = await this.refresh();
    }
    if (this.now() - this.confirmedAtMs > SCHEMA_LEASE_MS) {
      throw new SqlError(SqlState.serializationFailure, 'restart transaction: the schema could not be confirmed current', {
        hint: 'The catalog could not be read within the schema lease; retry the transaction.',
      });
    }
    for (let v = plannedAt + 1n; v <= snap.version; v++) {
      const ids = this.recentChanges.get(v);
      if (ids === undefined) {
        throw new SqlError(SqlState.serializationFailure, 'restart transaction: the schema changed while the transaction ran');
      }
      for (const id of ids) {
        if (written.has(id)) {
          const name = snap.table(id)?.name ?? String(id);
          throw new SqlError(SqlState.serializationFailure, `restart transaction: table "${name}" was changed by a concurrent schema change`);
        }
      }
    }
  }
}
