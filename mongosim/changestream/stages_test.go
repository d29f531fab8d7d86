package changestream

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

type aggEnv struct{}

func (aggEnv) CollStats(string, bsoncore.Document) (bsoncore.Document, error) {
	return nil, mongoerr.New(mongoerr.NotImplemented, "no $collStats in change streams")
}
func (aggEnv) Now() time.Time { return wall0 }

func stage(name string, arg bsoncore.Value) bsoncore.Document { return bsonkit.D(name, arg) }

func TestAggStagesOnEvents(t *testing.T) {
	r := newRecorder(t)
	env := Env{Compile: AggStages(aggEnv{})}
	match := stage("$match", bsonkit.DocValue(bsonkit.D("operationType", bsonkit.DocValue(bsonkit.D("$in",
		bsonkit.Array(bsonkit.String("insert"), bsonkit.String("delete"), bsonkit.String("invalidate")))))))
	project := stage("$project", bsonkit.DocValue(bsonkit.D("operationType", bsonkit.Int32(1), "documentKey", bsonkit.Int32(1), "coll", bsonkit.Int32(1))))
	addFields := stage("$addFields", bsonkit.DocValue(bsonkit.D("tag", bsonkit.String("x"))))
	set := stage("$set", bsonkit.DocValue(bsonkit.D("coll", bsonkit.String("$ns.coll"))))
	unset := stage("$unset", bsonkit.String("tag"))
	s := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D(), match, set, project, addFields, unset), env)
	r.add(insertEntry("db", "c", uuidA, idDoc(1)))
	r.add(updateEntry(idDoc(1), bsonkit.D("_id", bsonkit.Int32(1), "a", bsonkit.Int32(1)), false))
	r.add(&Entry{Op: OpDelete, DB: "db", Coll: "c", UUID: uuidA, DocumentKey: idDoc(1)})
	r.add(&Entry{Op: OpDrop, DB: "db", Coll: "c", UUID: uuidA})
	b, err := s.Next(bgCtx, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if opTypes(b.Events) != "insert,delete,invalidate" || !b.Invalidated {
		t.Fatalf("events %s invalidated=%v", opTypes(b.Events), b.Invalidated)
	}
	if keys(b.Events[0]) != "_id,operationType,documentKey,coll" {
		t.Fatalf("projected keys %s", keys(b.Events[0]))
	}
	if b.Events[0].Lookup("coll").StringValue() != "c" {
		t.Fatal("$set from $ns.coll")
	}

	// $replaceRoot that keeps _id is allowed; one that drops it is fatal.
	r2 := newRecorder(t)
	keep := stage("$replaceRoot", bsonkit.DocValue(bsonkit.D("newRoot", bsonkit.DocValue(bsonkit.D("_id", bsonkit.String("$_id"), "op", bsonkit.String("$operationType"))))))
	s2 := mustOpen(t, r2.h, mustSpec(t, "db", "c", bsonkit.D(), keep), env)
	lose := stage("$replaceWith", bsonkit.String("$fullDocument"))
	s3 := mustOpen(t, r2.h, mustSpec(t, "db", "c", bsonkit.D(), lose), env)
	r2.add(insertEntry("db", "c", uuidA, idDoc(5)))
	b, err = s2.Next(bgCtx, Limits{})
	if err != nil || len(b.Events) != 1 || keys(b.Events[0]) != "_id,op" {
		t.Fatalf("replaceRoot: %v %v", err, b.Events)
	}
	_, err = s3.Next(bgCtx, Limits{})
	wantCode(t, err, mongoerr.ChangeStreamFatalError)

	// Stage errors surface when the stream opens.
	_, err = Open(r2.h, mustSpec(t, "db", "c", bsonkit.D(), stage("$match", bsonkit.DocValue(bsonkit.D("$bogus", bsonkit.Int32(1))))), env)
	wantCode(t, err, mongoerr.BadValue)
}
