// The session settings that change how values are read and written as text. A session holds one
// of these and passes it to every parse and format call; it is immutable, so a SET replaces it.

export interface TypeSettings {
  /** PostgreSQL's DateStyle: output style then field order, e.g. "ISO, MDY" (the default). */
  readonly dateStyle: string;
  /** An IANA zone name ("UTC", "Europe/Berlin") or a POSIX-style/ISO offset ("+02:00", "UTC+3"). */
  readonly timeZone: string;
  /** "postgres" (the default), "postgres_verbose", "sql_standard" or "iso_8601". */
  readonly intervalStyle: string;
  /** -15..3; 1 (the default) and above print floats in shortest round-trip form. */
  readonly extraFloatDigits: number;
  /** "hex" (the default) or "escape". */
  readonly byteaOutput: 'hex' | 'escape';
}

export const DEFAULT_TYPE_SETTINGS: TypeSettings = {
  dateStyle: 'ISO, MDY',
  timeZone: 'UTC',
  intervalStyle: 'postgres',
  extraFloatDigits: 1,
  byteaOutput: 'hex',
};
