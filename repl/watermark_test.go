package repl

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func token(t *testing.T, n int) bson.Raw {
	t.Helper()
	raw, err := bson.Marshal(bson.D{{Key: "_data", Value: n}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestSaveKeepsAPositionThatMovedDuringTheSave: the watermark moves while
// a checkpoint is being written (workers keep applying). The next save —
// the one Run makes as it stops, say — must write the newer position, not
// skip it as already saved.
func TestSaveKeepsAPositionThatMovedDuringTheSave(t *testing.T) {
	var saved []Position
	var r *Replicator
	moveDuringSave := true
	r = New(nil, nil, Options{Save: func(_ context.Context, pos Position) error {
		saved = append(saved, pos)
		if moveDuringSave {
			moveDuringSave = false
			r.wm.done(r.wm.add(token(t, 2), bson.Timestamp{T: 2}, true, true))
		}
		return nil
	}})
	r.wm.reset(Position{})
	r.wm.done(r.wm.add(token(t, 1), bson.Timestamp{T: 1}, true, true))
	if err := r.save(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.save(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(saved) != 2 || saved[1].Time.T != 2 || saved[1].Applied != 2 {
		t.Fatalf("saves %+v: the position reached during the first save (time 2, 2 applied) was never saved", saved)
	}
	if err := r.save(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(saved) != 2 {
		t.Fatalf("an unmoved position was saved again: %+v", saved)
	}
}

// TestAppliedWaitsForEveryEventOfItsClusterTime: several events may share
// one cluster time (a transaction's oplog entry, batched writes — on any
// deployment since MongoDB 8.0). With only the first of two such events
// applied, Applied must not report their time as reached: finalize would
// stop before the second is applied. A resume token from an empty batch
// (everything up to its time was returned) does reach its time.
func TestAppliedWaitsForEveryEventOfItsClusterTime(t *testing.T) {
	r := New(nil, nil, Options{})
	r.wm.reset(Position{Time: bson.Timestamp{T: 10, I: 1}})
	if got := r.Applied(); !got.Before(bson.Timestamp{T: 10, I: 1}) {
		t.Fatalf("at the start (events at the start time are replayed) Applied = %v", got)
	}
	at := bson.Timestamp{T: 20, I: 3}
	first := r.wm.add(token(t, 1), at, true, true)
	second := r.wm.add(token(t, 2), at, true, true)
	r.wm.done(first)
	if got := r.Applied(); !got.Before(at) {
		t.Fatalf("one of two events at %v applied, Applied = %v", at, got)
	}
	r.wm.done(second)
	if got := r.Applied(); got.After(at) || !got.After(bson.Timestamp{T: 20, I: 1}) {
		t.Fatalf("both events applied, Applied = %v, want just below %v", got, at)
	}
	r.wm.done(r.wm.add(token(t, 3), at, true, false)) // an empty batch's token
	if got := r.Applied(); got != at {
		t.Fatalf("after the idle token at %v, Applied = %v", at, got)
	}
}

func TestWatermarkExactOnlyAtTheLastSafePosition(t *testing.T) {
	w := newWatermark(Position{})
	a := w.add(bson.Raw{1}, bson.Timestamp{T: 1}, true, true)
	b := w.add(bson.Raw{2}, bson.Timestamp{T: 2}, false, true) // in a transaction
	w.done(a)
	if w.exact() {
		t.Fatal("exact with a position pending")
	}
	w.done(b)
	if w.exact() {
		t.Fatal("exact although an applied transaction event lies beyond the watermark")
	}
	w.markSafe(b)
	if w.exact() {
		t.Fatal("markSafe of a trimmed position cannot move the watermark; still beyond")
	}
	c := w.add(bson.Raw{3}, bson.Timestamp{T: 3}, true, false)
	w.done(c)
	if !w.exact() || w.position().Time.T != 3 {
		t.Fatalf("exact=%v at %v after the idle token", w.exact(), w.position())
	}
}
