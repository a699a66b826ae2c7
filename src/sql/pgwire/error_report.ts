// What an ErrorResponse or NoticeResponse carries, and how anything a Session throws becomes one.
// A SqlError keeps its SQLSTATE and fields; anything else is a bug behind pgwire: the client sees
// XX000 "internal error: <message>" and the error itself goes to the log.

import { isSqlError, SqlState, type Severity } from '../errors.js';
import type { Notice } from './session_api.js';

export interface ErrorReport {
  readonly severity: Severity;
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
  /** 1-based character position in the statement text. */
  readonly position?: number;
  readonly schema?: string;
  readonly table?: string;
  readonly column?: string;
  readonly dataType?: string;
  readonly constraint?: string;
}

/** The ErrorResponse / NoticeResponse field codes (protocol "Error and Notice Message Fields"). */
export const ErrorField = {
  severity: 0x53, // 'S', localized
  severityNonLocalized: 0x56, // 'V'
  code: 0x43, // 'C'
  message: 0x4d, // 'M'
  detail: 0x44, // 'D'
  hint: 0x48, // 'H'
  position: 0x50, // 'P'
  schema: 0x73, // 's'
  table: 0x74, // 't'
  column: 0x63, // 'c'
  dataType: 0x64, // 'd'
  constraint: 0x6e, // 'n'
} as const;

export interface ReportedError {
  readonly report: ErrorReport;
  /** True when the error was not a SqlError: a bug to log, not a client mistake. */
  readonly internal: boolean;
}

export function reportError(error: unknown): ReportedError {
  if (isSqlError(error)) {
    const f = error.fields;
    return {
      report: {
        severity: error.severity,
        code: error.code,
        message: error.message,
        ...(f.detail === undefined ? {} : { detail: f.detail }),
        ...(f.hint === undefined ? {} : { hint: f.hint }),
        ...(f.position === undefined ? {} : { position: f.position }),
        ...(f.schema === undefined ? {} : { schema: f.schema }),
        ...(f.table === undefined ? {} : { table: f.table }),
        ...(f.column === undefined ? {} : { column: f.column }),
        ...(f.dataType === undefined ? {} : { dataType: f.dataType }),
        ...(f.constraint === undefined ? {} : { constraint: f.constraint }),
      },
      internal: false,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { report: { severity: 'ERROR', code: SqlState.internalError, message: `internal error: ${message}` }, internal: true };
}

/** True for the severities after which PostgreSQL ends the session. */
export function endsSession(severity: Severity): boolean {
  return severity === 'FATAL' || severity === 'PANIC';
}

export function noticeReport(notice: Notice): ErrorReport {
  return {
    severity: notice.severity,
    code: notice.code,
    message: notice.message,
    ...(notice.detail === undefined ? {} : { detail: notice.detail }),
    ...(notice.hint === undefined ? {} : { hint: notice.hint }),
  };
}
