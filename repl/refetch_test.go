package repl

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
)

func TestRefetchedPruneKeepsLaterCopies(t *testing.T) {
	var f refetched
	a := docRef{mlink.Namespace{DB: "d", Coll: "c"}, "1"}
	b := docRef{mlink.Namespace{DB: "d", Coll: "c"}, "2"}
	f.put(a, bson.Timestamp{T: 5})
	f.put(b, bson.Timestamp{T: 9})
	f.pruneUpTo(bson.Timestamp{T: 5})
	if _, ok := f.get(a); ok {
		t.Fatal("a copy no later than the applied time was kept")
	}
	if at, ok := f.get(b); !ok || at.T != 9 {
		t.Fatalf("a later copy was pruned: %v %v", at, ok)
	}
}
