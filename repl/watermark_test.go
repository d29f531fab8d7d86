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
