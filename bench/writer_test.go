package bench

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink/mongosim/simtest"
)

func TestWriterStopsAtItsOperationBudget(t *testing.T) {
	ctx := context.Background()
	c := simtest.Client(t, simtest.Start(t).URI())
	d := Dataset{DB: "w", Colls: 2, Docs: 200, DocBytes: 500}
	if _, err := d.Load(ctx, c, 2, 100); err != nil {
		t.Fatal(err)
	}
	w := StartWriter(ctx, c, WriterOptions{Dataset: d, Ops: 1000, Clients: 3, MaxBulk: 40, Seed: 9})
	if err := w.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if w.Ops() != 1000 {
		t.Fatalf("writer did %d operations, want exactly 1000", w.Ops())
	}
	// Inserted documents continue the dataset's _ids with its content.
	inserted := 0
	for k := range d.Colls {
		cur, err := c.Database(d.DB).Collection(CollName(k)).Find(ctx,
			bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: d.PerColl(k)}}}}, options.Find().SetProjection(bson.D{{Key: "visits", Value: 0}, {Key: "score", Value: 0}, {Key: "address", Value: 0}, {Key: "email", Value: 0}}))
		if err != nil {
			t.Fatal(err)
		}
		for cur.Next(ctx) {
			inserted++
			id := cur.Current.Lookup("_id").Int64()
			want := d.Doc(k, id)
			if !bytes.Equal(cur.Current.Lookup("notes").Value, want.Lookup("notes").Value) ||
				!bytes.Equal(cur.Current.Lookup("items").Value, want.Lookup("items").Value) {
				t.Fatalf("inserted document %d of %s is not the dataset's", id, CollName(k))
			}
		}
		if err := cur.Err(); err != nil {
			t.Fatal(err)
		}
	}
	// 25% of 1000 operations insert; some inserted documents were deleted since.
	if inserted < 150 || inserted > 300 {
		t.Fatalf("%d inserted documents remain, want about 250 minus deletes", inserted)
	}
}

func TestWriterStopEndsAnUnboundedWriter(t *testing.T) {
	ctx := context.Background()
	c := simtest.Client(t, simtest.Start(t).URI())
	d := Dataset{DB: "w", Colls: 1, Docs: 50, DocBytes: 500}
	w := StartWriter(ctx, c, WriterOptions{Dataset: d, Rate: 2000, Clients: 2})
	deadline := time.Now().Add(10 * time.Second)
	for w.Ops() < 100 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling a counter, not synchronising
	}
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	n := w.Ops()
	if n < 100 {
		t.Fatalf("writer did only %d operations in 10 s at 2000 ops/s", n)
	}
	if w.Ops() != n {
		t.Fatal("writer still counting after Stop returned")
	}
}

func TestPacerHandsOutTheRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := &pacer{rate: 1000, maxBulk: 100, last: t0}
	if n, wait := p.take(t0); n != 0 || wait != time.Millisecond {
		t.Fatalf("take at start = %d, %s; want 0 and 1ms", n, wait)
	}
	if n, _ := p.take(t0.Add(10 * time.Millisecond)); n != 10 {
		t.Fatalf("after 10 ms at 1000/s: %d operations, want 10", n)
	}
	// A long pause does not bank more than a bulk (burst = max(bulk, 20 ms)).
	if n, _ := p.take(t0.Add(2 * time.Second)); n != 100 {
		t.Fatalf("after a pause: %d, want one full bulk of 100", n)
	}
	if n, _ := p.take(t0.Add(2 * time.Second)); n != 0 {
		t.Fatalf("bucket not emptied: %d more", n)
	}
	// At 50k/s the burst is 20 ms = 1000 operations, handed out a bulk at a time.
	p.setRate(50000, t0.Add(2*time.Second))
	total := 0
	for range 20 {
		n, _ := p.take(t0.Add(2*time.Second + 20*time.Millisecond))
		total += n
	}
	if total != 1000 {
		t.Fatalf("20 ms at 50k/s gave %d operations, want 1000", total)
	}
	p.setRate(0, t0.Add(3*time.Second))
	if n, wait := p.take(t0.Add(3 * time.Second)); n != 100 || wait != 0 {
		t.Fatalf("unlimited: %d, %s; want a full bulk at once", n, wait)
	}
}
