// Interval values and the text reading that date/time and interval input share. An interval keeps
// months, days and microseconds apart, as PostgreSQL does, because their lengths differ: a month
// added to 31 January is not 30 days added to it, and a day across a DST change is not 24 hours.
//
// The lexer below is PostgreSQL's ParseDateTime: date, time, timestamp and interval input are all
// first cut into fields by it, then decoded by type-specific rules (datetime.ts for points in
// time, this file for intervals). It lives here so that this file needs nothing from datetime.ts.

import { SqlError, SqlState } from '../errors.js';
import type { TypeSettings } from './settings.js';

// ---------------------------------------------------------------------------------------------
// Units and limits

export const MICROS_PER_SECOND = 1_000_000n;
export const MICROS_PER_MINUTE = 60_000_000n;
export const MICROS_PER_HOUR = 3_600_000_000n;
export const MICROS_PER_DAY = 86_400_000_000n;
/** The length of a month where one must be chosen (comparison, justify_days, fractional months). */
export const DAYS_PER_MONTH = 30;
/** The length of a year in epoch arithmetic on intervals (extract(epoch from interval)). */
export const DAYS_PER_YEAR = 365.25;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;

/** Most fields one date/time string may have (PostgreSQL's MAXDATEFIELDS); more is malformed. */
export const MAX_DATETIME_FIELDS = 25;
/**
 * Bytes of field text (each field plus a terminator) the lexer accepts, per input function, as
 * PostgreSQL sizes its work buffers: longer input is refused as malformed rather than read.
 */
export const DATETIME_BUFFER = {
  /** date_in, time_in, timetz_in: MAXDATELEN + 1 */
  dateOrTime: 129,
  /** timestamp_in, timestamptz_in: MAXDATELEN + MAXDATEFIELDS */
  timestamp: 153,
  /** interval_in */
  interval: 256,
} as const;
/** Keywords are compared on their first TOKMAXLEN characters ("microseconds" is "microsecon"). */
const KEYWORD_SIGNIFICANT_LENGTH = 10;

// ---------------------------------------------------------------------------------------------
// Input errors

/** Why a date/time or interval string could not be decoded (PostgreSQL's DTERR_* codes). */
export type DateTimeFailure = 'badFormat' | 'fieldOverflow' | 'monthDayOverflow' | 'intervalOverflow' | 'zoneDisplacementOverflow';

/** Thrown inside the decoders; the input function turns it into the SqlError PostgreSQL raises. */
export class DateTimeDecodeError extends Error {
  constructor(readonly failure: DateTimeFailure) {
    super(failure);
    this.name = 'DateTimeDecodeError';
  }
}

export function decodeFailure(failure: DateTimeFailure): DateTimeDecodeError {
  return new DateTimeDecodeError(failure);
}

/** The error PostgreSQL's DateTimeParseError raises for input `input` of type `typeName`. */
export function dateTimeInputError(failure: DateTimeFailure, input: string, typeName: string): SqlError {
  switch (failure) {
    case 'fieldOverflow':
      return new SqlError(SqlState.datetimeFieldOverflow, `date/time field value out of range: "${input}"`);
    case 'monthDayOverflow':
      return new SqlError(SqlState.datetimeFieldOverflow, `date/time field value out of range: "${input}"`, {
        hint: 'Perhaps you need a different "datestyle" setting.',
      });
    case 'intervalOverflow':
      return new SqlError(SqlState.intervalFieldOverflow, `interval field value out of range: "${input}"`);
    case 'zoneDisplacementOverflow':
      return new SqlError(SqlState.invalidTimeZoneDisplacementValue, `time zone displacement out of range: "${input}"`);
    case 'badFormat':
      return new SqlError(SqlState.invalidDatetimeFormat, `invalid input syntax for type ${typeName}: "${input}"`);
  }
}

/** Runs a decoder and reports its failure as PostgreSQL would for this input and type. */
export function withDateTimeErrors<T>(input: string, typeName: string, decode: () => T, mapFailure?: (f: DateTimeFailure) => DateTimeFailure): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof DateTimeDecodeError) throw dateTimeInputError(mapFailure ? mapFailure(err.failure) : err.failure, input, typeName);
    throw err;
  }
}

export function intervalOutOfRange(): SqlError {
  return new SqlError(SqlState.datetimeFieldOverflow, 'interval out of range');
}

// ---------------------------------------------------------------------------------------------
// Keywords

/** The units a date/time keyword or an extract/date_trunc field can name. */
export type DateTimeUnit =
  | 'microsecond'
  | 'millisecond'
  | 'second'
  | 'minute'
  | 'hour'
  | 'day'
  | 'week'
  | 'month'
  | 'quarter'
  | 'year'
  | 'decade'
  | 'century'
  | 'millennium'
  | 'julian'
  | 'dow'
  | 'isodow'
  | 'doy'
  | 'isoyear'
  | 'timezone'
  | 'timezone_hour'
  | 'timezone_minute';

export type ReservedDateWord = 'now' | 'today' | 'tomorrow' | 'yesterday' | 'epoch' | 'infinity' | '-infinity' | 'allballs';

/** A word of date/time input (PostgreSQL's datetktbl). */
export type DateKeyword =
  | { readonly kind: 'reserved'; readonly word: ReservedDateWord }
  | { readonly kind: 'month'; readonly month: number }
  | { readonly kind: 'dayOfWeek'; readonly day: number }
  | { readonly kind: 'meridian'; readonly pm: boolean }
  | { readonly kind: 'era'; readonly bc: boolean }
  | { readonly kind: 'unit'; readonly unit: DateTimeUnit }
  | { readonly kind: 'daylightSaving'; readonly seconds: number }
  | { readonly kind: 'isoTime' }
  | { readonly kind: 'ignore' };

/** A word of interval input, and of the field names extract and date_trunc take (deltatktbl). */
export type IntervalKeyword = { readonly kind: 'unit'; readonly unit: DateTimeUnit } | { readonly kind: 'ago' } | { readonly kind: 'ignore' };

const MONTH_WORDS: ReadonlyArray<readonly [string, number]> = [
  ['jan', 1], ['january', 1], ['feb', 2], ['february', 2], ['mar', 3], ['march', 3], ['apr', 4], ['april', 4],
  ['may', 5], ['jun', 6], ['june', 6], ['jul', 7], ['july', 7], ['aug', 8], ['august', 8], ['sep', 9], ['sept', 9],
  ['september', 9], ['oct', 10], ['october', 10], ['nov', 11], ['november', 11], ['dec', 12], ['december', 12],
];
const DAY_WORDS: ReadonlyArray<readonly [string, number]> = [
  ['sun', 0], ['sunday', 0], ['mon', 1], ['monday', 1], ['tue', 2], ['tues', 2], ['tuesday', 2], ['wed', 3],
  ['weds', 3], ['wednesday', 3], ['thu', 4], ['thur', 4], ['thurs', 4], ['thursday', 4], ['fri', 5], ['friday', 5],
  ['sat', 6], ['saturday', 6],
];

const DATE_KEYWORDS: ReadonlyMap<string, DateKeyword> = new Map<string, DateKeyword>([
  ...MONTH_WORDS.map(([w, month]): [string, DateKeyword] => [w, { kind: 'month', month }]),
  ...DAY_WORDS.map(([w, day]): [string, DateKeyword] => [w, { kind: 'dayOfWeek', day }]),
  ...(['now', 'today', 'tomorrow', 'yesterday', 'epoch', 'infinity', '-infinity', 'allballs'] as const).map(
    (word): [string, DateKeyword] => [word, { kind: 'reserved', word }],
  ),
  ['am', { kind: 'meridian', pm: false }],
  ['pm', { kind: 'meridian', pm: true }],
  ['ad', { kind: 'era', bc: false }],
  ['bc', { kind: 'era', bc: true }],
  ['at', { kind: 'ignore' }],
  ['on', { kind: 'ignore' }],
  ['t', { kind: 'isoTime' }],
  ['dst', { kind: 'daylightSaving', seconds: 3600 }],
  ['y', { kind: 'unit', unit: 'year' }],
  ['m', { kind: 'unit', unit: 'month' }],
  ['d', { kind: 'unit', unit: 'day' }],
  ['h', { kind: 'unit', unit: 'hour' }],
  ['mm', { kind: 'unit', unit: 'minute' }],
  ['s', { kind: 'unit', unit: 'second' }],
  ['j', { kind: 'unit', unit: 'julian' }],
  ['jd', { kind: 'unit', unit: 'julian' }],
  ['julian', { kind: 'unit', unit: 'julian' }],
  ['dow', { kind: 'unit', unit: 'dow' }],
  ['isodow', { kind: 'unit', unit: 'isodow' }],
  ['doy', { kind: 'unit', unit: 'doy' }],
  ['isoyear', { kind: 'unit', unit: 'isoyear' }],
]);

const UNIT_SPELLINGS: ReadonlyArray<readonly [DateTimeUnit, readonly string[]]> = [
  ['century', ['c', 'cent', 'centuries', 'century']],
  ['day', ['d', 'day', 'days']],
  ['decade', ['dec', 'decade', 'decades', 'decs']],
  ['hour', ['h', 'hour', 'hours', 'hr', 'hrs']],
  ['minute', ['m', 'min', 'mins', 'minute', 'minutes']],
  ['microsecond', ['microsecon', 'us', 'usec', 'usecond', 'useconds', 'usecs']],
  ['millennium', ['mil', 'millennia', 'millennium', 'mils']],
  ['millisecond', ['millisecon', 'ms', 'msec', 'msecond', 'mseconds', 'msecs']],
  ['month', ['mon', 'mons', 'month', 'months']],
  ['quarter', ['qtr', 'quarter']],
  ['second', ['s', 'sec', 'second', 'seconds', 'secs']],
  ['timezone', ['timezone']],
  ['timezone_hour', ['timezone_h']],
  ['timezone_minute', ['timezone_m']],
  ['week', ['w', 'week', 'weeks']],
  ['year', ['y', 'year', 'years', 'yr', 'yrs']],
];

const INTERVAL_KEYWORDS: ReadonlyMap<string, IntervalKeyword> = new Map<string, IntervalKeyword>([
  ['@', { kind: 'ignore' }],
  ['ago', { kind: 'ago' }],
  ...UNIT_SPELLINGS.flatMap(([unit, words]) => words.map((w): [string, IntervalKeyword] => [w, { kind: 'unit', unit }])),
]);

function significant(word: string): string {
  return word.length > KEYWORD_SIGNIFICANT_LENGTH ? word.slice(0, KEYWORD_SIGNIFICANT_LENGTH) : word;
}

/** A lower-case word of date/time input, or undefined if it is not a keyword. */
export function lookupDateKeyword(word: string): DateKeyword | undefined {
  return DATE_KEYWORDS.get(significant(word));
}

/** A lower-case word of interval input (or a field name of extract/date_trunc). */
export function lookupIntervalKeyword(word: string): IntervalKeyword | undefined {
  return INTERVAL_KEYWORDS.get(significant(word));
}

// ---------------------------------------------------------------------------------------------
// The lexer

/** How the lexer classified a field (PostgreSQL's DTK_NUMBER, DTK_STRING, DTK_DATE, ...). */
export type DateTimeFieldKind = 'number' | 'string' | 'date' | 'time' | 'tz' | 'special';

export interface DateTimeField {
  readonly kind: DateTimeFieldKind;
  /** The field's text; letters are lower-cased. */
  readonly text: string;
}

export function isAsciiDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

export function isAsciiAlpha(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

function isAlnum(c: string | undefined): boolean {
  return isAsciiDigit(c) || isAsciiAlpha(c);
}

function isCSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
}

function isCPunct(c: string | undefined): boolean {
  if (c === undefined) return false;
  const code = c.charCodeAt(0);
  return code > 0x20 && code < 0x7f && !isAlnum(c);
}

/**
 * Cuts date/time or interval text into fields the way PostgreSQL's ParseDateTime does: runs of
 * digits with their separators, words, signed offsets; other punctuation only separates.
 */
export function splitDateTimeFields(input: string, bufferSize: number): DateTimeField[] {
  const fields: DateTimeField[] = [];
  let used = 0;
  let text = '';
  let i = 0;
  const at = (k: number): string | undefined => (k < input.length ? input[k] : undefined);
  const append = (c: string): void => {
    // The same bound as PostgreSQL's work buffer: the check comes before each character.
    if (used + 1 >= bufferSize) throw decodeFailure('badFormat');
    used++;
    text += c;
  };
  while (i < input.length) {
    const c = input[i]!;
    if (isCSpace(c)) {
      i++;
      continue;
    }
    if (fields.length >= MAX_DATETIME_FIELDS) throw decodeFailure('badFormat');
    text = '';
    let kind: DateTimeFieldKind;
    if (isAsciiDigit(c)) {
      append(c);
      i++;
      while (isAsciiDigit(at(i))) append(input[i++]!);
      const next = at(i);
      if (next === ':') {
        kind = 'time';
        append(next);
        i++;
        while (isAsciiDigit(at(i)) || at(i) === ':' || at(i) === '.') append(input[i++]!);
      } else if (next === '-' || next === '/' || next === '.') {
        const delimiter = next;
        append(next);
        i++;
        if (isAsciiDigit(at(i))) {
          kind = delimiter === '.' ? 'number' : 'date';
          while (isAsciiDigit(at(i))) append(input[i++]!);
          // Only a second delimiter of the same kind makes a three-part date.
          if (at(i) === delimiter) {
            kind = 'date';
            append(delimiter);
            i++;
            while (isAsciiDigit(at(i)) || at(i) === delimiter) append(input[i++]!);
          }
        } else {
          kind = 'date';
          while (isAlnum(at(i)) || at(i) === delimiter) append(input[i++]!.toLowerCase());
        }
      } else {
        kind = 'number';
      }
    } else if (c === '.') {
      append(c);
      i++;
      while (isAsciiDigit(at(i))) append(input[i++]!);
      kind = 'number';
    } else if (isAsciiAlpha(c)) {
      kind = 'string';
      append(c.toLowerCase());
      i++;
      while (isAsciiAlpha(at(i))) append(input[i++]!.toLowerCase());
      // A word may go on as a date with a text month ("jan-01-2000") or a zone name with
      // punctuation ("america/new_york", "etc/gmt+3"), unless it is a keyword followed by a number.
      const next = at(i);
      let embedded = false;
      if (next === '-' || next === '/' || next === '.') embedded = true;
      else if (next === '+' || isAsciiDigit(next)) embedded = lookupDateKeyword(text) === undefined;
      if (embedded) {
        kind = 'date';
        do {
          append(input[i++]!.toLowerCase());
        } while (i < input.length && ('+-/_.:'.includes(input[i]!) || isAlnum(input[i])));
      }
    } else if (c === '+' || c === '-') {
      append(c);
      i++;
      while (isCSpace(at(i))) i++;
      if (isAsciiDigit(at(i))) {
        kind = 'tz';
        append(input[i++]!);
        while (isAsciiDigit(at(i)) || at(i) === ':' || at(i) === '.' || at(i) === '-') append(input[i++]!);
      } else if (isAsciiAlpha(at(i))) {
        kind = 'special';
        append(input[i++]!.toLowerCase());
        while (isAsciiAlpha(at(i))) append(input[i++]!.toLowerCase());
      } else {
        throw decodeFailure('badFormat');
      }
    } else if (isCPunct(c)) {
      i++;
      continue;
    } else {
      throw decodeFailure('badFormat');
    }
    used++; // the terminator
    fields.push({ kind, text });
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------
// C-style number reading, as the decoders rely on strtol/strtod's exact behaviour

export interface ParsedInteger {
  readonly value: bigint;
  /** Index just past the digits; equals `start` when there were none. */
  readonly end: number;
}

/** strtol: optional whitespace and sign, then digits. No digits: value 0 and end = start. */
export function readCInteger(text: string, start: number): ParsedInteger {
  let i = start;
  while (isCSpace(text[i])) i++;
  let negative = false;
  if (text[i] === '+' || text[i] === '-') {
    negative = text[i] === '-';
    i++;
  }
  const digitsStart = i;
  while (isAsciiDigit(text[i])) i++;
  if (i === digitsStart) return { value: 0n, end: start };
  const magnitude = BigInt(text.slice(digitsStart, i));
  return { value: negative ? -magnitude : magnitude, end: i };
}

/** strtol into a 32-bit int; overflow is PostgreSQL's "field value out of range". */
export function readInt32(text: string, start: number): { value: number; end: number } {
  const r = readCInteger(text, start);
  if (r.value < BigInt(INT32_MIN) || r.value > BigInt(INT32_MAX)) throw decodeFailure('fieldOverflow');
  return { value: Number(r.value), end: r.end };
}

export function readInt64(text: string, start: number): ParsedInteger {
  const r = readCInteger(text, start);
  if (r.value < INT64_MIN || r.value > INT64_MAX) throw decodeFailure('fieldOverflow');
  return r;
}

const C_DOUBLE_PREFIX = /^[ \t\n\r\v\f]*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)/i;

/** strtod: the longest prefix that reads as a double, or undefined if none does. */
export function readCDouble(text: string, start: number): { value: number; end: number } | undefined {
  const m = C_DOUBLE_PREFIX.exec(text.slice(start));
  if (m === null) return undefined;
  const literal = m[0].trim().toLowerCase();
  const sign = literal.startsWith('-') ? -1 : 1;
  const body = literal.replace(/^[+-]/, '');
  const value = body.startsWith('inf') ? sign * Infinity : body === 'nan' ? NaN : Number(literal);
  return { value, end: start + m[0].length };
}

/** C's rint under the default rounding mode: to nearest, ties to even. */
export function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A fraction ".ddd" (possibly just "."), as PostgreSQL's ParseFraction reads it. */
export function readFraction(text: string, start: number): number {
  if (start + 1 >= text.length) return 0;
  const r = readCDouble(text, start);
  if (r === undefined || r.end !== text.length) throw decodeFailure('badFormat');
  return r.value;
}

// ---------------------------------------------------------------------------------------------
// Interval typmods

/** Bits of an interval typmod's field range (PostgreSQL's INTERVAL_MASK of each field). */
export const IntervalFieldMask = {
  month: 1 << 1,
  year: 1 << 2,
  day: 1 << 3,
  hour: 1 << 10,
  minute: 1 << 11,
  second: 1 << 12,
} as const;
/** The range of an interval with no field restriction. */
export const INTERVAL_FULL_RANGE = 0x7fff;
/** The precision of an interval with no precision given. */
export const INTERVAL_FULL_PRECISION = 0xffff;
export const MAX_INTERVAL_PRECISION = 6;

/** The typmod of interval [fields] [(precision)]: ((range & 0x7fff) << 16) | precision. */
export function intervalTypmod(range: number = INTERVAL_FULL_RANGE, precision: number = INTERVAL_FULL_PRECISION): number {
  return ((range & 0x7fff) << 16) | (precision & 0xffff);
}

export function intervalTypmodRange(typmod: number): number {
  return typmod < 0 ? INTERVAL_FULL_RANGE : (typmod >> 16) & 0x7fff;
}

export function intervalTypmodPrecision(typmod: number): number {
  return typmod < 0 ? INTERVAL_FULL_PRECISION : typmod & 0xffff;
}

// ---------------------------------------------------------------------------------------------
// Interval input

/** The fields decoded so far; PostgreSQL's pg_itm_in, each part range-checked as it grows. */
interface IntervalParts {
  micros: bigint;
  days: number;
  months: number;
  years: number;
}

const F_MICROSECOND = 1 << 0;
const F_MILLISECOND = 1 << 1;
const F_SECOND = 1 << 2;
const F_MINUTE = 1 << 3;
const F_HOUR = 1 << 4;
const F_DAY = 1 << 5;
const F_WEEK = 1 << 6;
const F_MONTH = 1 << 7;
const F_YEAR = 1 << 8;
const F_DECADE = 1 << 9;
const F_CENTURY = 1 << 10;
const F_MILLENNIUM = 1 << 11;
const F_ALL_SECONDS = F_SECOND | F_MILLISECOND | F_MICROSECOND;
const F_TIME = F_HOUR | F_MINUTE | F_ALL_SECONDS;

function checkedInt32(v: number): number {
  if (!Number.isFinite(v) || v < INT32_MIN || v > INT32_MAX) throw decodeFailure('fieldOverflow');
  return v;
}

function checkedInt64(v: bigint): bigint {
  if (v < INT64_MIN || v > INT64_MAX) throw decodeFailure('fieldOverflow');
  return v;
}

function addFractionalMicros(parts: IntervalParts, fraction: number, scale: number): void {
  if (fraction === 0) return;
  const scaled = fraction * scale;
  const whole = Math.trunc(scaled);
  parts.micros = checkedInt64(parts.micros + BigInt(whole + rint(scaled - whole)));
}

function addMicros(parts: IntervalParts, whole: bigint, fraction: number, scale: bigint): void {
  parts.micros = checkedInt64(parts.micros + checkedInt64(whole * scale));
  addFractionalMicros(parts, fraction, Number(scale));
}

function addFractionalDays(parts: IntervalParts, fraction: number, scale: number): void {
  if (fraction === 0) return;
  const scaled = fraction * scale;
  const whole = Math.trunc(scaled);
  parts.days = checkedInt32(parts.days + whole);
  addFractionalMicros(parts, scaled - whole, Number(MICROS_PER_DAY));
}

function toInt32(v: bigint): number {
  if (v < BigInt(INT32_MIN) || v > BigInt(INT32_MAX)) throw decodeFailure('fieldOverflow');
  return Number(v);
}

function addDays(parts: IntervalParts, whole: bigint, scale: number): void {
  parts.days = checkedInt32(parts.days + checkedInt32(toInt32(whole) * scale));
}

function addMonths(parts: IntervalParts, whole: bigint): void {
  parts.months = checkedInt32(parts.months + toInt32(whole));
}

function addYears(parts: IntervalParts, whole: bigint, scale: number): void {
  parts.years = checkedInt32(parts.years + checkedInt32(toInt32(whole) * scale));
}

function addFractionalYears(parts: IntervalParts, fraction: number, scale: number): void {
  parts.months = checkedInt32(parts.months + rint(fraction * scale * 12));
}

/** hh:mm[:ss[.fff]] (or mm:ss.fff) inside an interval: hours are unbounded, the rest are not. */
function decodeIntervalTime(text: string, range: number): bigint {
  const hourRead = readInt64(text, 0);
  let pos = hourRead.end;
  let hours = hourRead.value;
  if (text[pos] !== ':') throw decodeFailure('badFormat');
  const minuteRead = readInt32(text, pos + 1);
  let minutes = minuteRead.value;
  pos = minuteRead.end;
  let seconds = 0;
  let micros = 0;
  if (pos >= text.length) {
    // Two fields of a MINUTE TO SECOND interval are minutes and seconds.
    if (range === (IntervalFieldMask.minute | IntervalFieldMask.second)) {
      seconds = minutes;
      minutes = Number(hours);
      hours = 0n;
    }
  } else if (text[pos] === '.') {
    micros = rint(readFraction(text, pos) * 1e6);
    seconds = minutes;
    minutes = Number(hours);
    hours = 0n;
  } else if (text[pos] === ':') {
    const secondRead = readInt32(text, pos + 1);
    seconds = secondRead.value;
    pos = secondRead.end;
    if (pos < text.length) {
      if (text[pos] !== '.') throw decodeFailure('badFormat');
      micros = rint(readFraction(text, pos) * 1e6);
    }
  } else {
    throw decodeFailure('badFormat');
  }
  if (hours < 0n || minutes < 0 || minutes > 59 || seconds < 0 || seconds > 60 || micros < 0 || micros > 1e6) {
    throw decodeFailure('fieldOverflow');
  }
  return checkedInt64(checkedInt64(hours * MICROS_PER_HOUR) + BigInt(minutes) * MICROS_PER_MINUTE + BigInt(seconds) * MICROS_PER_SECOND + BigInt(micros));
}

/** The unit of a bare number, from the typmod's field range (interval '3' hour). */
function unitForRange(range: number): DateTimeUnit {
  const M = IntervalFieldMask;
  switch (range) {
    case M.year:
      return 'year';
    case M.month:
    case M.year | M.month:
      return 'month';
    case M.day:
      return 'day';
    case M.hour:
    case M.day | M.hour:
      return 'hour';
    case M.minute:
    case M.hour | M.minute:
    case M.day | M.hour | M.minute:
      return 'minute';
    default:
      return 'second';
  }
}

/** PostgreSQL's DecodeInterval: fields read right to left, so units come before their numbers. */
function decodeIntervalFields(fields: readonly DateTimeField[], range: number, sqlStandard: boolean): IntervalParts {
  const parts: IntervalParts = { micros: 0n, days: 0, months: 0, years: 0 };
  // In sql_standard style a leading '-' applies to every field, unless other fields carry signs.
  let forceNegative = false;
  if (sqlStandard && fields.length > 0 && fields[0]!.text.startsWith('-')) {
    forceNegative = !fields.slice(1).some((f) => f.text.startsWith('-') || f.text.startsWith('+'));
  }
  let isBefore = false;
  let fmask = 0;
  // The unit the next number (to the left) takes: unset means "from the typmod"; after "ago" a bare
  // number has no unit at all.
  let pendingUnit: DateTimeUnit | 'none' | undefined;
  for (let i = fields.length - 1; i >= 0; i--) {
    const field = fields[i]!;
    let tmask = 0;
    let handled = false;
    if (field.kind === 'time') {
      parts.micros = decodeIntervalTime(field.text, range);
      tmask = F_TIME;
      if (forceNegative && parts.micros > 0n) parts.micros = -parts.micros;
      pendingUnit = 'day';
      handled = true;
    } else if (field.kind === 'tz' && field.text.slice(1).includes(':')) {
      let micros: bigint | undefined;
      try {
        micros = decodeIntervalTime(field.text.slice(1), range);
      } catch (err) {
        if (!(err instanceof DateTimeDecodeError)) throw err;
      }
      if (micros !== undefined) {
        parts.micros = field.text.startsWith('-') ? -micros : micros;
        if (forceNegative && parts.micros > 0n) parts.micros = -parts.micros;
        tmask = F_TIME;
        pendingUnit = 'day';
        handled = true;
      }
    }
    if (!handled) {
      if (field.kind === 'tz' || field.kind === 'date' || field.kind === 'number') {
        let unit: DateTimeUnit | 'none' = pendingUnit ?? unitForRange(range);
        const whole = readInt64(field.text, 0);
        let value = whole.value;
        let fraction = 0;
        const rest = field.text[whole.end];
        if (rest === '-') {
          // SQL "years-months"
          const monthRead = readCInteger(field.text, whole.end + 1);
          if (monthRead.value < 0n || monthRead.value >= 12n) throw decodeFailure('fieldOverflow');
          if (monthRead.end !== field.text.length) throw decodeFailure('badFormat');
          const month = field.text.startsWith('-') ? -monthRead.value : monthRead.value;
          value = checkedInt64(checkedInt64(value * 12n) + month);
          unit = 'month';
        } else if (rest === '.') {
          fraction = readFraction(field.text, whole.end);
          if (field.text.startsWith('-')) fraction = -fraction;
        } else if (rest !== undefined) {
          throw decodeFailure('badFormat');
        }
        if (forceNegative) {
          if (value > 0n) value = -value;
          if (fraction > 0) fraction = -fraction;
        }
        switch (unit) {
          case 'microsecond':
            addMicros(parts, value, fraction, 1n);
            tmask = F_MICROSECOND;
            break;
          case 'millisecond':
            addMicros(parts, value, fraction, 1000n);
            tmask = F_MILLISECOND;
            break;
          case 'second':
            addMicros(parts, value, fraction, MICROS_PER_SECOND);
            tmask = fraction === 0 ? F_SECOND : F_ALL_SECONDS;
            break;
          case 'minute':
            addMicros(parts, value, fraction, MICROS_PER_MINUTE);
            tmask = F_MINUTE;
            break;
          case 'hour':
            addMicros(parts, value, fraction, MICROS_PER_HOUR);
            tmask = F_HOUR;
            unit = 'day';
            break;
          case 'day':
            addDays(parts, value, 1);
            addFractionalMicros(parts, fraction, Number(MICROS_PER_DAY));
            tmask = F_DAY;
            break;
          case 'week':
            addDays(parts, value, 7);
            addFractionalDays(parts, fraction, 7);
            tmask = F_WEEK;
            break;
          case 'month':
            addMonths(parts, value);
            addFractionalDays(parts, fraction, DAYS_PER_MONTH);
            tmask = F_MONTH;
            break;
          case 'year':
            addYears(parts, value, 1);
            addFractionalYears(parts, fraction, 1);
            tmask = F_YEAR;
            break;
          case 'decade':
            addYears(parts, value, 10);
            addFractionalYears(parts, fraction, 10);
            tmask = F_DECADE;
            break;
          case 'century':
            addYears(parts, value, 100);
            addFractionalYears(parts, fraction, 100);
            tmask = F_CENTURY;
            break;
          case 'millennium':
            addYears(parts, value, 1000);
            addFractionalYears(parts, fraction, 1000);
            tmask = F_MILLENNIUM;
            break;
          default:
            throw decodeFailure('badFormat');
        }
        pendingUnit = unit;
      } else if (field.kind === 'string' || field.kind === 'special') {
        const keyword = lookupIntervalKeyword(field.text);
        if (keyword === undefined) throw decodeFailure('badFormat');
        if (keyword.kind === 'ignore') continue;
        if (keyword.kind === 'ago') {
          isBefore = true;
          pendingUnit = 'none';
        } else {
          pendingUnit = keyword.unit;
        }
      } else {
        throw decodeFailure('badFormat');
      }
    }
    if (tmask & fmask) throw decodeFailure('badFormat');
    fmask |= tmask;
  }
  if (fmask === 0) throw decodeFailure('badFormat');
  if (isBefore) {
    parts.micros = checkedInt64(-parts.micros);
    parts.days = checkedInt32(-parts.days);
    parts.months = checkedInt32(-parts.months);
    parts.years = checkedInt32(-parts.years);
  }
  return parts;
}

/** A number of an ISO 8601 duration: anything strtod reads, split into whole and fraction. */
function readIso8601Number(text: string, pos: number): { whole: bigint; fraction: number; end: number } {
  const c = text[pos];
  if (!(isAsciiDigit(c) || c === '-' || c === '.')) throw decodeFailure('badFormat');
  const r = readCDouble(text, pos);
  if (r === undefined || r.end === pos) throw decodeFailure('badFormat');
  // Beyond 1e15 a double no longer has an exact integer part.
  if (Number.isNaN(r.value) || r.value < -1e15 || r.value > 1e15) throw decodeFailure('fieldOverflow');
  const whole = r.value >= 0 ? Math.floor(r.value) : -Math.floor(-r.value);
  return { whole: BigInt(whole), fraction: r.value - whole, end: r.end };
}

function integerWidth(text: string, pos: number): number {
  let i = pos;
  if (text[i] === '-' || text[i] === '+') i++;
  const start = i;
  while (isAsciiDigit(text[i])) i++;
  return i - start;
}

/** PostgreSQL's DecodeISO8601Interval: P[nY][nM][nW][nD][T[nH][nM][nS]] and the alternative forms. */
function decodeIso8601Interval(text: string): IntervalParts {
  const parts: IntervalParts = { micros: 0n, days: 0, months: 0, years: 0 };
  if (text.length < 2 || text[0] !== 'P') throw decodeFailure('badFormat');
  let pos = 1;
  let datePart = true;
  let haveField = false;
  while (pos < text.length) {
    if (text[pos] === 'T') {
      datePart = false;
      haveField = false;
      pos++;
      continue;
    }
    const fieldStart = pos;
    let n = readIso8601Number(text, pos);
    pos = n.end;
    const unit = pos < text.length ? text[pos]! : '';
    pos++;
    if (datePart) {
      switch (unit) {
        case 'Y':
          addYears(parts, n.whole, 1);
          addFractionalYears(parts, n.fraction, 1);
          break;
        case 'M':
          addMonths(parts, n.whole);
          addFractionalDays(parts, n.fraction, DAYS_PER_MONTH);
          break;
        case 'W':
          addDays(parts, n.whole, 7);
          addFractionalDays(parts, n.fraction, 7);
          break;
        case 'D':
          addDays(parts, n.whole, 1);
          addFractionalMicros(parts, n.fraction, Number(MICROS_PER_DAY));
          break;
        case 'T':
        case '':
        case '-': {
          if ((unit === 'T' || unit === '') && integerWidth(text, fieldStart) === 8 && !haveField) {
            // basic alternative format: PyyyymmddThhmmss
            addYears(parts, n.whole / 10000n, 1);
            addMonths(parts, (n.whole / 100n) % 100n);
            addDays(parts, n.whole % 100n, 1);
            addFractionalMicros(parts, n.fraction, Number(MICROS_PER_DAY));
            if (unit === '') return parts;
            datePart = false;
            haveField = false;
            continue;
          }
          // extended alternative format: Pyyyy-mm-ddThh:mm:ss
          if (haveField) throw decodeFailure('badFormat');
          addYears(parts, n.whole, 1);
          addFractionalYears(parts, n.fraction, 1);
          if (unit === '') return parts;
          if (unit === 'T') {
            datePart = false;
            haveField = false;
            continue;
          }
          n = readIso8601Number(text, pos);
          pos = n.end;
          addMonths(parts, n.whole);
          addFractionalDays(parts, n.fraction, DAYS_PER_MONTH);
          if (pos >= text.length) return parts;
          if (text[pos] === 'T') {
            datePart = false;
            haveField = false;
            pos++;
            continue;
          }
          if (text[pos] !== '-') throw decodeFailure('badFormat');
          n = readIso8601Number(text, pos + 1);
          pos = n.end;
          addDays(parts, n.whole, 1);
          addFractionalMicros(parts, n.fraction, Number(MICROS_PER_DAY));
          if (pos >= text.length) return parts;
          if (text[pos] === 'T') {
            datePart = false;
            haveField = false;
            pos++;
            continue;
          }
          throw decodeFailure('badFormat');
        }
        default:
          throw decodeFailure('badFormat');
      }
    } else {
      switch (unit) {
        case 'H':
          addMicros(parts, n.whole, n.fraction, MICROS_PER_HOUR);
          break;
        case 'M':
          addMicros(parts, n.whole, n.fraction, MICROS_PER_MINUTE);
          break;
        case 'S':
          addMicros(parts, n.whole, n.fraction, MICROS_PER_SECOND);
          break;
        case '':
        case ':': {
          if (unit === '' && integerWidth(text, fieldStart) === 6 && !haveField) {
            addMicros(parts, n.whole / 10000n, 0, MICROS_PER_HOUR);
            addMicros(parts, (n.whole / 100n) % 100n, 0, MICROS_PER_MINUTE);
            addMicros(parts, n.whole % 100n, 0, MICROS_PER_SECOND);
            addFractionalMicros(parts, n.fraction, 1);
            return parts;
          }
          if (haveField) throw decodeFailure('badFormat');
          addMicros(parts, n.whole, n.fraction, MICROS_PER_HOUR);
          if (unit === '') return parts;
          n = readIso8601Number(text, pos);
          pos = n.end;
          addMicros(parts, n.whole, n.fraction, MICROS_PER_MINUTE);
          if (pos >= text.length) return parts;
          if (text[pos] !== ':') throw decodeFailure('badFormat');
          n = readIso8601Number(text, pos + 1);
          pos = n.end;
          addMicros(parts, n.whole, n.fraction, MICROS_PER_SECOND);
          if (pos >= text.length) return parts;
          throw decodeFailure('badFormat');
        }
        default:
          throw decodeFailure('badFormat');
      }
    }
    haveField = true;
  }
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Interval output

/** An interval broken into the fields it prints as (PostgreSQL's pg_itm); all share one sign per group. */
interface IntervalDisplayFields {
  readonly years: number;
  readonly months: number;
  readonly days: number;
  readonly hours: bigint;
  readonly minutes: number;
  readonly seconds: number;
  readonly micros: number;
}

function displayFields(iv: Interval): IntervalDisplayFields {
  let rest = iv.micros;
  const hours = rest / MICROS_PER_HOUR;
  rest -= hours * MICROS_PER_HOUR;
  const minutes = rest / MICROS_PER_MINUTE;
  rest -= minutes * MICROS_PER_MINUTE;
  const seconds = rest / MICROS_PER_SECOND;
  rest -= seconds * MICROS_PER_SECOND;
  return {
    years: Math.trunc(iv.months / 12),
    months: iv.months % 12,
    days: iv.days,
    hours,
    minutes: Number(minutes),
    seconds: Number(seconds),
    micros: Number(rest),
  };
}

function pad2(n: number | bigint): string {
  return String(n).padStart(2, '0');
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

/** Seconds and a fraction without trailing zeros, as PostgreSQL's AppendSeconds writes them. */
export function formatSecondsWithFraction(seconds: number, micros: number, zeroPad: boolean): string {
  const whole = Math.abs(seconds);
  let out = zeroPad ? pad2(whole) : String(whole);
  if (micros !== 0) out += '.' + String(Math.abs(micros)).padStart(6, '0').replace(/0+$/, '');
  return out;
}

function formatPostgres(f: IntervalDisplayFields): string {
  let out = '';
  let isZero = true;
  let isBefore = false;
  const part = (value: number, unit: string): void => {
    if (value === 0) return;
    out += `${isZero ? '' : ' '}${isBefore && value > 0 ? '+' : ''}${value} ${unit}${value !== 1 ? 's' : ''}`;
    // Each nonzero field decides whether the next one carries an explicit '+'.
    isBefore = value < 0;
    isZero = false;
  };
  part(f.years, 'year');
  part(f.months, 'mon');
  part(f.days, 'day');
  if (isZero || f.hours !== 0n || f.minutes !== 0 || f.seconds !== 0 || f.micros !== 0) {
    const minus = f.hours < 0n || f.minutes < 0 || f.seconds < 0 || f.micros < 0;
    out += `${isZero ? '' : ' '}${minus ? '-' : isBefore ? '+' : ''}${pad2(abs(f.hours))}:${pad2(Math.abs(f.minutes))}:`;
    out += formatSecondsWithFraction(f.seconds, f.micros, true);
  }
  return out;
}

function formatPostgresVerbose(f: IntervalDisplayFields): string {
  let out = '@';
  let isZero = true;
  let isBefore = false;
  const part = (value: number | bigint, unit: string): void => {
    let v = BigInt(value);
    if (v === 0n) return;
    // The first nonzero field decides: negative means everything is written positive plus "ago".
    if (isZero) {
      isBefore = v < 0n;
      v = abs(v);
    } else if (isBefore) {
      v = -v;
    }
    out += ` ${v} ${unit}${v === 1n ? '' : 's'}`;
    isZero = false;
  };
  part(f.years, 'year');
  part(f.months, 'mon');
  part(f.days, 'day');
  part(f.hours, 'hour');
  part(f.minutes, 'min');
  if (f.seconds !== 0 || f.micros !== 0) {
    out += ' ';
    if (f.seconds < 0 || (f.seconds === 0 && f.micros < 0)) {
      if (isZero) isBefore = true;
      else if (!isBefore) out += '-';
    } else if (isBefore) {
      out += '-';
    }
    out += formatSecondsWithFraction(f.seconds, f.micros, false);
    out += ` sec${Math.abs(f.seconds) !== 1 || f.micros !== 0 ? 's' : ''}`;
    isZero = false;
  }
  if (isZero) out += ' 0';
  if (isBefore) out += ' ago';
  return out;
}

function formatSqlStandard(f: IntervalDisplayFields): string {
  const values = [f.years, f.months, f.days, Number(f.hours), f.minutes, f.seconds, f.micros];
  const hasNegative = values.some((v) => v < 0) || f.hours < 0n;
  const hasPositive = values.some((v) => v > 0) || f.hours > 0n;
  const hasYearMonth = f.years !== 0 || f.months !== 0;
  const hasDayTime = f.days !== 0 || f.hours !== 0n || f.minutes !== 0 || f.seconds !== 0 || f.micros !== 0;
  const standardValue = !(hasNegative && hasPositive) && !(hasYearMonth && hasDayTime);
  if (!hasNegative && !hasPositive) return '0';
  if (!standardValue) {
    // Mixed signs or mixed groups: every group gets an explicit sign so that it reads back.
    const yearSign = f.years < 0 || f.months < 0 ? '-' : '+';
    const daySign = f.days < 0 ? '-' : '+';
    const timeSign = f.hours < 0n || f.minutes < 0 || f.seconds < 0 || f.micros < 0 ? '-' : '+';
    return (
      `${yearSign}${Math.abs(f.years)}-${Math.abs(f.months)} ${daySign}${Math.abs(f.days)} ` +
      `${timeSign}${abs(f.hours)}:${pad2(Math.abs(f.minutes))}:${formatSecondsWithFraction(f.seconds, f.micros, true)}`
    );
  }
  const sign = hasNegative ? '-' : '';
  const time = (): string => `${abs(f.hours)}:${pad2(Math.abs(f.minutes))}:${formatSecondsWithFraction(f.seconds, f.micros, true)}`;
  if (hasYearMonth) return `${sign}${Math.abs(f.years)}-${Math.abs(f.months)}`;
  if (f.days !== 0) return `${sign}${Math.abs(f.days)} ${time()}`;
  return `${sign}${time()}`;
}

function formatIso8601(f: IntervalDisplayFields): string {
  if (f.years === 0 && f.months === 0 && f.days === 0 && f.hours === 0n && f.minutes === 0 && f.seconds === 0 && f.micros === 0) {
    return 'PT0S';
  }
  const part = (value: number | bigint, unit: string): string => (value === 0 || value === 0n ? '' : `${value}${unit}`);
  let out = 'P' + part(f.years, 'Y') + part(f.months, 'M') + part(f.days, 'D');
  if (f.hours !== 0n || f.minutes !== 0 || f.seconds !== 0 || f.micros !== 0) out += 'T';
  out += part(f.hours, 'H') + part(f.minutes, 'M');
  if (f.seconds !== 0 || f.micros !== 0) {
    if (f.seconds < 0 || f.micros < 0) out += '-';
    out += formatSecondsWithFraction(f.seconds, f.micros, false) + 'S';
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The value

function checkMonthsOrDays(v: number): number {
  if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) throw intervalOutOfRange();
  return v;
}

function checkMicros(v: bigint): bigint {
  if (v < INT64_MIN || v > INT64_MAX) throw intervalOutOfRange();
  return v;
}

/** Half away from zero, as PostgreSQL rounds TSROUND-style float cascades. */
function roundToMicros(x: number): number {
  return rint(x * 1e6) / 1e6;
}

function float8FitsInt32(x: number): boolean {
  return x >= INT32_MIN && x < -INT32_MIN;
}

function float8FitsInt64(x: number): boolean {
  return x >= -9223372036854775808 && x < 9223372036854775808;
}

export class Interval {
  static readonly ZERO = new Interval(0, 0, 0n);

  /** Months (a year is 12); a 32-bit integer. */
  readonly months: number;
  /** Days; a 32-bit integer. */
  readonly days: number;
  /** Microseconds; a 64-bit integer. */
  readonly micros: bigint;

  constructor(months: number, days: number, micros: bigint) {
    // Adding 0 turns the -0 that negation and Math.trunc leave behind into 0.
    this.months = months + 0;
    this.days = days + 0;
    this.micros = micros;
  }

  /** A checked constructor: out-of-range parts are "interval out of range". */
  static of(months: number, days: number, micros: bigint): Interval {
    return new Interval(checkMonthsOrDays(months), checkMonthsOrDays(days), checkMicros(micros));
  }

  /**
   * interval_in: PostgreSQL's interval input with typmod field and precision restrictions. The
   * settings matter only for IntervalStyle sql_standard, where a leading '-' negates every field.
   */
  static parse(text: string, typmod: number, s?: TypeSettings): Interval {
    const range = intervalTypmodRange(typmod);
    const sqlStandard = s?.intervalStyle.toLowerCase() === 'sql_standard';
    let parts: IntervalParts;
    try {
      try {
        parts = decodeIntervalFields(splitDateTimeFields(text, DATETIME_BUFFER.interval), range, sqlStandard);
      } catch (err) {
        if (!(err instanceof DateTimeDecodeError) || err.failure !== 'badFormat') throw err;
        parts = decodeIso8601Interval(text);
      }
    } catch (err) {
      if (err instanceof DateTimeDecodeError) {
        throw dateTimeInputError(err.failure === 'fieldOverflow' ? 'intervalOverflow' : err.failure, text, 'interval');
      }
      throw err;
    }
    const totalMonths = parts.years * 12 + parts.months;
    if (totalMonths < INT32_MIN || totalMonths > INT32_MAX) throw intervalOutOfRange();
    return roundIntervalForTypmod(new Interval(totalMonths, parts.days, parts.micros), typmod);
  }

  /** interval_out in the session's IntervalStyle. */
  format(s: TypeSettings): string {
    const f = displayFields(this);
    switch (s.intervalStyle.toLowerCase()) {
      case 'postgres_verbose':
        return formatPostgresVerbose(f);
      case 'sql_standard':
        return formatSqlStandard(f);
      case 'iso_8601':
        return formatIso8601(f);
      default:
        return formatPostgres(f);
    }
  }

  toString(): string {
    return formatPostgres(displayFields(this));
  }

  /** The interval as one number of microseconds, a month counting 30 days and a day 24 hours. */
  totalMicros(): bigint {
    return (BigInt(this.months) * BigInt(DAYS_PER_MONTH) + BigInt(this.days)) * MICROS_PER_DAY + this.micros;
  }

  /** PostgreSQL's interval ordering: '1 mon' = '30 days' = '720 hours'. */
  compare(o: Interval): number {
    const a = this.totalMicros();
    const b = o.totalMicros();
    return a < b ? -1 : a > b ? 1 : 0;
  }

  equals(o: Interval): boolean {
    return this.compare(o) === 0;
  }

  /** A grouping and hashing key: equal exactly when compare() says the intervals are equal. */
  key(): string {
    return this.totalMicros().toString();
  }

  add(o: Interval): Interval {
    return Interval.of(this.months + o.months, this.days + o.days, this.micros + o.micros);
  }

  sub(o: Interval): Interval {
    return Interval.of(this.months - o.months, this.days - o.days, this.micros - o.micros);
  }

  negate(): Interval {
    return Interval.of(-this.months, -this.days, -this.micros);
  }

  /** interval * float8: fractional months and days cascade down into days and time. */
  multiply(factor: number): Interval {
    return scaleInterval(this, factor, (v) => v * factor);
  }

  /** interval / float8 */
  divide(divisor: number): Interval {
    if (divisor === 0) throw new SqlError(SqlState.divisionByZero, 'division by zero');
    return scaleInterval(this, divisor, (v) => v / divisor);
  }
}

function scaleInterval(iv: Interval, factor: number, scale: (v: number) => number): Interval {
  if (Number.isNaN(factor)) throw intervalOutOfRange();
  const monthsScaled = scale(iv.months);
  if (Number.isNaN(monthsScaled) || !float8FitsInt32(monthsScaled)) throw intervalOutOfRange();
  const months = Math.trunc(monthsScaled);
  const daysScaled = scale(iv.days);
  if (Number.isNaN(daysScaled) || !float8FitsInt32(daysScaled)) throw intervalOutOfRange();
  let days = Math.trunc(daysScaled);
  const monthRemainderDays = roundToMicros((monthsScaled - months) * DAYS_PER_MONTH);
  let secondRemainder = roundToMicros((daysScaled - days + monthRemainderDays - Math.trunc(monthRemainderDays)) * 86400);
  if (Math.abs(secondRemainder) >= 86400) {
    const extraDays = Math.trunc(secondRemainder / 86400);
    days = checkMonthsOrDays(days + extraDays);
    secondRemainder -= extraDays * 86400;
  }
  days = checkMonthsOrDays(days + Math.trunc(monthRemainderDays));
  const micros = rint(scale(Number(iv.micros)) + secondRemainder * 1e6);
  if (Number.isNaN(micros) || !float8FitsInt64(micros)) throw intervalOutOfRange();
  return new Interval(months, days, BigInt(micros));
}

const PRECISION_SCALES = [1000000n, 100000n, 10000n, 1000n, 100n, 10n, 1n] as const;

/** Rounds microseconds to `precision` fractional digits, half away from zero (PostgreSQL's rule). */
export function roundMicrosToPrecision(micros: bigint, precision: number): bigint {
  if (precision < 0 || precision >= MAX_INTERVAL_PRECISION) return micros;
  const scale = PRECISION_SCALES[precision]!;
  const half = scale / 2n;
  return micros >= 0n ? ((micros + half) / scale) * scale : -(((-micros + half) / scale) * scale);
}

/** AdjustIntervalForTypmod: zero the fields right of the typmod's last field, round the seconds. */
export function roundIntervalForTypmod(iv: Interval, typmod: number): Interval {
  if (typmod < 0) return iv;
  const range = intervalTypmodRange(typmod);
  const precision = intervalTypmodPrecision(typmod);
  const M = IntervalFieldMask;
  let { months, days, micros } = iv;
  switch (range) {
    case INTERVAL_FULL_RANGE:
      break;
    case M.year:
      months = Math.trunc(months / 12) * 12;
      days = 0;
      micros = 0n;
      break;
    case M.month:
    case M.year | M.month:
      days = 0;
      micros = 0n;
      break;
    case M.day:
      micros = 0n;
      break;
    case M.hour:
    case M.day | M.hour:
      micros = (micros / MICROS_PER_HOUR) * MICROS_PER_HOUR;
      break;
    case M.minute:
    case M.day | M.hour | M.minute:
    case M.hour | M.minute:
      micros = (micros / MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
      break;
    case M.second:
    case M.day | M.hour | M.minute | M.second:
    case M.hour | M.minute | M.second:
    case M.minute | M.second:
      break;
    default:
      throw new SqlError(SqlState.internalError, `unrecognized interval typmod: ${typmod}`);
  }
  if (precision !== INTERVAL_FULL_PRECISION) {
    if (precision < 0 || precision > MAX_INTERVAL_PRECISION) {
      throw new SqlError(SqlState.invalidParameterValue, `interval(${precision}) precision must be between 0 and ${MAX_INTERVAL_PRECISION}`);
    }
    micros = roundMicrosToPrecision(micros, precision);
  }
  return months === iv.months && days === iv.days && micros === iv.micros ? iv : new Interval(months, days, micros);
}

// ---------------------------------------------------------------------------------------------
// justify_*

/** justify_hours: whole 24-hour periods of the time part become days. */
export function justifyHours(iv: Interval): Interval {
  let micros = iv.micros;
  const wholeDays = micros / MICROS_PER_DAY;
  micros -= wholeDays * MICROS_PER_DAY;
  let days = checkMonthsOrDays(iv.days + Number(wholeDays));
  if (days > 0 && micros < 0n) {
    micros += MICROS_PER_DAY;
    days--;
  } else if (days < 0 && micros > 0n) {
    micros -= MICROS_PER_DAY;
    days++;
  }
  return new Interval(iv.months, days, micros);
}

/** justify_days: whole 30-day periods become months. */
export function justifyDays(iv: Interval): Interval {
  const wholeMonths = Math.trunc(iv.days / DAYS_PER_MONTH);
  let days = iv.days - wholeMonths * DAYS_PER_MONTH;
  let months = checkMonthsOrDays(iv.months + wholeMonths);
  if (months > 0 && days < 0) {
    days += DAYS_PER_MONTH;
    months--;
  } else if (months < 0 && days > 0) {
    days -= DAYS_PER_MONTH;
    months++;
  }
  return new Interval(months, days, iv.micros);
}

/** justify_interval: both, with the signs of all parts made to agree. */
export function justifyInterval(iv: Interval): Interval {
  let { months, days, micros } = iv;
  // Pre-justifying days when days and time share a sign keeps the day sum below from overflowing.
  if ((days > 0 && micros > 0n) || (days < 0 && micros < 0n)) {
    const wholeMonths = Math.trunc(days / DAYS_PER_MONTH);
    days -= wholeMonths * DAYS_PER_MONTH;
    months = checkMonthsOrDays(months + wholeMonths);
  }
  const wholeDays = micros / MICROS_PER_DAY;
  micros -= wholeDays * MICROS_PER_DAY;
  days += Number(wholeDays);
  const wholeMonths = Math.trunc(days / DAYS_PER_MONTH);
  days -= wholeMonths * DAYS_PER_MONTH;
  months = checkMonthsOrDays(months + wholeMonths);
  if (months > 0 && (days < 0 || (days === 0 && micros < 0n))) {
    days += DAYS_PER_MONTH;
    months--;
  } else if (months < 0 && (days > 0 || (days === 0 && micros > 0n))) {
    days -= DAYS_PER_MONTH;
    months++;
  }
  if (days > 0 && micros < 0n) {
    micros += MICROS_PER_DAY;
    days--;
  } else if (days < 0 && micros > 0n) {
    micros -= MICROS_PER_DAY;
    days++;
  }
  return new Interval(months, days, micros);
}
