// Date/time functions and the to_char / to_timestamp / to_date templates against PostgreSQL 15
// (session TimeZone UTC unless a case sets another).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cairnScalar, call, f4, f8, fakeContext, i4, i8, lit, num, scalarMismatches, startOracle, txt, type Call, type Oracle } from './oracle.js';
import { DEFAULT_TYPE_SETTINGS } from '../../../src/sql/types/settings.js';

let oracle: Oracle;
beforeAll(async () => {
  oracle = await startOracle();
}, 60_000);
afterAll(async () => {
  await oracle?.stop();
});

const ts = (v: string): ReturnType<typeof lit> => lit('timestamp', v);
const tstz = (v: string): ReturnType<typeof lit> => lit('timestamptz', v);
const date = (v: string): ReturnType<typeof lit> => lit('date', v);
const iv = (v: string): ReturnType<typeof lit> => lit('interval', v);

const calls: Call[] = [
  // date_trunc
  call('date_trunc', txt('hour'), ts('2020-03-15 13:45:12.5')), call('date_trunc', txt('week'), ts('2020-03-15 13:45')), call('date_trunc', txt('quarter'), ts('2020-08-15')),
  call('date_trunc', txt('century'), ts('2020-08-15')), call('date_trunc', txt('millisecond'), ts('2020-03-15 13:45:12.123456')),
  call('date_trunc', txt('day'), tstz('2020-03-15 13:45:12+00')), call('date_trunc', txt('day'), tstz('2020-03-15 23:45:12+00'), txt('Europe/Berlin')),
  call('date_trunc', txt('fortnight'), ts('2020-03-15')), call('date_trunc', txt('hour'), iv('3 days 04:05:06')), call('date_trunc', txt('year'), iv('15 months 3 days')),
  call('date_trunc', txt('month'), ts('infinity')),
  // extract returns numeric, date_part float8
  call('pg_catalog.extract', txt('year'), ts('2020-03-15 13:45:12.5')), call('pg_catalog.extract', txt('epoch'), ts('2020-03-15 13:45:12.5')), call('pg_catalog.extract', txt('second'), ts('2020-03-15 13:45:12.5')),
  call('pg_catalog.extract', txt('dow'), date('2020-03-15')), call('pg_catalog.extract', txt('isodow'), date('2020-03-15')), call('pg_catalog.extract', txt('doy'), date('2020-12-31')),
  call('pg_catalog.extract', txt('week'), date('2021-01-01')), call('pg_catalog.extract', txt('isoyear'), date('2021-01-01')), call('pg_catalog.extract', txt('julian'), date('2020-01-01')),
  call('pg_catalog.extract', txt('epoch'), iv('1 day 2 hours')), call('pg_catalog.extract', txt('hour'), lit('time', '13:45:12')), call('pg_catalog.extract', txt('timezone'), tstz('2020-01-01 00:00+00')),
  call('pg_catalog.extract', txt('century'), date('2000-12-31')), call('pg_catalog.extract', txt('millennium'), date('2001-01-01')), call('pg_catalog.extract', txt('decade'), date('1999-06-01')),
  call('pg_catalog.extract', txt('foo'), date('2020-01-01')), call('pg_catalog.extract', txt('epoch'), ts('infinity')), call('pg_catalog.extract', txt('month'), iv('14 months')),
  call('date_part', txt('year'), ts('2020-03-15 13:45:12.5')), call('date_part', txt('epoch'), tstz('2020-03-15 13:45:12.5+00')), call('date_part', txt('seconds'), lit('time', '01:02:03.25')),
  call('date_part', txt('day'), iv('40 days')), call('date_part', txt('microseconds'), ts('2020-03-15 13:45:12.5')), call('date_part', txt('quarter'), date('2020-05-01')),
  // age
  call('age', ts('2020-03-15'), ts('2019-01-31')), call('age', ts('2019-01-31'), ts('2020-03-15')), call('age', tstz('2020-03-15 10:00+00'), tstz('2020-02-29 12:00+00')),
  call('age', ts('2001-04-10'), ts('1957-06-13')),
  // constructors
  call('make_date', i4(2020), i4(2), i4(29)), call('make_date', i4(2019), i4(2), i4(29)), call('make_date', i4(-44), i4(3), i4(15)), call('make_date', i4(0), i4(1), i4(1)),
  call('make_time', i4(13), i4(45), f8(12.5)), call('make_time', i4(25), i4(0), f8(0)), call('make_timestamp', i4(2020), i4(1), i4(2), i4(3), i4(4), f8(5.5)),
  call('make_timestamp', i4(2020), i4(13), i4(2), i4(3), i4(4), f8(5)), call('make_timestamptz', i4(2020), i4(1), i4(2), i4(3), i4(4), f8(5)),
  call('make_timestamptz', i4(2020), i4(7), i4(2), i4(3), i4(4), f8(5), txt('America/New_York')),
  call('make_interval', i4(1), i4(2), i4(3), i4(4), i4(5), i4(6), f8(7.5)), call('make_interval', i4(1)), call('make_interval'), call('make_interval', i4(0), i4(0), i4(0), i4(0), i4(0), i4(0), f8(-1.25)),
  call('to_timestamp', f8(1584280000.5)), call('to_timestamp', f8(0)), call('to_timestamp', f8('Infinity')), call('to_timestamp', f8('NaN')),
  // time zones (AT TIME ZONE)
  call('timezone', txt('America/New_York'), ts('2020-07-01 12:00')), call('timezone', txt('America/New_York'), tstz('2020-07-01 12:00+00')),
  call('timezone', txt('UTC+3'), ts('2020-07-01 12:00')), call('timezone', txt('PST'), tstz('2020-07-01 12:00+00')), call('timezone', txt('Mars/Base'), ts('2020-07-01')),
  call('timezone', iv('05:30'), tstz('2020-07-01 12:00+00')), call('timezone', iv('-03:00'), ts('2020-07-01 12:00')), call('timezone', iv('1 day'), ts('2020-07-01 12:00')),
  call('timezone', txt('+02:00'), lit('timetz', '10:00+00')),
  // intervals and infinities
  call('justify_days', iv('35 days')), call('justify_hours', iv('27 hours')), call('justify_interval', iv('1 mon -1 hour')), call('justify_days', iv('-35 days')),
  call('isfinite', date('infinity')), call('isfinite', ts('2020-01-01')), call('isfinite', tstz('-infinity')), call('isfinite', iv('1 day')),
  call('date_bin', iv('15 minutes'), ts('2020-02-11 15:44:17'), ts('2001-01-01')), call('date_bin', iv('15 minutes'), ts('2020-02-11 15:44:17'), ts('2001-01-01 00:02:30')),
  call('date_bin', iv('1 hour'), ts('1999-12-31 22:30'), ts('2000-01-01')), call('date_bin', iv('1 month'), ts('2020-02-11'), ts('2001-01-01')),
  call('date_bin', iv('0 minutes'), ts('2020-02-11'), ts('2001-01-01')), call('date_bin', iv('1 day'), tstz('2020-02-11 15:44:17+00'), tstz('2001-01-01+00')),
];

const toCharCalls: Call[] = [
  ...[
    'YYYY-MM-DD HH24:MI:SS', 'YYYY-MM-DD"T"HH24:MI:SS.US', 'Day, DD Month YYYY', 'FMDay, FMDD FMMonth YYYY', 'Dy Mon dd yy', 'DAY MON', 'day mon', 'HH12:MI AM',
    'hh:mi pm', 'HH24 MS US FF3', 'Y,YYY YYY YY Y', 'DDD D ID', 'WW IW W', 'CC J Q', 'RM rm FMRM', 'IYYY-IW-ID', 'DDth DDTH FMDDth', 'SSSS', 'BC A.D. bc', 'Q "quarter"',
    'FMHH24:FMMI', 'YYYYMMDD', '\\"YYYY\\"', 'FF1 FF2 FF4 FF5 FF6', 'TZ OF TZH:TZM', 'IDDD',
  ].map((t) => call('to_char', ts('2020-03-05 08:04:09.123456'), txt(t))),
  call('to_char', ts('2020-03-05 18:04:09'), txt('HH12 PM a.m.')), call('to_char', ts('0044-03-15 BC'), txt('YYYY BC')), call('to_char', ts('2020-01-03'), txt('DDth')),
  call('to_char', ts('2020-01-22'), txt('DDth')), call('to_char', ts('2020-01-11'), txt('DDth')), call('to_char', ts('infinity'), txt('YYYY')), call('to_char', ts('2020-01-01'), txt('')),
  call('to_char', tstz('2020-03-05 08:04:09+00'), txt('YYYY-MM-DD HH24:MI:SS TZ OF')), call('to_char', iv('1 year 2 months 3 days 04:05:06.789'), txt('YYYY MM DD HH24:MI:SS.MS')),
  call('to_char', iv('27 hours 5 minutes'), txt('HH24 HH12 MI')), call('to_char', iv('-3 hours'), txt('HH24')),
  // numbers
  ...[
    ['5', '999'], ['-5', '999'], ['5', '000'], ['0.5', '9.99'], ['0.5', '0.99'], ['123.456', '999.99'], ['123.456', 'FM999.99'], ['123.4', 'FM999.99'], ['123', 'FM999.00'],
    ['12345', '9,999'], ['1234567', '9,999,999'], ['-1234.5', '9G999D9'], ['-12', 'S999'], ['12', 'S999'], ['-12', '999S'], ['-12', '999MI'], ['12', '999MI'], ['12', 'PL999'],
    ['-12', 'PL999'], ['-12', 'SG999'], ['12', 'SG999'], ['-12', '999PR'], ['12', '999PR'], ['-12', 'FM999PR'], ['1234.5', '9.99EEEE'], ['-0.000123', '9.99EEEE'], ['5', '9.99EEEE'],
    ['12', '99V9'], ['1.23', '9V99'], ['12', 'V99'], ['2.5', '9'], ['-0.1', '9.9'], ['0', '9.9'], ['0', 'FM9.9'], ['0', 'FM990.9'], ['0.5', 'FM9.99'], ['0.05', 'FM9.99'],
    ['0', '9.99'], ['0', '999'], ['0', 'FM999'], ['5', '9,999'], ['-5', 'FM9,999'], ['1234', 'FM9,999'], ['-0.5', 'FM9.99'], ['12', 'FMS999'], ['1.5', '90.9'], ['1.5', '09.9'],
    ['12.5', '0999.90'], ['123', '9 9 9'], ['12', '9999th'], ['11', '99TH'], ['-1', '99th'], ['1.5', '9.9th'], ['0', 'FM0.00'], ['10', 'FM99.99'], ['-0.0001', '9.99'],
    ['123.45', '99'], ['12', 'MI999'], ['-12', 'MI999'], ['12', 'FM9999th'], ['485', 'RN'], ['3', 'FMRN'], ['0', 'RN'], ['12', '"Total: "999'], ['-12', '000'],
    ['3.14159', '9.999999999'], ['12.345', 'L99.99'], ['NaN', '9.9'], ['1234.5', 'FM9.99EEEE'],
  ].map(([v, t]) => call('to_char', num(v!), txt(t!))),
  call('to_char', f8(1.5), txt('9.9')), call('to_char', f8(2.5), txt('9')), call('to_char', f8(13.5), txt('99')), call('to_char', f8(0.125), txt('9.99')),
  call('to_char', f4(12.5), txt('99.9')), call('to_char', i4(-42), txt('FM9999')), call('to_char', i8('9223372036854775807'), txt('9999999999999999999')),
  call('to_char', i8(12), txt('FM00000')), call('to_char', i4(1234), txt('9,999.99')), call('to_char', f8('NaN'), txt('9.9')),
];

const parseCalls: Call[] = [
  call('to_timestamp', txt('2020-03-05 08:04:09'), txt('YYYY-MM-DD HH24:MI:SS')), call('to_timestamp', txt('05 Mar 2020'), txt('DD Mon YYYY')),
  call('to_timestamp', txt('March 5, 2020 8:04 PM'), txt('Month DD, YYYY HH:MI AM')), call('to_timestamp', txt('20200305'), txt('YYYYMMDD')),
  call('to_timestamp', txt('2020-03-05 08:04:09.123'), txt('YYYY-MM-DD HH24:MI:SS.MS')), call('to_timestamp', txt('2020-03-05 08:04:09.5+02'), txt('YYYY-MM-DD HH24:MI:SS.US TZH')),
  call('to_timestamp', txt('2020-13-05'), txt('YYYY-MM-DD')), call('to_timestamp', txt('2020-02-30'), txt('YYYY-MM-DD')), call('to_timestamp', txt('13:00 PM'), txt('HH:MI AM')),
  call('to_timestamp', txt('2020-xx-05'), txt('YYYY-MM-DD')), call('to_timestamp', txt('2020 070'), txt('YYYY DDD')),
  call('to_date', txt('2020-03-05'), txt('YYYY-MM-DD')), call('to_date', txt('05/03/20'), txt('DD/MM/YY')), call('to_date', txt('2020 Mar 5'), txt('YYYY Mon DD')),
  call('to_date', txt('2456789'), txt('J')), call('to_date', txt('44-03-15 BC'), txt('YYYY-MM-DD BC')), call('to_date', txt('2020-02-30'), txt('YYYY-MM-DD')),
  call('to_date', txt('2020-Foo-01'), txt('YYYY-Mon-DD')), call('to_timestamp', txt('2020'), txt('YYYY-MM-DD')), call('to_timestamp', txt('abcd-01-01'), txt('YYYY-MM-DD')),
  call('to_timestamp', txt('2020-01-xx'), txt('YYYY-MM-DD')),
];

describe('date/time functions', () => {
  it('agree with PostgreSQL', async () => {
    expect(await scalarMismatches(oracle, calls)).toEqual([]);
  });

  it('to_char agrees with PostgreSQL', async () => {
    expect(await scalarMismatches(oracle, toCharCalls)).toEqual([]);
  });

  it('to_timestamp and to_date agree with PostgreSQL', async () => {
    expect(await scalarMismatches(oracle, parseCalls)).toEqual([]);
  });

  it('follow the session time zone', async () => {
    await oracle.query(`SET TimeZone = 'America/New_York'`);
    try {
      const ctx = fakeContext({ ...DEFAULT_TYPE_SETTINGS, timeZone: 'America/New_York' });
      const zoned: Call[] = [
        call('date_trunc', txt('day'), tstz('2020-03-08 12:00+00')), call('pg_catalog.extract', txt('hour'), tstz('2020-03-08 12:00+00')),
        call('to_char', tstz('2020-07-01 12:00+00'), txt('YYYY-MM-DD HH24:MI TZ OF')), call('to_char', tstz('2020-01-01 12:00+00'), txt('TZ tz')),
        call('make_timestamptz', i4(2020), i4(1), i4(2), i4(3), i4(4), f8(5)), call('age', tstz('2020-03-09 00:00-04'), tstz('2020-03-07 00:00-05')),
        call('timezone', txt('UTC'), ts('2020-07-01 12:00')), call('to_timestamp', txt('2020-07-01 12:00'), txt('YYYY-MM-DD HH24:MI')),
      ];
      expect(await scalarMismatches(oracle, zoned, ctx)).toEqual([]);
    } finally {
      await oracle.query(`SET TimeZone = 'UTC'`);
    }
  });

  it('now, current_date and friends read the transaction and statement timestamps', async () => {
    const ctx = fakeContext();
    expect(await cairnScalar(call('now'), ctx)).toEqual({ kind: 'value', text: '2023-11-14 22:13:20+00', type: 'timestamp with time zone' });
    expect(await cairnScalar(call('statement_timestamp'), ctx)).toEqual({ kind: 'value', text: '2023-11-14 22:13:20.5+00', type: 'timestamp with time zone' });
    expect(await cairnScalar(call('now', i4(-1)), ctx)).toMatchObject({ kind: 'error', code: '22023' });
    expect(await cairnScalar(call('current_date'), ctx)).toEqual({ kind: 'value', text: '2023-11-14', type: 'date' });
    expect(await cairnScalar(call('localtimestamp'), ctx)).toEqual({ kind: 'value', text: '2023-11-14 22:13:20', type: 'timestamp without time zone' });
    expect(await cairnScalar(call('current_time'), ctx)).toEqual({ kind: 'value', text: '22:13:20+00', type: 'time with time zone' });
    const clock = await cairnScalar(call('clock_timestamp'), ctx);
    expect(clock.kind === 'value' && clock.text !== null && clock.text > '2024').toBe(true);
    const tod = await cairnScalar(call('timeofday'), ctx);
    expect(tod.kind === 'value' && /^[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d\.\d{6} \d{4} UTC$/.test(tod.text ?? '')).toBe(true);
  });
});
