package product

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/workload"
)

// TestRestartContinuesFromCheckpoint kills the daemon (SIGKILL: no shutdown, no last
// checkpoint) in the middle of the clone and again in the middle of
// replication, starts it again with the same URIs each time, and checks
// that it continues from the checkpoint on the target instead of starting
// over; then stops it gracefully while paused and restarts it paused. The
// sync still ends equal.
func TestRestartContinuesFromCheckpoint(t *testing.T) {
	p := newPair(t)
	p.clients(t, p.srcURI, p.dstURI)
	loaded := loadSample(t, p.srcC, "rs_", 20000)
	args := []string{"--source", p.srcURI, "--target", p.dstURI}
	ctx := context.Background()

	// A slow source (every reply delayed) keeps the clone running long
	// enough to be cut in the middle.
	p.src.SetReplyLatency(20 * time.Millisecond)
	first := StartDaemon(t, bin, args...)
	if err := first.Client("").Start(ctx, mlink.StartRequest{IncludeNamespaces: []string{"/^rs_/"}}); err != nil {
		t.Fatalf("start: %v", err)
	}
	writer := workload.StartWriter(ctx, p.srcC, workload.WriterOptions{DB: "rs_live", Clients: 2, Rate: 200, Seed: 3})
	defer writer.Stop()

	// Kill once the target holds a clone checkpoint with a good share of
	// the documents, while the clone is still going.
	var ckDocs int64
	waitFor(t, "a clone checkpoint with documents", 2*time.Minute, func() bool {
		ckDocs = cloneCheckpointDocs(t, p.dstC)
		return ckDocs >= loaded.Documents/5
	})
	st, err := first.Client("").Status(ctx)
	if err != nil || st.InitialSync == nil || st.InitialSync.CloneCompleted {
		t.Fatalf("the clone should still be running when killed: %+v, %v", st.InitialSync, err)
	}
	first.Kill()
	ckDocs = cloneCheckpointDocs(t, p.dstC) // nothing writes it any more
	t.Logf("killed mid-clone: checkpoint holds %d of %d documents", ckDocs, loaded.Documents)

	second := StartDaemon(t, bin, args...)
	c := second.Client("")
	st = WaitStatus(t, c, "clone progress after restart", time.Minute, func(st mlink.Status) bool {
		return st.Clone != nil && st.Clone.CollectionsAll > 0
	})
	if st.State != mlink.StateRunning || st.Clone.CopiedDocs < ckDocs || st.InitialSync.CloneCompleted {
		t.Fatalf("after restart: state %s, clone copied %d docs (completed %v); want running, continuing from >= %d",
			st.State, st.Clone.CopiedDocs, st.InitialSync.CloneCompleted, ckDocs)
	}
	t.Logf("restarted: status shows %d documents already copied", st.Clone.CopiedDocs)
	if !hasLog(second.Output, "checkpoint recovered", func(l LogLine) bool { return l.Str("state") == "running" && l["cloneDone"] == false }) {
		t.Errorf("no 'checkpoint recovered' log line with state running, cloneDone false:\n%s", second.Output)
	}
	p.src.SetReplyLatency(0)
	st = WaitStatus(t, c, "initial sync", 2*time.Minute, func(st mlink.Status) bool {
		return st.InitialSync != nil && st.InitialSync.Completed
	})
	m, err := second.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	copiedHere, _ := Sum(m, "mlink_clone_copied_documents_total", nil)
	t.Logf("second daemon copied %.0f documents; status reports %d copied in all", copiedHere, st.Clone.CopiedDocs)
	if int64(copiedHere) > st.Clone.CopiedDocs-ckDocs || st.Clone.CopiedDocs < loaded.Documents {
		t.Fatalf("second daemon copied %.0f documents of %d in all with %d checkpointed: it started over",
			copiedHere, st.Clone.CopiedDocs, ckDocs)
	}

	// Mid-replication: let a checkpoint with applied events reach the
	// target, then kill again.
	var ck mlink.SyncCheckpoint
	waitFor(t, "a replication checkpoint", time.Minute, func() bool {
		ck = syncCheckpoint(t, p.dstC)
		return ck.EventsApplied >= 200 && ck.InitialSyncDone
	})
	second.Kill()
	ck = syncCheckpoint(t, p.dstC)
	t.Logf("killed mid-replication: checkpoint at %s with %d events applied", mlink.FormatTimestamp(ck.AppliedTime), ck.EventsApplied)

	third := StartDaemon(t, bin, args...)
	c = third.Client("")
	st, err = c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != mlink.StateRunning || st.EventsProcessed < ck.EventsApplied || st.LastReplicatedOpTime == "" ||
		!st.InitialSync.CloneCompleted || !st.InitialSync.Completed {
		t.Fatalf("after restart: state %s, events %d, last op time %q, initial sync %+v; want running from %d events at %s",
			st.State, st.EventsProcessed, st.LastReplicatedOpTime, st.InitialSync, ck.EventsApplied, mlink.FormatTimestamp(ck.AppliedTime))
	}
	if got := parseOpTime(t, st.LastReplicatedOpTime); got.Before(ck.AppliedTime) {
		t.Fatalf("after restart the last replicated op time %s is before the checkpoint's %s", st.LastReplicatedOpTime, mlink.FormatTimestamp(ck.AppliedTime))
	}
	WaitStatus(t, c, "new events after restart", time.Minute, func(st mlink.Status) bool {
		return st.EventsProcessed >= ck.EventsApplied+200
	})

	// Every change of the workload database is one oplog entry. Read from
	// the start again, the third daemon would have read all of them; read
	// from the checkpoint, at most those after it. (Entries are counted
	// after the metrics are read: every event read has its entry.)
	m, err = third.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	readHere, _ := Sum(m, "mlink_events_read_total", nil)
	entries := oplogEntries(t, p.srcC, "rs_live")
	t.Logf("workload db: %d oplog entries; third daemon read %.0f events; checkpoint had %d applied", entries, readHere, ck.EventsApplied)
	if readHere > float64(entries-ck.EventsApplied/2) {
		t.Fatalf("third daemon read %.0f events of %d in the workload's history although %d were applied before the kill: replayed from the start",
			readHere, entries, ck.EventsApplied)
	}

	// A graceful stop while paused: the pause and everything applied are
	// saved, and the next daemon comes back paused.
	server := []string{"--server", third.URL}
	if res := CLI(t, bin, append([]string{"pause"}, server...)...); res.Code != 0 {
		t.Fatalf("pause: %s", res)
	}
	paused := statusJSON(t, server)
	if code, err := third.Stop(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("SIGTERM: exit %d, %v\n%s", code, err, third.Output)
	}
	if !hasLog(third.Output, "shutting down", func(LogLine) bool { return true }) {
		t.Errorf("no 'shutting down' line:\n%s", third.Output)
	}
	ck = syncCheckpoint(t, p.dstC)
	if ck.State != mlink.StatePaused || ck.EventsApplied < paused.EventsProcessed {
		t.Fatalf("checkpoint after a graceful stop: state %s, %d events; want paused with >= %d", ck.State, ck.EventsApplied, paused.EventsProcessed)
	}
	fourth := StartDaemon(t, bin, args...)
	server = []string{"--server", fourth.URL}
	if st := statusJSON(t, server); st.State != mlink.StatePaused || st.EventsProcessed < paused.EventsProcessed {
		t.Fatalf("after restart: state %s, %d events; want paused with >= %d", st.State, st.EventsProcessed, paused.EventsProcessed)
	}
	if res := CLI(t, bin, append([]string{"resume"}, server...)...); res.Code != 0 {
		t.Fatalf("resume: %s", res)
	}
	c = fourth.Client("")
	WaitStatus(t, c, "events after resuming", time.Minute, func(st mlink.Status) bool {
		return st.State == mlink.StateRunning && st.EventsProcessed >= paused.EventsProcessed+100
	})
	if err := writer.Stop(); err != nil {
		t.Fatalf("workload: %v", err)
	}
	if err := c.Finalize(ctx, mlink.FinalizeRequest{}); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	WaitStatus(t, c, "finalized", 2*time.Minute, func(st mlink.Status) bool { return st.State == mlink.StateFinalized })
	verifyCLI(t, p.srcURI, p.dstURI, "/^rs_/")
}

// cloneCheckpointDocs sums the documents recorded in the clone checkpoints
// on the target.
func cloneCheckpointDocs(t *testing.T, dst *mongo.Client) int64 {
	t.Helper()
	cur, err := dst.Database(mlink.MetaDB).Collection(mlink.MetaCloneColl).Find(context.Background(), bson.D{{Key: "partitions", Value: bson.D{{Key: "$exists", Value: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	var cps []mlink.CollectionCheckpoint
	if err := cur.All(context.Background(), &cps); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, cp := range cps {
		for _, p := range cp.Partitions {
			n += p.Docs
		}
	}
	return n
}

// syncCheckpoint reads the run's checkpoint from the target.
func syncCheckpoint(t *testing.T, dst *mongo.Client) mlink.SyncCheckpoint {
	t.Helper()
	var cp mlink.SyncCheckpoint
	err := dst.Database(mlink.MetaDB).Collection(mlink.MetaSyncColl).FindOne(context.Background(), bson.D{{Key: "_id", Value: mlink.SyncCheckpointID}}).Decode(&cp)
	if err != nil && err != mongo.ErrNoDocuments {
		t.Fatal(err)
	}
	return cp
}

// oplogEntries counts the source's oplog entries of a database.
func oplogEntries(t *testing.T, src *mongo.Client, db string) int64 {
	t.Helper()
	ctx := context.Background()
	cur, err := src.Database("local").Collection("oplog.rs").Find(ctx,
		bson.D{{Key: "ns", Value: bson.Regex{Pattern: "^" + db + `\.`}}}, options.Find().SetProjection(bson.D{{Key: "ts", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close(ctx)
	var n int64
	for cur.Next(ctx) {
		n++
	}
	if err := cur.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func parseOpTime(t *testing.T, s string) bson.Timestamp {
	t.Helper()
	sec, inc, ok := strings.Cut(s, ".")
	tv, err1 := strconv.ParseUint(sec, 10, 32)
	iv, err2 := strconv.ParseUint(inc, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("op time %q: want <seconds>.<increment>", s)
	}
	return bson.Timestamp{T: uint32(tv), I: uint32(iv)}
}
