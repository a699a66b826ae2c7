import { describe, expect, it } from 'vitest';
import { RaftUsageError, type Entry, type Message } from '../../src/raft/index.js';
import { Cluster, text } from './harness.js';

const entry = (index: number, term: number): Entry => ({ index, term, kind: 'normal', data: text(`e${index}`) });

// Each message below is wrong in one way. Stepped into follower n2 of a healthy group (leader n1,
// term 6, log up to 6), it must be refused with RaftUsageError and change nothing.
const malformed: [string, Message][] = [
  ['an append whose entries skip an index', { type: 'append', from: 1, to: 2, term: 6, index: 6, logTerm: 6, commit: 6, entries: [entry(7, 6), entry(9, 6)] }],
  ['an append whose first entry does not follow its index', { type: 'append', from: 1, to: 2, term: 6, index: 6, logTerm: 6, commit: 6, entries: [entry(8, 6)] }],
  ['an append whose entry terms go backwards', { type: 'append', from: 1, to: 2, term: 6, index: 6, logTerm: 6, commit: 6, entries: [entry(7, 6), entry(8, 5)] }],
  ['an append carrying an entry from a future term', { type: 'append', from: 1, to: 2, term: 6, index: 6, logTerm: 6, commit: 6, entries: [entry(7, 9)] }],
  ['an append with a negative index', { type: 'append', from: 1, to: 2, term: 6, index: -1, logTerm: 6, commit: 6, entries: [] }],
  ['a message without a sender', { type: 'heartbeat', from: 0, to: 2, term: 6, commit: 6, readSeq: 0 }],
  ['a heartbeat with a fractional commit', { type: 'heartbeat', from: 1, to: 2, term: 6, commit: 6.5, readSeq: 0 }],
  ['a vote request without a term', { type: 'vote', from: 3, to: 2, term: 0, lastIndex: 6, lastTerm: 6, transfer: false }],
  ['a forwarded proposal with a term', { type: 'propose', from: 3, to: 2, term: 6, entries: [entry(0, 0)] }],
  ['a forwarded proposal without entries', { type: 'propose', from: 3, to: 2, term: 0, entries: [] }],
  ['a snapshot at index 0', { type: 'snapshot', from: 1, to: 2, term: 6, snapshot: { meta: { index: 0, term: 0, confState: { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data: new Uint8Array(0) } }],
  ['a transfer request naming no target', { type: 'transferLeader', from: 3, to: 2, term: 6, target: 0 }],
];

describe('malformed messages from the network', () => {
  it.each(malformed)('%s is refused and changes nothing', (_, m) => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    const before = c.node(2).status();
    expect(() => c.node(2).step(m)).toThrow(RaftUsageError);
    expect(c.node(2).hasReady()).toBe(false);
    expect(c.node(2).status()).toEqual(before);
    // The node keeps working: the next proposal commits everywhere.
    expect(c.propose(1, 'after')).toMatchObject({ kind: 'appended', index: 7 });
    expect(c.get(2).applied).toEqual(['after']);
  });

  it('a message addressed to another node is refused', () => {
    const c = Cluster.create([1, 2, 3]);
    expect(() => c.node(2).step({ type: 'heartbeat', from: 1, to: 3, term: 6, commit: 0, readSeq: 0 })).toThrow(/for node 3/);
  });
});
