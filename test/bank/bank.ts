// The bank workload on a real three-node cluster: accounts spread over several Regions, concurrent
// clients moving random amounts between random accounts in transactions, concurrent snapshot
// readers checking that the total never changes and no balance goes negative, a node killed with
// SIGKILL midway and restarted, and some coordinators "dying" after prewrite so their locks must be
// resolved by whoever meets them. At the end every acknowledged transfer must be reflected, and the
// balances must equal the initial ones plus the acknowledged transfers plus some subset of those
// whose outcome the client could not know (each applied whole or not at all).
import { CommitUncertainError, TxnClient, type PdClient } from '../../src/client/index.js';
import { ProcessCluster, type ProcNode, ensureBuilt, waitUntil } from '../cluster/harness.js';

export interface BankOptions {
  readonly seconds: number;
  readonly accounts: number;
  readonly clients: number;
  readonly readers: number;
  readonly initialBalance: number;
  /** Share of transfers whose coordinator gives up after prewrite (locks left behind). */
  readonly abandonRate: number;
  readonly log: (line: string) => void;
}

export interface BankResult {
  readonly transfers: number;
  readonly failed: number;
  /** Failed transfers by error code. */
  readonly failures: Record<string, number>;
  readonly uncertain: number;
  readonly abandoned: number;
  readonly reads: number;
  readonly kills: number;
  readonly anomalies: number;
  readonly anomalyDetails: string[];
  readonly totalConstant: boolean;
  readonly regionsAtStart: number;
  readonly seconds: number;
  readonly transfersPerSecond: number;
  readonly latency: { onePc: Percentiles; twoPc: Percentiles };
  readonly line: string;
}

interface Percentiles {
  count: number;
  p50: number;
  p99: number;
}

interface Transfer {
  readonly from: number;
  readonly to: number;
  readonly amount: number;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const accountKey = (i: number): Uint8Array => enc(`acct/${String(i).padStart(6, '0')}`);
const ACCOUNTS_START = enc('acct/');
const ACCOUNTS_END = enc('acct0');

function percentiles(samples: number[]): Percentiles {
  if (samples.length === 0) return { count: 0, p50: 0, p99: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99) };
}

export async function runBank(options: BankOptions): Promise<BankResult> {
  const { log } = options;
  ensureBuilt();
  const cluster = new ProcessCluster({
    'raft-tick-interval': '100ms',
    'raft-election-ticks': '10',
    'store-down-timeout': '5m',
    // Garbage collection runs during the test too, under the transfers, reads and the kill.
    'gc-ttl': '15s',
    // Each account holds a lock, a data and a write record per version: the accounts start over
    // several Regions and keep splitting as versions pile up.
    'region-split-keys': String(Math.max(64, Math.floor(options.accounts / 2))),
    'log-level': 'info',
  });
  let keep = false;
  const clients: TxnClient[] = [];
  try {
    await cluster.setup();
    const nodes: ProcNode[] = [];
    for (const name of ['n1', 'n2', 'n3']) nodes.push(await cluster.define(name));
    cluster.joinList = nodes.map((n) => n.grpc);
    for (const n of nodes) cluster.start(n);
    for (const n of nodes) {
      await waitUntil(() => cluster.http(n, '/health').then((r) => r.status === 200, () => false), 30_000, `${n.name} to be alive`);
    }
    const init = cluster.cli(['init', `--host=${nodes[0]!.grpc}`]);
    if (init.status !== 0) throw new Error(`cairn init failed: ${init.stderr}`);
    for (const n of nodes) await cluster.waitReady(n);
    const { kv, pd } = cluster.kvClient();
    const newClient = (abandon: boolean): TxnClient => {
      const c = new TxnClient(kv, pd, { abandonAfterPrewrite: abandon, lockTtlMs: 3_000 });
      clients.push(c);
      return c;
    };
    const txns = newClient(false);

    // Load: every account at the initial balance, a few accounts per transaction.
    const total = options.accounts * options.initialBalance;
    for (let i = 0; i < options.accounts; i += 25) {
      await txns.run(async (t) => {
        for (let j = i; j < Math.min(options.accounts, i + 25); j++) t.put(accountKey(j), enc(String(options.initialBalance)));
      });
    }
    await txns.flush();
    const regionsAtStart = await waitForRegions(pd, 4, log);
    log(`bank: ${options.accounts} accounts loaded (total ${total}) over ${regionsAtStart} regions`);

    // ---- the run ----
    const acknowledged: Transfer[] = [];
    const uncertain: Transfer[] = [];
    let failed = 0;
    const failures: Record<string, number> = {};
    const fail = (err: unknown): void => {
      failed++;
      const code = (err as { code?: string }).code ?? (err instanceof Error ? err.constructor.name : 'unknown');
      failures[code] = (failures[code] ?? 0) + 1;
    };
    let abandoned = 0;
    let reads = 0;
    let anomalies = 0;
    const anomalyDetails: string[] = [];
    const onePcMs: number[] = [];
    const twoPcMs: number[] = [];
    let stop = false;
    const started = Date.now();
    const endAt = started + options.seconds * 1000;

    const transferLoop = async (id: number): Promise<void> => {
      const normal = newClient(false);
      const dying = newClient(true);
      let seed = id * 7919 + 17;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      while (!stop && Date.now() < endAt) {
        const from = rand(options.accounts);
        let to = rand(options.accounts - 1);
        if (to >= from) to++;
        const amount = 1 + rand(50);
        const abandon = Math.random() < options.abandonRate;
        const client = abandon ? dying : normal;
        const txn = await client.begin().catch((err: unknown) => {
          fail(err);
          return undefined;
        });
        if (txn === undefined) continue;
        let transfer: Transfer | undefined;
        try {
          const balances = await txn.batchGet([accountKey(from), accountKey(to)]);
          const a = Number(dec(balances.get(Buffer.from(accountKey(from)).toString('latin1')) ?? enc('NaN')));
          const b = Number(dec(balances.get(Buffer.from(accountKey(to)).toString('latin1')) ?? enc('NaN')));
          if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`account missing: ${from}=${a} ${to}=${b}`);
          const moved = Math.min(amount, a);
          transfer = { from, to, amount: moved };
          txn.put(accountKey(from), enc(String(a - moved)));
          txn.put(accountKey(to), enc(String(b + moved)));
          const t0 = performance.now();
          await txn.commit();
          const ms = performance.now() - t0;
          (txn.commitKind === 'onePc' ? onePcMs : twoPcMs).push(ms);
          acknowledged.push(transfer);
        } catch (err) {
          if (err instanceof CommitUncertainError && transfer) uncertain.push(transfer);
          else if (abandon && transfer) abandoned++;
          else fail(err);
          await txn.rollback().catch(() => {});
        }
      }
    };

    const readLoop = async (): Promise<void> => {
      while (!stop && Date.now() < endAt) {
        try {
          const ts = await txns.timestamp();
          const pairs = await txns.snapshot(ts).scan(ACCOUNTS_START, ACCOUNTS_END, options.accounts + 1);
          let sum = 0;
          let negative = 0;
          for (const p of pairs) {
            const v = Number(dec(p.value));
            if (v < 0) negative++;
            sum += v;
          }
          reads++;
          if (pairs.length !== options.accounts || sum !== total || negative > 0) {
            anomalies++;
            if (anomalyDetails.length < 10) anomalyDetails.push(`read at ${ts}: ${pairs.length} accounts, sum ${sum} (expected ${total}), ${negative} negative`);
          }
        } catch (err) {
          log(`bank: read failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    };

    const chaos = async (): Promise<number> => {
      await sleep((options.seconds * 1000) / 3);
      if (stop) return 0;
      const victim = await busiestNode(cluster, nodes);
      log(`bank: kill -9 ${victim.name} at ${Math.round((Date.now() - started) / 1000)} s (${acknowledged.length} transfers so far)`);
      await cluster.kill9(victim);
      await sleep(Math.min(8_000, (options.seconds * 1000) / 6));
      log(`bank: restarting ${victim.name}`);
      cluster.start(victim);
      await cluster.waitReady(victim);
      return 1;
    };

    const workers = [
      ...Array.from({ length: options.clients }, (_, i) => transferLoop(i + 1)),
      ...Array.from({ length: options.readers }, () => readLoop()),
    ];
    const kills = await chaos();
    await Promise.all(workers);
    stop = true;
    const seconds = (Date.now() - started) / 1000;
    for (const c of clients) await c.flush();

    // ---- final check: every lock resolved by reading, balances explained by the transfers ----
    const finalTs = await txns.timestamp();
    const final = await txns.snapshot(finalTs).scan(ACCOUNTS_START, ACCOUNTS_END, options.accounts + 1);
    const balances = final.map((p) => Number(dec(p.value)));
    const finalSum = balances.reduce((a, b) => a + b, 0);
    const totalConstant = final.length === options.accounts && finalSum === total && anomalies === 0;
    if (final.length !== options.accounts || finalSum !== total) {
      anomalies++;
      anomalyDetails.push(`final read: ${final.length} accounts, sum ${finalSum}`);
    }
    const expected = new Array<number>(options.accounts).fill(options.initialBalance);
    for (const t of acknowledged) {
      expected[t.from]! -= t.amount;
      expected[t.to]! += t.amount;
    }
    if (!explainedBySubset(balances, expected, uncertain)) {
      anomalies++;
      anomalyDetails.push(`final balances are not the acknowledged transfers plus a subset of the ${uncertain.length} uncertain ones`);
    }
    const latency = { onePc: percentiles(onePcMs), twoPc: percentiles(twoPcMs) };
    const line = `bank: transfers=${acknowledged.length} reads=${reads} kills=${kills} total-constant=${totalConstant ? 'yes' : 'no'} anomalies=${anomalies}`;
    keep = anomalies > 0 || process.env.CAIRN_KEEP_LOGS === '1';
    if (keep) log(`bank: logs kept in ${cluster.rootDir}`);
    return {
      transfers: acknowledged.length,
      failed,
      failures,
      uncertain: uncertain.length,
      abandoned,
      reads,
      kills,
      anomalies,
      anomalyDetails,
      totalConstant,
      regionsAtStart,
      seconds,
      transfersPerSecond: acknowledged.length / seconds,
      latency,
      line,
    };
  } catch (err) {
    keep = true;
    log(`bank: logs kept in ${cluster.rootDir}`);
    throw err;
  } finally {
    await cluster.close(keep);
  }
}

/** True when balances = expected + the effect of some subset of `uncertain` (at most 2^16 tried). */
function explainedBySubset(balances: readonly number[], expected: readonly number[], uncertain: readonly Transfer[]): boolean {
  if (uncertain.length > 16) return false;
  const diff = balances.map((b, i) => b - expected[i]!);
  for (let mask = 0; mask < 1 << uncertain.length; mask++) {
    const d = [...diff];
    uncertain.forEach((t, i) => {
      if (mask & (1 << i)) {
        d[t.from]! += t.amount;
        d[t.to]! -= t.amount;
      }
    });
    if (d.every((x) => x === 0)) return true;
  }
  return false;
}

async function waitForRegions(pd: PdClient, atLeast: number, log: (line: string) => void): Promise<number> {
  let count = 0;
  await waitUntil(
    async () => {
      const regions = await pd.scanRegions(ACCOUNTS_START, ACCOUNTS_END, 0);
      count = regions.length;
      return count >= atLeast;
    },
    60_000,
    `the accounts to span ${atLeast} regions`,
    500,
  ).catch((err: unknown) => {
    log(`bank: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  });
  return count;
}

async function busiestNode(cluster: ProcessCluster, nodes: ProcNode[]): Promise<ProcNode> {
  let best = nodes[0]!;
  let most = -1;
  for (const n of nodes) {
    const status = await cluster.nodeStatus(n).catch(() => undefined);
    if (status && status.leaders > most) {
      most = status.leaders;
      best = n;
    }
  }
  return best;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

