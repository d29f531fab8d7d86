package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"syscall"
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

// take acquires or renews the lease. A lease left by a daemon of this host
// whose process is gone (a crash, then a restart by systemd) is taken over
// at once instead of waiting for it to expire.
func (l *lease) take(ctx context.Context) error {
	ok, holder, err := l.meta.TakeLease(ctx, l.me, l.ttl, "")
	if err != nil {
		return err
	}
	if !ok && holder.Host == l.me.Host && holder.PID != l.me.PID && !processAlive(holder.PID) {
		ok, holder, err = l.meta.TakeLease(ctx, l.me, l.ttl, holder.Owner)
		if err != nil {
			return err
		}
	}
	if !ok {
		return &LeaseHeldError{Holder: holder}
	}
	return nil
}

// processAlive reports whether a process with this pid exists on this host.
func processAlive(pid int64) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(int(pid))
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM) // EPERM: alive, another user's
}

func (l *lease) release(ctx context.Context) error { return l.meta.ReleaseLease(ctx, l.me.Owner) }
