package e2e

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/clone"
)

// TestCloneProgress samples Cloner.Progress while a clone runs: copied
// counts never exceed the data (no double counting across partitions),
// never go back, the rate and ETA agree with each other while running, and
// at the end every figure equals the dataset exactly.
func TestCloneProgress(t *testing.T) {
	e := NewEnv(t)
	type collData struct{ docs, bytes int64 }
	want := map[string]*collData{}
	var totalDocs, totalBytes int64
	for c, n := range map[string]int{"a": 40_000, "b": 15_000, "c": 1} {
		cd := &collData{}
		docs := make([]any, n)
		for i := range docs {
			d := bson.D{{Key: "_id", Value: i}, {Key: "v", Value: fmt.Sprintf("value-%d-%s", i, c)}}
			raw, err := bson.Marshal(d)
			mustExec(t, err)
			docs[i] = bson.Raw(raw)
			cd.docs++
			cd.bytes += int64(len(raw))
		}
		insertBatches(t, e.SrcColl("progress", c), docs, 5000)
		want[e.NS("progress", c)] = cd
		totalDocs += cd.docs
		totalBytes += cd.bytes
	}
	mustExec(t, e.Src.Database(e.DB("progress")).CreateCollection(context.Background(), "empty"))
	want[e.NS("progress", "empty")] = &collData{}

	src, dst := e.Clients()
	cl := clone.New(src, dst, clone.Options{Filter: e.Filter(), Readers: 2, Writers: 2, BatchDocs: 500, PartitionBytes: 256 << 10})
	done := make(chan error, 1)
	go func() { done <- cl.Run(context.Background()) }()

	var last mlink.CloneProgress
	midway := 0 // samples taken with part of the data copied
	for running := true; running; {
		select {
		case err := <-done:
			mustExec(t, err)
			running = false
		case <-time.After(time.Millisecond):
		}
		pr := cl.Progress()
		if pr.CopiedDocs > totalDocs || pr.CopiedBytes > totalBytes {
			t.Fatalf("copied %d docs / %d bytes of %d / %d: counted twice", pr.CopiedDocs, pr.CopiedBytes, totalDocs, totalBytes)
		}
		if pr.CopiedDocs < last.CopiedDocs || pr.CopiedBytes < last.CopiedBytes {
			t.Fatalf("progress went back: %d docs / %d bytes after %d / %d", pr.CopiedDocs, pr.CopiedBytes, last.CopiedDocs, last.CopiedBytes)
		}
		for _, c := range pr.Collections {
			w := want[c.Namespace]
			if w == nil {
				t.Fatalf("progress lists %s, not in the dataset", c.Namespace)
			}
			if c.CopiedDocs > w.docs || c.CopiedBytes > w.bytes {
				t.Fatalf("%s: copied %d docs / %d bytes of %d / %d", c.Namespace, c.CopiedDocs, c.CopiedBytes, w.docs, w.bytes)
			}
		}
		if running && pr.CopiedDocs > 0 && pr.CopiedDocs < totalDocs {
			midway++
			if pr.BytesPerSec <= 0 || pr.DocsPerSec <= 0 || pr.ETASeconds == nil {
				t.Fatalf("while copying: rate %.0f B/s, %.0f docs/s, ETA %v", pr.BytesPerSec, pr.DocsPerSec, pr.ETASeconds)
			}
			eta := *pr.ETASeconds
			expect := float64(pr.EstimatedBytes-pr.CopiedBytes) / pr.BytesPerSec
			if eta < 0 || math.IsInf(eta, 0) || math.IsNaN(eta) || math.Abs(eta-expect) > 1e-6*max(1, expect) || eta > 600 {
				t.Fatalf("ETA %.3fs with %d of %d bytes left at %.0f B/s (want %.3fs, under 10 minutes)",
					eta, pr.EstimatedBytes-pr.CopiedBytes, pr.EstimatedBytes, pr.BytesPerSec, expect)
			}
		}
		last = pr
	}
	if midway == 0 {
		t.Error("never saw the clone part way: the progress checks above did not run")
	}
	t.Logf("%d samples part way; final rate %.0f docs/s", midway, last.DocsPerSec)
	if last.CopiedDocs != totalDocs || last.EstimatedDocs != totalDocs || last.CopiedBytes != totalBytes || last.EstimatedBytes != totalBytes {
		t.Errorf("final totals: copied %d docs / %d bytes, estimated %d / %d; want %d / %d",
			last.CopiedDocs, last.CopiedBytes, last.EstimatedDocs, last.EstimatedBytes, totalDocs, totalBytes)
	}
	if last.CollectionsAll != 4 || last.CollectionsDone != 4 || last.ETASeconds == nil || *last.ETASeconds != 0 {
		t.Errorf("final: %d/%d collections done, ETA %v; want 4/4 and 0", last.CollectionsDone, last.CollectionsAll, last.ETASeconds)
	}
	for _, c := range last.Collections {
		w := want[c.Namespace]
		if !c.Done || c.CopiedDocs != w.docs || c.EstimatedDocs != w.docs || c.CopiedBytes != w.bytes || c.EstimatedBytes != w.bytes {
			t.Errorf("%s: done %v, copied %d docs / %d bytes, estimated %d / %d; want %d / %d",
				c.Namespace, c.Done, c.CopiedDocs, c.CopiedBytes, c.EstimatedDocs, c.EstimatedBytes, w.docs, w.bytes)
		}
	}
	e.verifyClone(t, nil, false)
}

// TestCloneProgressAfterResume interrupts a clone, then checks that the
// next run's progress starts from the checkpoint and ends exactly at the
// dataset, although documents near the cut were read again.
func TestCloneProgressAfterResume(t *testing.T) {
	e := NewEnv(t)
	const n = 30_000
	docs := make([]any, n)
	var bytes int64
	for i := range docs {
		raw, err := bson.Marshal(bson.D{{Key: "_id", Value: i}, {Key: "s", Value: "some payload text"}})
		mustExec(t, err)
		docs[i] = bson.Raw(raw)
		bytes += int64(len(raw))
	}
	insertBatches(t, e.SrcColl("resume", "c"), docs, 5000)
	opts := clone.Options{Filter: e.Filter(), Writers: 4, BatchDocs: 500, PartitionBytes: 128 << 10, CheckpointInterval: 20 * time.Millisecond}

	src, dst := e.Clients()
	first := clone.New(src, dst, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	for first.Progress().CopiedDocs < n/2 {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("first run ended before half the data: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("cancelled run reported success")
	}
	acked := first.Progress().CopiedDocs
	onTarget := countDocs(t, e.DstColl("resume", "c"))
	if onTarget < acked {
		t.Fatalf("first run counted %d documents copied, the target holds %d", acked, onTarget)
	}

	second := clone.New(src, dst, opts)
	mustExec(t, second.Run(context.Background()))
	pr := second.Progress()
	if pr.CopiedDocs != n || pr.CopiedBytes != bytes {
		t.Errorf("after resume: copied %d docs / %d bytes, want %d / %d", pr.CopiedDocs, pr.CopiedBytes, n, bytes)
	}
	// The second run skips what the target holds: at most the batches
	// still in flight at the cut (4 writers x 500) are sent twice.
	if sent := second.SentDocuments(); sent > n-onTarget+2000 {
		t.Errorf("second run sent %d documents; the target held %d of %d after the cut", sent, onTarget, n)
	}
	e.verifyClone(t, nil, false)
}
