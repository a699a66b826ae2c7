// Date/time functions (PostgreSQL's "Date/Time Functions and Operators" and the date/time half of
// "Data Type Formatting Functions"): the clock functions, date_trunc, extract/date_part, age,
// make_*, AT TIME ZONE (timezone()), justify_*, isfinite, date_bin, and to_char / to_timestamp /
// to_date with PostgreSQL's template patterns. The calendar and zone arithmetic is datetime.ts's;
// this file adds the SQL-visible surface and the template engine.
import { SqlError, SqlState } from '../errors.js';
import { TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY, type Datum, type TimeTz } from '../types/datum.js';
import * as dt from '../types/datetime.js';
import { Interval, MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_SECOND } from '../types/interval.js';
import { decomposeDouble } from '../types/float.js';
import { Numeric } from '../types/numeric.js';
import { Oid, Types, type SqlType } from '../types/oids.js';
import type { TypeSettings } from '../types/settings.js';
import type { EvalContext, ScalarImpl } from '../plan/bound.js';
import { defineScalar, type ScalarOverload } from './registry.js';

/** Longest template to_char, to_timestamp and to_date accept (PostgreSQL caches templates of up to 1 KB too). */
export const MAX_TEMPLATE_LENGTH = 4096;

const UNIX_EPOCH_JULIAN = 2440588;
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const ROMAN_MONTHS = ['I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX', 'X', 'XI', 'XII'];

const isFiniteTs = (t: bigint): boolean => t !== TIMESTAMP_INFINITY && t !== TIMESTAMP_NEG_INFINITY;

// ---- the clock -------------------------------------------------------------------------------------------

function precisionArg(p: number, typeName: string): number {
  if (p < 0) throw new SqlError(SqlState.invalidParameterValue, `${typeName}(${p}) precision must not be negative`);
  return Math.min(p, dt.MAX_TIMESTAMP_PRECISION);
}

const clock = (name: string, returns: SqlType, now: (ctx: EvalContext) => bigint, volatile = false): void => {
  defineScalar(name, { params: [], returns, volatile, impl: (_a, ctx) => now(ctx) });
};

clock('transaction_timestamp', Types.timestamptz, (ctx) => ctx.txnTimestamp);
clock('statement_timestamp', Types.timestamptz, (ctx) => ctx.statementTimestamp);
clock('clock_timestamp', Types.timestamptz, () => dt.currentTimestamp(), true);
// now() is current_timestamp; current_timestamp(p) arrives as now(p).
defineScalar(
  'now',
  { params: [], returns: Types.timestamptz, impl: (_a, ctx) => ctx.txnTimestamp },
  {
    params: [Oid.int4],
    returns: Types.timestamptz,
    impl: (a, ctx) => dt.roundTimestampPrecision(ctx.txnTimestamp, precisionArg(a[0] as number, 'TIMESTAMP WITH TIME ZONE')),
  },
);
defineScalar(
  'localtimestamp',
  { params: [], returns: Types.timestamp, impl: (_a, ctx) => dt.localTimestamp(ctx.settings, ctx.txnTimestamp) },
  {
    params: [Oid.int4],
    returns: Types.timestamp,
    impl: (a, ctx) => dt.roundTimestampPrecision(dt.localTimestamp(ctx.settings, ctx.txnTimestamp), precisionArg(a[0] as number, 'TIMESTAMP')),
  },
);
defineScalar('current_date', { params: [], returns: Types.date, impl: (_a, ctx) => dt.currentDate(ctx.settings, ctx.txnTimestamp) });

function roundTimeTz(v: TimeTz, precision: number): TimeTz {
  return { micros: dt.roundTimePrecision(v.micros, precision), offsetSeconds: v.offsetSeconds };
}

defineScalar(
  'current_time',
  { params: [], returns: Types.timetz, impl: (_a, ctx) => dt.currentTime(ctx.settings, ctx.txnTimestamp) },
  {
    params: [Oid.int4],
    returns: Types.timetz,
    impl: (a, ctx) => roundTimeTz(dt.currentTime(ctx.settings, ctx.txnTimestamp), precisionArg(a[0] as number, 'TIME WITH TIME ZONE')),
  },
);
defineScalar(
  'localtime',
  { params: [], returns: Types.time, impl: (_a, ctx) => dt.currentTime(ctx.settings, ctx.txnTimestamp).micros },
  {
    params: [Oid.int4],
    returns: Types.time,
    impl: (a, ctx) => dt.roundTimePrecision(dt.currentTime(ctx.settings, ctx.txnTimestamp).micros, precisionArg(a[0] as number, 'TIME')),
  },
);

/** timeofday(): the wall clock as text, "Wed Dec 06 22:45:01.123456 2023 UTC". */
defineScalar('timeofday', {
  params: [],
  returns: Types.text,
  volatile: true,
  impl: (_a, ctx) => {
    const now = dt.currentTimestamp();
    const { tm, offset } = localFields(now, true, ctx.settings);
    const julian = dt.dateToJulian(tm.year, tm.month, tm.day);
    const dow = DAY_NAMES[(((julian + 1) % 7) + 7) % 7]!.slice(0, 3);
    const zone = zoneAbbreviationAt(now, offset, ctx.settings);
    return `${dow} ${MONTH_NAMES[tm.month - 1]!.slice(0, 3)} ${pad(tm.day, 2)} ${pad(tm.hour, 2)}:${pad(tm.minute, 2)}:${pad(tm.second, 2)}.${pad(tm.micros, 6)} ${tm.year} ${zone}`;
  },
});

// ---- fields ----------------------------------------------------------------------------------------------

/** The wall-clock fields of a timestamp (in the session zone for timestamptz) and that zone's offset. */
function localFields(t: bigint, withZone: boolean, s: TypeSettings): { tm: dt.BrokenDownTime; offset: number } {
  if (!withZone) return { tm: dt.timestampToFields(t), offset: 0 };
  const zone = dt.sessionTimeZone(s);
  const offset = dt.offsetAtTimestamp(zone, t);
  return { tm: dt.timestampToFields(t + BigInt(offset) * MICROS_PER_SECOND), offset };
}

/** The zone abbreviation a timestamptz prints with in the non-ISO DateStyles (the last word of that output). */
function zoneAbbreviationAt(t: bigint, offset: number, s: TypeSettings): string {
  const words = dt.formatTimestampTz(t, { ...s, dateStyle: 'Postgres, MDY' }).split(' ');
  const last = words[words.length - 1] === 'BC' ? words[words.length - 2] : words[words.length - 1];
  return last === undefined || last === '' ? dt.encodeOffset(offset) : last;
}

function pad(n: number, width: number): string {
  const s = String(Math.abs(n)).padStart(width, '0');
  return n < 0 ? `-${s}` : s;
}

// ---- date_trunc, extract, date_part ---------------------------------------------------------------

defineScalar(
  'date_trunc',
  { params: [Oid.text, Oid.timestamp], returns: Types.timestamp, impl: (a, ctx) => dt.dateTrunc(a[0] as string, a[1] as bigint, false, ctx.settings) },
  { params: [Oid.text, Oid.timestamptz], returns: Types.timestamptz, impl: (a, ctx) => dt.dateTrunc(a[0] as string, a[1] as bigint, true, ctx.settings) },
  {
    params: [Oid.text, Oid.timestamptz, Oid.text],
    returns: Types.timestamptz,
    // Truncation in another zone: the session zone replaced by the one given.
    impl: (a, ctx) => dt.dateTrunc(a[0] as string, a[1] as bigint, true, { ...ctx.settings, timeZone: zoneSetting(a[2] as string) }),
  },
  { params: [Oid.text, Oid.interval], returns: Types.interval, impl: (a) => dt.dateTruncInterval(a[0] as string, a[1] as Interval) },
);

/** A zone name as a TimeZone setting value that resolves to the same zone (abbreviations included). */
function zoneSetting(name: string): string {
  const zone = dt.zoneForName(name);
  if (zone.kind === 'iana') return zone.name;
  // A fixed offset as hours east, which resolveTimeZoneSetting reads with SQL's sign.
  return String(zone.offsetSeconds / 3600);
}

const FIELD_SOURCES: ReadonlyArray<readonly [number, SqlType]> = [
  [Oid.date, Types.date],
  [Oid.time, Types.time],
  [Oid.timetz, Types.timetz],
  [Oid.timestamp, Types.timestamp],
  [Oid.timestamptz, Types.timestamptz],
  [Oid.interval, Types.interval],
];

defineScalar(
  'extract',
  ...FIELD_SOURCES.map(
    ([oid]): ScalarOverload => ({ params: [Oid.text, oid], returns: Types.numeric, impl: (a, ctx) => dt.extract(a[0] as string, a[1]!, oid, ctx.settings) }),
  ),
);
defineScalar(
  'date_part',
  ...FIELD_SOURCES.map(
    ([oid]): ScalarOverload => ({ params: [Oid.text, oid], returns: Types.float8, impl: (a, ctx) => dt.datePart(a[0] as string, a[1]!, oid, ctx.settings) }),
  ),
);

// ---- age ---------------------------------------------------------------------------------------------

/** Midnight of the current date (in the session zone for timestamptz): what age(x) counts from. */
function todayMidnight(ctx: EvalContext, withZone: boolean): bigint {
  const local = dt.dateToTimestamp(dt.currentDate(ctx.settings, ctx.txnTimestamp));
  return withZone ? dt.timestampToTimestampTz(local, ctx.settings) : local;
}

defineScalar(
  'age',
  { params: [Oid.timestamp, Oid.timestamp], returns: Types.interval, impl: (a, ctx) => dt.age(a[0] as bigint, a[1] as bigint, false, ctx.settings) },
  { params: [Oid.timestamptz, Oid.timestamptz], returns: Types.interval, impl: (a, ctx) => dt.age(a[0] as bigint, a[1] as bigint, true, ctx.settings) },
  { params: [Oid.timestamp], returns: Types.interval, impl: (a, ctx) => dt.age(todayMidnight(ctx, false), a[0] as bigint, false, ctx.settings) },
  { params: [Oid.timestamptz], returns: Types.interval, impl: (a, ctx) => dt.age(todayMidnight(ctx, true), a[0] as bigint, true, ctx.settings) },
);

// ---- constructors ------------------------------------------------------------------------------------

const I4 = Oid.int4;
const F8 = Oid.float8;

defineScalar('make_date', { params: [I4, I4, I4], returns: Types.date, impl: (a) => dt.makeDate(a[0] as number, a[1] as number, a[2] as number) });
defineScalar('make_time', {
  params: [I4, I4, F8],
  returns: Types.time,
  impl: (a) => {
    const [h, m, sec] = [a[0] as number, a[1] as number, a[2] as number];
    if (h < 0 || m < 0 || m > 59 || Number.isNaN(sec) || sec < 0 || sec > 60 || h > 24 || (h === 24 && (m > 0 || sec > 0))) {
      throw new SqlError(SqlState.datetimeFieldOverflow, `time field value out of range: ${h}:${pad(m, 2)}:${dt.formatG(sec, 2)}`);
    }
    return BigInt((h * 60 + m) * 60) * MICROS_PER_SECOND + BigInt(Math.round(sec * 1e6));
  },
});
defineScalar('make_timestamp', {
  params: [I4, I4, I4, I4, I4, F8],
  returns: Types.timestamp,
  impl: (a) => dt.makeTimestamp(a[0] as number, a[1] as number, a[2] as number, a[3] as number, a[4] as number, a[5] as number),
});
defineScalar(
  'make_timestamptz',
  {
    params: [I4, I4, I4, I4, I4, F8],
    returns: Types.timestamptz,
    impl: (a, ctx) => dt.makeTimestampTz(a[0] as number, a[1] as number, a[2] as number, a[3] as number, a[4] as number, a[5] as number, ctx.settings),
  },
  {
    params: [I4, I4, I4, I4, I4, F8, Oid.text],
    returns: Types.timestamptz,
    impl: (a, ctx) => dt.makeTimestampTz(a[0] as number, a[1] as number, a[2] as number, a[3] as number, a[4] as number, a[5] as number, ctx.settings, a[6] as string),
  },
);

/** make_interval(years, months, weeks, days, hours, mins, secs), trailing arguments defaulting to 0. */
function makeInterval(a: readonly Datum[]): Interval {
  const n = (i: number): number => (a[i] === undefined ? 0 : (a[i] as number));
  const secs = n(6);
  if (!Number.isFinite(secs)) throw new SqlError(SqlState.datetimeFieldOverflow, 'interval out of range');
  const months = n(0) * 12 + n(1);
  const days = n(2) * 7 + n(3);
  const micros = (BigInt(n(4)) * 60n + BigInt(n(5))) * MICROS_PER_MINUTE + BigInt(Math.round(secs * 1e6));
  if (!Number.isSafeInteger(months) || !Number.isSafeInteger(days)) throw new SqlError(SqlState.datetimeFieldOverflow, 'interval out of range');
  return Interval.of(months, days, micros);
}

const MAKE_INTERVAL_PARAMS = [I4, I4, I4, I4, I4, I4, F8];
defineScalar(
  'make_interval',
  ...MAKE_INTERVAL_PARAMS.map((_p, i): ScalarOverload => ({ params: MAKE_INTERVAL_PARAMS.slice(0, i + 1), returns: Types.interval, impl: makeInterval })),
  { params: [], returns: Types.interval, impl: () => Interval.ZERO },
);

defineScalar('to_timestamp', { params: [F8], returns: Types.timestamptz, impl: (a) => dt.toTimestamp(a[0] as number) });

// ---- time zones ------------------------------------------------------------------------------------

/** timezone(interval, ...): the interval is a fixed offset east of UTC (no months or days). */
function intervalZone(iv: Interval): dt.TimeZone {
  if (iv.months !== 0 || iv.days !== 0) {
    throw new SqlError(SqlState.invalidParameterValue, `interval time zone "${iv.toString()}" must not include months or days`);
  }
  return { kind: 'fixed', offsetSeconds: Number(iv.micros / MICROS_PER_SECOND), abbreviation: '' };
}

function atFixedZone(t: bigint, fromTimestampTz: boolean, zone: dt.TimeZone): bigint {
  if (!isFiniteTs(t)) return t;
  return fromTimestampTz ? dt.utcToLocal(t, zone) : dt.localToUtc(t, zone);
}

function timetzAtZone(v: TimeTz, zone: dt.TimeZone, ctx: EvalContext): TimeTz {
  // The offset a named zone has now (PostgreSQL uses the transaction start for this).
  const offset = zone.kind === 'fixed' ? zone.offsetSeconds : dt.offsetAtTimestamp(zone, ctx.txnTimestamp);
  let micros = v.micros - BigInt(v.offsetSeconds) * MICROS_PER_SECOND + BigInt(offset) * MICROS_PER_SECOND;
  micros = ((micros % MICROS_PER_DAY) + MICROS_PER_DAY) % MICROS_PER_DAY;
  return { micros, offsetSeconds: offset };
}

defineScalar(
  'timezone',
  { params: [Oid.text, Oid.timestamp], returns: Types.timestamptz, impl: (a) => dt.atTimeZone(a[1] as bigint, false, a[0] as string) },
  { params: [Oid.text, Oid.timestamptz], returns: Types.timestamp, impl: (a) => dt.atTimeZone(a[1] as bigint, true, a[0] as string) },
  { params: [Oid.text, Oid.timetz], returns: Types.timetz, impl: (a, ctx) => timetzAtZone(a[1] as TimeTz, dt.zoneForName(a[0] as string), ctx) },
  {
    params: [Oid.interval, Oid.timestamp],
    returns: Types.timestamptz,
    impl: (a) => atFixedZone(a[1] as bigint, false, intervalZone(a[0] as Interval)),
  },
  {
    params: [Oid.interval, Oid.timestamptz],
    returns: Types.timestamp,
    impl: (a) => atFixedZone(a[1] as bigint, true, intervalZone(a[0] as Interval)),
  },
  {
    params: [Oid.interval, Oid.timetz],
    returns: Types.timetz,
    impl: (a, ctx) => timetzAtZone(a[1] as TimeTz, intervalZone(a[0] as Interval), ctx),
  },
);

// ---- intervals and infinities ------------------------------------------------------------------------

defineScalar('justify_days', { params: [Oid.interval], returns: Types.interval, impl: (a) => dt.justifyDays(a[0] as Interval) });
defineScalar('justify_hours', { params: [Oid.interval], returns: Types.interval, impl: (a) => dt.justifyHours(a[0] as Interval) });
defineScalar('justify_interval', { params: [Oid.interval], returns: Types.interval, impl: (a) => dt.justifyInterval(a[0] as Interval) });

defineScalar(
  'isfinite',
  { params: [Oid.date], returns: Types.bool, impl: (a) => Number.isFinite(a[0] as number) },
  { params: [Oid.timestamp], returns: Types.bool, impl: (a) => isFiniteTs(a[0] as bigint) },
  { params: [Oid.timestamptz], returns: Types.bool, impl: (a) => isFiniteTs(a[0] as bigint) },
  // PostgreSQL 15's intervals have no infinity.
  { params: [Oid.interval], returns: Types.bool, impl: () => true },
);

/** date_bin(stride, source, origin): the start of the stride-wide bin (counted from origin) holding source. */
function dateBin(stride: Interval, source: bigint, origin: bigint): bigint {
  if (!isFiniteTs(source) || !isFiniteTs(origin)) throw new SqlError(SqlState.featureNotSupported, 'timestamps cannot be binned into infinite intervals');
  if (stride.months !== 0) throw new SqlError(SqlState.featureNotSupported, 'timestamps cannot be binned into intervals containing months or years');
  const width = BigInt(stride.days) * MICROS_PER_DAY + stride.micros;
  if (width <= 0n) throw new SqlError(SqlState.datetimeFieldOverflow, 'stride must be greater than zero');
  const delta = source - origin;
  let bins = delta / width;
  // Truncation is towards zero; a source before the origin belongs to the bin below.
  if (delta < 0n && delta % width !== 0n) bins -= 1n;
  return origin + bins * width;
}

defineScalar(
  'date_bin',
  { params: [Oid.interval, Oid.timestamp, Oid.timestamp], returns: Types.timestamp, impl: (a) => dateBin(a[0] as Interval, a[1] as bigint, a[2] as bigint) },
  { params: [Oid.interval, Oid.timestamptz, Oid.timestamptz], returns: Types.timestamptz, impl: (a) => dateBin(a[0] as Interval, a[1] as bigint, a[2] as bigint) },
);

// ---- templates: to_char for dates and times -----------------------------------------------------------

/** The template keywords, longest first where one is a prefix of another (PostgreSQL's order). */
const DATE_KEYWORDS = [
  'A.D.', 'A.M.', 'AD', 'AM', 'B.C.', 'BC', 'CC', 'DAY', 'DDD', 'DD', 'DY', 'Day', 'Dy', 'D', 'FF1', 'FF2', 'FF3', 'FF4', 'FF5', 'FF6', 'FX',
  'HH24', 'HH12', 'HH', 'IDDD', 'ID', 'IW', 'IYYY', 'IYY', 'IY', 'I', 'J', 'MI', 'MM', 'MONTH', 'MON', 'MS', 'Month', 'Mon', 'OF', 'P.M.', 'PM',
  'Q', 'RM', 'SSSSS', 'SSSS', 'SS', 'TZH', 'TZM', 'TZ', 'US', 'WW', 'W', 'Y,YYY', 'YYYY', 'YYY', 'YY', 'Y',
  'a.d.', 'a.m.', 'ad', 'am', 'b.c.', 'bc', 'cc', 'day', 'ddd', 'dd', 'dy', 'd', 'ff1', 'ff2', 'ff3', 'ff4', 'ff5', 'ff6', 'fx', 'hh24', 'hh12', 'hh',
  'iddd', 'id', 'iw', 'iyyy', 'iyy', 'iy', 'i', 'j', 'mi', 'mm', 'month', 'mon', 'ms', 'of', 'p.m.', 'pm', 'q', 'rm', 'sssss', 'ssss', 'ss', 'tzh', 'tzm', 'tz',
  'us', 'ww', 'w', 'y,yyy', 'yyyy', 'yyy', 'yy', 'y',
];

type TemplateNode =
  | { readonly kind: 'field'; readonly key: string; readonly fillMode: boolean; readonly suffix: '' | 'TH' | 'th'; readonly exact: boolean }
  | { readonly kind: 'text'; readonly text: string };

/** Cuts a date/time template into fields (with their FM/TH/FX modifiers) and literal text. */
function parseTemplate(template: string): TemplateNode[] {
  if (template.length > MAX_TEMPLATE_LENGTH) throw new SqlError(SqlState.programLimitExceeded, `template is longer than ${MAX_TEMPLATE_LENGTH} characters`);
  const nodes: TemplateNode[] = [];
  let i = 0;
  let text = '';
  const flushText = (): void => {
    if (text !== '') nodes.push({ kind: 'text', text });
    text = '';
  };
  while (i < template.length) {
    let fillMode = false;
    let j = i;
    // Prefix modifiers: FM (fill mode), TM (translation: the C locale's names), FX handled as a keyword.
    for (;;) {
      const two = template.slice(j, j + 2);
      if (two === 'FM' || two === 'fm') {
        fillMode = true;
        j += 2;
      } else if (two === 'TM' || two === 'tm') j += 2;
      else break;
    }
    const key = DATE_KEYWORDS.find((k) => template.startsWith(k, j));
    if (key !== undefined) {
      flushText();
      j += key.length;
      let suffix: '' | 'TH' | 'th' = '';
      if (template.startsWith('TH', j)) suffix = 'TH';
      else if (template.startsWith('th', j)) suffix = 'th';
      if (suffix !== '') j += 2;
      nodes.push({ kind: 'field', key, fillMode, suffix, exact: false });
      i = j;
      continue;
    }
    if (j > i) {
      // A modifier not followed by a keyword is literal text.
      text += template.slice(i, j);
      i = j;
      continue;
    }
    const c = template[i]!;
    if (c === '"') {
      i++;
      while (i < template.length && template[i] !== '"') {
        if (template[i] === '\\' && i + 1 < template.length) i++;
        text += template[i];
        i++;
      }
      i++;
      continue;
    }
    if (c === '\\' && template[i + 1] === '"') {
      text += '"';
      i += 2;
      continue;
    }
    text += c;
    i++;
  }
  flushText();
  return nodes;
}

/** The English ordinal suffix of a number (1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st ...). */
function ordinalSuffix(n: number, upper: boolean): string {
  const last2 = Math.abs(n) % 100;
  const last = Math.abs(n) % 10;
  const s = last2 >= 11 && last2 <= 13 ? 'th' : last === 1 ? 'st' : last === 2 ? 'nd' : last === 3 ? 'rd' : 'th';
  return upper ? s.toUpperCase() : s;
}

/** The fields a date/time template reads, from a timestamp, a date or an interval. */
interface TemplateFields {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly micros: number;
  /** Day of year, day of week (0 = Sunday), ISO year, week, day of ISO year; absent for intervals. */
  readonly calendar?: { readonly doy: number; readonly dow: number; readonly isoYear: number; readonly isoWeek: number; readonly isoDoy: number; readonly julian: number };
  readonly zone?: { readonly offset: number; readonly abbreviation: string };
  readonly interval: boolean;
}

function isoWeekStart(year: number): number {
  const jan4 = dt.dateToJulian(year, 1, 4);
  return jan4 - ((((jan4 + 1) % 7) + 7 + 6) % 7);
}

function calendarOf(year: number, month: number, day: number): NonNullable<TemplateFields['calendar']> {
  const julian = dt.dateToJulian(year, month, day);
  const dow = (((julian + 1) % 7) + 7) % 7;
  let isoYear = year;
  let start = isoWeekStart(year);
  if (julian < start) {
    isoYear = year - 1;
    start = isoWeekStart(isoYear);
  } else if (julian >= isoWeekStart(year + 1)) {
    isoYear = year + 1;
    start = isoWeekStart(isoYear);
  }
  return { doy: julian - dt.dateToJulian(year, 1, 1) + 1, dow, isoYear, isoWeek: Math.floor((julian - start) / 7) + 1, isoDoy: julian - start + 1, julian };
}

function fieldsOfTimestamp(t: bigint, withZone: boolean, s: TypeSettings): TemplateFields {
  const { tm, offset } = localFields(t, withZone, s);
  return {
    ...tm,
    calendar: calendarOf(tm.year, tm.month, tm.day),
    ...(withZone ? { zone: { offset, abbreviation: zoneAbbreviationAt(t, offset, s) } } : {}),
    interval: false,
  };
}

function fieldsOfInterval(iv: Interval): TemplateFields {
  const hours = iv.micros / MICROS_PER_HOUR;
  let rest = iv.micros - hours * MICROS_PER_HOUR;
  const minutes = rest / MICROS_PER_MINUTE;
  rest -= minutes * MICROS_PER_MINUTE;
  const seconds = rest / MICROS_PER_SECOND;
  rest -= seconds * MICROS_PER_SECOND;
  return {
    year: Math.trunc(iv.months / 12),
    month: iv.months % 12,
    day: iv.days,
    hour: Number(hours),
    minute: Number(minutes),
    second: Number(seconds),
    micros: Number(rest),
    interval: true,
  };
}

/** Zero-padded to `width` unless in fill mode; the sign stays in front. */
function num(v: number, width: number, fillMode: boolean): string {
  return fillMode ? String(v) : pad(v, width);
}

function nameCase(name: string, key: string): string {
  if (key === key.toUpperCase()) return name.toUpperCase();
  if (key === key.toLowerCase()) return name.toLowerCase();
  return name;
}

function displayYear(year: number): number {
  return year > 0 ? year : 1 - year;
}

function formatDateField(node: Extract<TemplateNode, { kind: 'field' }>, f: TemplateFields): string {
  const { key, fillMode } = node;
  const upper = key.toUpperCase();
  const cal = f.calendar;
  const needCalendar = (): NonNullable<TemplateFields['calendar']> => {
    if (cal === undefined) throw new SqlError(SqlState.invalidDatetimeFormat, `invalid format specification for an interval value`, { hint: 'Intervals are not tied to specific calendar dates.' });
    return cal;
  };
  const year = f.interval ? f.year : displayYear(f.year);
  const withSuffix = (n: number, text: string): string => (node.suffix === '' ? text : text + ordinalSuffix(n, node.suffix === 'TH'));
  switch (upper) {
    case 'HH':
    case 'HH12': {
      const h = f.hour % 12 === 0 ? 12 : f.hour % 12;
      return withSuffix(h, num(h, 2, fillMode));
    }
    case 'HH24':
      return withSuffix(f.hour, num(f.hour, 2, fillMode));
    case 'MI':
      return withSuffix(f.minute, num(f.minute, 2, fillMode));
    case 'SS':
      return withSuffix(f.second, num(f.second, 2, fillMode));
    case 'MS':
      return withSuffix(Math.trunc(f.micros / 1000), num(Math.trunc(f.micros / 1000), 3, fillMode));
    case 'US':
      return withSuffix(f.micros, num(f.micros, 6, fillMode));
    case 'FF1':
    case 'FF2':
    case 'FF3':
    case 'FF4':
    case 'FF5':
    case 'FF6': {
      const digits = Number(upper[2]);
      const v = Math.trunc(f.micros / 10 ** (6 - digits));
      return withSuffix(v, num(v, digits, fillMode));
    }
    case 'SSSS':
    case 'SSSSS': {
      const v = (f.hour * 60 + f.minute) * 60 + f.second;
      return withSuffix(v, String(v));
    }
    case 'AM':
    case 'PM':
      return nameCase(f.hour % 24 >= 12 ? 'PM' : 'AM', key);
    case 'A.M.':
    case 'P.M.':
      return nameCase(f.hour % 24 >= 12 ? 'P.M.' : 'A.M.', key);
    case 'Y,YYY': {
      const text = `${Math.trunc(year / 1000)},${pad(year % 1000, 3)}`;
      return withSuffix(year, text);
    }
    case 'YYYY':
      return withSuffix(year, num(year, 4, fillMode));
    case 'YYY':
      return withSuffix(year, num(year % 1000, 3, fillMode));
    case 'YY':
      return withSuffix(year, num(year % 100, 2, fillMode));
    case 'Y':
      return withSuffix(year, String(year % 10));
    case 'IYYY':
    case 'IYY':
    case 'IY':
    case 'I': {
      const iy = displayYear(needCalendar().isoYear);
      const width = upper.length;
      const v = width === 4 ? iy : iy % 10 ** width;
      return withSuffix(v, num(v, width, fillMode));
    }
    case 'BC':
    case 'AD':
      return nameCase(f.year <= 0 ? 'BC' : 'AD', key);
    case 'B.C.':
    case 'A.D.':
      return nameCase(f.year <= 0 ? 'B.C.' : 'A.D.', key);
    case 'MONTH':
    case 'MON': {
      if (f.interval && f.month === 0) return '';
      const name = MONTH_NAMES[(f.month + 11) % 12]!;
      const text = nameCase(upper === 'MON' ? name.slice(0, 3) : name, key);
      return upper === 'MONTH' && !fillMode ? text.padEnd(9, ' ') : text;
    }
    case 'MM':
      return withSuffix(f.month, num(f.month, 2, fillMode));
    case 'DAY':
    case 'DY': {
      const name = DAY_NAMES[needCalendar().dow]!;
      const text = nameCase(upper === 'DY' ? name.slice(0, 3) : name, key);
      return upper === 'DAY' && !fillMode ? text.padEnd(9, ' ') : text;
    }
    case 'DDD':
      return withSuffix(f.interval ? f.day : needCalendar().doy, num(f.interval ? f.day : needCalendar().doy, 3, fillMode));
    case 'IDDD':
      return withSuffix(needCalendar().isoDoy, num(needCalendar().isoDoy, 3, fillMode));
    case 'DD':
      return withSuffix(f.day, num(f.day, 2, fillMode));
    case 'D':
      return withSuffix(needCalendar().dow + 1, String(needCalendar().dow + 1));
    case 'ID': {
      const d = needCalendar().dow === 0 ? 7 : needCalendar().dow;
      return withSuffix(d, String(d));
    }
    case 'WW': {
      const w = Math.floor((needCalendar().doy - 1) / 7) + 1;
      return withSuffix(w, num(w, 2, fillMode));
    }
    case 'IW':
      return withSuffix(needCalendar().isoWeek, num(needCalendar().isoWeek, 2, fillMode));
    case 'W': {
      const w = Math.floor((f.day - 1) / 7) + 1;
      return withSuffix(w, String(w));
    }
    case 'CC': {
      const cc = f.interval ? Math.trunc(f.year / 100) : f.year > 0 ? Math.trunc((f.year + 99) / 100) : -Math.trunc((99 - (f.year - 1)) / 100);
      return withSuffix(cc, num(cc, 2, fillMode));
    }
    case 'J':
      return withSuffix(needCalendar().julian, String(needCalendar().julian));
    case 'Q': {
      if (f.interval && f.month === 0) return '';
      const q = Math.trunc((f.month - 1) / 3) + 1;
      return withSuffix(q, String(q));
    }
    case 'RM': {
      if (f.interval && f.month === 0) return '';
      const text = nameCase(ROMAN_MONTHS[(f.month + 11) % 12]!, key);
      return fillMode ? text : text.padEnd(4, ' ');
    }
    case 'TZ':
      if (f.zone === undefined) return '';
      return nameCase(f.zone.abbreviation, key);
    case 'OF': {
      if (f.zone === undefined) return '+00';
      return dt.encodeOffset(f.zone.offset);
    }
    case 'TZH': {
      const o = f.zone?.offset ?? 0;
      return `${o < 0 ? '-' : '+'}${pad(Math.trunc(Math.abs(o) / 3600), 2)}`;
    }
    case 'TZM': {
      const o = Math.abs(f.zone?.offset ?? 0);
      return pad(Math.trunc((o % 3600) / 60), 2);
    }
    case 'FX':
      return '';
    default:
      return key;
  }
}

function formatDateTemplate(f: TemplateFields, template: string): string {
  let out = '';
  for (const node of parseTemplate(template)) out += node.kind === 'text' ? node.text : formatDateField(node, f);
  return out;
}

function toCharTimestamp(withZone: boolean): ScalarImpl {
  return (a, ctx) => {
    const t = a[0] as bigint;
    const template = a[1] as string;
    if (template === '') return null;
    if (!isFiniteTs(t)) return null;
    return formatDateTemplate(fieldsOfTimestamp(t, withZone, ctx.settings), template);
  };
}

// ---- templates: to_char for numbers -------------------------------------------------------------------

interface NumberTemplate {
  readonly items: ReadonlyArray<
    | { readonly kind: 'digit'; readonly zero: boolean }
    | { readonly kind: 'point' }
    | { readonly kind: 'group' }
    | { readonly kind: 'sign'; readonly sign: 'S' | 'MI' | 'PL' | 'SG' }
    | { readonly kind: 'currency' }
    | { readonly kind: 'text'; readonly text: string }
    | { readonly kind: 'ordinal'; readonly upper: boolean }
  >;
  readonly pre: number;
  readonly post: number;
  readonly multiplier: number;
  readonly fillMode: boolean;
  readonly brackets: boolean;
  readonly eeee: boolean;
  readonly roman: 'upper' | 'lower' | undefined;
  /** Index of the first 0 digit (zeros print from there on), or -1. */
  readonly zeroStart: number;
  /** Index (among digits) of the last 0 digit, or -1. */
  readonly zeroEnd: number;
  readonly leftSign: boolean;
  /** An S pattern after the digits: the sign is written there, not before the number. */
  readonly rightSign: boolean;
  readonly hasMinusOrSg: boolean;
  readonly hasPlusOnly: boolean;
}

function syntaxError(message: string, detail?: string): SqlError {
  return new SqlError(SqlState.syntaxError, message, detail === undefined ? {} : { detail });
}

function parseNumberTemplate(template: string): NumberTemplate {
  if (template.length > MAX_TEMPLATE_LENGTH) throw new SqlError(SqlState.programLimitExceeded, `template is longer than ${MAX_TEMPLATE_LENGTH} characters`);
  const items: Array<NumberTemplate['items'][number]> = [];
  let pre = 0;
  let post = 0;
  let afterPoint = false;
  let multiplierDigits = 0;
  let afterV = false;
  let fillMode = false;
  let brackets = false;
  let eeee = false;
  let roman: NumberTemplate['roman'];
  let digitIndex = 0;
  let zeroStart = -1;
  let zeroEnd = -1;
  let leftSign = false;
  let rightSign = false;
  let hasMinus = false;
  let hasPlus = false;
  let sawDigit = false;
  let i = 0;
  const up = (n: number): string => template.slice(i, i + n).toUpperCase();
  while (i < template.length) {
    const c = template[i]!;
    if (up(2) === 'FM') {
      fillMode = true;
      i += 2;
    } else if (c === '9' || c === '0') {
      if (c === '0') {
        if (zeroStart < 0) zeroStart = digitIndex;
        zeroEnd = digitIndex;
      }
      items.push({ kind: 'digit', zero: c === '0' });
      digitIndex++;
      sawDigit = true;
      if (afterV) multiplierDigits++;
      if (afterPoint) post++;
      else pre++;
      i++;
    } else if (c === '.' || up(1) === 'D') {
      if (afterPoint) throw syntaxError('multiple decimal points');
      afterPoint = true;
      items.push({ kind: 'point' });
      i++;
    } else if (c === ',' || up(1) === 'G') {
      items.push({ kind: 'group' });
      i++;
    } else if (up(2) === 'PR') {
      brackets = true;
      i += 2;
    } else if (up(2) === 'MI' || up(2) === 'PL' || up(2) === 'SG') {
      const sign = up(2) as 'MI' | 'PL' | 'SG';
      if (sign !== 'PL') hasMinus = true;
      if (sign !== 'MI') hasPlus = true;
      items.push({ kind: 'sign', sign });
      i += 2;
    } else if (up(1) === 'S') {
      leftSign = !sawDigit;
      rightSign = sawDigit;
      items.push({ kind: 'sign', sign: 'S' });
      i++;
    } else if (up(1) === 'L') {
      items.push({ kind: 'currency' });
      i++;
    } else if (up(1) === 'V') {
      afterV = true;
      i++;
    } else if (up(4) === 'EEEE') {
      eeee = true;
      i += 4;
    } else if (up(2) === 'RN') {
      roman = template[i] === 'r' ? 'lower' : 'upper';
      i += 2;
    } else if (up(2) === 'TH') {
      items.push({ kind: 'ordinal', upper: template[i] === 'T' });
      i += 2;
    } else if (c === '"') {
      let text = '';
      i++;
      while (i < template.length && template[i] !== '"') {
        if (template[i] === '\\' && i + 1 < template.length) i++;
        text += template[i];
        i++;
      }
      i++;
      items.push({ kind: 'text', text });
    } else {
      items.push({ kind: 'text', text: c });
      i++;
    }
  }
  if (eeee && (fillMode || brackets || items.some((x) => x.kind !== 'digit' && x.kind !== 'point'))) {
    throw syntaxError('"EEEE" is incompatible with other formats', '"EEEE" may only be used together with digit and decimal point patterns.');
  }
  // Digits after V move into the integer part: the value is multiplied by 10^n.
  if (multiplierDigits > 0) {
    post = Math.max(post - multiplierDigits, 0);
    pre = digitIndex - post;
  }
  return {
    items,
    pre,
    post,
    multiplier: multiplierDigits,
    fillMode,
    brackets,
    eeee,
    roman,
    zeroStart,
    zeroEnd,
    leftSign,
    rightSign,
    hasMinusOrSg: hasMinus,
    hasPlusOnly: hasPlus && !hasMinus,
  };
}

/** A number to lay out: its sign and its digits, rounded to the template's decimals. */
interface DecimalDigits {
  readonly negative: boolean;
  /** Integer digits without leading zeros ("0" for a value below 1). */
  readonly integer: string;
  /** Exactly `post` fraction digits. */
  readonly fraction: string;
  readonly special?: boolean;
}

function numericDigits(v: Numeric, post: number): DecimalDigits {
  if (!v.isFinite) return { negative: v.signum() < 0, integer: '', fraction: '', special: true };
  const r = v.round(post);
  const text = r.abs().toString();
  const [integer, fraction = ''] = text.split('.');
  return { negative: r.signum() < 0, integer: integer!, fraction: fraction.padEnd(post, '0') };
}

/** A double rounded to `post` decimals half to even on its exact binary value, as C's printf("%.*f") does. */
function floatDigits(v: number, post: number): DecimalDigits {
  if (!Number.isFinite(v)) return { negative: v < 0, integer: '', fraction: '', special: true };
  const negative = v < 0 || Object.is(v, -0);
  if (v === 0) return { negative, integer: '0', fraction: '0'.repeat(post) };
  const { mantissa, exp2 } = decomposeDouble(Math.abs(v));
  let num = mantissa * 10n ** BigInt(post);
  let den = 1n;
  if (exp2 >= 0) num <<= BigInt(exp2);
  else den <<= BigInt(-exp2);
  let q = num / den;
  const r2 = (num - q * den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) q++;
  const digits = q.toString().padStart(post + 1, '0');
  return { negative, integer: digits.slice(0, digits.length - post), fraction: digits.slice(digits.length - post) };
}

function romanNumeral(n: number): string {
  const table: ReadonlyArray<readonly [number, string]> = [
    [1000, 'M'], [900, 'CM'], [500, 'D'], [400, 'CD'], [100, 'C'], [90, 'XC'], [50, 'L'], [40, 'XL'], [10, 'X'], [9, 'IX'], [5, 'V'], [4, 'IV'], [1, 'I'],
  ];
  let out = '';
  let rest = n;
  for (const [value, letters] of table) {
    while (rest >= value) {
      out += letters;
      rest -= value;
    }
  }
  return out;
}

/** Scientific layout for EEEE: d.ddde±XX with the template's decimals. */
function scientific(value: Numeric, post: number): string {
  if (!value.isFinite) return ' ' + '#'.repeat(post + 1 + (post > 0 ? 1 : 0)) + 'e+##';
  const negative = value.signum() < 0;
  const a = value.abs();
  if (a.isZero) return `${negative ? '-' : ' '}0${post > 0 ? `.${'0'.repeat(post)}` : ''}e+00`;
  const text = a.stripTrailingZeros().toString();
  const [ip, fp = ''] = text.split('.');
  const digits = (ip! + fp).replace(/^0+/, '');
  let exponent = ip === '0' ? -(fp.length - fp.replace(/^0+/, '').length) - 1 : ip!.length - 1;
  // Round the mantissa digits to 1 + post significant digits.
  let mantissa = Numeric.parse(`${digits[0]}.${digits.slice(1) || '0'}`).round(post);
  if (mantissa.compare(Numeric.fromInt(10)) >= 0) {
    mantissa = mantissa.div(Numeric.fromInt(10)).round(post);
    exponent++;
  }
  const m = mantissa.toString();
  return `${negative ? '-' : ' '}${m}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

/** to_char(number, template): PostgreSQL's NUM_processor, for the digit, sign, group and literal patterns. */
function formatNumber(d: DecimalDigits, t: NumberTemplate): string {
  const overflow = d.special === true || d.integer.replace(/^0+/, '').length > t.pre;
  // Integer digits as PostgreSQL's numeric_out gives them (a lone "0" for values below 1).
  let intDigits = overflow ? '#'.repeat(t.pre) : d.integer === '' ? '0' : d.integer;
  if (!overflow && intDigits.length > 1) intDigits = intDigits.replace(/^0+/, '') || '0';
  const fraction = overflow ? '#'.repeat(t.post) : d.fraction;
  const hasZeroDigit = t.zeroStart >= 0;
  // A lone leading "0" before the point is not printed unless a 0 pattern asks for it.
  const dropLeadingZero = !overflow && intDigits === '0' && t.post > 0 && !hasZeroDigit;
  const outPreSpaces = Math.max(t.pre - intDigits.length, 0);
  const sign = d.negative && !(intDigits.replace(/[0#]/g, '') === '' && fraction.replace(/[0#]/g, '') === '' && !overflow) ? '-' : '+';
  // Fill mode drops the 9 fraction positions after the last non-zero digit (0 positions stay).
  let lastRelevant = t.post;
  if (t.fillMode) {
    lastRelevant = 0;
    for (let k = 0; k < fraction.length; k++) if (fraction[k] !== '0') lastRelevant = k + 1;
  }
  const zeroFractionEnd = t.zeroEnd >= t.pre ? t.zeroEnd - t.pre + 1 : 0;
  let needSign: boolean;
  if (t.hasMinusOrSg || t.rightSign) needSign = false;
  else if (t.hasPlusOnly) needSign = true;
  else needSign = !(sign === '+' && t.fillMode && !t.leftSign);
  const brackets = t.brackets && !(sign === '+' && t.fillMode);
  let out = '';
  let signWritten = !needSign;
  let digitPos = 0;
  let fracPos = 0;
  let wroteDigit = false;
  const writeSign = (): void => {
    if (signWritten) return;
    signWritten = true;
    if (t.leftSign) out += sign;
    else if (brackets) out += sign === '-' ? '<' : ' ';
    else if (sign === '-') out += '-';
    else if (!t.fillMode) out += ' ';
  };
  const allFractionZero = fraction.replace(/0/g, '') === '';
  for (const item of t.items) {
    switch (item.kind) {
      case 'digit': {
        if (digitPos < t.pre) {
          const k = digitPos - outPreSpaces;
          digitPos++;
          if (k < 0) {
            if (hasZeroDigit && t.zeroStart <= digitPos - 1) {
              writeSign();
              out += '0';
              wroteDigit = true;
            } else if (!t.fillMode) out += ' ';
            continue;
          }
          if (k === 0 && dropLeadingZero) {
            if (!t.fillMode) out += ' ';
            else if (allFractionZero && lastRelevant === 0) {
              writeSign();
              out += '0';
              wroteDigit = true;
            }
            continue;
          }
          writeSign();
          out += intDigits[k];
          wroteDigit = true;
        } else {
          const k = fracPos++;
          if (t.fillMode && k >= lastRelevant && k >= zeroFractionEnd) continue;
          out += fraction[k] ?? '0';
        }
        break;
      }
      case 'point':
        writeSign();
        out += '.';
        break;
      case 'group':
        if (wroteDigit) out += ',';
        else if (!t.fillMode) out += ' ';
        break;
      case 'sign':
        if (item.sign === 'S') {
          if (!t.leftSign) out += sign;
        } else if (item.sign === 'MI') out += sign === '-' ? '-' : t.fillMode ? '' : ' ';
        else if (item.sign === 'PL') out += sign === '+' ? '+' : t.fillMode ? '' : ' ';
        else out += sign;
        break;
      case 'currency':
        out += ' ';
        break;
      case 'text':
        out += item.text;
        break;
      case 'ordinal':
        if (!overflow && sign !== '-' && t.post === 0) out += ordinalSuffix(Number(intDigits.slice(-2)), item.upper);
        break;
    }
  }
  writeSign();
  if (brackets) out += sign === '-' ? '>' : ' ';
  return out;
}

function toCharNumber(value: Numeric | number, isFloat: boolean, template: string): string | null {
  if (template === '') return null;
  const t = parseNumberTemplate(template);
  if (t.roman !== undefined) {
    const n = isFloat ? Math.round(value as number) : Number((value as Numeric).round(0).toString());
    const text = Number.isFinite(n) && n >= 1 && n <= 3999 ? romanNumeral(n) : '#'.repeat(15);
    const cased = t.roman === 'lower' ? text.toLowerCase() : text;
    return t.fillMode ? cased : cased.padStart(15, ' ');
  }
  if (t.eeee) {
    const v = isFloat ? (Number.isFinite(value as number) ? Numeric.parse(String(value as number)) : Numeric.NaN) : (value as Numeric);
    return scientific(v, t.post);
  }
  let digits: DecimalDigits;
  if (isFloat) {
    const x = value as number;
    digits = floatDigits(t.multiplier > 0 ? x * 10 ** t.multiplier : x, t.post);
  } else {
    const x = value as Numeric;
    digits = numericDigits(t.multiplier > 0 && x.isFinite ? x.mul(Numeric.of(10n ** BigInt(t.multiplier), 0)) : x, t.post);
  }
  return formatNumber(digits, t);
}

defineScalar(
  'to_char',
  { params: [Oid.timestamp, Oid.text], returns: Types.text, impl: toCharTimestamp(false) },
  { params: [Oid.timestamptz, Oid.text], returns: Types.text, impl: toCharTimestamp(true) },
  {
    params: [Oid.interval, Oid.text],
    returns: Types.text,
    impl: (a) => ((a[1] as string) === '' ? null : formatDateTemplate(fieldsOfInterval(a[0] as Interval), a[1] as string)),
  },
  { params: [Oid.numeric, Oid.text], returns: Types.text, impl: (a) => toCharNumber(a[0] as Numeric, false, a[1] as string) },
  { params: [Oid.int4, Oid.text], returns: Types.text, impl: (a) => toCharNumber(Numeric.fromInt(a[0] as number), false, a[1] as string) },
  { params: [Oid.int8, Oid.text], returns: Types.text, impl: (a) => toCharNumber(Numeric.fromBigInt(a[0] as bigint), false, a[1] as string) },
  { params: [Oid.float4, Oid.text], returns: Types.text, impl: (a) => toCharNumber(a[0] as number, true, a[1] as string) },
  { params: [Oid.float8, Oid.text], returns: Types.text, impl: (a) => toCharNumber(a[0] as number, true, a[1] as string) },
);

// ---- templates: to_timestamp and to_date -----------------------------------------------------------

interface ParsedFields {
  year?: number;
  bc: boolean;
  month?: number;
  day?: number;
  doy?: number;
  hour?: number;
  hour12: boolean;
  pm?: boolean;
  minute?: number;
  second?: number;
  micros: number;
  julian?: number;
  tzOffset?: number;
  secondsOfDay?: number;
  century?: number;
  isoYear?: number;
  isoWeek?: number;
  isoDow?: number;
}

function invalidValue(value: string, key: string, detail?: string): SqlError {
  return new SqlError(SqlState.invalidDatetimeFormat, `invalid value "${value}" for "${key}"`, detail === undefined ? {} : { detail });
}

function fieldOverflow(message: string): SqlError {
  return new SqlError(SqlState.datetimeFieldOverflow, message);
}

/** Fixed-width digits a numeric field reads when the next template node is also a field. */
const FIELD_WIDTH: Readonly<Record<string, number>> = {
  YYYY: 4, IYYY: 4, YYY: 3, IYY: 3, YY: 2, IY: 2, Y: 1, I: 1, MM: 2, DD: 2, DDD: 3, IDDD: 3, HH: 2, HH12: 2, HH24: 2, MI: 2, SS: 2, MS: 3, US: 6,
  FF1: 1, FF2: 2, FF3: 3, FF4: 4, FF5: 5, FF6: 6, WW: 2, IW: 2, W: 1, D: 1, ID: 1, CC: 2, Q: 1, SSSS: 5, SSSSS: 5, J: 7, TZH: 3, TZM: 2,
};

function parseWithTemplate(input: string, template: string): ParsedFields {
  const nodes = parseTemplate(template);
  const f: ParsedFields = { bc: false, hour12: false, micros: 0 };
  let i = 0;
  const skipSpaces = (): void => {
    while (i < input.length && input[i] === ' ') i++;
  };
  for (let n = 0; n < nodes.length; n++) {
    const node = nodes[n]!;
    if (node.kind === 'text') {
      // Outside FX mode a template character skips one input character, any spaces, or a separator.
      for (const ch of node.text) {
        if (ch === ' ') {
          skipSpaces();
          continue;
        }
        if (i < input.length && (input[i] === ch || /[^A-Za-z0-9]/.test(input[i]!))) i++;
      }
      continue;
    }
    const upper = node.key.toUpperCase();
    skipSpaces();
    // Input that ends early leaves the remaining fields at their defaults (as in PostgreSQL).
    if (i >= input.length) break;
    const nextIsField = nodes[n + 1]?.kind === 'field';
    const readNumber = (key: string): number => {
      const width = nextIsField || node.fillMode === false ? FIELD_WIDTH[key] : undefined;
      let j = i;
      if (input[j] === '-' || input[j] === '+') j++;
      const start = j;
      while (j < input.length && /[0-9]/.test(input[j]!) && (width === undefined || !nextIsField || j - start < width)) j++;
      if (j === start) {
        // PostgreSQL quotes as many characters as the field is wide.
        const found = input.slice(i, i + (FIELD_WIDTH[key] ?? 1));
        throw invalidValue(found, node.key, 'Value must be an integer.');
      }
      const v = Number(input.slice(i, j));
      i = j;
      if (node.suffix !== '') i += Math.min(2, input.length - i);
      return v;
    };
    const readWord = (words: readonly string[], key: string): number => {
      const rest = input.slice(i).toLowerCase();
      for (let w = 0; w < words.length; w++) {
        if (rest.startsWith(words[w]!.toLowerCase())) {
          i += words[w]!.length;
          return w;
        }
      }
      throw invalidValue(input.slice(i, i + 9).split(' ')[0] ?? '', key, 'The given value did not match any of the allowed values for this field.');
    };
    switch (upper) {
      case 'YYYY':
      case 'YYY':
      case 'YY':
      case 'Y': {
        const v = readNumber(upper);
        // Two- and three-digit years are the nearest to 2020, as PostgreSQL's adjust_partial_year_to_2020.
        if (upper === 'YY' && v < 100) f.year = v < 70 ? 2000 + v : 1900 + v;
        else if (upper === 'YYY' && v < 1000) f.year = v < 100 ? 2000 + v : v < 520 ? 2000 + v : 1000 + v;
        else if (upper === 'Y' && v < 10) f.year = 2020 + v;
        else f.year = v;
        break;
      }
      case 'Y,YYY': {
        const m = /^(\d{1,3}),(\d{3})/.exec(input.slice(i));
        if (m === null) throw invalidValue(input.slice(i, i + 5), node.key);
        f.year = Number(m[1]) * 1000 + Number(m[2]);
        i += m[0].length;
        break;
      }
      case 'IYYY':
      case 'IYY':
      case 'IY':
      case 'I':
        f.isoYear = readNumber(upper);
        break;
      case 'MM':
        f.month = readNumber(upper);
        break;
      case 'MONTH':
        f.month = readWord(MONTH_NAMES, node.key) + 1;
        break;
      case 'MON':
        f.month = readWord(MONTH_NAMES.map((m) => m.slice(0, 3)), node.key) + 1;
        break;
      case 'RM': {
        const order = ROMAN_MONTHS.map((r, k) => [r, k] as const).sort((x, y) => y[0].length - x[0].length);
        const rest = input.slice(i).toUpperCase();
        const hit = order.find(([r]) => rest.startsWith(r));
        if (hit === undefined) throw invalidValue(input.slice(i, i + 4), node.key);
        f.month = hit[1] + 1;
        i += hit[0].length;
        break;
      }
      case 'DAY':
        readWord(DAY_NAMES, node.key);
        break;
      case 'DY':
        readWord(DAY_NAMES.map((d) => d.slice(0, 3)), node.key);
        break;
      case 'DD':
        f.day = readNumber(upper);
        break;
      case 'DDD':
        f.doy = readNumber(upper);
        break;
      case 'D':
      case 'ID':
        f.isoDow = readNumber(upper);
        break;
      case 'IW':
        f.isoWeek = readNumber(upper);
        break;
      case 'WW':
      case 'W':
      case 'IDDD':
      case 'Q':
        readNumber(upper);
        break;
      case 'CC':
        f.century = readNumber(upper);
        break;
      case 'J':
        f.julian = readNumber(upper);
        break;
      case 'HH':
      case 'HH12':
        f.hour = readNumber(upper);
        f.hour12 = true;
        break;
      case 'HH24':
        f.hour = readNumber(upper);
        break;
      case 'MI':
        f.minute = readNumber(upper);
        break;
      case 'SS':
        f.second = readNumber(upper);
        break;
      case 'SSSS':
      case 'SSSSS':
        f.secondsOfDay = readNumber(upper);
        break;
      case 'MS': {
        const start = i;
        const v = readNumber(upper);
        f.micros += v * 10 ** (3 - Math.min(i - start, 3)) * 1000;
        break;
      }
      case 'US':
      case 'FF1':
      case 'FF2':
      case 'FF3':
      case 'FF4':
      case 'FF5':
      case 'FF6': {
        const start = i;
        const v = readNumber(upper);
        f.micros += v * 10 ** (6 - Math.min(i - start, 6));
        break;
      }
      case 'AM':
      case 'PM':
      case 'A.M.':
      case 'P.M.': {
        const word = readWord(upper.includes('.') ? ['A.M.', 'P.M.'] : ['AM', 'PM'], node.key);
        f.pm = word === 1;
        break;
      }
      case 'AD':
      case 'BC':
      case 'A.D.':
      case 'B.C.': {
        const word = readWord(upper.includes('.') ? ['A.D.', 'B.C.'] : ['AD', 'BC'], node.key);
        f.bc = word === 1;
        break;
      }
      case 'TZH': {
        const m = /^([+-]?)(\d{1,2})/.exec(input.slice(i));
        if (m === null) throw invalidValue(input.slice(i, i + 3), node.key);
        i += m[0].length;
        const h = Number(m[2]);
        f.tzOffset = (f.tzOffset ?? 0) + (m[1] === '-' ? -h : h) * 3600;
        break;
      }
      case 'TZM': {
        const v = readNumber(upper);
        f.tzOffset = (f.tzOffset ?? 0) + ((f.tzOffset ?? 0) < 0 ? -v : v) * 60;
        break;
      }
      case 'TZ':
      case 'OF':
        throw new SqlError(SqlState.featureNotSupported, `formatting field "${node.key}" is only supported in to_char`);
      default:
        break;
    }
  }
  return f;
}

/** The date and time the parsed fields name, checked as PostgreSQL's do_to_timestamp checks them. */
function resolveParsed(f: ParsedFields): { days: number; time: bigint } {
  let year = f.year ?? (f.century !== undefined ? (f.century - 1) * 100 + 1 : 1);
  if (f.bc) year = -(year - 1);
  let month = f.month ?? 1;
  let day = f.day ?? 1;
  if (f.julian !== undefined) {
    const d = dt.julianToDate(f.julian);
    year = d.year;
    month = d.month;
    day = d.day;
  } else if (f.doy !== undefined && f.month === undefined && f.day === undefined) {
    const d = dt.julianToDate(dt.dateToJulian(year, 1, 1) + f.doy - 1);
    month = d.month;
    day = d.day;
  } else if (f.isoYear !== undefined && f.isoWeek !== undefined) {
    const d = dt.julianToDate(isoWeekStart(f.isoYear) + (f.isoWeek - 1) * 7 + ((f.isoDow ?? 1) - 1));
    year = d.year;
    month = d.month;
    day = d.day;
  }
  let hour = f.hour ?? 0;
  if (f.hour12) {
    if (hour < 1 || hour > 12) {
      throw new SqlError(SqlState.invalidDatetimeFormat, `hour "${hour}" is invalid for the 12-hour clock`, { hint: 'Use the 24-hour clock, or give an hour between 1 and 12.' });
    }
  }
  if (f.pm !== undefined) {
    if (f.pm && hour < 12) hour += 12;
    else if (!f.pm && hour === 12) hour = 0;
  }
  let minute = f.minute ?? 0;
  let second = f.second ?? 0;
  if (f.secondsOfDay !== undefined) {
    hour = Math.floor(f.secondsOfDay / 3600);
    minute = Math.floor((f.secondsOfDay % 3600) / 60);
    second = f.secondsOfDay % 60;
  }
  if (month < 1 || month > 12 || day < 1 || day > dt.daysInMonth(year, month)) {
    const y = year > 0 ? year : `${1 - year}`;
    throw fieldOverflow(`date/time field value out of range: "${pad(Number(y), 4)}-${pad(month, 2)}-${pad(day, 2)}"`);
  }
  if (hour > 24 || minute > 59 || second > 60 || (hour === 24 && (minute > 0 || second > 0 || f.micros > 0))) {
    throw fieldOverflow(`date/time field value out of range: "${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}"`);
  }
  const days = dt.dateToJulian(year, month, day) - UNIX_EPOCH_JULIAN;
  const time = (BigInt((hour * 60 + minute) * 60 + second) * MICROS_PER_SECOND) + BigInt(f.micros);
  return { days, time };
}

defineScalar('to_timestamp', {
  params: [Oid.text, Oid.text],
  returns: Types.timestamptz,
  impl: (a, ctx) => {
    const f = parseWithTemplate(a[0] as string, a[1] as string);
    const { days, time } = resolveParsed(f);
    const local = BigInt(days) * MICROS_PER_DAY + time;
    if (f.tzOffset !== undefined) return local - BigInt(f.tzOffset) * MICROS_PER_SECOND;
    return dt.timestampToTimestampTz(local, ctx.settings);
  },
});
defineScalar('to_date', {
  params: [Oid.text, Oid.text],
  returns: Types.date,
  impl: (a) => {
    const { days } = resolveParsed(parseWithTemplate(a[0] as string, a[1] as string));
    if (days < dt.DATE_MIN || days >= dt.DATE_END) throw fieldOverflow(`date out of range: "${a[0] as string}"`);
    return days;
  },
});
