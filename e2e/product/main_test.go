package product

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/simtest"
	"github.com/mlink-dev/mlink/verify"
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

// statusJSON runs "mlink status --json" and decodes it.
func statusJSON(t *testing.T, server []string) mlink.Status {
	t.Helper()
	res := CLI(t, bin, append([]string{"status", "--json"}, server...)...)
	if res.Code != 0 {
		t.Fatalf("status --json: %s", res)
	}
	var st mlink.Status
	if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil || !st.OK {
		t.Fatalf("status --json output (ok=%v, %v): %s", st.OK, err, res.Stdout)
	}
	return st
}

// verifyCLI runs "mlink verify --json" and fails the test unless it exits
// 0 with every namespace equal.
func verifyCLI(t *testing.T, srcURI, dstURI, include string) verify.Report {
	t.Helper()
	res := CLI(t, bin, "verify", "--json", "--source", srcURI, "--target", dstURI, "--include", include)
	var rep verify.Report
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		t.Fatalf("verify --json output: %v\n%s", err, res)
	}
	if res.Code != 0 || !rep.Equal() || len(rep.Namespaces) == 0 {
		t.Fatalf("verifier does not say equal: %s", res)
	}
	for _, ns := range rep.Namespaces {
		if ns.Status != verify.StatusEqual {
			t.Errorf("verify: %s is %s", ns.NS, ns.Status)
		}
	}
	return rep
}

func hasNamespace(rep verify.Report, ns string) bool {
	for _, n := range rep.Namespaces {
		if n.NS == ns {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds or the timeout ends the test.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hasLog reports whether the daemon logged msg with attributes cond accepts.
func hasLog(o *Output, msg string, cond func(LogLine) bool) bool {
	for _, l := range o.JSONLogs() {
		if l.Msg() == msg && cond(l) {
			return true
		}
	}
	return false
}
