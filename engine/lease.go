package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/mlink-dev/mlink/mongo"
)

// lease makes one daemon the owner of a target (see mongo.Meta.TakeLease).
type lease struct {
	meta *mongo.Meta
	me   mongo.Lease
	ttl  time.Duration
}

func newLease(meta *mongo.Meta, ttl time.Duration) *lease {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	host, _ := os.Hostname()
	return &lease{meta: meta, me: mongo.Lease{Owner: hex.EncodeToString(b), Host: host, PID: int64(os.Getpid())}, ttl: ttl}
}

// LeaseHeldError is returned when another daemon owns the target.
type LeaseHeldError struct{ Holder mongo.Lease }

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("another mlink daemon (host %s, pid %d) is already syncing to this target, its lease runs until %s unless renewed: stop it first (one daemon per target)",
		e.Holder.Host, e.Holder.PID, e.Holder.ExpiresAt.UTC().Format(time.RFC3339))
}

// take acquires or renews the lease.
func (l *lease) take(ctx context.Context) error {
	ok, holder, err := l.meta.TakeLease(ctx, l.me, l.ttl)
	if err != nil {
		return err
	}
	if !ok {
		return &LeaseHeldError{Holder: holder}
	}
	return nil
}

func (l *lease) release(ctx context.Context) error { return l.meta.ReleaseLease(ctx, l.me.Owner) }
