// Garbage collection of MVCC versions on a real three-node cluster with a short --gc-ttl: old
// versions go, the newest version at the safe point and everything after it stay, and a read below
// the safe point is refused rather than answered from what is left.
import { ClassicLevel } from 'classic-level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TxnClient, TxnTooOldError } from '../../src/client/index.js';
import { RecordTag, parseKey, userRange } from '../../src/kv/keys.js';
import { ProcessCluster, ensureBuilt, waitUntil, type ProcNode } from '../cluster/harness.js';

const GC_TTL_MS = 3_000;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

const cluster = new ProcessCluster({ 'gc-ttl': `${GC_TTL_MS}ms`, 'log-level': 'info' });
let nodes: ProcNode[] = [];
let txns: TxnClient;
let failed = false;

describe('MVCC garbage collection', () => {
  beforeAll(async () => {
    ensureBuilt();
    await cluster.setup();
    nodes = [await cluster.define('n1'), await cluster.define('n2'), await cluster.define('n3')];
    cluster.joinList = nodes.map((n) => n.grpc);
    for (const n of nodes) cluster.start(n);
    for (const n of nodes) await waitUntil(() => cluster.http(n, '/health').then((r) => r.status === 200, () => false), 30_000, `${n.name} alive`);
    expect(cluster.cli(['init', `--host=${nodes[0]!.grpc}`]).status).toBe(0);
    for (const n of nodes) await cluster.waitReady(n);
    const { kv, pd } = cluster.kvClient();
    txns = new TxnClient(kv, pd);
  }, 120_000);

  afterAll(async () => {
    const keep = failed || process.env.CAIRN_KEEP_LOGS === '1';
    if (keep) process.stdout.write(`gc test logs kept in ${cluster.rootDir}\n`);
    await cluster.close(keep);
  });

  it('removes versions below the safe point, keeps what reads above it see, refuses reads below it', async () => {
    try {
      for (let i = 0; i < 20; i++) await txns.run(async (t) => t.put(enc('gc/counter'), enc(`v${i}`)));
      await txns.run(async (t) => t.put(enc('gc/deleted'), enc('soon gone')));
      await txns.run(async (t) => t.delete(enc('gc/deleted')));
      const oldTs = await txns.timestamp();
      expect(dec(await txns.snapshot(oldTs).get(enc('gc/counter')))).toBe('v19');

      // Once the safe point passes oldTs (TTL plus a store heartbeat and a collection round).
      await waitUntil(
        async () => {
          let removed = 0;
          for (const n of nodes) removed += ((await cluster.nodeStatus(n)) as unknown as { mvccGc: { removedVersions: number } }).mvccGc.removedVersions;
          return removed >= 20;
        },
        40_000,
        'garbage collection to remove the old versions',
        500,
      );
      await expect(txns.snapshot(oldTs).get(enc('gc/counter'))).rejects.toBeInstanceOf(TxnTooOldError);
      const now = txns.snapshot(await txns.timestamp());
      expect(dec(await now.get(enc('gc/counter')))).toBe('v19');
      expect(await now.get(enc('gc/deleted'))).toBeUndefined();
      // A new write after collection is visible as usual.
      await txns.run(async (t) => t.put(enc('gc/counter'), enc('after')));
      expect(dec(await txns.snapshot(await txns.timestamp()).get(enc('gc/counter')))).toBe('after');
    } catch (err) {
      failed = true;
      throw err;
    }
  }, 90_000);

  it('left one write record and one data record for the kept version on every replica', async () => {
    try {
      for (const n of nodes) await cluster.kill9(n);
      for (const n of nodes) {
        const db = new ClassicLevel<Uint8Array, Uint8Array>(n.dir, { keyEncoding: 'view', valueEncoding: 'view' });
        await db.open();
        try {
          const counts = { write: 0, data: 0, lock: 0 };
          const deletedKeyRecords: number[] = [];
          for await (const [k] of db.iterator(userRange(enc('gc/'), enc('gc0')))) {
            const parsed = parseKey(k);
            const name = new TextDecoder().decode(parsed.key);
            if (name === 'gc/deleted') deletedKeyRecords.push(parsed.tag);
            if (name !== 'gc/counter') continue;
            if (parsed.tag === RecordTag.Write) counts.write++;
            if (parsed.tag === RecordTag.Data) counts.data++;
            if (parsed.tag === RecordTag.Lock) counts.lock++;
          }
          // v19 (kept at the safe point) and "after" (written later); nothing else.
          expect({ node: n.name, ...counts }).toEqual({ node: n.name, write: 2, data: 2, lock: 0 });
          expect(deletedKeyRecords).toEqual([]);
        } finally {
          await db.close();
        }
      }
    } catch (err) {
      failed = true;
      throw err;
    }
  }, 60_000);
});
