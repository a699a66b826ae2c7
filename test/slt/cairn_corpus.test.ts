// The whole sqllogictest corpus (../shared/corpora/sqllogictest: SQLite's and RisingLight's
// files) against a three-node Cairn cluster, through the runner's command line exactly as
// `npm run test:slt -- --url ...` runs it. The per-file table is printed; the test asks for at least
// 95% of the records that ran to pass.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster, REPO, ensureBuilt, type ProcNode } from '../cluster/harness.js';

const MIN_PASS_PERCENT = 95;
/** The corpus takes a few minutes; this bounds a run that hangs. */
const RUN_TIMEOUT_MS = 40 * 60_000;

const cluster = new ProcessCluster({ 'log-level': 'warn' });
let nodes: ProcNode[] = [];
let failed = false;

describe('the sqllogictest corpus on Cairn', () => {
  beforeAll(async () => {
    ensureBuilt();
    await cluster.setup();
    nodes = [await cluster.define('n1'), await cluster.define('n2'), await cluster.define('n3')];
    cluster.joinList = nodes.map((n) => n.grpc);
    for (const n of nodes) cluster.start(n);
    for (const n of nodes) {
      for (let i = 0; i < 300; i++) {
        try {
          if ((await cluster.http(n, '/health')).status === 200) break;
        } catch {
          // not up yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(cluster.cli(['init', `--host=${nodes[0]!.grpc}`]).status).toBe(0);
    for (const n of nodes) await cluster.waitReady(n);
  }, 180_000);

  afterAll(async () => {
    if (failed) process.stdout.write(`slt cluster logs kept in ${cluster.rootDir}\n`);
    await cluster.close(failed);
  });

  it(`passes at least ${MIN_PASS_PERCENT}% of the records`, async () => {
    const [host, port] = nodes[0]!.sql.split(':');
    const args = [
      join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
      join(REPO, 'test', 'slt', 'cli.ts'),
      '--url',
      `postgresql://root@${host}:${port}/defaultdb`,
      '--jobs',
      '2',
      '--summary',
    ];
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString('utf8');
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('the corpus run timed out'));
      }, RUN_TIMEOUT_MS);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout });
      });
    });
    process.stdout.write(out.stdout);
    const total = /^total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+).*pass ([\d.]+)%/m.exec(out.stdout);
    if (total === null) failed = true;
    expect(total).not.toBeNull();
    const pass = Number(total![5]);
    if (pass < MIN_PASS_PERCENT) failed = true;
    expect(Number(total![2])).toBeGreaterThan(50_000);
    expect(pass).toBeGreaterThanOrEqual(MIN_PASS_PERCENT);
  }, RUN_TIMEOUT_MS + 60_000);
});
