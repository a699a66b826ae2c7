// Reading and writing catalog records in a transaction (layout in keys.ts). Every schema change
// writes its descriptors, their names and a bumped cluster-wide schema version in the same
// transaction as the change itself, so a schema change is atomic and its version orders it.
import { SqlError, SqlState } from '../errors.js';
import type { Descriptor, DatabaseDescriptor, SchemaDescriptor } from './descriptors.js';
import { FIRST_USER_ID, SystemIds } from './descriptors.js';
import {
  DESCRIPTOR_ID_KEY,
  DESCRIPTOR_RANGE,
  SCHEMA_VERSION_KEY,
  descriptorKey,
  encodeU32,
  encodeU64,
  nameKey,
  readU32,
  readU64,
  versionLogKey,
} from './keys.js';
import type { KvReader, KvWriter } from './kv.js';

/** Descriptors read per scan request when loading the whole catalog. */
const DESCRIPTOR_SCAN_PAGE = 1024;
/** A catalog larger than this is refused rather than loaded into every gateway's memory. */
export const MAX_DESCRIPTORS = 100_000;

const enc = new TextEncoder();
const dec = new TextDecoder();

function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? { $bigint: value.toString() } : value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && '$bigint' in (value as Record<string, unknown>)) return BigInt((value as { $bigint: string }).$bigint);
  return value;
}

export function encodeDescriptor(d: Descriptor): Uint8Array {
  return enc.encode(JSON.stringify(d, replacer));
}

export function decodeDescriptor(bytes: Uint8Array): Descriptor {
  let d: Descriptor;
  try {
    d = JSON.parse(dec.decode(bytes), reviver) as Descriptor;
  } catch (err) {
    throw new SqlError(SqlState.dataCorrupted, `a catalog descriptor cannot be decoded: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof d !== 'object' || d === null || typeof d.id !== 'number' || typeof d.kind !== 'string') {
    throw new SqlError(SqlState.dataCorrupted, 'a catalog descriptor has an unexpected shape');
  }
  return d;
}

export async function readDescriptor(r: KvReader, id: number): Promise<Descriptor | undefined> {
  const v = await r.get(descriptorKey(id));
  return v === undefined ? undefined : decodeDescriptor(v);
}

export async function readAllDescriptors(r: KvReader): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  let start = DESCRIPTOR_RANGE.start;
  for (;;) {
    const page = await r.scan(start, DESCRIPTOR_RANGE.end, DESCRIPTOR_SCAN_PAGE);
    for (const p of page) out.push(decodeDescriptor(p.value));
    if (out.length > MAX_DESCRIPTORS) throw new SqlError(SqlState.programLimitExceeded, `the catalog holds more than ${MAX_DESCRIPTORS} objects`);
    if (page.length < DESCRIPTOR_SCAN_PAGE) return out;
    const last = page[page.length - 1]!.key;
    start = new Uint8Array([...last, 0]);
  }
}

export async function lookupName(r: KvReader, parentId: number, schemaId: number, name: string): Promise<number | undefined> {
  const v = await r.get(nameKey(parentId, schemaId, name));
  return v === undefined ? undefined : readU32(v);
}

export function writeDescriptor(w: KvWriter, d: Descriptor): void {
  w.put(descriptorKey(d.id), encodeDescriptor(d));
}

export function deleteDescriptor(w: KvWriter, id: number): void {
  w.delete(descriptorKey(id));
}

/** Claims a name; the commit fails (KeyExistsError) if another transaction claimed it first. */
export function claimName(w: KvWriter, parentId: number, schemaId: number, name: string, id: number): void {
  w.insert(nameKey(parentId, schemaId, name), encodeU32(id));
}

export function releaseName(w: KvWriter, parentId: number, schemaId: number, name: string): void {
  w.delete(nameKey(parentId, schemaId, name));
}

export async function readSchemaVersion(r: KvReader): Promise<bigint> {
  const v = await r.get(SCHEMA_VERSION_KEY);
  return v === undefined ? 0n : readU64(v);
}

/**
 * Bumps the schema version and logs which descriptors changed. Two schema changes at once
 * conflict on the version key, so one of them retries: changes are serialized.
 */
export async function bumpSchemaVersion(w: KvWriter, changed: readonly number[]): Promise<bigint> {
  const next = (await readSchemaVersion(w)) + 1n;
  w.put(SCHEMA_VERSION_KEY, encodeU64(next));
  w.put(versionLogKey(next), enc.encode(JSON.stringify(changed)));
  return next;
}

/** Hands out `count` consecutive descriptor ids. */
export async function allocateDescriptorIds(w: KvWriter, count: number): Promise<number> {
  const v = await w.get(DESCRIPTOR_ID_KEY);
  const first = v === undefined ? FIRST_USER_ID : Number(readU64(v));
  w.put(DESCRIPTOR_ID_KEY, encodeU64(BigInt(first + count)));
  return first;
}

/** The databases and schemas every cluster starts with. Idempotent: does nothing if present. */
export async function bootstrapCatalog(w: KvWriter): Promise<boolean> {
  if ((await w.get(SCHEMA_VERSION_KEY)) !== undefined) return false;
  const base = { version: 1, modifiedAtSchemaVersion: 1 };
  const dbs: Array<[DatabaseDescriptor, SchemaDescriptor]> = [
    [
      { kind: 'database', id: SystemIds.systemDatabase, name: 'system', ...base },
      { kind: 'schema', id: SystemIds.systemPublicSchema, name: 'public', databaseId: SystemIds.systemDatabase, ...base },
    ],
    [
      { kind: 'database', id: SystemIds.defaultDatabase, name: 'defaultdb', ...base },
      { kind: 'schema', id: SystemIds.defaultPublicSchema, name: 'public', databaseId: SystemIds.defaultDatabase, ...base },
    ],
    [
      { kind: 'database', id: SystemIds.postgresDatabase, name: 'postgres', ...base },
      { kind: 'schema', id: SystemIds.postgresPublicSchema, name: 'public', databaseId: SystemIds.postgresDatabase, ...base },
    ],
  ];
  const ids: number[] = [];
  for (const [db, schema] of dbs) {
    writeDescriptor(w, db);
    claimName(w, 0, 0, db.name, db.id);
    writeDescriptor(w, schema);
    claimName(w, db.id, 0, schema.name, schema.id);
    ids.push(db.id, schema.id);
  }
  w.put(DESCRIPTOR_ID_KEY, encodeU64(BigInt(FIRST_USER_ID)));
  w.put(SCHEMA_VERSION_KEY, encodeU64(1n));
  w.put(versionLogKey(1n), enc.encode(JSON.stringify(ids)));
  return true;
}
