// Package simtest starts mongosim servers for tests, or connects to a real
// replica set named by MONGOSIM_CONFORMANCE_URI, and hands out throwaway
// databases that are dropped when the test ends.
package simtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink/mongosim"
)

// EnvURI names the environment variable pointing the suite at a real server.
const EnvURI = "MONGOSIM_CONFORMANCE_URI"

// RealURI returns MONGOSIM_CONFORMANCE_URI ("" when tests run on mongosim).
func RealURI() string { return strings.TrimSpace(os.Getenv(EnvURI)) }

// IsReal reports whether tests run against a real MongoDB.
func IsReal() bool { return RealURI() != "" }

// Start runs a mongosim server closed by t.Cleanup. opts may be omitted.
func Start(t testing.TB, opts ...mongosim.Options) *mongosim.Server {
	t.Helper()
	var o mongosim.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s, err := mongosim.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("simtest: start mongosim: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("simtest: close mongosim: %v", err)
		}
	})
	return s
}

// StartPair starts a source and a target server (replica sets "rs0" and
// "rs1"), both closed by t.Cleanup.
func StartPair(t testing.TB) (source, target *mongosim.Server) {
	t.Helper()
	return Start(t, mongosim.Options{ReplSetName: "rs0"}), Start(t, mongosim.Options{ReplSetName: "rs1"})
}

// HeartbeatInterval is the monitoring interval of test clients. The Go
// driver's Disconnect can wait for an in-flight streaming hello, which a
// server holds for up to this long when nothing changes; the driver's
// minimum keeps test teardown fast.
const HeartbeatInterval = 500 * time.Millisecond

// Client connects to uri; the client is disconnected by t.Cleanup.
func Client(t testing.TB, uri string) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(30 * time.Second).SetHeartbeatInterval(HeartbeatInterval))
	if err != nil {
		t.Fatalf("simtest: connect %s: %v", uri, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Disconnect(ctx)
	})
	return c
}

// Connect returns a client to MONGOSIM_CONFORMANCE_URI if set, else to a
// fresh mongosim server started for this test.
func Connect(t testing.TB) *mongo.Client {
	t.Helper()
	if uri := RealURI(); uri != "" {
		return Client(t, uri)
	}
	return Client(t, Start(t).URI())
}

// DBName returns a database name unique to this run, derived from the test
// name (MongoDB database names are limited to 63 bytes).
func DBName(t testing.TB) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, t.Name())
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return "t_" + name + "_" + hex.EncodeToString(b[:])
}

// NewDB returns a fresh, uniquely named database on c, dropped by t.Cleanup.
func NewDB(t testing.TB, c *mongo.Client) *mongo.Database {
	t.Helper()
	db := c.Database(DBName(t))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := db.Drop(ctx); err != nil {
			t.Logf("simtest: drop %s: %v", db.Name(), err)
		}
	})
	return db
}
