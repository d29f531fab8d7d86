package changestream

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func cs(opts bsoncore.Document) bsoncore.Document {
	return bsonkit.D("$changeStream", bsonkit.DocValue(opts))
}

func TestIsChangeStream(t *testing.T) {
	match := bsonkit.D("$match", bsonkit.DocValue(bsonkit.D()))
	if ok, err := IsChangeStream([]bsoncore.Document{cs(bsonkit.D()), match}); !ok || err != nil {
		t.Fatalf("first stage: %v %v", ok, err)
	}
	if ok, err := IsChangeStream([]bsoncore.Document{match}); ok || err != nil {
		t.Fatalf("no $changeStream: %v %v", ok, err)
	}
	_, err := IsChangeStream([]bsoncore.Document{match, cs(bsonkit.D())})
	wantCode(t, err, 40602)
}

func TestParsePipelineOptions(t *testing.T) {
	tok := Token{TS: Timestamp{T: 5, I: 1}, UUID: uuidA}
	spec, err := ParsePipeline("db", "c", []bsoncore.Document{cs(bsonkit.D(
		"fullDocument", bsonkit.String("updateLookup"),
		"fullDocumentBeforeChange", bsonkit.String("required"),
		"resumeAfter", bsonkit.DocValue(tok.Document()),
		"showExpandedEvents", bsonkit.Bool(true),
	)), bsonkit.D("$match", bsonkit.DocValue(bsonkit.D())), bsonkit.D("$project", bsonkit.DocValue(bsonkit.D("x", bsonkit.Int32(1))))})
	if err != nil {
		t.Fatal(err)
	}
	if spec.FullDocument != "updateLookup" || spec.FullDocumentBeforeChange != "required" || !spec.ShowExpandedEvents ||
		spec.ResumeAfter == nil || spec.ResumeAfter.Compare(tok) != 0 || len(spec.Stages) != 2 ||
		spec.Scope != (Scope{DB: "db", Coll: "c"}) {
		t.Fatalf("spec %+v", spec)
	}
	spec, err = ParsePipeline("admin", "", []bsoncore.Document{cs(bsonkit.D("allChangesForCluster", bsonkit.Bool(true),
		"startAtOperationTime", bsonkit.Timestamp(9, 2)))})
	if err != nil || !spec.Scope.Cluster || *spec.StartAtOperationTime != (Timestamp{T: 9, I: 2}) ||
		spec.FullDocument != "default" || spec.FullDocumentBeforeChange != "off" {
		t.Fatalf("cluster spec %+v %v", spec, err)
	}
}

func TestParsePipelineErrors(t *testing.T) {
	tok := Token{TS: Timestamp{T: 5, I: 1}, UUID: uuidA}
	noUUID := Token{TS: Timestamp{T: 5, I: 1}}
	inv := Token{TS: Timestamp{T: 5, I: 1}, UUID: uuidA, FromInvalidate: true}
	cases := []struct {
		name     string
		db, coll string
		stages   []bsoncore.Document
		code     int32
	}{
		{"spec not a document", "db", "c", []bsoncore.Document{bsonkit.D("$changeStream", bsonkit.Int32(1))}, 50808},
		{"unknown option", "db", "c", []bsoncore.Document{cs(bsonkit.D("bogus", bsonkit.Int32(1)))}, 40415},
		{"duplicate option", "db", "c", []bsoncore.Document{cs(bsonkit.D("showExpandedEvents", bsonkit.Bool(true), "showExpandedEvents", bsonkit.Bool(true)))}, 40413},
		{"bad fullDocument", "db", "c", []bsoncore.Document{cs(bsonkit.D("fullDocument", bsonkit.String("always")))}, mongoerr.BadValue},
		{"fullDocument type", "db", "c", []bsoncore.Document{cs(bsonkit.D("fullDocument", bsonkit.Int32(1)))}, mongoerr.TypeMismatch},
		{"bad fullDocumentBeforeChange", "db", "c", []bsoncore.Document{cs(bsonkit.D("fullDocumentBeforeChange", bsonkit.String("updateLookup")))}, mongoerr.BadValue},
		{"startAtOperationTime type", "db", "c", []bsoncore.Document{cs(bsonkit.D("startAtOperationTime", bsonkit.Int64(1)))}, mongoerr.TypeMismatch},
		{"showExpandedEvents type", "db", "c", []bsoncore.Document{cs(bsonkit.D("showExpandedEvents", bsonkit.Int32(1)))}, mongoerr.TypeMismatch},
		{"resumeAfter type", "db", "c", []bsoncore.Document{cs(bsonkit.D("resumeAfter", bsonkit.String("x")))}, mongoerr.TypeMismatch},
		{"resumeAfter bad token", "db", "c", []bsoncore.Document{cs(bsonkit.D("resumeAfter", bsonkit.DocValue(bsonkit.D("_data", bsonkit.String("zz")))))}, mongoerr.FailedToParse},
		{"both resume options", "db", "c", []bsoncore.Document{cs(bsonkit.D("resumeAfter", bsonkit.DocValue(tok.Document()), "startAfter", bsonkit.DocValue(tok.Document())))}, 50865},
		{"resume and startAt", "db", "c", []bsoncore.Document{cs(bsonkit.D("resumeAfter", bsonkit.DocValue(tok.Document()), "startAtOperationTime", bsonkit.Timestamp(1, 1)))}, 40674},
		{"resumeAfter invalidate", "db", "c", []bsoncore.Document{cs(bsonkit.D("resumeAfter", bsonkit.DocValue(inv.Document())))}, mongoerr.InvalidResumeToken},
		{"collection token without uuid", "db", "c", []bsoncore.Document{cs(bsonkit.D("resumeAfter", bsonkit.DocValue(noUUID.Document())))}, mongoerr.InvalidResumeToken},
		{"allChangesForCluster off admin", "db", "", []bsoncore.Document{cs(bsonkit.D("allChangesForCluster", bsonkit.Bool(true)))}, mongoerr.InvalidOptions},
		{"allChangesForCluster on a collection", "admin", "c", []bsoncore.Document{cs(bsonkit.D("allChangesForCluster", bsonkit.Bool(true)))}, mongoerr.InvalidOptions},
		{"admin without allChangesForCluster", "admin", "", []bsoncore.Document{cs(bsonkit.D())}, mongoerr.InvalidNamespace},
		{"local", "local", "oplog.rs", []bsoncore.Document{cs(bsonkit.D())}, mongoerr.InvalidNamespace},
		{"config", "config", "", []bsoncore.Document{cs(bsonkit.D())}, mongoerr.InvalidNamespace},
		{"system collection", "db", "system.views", []bsoncore.Document{cs(bsonkit.D())}, mongoerr.InvalidNamespace},
		{"disallowed stage", "db", "c", []bsoncore.Document{cs(bsonkit.D()), bsonkit.D("$group", bsonkit.DocValue(bsonkit.D("_id", bsonkit.Null())))}, mongoerr.IllegalOperation},
		{"unknown stage", "db", "c", []bsoncore.Document{cs(bsonkit.D()), bsonkit.D("$frobnicate", bsonkit.DocValue(bsonkit.D()))}, 40324},
		{"two fields in a stage", "db", "c", []bsoncore.Document{cs(bsonkit.D()), bsonkit.D("$match", bsonkit.DocValue(bsonkit.D()), "$project", bsonkit.DocValue(bsonkit.D()))}, 40323},
		{"second $changeStream", "db", "c", []bsoncore.Document{cs(bsonkit.D()), cs(bsonkit.D())}, 40602},
	}
	for _, c := range cases {
		_, err := ParsePipeline(c.db, c.coll, c.stages)
		if got := codeOf(err); got != c.code {
			t.Errorf("%s: code %d (%v), want %d", c.name, got, err, c.code)
		}
	}
	// Message texts mongod uses for the most common ones.
	_, err := ParsePipeline("admin", "", []bsoncore.Document{cs(bsonkit.D())})
	if err.(*mongoerr.Error).Msg != "$changeStream may not be opened on the internal admin database" {
		t.Fatalf("msg %q", err.(*mongoerr.Error).Msg)
	}
	_, err = ParsePipeline("db", "", []bsoncore.Document{cs(bsonkit.D("allChangesForCluster", bsonkit.Bool(true)))})
	if err.(*mongoerr.Error).Msg != "A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database, and with no collection name; found db.$cmd.aggregate" {
		t.Fatalf("msg %q", err.(*mongoerr.Error).Msg)
	}
}

func TestOpenRefusedOnStandalone(t *testing.T) {
	r := newRecorder(t)
	_, err := Open(r.h, mustSpec(t, "db", "c", bsonkit.D()), Env{Standalone: true})
	wantCode(t, err, 40573)
}

// fakeStages is a stand-in for package agg in these unit tests: it keeps
// events whose documentKey._id is even, and optionally rewrites _id.
type fakeStages struct{ rewriteID bool }

func (f fakeStages) Apply(_ context.Context, ev bsoncore.Document) (bsoncore.Document, bool, error) {
	if ev.Lookup("operationType").StringValue() == "invalidate" {
		return nil, false, nil
	}
	if id, ok := ev.Lookup("documentKey", "_id").Int32OK(); !ok || id%2 != 0 {
		return nil, false, nil
	}
	d := bsonkit.MustParseDoc(ev)
	d.Append("seen", bsonkit.Bool(true))
	if f.rewriteID {
		d.Set("_id", bsonkit.Int32(0))
	}
	return d.Bytes(), true, nil
}

func TestUserStages(t *testing.T) {
	r := newRecorder(t)
	match := bsonkit.D("$match", bsonkit.DocValue(bsonkit.D()))
	var compiled []bsoncore.Document
	env := Env{Compile: func(stages []bsoncore.Document) (Stages, error) {
		compiled = stages
		return fakeStages{}, nil
	}}
	s := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D(), match), env)
	if len(compiled) != 1 || string(compiled[0]) != string(match) {
		t.Fatalf("compiled %v", compiled)
	}
	for i := int32(1); i <= 4; i++ {
		r.add(insertEntry("db", "c", uuidA, idDoc(i)))
	}
	drop := r.add(&Entry{Op: OpDrop, DB: "db", Coll: "c", UUID: uuidA})
	b, err := s.Next(bgCtx, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Events) != 2 || b.Events[1].Lookup("seen").Boolean() != true || b.Events[1].Lookup("documentKey", "_id").Int32() != 4 {
		t.Fatalf("events %v", b.Events)
	}
	// The stages dropped the drop event and the invalidate, yet the stream
	// ends at the invalidate's token.
	if !b.Invalidated {
		t.Fatal("stream must end at the invalidate even when it is filtered out")
	}
	want := eventToken(drop)
	want.FromInvalidate = true
	if string(b.PostBatchResumeToken) != string(want.Document()) {
		t.Fatalf("pbrt %v", b.PostBatchResumeToken)
	}

	// Modifying _id is fatal.
	r2 := newRecorder(t)
	s2 := mustOpen(t, r2.h, mustSpec(t, "db", "c", bsonkit.D(), match), Env{Compile: func([]bsoncore.Document) (Stages, error) {
		return fakeStages{rewriteID: true}, nil
	}})
	r2.add(insertEntry("db", "c", uuidA, idDoc(2)))
	_, err = s2.Next(bgCtx, Limits{})
	wantCode(t, err, mongoerr.ChangeStreamFatalError)

	// Stages without a compiler cannot run.
	_, err = Open(r2.h, mustSpec(t, "db", "c", bsonkit.D(), match), Env{})
	wantCode(t, err, mongoerr.NotImplemented)
}
