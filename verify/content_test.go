package verify

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink/mongo"
)

func idOf(t *testing.T, v any) string {
	t.Helper()
	return idKey(raw(t, bson.D{{Key: "_id", Value: v}}))
}

func TestDiffIDs(t *testing.T) {
	h := newHasher()
	doc := func(id any, x int) idHash {
		d := raw(t, bson.D{{Key: "_id", Value: id}, {Key: "x", Value: x}})
		return idHash{id: idKey(d), h: h.doc(d)}
	}
	src := []idHash{doc(int32(1), 1), doc(int32(2), 2), doc(int32(3), 3), doc(int32(4), 4), doc("s", 0)}
	dst := []idHash{doc(int32(1), 1), doc(int32(3), 30), doc(int32(4), 4), doc(int64(2), 2), doc(int32(5), 5), doc("s", 1)}
	got := diffIDs(src, dst)
	want := rangeDiffs{
		missing:   []string{idOf(t, int32(2))},
		extra:     []string{idOf(t, int64(2)), idOf(t, int32(5))},
		different: []string{idOf(t, int32(3)), idOf(t, "s")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("diffIDs = %+v, want %+v", got, want)
	}
	if got := diffIDs(src, src); got.total() != 0 {
		t.Fatalf("same side: %+v", got)
	}
}

func TestListIntoBudget(t *testing.T) {
	d := rangeDiffs{
		missing:   []string{idOf(t, int32(1)), idOf(t, int32(2))},
		extra:     []string{idOf(t, "e")},
		different: []string{idOf(t, bson.ObjectID{1})},
	}
	var rep ContentReport
	left := d.listInto(&rep, 3)
	if left != 0 || !rep.Truncated {
		t.Fatalf("left %d truncated %v, want 0 true", left, rep.Truncated)
	}
	wantMissing := []json.RawMessage{json.RawMessage(`{"$numberInt":"1"}`), json.RawMessage(`{"$numberInt":"2"}`)}
	if !reflect.DeepEqual(rep.Missing, wantMissing) || !reflect.DeepEqual(rep.Extra, []json.RawMessage{json.RawMessage(`"e"`)}) || rep.Different != nil {
		t.Fatalf("listed: %s", mustJSON(t, rep))
	}
	rep = ContentReport{}
	if left := d.listInto(&rep, 10); left != 6 || rep.Truncated || len(rep.Different) != 1 {
		t.Fatalf("roomy budget: left %d, %s", left, mustJSON(t, rep))
	}
	rep = ContentReport{}
	if left := d.listInto(&rep, 4); left != 0 || rep.Truncated {
		t.Fatalf("exact budget: left %d truncated %v", left, rep.Truncated)
	}
}

func TestIDKeyAndJSON(t *testing.T) {
	if got := idKey(raw(t, bson.D{{Key: "x", Value: 1}})); got != "" {
		t.Fatalf("no _id: %q", got)
	}
	if got := string(idJSON("")); got != "null" {
		t.Fatalf("idJSON empty = %s", got)
	}
	for v, want := range map[any]string{
		int64(7):      `{"$numberLong":"7"}`,
		1.5:           `{"$numberDouble":"1.5"}`,
		"abc":         `"abc"`,
		bson.MinKey{}: `{"$minKey":1}`,
	} {
		if got := string(idJSON(idOf(t, v))); got != want {
			t.Errorf("idJSON(%v) = %s, want %s", v, got, want)
		}
	}
	doc := raw(t, bson.D{{Key: "_id", Value: bson.D{{Key: "b", Value: 1}, {Key: "a", Value: 2}}}})
	if got := string(idJSON(idKey(doc))); got != `{"b":{"$numberInt":"1"},"a":{"$numberInt":"2"}}` {
		t.Errorf("document _id keeps field order: %s", got)
	}
}

// settle without a drill budget only totals the digests: it must count,
// flag the mismatching ranges with their bounds, and not read anything.
func TestSettleWithoutDrill(t *testing.T) {
	h := newHasher()
	a := raw(t, bson.D{{Key: "_id", Value: 1}})
	b := raw(t, bson.D{{Key: "_id", Value: 2}})
	split := bson.RawValue{Type: bson.TypeInt32, Value: bsonInt32(2)}
	job := &collJob{
		report: &ContentReport{},
		ranges: []mongo.Range{{Max: split}, {Min: split}},
		digests: [][2]rangeDigest{
			{digestOf(h, a), digestOf(h, a)},
			{digestOf(h, b), digestOf(h)},
		},
	}
	c := &contentComparer{opts: Options{MaxDiffs: -1}.withDefaults(), hasher: h}
	if err := c.settle(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	want := ContentReport{
		SourceCount: 2, TargetCount: 1, SourceBytes: int64(len(a) + len(b)), TargetBytes: int64(len(a)),
		Ranges: 2, MismatchedRanges: 1,
		RangeDiffs: []RangeDiff{{Min: json.RawMessage(`{"$numberInt":"2"}`), SourceCount: 1, TargetCount: 0}},
	}
	if !reflect.DeepEqual(*job.report, want) {
		t.Fatalf("got %s\nwant %s", mustJSON(t, job.report), mustJSON(t, want))
	}
}

func TestBatchDocsFor(t *testing.T) {
	for avg, want := range map[int64]int{0: 0, -1: 0, 100: 20971, 1: 100_000, 4 << 20: 16, 16 << 20: 16} {
		if got := batchDocsFor(avg); got != want {
			t.Errorf("batchDocsFor(%d) = %d, want %d", avg, got, want)
		}
	}
}

func TestDrillRefusesLargeRangeBeforeReading(t *testing.T) {
	// No clients: a refusal must come before any read.
	c := &contentComparer{opts: Options{}.withDefaults(), hasher: newHasher()}
	_, err := c.drill(context.Background(), &collJob{}, mongo.Range{}, maxDrillDocs+1)
	if err != errRangeTooLarge {
		t.Fatalf("err = %v, want errRangeTooLarge", err)
	}
}
