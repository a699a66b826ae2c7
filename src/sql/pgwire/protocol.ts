// The fixed numbers of the PostgreSQL frontend/backend protocol, version 3.0: message type bytes,
// the codes a first packet can carry instead of a protocol version, and the version we speak.
// They are PostgreSQL's own (see the "Message Formats" chapter of its documentation), so clients
// such as libpq, node-postgres and pgbench understand them.

/** Protocol 3.0 as a startup packet carries it: major << 16 | minor. */
export const PROTOCOL_3_0 = (3 << 16) | 0;
export const PROTOCOL_MAJOR_SUPPORTED = 3;
export const PROTOCOL_MINOR_LATEST = 0;

/** First-packet codes that are requests rather than protocol versions (1234 << 16 | 567x). */
export const CANCEL_REQUEST_CODE = 80877102;
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;

/** Startup parameters with this prefix are protocol options, not session settings. */
export const PROTOCOL_OPTION_PREFIX = '_pq_.';

/** Message type bytes the frontend (client) sends after startup. */
export const Frontend = {
  bind: 0x42, // 'B'
  close: 0x43, // 'C'
  describe: 0x44, // 'D'
  execute: 0x45, // 'E'
  functionCall: 0x46, // 'F'
  flush: 0x48, // 'H'
  parse: 0x50, // 'P'
  query: 0x51, // 'Q'
  sync: 0x53, // 'S'
  terminate: 0x58, // 'X'
  copyDone: 0x63, // 'c'
  copyData: 0x64, // 'd'
  copyFail: 0x66, // 'f'
} as const;

/** Message type bytes the backend (this server) sends. */
export const Backend = {
  parseComplete: 0x31, // '1'
  bindComplete: 0x32, // '2'
  closeComplete: 0x33, // '3'
  commandComplete: 0x43, // 'C'
  dataRow: 0x44, // 'D'
  errorResponse: 0x45, // 'E'
  copyInResponse: 0x47, // 'G'
  copyOutResponse: 0x48, // 'H'
  emptyQueryResponse: 0x49, // 'I'
  backendKeyData: 0x4b, // 'K'
  noticeResponse: 0x4e, // 'N'
  authentication: 0x52, // 'R'
  parameterStatus: 0x53, // 'S'
  rowDescription: 0x54, // 'T'
  readyForQuery: 0x5a, // 'Z'
  copyDone: 0x63, // 'c'
  copyData: 0x64, // 'd'
  noData: 0x6e, // 'n'
  portalSuspended: 0x73, // 's'
  parameterDescription: 0x74, // 't'
  negotiateProtocolVersion: 0x76, // 'v'
} as const;

/** The one-byte answer to SSLRequest and GSSENCRequest: this server does not encrypt (yet). */
export const ENCRYPTION_REFUSED = 0x4e; // 'N'

/** Describe and Close name what they act on with one byte. */
export const TARGET_STATEMENT = 0x53; // 'S'
export const TARGET_PORTAL = 0x50; // 'P'

/**
 * One flag per byte value: the message types a frontend may send once started. Anything else is
 * refused as soon as its header arrives, before its body is buffered.
 */
export const FRONTEND_MESSAGE_TYPES: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (const type of Object.values(Frontend)) table[type] = 1;
  return table;
})();

/** "0x51" for error messages, as PostgreSQL prints message types. */
export function messageTypeHex(type: number): string {
  return `0x${type.toString(16).toUpperCase().padStart(2, '0')}`;
}
