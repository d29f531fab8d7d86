package changestream

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func resumeOpts(key string, tok bsoncore.Document, more ...any) bsoncore.Document {
	return bsonkit.D(append([]any{key, bsonkit.DocValue(tok)}, more...)...)
}

// mixedHistory writes CRUD, a transaction and DDL on db.c and elsewhere.
func mixedHistory(r *recorder) {
	lsid := bsonkit.D("id", bsonkit.Binary(4, uuidB[:]))
	r.add(insertEntry("db", "c", uuidA, idDoc(1)))
	r.add(insertEntry("db", "other", uuidB, idDoc(2)))
	r.add(updateEntry(idDoc(1), bsonkit.D("_id", bsonkit.Int32(1), "x", bsonkit.Int32(1)), false))
	r.txn(lsid, 1, insertEntry("db", "c", uuidA, idDoc(3)), insertEntry("db", "c", uuidA, idDoc(4)),
		insertEntry("db", "other", uuidB, idDoc(5)), insertEntry("db", "c", uuidA, idDoc(6)))
	r.add(&Entry{Op: OpNoop})
	r.add(&Entry{Op: OpCreateIndexes, DB: "db", Coll: "c", UUID: uuidA, Indexes: []bsoncore.Document{idIndex()}})
	r.add(&Entry{Op: OpDelete, DB: "db", Coll: "c", UUID: uuidA, DocumentKey: idDoc(3)})
}

func TestResumeFromEveryTokenContinuesWithTheNextEvent(t *testing.T) {
	for _, sc := range []struct{ db, coll string }{{"db", "c"}, {"db", ""}, {"admin", ""}} {
		for _, exp := range []bool{false, true} {
			r := newRecorder(t)
			base := bsonkit.D("showExpandedEvents", bsonkit.Bool(exp))
			if sc.db == "admin" {
				base = bsonkit.D("showExpandedEvents", bsonkit.Bool(exp), "allChangesForCluster", bsonkit.Bool(true))
			}
			startAt := r.ts.next()
			mixedHistory(r)
			all := drainAll(t, mustOpen(t, r.h, mustSpec(t, sc.db, sc.coll, appendOpt(base, "startAtOperationTime", bsonkit.Timestamp(startAt.T, startAt.I))), Env{}))
			if len(all) < 5 {
				t.Fatalf("%v: only %d events", sc, len(all))
			}
			for i, ev := range all {
				for _, key := range []string{"resumeAfter", "startAfter"} {
					s := mustOpen(t, r.h, mustSpec(t, sc.db, sc.coll, appendOpt(base, key, bsonkit.DocValue(ev.Lookup("_id").Document()))), Env{})
					rest := drainAll(t, s)
					if len(rest) != len(all)-i-1 {
						t.Fatalf("%v %s after event %d: %d events, want %d", sc, key, i, len(rest), len(all)-i-1)
					}
					for j, got := range rest {
						if !bytes.Equal(got, all[i+1+j]) {
							t.Fatalf("%v %s after event %d: event %d differs", sc, key, i, j)
						}
					}
				}
			}
		}
	}
}

func appendOpt(d bsoncore.Document, key string, v bsoncore.Value) bsoncore.Document {
	doc := bsonkit.MustParseDoc(d)
	doc.Append(key, v)
	return doc.Bytes()
}

func TestStartAfterInvalidate(t *testing.T) {
	r := newRecorder(t)
	s := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D()), Env{})
	r.add(insertEntry("db", "c", uuidA, idDoc(1)))
	r.add(&Entry{Op: OpDrop, DB: "db", Coll: "c", UUID: uuidA})
	r.add(&Entry{Op: OpCreate, DB: "db", Coll: "c", UUID: uuidB})
	r.add(insertEntry("db", "c", uuidB, idDoc(2)))
	ev := drainAll(t, s)
	if opTypes(ev) != "insert,drop,invalidate" {
		t.Fatalf("first stream %s", opTypes(ev))
	}
	inv := ev[2].Lookup("_id").Document()

	// resumeAfter an invalidate is refused when the stream is parsed.
	_, err := ParsePipeline("db", "c", []bsoncore.Document{bsonkit.D("$changeStream", bsonkit.DocValue(resumeOpts("resumeAfter", inv)))})
	wantCode(t, err, mongoerr.InvalidResumeToken)

	// startAfter it continues with the recreated collection.
	next := mustOpen(t, r.h, mustSpec(t, "db", "c", resumeOpts("startAfter", inv)), Env{})
	got := drainAll(t, next)
	if opTypes(got) != "insert" || got[0].Lookup("documentKey", "_id").Int32() != 2 {
		t.Fatalf("after startAfter: %s", opTypes(got))
	}
	// Resuming from the drop event itself yields the invalidate again.
	again := mustOpen(t, r.h, mustSpec(t, "db", "c", resumeOpts("resumeAfter", ev[1].Lookup("_id").Document())), Env{})
	b, err := again.Next(bgCtx, Limits{})
	if err != nil || opTypes(b.Events) != "invalidate" || !b.Invalidated || !bytes.Equal(b.Events[0], ev[2]) {
		t.Fatalf("resume after drop: %v %s", err, opTypes(b.Events))
	}
}

func TestStartAtOperationTimeIsInclusive(t *testing.T) {
	r := newRecorder(t)
	r.add(insertEntry("db", "c", uuidA, idDoc(1)))
	second := r.add(insertEntry("db", "c", uuidA, idDoc(2)))
	r.add(insertEntry("db", "c", uuidA, idDoc(3)))
	s := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D("startAtOperationTime", bsonkit.Timestamp(second.TS.T, second.TS.I))), Env{})
	if !bytes.Equal(s.ResumeToken(), hwmToken(second.TS).Document()) {
		t.Fatal("initial postBatchResumeToken is the high-water mark of the start time")
	}
	ev := drainAll(t, s)
	if len(ev) != 2 || ev[0].Lookup("documentKey", "_id").Int32() != 2 {
		t.Fatalf("got %d events", len(ev))
	}
}

func TestNewStreamStartsAfterTheLatestWrite(t *testing.T) {
	r := newRecorder(t)
	last := r.add(insertEntry("db", "c", uuidA, idDoc(1)))
	s := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D()), Env{})
	b, err := s.Next(bgCtx, Limits{})
	if err != nil || len(b.Events) != 0 {
		t.Fatalf("%v, %d events", err, len(b.Events))
	}
	// mongod starts one tick past the newest write and reports that as a
	// high-water mark.
	if !bytes.Equal(b.PostBatchResumeToken, hwmToken(last.TS.next()).Document()) {
		t.Fatalf("postBatchResumeToken %v", b.PostBatchResumeToken)
	}
	r.add(insertEntry("db", "c", uuidA, idDoc(2)))
	b, _ = s.Next(bgCtx, Limits{})
	if len(b.Events) != 1 || b.Events[0].Lookup("documentKey", "_id").Int32() != 2 {
		t.Fatalf("got %s", opTypes(b.Events))
	}
}

func TestHistoryLost(t *testing.T) {
	r := newRecorder(t)
	first := r.add(insertEntry("db", "c", uuidA, idDoc(1)))
	for i := int32(2); i <= 10; i++ {
		r.add(insertEntry("db", "c", uuidA, idDoc(i)))
	}
	s := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D("startAtOperationTime", bsonkit.Timestamp(first.TS.T, first.TS.I))), Env{})
	b, err := s.Next(bgCtx, Limits{MaxEvents: 2})
	if err != nil || len(b.Events) != 2 {
		t.Fatalf("%v %d", err, len(b.Events))
	}
	firstTok := b.Events[0].Lookup("_id").Document()
	// The oplog rolls over past the stream's position.
	r.h.SetRetention(Retention{MaxEntries: 3})
	_, err = s.Next(bgCtx, Limits{})
	wantCode(t, err, mongoerr.ChangeStreamHistoryLost)
	if me := err.(*mongoerr.Error); len(me.Labels) != 1 || me.Labels[0] != "NonResumableChangeStreamError" {
		t.Fatalf("labels %v", me.Labels)
	}
	// Opening before the window fails the same way, for every start option.
	_, err = Open(r.h, mustSpec(t, "db", "c", resumeOpts("resumeAfter", firstTok)), Env{})
	wantCode(t, err, mongoerr.ChangeStreamHistoryLost)
	_, err = Open(r.h, mustSpec(t, "db", "c", resumeOpts("startAfter", firstTok)), Env{})
	wantCode(t, err, mongoerr.ChangeStreamHistoryLost)
	_, err = Open(r.h, mustSpec(t, "db", "c", bsonkit.D("startAtOperationTime", bsonkit.Timestamp(first.TS.T, first.TS.I))), Env{})
	wantCode(t, err, mongoerr.ChangeStreamHistoryLost)
	_, err = Open(r.h, mustSpec(t, "db", "c", resumeOpts("resumeAfter", hwmToken(first.TS).Document())), Env{})
	wantCode(t, err, mongoerr.ChangeStreamHistoryLost)
	// The oldest retained time is still a valid start.
	oldest := r.h.Stats().Oldest
	s2 := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D("startAtOperationTime", bsonkit.Timestamp(oldest.T, oldest.I))), Env{})
	if got := drainAll(t, s2); len(got) != 3 {
		t.Fatalf("from the oldest entry: %d events", len(got))
	}
}

func TestResumeTokenNotFound(t *testing.T) {
	r := newRecorder(t)
	e := r.add(insertEntry("db", "c", uuidA, idDoc(1)))
	r.add(insertEntry("db", "c", uuidA, idDoc(2)))
	// A token at a real time but for an event that never existed.
	bogus := Token{TS: e.TS, TxnOpIndex: 5, UUID: uuidA}
	s := mustOpen(t, r.h, mustSpec(t, "db", "c", resumeOpts("resumeAfter", bogus.Document())), Env{})
	_, err := s.Next(bgCtx, Limits{})
	wantCode(t, err, mongoerr.ChangeStreamFatalError)
	// Right time and index, other collection.
	wrong := Token{TS: e.TS, UUID: uuidB}
	s = mustOpen(t, r.h, mustSpec(t, "db", "c", resumeOpts("resumeAfter", wrong.Document())), Env{})
	_, err = s.Next(bgCtx, Limits{})
	wantCode(t, err, mongoerr.ChangeStreamFatalError)
	// A high-water mark needs no event.
	s = mustOpen(t, r.h, mustSpec(t, "db", "c", resumeOpts("resumeAfter", hwmToken(e.TS).Document())), Env{})
	if got := drainAll(t, s); len(got) != 2 {
		t.Fatalf("from HWM: %d events (events at the HWM's time are returned)", len(got))
	}
}

func TestPostBatchResumeToken(t *testing.T) {
	r := newRecorder(t)
	s := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D()), Env{})
	a := r.add(insertEntry("db", "c", uuidA, idDoc(1)))
	b2 := r.add(insertEntry("db", "c", uuidA, idDoc(2)))
	// Batch full before the end: the last event's token.
	b, err := s.Next(bgCtx, Limits{MaxEvents: 1})
	if err != nil || len(b.Events) != 1 || !bytes.Equal(b.PostBatchResumeToken, eventToken(a).Document()) {
		t.Fatalf("full batch pbrt %v", b.PostBatchResumeToken)
	}
	// Reaching the end on an event: still that event's token.
	b, _ = s.Next(bgCtx, Limits{})
	if len(b.Events) != 1 || !bytes.Equal(b.PostBatchResumeToken, eventToken(b2).Document()) {
		t.Fatalf("end-of-history pbrt %v", b.PostBatchResumeToken)
	}
	// Idle: irrelevant writes and no-ops move a high-water mark forward.
	r.add(insertEntry("db", "elsewhere", uuidB, idDoc(3)))
	n := r.add(&Entry{Op: OpNoop})
	b, _ = s.Next(bgCtx, Limits{})
	if len(b.Events) != 0 || !bytes.Equal(b.PostBatchResumeToken, hwmToken(n.TS).Document()) {
		t.Fatalf("idle pbrt %v", b.PostBatchResumeToken)
	}
	if !(string(eventToken(b2).Hex()) < hwmToken(n.TS).Hex()) {
		t.Fatal("pbrt went backwards")
	}
	// Resuming from the idle high-water mark continues with new events only.
	r.add(insertEntry("db", "c", uuidA, idDoc(4)))
	s2 := mustOpen(t, r.h, mustSpec(t, "db", "c", resumeOpts("resumeAfter", b.PostBatchResumeToken)), Env{})
	if got := drainAll(t, s2); len(got) != 1 || got[0].Lookup("documentKey", "_id").Int32() != 4 {
		t.Fatalf("resume from idle pbrt: %s", opTypes(got))
	}
}

func TestBatchLimitsSplitDropAndInvalidate(t *testing.T) {
	r := newRecorder(t)
	s := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D()), Env{})
	r.add(&Entry{Op: OpDrop, DB: "db", Coll: "c", UUID: uuidA})
	b, err := s.Next(bgCtx, Limits{MaxEvents: 1})
	if err != nil || opTypes(b.Events) != "drop" || b.Invalidated {
		t.Fatalf("first batch %s invalidated=%v", opTypes(b.Events), b.Invalidated)
	}
	b, err = s.Next(bgCtx, Limits{MaxEvents: 1})
	if err != nil || opTypes(b.Events) != "invalidate" || !b.Invalidated {
		t.Fatalf("second batch %s invalidated=%v", opTypes(b.Events), b.Invalidated)
	}
}

func TestBatchByteLimit(t *testing.T) {
	r := newRecorder(t)
	s := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D()), Env{})
	big := bsonkit.D("_id", bsonkit.Int32(1), "pad", bsonkit.String(string(make([]byte, 1000))))
	for i := 0; i < 5; i++ {
		r.add(insertEntry("db", "c", uuidA, big))
	}
	b, _ := s.Next(bgCtx, Limits{MaxEvents: 1})
	size := len(b.Events[0])
	b, _ = s.Next(bgCtx, Limits{MaxBytes: size*2 + size/2})
	if len(b.Events) != 2 {
		t.Fatalf("2.5 events' bytes fit two events, got %d", len(b.Events))
	}
	b, _ = s.Next(bgCtx, Limits{MaxBytes: 10})
	if len(b.Events) != 1 {
		t.Fatalf("a batch always takes one event, got %d", len(b.Events))
	}
}

func TestNextWaitsForNewEvents(t *testing.T) {
	r := newRecorder(t)
	s := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D()), Env{})
	appended := make(chan struct{})
	go func() {
		defer close(appended)
		e := insertEntry("db", "c", uuidA, idDoc(1))
		e.TS = Timestamp{T: r.ts.T + 10, I: 1}
		e.Wall = wall0
		if err := r.h.Append(e); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	b, err := s.Next(bgCtx, Limits{Wait: 30 * time.Second})
	if err != nil || len(b.Events) != 1 {
		t.Fatalf("%v, %d events", err, len(b.Events))
	}
	if time.Since(start) > 20*time.Second {
		t.Fatal("Next waited out its deadline instead of waking on the append")
	}
	<-appended
	// With nothing new it returns after the wait, empty.
	start = time.Now()
	b, err = s.Next(bgCtx, Limits{Wait: 30 * time.Millisecond})
	if err != nil || len(b.Events) != 0 || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("idle wait: %v %d %v", err, len(b.Events), time.Since(start))
	}
	// A cancelled context ends the wait.
	ctx, cancel := context.WithCancel(bgCtx)
	cancel()
	start = time.Now()
	if _, err := s.Next(ctx, Limits{Wait: time.Minute}); err != nil || time.Since(start) > 20*time.Second {
		t.Fatalf("cancelled wait: %v %v", err, time.Since(start))
	}
}
