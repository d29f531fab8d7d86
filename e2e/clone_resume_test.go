package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/clone"
)

// testSeed returns MLINK_TEST_SEED when set (to replay a failure), else a
// fresh seed; either way it is logged.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MLINK_TEST_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		mustExec(t, err)
		seed = v
	}
	t.Logf("seed %d (replay with MLINK_TEST_SEED=%d)", seed, seed)
	return seed
}

// mixedID returns the i-th _id of a collection mixing every type MongoDB
// accepts as _id, so the partitions cross type brackets.
func mixedID(i int) any {
	switch i % 7 {
	case 0:
		return int32(i)
	case 1:
		return fmt.Sprintf("s%07d", i)
	case 2:
		var oid bson.ObjectID
		copy(oid[:], fmt.Sprintf("%012d", i))
		return oid
	case 3:
		return bson.D{{Key: "k", Value: i}, {Key: "t", Value: "doc"}}
	case 4:
		return bson.Binary{Subtype: 0, Data: []byte(fmt.Sprintf("b%07d", i))}
	case 5:
		d, _ := bson.ParseDecimal128(fmt.Sprintf("%d.25", i))
		return d
	}
	return float64(i) + 0.5
}

// resumeDataset writes 200,000 documents in two collections: one keyed by
// integers with a secondary index, one by mixed _id types (MinKey and
// MaxKey included).
func resumeDataset(t *testing.T, e *Env, rng *rand.Rand) int64 {
	t.Helper()
	const plain, mixed = 150_000, 50_000
	pad := make([]byte, 60)
	for i := range pad {
		pad[i] = byte('a' + rng.IntN(26))
	}
	docs := make([]any, 0, plain)
	for _, i := range rng.Perm(plain) { // insertion order differs from _id order
		docs = append(docs, bson.Raw(bsoncore.NewDocumentBuilder().
			AppendInt64("_id", int64(i)).AppendInt32("n", int32(i)).AppendString("s", string(pad)).Build()))
	}
	insertBatches(t, e.SrcColl("resume", "plain"), docs, 5000)
	// An index to build, so that some cuts land while indexes are built.
	_, err := e.SrcColl("resume", "plain").Indexes().CreateOne(context.Background(), mongoIndex{Keys: bson.D{{Key: "n", Value: 1}}})
	mustExec(t, err)
	docs = docs[:0]
	docs = append(docs, bson.D{{Key: "_id", Value: bson.MinKey{}}, {Key: "n", Value: -1}},
		bson.D{{Key: "_id", Value: bson.MaxKey{}}, {Key: "n", Value: -2}})
	for i := 0; i < mixed-2; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: mixedID(i)}, {Key: "n", Value: i}, {Key: "s", Value: string(pad[:rng.IntN(60)])}})
	}
	insertBatches(t, e.SrcColl("resume", "mixed"), docs, 5000)
	return plain + mixed
}

// TestCloneResumesAfterAbruptStops interrupts a 200,000-document clone at
// 20 random points — by cancelling it, and every other time also by
// cutting every connection on both servers and closing mlink's clients
// without letting it save (a crash) — then lets a last run finish. The
// result must be equal, and the documents sent to the target across all
// runs must stay within 1.2x the dataset.
func TestCloneResumesAfterAbruptStops(t *testing.T) {
	if testing.Short() {
		t.Skip("200,000-document resume test: skipped with -short")
	}
	e := NewEnv(t)
	rng := rand.New(rand.NewPCG(testSeed(t), 7))
	began := time.Now()
	total := resumeDataset(t, e, rng)
	t.Logf("dataset: %d documents in %v", total, time.Since(began).Round(time.Millisecond))

	// Cut points: fractions of the dataset copied; the first run is cut as
	// soon as it starts (while planning), the others at random progress.
	const cuts = 20
	points := []float64{0}
	for len(points) < cuts {
		// Below 95%: a cut near the end can lose the race with the run
		// finishing the last batch between two progress polls.
		points = append(points, 0.95*rng.Float64())
	}
	slices.Sort(points)

	opts := clone.Options{
		Filter: e.Filter(), Readers: 4, Writers: 4, BatchDocs: 1000,
		PartitionBytes: 1 << 20, CheckpointInterval: 50 * time.Millisecond,
	}
	insertsBefore := opInserts(t, e.Dst)
	began = time.Now()
	var sent int64
	interrupted := 0
	for run := 0; ; run++ {
		src, dst := e.Clients()
		cl := clone.New(src, dst, opts)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- cl.Run(ctx) }()
		var err error
		if run < cuts {
			want := int64(points[run] * float64(total))
			finished := false
			for !finished && cl.Progress().CopiedDocs < want {
				select {
				case err = <-done:
					finished = true
				case <-time.After(time.Millisecond):
				}
			}
			if finished {
				cancel()
				sent += cl.SentDocuments()
				t.Fatalf("run %d ended before its cut point (%d of %d docs): %v", run, want, total, err)
			}
			if run%2 == 1 {
				// A crash: connections cut without goodbye, and mlink's
				// clients gone before it can save anything more.
				if e.SrcSim != nil {
					e.SrcSim.DropConnections()
					e.DstSim.DropConnections()
				}
				closed, stop := context.WithCancel(context.Background())
				stop()
				_ = src.Close(closed)
				_ = dst.Close(closed)
			}
			cancel()
			err = <-done
			if err == nil {
				t.Fatalf("run %d was cut but reported success", run)
			}
			interrupted++
		} else {
			err = <-done
			cancel()
		}
		sent += cl.SentDocuments()
		t.Logf("run %d: %v sent %d copied %d", run, time.Since(began).Round(time.Millisecond), cl.SentDocuments(), cl.Progress().CopiedDocs)
		if run == cuts {
			if err != nil {
				t.Fatalf("final run: %v", err)
			}
			pr := cl.Progress()
			if pr.CopiedDocs != total || pr.EstimatedDocs != total || pr.CollectionsDone != 2 || pr.CollectionsAll != 2 {
				t.Errorf("final progress: copied %d, estimated %d docs, %d/%d collections; want %d docs, 2/2",
					pr.CopiedDocs, pr.EstimatedDocs, pr.CollectionsDone, pr.CollectionsAll, total)
			}
			break
		}
	}
	took := time.Since(began)
	inserts := opInserts(t, e.Dst) - insertsBefore
	ratio := float64(sent) / float64(total)
	t.Logf("%d interruptions; clone runs took %v; documents sent %d (%.3fx the dataset), target opcounters.insert +%d",
		interrupted, took.Round(time.Millisecond), sent, ratio, inserts)
	if interrupted != cuts {
		t.Errorf("interrupted %d times, want %d", interrupted, cuts)
	}
	if sent < total || ratio > 1.2 {
		t.Errorf("documents sent: %d for %d documents (%.3fx), want between 1x and 1.2x", sent, total, ratio)
	}
	// The server counts every document of every insert it received: at
	// least the dataset, never more than what mlink says it sent.
	if inserts < total || inserts > sent {
		t.Errorf("target opcounters.insert grew by %d: want between %d (dataset) and %d (sent)", inserts, total, sent)
	}
	if got := countDocs(t, e.DstColl("resume", "plain")) + countDocs(t, e.DstColl("resume", "mixed")); got != total {
		t.Errorf("target holds %d documents, want %d", got, total)
	}
	e.verifyClone(t, nil, false)
	if raceDetector {
		// The verifier above compared every document; the independent
		// byte comparison of 200,000 documents is left to the run without
		// the race detector, which slows the in-process servers tenfold.
		return
	}
	e.AssertSameData(t)
}
