package product

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/simtest"
	"github.com/mlink-dev/mlink/workload"
)

// bin is the mlink binary built for this test run.
var bin string

func TestMain(m *testing.M) {
	b, cleanup, err := BinaryForMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = b
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// pair is a source and a target mongosim replica set with the test's own
// driver clients.
type pair struct {
	src, dst       *mongosim.Server
	srcURI, dstURI string
	srcC, dstC     *mongo.Client
}

// newPair starts a source (rs0) and a target (rs1). The source writes a
// no-op every second when idle, as a replica set does every 10 s, so lag
// settles quickly.
func newPair(t *testing.T, opts ...func(*mongosim.Options)) *pair {
	t.Helper()
	so := mongosim.Options{ReplSetName: "rs0", NoopInterval: time.Second}
	do := mongosim.Options{ReplSetName: "rs1", NoopInterval: time.Second}
	for _, f := range opts {
		f(&so)
		f(&do)
	}
	p := &pair{src: simtest.Start(t, so), dst: simtest.Start(t, do)}
	p.srcURI, p.dstURI = p.src.URI(), p.dst.URI()
	return p
}

// clients connects the test's own driver clients with the given URIs
// (which carry credentials when the servers have users).
func (p *pair) clients(t *testing.T, srcURI, dstURI string) {
	t.Helper()
	p.srcC, p.dstC = simtest.Client(t, srcURI), simtest.Client(t, dstURI)
}

// loadSample loads the workload sample dataset (prefixed) on the source.
func loadSample(t *testing.T, c *mongo.Client, prefix string, orders int) workload.Loaded {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	loaded, err := workload.Sample{Prefix: prefix, Orders: orders}.Load(ctx, c)
	if err != nil {
		t.Fatalf("loading the sample dataset: %v", err)
	}
	return loaded
}
