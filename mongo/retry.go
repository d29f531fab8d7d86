package mongo

import (
	"context"
	"errors"
	"time"

	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// transientCodes are server errors that go away on their own: elections,
// shutdowns, network trouble, interrupted operations.
var transientCodes = []int{
	6,     // HostUnreachable
	7,     // HostNotFound
	89,    // NetworkTimeout
	91,    // ShutdownInProgress
	189,   // PrimarySteppedDown
	262,   // ExceededTimeLimit
	9001,  // SocketException
	10107, // NotWritablePrimary
	11600, // InterruptedAtShutdown
	11602, // InterruptedDueToReplStateChange
	13435, // NotPrimaryNoSecondaryOk
	13436, // NotPrimaryOrSecondary
	112,   // WriteConflict
	64,    // WriteConcernFailed (waiting for replication timed out)
}

// IsTransient reports whether err is worth retrying: a network error, a
// server selection timeout, or a server error that MongoDB labels
// retryable or that belongs to an election or shutdown.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if driver.IsNetworkError(err) || driver.IsTimeout(err) {
		return true
	}
	var se driver.ServerError
	if errors.As(err, &se) {
		if se.HasErrorLabel("RetryableWriteError") || se.HasErrorLabel("TransientTransactionError") ||
			se.HasErrorLabel("ResumableChangeStreamError") {
			return true
		}
		for _, c := range transientCodes {
			if se.HasErrorCode(c) {
				return true
			}
		}
	}
	var sse topology.ServerSelectionError
	return errors.As(err, &sse) || IsPoolCleared(err)
}

// Retry runs fn until it succeeds, fails with a non-transient error, the
// context ends or the attempts run out, backing off between attempts.
// onRetry (may be nil) is told of every retried error.
func Retry(ctx context.Context, attempts int, fn func(context.Context) error, onRetry func(error)) error {
	backoff := 100 * time.Millisecond
	var err error
	for i := 0; i < attempts; i++ {
		if err = fn(ctx); err == nil || !IsTransient(err) || ctx.Err() != nil {
			return err
		}
		if onRetry != nil {
			onRetry(err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return err
}
