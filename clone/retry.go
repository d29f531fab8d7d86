package clone

import (
	"context"

	"github.com/mlink-dev/mlink/mongo"
)

// retryAttempts bounds how often one step is tried when it keeps failing
// with transient errors (about 15 s of backoff in all).
const retryAttempts = 8

// retryTransient runs an idempotent step, retrying network errors,
// elections and the like.
func retryTransient(ctx context.Context, fn func(context.Context) error) error {
	return mongo.Retry(ctx, retryAttempts, fn, nil)
}

// retry is retryTransient that counts and logs every retried error.
func (c *Cloner) retry(ctx context.Context, what string, fn func(context.Context) error) error {
	return mongo.Retry(ctx, retryAttempts, fn, func(err error) {
		c.opts.Metrics.Retries.WithLabelValues("clone-" + what).Inc()
		c.opts.Logger.Warn("retrying after a transient error", "step", what, "error", err)
	})
}
