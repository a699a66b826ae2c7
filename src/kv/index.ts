// The kv layer: where user data lives in the engine (keys.ts), the transaction records (records.ts)
// and the Percolator commands over them (txn.ts).
export * from './keys.js';
export * from './records.js';
export * from './txn.js';
