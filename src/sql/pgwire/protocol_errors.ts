// The errors pgwire raises itself, with PostgreSQL's wording where PostgreSQL has one. A FATAL
// severity means the connection cannot go on: pgwire sends the error and closes that connection
// (and no other).

import { SqlError, SqlState } from '../errors.js';
import { messageTypeHex } from './protocol.js';

/** SQLSTATEs pgwire needs that are not (yet) in SqlState. */
export const PgwireSqlState = {
  tooManyConnections: '53300',
  characterNotInRepertoire: '22021',
} as const;

/** The client broke the framing or the layout of a message: the stream cannot be trusted further. */
export function protocolViolation(message: string, detail?: string): SqlError {
  return new SqlError(SqlState.protocolViolation, message, detail === undefined ? { severity: 'FATAL' } : { severity: 'FATAL', detail });
}

export const protocolErrors = {
  invalidStartupPacketLength: (): SqlError => protocolViolation('invalid length of startup packet'),
  startupPacketLayout: (): SqlError => protocolViolation('invalid startup packet layout: expected terminator as last byte'),
  unsupportedProtocol: (major: number, minor: number): SqlError =>
    new SqlError(
      SqlState.featureNotSupported,
      `unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.0`,
      { severity: 'FATAL' },
    ),
  noUser: (): SqlError =>
    new SqlError(SqlState.invalidAuthorizationSpecification, 'no PostgreSQL user name specified in startup packet', { severity: 'FATAL' }),
  tooManyClients: (): SqlError =>
    new SqlError(PgwireSqlState.tooManyConnections, 'sorry, too many clients already', { severity: 'FATAL' }),
  shuttingDown: (): SqlError =>
    new SqlError(SqlState.cannotConnectNow, 'the database system is shutting down', { severity: 'FATAL' }),
  adminShutdown: (): SqlError =>
    new SqlError(SqlState.adminShutdown, 'terminating connection due to administrator command', { severity: 'FATAL' }),
  invalidMessageType: (type: number): SqlError => protocolViolation(`invalid frontend message type ${type}`),
  invalidMessageLength: (type: number, length: number): SqlError =>
    protocolViolation('invalid message length', `message type ${messageTypeHex(type)} declared length ${length}, which is less than 4`),
  messageTooLarge: (type: number, bodyBytes: number, limit: number): SqlError =>
    protocolViolation(
      'message too large',
      `message type ${messageTypeHex(type)} declared ${bodyBytes} bytes; the limit is ${limit} bytes`,
    ),
  insufficientData: (): SqlError => protocolViolation('insufficient data left in message'),
  invalidString: (): SqlError => protocolViolation('invalid string in message'),
  invalidMessageFormat: (): SqlError => protocolViolation('invalid message format'),
  unsupportedFormatCode: (code: number): SqlError => protocolViolation(`unsupported format code: ${code}`),
  invalidParameterLength: (index: number, length: number): SqlError =>
    protocolViolation(`invalid length ${length} of bind parameter $${index + 1}`),
  parameterFormatCount: (formats: number, parameters: number): SqlError =>
    protocolViolation(`bind message has ${formats} parameter formats but ${parameters} parameters`),
  invalidDescribeTarget: (target: number): SqlError => protocolViolation(`invalid DESCRIBE message subtype ${target}`),
  invalidCloseTarget: (target: number): SqlError => protocolViolation(`invalid CLOSE message subtype ${target}`),
  unexpectedDuringCopy: (type: number): SqlError =>
    new SqlError(SqlState.protocolViolation, `unexpected message type ${messageTypeHex(type)} during COPY from stdin`),
  synchronizationLost: (): SqlError => protocolViolation('terminating connection because protocol synchronization was lost'),
  copyFailed: (clientMessage: string): SqlError => new SqlError(SqlState.queryCanceled, `COPY from stdin failed: ${clientMessage}`),
  eofDuringCopy: (): SqlError => new SqlError(SqlState.connectionFailure, 'unexpected EOF on client connection during COPY from stdin'),
  functionCallUnsupported: (): SqlError => new SqlError(SqlState.featureNotSupported, 'the function call message is not supported'),
  invalidUtf8: (bytes: string): SqlError =>
    new SqlError(PgwireSqlState.characterNotInRepertoire, `invalid byte sequence for encoding "UTF8": ${bytes}`),
};
