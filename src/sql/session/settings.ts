// Session settings (PostgreSQL's GUCs) that SET, SHOW, RESET and current_setting see. Each has a
// default, a validator that canonicalizes the value (or raises PostgreSQL's error), and a flag for
// those reported to the client in ParameterStatus when they change.
import { SqlError, SqlState } from '../errors.js';

export interface SettingDef {
  readonly name: string;
  readonly defaultValue: string;
  /** Sent in ParameterStatus at startup and after a change. */
  readonly reported?: boolean;
  /** Cannot be changed by SET. */
  readonly readOnly?: boolean;
  /** Returns the canonical value, or throws 22023. */
  readonly validate?: (value: string) => string;
  readonly description: string;
}

export const SERVER_VERSION = '15.0';
export const SERVER_VERSION_NUM = '150000';

function oneOf(name: string, allowed: readonly string[]): (v: string) => string {
  return (v) => {
    const lower = v.toLowerCase();
    const found = allowed.find((a) => a.toLowerCase() === lower);
    if (found === undefined) {
      throw new SqlError(SqlState.invalidParameterValue, `invalid value for parameter "${name}": "${v}"`, { hint: `Available values: ${allowed.join(', ')}.` });
    }
    return found;
  };
}

function boolSetting(name: string): (v: string) => string {
  return (v) => {
    const l = v.toLowerCase();
    if (['on', 'true', 'yes', '1', 't', 'y'].includes(l)) return 'on';
    if (['off', 'false', 'no', '0', 'f', 'n'].includes(l)) return 'off';
    throw new SqlError(SqlState.invalidParameterValue, `parameter "${name}" requires a Boolean value`);
  };
}

function intSetting(name: string, lo: number, hi: number): (v: string) => string {
  return (v) => {
    const n = Number(v.trim());
    if (!Number.isInteger(n)) throw new SqlError(SqlState.invalidParameterValue, `invalid value for parameter "${name}": "${v}"`);
    if (n < lo || n > hi) throw new SqlError(SqlState.invalidParameterValue, `${n} is outside the valid range for parameter "${name}" (${lo} .. ${hi})`);
    return String(n);
  };
}

/** Durations as PostgreSQL accepts them for timeouts: a number of ms, or with a unit (5s, 1min). */
function durationSetting(name: string): (v: string) => string {
  return (v) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)?\s*$/i.exec(v);
    if (!m) throw new SqlError(SqlState.invalidParameterValue, `invalid value for parameter "${name}": "${v}"`, { hint: 'Valid units for this parameter are "ms", "s", "min", "h", and "d".' });
    const factor = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms').toLowerCase() as 'ms'];
    return String(Math.round(Number(m[1]) * factor));
  };
}

function dateStyle(v: string): string {
  // "ISO, MDY", "iso", "dmy", "SQL, DMY" …: keep the style and the order, filling in the other.
  let style = 'ISO';
  let order = 'MDY';
  for (const part of v.split(',').map((p) => p.trim().toUpperCase()).filter((p) => p.length > 0)) {
    if (['ISO', 'SQL', 'POSTGRES', 'GERMAN'].includes(part)) style = part === 'POSTGRES' ? 'Postgres' : part === 'GERMAN' ? 'German' : part;
    else if (['MDY', 'DMY', 'YMD'].includes(part)) order = part;
    else if (part === 'US' || part === 'NONEURO' || part === 'NONEUROPEAN') order = 'MDY';
    else if (part === 'EURO' || part === 'EUROPEAN') order = 'DMY';
    else if (part === 'DEFAULT') {
      style = 'ISO';
      order = 'MDY';
    } else throw new SqlError(SqlState.invalidParameterValue, `invalid value for parameter "DateStyle": "${v}"`, { detail: `Unrecognized key word: "${part.toLowerCase()}".` });
  }
  return `${style}, ${order}`;
}

function timeZone(v: string): string {
  const t = v.trim();
  if (/^[+-]?\d+(\.\d+)?$/.test(t)) return t; // hours as a number (SET TIME ZONE -5)
  if (/^(UTC|GMT|Z)$/i.test(t)) return t.toUpperCase() === 'Z' ? 'UTC' : t.toUpperCase();
  if (/^(UTC|GMT)?[+-]\d{1,2}(:?\d{2})?$/i.test(t)) return t;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: t });
    return t;
  } catch {
    throw new SqlError(SqlState.invalidParameterValue, `invalid value for parameter "TimeZone": "${v}"`);
  }
}

const DEFS: SettingDef[] = [
  { name: 'application_name', defaultValue: '', reported: true, description: 'Sets the application name to be reported in statistics and logs.' },
  { name: 'client_encoding', defaultValue: 'UTF8', reported: true, validate: (v) => {
      const u = v.toUpperCase().replace(/[-_]/g, '');
      if (u === 'UTF8' || u === 'UNICODE') return 'UTF8';
      throw new SqlError(SqlState.featureNotSupported, `client encoding "${v}" is not supported`, { hint: 'Cairn speaks UTF8 only.' });
    }, description: "Sets the client's character set encoding." },
  { name: 'server_encoding', defaultValue: 'UTF8', reported: true, readOnly: true, description: 'Shows the server (database) character set encoding.' },
  { name: 'server_version', defaultValue: SERVER_VERSION, reported: true, readOnly: true, description: 'Shows the server version.' },
  { name: 'server_version_num', defaultValue: SERVER_VERSION_NUM, readOnly: true, description: 'Shows the server version as an integer.' },
  { name: 'datestyle', defaultValue: 'ISO, MDY', reported: true, validate: dateStyle, description: 'Sets the display format for date and time values.' },
  { name: 'intervalstyle', defaultValue: 'postgres', reported: true, validate: oneOf('IntervalStyle', ['postgres', 'postgres_verbose', 'sql_standard', 'iso_8601']), description: 'Sets the display format for interval values.' },
  { name: 'timezone', defaultValue: 'UTC', reported: true, validate: timeZone, description: 'Sets the time zone for displaying and interpreting time stamps.' },
  { name: 'integer_datetimes', defaultValue: 'on', reported: true, readOnly: true, description: 'Shows whether datetimes are integer based.' },
  { name: 'standard_conforming_strings', defaultValue: 'on', reported: true, validate: (v) => {
      if (boolSetting('standard_conforming_strings')(v) !== 'on') throw new SqlError(SqlState.featureNotSupported, 'standard_conforming_strings cannot be turned off');
      return 'on';
    }, description: "Causes '...' strings to treat backslashes literally." },
  { name: 'is_superuser', defaultValue: 'on', reported: true, readOnly: true, description: 'Shows whether the current user is a superuser.' },
  { name: 'session_authorization', defaultValue: 'root', reported: true, readOnly: true, description: 'Sets the session user name.' },
  { name: 'default_transaction_read_only', defaultValue: 'off', reported: true, validate: boolSetting('default_transaction_read_only'), description: 'Sets the default read-only status of new transactions.' },
  { name: 'in_hot_standby', defaultValue: 'off', reported: true, readOnly: true, description: 'Shows whether hot standby is currently active.' },
  { name: 'extra_float_digits', defaultValue: '1', validate: intSetting('extra_float_digits', -15, 3), description: 'Sets the number of digits displayed for floating-point values.' },
  { name: 'bytea_output', defaultValue: 'hex', validate: oneOf('bytea_output', ['hex', 'escape']), description: 'Sets the output format for bytea.' },
  { name: 'search_path', defaultValue: '"$user", public', validate: (v) => v, description: 'Sets the schema search order for names that are not schema-qualified.' },
  { name: 'database', defaultValue: 'defaultdb', validate: (v) => v, description: 'The current database (CockroachDB).' },
  { name: 'transaction_isolation', defaultValue: 'repeatable read', validate: (v) => isolation(v), description: "Sets the current transaction's isolation level." },
  { name: 'default_transaction_isolation', defaultValue: 'repeatable read', validate: (v) => isolation(v), description: 'Sets the transaction isolation level of each new transaction.' },
  { name: 'transaction_read_only', defaultValue: 'off', validate: boolSetting('transaction_read_only'), description: "Sets the current transaction's read-only status." },
  { name: 'client_min_messages', defaultValue: 'notice', validate: oneOf('client_min_messages', ['debug5', 'debug4', 'debug3', 'debug2', 'debug1', 'log', 'notice', 'warning', 'error']), description: 'Sets the message levels that are sent to the client.' },
  { name: 'statement_timeout', defaultValue: '0', validate: durationSetting('statement_timeout'), description: 'Sets the maximum allowed duration of any statement (ms; 0 turns it off).' },
  { name: 'lock_timeout', defaultValue: '0', validate: durationSetting('lock_timeout'), description: 'Sets the maximum allowed duration of any wait for a lock.' },
  { name: 'idle_in_transaction_session_timeout', defaultValue: '0', validate: durationSetting('idle_in_transaction_session_timeout'), description: 'Sets the maximum allowed idle time between queries, when in a transaction.' },
  { name: 'max_identifier_length', defaultValue: '63', readOnly: true, description: 'Shows the maximum identifier length.' },
  { name: 'max_index_keys', defaultValue: '32', readOnly: true, description: 'Shows the maximum number of index keys.' },
  { name: 'block_size', defaultValue: '8192', readOnly: true, description: 'Shows the size of a disk block.' },
  { name: 'lc_collate', defaultValue: 'C', readOnly: true, description: 'Shows the collation order locale.' },
  { name: 'lc_ctype', defaultValue: 'C', readOnly: true, description: 'Shows the character classification and case conversion locale.' },
  { name: 'lc_messages', defaultValue: 'C', validate: (v) => v, description: 'Sets the language in which messages are displayed.' },
  { name: 'lc_monetary', defaultValue: 'C', validate: (v) => v, description: 'Sets the locale for formatting monetary amounts.' },
  { name: 'lc_numeric', defaultValue: 'C', validate: (v) => v, description: 'Sets the locale for formatting numbers.' },
  { name: 'lc_time', defaultValue: 'C', validate: (v) => v, description: 'Sets the locale for formatting date and time values.' },
  { name: 'synchronous_commit', defaultValue: 'on', validate: oneOf('synchronous_commit', ['on', 'off', 'local', 'remote_write', 'remote_apply']), description: 'Sets the current transaction\'s synchronization level (commits are always durable in Cairn).' },
  { name: 'enable_seqscan', defaultValue: 'on', validate: boolSetting('enable_seqscan'), description: 'Accepted for compatibility.' },
  { name: 'row_security', defaultValue: 'on', validate: boolSetting('row_security'), description: 'Accepted for compatibility.' },
  { name: 'jit', defaultValue: 'off', validate: boolSetting('jit'), description: 'Accepted for compatibility.' },
  { name: 'work_mem', defaultValue: '4MB', validate: (v) => v, description: 'Accepted for compatibility.' },
  { name: 'maintenance_work_mem', defaultValue: '64MB', validate: (v) => v, description: 'Accepted for compatibility.' },
  { name: 'max_parallel_workers_per_gather', defaultValue: '0', validate: (v) => v, description: 'Accepted for compatibility.' },
  { name: 'vacuum_cost_delay', defaultValue: '0', validate: (v) => v, description: 'Accepted for compatibility.' },
  { name: 'escape_string_warning', defaultValue: 'on', validate: boolSetting('escape_string_warning'), description: 'Accepted for compatibility.' },
  { name: 'check_function_bodies', defaultValue: 'on', validate: boolSetting('check_function_bodies'), description: 'Accepted for compatibility.' },
  { name: 'xmloption', defaultValue: 'content', validate: (v) => v, description: 'Accepted for compatibility.' },
  { name: 'default_tablespace', defaultValue: '', validate: (v) => v, description: 'Accepted for compatibility.' },
  { name: 'default_with_oids', defaultValue: 'off', validate: boolSetting('default_with_oids'), description: 'Accepted for compatibility.' },
  { name: 'idle_session_timeout', defaultValue: '0', validate: durationSetting('idle_session_timeout'), description: 'Accepted for compatibility.' },
  { name: 'timezone_abbreviations', defaultValue: 'Default', readOnly: true, description: 'Selects a file of time zone abbreviations.' },
  { name: 'max_connections', defaultValue: '1000', readOnly: true, description: 'Sets the maximum number of concurrent connections.' },
  { name: 'node_id', defaultValue: '0', readOnly: true, description: 'The id of the node serving this session (Cairn).' },
];

function isolation(v: string): string {
  const l = v.toLowerCase().replace(/_/g, ' ').trim();
  if (['serializable', 'repeatable read', 'read committed', 'read uncommitted', 'snapshot'].includes(l)) return l === 'snapshot' ? 'repeatable read' : l;
  throw new SqlError(SqlState.invalidParameterValue, `invalid value for parameter "transaction_isolation": "${v}"`);
}

const BY_NAME = new Map(DEFS.map((d) => [d.name, d]));

/** The PostgreSQL spelling used in ParameterStatus (DateStyle, TimeZone, IntervalStyle). */
export function reportedName(name: string): string {
  switch (name) {
    case 'datestyle':
      return 'DateStyle';
    case 'timezone':
      return 'TimeZone';
    case 'intervalstyle':
      return 'IntervalStyle';
    default:
      return name;
  }
}

export function settingDef(name: string): SettingDef | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export function allSettings(): readonly SettingDef[] {
  return DEFS;
}

/** A name the session accepts: a known setting, or a custom one with a dot (extension.setting). */
export function canonicalSettingName(name: string): string {
  const lower = name.toLowerCase();
  if (lower === 'time zone' || lower === 'time_zone') return 'timezone';
  if (BY_NAME.has(lower)) return lower;
  if (lower.includes('.')) return lower;
  throw new SqlError(SqlState.undefinedObject, `unrecognized configuration parameter "${name}"`);
}
