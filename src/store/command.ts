// Encoding of what a Region's Raft log carries: RaftCommands in normal entries, and conf changes
// whose context names the peers (with their stores) and the epoch they were proposed against.
import { decodeConfChange, encodeConfChange, type ConfChange, type ConfChangeSingle } from '../raft/index.js';
import { raftcmdpb, type metapb } from '../proto/index.js';

export function encodeCommand(cmd: raftcmdpb.IRaftCommand): Uint8Array {
  return raftcmdpb.RaftCommand.encode(cmd).finish();
}

export function decodeCommand(data: Uint8Array): raftcmdpb.RaftCommand {
  return raftcmdpb.RaftCommand.decode(data);
}

export interface PeerChange {
  readonly type: ConfChangeSingle['type'];
  readonly peer: metapb.IPeer;
}

/** A conf change entry's payload: the Raft change plus the peers it names and the epoch. */
export function encodeConfChangeWithContext(
  header: raftcmdpb.ICommandHeader,
  changes: readonly PeerChange[],
  transition: ConfChange['transition'] = 'auto',
): Uint8Array {
  const context = raftcmdpb.ConfChangeContext.encode({ header, peers: changes.map((c) => c.peer) }).finish();
  const cc: ConfChange = {
    transition,
    changes: changes.map((c) => ({ type: c.type, nodeId: Number(c.peer.id ?? 0) })),
    context,
  };
  return encodeConfChange(cc);
}

export function decodeConfChangeWithContext(data: Uint8Array): { cc: ConfChange; context: raftcmdpb.ConfChangeContext } {
  const cc = decodeConfChange(data);
  const context = raftcmdpb.ConfChangeContext.decode(cc.context);
  return { cc, context };
}
