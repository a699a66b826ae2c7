// Where pgwire reports what the client cannot be told: errors a Session threw that were not
// SqlErrors (bugs), and failures of the server itself. Structurally a subset of the node's
// structured logger (src/server/logger.ts), which the SQL layer may not import.

export interface PgLogger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  debug?(message: string, fields?: Record<string, unknown>): void;
}

export const SILENT_PG_LOGGER: PgLogger = { error() {} };
