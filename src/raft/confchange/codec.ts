import type { ConfChange, ConfChangeSingle, ConfChangeTransition, ConfChangeType } from './types.js';

// The payload of a 'confChange' log entry. Layout (big-endian):
//   u8 version (1) | u8 transition | u32 change count | count × (u8 type | u64 node id)
//   | u32 context length | context bytes
const VERSION = 1;
const TRANSITIONS: readonly ConfChangeTransition[] = ['auto', 'jointImplicit', 'jointExplicit'];
const TYPES: readonly ConfChangeType[] = ['addNode', 'addLearner', 'removeNode'];
/** A bound on changes per entry: a group never has anywhere near this many members. */
export const MAX_CHANGES_PER_CONF_CHANGE = 1024;

export class ConfChangeDecodeError extends Error {
  readonly code = 'ConfChangeDecode';
}

export function encodeConfChange(cc: ConfChange): Uint8Array {
  if (cc.changes.length > MAX_CHANGES_PER_CONF_CHANGE) {
    throw new ConfChangeDecodeError(`a conf change holds at most ${MAX_CHANGES_PER_CONF_CHANGE} changes`);
  }
  const size = 1 + 1 + 4 + cc.changes.length * 9 + 4 + cc.context.byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  view.setUint8(at, VERSION);
  at += 1;
  view.setUint8(at, TRANSITIONS.indexOf(cc.transition));
  at += 1;
  view.setUint32(at, cc.changes.length);
  at += 4;
  for (const change of cc.changes) {
    if (!Number.isSafeInteger(change.nodeId) || change.nodeId <= 0) {
      throw new ConfChangeDecodeError(`invalid node id ${change.nodeId}`);
    }
    view.setUint8(at, TYPES.indexOf(change.type));
    view.setBigUint64(at + 1, BigInt(change.nodeId));
    at += 9;
  }
  view.setUint32(at, cc.context.byteLength);
  at += 4;
  out.set(cc.context, at);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const need = (n: number, at: number): void => {
    if (at + n > data.byteLength) {
      throw new ConfChangeDecodeError(`conf change truncated: needed ${at + n} bytes, have ${data.byteLength}`);
    }
  };
  let at = 0;
  need(6, at);
  const version = view.getUint8(0);
  if (version !== VERSION) throw new ConfChangeDecodeError(`unknown conf change encoding version ${version}`);
  const transition = TRANSITIONS[view.getUint8(1)];
  if (transition === undefined) throw new ConfChangeDecodeError(`unknown conf change transition ${view.getUint8(1)}`);
  const count = view.getUint32(2);
  if (count > MAX_CHANGES_PER_CONF_CHANGE) throw new ConfChangeDecodeError(`too many changes: ${count}`);
  at = 6;
  const changes: ConfChangeSingle[] = [];
  for (let i = 0; i < count; i++) {
    need(9, at);
    const type = TYPES[view.getUint8(at)];
    if (type === undefined) throw new ConfChangeDecodeError(`unknown conf change type ${view.getUint8(at)}`);
    const id = view.getBigUint64(at + 1);
    if (id === 0n || id > BigInt(Number.MAX_SAFE_INTEGER)) throw new ConfChangeDecodeError(`invalid node id ${id}`);
    changes.push({ type, nodeId: Number(id) });
    at += 9;
  }
  need(4, at);
  const contextLength = view.getUint32(at);
  at += 4;
  need(contextLength, at);
  const context = data.slice(at, at + contextLength);
  at += contextLength;
  if (at !== data.byteLength) throw new ConfChangeDecodeError(`${data.byteLength - at} trailing bytes after conf change`);
  return { transition, changes, context };
}
