// Test fixtures: a pgwire server in front of the fake Session on a free loopback port, with a
// logger that keeps what it is told, and node-postgres clients aimed at it or at a real
// PostgreSQL.

import pg from 'pg';
import type { PgLimits } from '../../../src/sql/pgwire/limits.js';
import type { PgLogger } from '../../../src/sql/pgwire/logger.js';
import { PgServer } from '../../../src/sql/pgwire/server.js';
import { FakeSessionFactory, type FakeFactoryOptions } from './fake_session.js';

export interface LogRecord {
  readonly level: 'error' | 'warn' | 'debug';
  readonly message: string;
  readonly fields: Record<string, unknown> | undefined;
}

export interface FakeServer {
  readonly server: PgServer;
  readonly factory: FakeSessionFactory;
  readonly port: number;
  readonly logs: LogRecord[];
  stop(graceMs?: number): Promise<void>;
}

export async function startFakeServer(
  options: { limits?: Partial<PgLimits>; factory?: FakeFactoryOptions } = {},
): Promise<FakeServer> {
  const logs: LogRecord[] = [];
  const logger: PgLogger = {
    error: (message, fields) => logs.push({ level: 'error', message, fields }),
    warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
    debug: (message, fields) => logs.push({ level: 'debug', message, fields }),
  };
  const factory = new FakeSessionFactory(options.factory);
  const server = await PgServer.listen({ host: '127.0.0.1', port: 0, factory, logger, ...(options.limits ? { limits: options.limits } : {}) });
  return { server, factory, port: server.address().port, logs, stop: (graceMs = 1_000) => server.close(graceMs) };
}

export interface Target {
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

export async function pgClient(target: Target, config: pg.ClientConfig = {}): Promise<pg.Client> {
  const client = new pg.Client({ host: '127.0.0.1', port: target.port, user: target.user, database: target.database, ...config });
  await client.connect();
  return client;
}

/** Waits until check() holds, polling; fails after timeoutMs. */
export async function eventually(check: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
