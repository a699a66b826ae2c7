// Errors of the SQL layer. Every error a client can see carries a SQLSTATE (PostgreSQL's
// five-character condition code), so drivers and ORMs can react to its class: 40001 means
// "retry the transaction", 23505 "unique violation", 42P01 "no such table", and so on.

/** The SQLSTATE codes Cairn raises. Names follow PostgreSQL's condition names. */
export const SqlState = {
  successfulCompletion: '00000',
  warning: '01000',
  noData: '02000',
  connectionException: '08000',
  connectionFailure: '08006',
  protocolViolation: '08P01',
  featureNotSupported: '0A000',
  invalidTransactionInitiation: '0B000',
  cardinalityViolation: '21000',
  dataException: '22000',
  stringDataRightTruncation: '22001',
  numericValueOutOfRange: '22003',
  nullValueNotAllowed: '22004',
  invalidDatetimeFormat: '22007',
  datetimeFieldOverflow: '22008',
  invalidTimeZoneDisplacementValue: '22009',
  invalidParameterValue: '22023',
  divisionByZero: '22012',
  intervalFieldOverflow: '22015',
  invalidCharacterValueForCast: '22018',
  invalidEscapeSequence: '22025',
  stringDataLengthMismatch: '22026',
  invalidTextRepresentation: '22P02',
  invalidBinaryRepresentation: '22P03',
  badCopyFileFormat: '22P04',
  untranslatableCharacter: '22P05',
  sequenceGeneratorLimitExceeded: '2200H',
  connectionDoesNotExist: '08003',
  sqlclientUnableToEstablishSqlconnection: '08001',
  invalidJsonText: '22032',
  arraySubscriptError: '2202E',
  invalidRegularExpression: '2201B',
  invalidRowCountInLimitClause: '2201W',
  invalidRowCountInResultOffsetClause: '2201X',
  integrityConstraintViolation: '23000',
  notNullViolation: '23502',
  foreignKeyViolation: '23503',
  uniqueViolation: '23505',
  checkViolation: '23514',
  invalidCursorState: '24000',
  invalidTransactionState: '25000',
  activeSqlTransaction: '25001',
  noActiveSqlTransaction: '25P01',
  inFailedSqlTransaction: '25P02',
  readOnlySqlTransaction: '25006',
  invalidSqlStatementName: '26000',
  invalidAuthorizationSpecification: '28000',
  invalidPassword: '28P01',
  invalidCursorName: '34000',
  invalidCatalogName: '3D000',
  invalidSchemaName: '3F000',
  transactionRollback: '40000',
  serializationFailure: '40001',
  statementCompletionUnknown: '40003',
  deadlockDetected: '40P01',
  syntaxErrorOrAccessRuleViolation: '42000',
  syntaxError: '42601',
  insufficientPrivilege: '42501',
  groupingError: '42803',
  windowingError: '42P20',
  invalidRecursion: '42P19',
  invalidForeignKey: '42830',
  invalidName: '42602',
  nameTooLong: '42622',
  datatypeMismatch: '42804',
  cannotCoerce: '42846',
  tooManyConnections: '53300',
  invalidFunctionDefinition: '42P13',
  undefinedSchema: '3F000',
  nullValueNoIndicatorParameter: '22002',
  invalidArgumentForLogarithm: '2201E',
  invalidArgumentForPowerFunction: '2201F',
  invalidPrecedingOrFollowingSize: '22013',
  characterNotInRepertoire: '22021',
  zeroLengthCharacterString: '2200F',
  indeterminateDatatype: '42P18',
  wrongObjectType: '42809',
  undefinedColumn: '42703',
  undefinedFunction: '42883',
  undefinedTable: '42P01',
  undefinedParameter: '42P02',
  undefinedObject: '42704',
  duplicateColumn: '42701',
  duplicateDatabase: '42P04',
  duplicateFunction: '42723',
  duplicatePreparedStatement: '42P05',
  duplicateSchema: '42P06',
  duplicateTable: '42P07',
  duplicateAlias: '42712',
  duplicateObject: '42710',
  ambiguousColumn: '42702',
  ambiguousFunction: '42725',
  ambiguousParameter: '42P08',
  ambiguousAlias: '42P09',
  invalidColumnReference: '42P10',
  invalidColumnDefinition: '42611',
  invalidTableDefinition: '42P16',
  invalidObjectDefinition: '42P17',
  undefinedPreparedStatement: '26000',
  programLimitExceeded: '54000',
  statementTooComplex: '54001',
  tooManyColumns: '54011',
  objectNotInPrerequisiteState: '55000',
  objectInUse: '55006',
  cantChangeRuntimeParam: '55P02',
  lockNotAvailable: '55P03',
  operatorIntervention: '57000',
  queryCanceled: '57014',
  adminShutdown: '57P01',
  cannotConnectNow: '57P03',
  systemError: '58000',
  configFileError: 'F0000',
  internalError: 'XX000',
  dataCorrupted: 'XX001',
} as const;
export type SqlStateCode = (typeof SqlState)[keyof typeof SqlState];

export type Severity = 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'DEBUG' | 'INFO' | 'LOG';

export interface SqlErrorFields {
  readonly detail?: string;
  readonly hint?: string;
  /** 1-based character position in the statement text, as PostgreSQL reports it. */
  readonly position?: number;
  readonly severity?: Severity;
  readonly schema?: string;
  readonly table?: string;
  readonly column?: string;
  readonly constraint?: string;
  readonly dataType?: string;
}

/** An error with a SQLSTATE, sent to the client as an ErrorResponse. */
export class SqlError extends Error {
  readonly code: string;
  readonly fields: SqlErrorFields;

  constructor(code: string, message: string, fields: SqlErrorFields = {}) {
    super(message);
    this.name = 'SqlError';
    this.code = code;
    this.fields = fields;
  }

  get severity(): Severity {
    return this.fields.severity ?? 'ERROR';
  }

  withPosition(position: number): SqlError {
    return new SqlError(this.code, this.message, { ...this.fields, position });
  }
}

/** Shorthand constructors for the most common errors, with PostgreSQL's message wording. */
export const sqlErrors = {
  notSupported: (feature: string, hint?: string): SqlError =>
    new SqlError(SqlState.featureNotSupported, `${feature} is not supported`, hint === undefined ? {} : { hint }),
  syntax: (message: string, position?: number): SqlError =>
    new SqlError(SqlState.syntaxError, message, position === undefined ? {} : { position }),
  invalidText: (typeName: string, input: string): SqlError =>
    new SqlError(SqlState.invalidTextRepresentation, `invalid input syntax for type ${typeName}: "${input}"`),
  outOfRange: (what: string): SqlError => new SqlError(SqlState.numericValueOutOfRange, `${what} out of range`),
  divisionByZero: (): SqlError => new SqlError(SqlState.divisionByZero, 'division by zero'),
  internal: (message: string): SqlError => new SqlError(SqlState.internalError, message),
};

export function isSqlError(err: unknown): err is SqlError {
  return err instanceof SqlError;
}
