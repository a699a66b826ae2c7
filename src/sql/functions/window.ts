// Window functions (PostgreSQL's "General-Purpose Window Functions" table). Each computes the value
// for one row of a partition from the partition's rows in window order, the current row's peer
// group and its frame (registry.ts, WindowFrameRows). Ranking functions look at peers, lag and
// lead at the whole partition, first_value, last_value and nth_value at the frame. (Aggregates
// used with OVER are computed by the executor with the aggregates' accumulators.)
import { SqlError, SqlState } from '../errors.js';
import type { Datum, Row } from '../types/datum.js';
import { NO_TYPMOD, Types, type SqlType } from '../types/oids.js';
import { defineWindow, type WindowFrameRows, type WindowOverload } from './registry.js';

/** SQLSTATE invalid_argument_for_ntile_function. */
const INVALID_ARGUMENT_FOR_NTILE = '22014';
/** SQLSTATE invalid_argument_for_nth_value_function. */
const INVALID_ARGUMENT_FOR_NTH_VALUE = '22016';

const sameAsFirst = (args: readonly SqlType[]): SqlType => ({ oid: args[0]!.oid, typmod: args[0]!.typmod ?? NO_TYPMOD });

defineWindow('row_number', { params: [], returns: Types.int8, compute: (f) => BigInt(f.current + 1) });
defineWindow('rank', { params: [], returns: Types.int8, compute: (f) => BigInt(f.peerStart + 1) });

/**
 * dense_rank: the number of peer groups up to the current row's. The executor computes a
 * partition's rows in order, so the rank of the row before the current peer group is known by then;
 * it is kept per partition (keyed by the partition's row array).
 */
const denseRanks = new WeakMap<readonly Row[], number[]>();

function denseRank(f: WindowFrameRows): bigint {
  let ranks = denseRanks.get(f.rows);
  if (ranks === undefined) {
    ranks = [];
    denseRanks.set(f.rows, ranks);
  }
  let rank: number;
  if (f.peerStart === 0) rank = 1;
  else {
    const before = ranks[f.peerStart - 1];
    if (before === undefined) throw new SqlError(SqlState.internalError, 'dense_rank: rows of a partition must be computed in window order');
    rank = before + 1;
  }
  ranks[f.current] = rank;
  return BigInt(rank);
}

defineWindow('dense_rank', { params: [], returns: Types.int8, compute: denseRank });
defineWindow('percent_rank', {
  params: [],
  returns: Types.float8,
  compute: (f) => (f.rows.length <= 1 ? 0 : f.peerStart / (f.rows.length - 1)),
});
defineWindow('cume_dist', { params: [], returns: Types.float8, compute: (f) => f.peerEnd / f.rows.length });

defineWindow('ntile', {
  params: [Types.int4.oid],
  returns: Types.int4,
  compute: (f, args) => {
    // The bucket count is read once per partition, from its first row (as PostgreSQL does).
    const k = args(0)[0]!;
    if (k === null) return null;
    const buckets = k as number;
    if (buckets <= 0) throw new SqlError(INVALID_ARGUMENT_FOR_NTILE, 'argument of ntile must be greater than zero');
    const n = f.rows.length;
    const size = Math.floor(n / buckets);
    const extra = n % buckets;
    // The first `extra` buckets hold size + 1 rows.
    const bigRows = extra * (size + 1);
    if (f.current < bigRows) return Math.floor(f.current / (size + 1)) + 1;
    return extra + Math.floor((f.current - bigRows) / Math.max(size, 1)) + 1;
  },
});

/** lag and lead: the value `offset` rows before (or after) the current one in the partition, or the default. */
function shifted(direction: -1 | 1): WindowOverload['compute'] {
  return (f, args) => {
    const here = args(f.current);
    const offset = here.length > 1 ? here[1]! : 1;
    if (offset === null) return null;
    const target = f.current + direction * (offset as number);
    if (target < 0 || target >= f.rows.length) return here.length > 2 ? here[2]! : null;
    return args(target)[0]!;
  };
}

for (const [name, direction] of [
  ['lag', -1],
  ['lead', 1],
] as const) {
  defineWindow(
    name,
    { params: ['anyelement'], returns: sameAsFirst, compute: shifted(direction) },
    { params: ['anyelement', Types.int4.oid], returns: sameAsFirst, compute: shifted(direction) },
    { params: ['anycompatible', Types.int4.oid, 'anycompatible'], returns: sameAsFirst, compute: shifted(direction) },
  );
}

function frameValue(f: WindowFrameRows, args: (i: number) => Datum[], index: number): Datum {
  return index >= f.frameStart && index < f.frameEnd ? args(index)[0]! : null;
}

defineWindow('first_value', { params: ['anyelement'], returns: sameAsFirst, compute: (f, args) => frameValue(f, args, f.frameStart) });
defineWindow('last_value', { params: ['anyelement'], returns: sameAsFirst, compute: (f, args) => frameValue(f, args, f.frameEnd - 1) });
defineWindow('nth_value', {
  params: ['anyelement', Types.int4.oid],
  returns: sameAsFirst,
  compute: (f, args) => {
    const n = args(f.current)[1]!;
    if (n === null) return null;
    if ((n as number) <= 0) throw new SqlError(INVALID_ARGUMENT_FOR_NTH_VALUE, 'argument of nth_value must be greater than zero');
    return frameValue(f, args, f.frameStart + (n as number) - 1);
  },
});
