package clone

import (
	"context"
	"testing"
	"time"

	"github.com/mlink-dev/mlink"
)

// TestResumeWithLostCheckpoint cuts a clone, then wipes every partition's
// progress from the checkpoint, as if no save had reached the target: the
// next run must find what the target already holds by reading its _ids (in
// many small chunks here) and send only the rest, with exact progress.
func TestResumeWithLostCheckpoint(t *testing.T) {
	defer func(n, b int) { targetIDChunk, targetIDChunkBytes = n, b }(targetIDChunk, targetIDChunkBytes)
	targetIDChunk = 64

	p := newPair(t)
	ns := mlink.Namespace{DB: "app", Coll: "c"}
	const n = 20_000
	fill(t, p.testSrc, ns, n, 20)
	opts := Options{Filter: mlink.MustFilter([]string{"app.*"}, nil), BatchDocs: 200, PartitionBytes: 64 << 10, Readers: 3, Writers: 3}

	first := New(p.src, p.dst, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	for first.Progress().CopiedDocs < n/2 {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("first run ended early: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("cancelled run reported success")
	}

	meta := p.dst.Meta()
	var cps []mlink.CollectionCheckpoint
	must(t, meta.All(context.Background(), mlink.MetaCloneColl, "seq", &cps))
	wiped := 0
	for _, cp := range cps {
		if cp.ID != ns.String() {
			continue
		}
		if cp.Status != mlink.CollCopying || len(cp.Partitions) < 3 {
			t.Fatalf("checkpoint: status %q, %d partitions; want copying, several", cp.Status, len(cp.Partitions))
		}
		for i := range cp.Partitions {
			cp.Partitions[i] = mlink.PartitionCheckpoint{Min: cp.Partitions[i].Min, Max: cp.Partitions[i].Max}
		}
		must(t, meta.Put(context.Background(), mlink.MetaCloneColl, cp.ID, cp))
		wiped++
	}
	if wiped != 1 {
		t.Fatalf("found %d checkpoints of %s", wiped, ns)
	}
	held, err := p.testD.Database(ns.DB).Collection(ns.Coll).EstimatedDocumentCount(context.Background())
	must(t, err)

	second := New(p.src, p.dst, opts)
	must(t, second.Run(context.Background()))
	sent := second.SentDocuments()
	t.Logf("target held %d of %d documents; the resumed run sent %d", held, n, sent)
	if sent > n-held+int64(opts.Writers*opts.BatchDocs) {
		t.Errorf("resumed run sent %d documents, the target already held %d of %d", sent, held, n)
	}
	if pr := second.Progress(); pr.CopiedDocs != n || pr.EstimatedDocs != n {
		t.Errorf("progress: copied %d, estimated %d; want %d", pr.CopiedDocs, pr.EstimatedDocs, n)
	}
	sameDocs(t, p, ns, false)
}
