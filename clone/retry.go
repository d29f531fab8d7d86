package clone

import (
	"context"

	"github.com/mlink-dev/mlink/mongo"
)

// retryAttempts bounds how often one step is tried when it keeps failing
// with transient errors (about 15 s of backoff in all).
const retryAttempts = 8

// isTransient reports an error worth retrying (see mongo.IsTransient).
func isTransient(err error) bool { return mongo.IsTransient(err) }

// retryTransient runs an idempotent step with mongo.Retry; onRetry (may be
// omitted) hears of every retried error.
func retryTransient(ctx context.Context, fn func(context.Context) error, onRetry ...func(error)) error {
	var hook func(error)
	if len(onRetry) > 0 {
		hook = onRetry[0]
	}
	return mongo.Retry(ctx, retryAttempts, fn, hook)
}

// retry is retryTransient that counts and logs every retried error.
func (c *Cloner) retry(ctx context.Context, what string, fn func(context.Context) error) error {
	return retryTransient(ctx, fn, func(err error) {
		c.opts.Metrics.Retries.WithLabelValues("clone-" + what).Inc()
		c.opts.Logger.Warn("retrying after a transient error", "step", what, "error", err)
	})
}
