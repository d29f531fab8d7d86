package mongosim

import (
	"testing"
)

// Memory stays close to the data size. A standalone server holds only the
// documents and their index entries; a replica-set primary also keeps the
// change-stream history (the simulated oplog), whose entries share the
// documents' bytes but add their own bookkeeping.
func TestMemoryNearDataSize(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 50 MB twice")
	}
	for _, c := range []struct {
		name string
		opts Options
		max  float64
	}{
		{"standalone", Options{Standalone: true}, 1.35},
		{"replica set", Options{}, 2.0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if ratio := heapPerData(t, c.opts, 50000); ratio > c.max {
				t.Fatalf("live heap is %.2fx the data inserted, want at most %.2fx", ratio, c.max)
			}
		})
	}
}
