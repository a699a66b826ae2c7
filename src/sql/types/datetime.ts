// date, time, timetz, timestamp and timestamptz: text input as PostgreSQL 15 reads it (its
// DecodeDateTime and DecodeTimeOnly rules over the fields interval.ts's lexer cuts), output in
// every DateStyle, time zones (IANA names through Intl, fixed offsets, POSIX forms, the
// abbreviations of PostgreSQL's "Default" set), and the date/time arithmetic of the executor:
// timestamp ± interval, differences, age, date_trunc, extract/date_part, make_*, to_timestamp.
//
// The calendar is the proleptic Gregorian one with astronomical year numbering inside (1 BC is
// year 0), counted in Julian days as PostgreSQL does; a date is days since 1970-01-01 and a
// timestamp microseconds since 1970-01-01 (datum.ts). PostgreSQL's own epoch (2000-01-01) only
// matters where its rounding depends on the sign of a value, and is used there.

import { SqlError, SqlState } from '../errors.js';
import { TIMESTAMP_INFINITY, TIMESTAMP_MAX, TIMESTAMP_MIN, TIMESTAMP_NEG_INFINITY, type Datum, type TimeTz } from './datum.js';
import {
  DATETIME_BUFFER,
  DateTimeDecodeError,
  Interval,
  MICROS_PER_DAY,
  MICROS_PER_HOUR,
  MICROS_PER_MINUTE,
  MICROS_PER_SECOND,
  dateTimeInputError,
  decodeFailure,
  isAsciiAlpha,
  isAsciiDigit,
  justifyDays,
  justifyHours,
  justifyInterval,
  lookupDateKeyword,
  lookupIntervalKeyword,
  readCDouble,
  readCInteger,
  rint,
  splitDateTimeFields,
  type DateTimeField,
  type DateTimeUnit,
} from './interval.js';
import { formatG as formatDoubleG } from './float.js';
import { Numeric } from './numeric.js';
import { Oid } from './oids.js';
import { DEFAULT_TYPE_SETTINGS, type TypeSettings } from './settings.js';

export { justifyDays, justifyHours, justifyInterval };

// ---------------------------------------------------------------------------------------------
// Calendar constants and ranges

const UNIX_EPOCH_JULIAN = 2440588;
const POSTGRES_EPOCH_JULIAN = 2451545;
/** 2000-01-01 in our microseconds; PostgreSQL rounds timestamps as offsets from it. */
const POSTGRES_EPOCH_MICROS = 946_684_800_000_000n;
const SECONDS_PER_DAY = 86400;
const MICROS_PER_DAY_NUMBER = 86_400_000_000;

/** The first Julian day a date or timestamp may have: 4714-11-24 BC. */
const JULIAN_MIN_DAY = 0;
const JULIAN_MIN_YEAR = -4713;
const JULIAN_MIN_MONTH = 11;
/** Julian dates are only computed below 5874898-06-03 (PostgreSQL's JULIAN_MAXYEAR/MONTH). */
const JULIAN_MAX_YEAR = 5874898;
const JULIAN_MAX_MONTH = 6;
/** The first Julian day past the range of date (5874898-01-01). */
const DATE_END_JULIAN = 2147483494;
/** The first Julian day past the range of timestamp (294277-01-01). */
const TIMESTAMP_END_JULIAN = 109203528;

/** Smallest and one past the largest finite date, in days since 1970. */
export const DATE_MIN = JULIAN_MIN_DAY - UNIX_EPOCH_JULIAN;
export const DATE_END = DATE_END_JULIAN - UNIX_EPOCH_JULIAN;

/** Largest time zone displacement accepted in input, in hours (PostgreSQL's MAX_TZDISP_HOUR). */
const MAX_TZ_DISPLACEMENT_HOURS = 15;
/** A session TimeZone given in hours must stay below a week either way (PostgreSQL's limit). */
const MAX_SESSION_OFFSET_HOURS = 168;
/** Most fractional digits of time and timestamp (MAX_TIMESTAMP_PRECISION). */
export const MAX_TIMESTAMP_PRECISION = 6;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;

const DAYS_IN_MONTH = [
  [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31],
  [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31],
] as const;
const MONTH_ABBREVIATIONS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const DAY_ABBREVIATIONS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

function bigFloorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

export function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

export function daysInMonth(year: number, month: number): number {
  return DAYS_IN_MONTH[isLeapYear(year) ? 1 : 0][month - 1]!;
}

/** The Julian day number of a proleptic Gregorian date (astronomical years: 0 is 1 BC). */
export function dateToJulian(year: number, month: number, day: number): number {
  // Counting years from March makes the leap day the last day of the counted year.
  const a = month <= 2 ? 1 : 0;
  const y = year + 4800 - a;
  const m = month + 12 * a - 3;
  return day + floorDiv(153 * m + 2, 5) + 365 * y + floorDiv(y, 4) - floorDiv(y, 100) + floorDiv(y, 400) - 32045;
}

/** The inverse of dateToJulian. */
export function julianToDate(julian: number): { year: number; month: number; day: number } {
  const a = julian + 32044;
  const b = floorDiv(4 * a + 3, 146097);
  const c = a - floorDiv(146097 * b, 4);
  const d = floorDiv(4 * c + 3, 1461);
  const e = c - floorDiv(1461 * d, 4);
  const m = floorDiv(5 * e + 2, 153);
  return {
    day: e - floorDiv(153 * m + 2, 5) + 1,
    month: m + 3 - 12 * floorDiv(m, 10),
    year: 100 * b + d - 4800 + floorDiv(m, 10),
  };
}

/** Day of the week of a Julian day: 0 = Sunday. */
function julianDayOfWeek(julian: number): number {
  return (((julian + 1) % 7) + 7) % 7;
}

/** PostgreSQL's IS_VALID_JULIAN: the range its Julian-day arithmetic is defined on. */
function isValidJulian(year: number, month: number): boolean {
  return (
    (year > JULIAN_MIN_YEAR || (year === JULIAN_MIN_YEAR && month >= JULIAN_MIN_MONTH)) &&
    (year < JULIAN_MAX_YEAR || (year === JULIAN_MAX_YEAR && month < JULIAN_MAX_MONTH))
  );
}

function isValidTimestamp(t: bigint): boolean {
  return t >= TIMESTAMP_MIN && t <= TIMESTAMP_MAX;
}

export function isFiniteTimestamp(t: bigint): boolean {
  return t !== TIMESTAMP_INFINITY && t !== TIMESTAMP_NEG_INFINITY;
}

function timestampOutOfRange(input?: string): SqlError {
  return new SqlError(SqlState.datetimeFieldOverflow, input === undefined ? 'timestamp out of range' : `timestamp out of range: "${input}"`);
}

function dateOutOfRange(input?: string): SqlError {
  return new SqlError(SqlState.datetimeFieldOverflow, input === undefined ? 'date out of range' : `date out of range: "${input}"`);
}

// ---------------------------------------------------------------------------------------------
// Broken-down time

/** A date and time of day in fields (PostgreSQL's pg_tm plus fsec); years are astronomical. */
export interface BrokenDownTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Microseconds within the second. */
  micros: number;
}

function midnight(year: number, month: number, day: number): BrokenDownTime {
  return { year, month, day, hour: 0, minute: 0, second: 0, micros: 0 };
}

/** Splits microseconds since 1970 (in whatever zone they count) into fields. */
export function timestampToFields(t: bigint): BrokenDownTime {
  const days = bigFloorDiv(t, MICROS_PER_DAY);
  let rest = t - days * MICROS_PER_DAY;
  const { year, month, day } = julianToDate(Number(days) + UNIX_EPOCH_JULIAN);
  const hour = Number(rest / MICROS_PER_HOUR);
  rest -= BigInt(hour) * MICROS_PER_HOUR;
  const minute = Number(rest / MICROS_PER_MINUTE);
  rest -= BigInt(minute) * MICROS_PER_MINUTE;
  const second = Number(rest / MICROS_PER_SECOND);
  rest -= BigInt(second) * MICROS_PER_SECOND;
  return { year, month, day, hour, minute, second, micros: Number(rest) };
}

function timeOfDayMicros(tm: BrokenDownTime): bigint {
  return BigInt(((tm.hour * 60 + tm.minute) * 60 + tm.second) * 1_000_000 + tm.micros);
}

/**
 * tm2timestamp: fields (in the zone `offsetEast` seconds east of UTC, or none) to microseconds
 * since 1970, or undefined outside the timestamp range.
 */
function fieldsToTimestamp(tm: BrokenDownTime, offsetEast?: number): bigint | undefined {
  if (!isValidJulian(tm.year, tm.month)) return undefined;
  const days = dateToJulian(tm.year, tm.month, tm.day) - UNIX_EPOCH_JULIAN;
  let t = BigInt(days) * MICROS_PER_DAY + timeOfDayMicros(tm);
  if (offsetEast !== undefined) t -= BigInt(offsetEast) * MICROS_PER_SECOND;
  return isValidTimestamp(t) ? t : undefined;
}

// ---------------------------------------------------------------------------------------------
// The clock

/** Microseconds since 1970 UTC now; 'now', 'today', current_timestamp and friends read it. */
export function currentTimestamp(): bigint {
  return BigInt(Date.now()) * 1000n;
}

// ---------------------------------------------------------------------------------------------
// Time zones

/** A time zone: a fixed offset (with the abbreviation it prints as), or an IANA zone. */
export type TimeZone =
  | { readonly kind: 'fixed'; readonly offsetSeconds: number; readonly abbreviation: string }
  | { readonly kind: 'iana'; readonly name: string };

export const UTC_ZONE: TimeZone = { kind: 'fixed', offsetSeconds: 0, abbreviation: 'UTC' };

/** Before this instant (1800-01-01 UTC) every zone keeps its earliest (local mean time) offset. */
const ZONE_HISTORY_START_SECONDS = -5364662400;
/** Intl works on JS Dates, which end at 275760-09-13; later instants are folded back by 400-year cycles. */
const INTL_LAST_SECONDS = 8_640_000_000_000;
/** The Gregorian calendar repeats every 400 years, weekdays included. */
const SECONDS_PER_400_YEARS = 146097 * SECONDS_PER_DAY;
/** Zone offsets are cached per UTC day; this many days per zone at most, then the cache restarts. */
const ZONE_CACHE_DAYS = 65536;
/** Resolved zone names kept (each holds Intl formatters, which are slow to build). */
const ZONE_NAME_CACHE_SIZE = 1024;

interface IanaZoneState {
  readonly wallClock: Intl.DateTimeFormat;
  /** Offset per UTC day number when constant over that day; NaN when the day holds a transition. */
  readonly dayOffsets: Map<number, number>;
  shortNames?: Intl.DateTimeFormat;
}

const ianaStates = new Map<string, IanaZoneState>();

function ianaState(name: string): IanaZoneState {
  let state = ianaStates.get(name);
  if (state === undefined) {
    state = {
      wallClock: new Intl.DateTimeFormat('en-US', {
        timeZone: name,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      }),
      dayOffsets: new Map(),
    };
    ianaStates.set(name, state);
  }
  return state;
}

const WALL_CLOCK_TEXT = /^(\d+)\/(\d+)\/(\d+),? (\d+):(\d+):(\d+)$/;

/** The offset of an IANA zone at a UTC instant (whole seconds), straight from Intl. */
function intlOffset(state: IanaZoneState, utcSeconds: number): number {
  let t = utcSeconds;
  if (t < ZONE_HISTORY_START_SECONDS) t = ZONE_HISTORY_START_SECONDS;
  else if (t > INTL_LAST_SECONDS) t -= Math.ceil((t - INTL_LAST_SECONDS) / SECONDS_PER_400_YEARS) * SECONDS_PER_400_YEARS;
  const m = WALL_CLOCK_TEXT.exec(state.wallClock.format(t * 1000));
  if (m === null) throw new SqlError(SqlState.internalError, 'unexpected time zone formatter output');
  const [, month, day, year, hour, minute, second] = m.map(Number) as [number, number, number, number, number, number, number];
  const localDays = dateToJulian(year, month, day) - UNIX_EPOCH_JULIAN;
  return localDays * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - t;
}

/** Seconds east of UTC that `zone` is at the UTC instant `utcSeconds`. */
export function zoneOffsetAt(zone: TimeZone, utcSeconds: number): number {
  if (zone.kind === 'fixed') return zone.offsetSeconds;
  const state = ianaState(zone.name);
  const day = Math.floor(utcSeconds / SECONDS_PER_DAY);
  let cached = state.dayOffsets.get(day);
  if (cached === undefined) {
    const start = intlOffset(state, day * SECONDS_PER_DAY);
    const end = intlOffset(state, day * SECONDS_PER_DAY + SECONDS_PER_DAY - 1);
    // Zones change offset at most once a day, so equal ends mean the whole day has that offset.
    cached = start === end ? start : NaN;
    if (state.dayOffsets.size >= ZONE_CACHE_DAYS) state.dayOffsets.clear();
    state.dayOffsets.set(day, cached);
  }
  return Number.isNaN(cached) ? intlOffset(state, utcSeconds) : cached;
}

/** The first whole second in (from, to] at which the zone's offset is no longer `offset`. */
function findTransition(zone: TimeZone, from: number, to: number, offset: number): number {
  let lo = from;
  let hi = to;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zoneOffsetAt(zone, mid) === offset) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * DetermineTimeZoneOffset: the offset of a local wall-clock time (seconds since 1970 as if it were
 * UTC). In a gap (spring forward) the offset from before the change applies, for a repeated hour
 * (fall back) the one after it, as PostgreSQL chooses.
 */
export function zoneOffsetForLocal(zone: TimeZone, localSeconds: number): number {
  if (zone.kind === 'fixed') return zone.offsetSeconds;
  const previous = localSeconds - SECONDS_PER_DAY;
  const before = zoneOffsetAt(zone, previous);
  const later = zoneOffsetAt(zone, localSeconds + SECONDS_PER_DAY);
  if (later === before) return before;
  const boundary = findTransition(zone, previous, localSeconds + SECONDS_PER_DAY, before);
  const after = zoneOffsetAt(zone, boundary);
  const beforeTime = localSeconds - before;
  const afterTime = localSeconds - after;
  if (beforeTime < boundary && afterTime < boundary) return before;
  if (beforeTime >= boundary && afterTime >= boundary) return after;
  return beforeTime > afterTime ? before : after;
}

/** Seconds since 1970 (floor) of a microsecond timestamp. */
function secondsOf(t: bigint): number {
  return Number(bigFloorDiv(t, MICROS_PER_SECOND));
}

/** The offset the zone has at a UTC timestamp. */
export function offsetAtTimestamp(zone: TimeZone, utc: bigint): number {
  return zoneOffsetAt(zone, secondsOf(utc));
}

/** The offset for local fields in the zone. */
function offsetForFields(zone: TimeZone, tm: BrokenDownTime): number {
  if (zone.kind === 'fixed') return zone.offsetSeconds;
  if (!isValidJulian(tm.year, tm.month)) return 0;
  const days = dateToJulian(tm.year, tm.month, tm.day) - UNIX_EPOCH_JULIAN;
  return zoneOffsetForLocal(zone, days * SECONDS_PER_DAY + tm.hour * 3600 + tm.minute * 60 + tm.second);
}

/**
 * The offset a zone-dependent abbreviation ("MSK") means at local fields: the zone's offset then,
 * except before the zone kept standard time, where the abbreviation did not exist yet and
 * PostgreSQL takes its nearest meaning (approximated by the offset of 1970).
 */
function abbreviationOffset(zone: TimeZone, tm: BrokenDownTime): number {
  const offset = offsetForFields(zone, tm);
  return offset % 900 === 0 ? offset : zoneOffsetAt(zone, 0);
}

/** The abbreviations tzdata gives the zones people use most, as [standard, daylight]. */
const ZONE_ABBREVIATIONS: ReadonlyMap<string, readonly [string, string]> = new Map<string, readonly [string, string]>([
  ...['Europe/Paris', 'Europe/Berlin', 'Europe/Madrid', 'Europe/Rome', 'Europe/Amsterdam', 'Europe/Brussels', 'Europe/Vienna',
    'Europe/Zurich', 'Europe/Stockholm', 'Europe/Oslo', 'Europe/Copenhagen', 'Europe/Prague', 'Europe/Warsaw', 'Europe/Budapest',
    'Europe/Belgrade', 'Europe/Luxembourg', 'Europe/Monaco', 'Europe/Malta', 'Europe/Andorra', 'Europe/Tirane', 'Europe/Vaduz',
    'Europe/Ljubljana', 'Europe/Zagreb', 'Europe/Bratislava', 'Europe/Sarajevo', 'Europe/Skopje', 'Europe/Podgorica',
    'Europe/San_Marino', 'Europe/Vatican', 'Europe/Gibraltar', 'Africa/Ceuta', 'CET', 'MET'].map(
    (z): [string, readonly [string, string]] => [z, ['CET', 'CEST']],
  ),
  ...['Europe/Athens', 'Europe/Bucharest', 'Europe/Helsinki', 'Europe/Kiev', 'Europe/Kyiv', 'Europe/Riga', 'Europe/Sofia',
    'Europe/Tallinn', 'Europe/Vilnius', 'Europe/Chisinau', 'Asia/Nicosia', 'Europe/Nicosia', 'Asia/Beirut', 'Africa/Cairo',
    'Europe/Kaliningrad', 'Africa/Tripoli', 'EET'].map((z): [string, readonly [string, string]] => [z, ['EET', 'EEST']]),
  ...['Europe/Lisbon', 'Atlantic/Canary', 'Atlantic/Madeira', 'Atlantic/Faroe', 'Atlantic/Faeroe', 'WET'].map(
    (z): [string, readonly [string, string]] => [z, ['WET', 'WEST']],
  ),
  ...['America/New_York', 'America/Detroit', 'America/Toronto', 'America/Montreal', 'America/Nassau', 'America/Indiana/Indianapolis',
    'America/Kentucky/Louisville', 'America/Iqaluit', 'US/Eastern', 'EST5EDT'].map((z): [string, readonly [string, string]] => [z, ['EST', 'EDT']]),
  ...['America/Chicago', 'America/Winnipeg', 'America/Mexico_City', 'America/Menominee', 'America/Indiana/Knox', 'US/Central', 'CST6CDT'].map(
    (z): [string, readonly [string, string]] => [z, ['CST', 'CDT']],
  ),
  ...['America/Denver', 'America/Edmonton', 'America/Boise', 'America/Phoenix', 'US/Mountain', 'MST7MDT'].map(
    (z): [string, readonly [string, string]] => [z, ['MST', 'MDT']],
  ),
  ...['America/Los_Angeles', 'America/Vancouver', 'America/Tijuana', 'US/Pacific', 'PST8PDT'].map(
    (z): [string, readonly [string, string]] => [z, ['PST', 'PDT']],
  ),
  ['America/Anchorage', ['AKST', 'AKDT']],
  ['Europe/London', ['GMT', 'BST']],
  ['Europe/Dublin', ['GMT', 'IST']],
  ['Europe/Moscow', ['MSK', 'MSD']],
  ['Asia/Tokyo', ['JST', 'JDT']],
  ['Japan', ['JST', 'JDT']],
  ['Asia/Seoul', ['KST', 'KDT']],
  ['Asia/Kolkata', ['IST', 'IST']],
  ['Asia/Calcutta', ['IST', 'IST']],
  ['Asia/Shanghai', ['CST', 'CDT']],
  ['Asia/Hong_Kong', ['HKT', 'HKST']],
  ['Asia/Jerusalem', ['IST', 'IDT']],
  ['Asia/Karachi', ['PKT', 'PKST']],
  ['Asia/Manila', ['PST', 'PDT']],
  ['Asia/Jakarta', ['WIB', 'WIB']],
  ['Africa/Johannesburg', ['SAST', 'SAST']],
  ['Africa/Lagos', ['WAT', 'WAT']],
  ['Africa/Nairobi', ['EAT', 'EAT']],
  ['Australia/Sydney', ['AEST', 'AEDT']],
  ['Australia/Melbourne', ['AEST', 'AEDT']],
  ['Australia/Hobart', ['AEST', 'AEDT']],
  ['Australia/Brisbane', ['AEST', 'AEDT']],
  ['Australia/Adelaide', ['ACST', 'ACDT']],
  ['Australia/Darwin', ['ACST', 'ACDT']],
  ['Australia/Perth', ['AWST', 'AWDT']],
  ['Pacific/Auckland', ['NZST', 'NZDT']],
  ['Pacific/Honolulu', ['HST', 'HDT']],
  ['America/St_Johns', ['NST', 'NDT']],
  ['America/Halifax', ['AST', 'ADT']],
  ['America/Puerto_Rico', ['AST', 'ADT']],
]);

/** Zones whose Intl short names are the tzdata abbreviations (North America, UTC). */
const INTL_ABBREVIATION = /^(?:[ECMP][SD]T|AK[SD]T|H[SD]T|UTC|GMT)$/;

/** tzdata's numeric abbreviation of an offset, as zones without a letter one print: -03, +0530. */
function numericAbbreviation(offset: number): string {
  const sign = offset < 0 ? '-' : '+';
  const a = Math.abs(offset);
  const hours = Math.floor(a / 3600);
  const minutes = Math.floor((a % 3600) / 60);
  return `${sign}${pad2(hours)}${minutes !== 0 ? pad2(minutes) : ''}`;
}

/** The abbreviation the non-ISO DateStyles print after a timestamptz (tzdata's, where known). */
function zoneAbbreviation(zone: TimeZone, utcSeconds: number, offset: number): string {
  if (zone.kind === 'fixed') return zone.abbreviation;
  // Offsets that are not whole quarter hours are local mean time, before standard time.
  if (offset % 900 !== 0) return 'LMT';
  const known = ZONE_ABBREVIATIONS.get(zone.name);
  if (known !== undefined) {
    // Standard time is the smaller of the year's winter and summer offsets.
    const year = julianToDate(Math.floor(utcSeconds / SECONDS_PER_DAY) + UNIX_EPOCH_JULIAN).year;
    const january = zoneOffsetAt(zone, (dateToJulian(year, 1, 15) - UNIX_EPOCH_JULIAN) * SECONDS_PER_DAY);
    const july = zoneOffsetAt(zone, (dateToJulian(year, 7, 15) - UNIX_EPOCH_JULIAN) * SECONDS_PER_DAY);
    const standard = Math.min(january, july);
    return offset > standard ? known[1] : known[0];
  }
  const state = ianaState(zone.name);
  state.shortNames ??= new Intl.DateTimeFormat('en-US', { timeZone: zone.name, timeZoneName: 'short' });
  const t = Math.min(Math.max(utcSeconds, ZONE_HISTORY_START_SECONDS), INTL_LAST_SECONDS);
  const name = state.shortNames.formatToParts(t * 1000).find((p) => p.type === 'timeZoneName')?.value ?? '';
  return INTL_ABBREVIATION.test(name) && !(name === 'GMT' && offset !== 0) ? name : numericAbbreviation(offset);
}

/** A time zone abbreviation of PostgreSQL's Default set: a fixed offset, or a zone's offset at the time. */
type ZoneAbbreviation = { readonly kind: 'fixed'; readonly offset: number; readonly daylight: boolean } | { readonly kind: 'dynamic'; readonly zone: string };

// PostgreSQL's timezonesets/Default, as name:offset (D marks daylight time) or name:zone.
const DEFAULT_ABBREVIATIONS_TEXT =
  'ACDT:37800D ACSST:37800D ACST:34200 ACT:-18000 ACWST:31500 ADT:-10800D AEDT:39600D AESST:39600D AEST:36000 AFT:16200 ' +
  'AKDT:-28800D AKST:-32400 ALMST:25200D ALMT:21600 AMST:Asia/Yerevan AMT:-14400 ANAST:Asia/Anadyr ANAT:Asia/Anadyr ' +
  'ARST:America/Argentina/Buenos_Aires ART:America/Argentina/Buenos_Aires AST:-14400 AWSST:32400D AWST:28800 AZOST:0D ' +
  'AZOT:-3600 AZST:Asia/Baku AZT:Asia/Baku BDST:7200D BDT:21600 BNT:28800 BORT:28800 BOT:-14400 BRA:-10800 BRST:-7200D ' +
  'BRT:-10800 BST:3600D BTT:21600 CADT:37800D CAST:34200 CCT:28800 CDT:-18000D CEST:7200D CET:3600 CETDST:7200D ' +
  'CHADT:49500D CHAST:45900 CHUT:36000 CKT:Pacific/Rarotonga CLST:-10800D CLT:America/Santiago COT:-18000 CST:-21600 ' +
  'CXT:25200 DAVT:Antarctica/Davis DDUT:36000 EASST:Pacific/Easter EAST:Pacific/Easter EAT:10800 EDT:-14400D EEST:10800D ' +
  'EET:7200 EETDST:10800D EGST:0D EGT:-3600 EST:-18000 FET:10800 FJST:46800D FJT:43200 FKST:Atlantic/Stanley ' +
  'FKT:Atlantic/Stanley FNST:-3600D FNT:-7200 GALT:-21600 GAMT:-32400 GEST:Asia/Tbilisi GET:Asia/Tbilisi GFT:-10800 ' +
  'GILT:43200 GMT:0 GYT:America/Guyana HKT:28800 HST:-36000 ICT:25200 IDT:10800D IOT:Indian/Chagos IRKST:Asia/Irkutsk ' +
  'IRKT:Asia/Irkutsk IRT:12600 IST:7200 JAYT:32400 JST:32400 KDT:36000D KGST:21600D KGT:Asia/Bishkek KOST:Pacific/Kosrae ' +
  'KRAST:Asia/Krasnoyarsk KRAT:Asia/Krasnoyarsk KST:32400 LHDT:Australia/Lord_Howe LHST:37800 LIGT:36000 ' +
  'LINT:Pacific/Kiritimati LKT:Asia/Colombo MAGST:Asia/Magadan MAGT:Asia/Magadan MART:-34200 MAWT:Antarctica/Mawson ' +
  'MDT:-21600D MEST:7200D MESZ:7200D MET:3600 METDST:7200D MEZ:3600 MHT:43200 MMT:23400 MPT:36000 MSD:14400D ' +
  'MSK:Europe/Moscow MST:-25200 MUST:18000D MUT:14400 MVT:18000 MYT:28800 NDT:-9000D NFT:-12600 NOVST:Asia/Novosibirsk ' +
  'NOVT:Asia/Novosibirsk NPT:20700 NST:-12600 NUT:Pacific/Niue NZDT:46800D NZST:43200 NZT:43200 OMSST:Asia/Omsk ' +
  'OMST:Asia/Omsk PDT:-25200D PET:-18000 PETST:Asia/Kamchatka PETT:Asia/Kamchatka PGT:36000 PHT:28800 PKST:21600D ' +
  'PKT:18000 PMDT:-7200D PMST:-10800 PONT:39600 PST:-28800 PWT:32400 PYST:-10800D PYT:America/Asuncion RET:14400 ' +
  'SADT:37800D SAST:7200 SCT:14400 SGT:Asia/Singapore TAHT:-36000 TFT:18000 TJT:18000 TKT:Pacific/Fakaofo ' +
  'TMT:Asia/Ashgabat TOT:46800 TRUT:36000 TVT:43200 UCT:0 ULAST:32400D ULAT:Asia/Ulaanbaatar UT:0 UTC:0 UYST:-7200D ' +
  'UYT:-10800 UZST:21600D UZT:18000 VET:America/Caracas VLAST:Asia/Vladivostok VLAT:Asia/Vladivostok ' +
  'VOLT:Europe/Volgograd VUT:39600 WADT:28800D WAKT:43200 WAST:25200 WAT:3600 WDT:32400D WET:0 WETDST:3600D WFT:43200 ' +
  'WGST:-7200D WGT:-10800 XJT:21600 YAKST:Asia/Yakutsk YAKT:Asia/Yakutsk YAPT:36000 YEKST:21600D ' +
  'YEKT:Asia/Yekaterinburg Z:0 ZULU:0';

const ZONE_ABBREVIATION_TABLE: ReadonlyMap<string, ZoneAbbreviation> = new Map(
  DEFAULT_ABBREVIATIONS_TEXT.split(' ').map((entry): [string, ZoneAbbreviation] => {
    const [name, value] = entry.split(':') as [string, string];
    const m = /^(-?\d+)(D?)$/.exec(value);
    return [name.toLowerCase(), m === null ? { kind: 'dynamic', zone: value } : { kind: 'fixed', offset: Number(m[1]), daylight: m[2] === 'D' }];
  }),
);

export function lookupZoneAbbreviation(lowerCaseName: string): ZoneAbbreviation | undefined {
  return ZONE_ABBREVIATION_TABLE.get(lowerCaseName);
}

const zoneNameCache = new Map<string, TimeZone | null>();

function rememberZone(key: string, zone: TimeZone | undefined): TimeZone | undefined {
  if (zoneNameCache.size >= ZONE_NAME_CACHE_SIZE) zoneNameCache.clear();
  zoneNameCache.set(key, zone ?? null);
  return zone;
}

/** [+-]hh[:mm[:ss]] with POSIX's sign (positive is west), or undefined. */
function parsePosixOffset(text: string): number | undefined {
  const m = /^([+-]?)(\d{1,2})(?::(\d{1,2})(?::(\d{1,2}))?)?$/.exec(text);
  if (m === null) return undefined;
  const hours = Number(m[2]);
  const minutes = m[3] === undefined ? 0 : Number(m[3]);
  const seconds = m[4] === undefined ? 0 : Number(m[4]);
  if (hours > 24 || minutes > 59 || seconds > 59) return undefined;
  const west = hours * 3600 + minutes * 60 + seconds;
  return m[1] === '-' ? west : -west;
}

/**
 * A zone name as pg_tzset reads it: an IANA name (any case), else a POSIX zone "STDoffset" such as
 * "UTC+3" or "<+0530>-5:30" (POSIX offsets count west, so "UTC+3" is three hours behind UTC).
 * Undefined when it is neither.
 */
export function lookupTimeZone(name: string): TimeZone | undefined {
  const cached = zoneNameCache.get(name);
  if (cached !== undefined) return cached ?? undefined;
  if (name.length === 0 || name.length > 255) return undefined;
  const upper = name.toUpperCase();
  if (upper === 'UTC' || upper === 'GMT' || upper === 'UCT' || upper === 'ZULU' || upper === 'UNIVERSAL' || upper === 'ETC/UTC') {
    return rememberZone(name, { kind: 'fixed', offsetSeconds: 0, abbreviation: upper === 'GMT' ? 'GMT' : 'UTC' });
  }
  if (/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) {
    try {
      const resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
      return rememberZone(name, { kind: 'iana', name: resolved });
    } catch {
      // not an IANA name; maybe POSIX
    }
  }
  const posix = /^(?:<([A-Za-z0-9+-]+)>|([A-Za-z]{3,}))(.*)$/.exec(name);
  if (posix !== null) {
    const offset = parsePosixOffset(posix[3]!);
    if (offset !== undefined) return rememberZone(name, { kind: 'fixed', offsetSeconds: offset, abbreviation: (posix[1] ?? posix[2])! });
  }
  const bare = parsePosixOffset(name);
  if (bare !== undefined) return rememberZone(name, { kind: 'fixed', offsetSeconds: bare, abbreviation: '' });
  return rememberZone(name, undefined);
}

/** A TimeZone setting that is a number: hours east of UTC, SQL's sign (PostgreSQL's "SET TIME ZONE -8"). */
function settingHours(value: string): number | undefined {
  const trimmed = value.trim();
  const hours = readCDouble(trimmed, 0);
  if (hours === undefined || hours.end !== trimmed.length || trimmed.length === 0) return undefined;
  return hours.value;
}

/** The zone of a TimeZone setting's value: a number of hours east (SQL's sign), else a zone name. */
export function resolveTimeZoneSetting(value: string): TimeZone | undefined {
  const hours = settingHours(value);
  if (hours !== undefined) {
    if (!(hours > -MAX_SESSION_OFFSET_HOURS && hours < MAX_SESSION_OFFSET_HOURS)) return undefined;
    const offset = Math.trunc(hours * 3600);
    return { kind: 'fixed', offsetSeconds: offset, abbreviation: encodeOffset(offset) };
  }
  return lookupTimeZone(value);
}

/** Checks a value for SET TimeZone; the error is PostgreSQL's. */
export function checkTimeZoneSetting(value: string): void {
  if (resolveTimeZoneSetting(value) !== undefined) return;
  const message = `invalid value for parameter "TimeZone": "${value}"`;
  if (settingHours(value) !== undefined) throw new SqlError(SqlState.invalidParameterValue, message, { detail: 'UTC timezone offset is out of range.' });
  throw new SqlError(SqlState.invalidParameterValue, message);
}

const sessionZones = new Map<string, TimeZone>();

/** The session's zone (its TimeZone setting resolved once and remembered). */
export function sessionTimeZone(s: TypeSettings): TimeZone {
  let zone = sessionZones.get(s.timeZone);
  if (zone === undefined) {
    zone = resolveTimeZoneSetting(s.timeZone);
    if (zone === undefined) throw new SqlError(SqlState.invalidParameterValue, `time zone "${s.timeZone}" not recognized`);
    if (sessionZones.size >= ZONE_NAME_CACHE_SIZE) sessionZones.clear();
    sessionZones.set(s.timeZone, zone);
  }
  return zone;
}

/** timezone(zone, ...)'s zone argument: an abbreviation, a zone name, or an error as PostgreSQL's. */
export function zoneForName(name: string): TimeZone {
  const lower = name.toLowerCase();
  const abbreviation = lookupZoneAbbreviation(lower);
  if (abbreviation !== undefined) {
    if (abbreviation.kind === 'fixed') return { kind: 'fixed', offsetSeconds: abbreviation.offset, abbreviation: name.toUpperCase() };
    const zone = lookupTimeZone(abbreviation.zone);
    if (zone !== undefined) return zone;
  }
  const zone = lookupTimeZone(name);
  if (zone === undefined) throw new SqlError(SqlState.invalidParameterValue, `time zone "${name}" not recognized`);
  return zone;
}

// ---------------------------------------------------------------------------------------------
// DateStyle

export type DateOutputStyle = 'ISO' | 'SQL' | 'Postgres' | 'German';
export type DateFieldOrder = 'YMD' | 'DMY' | 'MDY';

export interface DateStyle {
  readonly style: DateOutputStyle;
  readonly order: DateFieldOrder;
}

const dateStyles = new Map<string, DateStyle>();

/** The DateStyle setting read as PostgreSQL's check_datestyle does ("ISO, MDY", "German", "SQL, DMY"). */
export function parseDateStyle(setting: string): DateStyle {
  let cached = dateStyles.get(setting);
  if (cached !== undefined) return cached;
  let style: DateOutputStyle = 'ISO';
  let order: DateFieldOrder = 'MDY';
  let haveOrder = false;
  for (const raw of setting.split(/[\s,]+/)) {
    const token = raw.toUpperCase();
    if (token === '') continue;
    if (token === 'ISO') style = 'ISO';
    else if (token === 'SQL') style = 'SQL';
    else if (token.startsWith('POSTGRES')) style = 'Postgres';
    else if (token === 'GERMAN') {
      style = 'German';
      if (!haveOrder) order = 'DMY';
    } else if (token === 'YMD') [order, haveOrder] = ['YMD', true];
    else if (token === 'DMY' || token.startsWith('EURO')) [order, haveOrder] = ['DMY', true];
    else if (token === 'MDY' || token === 'US' || token.startsWith('NONEURO')) [order, haveOrder] = ['MDY', true];
  }
  cached = { style, order };
  if (dateStyles.size >= ZONE_NAME_CACHE_SIZE) dateStyles.clear();
  dateStyles.set(setting, cached);
  return cached;
}

// ---------------------------------------------------------------------------------------------
// Input: PostgreSQL's DecodeDateTime / DecodeTimeOnly

// Token types of PostgreSQL's date/time tables; their bits make up the masks of fields seen.
const T_RESERV = 0;
const T_MONTH = 1;
const T_YEAR = 2;
const T_DAY = 3;
const T_TZ = 5;
const T_DTZ = 6;
const T_DYNTZ = 7;
const T_AMPM = 9;
const T_HOUR = 10;
const T_MINUTE = 11;
const T_SECOND = 12;
const T_MILLISECOND = 13;
const T_MICROSECOND = 14;
const T_DOY = 15;
const T_DOW = 16;
const T_ADBC = 18;
const T_DTZMOD = 28;
const bit = (t: number): number => 1 << t;
const DATE_MASK = bit(T_YEAR) | bit(T_MONTH) | bit(T_DAY);
const TIME_MASK = bit(T_HOUR) | bit(T_MINUTE) | bit(T_SECOND) | bit(T_MILLISECOND) | bit(T_MICROSECOND);

type DecodedKind = 'date' | 'time' | 'epoch' | 'infinity' | '-infinity';

/** What the decoders found. `offset` (seconds east) is set when the input named or implied a zone. */
interface Decoded {
  kind: DecodedKind;
  tm: BrokenDownTime;
  offset: number;
  /** DecodeDateTime's "only a time was given" (its return value 1). */
  timeOnly: boolean;
}

interface DecodeContext {
  readonly zone: TimeZone;
  readonly order: DateFieldOrder;
  readonly now: bigint;
}

/** The state DecodeDateTime and DecodeTimeOnly carry across fields. */
interface DecodeState {
  fmask: number;
  /** The unit a labelled number takes ("j", "t", "y" before a number); undefined when none. */
  prefix: DateTimeUnit | 'isoTime' | undefined;
  haveTextMonth: boolean;
  is2digits: boolean;
  isJulian: boolean;
  bc: boolean;
  meridian: 'am' | 'pm' | undefined;
  dayOfYear: number;
  namedZone: TimeZone | undefined;
  dynamicZone: TimeZone | undefined;
  offset: number;
}

function newState(): DecodeState {
  return {
    fmask: 0,
    prefix: undefined,
    haveTextMonth: false,
    is2digits: false,
    isJulian: false,
    bc: false,
    meridian: undefined,
    dayOfYear: 0,
    namedZone: undefined,
    dynamicZone: undefined,
    offset: 0,
  };
}

/** strtol into a C int: out of range is a field overflow; no digits gives end === start. */
function strtoint(text: string, start: number): { value: number; end: number } {
  const r = readCInteger(text, start);
  if (r.value < BigInt(INT32_MIN) || r.value > BigInt(INT32_MAX)) throw decodeFailure('fieldOverflow');
  return { value: Number(r.value), end: r.end };
}

/** ParseFractionalSecond: ".ddd" (the whole rest of the text) as microseconds. */
function parseFractionalSecond(text: string, start: number): number {
  // A lone '.' is no fraction.
  if (start + 1 >= text.length) return 0;
  const r = readCDouble(text, start);
  if (r === undefined || r.end !== text.length) throw decodeFailure('badFormat');
  return rint(r.value * 1e6);
}

/** atoi over a slice, as DecodeNumberField reads its digit groups. */
function atoi(text: string): number {
  const r = readCInteger(text, 0);
  return Number(r.value);
}

/** DecodeTimezone: "+hh", "+hh:mm", "+hh:mm:ss", "+hhmm"; returns seconds east. */
function decodeTimezone(text: string): number {
  const hourRead = readCInteger(text, 1);
  if (hourRead.value > BigInt(INT32_MAX) || hourRead.value < BigInt(INT32_MIN)) throw decodeFailure('zoneDisplacementOverflow');
  let hours = Number(hourRead.value);
  let minutes = 0;
  let seconds = 0;
  let pos = hourRead.end;
  if (text[pos] === ':') {
    const m = strtoint(text, pos + 1);
    minutes = m.value;
    pos = m.end;
    if (text[pos] === ':') {
      const sec = strtoint(text, pos + 1);
      seconds = sec.value;
      pos = sec.end;
    }
  } else if (pos === text.length && text.length > 3) {
    minutes = hours % 100;
    hours = Math.trunc(hours / 100);
  }
  if (hours < 0 || hours > MAX_TZ_DISPLACEMENT_HOURS) throw decodeFailure('zoneDisplacementOverflow');
  if (minutes < 0 || minutes >= 60) throw decodeFailure('zoneDisplacementOverflow');
  if (seconds < 0 || seconds >= 60) throw decodeFailure('zoneDisplacementOverflow');
  if (pos !== text.length) throw decodeFailure('badFormat');
  const total = (hours * 60 + minutes) * 60 + seconds;
  return text[0] === '-' ? -total : total;
}

/** DecodeTime: hh:mm[:ss[.fff]] or mm:ss.fff into tm; returns the mask of fields set. */
function decodeTime(text: string, tm: BrokenDownTime): number {
  const h = strtoint(text, 0);
  if (text[h.end] !== ':') throw decodeFailure('badFormat');
  const m = strtoint(text, h.end + 1);
  tm.hour = h.value;
  tm.minute = m.value;
  let pos = m.end;
  if (pos === text.length) {
    tm.second = 0;
    tm.micros = 0;
  } else if (text[pos] === '.') {
    // Two fields with a fraction are minutes and seconds.
    tm.micros = parseFractionalSecond(text, pos);
    tm.second = tm.minute;
    tm.minute = tm.hour;
    tm.hour = 0;
  } else if (text[pos] === ':') {
    const s = strtoint(text, pos + 1);
    tm.second = s.value;
    pos = s.end;
    if (pos === text.length) tm.micros = 0;
    else if (text[pos] === '.') tm.micros = parseFractionalSecond(text, pos);
    else throw decodeFailure('badFormat');
  } else {
    throw decodeFailure('badFormat');
  }
  if (tm.hour < 0 || tm.minute < 0 || tm.minute > 59 || tm.second < 0 || tm.second > 60 || tm.micros < 0 || tm.micros > 1_000_000) {
    throw decodeFailure('fieldOverflow');
  }
  return TIME_MASK;
}

function timeOverflows(tm: BrokenDownTime): boolean {
  if (tm.hour < 0 || tm.hour > 24 || tm.minute < 0 || tm.minute >= 60 || tm.second < 0 || tm.second > 60 || tm.micros < 0 || tm.micros > 1_000_000) {
    return true;
  }
  return ((tm.hour * 60 + tm.minute) * 60 + tm.second) * 1_000_000 + tm.micros > MICROS_PER_DAY_NUMBER;
}

/**
 * DecodeNumberField: a run of digits (with an optional fraction) as yyyymmdd, yymmdd, hhmmss or
 * hhmm. Returns the mask of fields set and whether it was a date or a time.
 */
function decodeNumberField(field: string, fmask: number, tm: BrokenDownTime, st: DecodeState): { mask: number; kind: 'date' | 'time' } {
  let text = field;
  const dot = text.indexOf('.');
  if (dot >= 0) {
    if (dot + 1 === text.length) {
      tm.micros = 0;
    } else {
      const r = readCDouble(text, dot);
      if (r === undefined) throw decodeFailure('badFormat');
      tm.micros = rint(r.value * 1e6);
    }
    text = text.slice(0, dot);
  } else if ((fmask & DATE_MASK) !== DATE_MASK) {
    if (text.length >= 6) {
      const n = text.length;
      tm.day = atoi(text.slice(n - 2));
      tm.month = atoi(text.slice(n - 4, n - 2));
      tm.year = atoi(text.slice(0, n - 4));
      if (n - 4 === 2) st.is2digits = true;
      return { mask: DATE_MASK, kind: 'date' };
    }
  }
  if ((fmask & TIME_MASK) !== TIME_MASK) {
    if (text.length === 6) {
      tm.second = atoi(text.slice(4));
      tm.minute = atoi(text.slice(2, 4));
      tm.hour = atoi(text.slice(0, 2));
      return { mask: TIME_MASK, kind: 'time' };
    }
    if (text.length === 4) {
      tm.second = 0;
      tm.minute = atoi(text.slice(2));
      tm.hour = atoi(text.slice(0, 2));
      return { mask: TIME_MASK, kind: 'time' };
    }
  }
  throw decodeFailure('badFormat');
}

/** DecodeNumber: one number of a date (year, month or day by position and DateStyle) or a time. */
function decodeNumber(field: string, haveTextMonth: boolean, fmask: number, tm: BrokenDownTime, st: DecodeState, order: DateFieldOrder): number {
  const r = strtoint(field, 0);
  if (r.end === 0) throw decodeFailure('badFormat');
  const value = r.value;
  if (field[r.end] === '.') {
    // More than two digits before the point: a run-together date or time (20011225.5, 040506.789).
    if (r.end > 2) return decodeNumberField(field, fmask | DATE_MASK, tm, st).mask;
    tm.micros = parseFractionalSecond(field, r.end);
  } else if (r.end !== field.length) {
    throw decodeFailure('badFormat');
  }
  const flen = field.length;
  // Three digits after a year alone: a day of the year.
  if (flen === 3 && (fmask & DATE_MASK) === bit(T_YEAR) && value >= 1 && value <= 366) {
    st.dayOfYear = value;
    return bit(T_DOY) | bit(T_MONTH) | bit(T_DAY);
  }
  let mask: number;
  switch (fmask & DATE_MASK) {
    case 0:
      if (flen >= 3 || order === 'YMD') {
        mask = bit(T_YEAR);
        tm.year = value;
      } else if (order === 'DMY') {
        mask = bit(T_DAY);
        tm.day = value;
      } else {
        mask = bit(T_MONTH);
        tm.month = value;
      }
      break;
    case bit(T_YEAR):
      mask = bit(T_MONTH);
      tm.month = value;
      break;
    case bit(T_MONTH):
      if (haveTextMonth) {
        if (flen >= 3 || order === 'YMD') {
          mask = bit(T_YEAR);
          tm.year = value;
        } else {
          mask = bit(T_DAY);
          tm.day = value;
        }
      } else {
        mask = bit(T_DAY);
        tm.day = value;
      }
      break;
    case bit(T_YEAR) | bit(T_MONTH):
      if (haveTextMonth && flen >= 3 && st.is2digits) {
        // DD-MON-YYYY: what looked like a two-digit year was the day.
        tm.day = tm.year;
        tm.year = value;
        st.is2digits = false;
        return bit(T_DAY);
      }
      mask = bit(T_DAY);
      tm.day = value;
      break;
    case bit(T_DAY):
      mask = bit(T_MONTH);
      tm.month = value;
      break;
    case bit(T_MONTH) | bit(T_DAY):
      mask = bit(T_YEAR);
      tm.year = value;
      break;
    case DATE_MASK:
      return decodeNumberField(field, fmask, tm, st).mask;
    default:
      throw decodeFailure('badFormat');
  }
  if (mask === bit(T_YEAR)) st.is2digits = flen <= 2;
  return mask;
}

/** DecodeDate: a date field with separators ("2024-03-01", "1/3/2024", "jan-01-2024", "2001.360"). */
function decodeDate(text: string, fmask0: number, tm: BrokenDownTime, st: DecodeState, order: DateFieldOrder): number {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length && parts.length < 25) {
    while (i < text.length && !isAsciiDigit(text[i]) && !isAsciiAlpha(text[i])) i++;
    if (i >= text.length) throw decodeFailure('badFormat');
    const start = i;
    if (isAsciiDigit(text[i])) while (isAsciiDigit(text[i])) i++;
    else while (isAsciiAlpha(text[i])) i++;
    parts.push(text.slice(start, i));
    // The character that ends a run is consumed with it, whatever it is.
    if (i < text.length) i++;
  }
  let fmask = fmask0;
  let tmask = 0;
  let haveTextMonth = false;
  const numeric: string[] = [];
  for (const part of parts) {
    if (isAsciiAlpha(part[0])) {
      const keyword = lookupDateKeyword(part);
      if (keyword?.kind === 'ignore') continue;
      if (keyword?.kind !== 'month') throw decodeFailure('badFormat');
      tm.month = keyword.month;
      haveTextMonth = true;
      if (fmask & bit(T_MONTH)) throw decodeFailure('badFormat');
      fmask |= bit(T_MONTH);
      tmask |= bit(T_MONTH);
    } else {
      numeric.push(part);
    }
  }
  for (const part of numeric) {
    if (part.length === 0) throw decodeFailure('badFormat');
    const dmask = decodeNumber(part, haveTextMonth, fmask, tm, st, order);
    if (fmask & dmask) throw decodeFailure('badFormat');
    fmask |= dmask;
    tmask |= dmask;
  }
  if ((fmask & ~(bit(T_DOY) | bit(T_TZ))) !== DATE_MASK) throw decodeFailure('badFormat');
  if (haveTextMonth) st.haveTextMonth = true;
  return tmask;
}

/** ValidateDate: BC and two-digit years, day of year, month and day ranges. */
function validateDate(fmask: number, tm: BrokenDownTime, st: DecodeState): void {
  if (fmask & DATE_MASK) {
    if (st.isJulian) {
      // the year came from a Julian day and is right as it is
    } else if (st.bc) {
      if (tm.year <= 0) throw decodeFailure('fieldOverflow');
      tm.year = -(tm.year - 1);
    } else if (st.is2digits) {
      if (tm.year < 0) throw decodeFailure('fieldOverflow');
      if (tm.year < 70) tm.year += 2000;
      else if (tm.year < 100) tm.year += 1900;
    } else if (tm.year <= 0) {
      throw decodeFailure('fieldOverflow');
    }
  }
  if (fmask & bit(T_DOY)) {
    const d = julianToDate(dateToJulian(tm.year, 1, 1) + st.dayOfYear - 1);
    tm.year = d.year;
    tm.month = d.month;
    tm.day = d.day;
  }
  if (fmask & bit(T_MONTH) && (tm.month < 1 || tm.month > 12)) throw decodeFailure('monthDayOverflow');
  if (fmask & bit(T_DAY) && (tm.day < 1 || tm.day > 31)) throw decodeFailure('monthDayOverflow');
  if ((fmask & DATE_MASK) === DATE_MASK && tm.day > daysInMonth(tm.year, tm.month)) throw decodeFailure('fieldOverflow');
}

function applyMeridian(tm: BrokenDownTime, st: DecodeState): void {
  if (st.meridian !== undefined && tm.hour > 12) throw decodeFailure('fieldOverflow');
  if (st.meridian === 'am' && tm.hour === 12) tm.hour = 0;
  else if (st.meridian === 'pm' && tm.hour !== 12) tm.hour += 12;
}

/** The current local fields in the session zone (GetCurrentDateTime / GetCurrentTimeUsec). */
function currentLocalFields(ctx: DecodeContext): { tm: BrokenDownTime; offset: number } {
  const offset = offsetAtTimestamp(ctx.zone, ctx.now);
  return { tm: timestampToFields(ctx.now + BigInt(offset) * MICROS_PER_SECOND), offset };
}

function relativeDay(ctx: DecodeContext, deltaDays: number): BrokenDownTime {
  const { tm } = currentLocalFields(ctx);
  const d = julianToDate(dateToJulian(tm.year, tm.month, tm.day) + deltaDays);
  return midnight(d.year, d.month, d.day);
}

function setDate(tm: BrokenDownTime, from: { readonly year: number; readonly month: number; readonly day: number }): void {
  tm.year = from.year;
  tm.month = from.month;
  tm.day = from.day;
}

function setTime(tm: BrokenDownTime, from: BrokenDownTime): void {
  tm.hour = from.hour;
  tm.minute = from.minute;
  tm.second = from.second;
  tm.micros = from.micros;
}

/**
 * A number after a unit label: "j2451187" (Julian day, maybe fractional) or "t123456" (ISO time);
 * also the "y2001m02d04" labelled form. Returns the mask of fields set.
 */
function decodeLabelledNumber(field: string, fmask: number, tm: BrokenDownTime, st: DecodeState): number {
  const r = strtoint(field, 0);
  const rest = field[r.end];
  if (rest !== undefined && rest !== '.') throw decodeFailure('badFormat');
  const prefix = st.prefix;
  if (rest === '.' && prefix !== 'julian' && prefix !== 'isoTime' && prefix !== 'second') throw decodeFailure('badFormat');
  switch (prefix) {
    case 'year':
      tm.year = r.value;
      return bit(T_YEAR);
    case 'month':
      // after a month and an hour, "m" means minutes
      if (fmask & bit(T_MONTH) && fmask & bit(T_HOUR)) {
        tm.minute = r.value;
        return bit(T_MINUTE);
      }
      tm.month = r.value;
      return bit(T_MONTH);
    case 'day':
      tm.day = r.value;
      return bit(T_DAY);
    case 'hour':
      tm.hour = r.value;
      return bit(T_HOUR);
    case 'minute':
      tm.minute = r.value;
      return bit(T_MINUTE);
    case 'second':
      tm.second = r.value;
      if (rest === '.') {
        tm.micros = parseFractionalSecond(field, r.end);
        return bit(T_SECOND) | bit(T_MILLISECOND) | bit(T_MICROSECOND);
      }
      return bit(T_SECOND);
    case 'julian': {
      if (r.value < 0) throw decodeFailure('fieldOverflow');
      const d = julianToDate(r.value);
      setDate(tm, d);
      st.isJulian = true;
      if (rest === '.') {
        const f = readCDouble(field, r.end);
        if (f === undefined || f.end !== field.length) throw decodeFailure('badFormat');
        setTime(tm, timestampToFields(BigInt(Math.trunc(f.value * MICROS_PER_DAY_NUMBER))));
        return DATE_MASK | TIME_MASK;
      }
      return DATE_MASK;
    }
    case 'isoTime': {
      const result = decodeNumberField(field, fmask | DATE_MASK, tm, st);
      if (result.mask !== TIME_MASK) throw decodeFailure('badFormat');
      return result.mask;
    }
    default:
      throw decodeFailure('badFormat');
  }
}

/** A word: keyword, zone abbreviation or zone name. Returns the mask it sets, or undefined to skip. */
function decodeWord(
  fields: readonly DateTimeField[],
  i: number,
  tm: BrokenDownTime,
  st: DecodeState,
  ctx: DecodeContext,
  timeOnly: boolean,
  result: { kind: DecodedKind },
): number | undefined {
  const text = fields[i]!.text;
  const abbreviation = lookupZoneAbbreviation(text);
  if (abbreviation !== undefined) {
    if (abbreviation.kind === 'dynamic') {
      const zone = lookupTimeZone(abbreviation.zone);
      if (zone === undefined) throw decodeFailure('badFormat');
      st.dynamicZone = zone;
      return bit(T_TZ) | bit(T_DYNTZ);
    }
    st.offset = abbreviation.offset;
    return abbreviation.daylight ? bit(T_DTZ) | bit(T_TZ) : bit(T_TZ);
  }
  const keyword = lookupDateKeyword(text);
  if (keyword === undefined) {
    // Perhaps an all-letters zone name ("japan", "utc").
    const zone = lookupTimeZone(text);
    if (zone === undefined) throw decodeFailure('badFormat');
    st.namedZone = zone;
    return bit(T_TZ);
  }
  switch (keyword.kind) {
    case 'ignore':
      return undefined;
    case 'reserved':
      if (timeOnly) {
        if (keyword.word === 'now') {
          result.kind = 'time';
          setTime(tm, currentLocalFields(ctx).tm);
          return TIME_MASK;
        }
        if (keyword.word === 'allballs') {
          result.kind = 'time';
          tm.hour = tm.minute = tm.second = tm.micros = 0;
          st.offset = 0;
          return TIME_MASK | bit(T_TZ);
        }
        throw decodeFailure('badFormat');
      }
      switch (keyword.word) {
        case 'now': {
          result.kind = 'date';
          const current = currentLocalFields(ctx);
          setDate(tm, current.tm);
          setTime(tm, current.tm);
          st.offset = current.offset;
          return DATE_MASK | TIME_MASK | bit(T_TZ);
        }
        case 'yesterday':
        case 'today':
        case 'tomorrow': {
          result.kind = 'date';
          const d = relativeDay(ctx, keyword.word === 'yesterday' ? -1 : keyword.word === 'tomorrow' ? 1 : 0);
          setDate(tm, d);
          setTime(tm, d);
          return DATE_MASK;
        }
        case 'allballs':
          result.kind = 'date';
          tm.hour = tm.minute = tm.second = 0;
          st.offset = 0;
          return TIME_MASK | bit(T_TZ);
        case 'epoch':
        case 'infinity':
        case '-infinity':
          result.kind = keyword.word;
          return bit(T_RESERV);
      }
      return bit(T_RESERV);
    case 'month':
      if (timeOnly) throw decodeFailure('badFormat');
      {
        let mask = bit(T_MONTH);
        // A number already taken for a month was the day: "1 jan".
        if (st.fmask & bit(T_MONTH) && !st.haveTextMonth && !(st.fmask & bit(T_DAY)) && tm.month >= 1 && tm.month <= 31) {
          tm.day = tm.month;
          mask = bit(T_DAY);
        }
        st.haveTextMonth = true;
        tm.month = keyword.month;
        return mask;
      }
    case 'daylightSaving':
      st.offset += keyword.seconds;
      return bit(T_DTZMOD) | bit(T_DTZ);
    case 'meridian':
      st.meridian = keyword.pm ? 'pm' : 'am';
      return bit(T_AMPM);
    case 'era':
      st.bc = keyword.bc;
      return bit(T_ADBC);
    case 'dayOfWeek':
      if (timeOnly) throw decodeFailure('badFormat');
      return bit(T_DOW);
    case 'unit':
      st.prefix = keyword.unit;
      return 0;
    case 'isoTime': {
      if (!timeOnly && (st.fmask & DATE_MASK) !== DATE_MASK) throw decodeFailure('badFormat');
      const next = fields[i + 1];
      if (next === undefined || (next.kind !== 'number' && next.kind !== 'time' && next.kind !== 'date')) throw decodeFailure('badFormat');
      st.prefix = 'isoTime';
      return 0;
    }
  }
}

/** DecodeDateTime over lexed fields (date, timestamp and timestamptz input). */
function decodeDateTime(fields: readonly DateTimeField[], ctx: DecodeContext): Decoded {
  const tm = midnight(0, 0, 0);
  const st = newState();
  const result: { kind: DecodedKind } = { kind: 'date' };
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    let tmask = 0;
    switch (field.kind) {
      case 'date':
        if (st.prefix === 'julian') {
          const r = strtoint(field.text, 0);
          if (r.value < 0) throw decodeFailure('fieldOverflow');
          setDate(tm, julianToDate(r.value));
          st.isJulian = true;
          st.offset = decodeTimezone(field.text.slice(r.end));
          tmask = DATE_MASK | TIME_MASK | bit(T_TZ);
          st.prefix = undefined;
        } else if (st.prefix !== undefined || (st.fmask & (bit(T_MONTH) | bit(T_DAY))) === (bit(T_MONTH) | bit(T_DAY))) {
          // A zone name with punctuation ("america/new_york"), or hhmmss-zz after the date.
          if (isAsciiDigit(field.text[0]) || st.prefix !== undefined) {
            if (st.prefix !== undefined) {
              if (st.prefix !== 'isoTime') throw decodeFailure('badFormat');
              st.prefix = undefined;
            }
            if ((st.fmask & TIME_MASK) === TIME_MASK) throw decodeFailure('badFormat');
            const dash = field.text.indexOf('-');
            if (dash < 0) throw decodeFailure('badFormat');
            st.offset = decodeTimezone(field.text.slice(dash));
            tmask = decodeNumberField(field.text.slice(0, dash), st.fmask, tm, st).mask | bit(T_TZ);
          } else {
            const zone = lookupTimeZone(field.text);
            if (zone === undefined) throw new SqlError(SqlState.invalidParameterValue, `time zone "${field.text}" not recognized`);
            st.namedZone = zone;
            tmask = bit(T_TZ);
          }
        } else {
          tmask = decodeDate(field.text, st.fmask, tm, st, ctx.order);
        }
        break;
      case 'time':
        if (st.prefix !== undefined) {
          if (st.prefix !== 'isoTime') throw decodeFailure('badFormat');
          st.prefix = undefined;
        }
        tmask = decodeTime(field.text, tm);
        if (timeOverflows(tm)) throw decodeFailure('fieldOverflow');
        break;
      case 'tz':
        st.offset = decodeTimezone(field.text);
        tmask = bit(T_TZ);
        break;
      case 'number':
        if (st.prefix !== undefined) {
          tmask = decodeLabelledNumber(field.text, st.fmask, tm, st);
          st.prefix = undefined;
          result.kind = 'date';
        } else {
          const text = field.text;
          const dot = text.indexOf('.');
          if (dot >= 0 && !(st.fmask & DATE_MASK)) {
            tmask = decodeDate(text, st.fmask, tm, st, ctx.order);
          } else if (dot >= 0 && dot > 2) {
            tmask = decodeNumberField(text, st.fmask, tm, st).mask;
          } else if (text.length >= 6 && (!(st.fmask & DATE_MASK) || !(st.fmask & TIME_MASK))) {
            // Six digits or more: yyyymmdd or hhmmss, unless both a date and a time are already in.
            tmask = decodeNumberField(text, st.fmask, tm, st).mask;
          } else {
            tmask = decodeNumber(text, st.haveTextMonth, st.fmask, tm, st, ctx.order);
          }
        }
        break;
      case 'string':
      case 'special': {
        const mask = decodeWord(fields, i, tm, st, ctx, false, result);
        if (mask === undefined) continue;
        tmask = mask;
        break;
      }
    }
    if (tmask & st.fmask) throw decodeFailure('badFormat');
    st.fmask |= tmask;
  }
  validateDate(st.fmask, tm, st);
  applyMeridian(tm, st);
  const decoded: Decoded = { kind: result.kind, tm, offset: st.offset, timeOnly: false };
  if (result.kind === 'date') {
    if ((st.fmask & DATE_MASK) !== DATE_MASK) {
      if ((st.fmask & TIME_MASK) === TIME_MASK) decoded.timeOnly = true;
      else throw decodeFailure('badFormat');
      return decoded;
    }
    if (st.namedZone !== undefined) {
      if (st.fmask & bit(T_DTZMOD)) throw decodeFailure('badFormat');
      decoded.offset = offsetForFields(st.namedZone, tm);
    }
    if (st.dynamicZone !== undefined) {
      if (st.fmask & bit(T_DTZMOD)) throw decodeFailure('badFormat');
      decoded.offset = abbreviationOffset(st.dynamicZone, tm);
    }
    if (!(st.fmask & bit(T_TZ))) {
      if (st.fmask & bit(T_DTZMOD)) throw decodeFailure('badFormat');
      decoded.offset = offsetForFields(ctx.zone, tm);
    }
  }
  return decoded;
}

/** DecodeTimeOnly over lexed fields (time and timetz input). */
function decodeTimeOnly(fields: readonly DateTimeField[], ctx: DecodeContext): Decoded {
  const tm = midnight(0, 0, 0);
  const st = newState();
  const result: { kind: DecodedKind } = { kind: 'time' };
  const nf = fields.length;
  for (let i = 0; i < nf; i++) {
    const field = fields[i]!;
    let tmask = 0;
    switch (field.kind) {
      case 'date':
        if (i === 0 && nf >= 2 && (fields[nf - 1]!.kind === 'date' || fields[1]!.kind === 'time')) {
          tmask = decodeDate(field.text, st.fmask, tm, st, ctx.order);
        } else if (isAsciiDigit(field.text[0])) {
          if ((st.fmask & TIME_MASK) === TIME_MASK) throw decodeFailure('badFormat');
          const dash = field.text.indexOf('-');
          if (dash < 0) throw decodeFailure('badFormat');
          st.offset = decodeTimezone(field.text.slice(dash));
          tmask = decodeNumberField(field.text.slice(0, dash), st.fmask | DATE_MASK, tm, st).mask | bit(T_TZ);
        } else {
          const zone = lookupTimeZone(field.text);
          if (zone === undefined) throw new SqlError(SqlState.invalidParameterValue, `time zone "${field.text}" not recognized`);
          st.namedZone = zone;
          tmask = bit(T_TZ);
        }
        break;
      case 'time':
        if (st.prefix !== undefined) {
          if (st.prefix !== 'isoTime') throw decodeFailure('badFormat');
          st.prefix = undefined;
        }
        tmask = decodeTime(field.text, tm);
        break;
      case 'tz':
        st.offset = decodeTimezone(field.text);
        tmask = bit(T_TZ);
        break;
      case 'number':
        if (st.prefix !== undefined) {
          tmask = decodeLabelledNumber(field.text, st.fmask, tm, st);
          st.prefix = undefined;
        } else {
          const text = field.text;
          const dot = text.indexOf('.');
          if (dot >= 0) {
            if (i === 0 && nf >= 2 && fields[nf - 1]!.kind === 'date') tmask = decodeDate(text, st.fmask, tm, st, ctx.order);
            else if (dot > 2) tmask = decodeNumberField(text, st.fmask | DATE_MASK, tm, st).mask;
            else throw decodeFailure('badFormat');
          } else if (text.length > 4) {
            tmask = decodeNumberField(text, st.fmask | DATE_MASK, tm, st).mask;
          } else {
            tmask = decodeNumber(text, false, st.fmask | DATE_MASK, tm, st, ctx.order);
          }
        }
        break;
      case 'string':
      case 'special': {
        const mask = decodeWord(fields, i, tm, st, ctx, true, result);
        if (mask === undefined) continue;
        tmask = mask;
        break;
      }
    }
    if (tmask & st.fmask) throw decodeFailure('badFormat');
    st.fmask |= tmask;
  }
  validateDate(st.fmask, tm, st);
  applyMeridian(tm, st);
  if (timeOverflows(tm)) throw decodeFailure('fieldOverflow');
  if ((st.fmask & TIME_MASK) !== TIME_MASK) throw decodeFailure('badFormat');
  const decoded: Decoded = { kind: result.kind, tm, offset: st.offset, timeOnly: true };
  const zoneDate = (): BrokenDownTime => {
    if ((st.fmask & DATE_MASK) === 0) {
      const today = currentLocalFields(ctx).tm;
      return { ...today, hour: tm.hour, minute: tm.minute, second: tm.second, micros: 0 };
    }
    if ((st.fmask & DATE_MASK) !== DATE_MASK) throw decodeFailure('badFormat');
    return { ...tm, micros: 0 };
  };
  if (st.namedZone !== undefined) {
    if (st.fmask & bit(T_DTZMOD)) throw decodeFailure('badFormat');
    if (st.namedZone.kind === 'fixed') decoded.offset = st.namedZone.offsetSeconds;
    else {
      if ((st.fmask & DATE_MASK) !== DATE_MASK) throw decodeFailure('badFormat');
      decoded.offset = offsetForFields(st.namedZone, tm);
    }
  }
  if (st.dynamicZone !== undefined) {
    if (st.fmask & bit(T_DTZMOD)) throw decodeFailure('badFormat');
    decoded.offset = abbreviationOffset(st.dynamicZone, zoneDate());
  }
  if (!(st.fmask & bit(T_TZ))) {
    if (st.fmask & bit(T_DTZMOD)) throw decodeFailure('badFormat');
    decoded.offset = offsetForFields(ctx.zone, zoneDate());
  }
  return decoded;
}

/** Lexes and decodes, turning decoder failures into PostgreSQL's errors for `typeName`. */
function decodeInput(text: string, typeName: string, bufferSize: number, ctx: DecodeContext, timeOnly: boolean): Decoded {
  try {
    const fields = splitDateTimeFields(text, bufferSize);
    return timeOnly ? decodeTimeOnly(fields, ctx) : decodeDateTime(fields, ctx);
  } catch (err) {
    if (err instanceof DateTimeDecodeError) throw dateTimeInputError(err.failure, text, typeName);
    throw err;
  }
}

function contextFor(s: TypeSettings, now?: bigint): DecodeContext {
  return { zone: sessionTimeZone(s), order: parseDateStyle(s.dateStyle).order, now: now ?? currentTimestamp() };
}

function badFormat(typeName: string, text: string): SqlError {
  return dateTimeInputError('badFormat', text, typeName);
}

/** date_in. `now` is the time 'now', 'today' and friends mean (the statement's, by default the clock's). */
export function parseDate(text: string, s: TypeSettings, now?: bigint): number {
  const d = decodeInput(text, 'date', DATETIME_BUFFER.dateOrTime, contextFor(s, now), false);
  let tm = d.tm;
  switch (d.kind) {
    case 'infinity':
      return Infinity;
    case '-infinity':
      return -Infinity;
    case 'epoch':
      tm = midnight(1970, 1, 1);
      break;
    case 'date':
      if (d.timeOnly) throw badFormat('date', text);
      break;
    default:
      throw badFormat('date', text);
  }
  if (!isValidJulian(tm.year, tm.month)) throw dateOutOfRange(text);
  const days = dateToJulian(tm.year, tm.month, tm.day) - UNIX_EPOCH_JULIAN;
  if (days < DATE_MIN || days >= DATE_END) throw dateOutOfRange(text);
  return days;
}

function decodeTimestampInput(text: string, typeName: string, s: TypeSettings, withZone: boolean, now?: bigint): bigint {
  const d = decodeInput(text, typeName, DATETIME_BUFFER.timestamp, contextFor(s, now), false);
  switch (d.kind) {
    case 'infinity':
      return TIMESTAMP_INFINITY;
    case '-infinity':
      return TIMESTAMP_NEG_INFINITY;
    case 'epoch':
      return 0n;
    case 'date': {
      if (d.timeOnly) throw badFormat(typeName, text);
      const t = fieldsToTimestamp(d.tm, withZone ? d.offset : undefined);
      if (t === undefined) throw timestampOutOfRange(text);
      return t;
    }
    default:
      throw new SqlError(SqlState.internalError, `unexpected dtype while parsing ${typeName} "${text}"`);
  }
}

/** timestamp_in: the zone, if written, is read and ignored, as PostgreSQL does. */
export function parseTimestamp(text: string, typmod: number, s: TypeSettings, now?: bigint): bigint {
  const t = decodeTimestampInput(text, 'timestamp', s, false, now);
  return isFiniteTimestamp(t) ? roundTimestampPrecision(t, typmod) : t;
}

/** timestamptz_in: a written zone or offset wins, otherwise the session's zone at that local time. */
export function parseTimestampTz(text: string, typmod: number, s: TypeSettings, now?: bigint): bigint {
  const t = decodeTimestampInput(text, 'timestamp with time zone', s, true, now);
  return isFiniteTimestamp(t) ? roundTimestampPrecision(t, typmod) : t;
}

/** time_in */
export function parseTime(text: string, typmod: number, s?: TypeSettings, now?: bigint): bigint {
  const settings = s ?? DEFAULT_TYPE_SETTINGS;
  const d = decodeInput(text, 'time', DATETIME_BUFFER.dateOrTime, contextFor(settings, now), true);
  return roundTimePrecision(timeOfDayMicros(d.tm), typmod);
}

/** timetz_in: the offset written, else the session zone's on the date given or today. */
export function parseTimeTz(text: string, typmod: number, s: TypeSettings, now?: bigint): TimeTz {
  const d = decodeInput(text, 'time with time zone', DATETIME_BUFFER.dateOrTime, contextFor(s, now), true);
  return { micros: roundTimePrecision(timeOfDayMicros(d.tm), typmod), offsetSeconds: d.offset };
}


// ---------------------------------------------------------------------------------------------
// Precision

const PRECISION_SCALES = [1_000_000n, 100_000n, 10_000n, 1_000n, 100n, 10n, 1n] as const;

/**
 * AdjustTimestampForTypmod: rounds to `precision` fractional digits, half away from zero as seen
 * from PostgreSQL's epoch (2000-01-01), which decides ties before 2000. No change for -1 or 6.
 */
export function roundTimestampPrecision(micros: bigint, precision: number): bigint {
  if (!isFiniteTimestamp(micros) || precision < 0 || precision >= MAX_TIMESTAMP_PRECISION) return micros;
  const scale = PRECISION_SCALES[precision]!;
  const half = scale / 2n;
  const t = micros - POSTGRES_EPOCH_MICROS;
  const rounded = t >= 0n ? ((t + half) / scale) * scale : -(((-t + half) / scale) * scale);
  return rounded + POSTGRES_EPOCH_MICROS;
}

/** AdjustTimeForTypmod: times are never negative, so this rounds half up (24:00:00 may result). */
export function roundTimePrecision(micros: bigint, precision: number): bigint {
  if (precision < 0 || precision >= MAX_TIMESTAMP_PRECISION) return micros;
  const scale = PRECISION_SCALES[precision]!;
  return ((micros + scale / 2n) / scale) * scale;
}

// ---------------------------------------------------------------------------------------------
// Output

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function pad4(n: number): string {
  return String(n).padStart(4, '0');
}

/** The year as written: 1 BC is year 0 inside. */
function displayYear(year: number): number {
  return year > 0 ? year : -(year - 1);
}

/** Seconds with a fraction trimmed of trailing zeros ("05", "05.5", "05.123456"). */
function formatSeconds(second: number, micros: number): string {
  let out = pad2(second);
  if (micros !== 0) out += '.' + String(micros).padStart(6, '0').replace(/0+$/, '');
  return out;
}

function formatClock(tm: BrokenDownTime): string {
  return `${pad2(tm.hour)}:${pad2(tm.minute)}:${formatSeconds(tm.second, tm.micros)}`;
}

/** EncodeTimezone: +hh, +hh:mm or +hh:mm:ss, offsets counted east. */
export function encodeOffset(offsetEast: number): string {
  const sign = offsetEast >= 0 ? '+' : '-';
  let rest = Math.abs(offsetEast);
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const seconds = rest - minutes * 60;
  if (seconds !== 0) return `${sign}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}`;
  if (minutes !== 0) return `${sign}${pad2(hours)}:${pad2(minutes)}`;
  return `${sign}${pad2(hours)}`;
}

/** EncodeDateOnly */
function encodeDate(year: number, month: number, day: number, ds: DateStyle): string {
  const y = pad4(displayYear(year));
  const bc = year <= 0 ? ' BC' : '';
  switch (ds.style) {
    case 'ISO':
      return `${y}-${pad2(month)}-${pad2(day)}${bc}`;
    case 'SQL':
      return `${ds.order === 'DMY' ? `${pad2(day)}/${pad2(month)}` : `${pad2(month)}/${pad2(day)}`}/${y}${bc}`;
    case 'German':
      return `${pad2(day)}.${pad2(month)}.${y}${bc}`;
    case 'Postgres':
      return `${ds.order === 'DMY' ? `${pad2(day)}-${pad2(month)}` : `${pad2(month)}-${pad2(day)}`}-${y}${bc}`;
  }
}

/** EncodeDateTime; `zone` is set for timestamptz: [offset, abbreviation]. */
function encodeDateTime(tm: BrokenDownTime, ds: DateStyle, zone?: readonly [number, string]): string {
  const y = pad4(displayYear(tm.year));
  const bc = tm.year <= 0 ? ' BC' : '';
  const clock = formatClock(tm);
  switch (ds.style) {
    case 'ISO': {
      const tz = zone === undefined ? '' : encodeOffset(zone[0]);
      return `${y}-${pad2(tm.month)}-${pad2(tm.day)} ${clock}${tz}${bc}`;
    }
    case 'SQL': {
      const date = ds.order === 'DMY' ? `${pad2(tm.day)}/${pad2(tm.month)}` : `${pad2(tm.month)}/${pad2(tm.day)}`;
      return `${date}/${y} ${clock}${zone === undefined ? '' : ` ${zone[1]}`}${bc}`;
    }
    case 'German':
      return `${pad2(tm.day)}.${pad2(tm.month)}.${y} ${clock}${zone === undefined ? '' : ` ${zone[1]}`}${bc}`;
    case 'Postgres': {
      const dow = DAY_ABBREVIATIONS[julianDayOfWeek(dateToJulian(tm.year, tm.month, tm.day))]!;
      const mon = MONTH_ABBREVIATIONS[tm.month - 1]!;
      const date = ds.order === 'DMY' ? `${pad2(tm.day)} ${mon}` : `${mon} ${pad2(tm.day)}`;
      return `${dow} ${date} ${clock} ${y}${zone === undefined ? '' : ` ${zone[1]}`}${bc}`;
    }
  }
}

/** date_out */
export function formatDate(days: number, s: TypeSettings): string {
  if (days === Infinity) return 'infinity';
  if (days === -Infinity) return '-infinity';
  const d = julianToDate(days + UNIX_EPOCH_JULIAN);
  return encodeDate(d.year, d.month, d.day, parseDateStyle(s.dateStyle));
}

/** time_out */
export function formatTime(micros: bigint): string {
  const hour = Number(micros / MICROS_PER_HOUR);
  let rest = micros - BigInt(hour) * MICROS_PER_HOUR;
  const minute = Number(rest / MICROS_PER_MINUTE);
  rest -= BigInt(minute) * MICROS_PER_MINUTE;
  const second = Number(rest / MICROS_PER_SECOND);
  rest -= BigInt(second) * MICROS_PER_SECOND;
  return `${pad2(hour)}:${pad2(minute)}:${formatSeconds(second, Number(rest))}`;
}

/** timetz_out */
export function formatTimeTz(v: TimeTz): string {
  return formatTime(v.micros) + encodeOffset(v.offsetSeconds);
}

/** timestamp_out */
export function formatTimestamp(micros: bigint, s: TypeSettings): string {
  if (micros === TIMESTAMP_INFINITY) return 'infinity';
  if (micros === TIMESTAMP_NEG_INFINITY) return '-infinity';
  return encodeDateTime(timestampToFields(micros), parseDateStyle(s.dateStyle));
}

/** timestamptz_out: in the session zone, with its offset (ISO) or abbreviation (other styles). */
export function formatTimestampTz(micros: bigint, s: TypeSettings): string {
  if (micros === TIMESTAMP_INFINITY) return 'infinity';
  if (micros === TIMESTAMP_NEG_INFINITY) return '-infinity';
  const zone = sessionTimeZone(s);
  const ds = parseDateStyle(s.dateStyle);
  const seconds = secondsOf(micros);
  const offset = zoneOffsetAt(zone, seconds);
  const tm = timestampToFields(micros + BigInt(offset) * MICROS_PER_SECOND);
  return encodeDateTime(tm, ds, [offset, ds.style === 'ISO' ? '' : zoneAbbreviation(zone, seconds, offset)]);
}

/** The ISO 8601 form JSON uses (PostgreSQL's XSD style): 2024-03-01T12:34:56.789+02:00. */
export function formatTimestampXsd(micros: bigint, withZone: boolean, s: TypeSettings): string {
  if (micros === TIMESTAMP_INFINITY) return 'infinity';
  if (micros === TIMESTAMP_NEG_INFINITY) return '-infinity';
  let offset = 0;
  if (withZone) offset = offsetAtTimestamp(sessionTimeZone(s), micros);
  const tm = timestampToFields(micros + BigInt(offset) * MICROS_PER_SECOND);
  let zone = '';
  if (withZone) {
    const full = encodeOffset(offset);
    zone = full.length === 3 ? `${full}:00` : full;
  }
  return `${pad4(displayYear(tm.year))}-${pad2(tm.month)}-${pad2(tm.day)}T${formatClock(tm)}${zone}${tm.year <= 0 ? ' BC' : ''}`;
}

/** A date in the ISO form JSON uses, whatever the DateStyle. */
export function formatDateXsd(days: number): string {
  if (days === Infinity) return 'infinity';
  if (days === -Infinity) return '-infinity';
  const d = julianToDate(days + UNIX_EPOCH_JULIAN);
  return encodeDate(d.year, d.month, d.day, { style: 'ISO', order: 'MDY' });
}

// ---------------------------------------------------------------------------------------------
// Conversions

/** date → timestamp: midnight of the day. */
export function dateToTimestamp(days: number): bigint {
  if (days === Infinity) return TIMESTAMP_INFINITY;
  if (days === -Infinity) return TIMESTAMP_NEG_INFINITY;
  const t = BigInt(days) * MICROS_PER_DAY;
  if (!isValidTimestamp(t)) throw new SqlError(SqlState.datetimeFieldOverflow, 'date out of range for timestamp');
  return t;
}

/** timestamp → date: the day it falls on. */
export function timestampToDate(t: bigint): number {
  if (t === TIMESTAMP_INFINITY) return Infinity;
  if (t === TIMESTAMP_NEG_INFINITY) return -Infinity;
  return Number(bigFloorDiv(t, MICROS_PER_DAY));
}

/** timestamp → timestamptz: the local time read in the session zone. */
export function timestampToTimestampTz(micros: bigint, s: TypeSettings): bigint {
  if (!isFiniteTimestamp(micros)) return micros;
  return localToUtc(micros, sessionTimeZone(s));
}

/** timestamptz → timestamp: the session zone's wall clock at that instant. */
export function timestampTzToTimestamp(micros: bigint, s: TypeSettings): bigint {
  if (!isFiniteTimestamp(micros)) return micros;
  return utcToLocal(micros, sessionTimeZone(s));
}

/** Local wall-clock microseconds in `zone` to UTC microseconds. */
export function localToUtc(local: bigint, zone: TimeZone): bigint {
  const offset = zoneOffsetForLocal(zone, secondsOf(local));
  const t = local - BigInt(offset) * MICROS_PER_SECOND;
  if (!isValidTimestamp(t)) throw timestampOutOfRange();
  return t;
}

/** UTC microseconds to the wall clock of `zone`. */
export function utcToLocal(utc: bigint, zone: TimeZone): bigint {
  const t = utc + BigInt(offsetAtTimestamp(zone, utc)) * MICROS_PER_SECOND;
  if (!isValidTimestamp(t)) throw timestampOutOfRange();
  return t;
}

/** timestamptz AT TIME ZONE zone → timestamp, and timestamp AT TIME ZONE zone → timestamptz. */
export function atTimeZone(t: bigint, fromTimestampTz: boolean, zoneName: string): bigint {
  if (!isFiniteTimestamp(t)) return t;
  const zone = zoneForName(zoneName);
  return fromTimestampTz ? utcToLocal(t, zone) : localToUtc(t, zone);
}

// ---------------------------------------------------------------------------------------------
// Arithmetic

/** Fields of a timestamp: local ones in the session zone for timestamptz. */
function fieldsFor(t: bigint, withZone: boolean, s: TypeSettings): { tm: BrokenDownTime; offset: number } {
  if (!withZone) return { tm: timestampToFields(t), offset: 0 };
  const zone = sessionTimeZone(s);
  const offset = offsetAtTimestamp(zone, t);
  return { tm: timestampToFields(t + BigInt(offset) * MICROS_PER_SECOND), offset };
}

/** Fields back to a timestamp; for timestamptz, the zone's offset at those local fields. */
function fieldsBack(tm: BrokenDownTime, withZone: boolean, s: TypeSettings): bigint {
  const t = fieldsToTimestamp(tm, withZone ? offsetForFields(sessionTimeZone(s), tm) : undefined);
  if (t === undefined) throw timestampOutOfRange();
  return t;
}

/**
 * timestamp + interval: months first (the day clamped to the month's length), then days (for
 * timestamptz, in the session zone's local time, so a day across DST is 23 or 25 hours), then time.
 */
export function addInterval(ts: bigint, iv: Interval, withZone: boolean, s: TypeSettings): bigint {
  if (!isFiniteTimestamp(ts)) return ts;
  let t = ts;
  if (iv.months !== 0) {
    const { tm } = fieldsFor(t, withZone, s);
    let month = tm.month + iv.months;
    let year = tm.year;
    if (month > 12) {
      year += Math.trunc((month - 1) / 12);
      month = ((month - 1) % 12) + 1;
    } else if (month < 1) {
      year += Math.trunc(month / 12) - 1;
      month = (month % 12) + 12;
    }
    tm.year = year;
    tm.month = month;
    if (tm.day > daysInMonth(year, month)) tm.day = daysInMonth(year, month);
    t = fieldsBack(tm, withZone, s);
  }
  if (iv.days !== 0) {
    const { tm } = fieldsFor(t, withZone, s);
    const d = julianToDate(dateToJulian(tm.year, tm.month, tm.day) + iv.days);
    setDate(tm, d);
    t = fieldsBack(tm, withZone, s);
  }
  t += iv.micros;
  if (!isValidTimestamp(t)) throw timestampOutOfRange();
  return t;
}

/** timestamp - interval */
export function subtractInterval(ts: bigint, iv: Interval, withZone: boolean, s: TypeSettings): bigint {
  return addInterval(ts, iv.negate(), withZone, s);
}

/** timestamp - timestamp: time only, whole days folded out of it (justify_hours), as PostgreSQL does. */
export function subtractTimestamps(a: bigint, b: bigint): Interval {
  if (!isFiniteTimestamp(a) || !isFiniteTimestamp(b)) {
    throw new SqlError(SqlState.datetimeFieldOverflow, 'cannot subtract infinite timestamps');
  }
  const diff = a - b;
  if (diff < INT64_MIN || diff > INT64_MAX) throw new SqlError(SqlState.datetimeFieldOverflow, 'interval out of range');
  return justifyHours(new Interval(0, 0, diff));
}

/** date + integer */
export function dateAddDays(days: number, n: number): number {
  if (!Number.isFinite(days)) return days;
  const r = days + n;
  if (r < DATE_MIN || r >= DATE_END) throw dateOutOfRange();
  return r;
}

/** date - date: a number of days. */
export function dateDiff(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new SqlError(SqlState.datetimeFieldOverflow, 'cannot subtract infinite dates');
  return a - b;
}

/** age(a, b): the difference in years, months, days and time, counted field by field as PostgreSQL does. */
export function age(a: bigint, b: bigint, withZone = false, s: TypeSettings = DEFAULT_TYPE_SETTINGS): Interval {
  if (!isFiniteTimestamp(a) || !isFiniteTimestamp(b)) throw timestampOutOfRange();
  const t1 = fieldsFor(a, withZone, s).tm;
  const t2 = fieldsFor(b, withZone, s).tm;
  const sign = a < b ? -1 : 1;
  let micros = sign * (t1.micros - t2.micros);
  let sec = sign * (t1.second - t2.second);
  let min = sign * (t1.minute - t2.minute);
  let hour = sign * (t1.hour - t2.hour);
  let day = sign * (t1.day - t2.day);
  let mon = sign * (t1.month - t2.month);
  let year = sign * (t1.year - t2.year);
  while (micros < 0) {
    micros += 1_000_000;
    sec--;
  }
  while (sec < 0) {
    sec += 60;
    min--;
  }
  while (min < 0) {
    min += 60;
    hour--;
  }
  while (hour < 0) {
    hour += 24;
    day--;
  }
  while (day < 0) {
    // Borrow the length of the earlier timestamp's month.
    const from = a < b ? t1 : t2;
    day += daysInMonth(from.year, from.month);
    mon--;
  }
  while (mon < 0) {
    mon += 12;
    year--;
  }
  const months = sign * (year * 12 + mon);
  const days = sign * day;
  const time = BigInt(sign) * (BigInt(((hour * 60 + min) * 60 + sec) * 1_000_000) + BigInt(micros));
  return Interval.of(months, days, time);
}

/** make_date's checks: BC for negative years, field ranges, the Julian range; the day number or an error. */
function makeDays(year: number, month: number, day: number, outOfRange: (tm: BrokenDownTime) => SqlError): number {
  const tm = midnight(year < 0 ? -year : year, month, day);
  const st = newState();
  st.bc = year < 0;
  try {
    validateDate(DATE_MASK, tm, st);
  } catch (err) {
    if (err instanceof DateTimeDecodeError) {
      throw new SqlError(SqlState.datetimeFieldOverflow, `date field value out of range: ${tm.year}-${pad2(month)}-${pad2(day)}`);
    }
    throw err;
  }
  if (!isValidJulian(tm.year, tm.month)) throw outOfRange(tm);
  return dateToJulian(tm.year, tm.month, tm.day) - UNIX_EPOCH_JULIAN;
}

/** make_date(year, month, day); a negative year is BC. */
export function makeDate(year: number, month: number, day: number): number {
  const outOfRange = (tm: BrokenDownTime): SqlError => new SqlError(SqlState.datetimeFieldOverflow, `date out of range: ${tm.year}-${pad2(month)}-${pad2(day)}`);
  const tm = midnight(year, month, day);
  const days = makeDays(year, month, day, outOfRange);
  if (days < DATE_MIN || days >= DATE_END) throw outOfRange({ ...tm, year: year < 0 ? year + 1 : year });
  return days;
}

/** make_timestamp(year, month, day, hour, min, sec) */
export function makeTimestamp(year: number, month: number, day: number, hour: number, minute: number, second: number): bigint {
  const days = makeDays(year, month, day, () => new SqlError(SqlState.datetimeFieldOverflow, `date out of range: ${year}-${pad2(month)}-${pad2(day)}`));
  if (
    hour < 0 ||
    minute < 0 ||
    minute > 59 ||
    Number.isNaN(second) ||
    second < 0 ||
    second > 60 ||
    hour > 24 ||
    (hour === 24 && (minute > 0 || second > 0))
  ) {
    throw new SqlError(SqlState.datetimeFieldOverflow, `time field value out of range: ${hour}:${pad2(minute)}:${formatG(second, 2)}`);
  }
  const time = BigInt((hour * 60 + minute) * 60) * MICROS_PER_SECOND + BigInt(rint(second * 1e6));
  const t = BigInt(days) * MICROS_PER_DAY + time;
  if (!isValidTimestamp(t)) {
    throw new SqlError(SqlState.datetimeFieldOverflow, `timestamp out of range: ${year}-${pad2(month)}-${pad2(day)} ${hour}:${pad2(minute)}:${formatG(second, 2)}`);
  }
  return t;
}

/** make_timestamptz(...): the fields as local time in `zoneName`, or the session zone. */
export function makeTimestampTz(year: number, month: number, day: number, hour: number, minute: number, second: number, s: TypeSettings, zoneName?: string): bigint {
  const local = makeTimestamp(year, month, day, hour, minute, second);
  return localToUtc(local, zoneName === undefined ? sessionTimeZone(s) : zoneForName(zoneName));
}

/** C's printf %g with six significant digits, zero-padded to `width` as "%02g" pads. */
export function formatG(x: number, width = 0): string {
  const out = formatDoubleG(x, 6);
  if (out.length >= width) return out;
  return out.startsWith('-') ? '-' + out.slice(1).padStart(width - 1, '0') : out.padStart(width, '0');
}

/** to_timestamp(double precision): seconds since 1970 as a timestamptz. */
export function toTimestamp(seconds: number): bigint {
  if (Number.isNaN(seconds)) throw new SqlError(SqlState.datetimeFieldOverflow, 'timestamp cannot be NaN');
  if (seconds === Infinity) return TIMESTAMP_INFINITY;
  if (seconds === -Infinity) return TIMESTAMP_NEG_INFINITY;
  if (seconds < SECONDS_PER_DAY * (JULIAN_MIN_DAY - UNIX_EPOCH_JULIAN) || seconds >= SECONDS_PER_DAY * (TIMESTAMP_END_JULIAN - UNIX_EPOCH_JULIAN)) {
    throw new SqlError(SqlState.datetimeFieldOverflow, `timestamp out of range: "${formatG(seconds)}"`);
  }
  // The same double arithmetic as PostgreSQL, from its epoch, so the rounding agrees.
  const pgSeconds = seconds - (POSTGRES_EPOCH_JULIAN - UNIX_EPOCH_JULIAN) * SECONDS_PER_DAY;
  const t = BigInt(rint(pgSeconds * 1e6)) + POSTGRES_EPOCH_MICROS;
  if (!isValidTimestamp(t)) throw new SqlError(SqlState.datetimeFieldOverflow, `timestamp out of range: "${formatG(seconds)}"`);
  return t;
}

/** current_date in the session zone. */
export function currentDate(s: TypeSettings, now: bigint = currentTimestamp()): number {
  return timestampToDate(utcToLocal(now, sessionTimeZone(s)));
}

/** localtimestamp(p) / current_timestamp(p): now, rounded to `precision` digits when given. */
export function currentTimestampWithPrecision(now: bigint, precision = -1): bigint {
  return roundTimestampPrecision(now, precision);
}

/** localtimestamp: the session zone's wall clock now. */
export function localTimestamp(s: TypeSettings, now: bigint = currentTimestamp()): bigint {
  return utcToLocal(now, sessionTimeZone(s));
}

/** current_time: the session zone's time of day now, with its offset. */
export function currentTime(s: TypeSettings, now: bigint = currentTimestamp()): TimeTz {
  const zone = sessionTimeZone(s);
  const offset = offsetAtTimestamp(zone, now);
  const local = now + BigInt(offset) * MICROS_PER_SECOND;
  return { micros: local - bigFloorDiv(local, MICROS_PER_DAY) * MICROS_PER_DAY, offsetSeconds: offset };
}

// ---------------------------------------------------------------------------------------------
// date_trunc

/** The field names extract, date_part and date_trunc take, as PostgreSQL reads them. */
type FieldName = { readonly kind: 'unit'; readonly unit: DateTimeUnit } | { readonly kind: 'epoch' } | { readonly kind: 'unknown' };

function lookupFieldName(name: string): FieldName {
  const lower = name.toLowerCase();
  const unit = lookupIntervalKeyword(lower);
  if (unit?.kind === 'unit') return unit;
  const special = lookupDateKeyword(lower);
  if (special?.kind === 'unit') return special;
  if (special?.kind === 'reserved' && special.word === 'epoch') return { kind: 'epoch' };
  return { kind: 'unknown' };
}

/** date_trunc reads its unit from the interval unit table only (PostgreSQL's DecodeUnits). */
function lookupTruncUnit(name: string): FieldName {
  const unit = lookupIntervalKeyword(name.toLowerCase());
  return unit?.kind === 'unit' ? unit : { kind: 'unknown' };
}

function typeNameOf(oid: number): string {
  switch (oid) {
    case Oid.date:
      return 'date';
    case Oid.time:
      return 'time without time zone';
    case Oid.timetz:
      return 'time with time zone';
    case Oid.timestamp:
      return 'timestamp without time zone';
    case Oid.timestamptz:
      return 'timestamp with time zone';
    case Oid.interval:
      return 'interval';
    default:
      return String(oid);
  }
}

function unitNotSupported(name: string, oid: number): SqlError {
  return new SqlError(SqlState.featureNotSupported, `unit "${name.toLowerCase()}" not supported for type ${typeNameOf(oid)}`);
}

function unitNotRecognized(name: string, oid: number): SqlError {
  return new SqlError(SqlState.invalidParameterValue, `unit "${name.toLowerCase()}" not recognized for type ${typeNameOf(oid)}`);
}

/** The ISO 8601 week number of a date. */
function isoWeek(year: number, month: number, day: number): number {
  const julian = dateToJulian(year, month, day);
  const weekStart = (y: number): number => {
    // the Monday of the week holding January 4th
    const jan4 = dateToJulian(y, 1, 4);
    return jan4 - ((julianDayOfWeek(jan4) + 6) % 7);
  };
  let start = weekStart(year);
  if (julian < start) start = weekStart(year - 1);
  else if (julian >= weekStart(year + 1)) start = weekStart(year + 1);
  return Math.floor((julian - start) / 7) + 1;
}

/** The ISO 8601 week-numbering year of a date. */
function isoYear(year: number, month: number, day: number): number {
  const julian = dateToJulian(year, month, day);
  const weekStart = (y: number): number => {
    const jan4 = dateToJulian(y, 1, 4);
    return jan4 - ((julianDayOfWeek(jan4) + 6) % 7);
  };
  if (julian < weekStart(year)) return year - 1;
  if (julian >= weekStart(year + 1)) return year + 1;
  return year;
}

/** Truncates fields in place to `unit`; false when the unit cannot truncate a timestamp. */
function truncateFields(tm: BrokenDownTime, unit: DateTimeUnit): boolean {
  switch (unit) {
    case 'week': {
      const julian = dateToJulian(tm.year, tm.month, tm.day);
      const monday = julian - ((julianDayOfWeek(julian) + 6) % 7);
      setDate(tm, julianToDate(monday));
      tm.hour = tm.minute = tm.second = tm.micros = 0;
      return true;
    }
    case 'millennium':
      tm.year = tm.year > 0 ? Math.trunc((tm.year + 999) / 1000) * 1000 - 999 : -Math.trunc((999 - (tm.year - 1)) / 1000) * 1000 + 1;
      return truncateFields(tm, 'year');
    case 'century':
      tm.year = tm.year > 0 ? Math.trunc((tm.year + 99) / 100) * 100 - 99 : -Math.trunc((99 - (tm.year - 1)) / 100) * 100 + 1;
      return truncateFields(tm, 'year');
    case 'decade':
      tm.year = tm.year > 0 ? Math.trunc(tm.year / 10) * 10 : -Math.trunc((8 - (tm.year - 1)) / 10) * 10;
      return truncateFields(tm, 'year');
    case 'year':
      tm.month = 1;
      return truncateFields(tm, 'quarter');
    case 'quarter':
      tm.month = 3 * Math.trunc((tm.month - 1) / 3) + 1;
      return truncateFields(tm, 'month');
    case 'month':
      tm.day = 1;
      return truncateFields(tm, 'day');
    case 'day':
      tm.hour = 0;
      return truncateFields(tm, 'hour');
    case 'hour':
      tm.minute = 0;
      return truncateFields(tm, 'minute');
    case 'minute':
      tm.second = 0;
      return truncateFields(tm, 'second');
    case 'second':
      tm.micros = 0;
      return true;
    case 'millisecond':
      tm.micros = Math.trunc(tm.micros / 1000) * 1000;
      return true;
    case 'microsecond':
      return true;
    default:
      return false;
  }
}

const UNITS_REDOING_ZONE: ReadonlySet<DateTimeUnit> = new Set(['week', 'millennium', 'century', 'decade', 'year', 'quarter', 'month', 'day']);

/**
 * date_trunc(field, timestamp[tz]): for timestamptz the truncation happens in the session zone's
 * local time, and units of a day or more take that zone's offset at the truncated time.
 */
export function dateTrunc(field: string, ts: bigint, withZone: boolean, s: TypeSettings): bigint {
  const oid = withZone ? Oid.timestamptz : Oid.timestamp;
  // infinities come back before the unit is even looked at
  if (!isFiniteTimestamp(ts)) return ts;
  const name = lookupTruncUnit(field);
  if (name.kind !== 'unit') throw unitNotRecognized(field, oid);
  const { tm, offset } = fieldsFor(ts, withZone, s);
  if (!truncateFields(tm, name.unit)) throw unitNotSupported(field, oid);
  if (!withZone) return fieldsBack(tm, false, s);
  const t = fieldsToTimestamp(tm, UNITS_REDOING_ZONE.has(name.unit) ? offsetForFields(sessionTimeZone(s), tm) : offset);
  if (t === undefined) throw timestampOutOfRange();
  return t;
}

/** date_trunc(field, interval) */
export function dateTruncInterval(field: string, iv: Interval): Interval {
  const name = lookupTruncUnit(field);
  if (name.kind !== 'unit') throw unitNotRecognized(field, Oid.interval);
  let years = Math.trunc(iv.months / 12);
  let months = iv.months % 12;
  let days = iv.days;
  let hours = iv.micros / MICROS_PER_HOUR;
  let rest = iv.micros - hours * MICROS_PER_HOUR;
  let minutes = rest / MICROS_PER_MINUTE;
  rest -= minutes * MICROS_PER_MINUTE;
  let seconds = rest / MICROS_PER_SECOND;
  let micros = rest - seconds * MICROS_PER_SECOND;
  const cascade: DateTimeUnit[] = ['millennium', 'century', 'decade', 'year', 'quarter', 'month', 'day', 'hour', 'minute', 'second', 'millisecond', 'microsecond'];
  const at = cascade.indexOf(name.unit);
  if (at < 0) {
    if (name.unit === 'week') throw new SqlError(SqlState.featureNotSupported, `unit "${field.toLowerCase()}" not supported for type interval`, { detail: 'Months usually have fractional weeks.' });
    throw unitNotSupported(field, Oid.interval);
  }
  if (name.unit === 'millennium') years = Math.trunc(years / 1000) * 1000;
  else if (name.unit === 'century') years = Math.trunc(years / 100) * 100;
  else if (name.unit === 'decade') years = Math.trunc(years / 10) * 10;
  // Every field smaller than the unit goes.
  const coarserThan = (u: DateTimeUnit): boolean => at < cascade.indexOf(u);
  if (coarserThan('quarter')) months = 0;
  else if (name.unit === 'quarter') months = 3 * Math.trunc(months / 3);
  if (coarserThan('day')) days = 0;
  if (coarserThan('hour')) hours = 0n;
  if (coarserThan('minute')) minutes = 0n;
  if (coarserThan('second')) seconds = 0n;
  if (name.unit === 'millisecond') micros = (micros / 1000n) * 1000n;
  else if (coarserThan('millisecond')) micros = 0n;
  return Interval.of(years * 12 + months, days, ((hours * 60n + minutes) * 60n + seconds) * MICROS_PER_SECOND + micros);
}

// ---------------------------------------------------------------------------------------------
// extract and date_part

/** A field's value: exact (numeric, as extract returns) and the float8 date_part computes. */
interface FieldValue {
  readonly numeric: Numeric;
  readonly float: number;
}

function exact(n: number | bigint): FieldValue {
  // Math.trunc leaves -0 behind, which float8 would print as "-0".
  const float = Number(n);
  return { numeric: Numeric.fromBigInt(BigInt(n)), float: float === 0 ? 0 : float };
}

/** micros / 10^scale as a numeric with that scale, and the float computed as PostgreSQL does. */
function scaled(value: bigint, scale: number, float: number): FieldValue {
  return { numeric: Numeric.of(value, scale), float };
}

function infiniteField(unit: DateTimeUnit | 'epoch', negative: boolean, oid: number, name: string): FieldValue | null {
  switch (unit) {
    case 'year':
    case 'decade':
    case 'century':
    case 'millennium':
    case 'julian':
    case 'isoyear':
    case 'epoch':
      return negative ? { numeric: Numeric.NegativeInfinity, float: -Infinity } : { numeric: Numeric.Infinity, float: Infinity };
    case 'microsecond':
    case 'millisecond':
    case 'second':
    case 'minute':
    case 'hour':
      if (oid === Oid.date) throw unitNotSupported(name, oid);
      return null;
    case 'day':
    case 'month':
    case 'quarter':
    case 'week':
    case 'dow':
    case 'isodow':
    case 'doy':
      return null;
    case 'timezone':
    case 'timezone_hour':
    case 'timezone_minute':
      // PostgreSQL answers NULL here even for timestamp without time zone, which has no zone fields
      if (oid === Oid.date) throw unitNotSupported(name, oid);
      return null;
    default:
      throw unitNotSupported(name, oid);
  }
}

/** The date fields every point in time shares (year, month, day, week, dow, ...). */
function dateField(unit: DateTimeUnit, tm: BrokenDownTime): FieldValue | undefined {
  switch (unit) {
    case 'day':
      return exact(tm.day);
    case 'month':
      return exact(tm.month);
    case 'quarter':
      return exact(Math.trunc((tm.month - 1) / 3) + 1);
    case 'week':
      return exact(isoWeek(tm.year, tm.month, tm.day));
    case 'year':
      return exact(tm.year > 0 ? tm.year : tm.year - 1);
    case 'decade':
      return exact(tm.year >= 0 ? Math.trunc(tm.year / 10) : -Math.trunc((8 - (tm.year - 1)) / 10));
    case 'century':
      return exact(tm.year > 0 ? Math.trunc((tm.year + 99) / 100) : -Math.trunc((99 - (tm.year - 1)) / 100));
    case 'millennium':
      return exact(tm.year > 0 ? Math.trunc((tm.year + 999) / 1000) : -Math.trunc((999 - (tm.year - 1)) / 1000));
    case 'isoyear': {
      const y = isoYear(tm.year, tm.month, tm.day);
      return exact(y <= 0 ? y - 1 : y);
    }
    case 'dow':
      return exact(julianDayOfWeek(dateToJulian(tm.year, tm.month, tm.day)));
    case 'isodow': {
      const dow = julianDayOfWeek(dateToJulian(tm.year, tm.month, tm.day));
      return exact(dow === 0 ? 7 : dow);
    }
    case 'doy':
      return exact(dateToJulian(tm.year, tm.month, tm.day) - dateToJulian(tm.year, 1, 1) + 1);
    default:
      return undefined;
  }
}

/** The time-of-day fields (time, timestamp). */
function clockField(unit: DateTimeUnit, tm: BrokenDownTime): FieldValue | undefined {
  const secondMicros = BigInt(tm.second * 1_000_000 + tm.micros);
  switch (unit) {
    case 'microsecond':
      return exact(secondMicros);
    case 'millisecond':
      return scaled(secondMicros, 3, tm.second * 1000.0 + tm.micros / 1000.0);
    case 'second':
      return scaled(secondMicros, 6, tm.second + tm.micros / 1000000.0);
    case 'minute':
      return exact(tm.minute);
    case 'hour':
      return exact(tm.hour);
    default:
      return undefined;
  }
}

function zoneField(unit: DateTimeUnit, offset: number): FieldValue | undefined {
  switch (unit) {
    case 'timezone':
      return exact(offset);
    case 'timezone_hour':
      return exact(Math.trunc(offset / 3600));
    case 'timezone_minute':
      return exact(Math.trunc(offset / 60) % 60);
    default:
      return undefined;
  }
}

function extractField(field: string, value: Datum, oid: number, s: TypeSettings): FieldValue | null {
  const name = lookupFieldName(field);
  if (name.kind === 'unknown') throw unitNotRecognized(field, oid);
  const unit: DateTimeUnit | 'epoch' = name.kind === 'epoch' ? 'epoch' : name.unit;
  switch (oid) {
    case Oid.date: {
      const days = value as number;
      if (!Number.isFinite(days)) return infiniteField(unit, days < 0, oid, field);
      if (unit === 'epoch') return exact(BigInt(days) * 86400n);
      const d = julianToDate(days + UNIX_EPOCH_JULIAN);
      if (unit === 'julian') return exact(days + UNIX_EPOCH_JULIAN);
      const r = dateField(unit, midnight(d.year, d.month, d.day));
      if (r === undefined) throw unitNotSupported(field, oid);
      return r;
    }
    case Oid.timestamp:
    case Oid.timestamptz: {
      const t = value as bigint;
      if (!isFiniteTimestamp(t)) return infiniteField(unit, t === TIMESTAMP_NEG_INFINITY, oid, field);
      if (unit === 'epoch') {
        // epoch of a timestamp without zone counts its wall clock as if it were UTC
        return scaled(t, 6, Number(t) / 1000000.0);
      }
      const { tm, offset } = fieldsFor(t, oid === Oid.timestamptz, s);
      if (unit === 'julian') {
        const julian = dateToJulian(tm.year, tm.month, tm.day);
        const dayMicros = timeOfDayMicros(tm);
        const numeric = Numeric.fromInt(julian).add(Numeric.fromBigInt(dayMicros).div(Numeric.fromBigInt(MICROS_PER_DAY)));
        const float = julian + ((tm.hour * 60 + tm.minute) * 60 + tm.second + tm.micros / 1000000.0) / SECONDS_PER_DAY;
        return { numeric, float };
      }
      const r = clockField(unit, tm) ?? dateField(unit, tm) ?? (oid === Oid.timestamptz ? zoneField(unit, offset) : undefined);
      if (r === undefined) throw unitNotSupported(field, oid);
      return r;
    }
    case Oid.time:
    case Oid.timetz: {
      const micros = oid === Oid.time ? (value as bigint) : (value as TimeTz).micros;
      const offset = oid === Oid.timetz ? (value as TimeTz).offsetSeconds : 0;
      if (unit === 'epoch') {
        const v = oid === Oid.timetz ? micros - BigInt(offset) * MICROS_PER_SECOND : micros;
        return scaled(v, 6, Number(v) / 1000000.0);
      }
      const tm = timestampToFields(micros);
      // 24:00:00 is a time, not the next day's midnight
      if (micros === MICROS_PER_DAY) tm.hour = 24;
      const r = clockField(unit, tm) ?? (oid === Oid.timetz ? zoneField(unit, offset) : undefined);
      if (r === undefined) throw unitNotSupported(field, oid);
      return r;
    }
    case Oid.interval:
      return extractIntervalField(unit, value as Interval, field);
    default:
      throw new SqlError(SqlState.internalError, `extract from a value of type ${oid}`);
  }
}

function extractIntervalField(unit: DateTimeUnit | 'epoch', iv: Interval, name: string): FieldValue {
  const years = Math.trunc(iv.months / 12);
  const months = iv.months % 12;
  const hours = iv.micros / MICROS_PER_HOUR;
  let rest = iv.micros - hours * MICROS_PER_HOUR;
  const minutes = rest / MICROS_PER_MINUTE;
  rest -= minutes * MICROS_PER_MINUTE;
  const secondMicros = rest;
  const seconds = Number(secondMicros / MICROS_PER_SECOND);
  const fsec = Number(secondMicros % MICROS_PER_SECOND);
  switch (unit) {
    case 'microsecond':
      return exact(secondMicros);
    case 'millisecond':
      return scaled(secondMicros, 3, seconds * 1000.0 + fsec / 1000.0);
    case 'second':
      return scaled(secondMicros, 6, seconds + fsec / 1000000.0);
    case 'minute':
      return exact(minutes);
    case 'hour':
      return exact(hours);
    case 'day':
      return exact(iv.days);
    case 'month':
      return exact(months);
    case 'quarter':
      return exact(Math.trunc(months / 3) + 1);
    case 'year':
      return exact(years);
    case 'decade':
      return exact(Math.trunc(years / 10));
    case 'century':
      return exact(Math.trunc(years / 100));
    case 'millennium':
      return exact(Math.trunc(years / 1000));
    case 'epoch': {
      // A year is 365.25 days and a month 30 here; times four keeps the arithmetic whole.
      const dayMonthSeconds = (BigInt(4 * 365.25) * BigInt(years) + BigInt(4 * 30) * BigInt(months) + 4n * BigInt(iv.days)) * (86400n / 4n);
      const total = dayMonthSeconds * MICROS_PER_SECOND + iv.micros;
      // the same double additions, in the same order, as PostgreSQL's date_part
      let float = Number(iv.micros) / 1000000.0;
      float += 365.25 * 86400 * years;
      float += 30 * 86400 * months;
      float += 86400 * iv.days;
      return scaled(total, 6, float);
    }
    default:
      throw unitNotSupported(name, Oid.interval);
  }
}

/** extract(field from value): PostgreSQL 15 returns numeric; null where the field of an infinity has no value. */
export function extract(field: string, value: Datum, oid: number, s: TypeSettings): Numeric | null {
  return extractField(field, value, oid, s)?.numeric ?? null;
}

/** date_part(field, value): the same fields as float8. */
export function datePart(field: string, value: Datum, oid: number, s: TypeSettings): number | null {
  const v = extractField(field, value, oid, s);
  return v === null ? null : v.float;
}
