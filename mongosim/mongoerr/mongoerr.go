// Package mongoerr is MongoDB's command error model: numeric code, codeName,
// message and error labels, as a server reports them in a reply.
package mongoerr

import (
	"fmt"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Codes used by mongosim, named as in MongoDB's error_codes.yml.
const (
	InternalError                   = 1
	BadValue                        = 2
	NoSuchKey                       = 4
	GraphContainsCycle              = 5
	HostUnreachable                 = 6
	FailedToParse                   = 9
	Unauthorized                    = 13
	TypeMismatch                    = 14
	Overflow                        = 15
	InvalidLength                   = 16
	AuthenticationFailed            = 18
	IllegalOperation                = 20
	NamespaceNotFound               = 26
	IndexNotFound                   = 27
	PathNotViable                   = 28
	ConflictingUpdateOperators      = 40
	CursorNotFound                  = 43
	NamespaceExists                 = 48
	MaxTimeMSExpired                = 50
	DollarPrefixedFieldName         = 52
	InvalidIdField                  = 53
	NotSingleValueField             = 54
	CommandNotFound                 = 59
	ImmutableField                  = 66
	InvalidOptions                  = 72
	InvalidNamespace                = 73
	IndexOptionsConflict            = 85
	IndexKeySpecsConflict           = 86
	NetworkTimeout                  = 89
	OperationFailed                 = 96
	WriteConflict                   = 112
	CommandNotSupportedOnView       = 166
	OptionNotSupportedOnView        = 167
	InvalidPipelineOperator         = 168
	CommandNotSupported             = 115
	ConflictingOperationInProgress  = 117
	InvalidViewDefinition           = 182
	ViewDepthLimitExceeded          = 165
	NoSuchTransaction               = 251
	TransactionCommitted            = 256
	TransactionTooLarge             = 257
	ChangeStreamFatalError          = 280
	ChangeStreamHistoryLost         = 286
	IndexAlreadyExists              = 68
	CannotCreateIndex               = 67
	DuplicateKey                    = 11000
	NotWritablePrimary              = 10107
	InterruptedDueToReplStateChange = 11602
	NotPrimaryNoSecondaryOk         = 13435
	NotPrimaryOrSecondary           = 13436
	BSONObjectTooLarge              = 10334
	Location17419                   = 17419 // update makes document too large
	ClientMarkedKilled              = 46841
	NotImplemented                  = 238
	QueryFeatureNotAllowed          = 224
	InvalidResumeToken              = 260
	Location40415                   = 40415 // unknown field in stage / option
	Location16410                   = 16410 // FieldPath field names may not start with '$'
	Location15998                   = 15998 // field names may not contain '.' in $project etc
	Location31254                   = 31254
	Location40353                   = 40353
	UnknownError                    = 8
	ExceededTimeLimit               = 262
	ShutdownInProgress              = 91
	PrimarySteppedDown              = 189
	HostNotFound                    = 7
	SocketException                 = 9001
	InterruptedAtShutdown           = 11600
	Interrupted                     = 11601
	ExceededMemoryLimit             = 146
	NotAReplicaSet                  = 76
	NoReplicationEnabled            = 76
	DocumentValidationFailure       = 121
	InvalidUUID                     = 207
	Location51173                   = 51173 // min/max without hint
	Location51174                   = 51174 // min/max key pattern does not match the index
	InvalidBSON                     = 22
	UnsupportedOpQueryCommand       = 352
	Location40413                   = 40413 // field both in OP_MSG document sequence and body
	Location40414                   = 40414 // required field missing
	Location40571                   = 40571 // OP_MSG without $db
	Location51024                   = 51024 // batchSize must be non-negative
	CursorInUse                     = 292
	QueryPlanKilled                 = 175
	CannotIndexParallelArrays       = 171
	InvalidIndexSpecificationOption = 197
	AmbiguousIndexKeyPattern        = 201
	CannotConvertIndexToUnique      = 359
	CannotBackfillArray             = 34
	InvalidDBRef                    = 55
	EmptyFieldName                  = 56
	NotExactValueField              = 111
	Location17420                   = 17420 // document to upsert is larger than 16 MiB
	NoMatchingDocument              = 47
	MechanismUnavailable            = 334
	ProtocolError                   = 17
	FailPointSetFailed              = 266
	Location50985                   = 50985 // failCommand closeConnection
	ConversionFailure               = 241   // $convert / $toInt ... failed
)

// Session and transaction codes.
const (
	LockTimeout                        = 24
	StaleClusterTime                   = 209
	IncompleteTransactionHistory       = 217
	TransactionTooOld                  = 225
	OperationNotSupportedInTransaction = 263
)

var names = map[int32]string{
	InternalError: "InternalError", BadValue: "BadValue", NoSuchKey: "NoSuchKey",
	GraphContainsCycle: "GraphContainsCycle", HostUnreachable: "HostUnreachable", HostNotFound: "HostNotFound",
	UnknownError: "UnknownError", FailedToParse: "FailedToParse", Unauthorized: "Unauthorized",
	TypeMismatch: "TypeMismatch", Overflow: "Overflow", InvalidLength: "InvalidLength",
	AuthenticationFailed: "AuthenticationFailed", IllegalOperation: "IllegalOperation",
	NamespaceNotFound: "NamespaceNotFound", IndexNotFound: "IndexNotFound", PathNotViable: "PathNotViable",
	ConflictingUpdateOperators: "ConflictingUpdateOperators", CursorNotFound: "CursorNotFound",
	NamespaceExists: "NamespaceExists", MaxTimeMSExpired: "MaxTimeMSExpired",
	DollarPrefixedFieldName: "DollarPrefixedFieldName", InvalidIdField: "InvalidIdField",
	NotSingleValueField: "NotSingleValueField", CommandNotFound: "CommandNotFound",
	ImmutableField: "ImmutableField", CannotCreateIndex: "CannotCreateIndex", IndexAlreadyExists: "IndexAlreadyExists",
	InvalidOptions: "InvalidOptions", InvalidNamespace: "InvalidNamespace", NotAReplicaSet: "NoReplicationEnabled",
	IndexOptionsConflict: "IndexOptionsConflict", IndexKeySpecsConflict: "IndexKeySpecsConflict",
	NetworkTimeout: "NetworkTimeout", ShutdownInProgress: "ShutdownInProgress", OperationFailed: "OperationFailed",
	WriteConflict: "WriteConflict", CommandNotSupported: "CommandNotSupported",
	ConflictingOperationInProgress: "ConflictingOperationInProgress", DocumentValidationFailure: "DocumentValidationFailure",
	ExceededMemoryLimit: "ExceededMemoryLimit", ViewDepthLimitExceeded: "ViewDepthLimitExceeded",
	CommandNotSupportedOnView: "CommandNotSupportedOnView", OptionNotSupportedOnView: "OptionNotSupportedOnView",
	InvalidPipelineOperator: "InvalidPipelineOperator", InvalidViewDefinition: "InvalidViewDefinition",
	PrimarySteppedDown: "PrimarySteppedDown", InvalidUUID: "InvalidUUID", QueryFeatureNotAllowed: "QueryFeatureNotAllowed",
	NotImplemented: "NotImplemented", NoSuchTransaction: "NoSuchTransaction", TransactionCommitted: "TransactionCommitted",
	TransactionTooLarge: "TransactionTooLarge", InvalidResumeToken: "InvalidResumeToken",
	ExceededTimeLimit: "ExceededTimeLimit", ChangeStreamFatalError: "ChangeStreamFatalError",
	ChangeStreamHistoryLost: "ChangeStreamHistoryLost", SocketException: "SocketException",
	DuplicateKey: "DuplicateKey", NotWritablePrimary: "NotWritablePrimary", BSONObjectTooLarge: "BSONObjectTooLarge",
	InterruptedAtShutdown: "InterruptedAtShutdown", Interrupted: "Interrupted",
	InterruptedDueToReplStateChange: "InterruptedDueToReplStateChange",
	NotPrimaryNoSecondaryOk:         "NotPrimaryNoSecondaryOk", NotPrimaryOrSecondary: "NotPrimaryOrSecondary",
	ClientMarkedKilled: "ClientMarkedKilled",
	NoMatchingDocument: "NoMatchingDocument", MechanismUnavailable: "MechanismUnavailable", ProtocolError: "ProtocolError", FailPointSetFailed: "FailPointSetFailed",
	CannotBackfillArray: "CannotBackfillArray", InvalidDBRef: "InvalidDBRef", EmptyFieldName: "EmptyFieldName",
	NotExactValueField: "NotExactValueField",
	InvalidBSON:        "InvalidBSON", UnsupportedOpQueryCommand: "UnsupportedOpQueryCommand", CursorInUse: "CursorInUse", QueryPlanKilled: "QueryPlanKilled",
	CannotIndexParallelArrays: "CannotIndexParallelArrays", InvalidIndexSpecificationOption: "InvalidIndexSpecificationOption",
	AmbiguousIndexKeyPattern: "AmbiguousIndexKeyPattern", CannotConvertIndexToUnique: "CannotConvertIndexToUnique",
	TransactionTooOld: "TransactionTooOld", OperationNotSupportedInTransaction: "OperationNotSupportedInTransaction",
	LockTimeout: "LockTimeout", IncompleteTransactionHistory: "IncompleteTransactionHistory", StaleClusterTime: "StaleClusterTime",
	ConversionFailure: "ConversionFailure",
}

// Name returns MongoDB's codeName for code, or "Location<code>" as mongod
// reports for assertion codes without a name.
func Name(code int32) string {
	if n, ok := names[code]; ok {
		return n
	}
	return fmt.Sprintf("Location%d", code)
}

// Error is a command-level error as mongod reports it.
type Error struct {
	Code   int32
	Msg    string
	Labels []string
	// Extra fields appended to the error reply or write error (keyPattern,
	// keyValue for duplicate keys; errInfo for validation failures).
	Extra bsoncore.Document
}

// New builds an error with a formatted message.
func New(code int32, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d): %s", Name(e.Code), e.Code, e.Msg) }

// CodeName is the error's codeName field.
func (e *Error) CodeName() string { return Name(e.Code) }

// WithLabels returns e with error labels added.
func (e *Error) WithLabels(labels ...string) *Error {
	e.Labels = append(e.Labels, labels...)
	return e
}
