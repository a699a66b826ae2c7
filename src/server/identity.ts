// What a data directory says about the node it belongs to: its cluster, its store id, and
// whether the cluster's bootstrap finished. Written once per step, synced, and checked at every
// start so that a directory is never used by another cluster.
import type { StorageEngine } from '../storage/engine.js';
import { storeIdentityKey } from '../storage/keys.js';

export interface NodeIdentity {
  /** 0 until the node is initialised or joins a cluster. */
  readonly clusterId: number;
  /** 0 until the placement driver assigns one. */
  readonly storeId: number;
  /** Set on the node that ran `cairn init` once the placement driver accepted the bootstrap. */
  readonly bootstrapped: boolean;
  /** Set on the node that started the bootstrap, so a crash midway resumes it. */
  readonly bootstrapping: boolean;
}

export const BLANK_IDENTITY: NodeIdentity = { clusterId: 0, storeId: 0, bootstrapped: false, bootstrapping: false };

export class IdentityError extends Error {
  readonly code = 'Identity';
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export async function readIdentity(engine: StorageEngine): Promise<NodeIdentity> {
  const raw = await engine.db.get(storeIdentityKey());
  if (raw === undefined) return BLANK_IDENTITY;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    throw new IdentityError(`the data directory ${engine.dir} holds an unreadable store identity record`);
  }
  const p = parsed as Record<string, unknown>;
  if (!isId(p.clusterId) || !isId(p.storeId) || typeof p.bootstrapped !== 'boolean') {
    throw new IdentityError(`the data directory ${engine.dir} holds a malformed store identity record`);
  }
  return { clusterId: p.clusterId, storeId: p.storeId, bootstrapped: p.bootstrapped, bootstrapping: p.bootstrapping === true };
}

export async function writeIdentity(engine: StorageEngine, identity: NodeIdentity): Promise<void> {
  const batch = engine.newBatch();
  batch.put(storeIdentityKey(), Buffer.from(JSON.stringify(identity), 'utf8'));
  await batch.commit({ sync: true });
}
