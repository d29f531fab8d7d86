package verify

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

func collInfo(t *testing.T, typ string, opts bson.D, readOnly bool) *mongo.CollectionInfo {
	t.Helper()
	ci := &mongo.CollectionInfo{NS: mlink.Namespace{DB: "db", Coll: "c"}, Type: typ, ReadOnly: readOnly}
	if opts != nil {
		ci.Options = raw(t, opts)
	}
	if typ == mongo.TypeCollection {
		ci.IDIndex = raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "name", Value: "_id_"}})
	}
	return ci
}

func TestCompareCatalogEntry(t *testing.T) {
	coll := collInfo(t, mongo.TypeCollection, nil, false)
	view := collInfo(t, mongo.TypeView, bson.D{{Key: "viewOn", Value: "c"}, {Key: "pipeline", Value: bson.A{}}}, true)
	ts := collInfo(t, mongo.TypeTimeseries, bson.D{{Key: "timeseries", Value: bson.D{{Key: "timeField", Value: "t"}}}}, false)
	capped := collInfo(t, mongo.TypeCollection, bson.D{{Key: "capped", Value: true}, {Key: "size", Value: int64(4096)}}, false)

	cases := []struct {
		name        string
		s, d        *mongo.CollectionInfo
		wantStatus  string // "" until settled
		wantType    string
		wantTarget  string
		wantOptions []FieldDiff
		wantContent bool
	}{
		{name: "equal collections", s: coll, d: coll, wantType: "collection", wantContent: true},
		{name: "equal views", s: view, d: view, wantType: "view"},
		{name: "missing", s: coll, wantStatus: StatusMissingOnTarget, wantType: "collection"},
		{name: "extra view", d: view, wantStatus: StatusExtraOnTarget, wantType: "view"},
		{name: "collection vs view", s: coll, d: view, wantType: "collection", wantTarget: "view"},
		{name: "timeseries both", s: ts, d: ts, wantStatus: StatusNotCompared, wantType: "timeseries"},
		{name: "timeseries source only", s: ts, wantStatus: StatusNotCompared, wantType: "timeseries"},
		{name: "timeseries vs collection", s: ts, d: coll, wantStatus: StatusNotCompared, wantType: "timeseries"},
		{name: "capped lost", s: capped, d: coll, wantType: "collection", wantContent: true, wantOptions: []FieldDiff{
			{Field: "options.capped", Source: json.RawMessage(`true`)},
			{Field: "options.size", Source: json.RawMessage(`4096`)},
		}},
		{name: "readOnly", s: view, d: collInfoWith(view, func(ci *mongo.CollectionInfo) { ci.ReadOnly = false }), wantType: "view", wantOptions: []FieldDiff{
			{Field: "info.readOnly", Source: json.RawMessage(`true`), Target: json.RawMessage(`false`)},
		}},
		{name: "idIndex", s: coll, d: collInfoWith(coll, func(ci *mongo.CollectionInfo) {
			ci.IDIndex = raw(t, bson.D{{Key: "v", Value: 1}, {Key: "key", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "name", Value: "_id_"}, {Key: "ns", Value: "x.y"}})
		}), wantType: "collection", wantContent: true, wantOptions: []FieldDiff{
			{Field: "idIndex.v", Source: json.RawMessage(`2`), Target: json.RawMessage(`1`)},
		}},
	}
	for _, c := range cases {
		nr, content := compareCatalogEntry("db.c", c.s, c.d, false)
		if nr.Status != c.wantStatus || nr.Type != c.wantType || nr.TargetType != c.wantTarget || content != c.wantContent {
			t.Errorf("%s: status %q type %q targetType %q content %v; want %q %q %q %v",
				c.name, nr.Status, nr.Type, nr.TargetType, content, c.wantStatus, c.wantType, c.wantTarget, c.wantContent)
		}
		if !reflect.DeepEqual(nr.Options, c.wantOptions) {
			t.Errorf("%s: options %s, want %s", c.name, mustJSON(t, nr.Options), mustJSON(t, c.wantOptions))
		}
		if c.wantStatus == StatusNotCompared && !strings.Contains(nr.Reason, "time series") {
			t.Errorf("%s: reason %q", c.name, nr.Reason)
		}
	}
}

func collInfoWith(ci *mongo.CollectionInfo, edit func(*mongo.CollectionInfo)) *mongo.CollectionInfo {
	c := *ci
	edit(&c)
	return &c
}

func TestSettleStatus(t *testing.T) {
	cases := []struct {
		nr   NamespaceReport
		want string
	}{
		{NamespaceReport{}, StatusEqual},
		{NamespaceReport{Content: &ContentReport{SourceCount: 3, TargetCount: 3, Ranges: 1}}, StatusEqual},
		{NamespaceReport{Content: &ContentReport{SourceCount: 3, TargetCount: 2}}, StatusDifferent},
		{NamespaceReport{Content: &ContentReport{SourceCount: 3, TargetCount: 3, MismatchedRanges: 1}}, StatusDifferent},
		{NamespaceReport{TargetType: "view"}, StatusDifferent},
		{NamespaceReport{Options: []FieldDiff{{Field: "options.x"}}}, StatusDifferent},
		{NamespaceReport{Indexes: []IndexDiff{{Name: "x"}}}, StatusDifferent},
		{NamespaceReport{Status: StatusMissingOnTarget}, StatusMissingOnTarget},
	}
	for i, c := range cases {
		c.nr.settleStatus()
		if c.nr.Status != c.want {
			t.Errorf("case %d: %q, want %q", i, c.nr.Status, c.want)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.MaxDiffs != 20 || o.Parallel != 4 || o.PartitionBytes != 16<<20 {
		t.Fatalf("defaults: %+v", o)
	}
	if o := (Options{MaxDiffs: -1}).withDefaults(); o.MaxDiffs != 0 {
		t.Fatalf("negative MaxDiffs → %d, want 0 (list none)", o.MaxDiffs)
	}
	if o := (Options{MaxDiffs: 3, Parallel: 9, PartitionBytes: 10}).withDefaults(); o.MaxDiffs != 3 || o.Parallel != 9 || o.PartitionBytes != 10 {
		t.Fatalf("explicit values changed: %+v", o)
	}
}
