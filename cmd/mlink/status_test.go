package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/api/apitest"
)

func float(f float64) *float64 { return &f }

func richStatus() mlink.Status {
	lag := int64(3)
	return mlink.Status{
		Info:                 "replicating changes",
		LagTime:              &lag,
		EventsProcessed:      1234567,
		LastReplicatedOpTime: "1700000000.5",
		Source:               "mongodb://alice:xxxxx@src:27017",
		Filter:               &mlink.FilterSpec{Include: []string{"shop.*", "hr.people"}, Exclude: []string{"shop.tmp"}},
		InitialSync:          &mlink.InitialSync{Completed: false, CloneCompleted: false, EstimatedCloneSize: 3 << 30, ClonedSize: 1 << 30},
		Clone: &mlink.CloneProgress{
			EstimatedBytes: 3 << 30, CopiedBytes: 1 << 30, EstimatedDocs: 3000000, CopiedDocs: 1000000,
			BytesPerSec: 50 << 20, ETASeconds: float(41), CollectionsAll: 2, CollectionsDone: 1,
			Collections: []mlink.CollectionProgress{
				{Namespace: "shop.orders", EstimatedBytes: 2 << 30, CopiedBytes: 512 << 20, EstimatedDocs: 2000000, CopiedDocs: 500000, Partitions: 8, ETASeconds: float(30.4)},
				{Namespace: "hr.people", EstimatedBytes: 1 << 30, CopiedBytes: 1 << 30, EstimatedDocs: 1000000, CopiedDocs: 1000000, Partitions: 1, Done: true},
			},
		},
		Replication: &mlink.ReplProgress{EventsRead: 1300000, EventsApplied: 1234567, EventsSkipped: 65433, ApplyRate: 120.5,
			LagSeconds: 2.6, CheckpointTime: "1700000000.1", CheckpointAge: 4, OplogWindow: 86400},
		Warnings:      []mlink.Warning{{Kind: "oplog-window", Message: "oplog window is 24h0m0s", Since: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}},
		IndexFailures: []mlink.IndexFailure{{Namespace: "shop.orders", Index: "sku_1", Error: "E11000 duplicate key"}},
	}
}

func TestStatusHumanOutput(t *testing.T) {
	fake := &apitest.Controller{}
	fake.SetStatus(richStatus())
	fake.SetState(mlink.StateRunning)
	c := newCLI(nil)
	if code := c.run(context.Background(), "status", "--server", daemon(t, fake, "")); code != 0 {
		t.Fatalf("exit %d: %s", code, c.stderr)
	}
	want := `State:         running
Info:          replicating changes
Source:        mongodb://alice:xxxxx@src:27017
Include:       shop.*, hr.people
Exclude:       shop.tmp
Lag:           3s
Events:        1,234,567 processed (read 1,300,000, applied 1,234,567, skipped 65,433; 120.5/s)
Last op time:  1700000000.5
Checkpoint:    1700000000.1 (age 4s)
Oplog window:  24h0m0s
Initial sync:  completed=false cloneCompleted=false
Clone:         33.3%  1.0 GiB / 3.0 GiB, 1,000,000 / 3,000,000 docs, 1/2 collections, 50.0 MiB/s, ETA 41s

NAMESPACE    PROGRESS  DOCUMENTS              BYTES                PARTS  ETA
shop.orders  25.0%     500,000 / 2,000,000    512.0 MiB / 2.0 GiB  8      30s
hr.people    100.0%    1,000,000 / 1,000,000  1.0 GiB / 1.0 GiB    1      done

Warnings:
  [oplog-window] oplog window is 24h0m0s (since 2025-01-02T03:04:05Z)

Index failures:
  shop.orders index sku_1: E11000 duplicate key
`
	if got := c.stdout.String(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestStatusMinimalAndJSON(t *testing.T) {
	fake := &apitest.Controller{}
	url := daemon(t, fake, "")
	c := newCLI(nil)
	if code := c.run(context.Background(), "status", "--server", url); code != 0 {
		t.Fatal(c.stderr)
	}
	if got := c.stdout.String(); got != "State:   idle\nEvents:  0 processed\n" {
		t.Fatalf("got %q", got)
	}

	fake.SetStatus(richStatus())
	c = newCLI(nil)
	if code := c.run(context.Background(), "status", "--json", "--server", url); code != 0 {
		t.Fatal(c.stderr)
	}
	out := c.stdout.String()
	if !strings.HasPrefix(out, "{\n  \"ok\": true,\n  \"state\": \"idle\",\n  \"info\": \"replicating changes\",\n  \"lagTime\": 3,\n") {
		t.Fatalf("json output:\n%s", out)
	}
	var st mlink.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Clone.Collections[0].Namespace != "shop.orders" || st.Replication.ApplyRate != 120.5 {
		t.Fatalf("json output does not decode back: %v", err)
	}
}

// scriptedController replays statuses, one per Status call, repeating
// the last; it can signal after the n-th call.
type scriptedController struct {
	*apitest.Controller
	mu      sync.Mutex
	script  []mlink.Status
	calls   int
	afterN  int
	reached chan struct{}
}

func (s *scriptedController) Status(context.Context) mlink.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.script[min(s.calls, len(s.script)-1)]
	s.calls++
	if s.calls == s.afterN && s.reached != nil {
		close(s.reached)
	}
	return st
}

func cloneScript() []mlink.Status {
	step := func(state mlink.State, copied int64, done bool, repl bool) mlink.Status {
		st := mlink.Status{State: state, Info: "cloning"}
		doneN := 0
		if done {
			doneN, copied = 1, 1000
		}
		st.Clone = &mlink.CloneProgress{EstimatedBytes: 1000, CopiedBytes: copied, CollectionsAll: 1, CollectionsDone: doneN, ETASeconds: float(10),
			Collections: []mlink.CollectionProgress{{Namespace: "shop.orders", EstimatedBytes: 1000, CopiedBytes: copied, Done: done, ETASeconds: float(10)}}}
		if repl {
			st.Info = "replicating"
			st.Replication = &mlink.ReplProgress{EventsApplied: 42, ApplyRate: 7, LagSeconds: 1}
			st.EventsProcessed = 42
		}
		return st
	}
	return []mlink.Status{
		step(mlink.StateRunning, 250, false, false),
		step(mlink.StateRunning, 500, false, false),
		step(mlink.StateRunning, 0, true, true),
		step(mlink.StateFinalizing, 0, true, true),
		step(mlink.StateFinalized, 0, true, true),
	}
}

func TestWatchPlainLinesUntilFinalized(t *testing.T) {
	ctrl := &scriptedController{Controller: &apitest.Controller{}, script: cloneScript()}
	c := newCLI(nil)
	c.app.watchRefresh = time.Millisecond
	if code := c.run(context.Background(), "status", "--watch", "--server", daemon(t, ctrl, "")); code != 0 {
		t.Fatalf("exit %d: %s", code, c.stderr)
	}
	want := `running: cloning | clone 25.0% 250 B/1000 B 0/1 collections ETA 10s | events 0
running: cloning | clone 50.0% 500 B/1000 B 0/1 collections ETA 10s | events 0
running: replicating | clone 100.0% 1000 B/1000 B 1/1 collections ETA done | lag 1s | events 42 (7.0/s)
finalizing: replicating | clone 100.0% 1000 B/1000 B 1/1 collections ETA done | lag 1s | events 42 (7.0/s)
finalized: replicating | clone 100.0% 1000 B/1000 B 1/1 collections ETA done | lag 1s | events 42 (7.0/s)
sync finalized
`
	if got := c.stdout.String(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestWatchBarsUntilFinalized(t *testing.T) {
	ctrl := &scriptedController{Controller: &apitest.Controller{}, script: cloneScript()}
	c := newCLI(nil)
	c.app.watchRefresh = time.Millisecond
	c.app.stdoutIsTTY = func() bool { return true }
	if code := c.run(context.Background(), "status", "--watch", "--server", daemon(t, ctrl, "")); code != 0 {
		t.Fatalf("exit %d: %s", code, c.stderr)
	}
	out := c.stdout.String()
	for _, want := range []string{
		"state: running - cloning",
		"total",
		" 25.0%  250 B / 1000 B  0/1 coll",
		"shop.orders",
		"100.0%  1000 B / 1000 B  0 docs  ETA done",
		"replication: lag 1s  applied 42 events  7.0/s",
		"state: finalized - replicating",
		"sync finalized\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(out, "sync finalized\n") {
		t.Errorf("output does not end with the final message:\n%s", out)
	}
}

func TestWatchFailedExitsNonZero(t *testing.T) {
	script := cloneScript()[:1]
	script = append(script, mlink.Status{State: mlink.StateFailed, Error: "apply: E11000"})
	for _, tty := range []bool{false, true} {
		ctrl := &scriptedController{Controller: &apitest.Controller{}, script: script}
		c := newCLI(nil)
		c.app.watchRefresh = time.Millisecond
		c.app.stdoutIsTTY = func() bool { return tty }
		if code := c.run(context.Background(), "status", "-w", "--server", daemon(t, ctrl, "")); code != 1 || c.stderr.String() != "Error: sync failed: apply: E11000\n" {
			t.Fatalf("tty=%v: exit %d stderr %q", tty, code, c.stderr)
		}
	}
}

func TestWatchStopsOnInterrupt(t *testing.T) {
	for _, tty := range []bool{false, true} {
		running := cloneScript()[:2]
		ctrl := &scriptedController{Controller: &apitest.Controller{}, script: running, afterN: 3, reached: make(chan struct{})}
		c := newCLI(nil)
		c.app.watchRefresh = time.Millisecond
		c.app.stdoutIsTTY = func() bool { return tty }
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-ctrl.reached; cancel() }()
		if code := c.run(ctx, "status", "--watch", "--server", daemon(t, ctrl, "")); code != 0 {
			t.Fatalf("tty=%v: exit %d stderr %q", tty, code, c.stderr)
		}
		if !strings.Contains(c.stdout.String(), "50.0%") {
			t.Fatalf("tty=%v: output:\n%s", tty, c.stdout)
		}
		cancel()
	}
}
