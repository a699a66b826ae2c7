// The wire contracts (generated from proto/*.proto). Import them from here, never from
// generated.js directly: this module switches the protobuf runtime to plain numbers for 64-bit
// fields before anything is decoded. Every id in the project stays below 2^53; timestamps, which
// do not, travel as two fields.
import $protobuf from 'protobufjs/minimal.js';
import { cairn } from './generated.js';

$protobuf.util.Long = undefined as unknown as typeof $protobuf.util.Long;
$protobuf.configure();

// Each alias names both the message classes (values) and their interfaces (types), e.g.
// `raftpb.Message.encode(m)` and `raftpb.IMessage`.
export import metapb = cairn.meta;
export import raftpb = cairn.raft;
export import raftcmdpb = cairn.raftcmd;
export import kvpb = cairn.kv;
export import pdpb = cairn.pd;
export import pdstatepb = cairn.pdstate;
export import nodepb = cairn.node;
