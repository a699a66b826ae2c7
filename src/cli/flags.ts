// Parsing of command-line values. Every parser throws a UsageError naming the flag and what it
// expected, so a bad flag prints one line of usage, never a stack trace.

export class UsageError extends Error {
  readonly code = 'Usage';
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** "host:port", ":port" (all interfaces) or "[v6]:port". */
export function parseHostPort(flag: string, value: string, defaultHost = '0.0.0.0'): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  if (!m) throw new UsageError(`--${flag} must be HOST:PORT (or :PORT), got "${value}"`);
  const host = m[1] ?? (m[2] === '' ? defaultHost : m[2]!);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new UsageError(`--${flag}: port ${port} is outside 1-65535`);
  return { host, port };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "250ms", "5s", "2m", "1h", or a bare number of milliseconds. */
export function parseDurationMs(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new UsageError(`--${flag} must be a duration such as 500ms, 5s or 2m, got "${value}"`);
  const ms = Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms']!;
  if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`--${flag} must be positive, got "${value}"`);
  return Math.round(ms);
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kib: 1 << 10, kb: 1000, mib: 1 << 20, mb: 1_000_000, gib: 1 << 30, gb: 1_000_000_000 };

/** "4096", "64KiB", "96MiB", "1GiB" (also KB/MB/GB in powers of ten). */
export function parseBytes(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) throw new UsageError(`--${flag} must be a size such as 4096, 64KiB or 96MiB, got "${value}"`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new UsageError(`--${flag} must be positive, got "${value}"`);
  return bytes;
}

export function parsePositiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`--${flag} must be a positive integer, got "${value}"`);
  }
  return n;
}

/** A comma-separated list of HOST:PORT addresses. */
export function parseAddressList(flag: string, value: string): string[] {
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (parts.length === 0) throw new UsageError(`--${flag} needs at least one HOST:PORT`);
  for (const p of parts) {
    const hp = parseHostPort(flag, p, '');
    if (hp.host === '') throw new UsageError(`--${flag}: "${p}" needs a host`);
  }
  if (new Set(parts).size !== parts.length) throw new UsageError(`--${flag} lists an address twice`);
  return parts;
}

export function parseLogLevel(value: string): 'debug' | 'info' | 'warn' | 'error' {
  if (value === 'debug' || value === 'info' || value === 'warn' || value === 'error') return value;
  throw new UsageError(`--log-level must be one of debug, info, warn, error, got "${value}"`);
}
