package clone

import (
	"context"
	"time"

	"github.com/mlink-dev/mlink/mongo"
)

// retryAttempts bounds how often one step is tried when it keeps failing
// with transient errors (about 15 s of backoff in all).
const retryAttempts = 8

// isTransient reports an error worth retrying: mongo.IsTransient, plus an
// operation refused because its connection pool was just cleared.
func isTransient(err error) bool {
	return mongo.IsTransient(err) || mongo.IsPoolCleared(err)
}

// retryTransient runs an idempotent step until it succeeds, fails with an
// error that is not transient, the context ends or the attempts run out,
// backing off between attempts. onRetry (may be nil) hears of every
// retried error.
func retryTransient(ctx context.Context, fn func(context.Context) error, onRetry ...func(error)) error {
	backoff := 100 * time.Millisecond
	var err error
	for i := 0; i < retryAttempts; i++ {
		if err = fn(ctx); err == nil || !isTransient(err) || ctx.Err() != nil {
			return err
		}
		for _, f := range onRetry {
			f(err)
		}
		if sleep(ctx, backoff) != nil {
			return err
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return err
}

// retry is retryTransient that counts and logs every retried error.
func (c *Cloner) retry(ctx context.Context, what string, fn func(context.Context) error) error {
	return retryTransient(ctx, fn, func(err error) {
		c.opts.Metrics.Retries.WithLabelValues("clone-" + what).Inc()
		c.opts.Logger.Warn("retrying after a transient error", "step", what, "error", err)
	})
}
