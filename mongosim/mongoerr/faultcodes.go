package mongoerr

// Codes that fail points, replication-state changes and client metadata
// produce. failCommand may fail a command with any code; mongod then
// reports the code's real codeName, so the common ones are named here.
const (
	UnknownReplWriteConcern            = 79
	NotYetInitialized                  = 94
	UnsatisfiableWriteConcern          = 100
	FailedToSatisfyReadPreference      = 133
	ReadConcernMajorityNotAvailableYet = 134
	ClientMetadataCannotBeMutated      = 186
	RetryChangeStream                  = 234
	PreparedTransactionInProgress      = 267
	InternalTransactionNotSupported    = 358
	ResourceExhausted                  = 402
)

func init() {
	for code, name := range map[int32]string{
		UnknownReplWriteConcern: "UnknownReplWriteConcern", NotYetInitialized: "NotYetInitialized",
		UnsatisfiableWriteConcern: "UnsatisfiableWriteConcern", FailedToSatisfyReadPreference: "FailedToSatisfyReadPreference",
		ReadConcernMajorityNotAvailableYet: "ReadConcernMajorityNotAvailableYet",
		ClientMetadataCannotBeMutated:      "ClientMetadataCannotBeMutated", RetryChangeStream: "RetryChangeStream",
		PreparedTransactionInProgress: "PreparedTransactionInProgress", InternalTransactionNotSupported: "InternalTransactionNotSupported",
		ResourceExhausted: "ResourceExhausted",
	} {
		if _, ok := names[code]; !ok {
			names[code] = name
		}
	}
}
