// What applying one PD command did. Every replica computes the same outcome for the same command
// at the same log position (outcomes depend only on the state and the command), and the proposer
// learns from it what it got: the id range it reserved, the TSO limit it replaced, or why the
// command was ignored.

export type PdCommandKind = 'bootstrap' | 'allocIdWindow' | 'tsoWindow' | 'putStore' | 'putRegions';

export type PdRejection =
  /** Not exactly one command set, or a field that does not validate. */
  | 'malformed'
  | 'already-bootstrapped'
  | 'not-bootstrapped'
  /** An id or TSO window that does not move past the persisted one. */
  | 'window-not-ahead'
  /** A tombstone store may not be changed back. */
  | 'store-tombstone'
  /** Another live store already uses this address. */
  | 'address-in-use'
  /** More items than one command may carry. */
  | 'too-large';

export type PdApplyOutcome =
  | { readonly kind: 'bootstrapped'; readonly clusterId: number }
  /** Ids in [start, end) now belong to the proposer alone. */
  | { readonly kind: 'id-window'; readonly start: number; readonly end: number }
  /** Timestamps with physical <= limitMs may be issued; everything issued before had physical <= previousLimitMs. */
  | { readonly kind: 'tso-window'; readonly previousLimitMs: number; readonly limitMs: number }
  | { readonly kind: 'store-put'; readonly storeId: number }
  | {
      readonly kind: 'regions-put';
      /** Regions written (new or replacing an older epoch). */
      readonly updated: readonly number[];
      /** Regions identical to what was stored already. */
      readonly unchanged: readonly number[];
      /** Regions older than the stored one (same id or an overlapping Region of a newer version). */
      readonly stale: readonly number[];
      /** Regions invalid on their own (see meta.ts parseRegion). */
      readonly invalid: readonly number[];
      /** Older Regions deleted because a newer one now covers their range. */
      readonly removed: readonly number[];
    }
  | {
      readonly kind: 'rejected';
      readonly command: PdCommandKind | 'unknown';
      readonly reason: PdRejection;
      readonly detail: string;
    };
