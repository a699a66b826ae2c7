// The wire contracts (generated from proto/*.proto). Import them from here, never from
// generated.js directly: this module switches the protobuf runtime to plain numbers for 64-bit
// fields before anything is decoded. Every id in the project stays below 2^53; timestamps, which
// do not, travel as two fields.
import $protobuf from 'protobufjs/minimal.js';
import { cairn } from './generated.js';

$protobuf.util.Long = undefined as unknown as typeof $protobuf.util.Long;
$protobuf.configure();

export const meta = cairn.meta;
export const raftpb = cairn.raft;
export const kvpb = cairn.kv;
export const pdpb = cairn.pd;
export const nodepb = cairn.node;
export { cairn };
export const raftcmdpb = cairn.raftcmd;
export const pdstatepb = cairn.pdstate;
