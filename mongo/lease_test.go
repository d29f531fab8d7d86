package mongo

import (
	"context"
	"testing"
	"time"

	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// TestLeaseHeldIsNotTaken: a second owner must not get (or overwrite) a
// lease another owner holds and renews; it gets it once released, or
// expired, or when told the holder is dead.
func TestLeaseHeldIsNotTaken(t *testing.T) {
	srv := simtest.Start(t)
	ctx := context.Background()
	c, err := Connect(ctx, srv.URI(), RoleTarget)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	m := c.Meta()
	a := Lease{Owner: "owner-a", Host: "h1", PID: 11}
	b := Lease{Owner: "owner-b", Host: "h2", PID: 22}

	take := func(l Lease, ttl time.Duration, takeOver string) (bool, Lease) {
		t.Helper()
		ok, holder, err := m.TakeLease(ctx, l, ttl, takeOver)
		if err != nil {
			t.Fatalf("TakeLease(%s): %v", l.Owner, err)
		}
		return ok, holder
	}
	if ok, holder := take(a, time.Minute, ""); !ok || holder.Owner != "owner-a" {
		t.Fatalf("first take: ok=%v holder=%+v", ok, holder)
	}
	for range 2 {
		if ok, holder := take(b, time.Minute, ""); ok || holder.Owner != "owner-a" || holder.PID != 11 || holder.Host != "h1" {
			t.Fatalf("second owner took a held lease: ok=%v holder=%+v", ok, holder)
		}
	}
	if ok, _ := take(a, time.Minute, ""); !ok {
		t.Fatal("the holder could not renew its lease")
	}
	if ok, holder := take(b, time.Minute, "owner-a"); !ok || holder.Owner != "owner-b" {
		t.Fatalf("take over from a dead holder: ok=%v holder=%+v", ok, holder)
	}
	if ok, holder := take(a, time.Minute, ""); ok || holder.Owner != "owner-b" {
		t.Fatalf("the old holder took the lease back: ok=%v holder=%+v", ok, holder)
	}
	if err := m.ReleaseLease(ctx, "owner-b"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := take(a, time.Millisecond, ""); !ok {
		t.Fatal("a released lease could not be taken")
	}
	// An expired lease is free.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, holder := take(b, time.Minute, "")
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an expired lease was never free: holder %+v", holder)
		}
		time.Sleep(5 * time.Millisecond) // waiting for the 1 ms lease to expire on the server's clock
	}
}
