package conformance

import (
	"bytes"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Follow-ups: a $expr runtime error fails the command instead of silently
// dropping the document; commands pass their let variables to filters and
// pipeline updates; $convert failures are ConversionFailure (241); updates
// and replacements honour the collection validator and
// bypassDocumentValidation.

const codeBadValue = 2 // "can't $divide by zero"

// divByB is true when a / b > 1; it raises a runtime error where b is 0.
var divByB = bson.D{{Key: "$expr", Value: bson.D{{Key: "$gt", Value: bson.A{
	bson.D{{Key: "$divide", Value: bson.A{"$a", "$b"}}}, 1}}}}}

// exprErrColl holds a document on which divByB fails, first in natural
// order (so no server acts on another document before the error), then one
// it matches.
func exprErrColl(t *testing.T) *mongo.Collection {
	t.Helper()
	coll := newDB(t).Collection("c")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: 1}, {Key: "b", Value: 0}},
		bson.D{{Key: "_id", Value: 2}, {Key: "a", Value: 4}, {Key: "b", Value: 2}})
	return coll
}

// wantWriteCode asserts err is a write exception whose first write error
// has the given code.
func wantWriteCode(t *testing.T, err error, code int) {
	t.Helper()
	var we mongo.WriteException
	if !errors.As(err, &we) || len(we.WriteErrors) == 0 {
		t.Fatalf("want a write error with code %d, got %T: %v", code, err, err)
	}
	if we.WriteErrors[0].Code != code {
		t.Fatalf("want write error code %d, got %d: %v", code, we.WriteErrors[0].Code, we.WriteErrors[0].Message)
	}
}

// wantDocsExactly asserts got holds exactly the documents of want, byte
// for byte, in order.
func wantDocsExactly(t *testing.T, what string, got []bson.Raw, want ...bson.D) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d documents %v, want %d", what, len(got), got, len(want))
	}
	for i := range want {
		if w := mustMarshal(t, want[i]); !bytes.Equal(got[i], w) {
			t.Fatalf("%s: document %d = %s, want %s", what, i, got[i], w)
		}
	}
}

// docsOf returns every document of coll by _id, as raw BSON.
func docsOf(t *testing.T, coll *mongo.Collection) []bson.Raw {
	t.Helper()
	return findAll(t, coll, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
}

func TestExprErrorFailsFind(t *testing.T) {
	coll := exprErrColl(t)
	_, err := coll.Find(ctxT(t), divByB)
	wantCode(t, err, codeBadValue)
}

// The error surfaces in the getMore that reaches the failing document.
func TestExprErrorFailsGetMore(t *testing.T) {
	coll := newDB(t).Collection("c")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: 4}, {Key: "b", Value: 2}},
		bson.D{{Key: "_id", Value: 2}, {Key: "a", Value: 1}, {Key: "b", Value: 0}})
	cur, err := coll.Find(ctxT(t), divByB, options.Find().SetBatchSize(1))
	if err != nil {
		t.Fatalf("find: %v", err)
	}
	defer cur.Close(ctxT(t))
	if !cur.Next(ctxT(t)) {
		t.Fatalf("first batch empty: %v", cur.Err())
	}
	if id := cur.Current.Lookup("_id").Int32(); id != 1 {
		t.Fatalf("first document _id %d, want 1", id)
	}
	if cur.Next(ctxT(t)) {
		t.Fatalf("getMore returned %s, want the $divide error", cur.Current)
	}
	wantCode(t, cur.Err(), codeBadValue)
}

func TestExprErrorFailsSortedFindCountDistinctAggregate(t *testing.T) {
	coll := exprErrColl(t)
	db := coll.Database()
	_, err := coll.Find(ctxT(t), divByB, options.Find().SetSort(bson.D{{Key: "a", Value: -1}}))
	wantCode(t, err, codeBadValue)
	_, err = coll.CountDocuments(ctxT(t), divByB)
	wantCode(t, err, codeBadValue)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "count", Value: "c"}, {Key: "query", Value: divByB}}), codeBadValue)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "distinct", Value: "c"}, {Key: "key", Value: "a"}, {Key: "query", Value: divByB}}), codeBadValue)
	_, err = coll.Aggregate(ctxT(t), mongo.Pipeline{{{Key: "$match", Value: divByB}}})
	wantCode(t, err, codeBadValue)
}

// Writes whose filter fails are write errors and change nothing.
func TestExprErrorFailsDeleteUpdateFindAndModify(t *testing.T) {
	coll := exprErrColl(t)
	before := docsOf(t, coll)

	_, err := coll.DeleteMany(ctxT(t), divByB)
	wantWriteCode(t, err, codeBadValue)
	_, err = coll.DeleteOne(ctxT(t), divByB)
	wantWriteCode(t, err, codeBadValue)
	_, err = coll.UpdateMany(ctxT(t), divByB, bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: 1}}}})
	wantWriteCode(t, err, codeBadValue)
	_, err = coll.UpdateOne(ctxT(t), divByB, bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: 1}}}}, options.UpdateOne().SetUpsert(true))
	wantWriteCode(t, err, codeBadValue)
	err = coll.FindOneAndUpdate(ctxT(t), divByB, bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: 1}}}}).Err()
	wantCode(t, err, codeBadValue)
	err = coll.FindOneAndDelete(ctxT(t), divByB).Err()
	wantCode(t, err, codeBadValue)

	after := docsOf(t, coll)
	if len(after) != len(before) {
		t.Fatalf("%d documents after failed writes, want %d", len(after), len(before))
	}
	for i := range before {
		if !bytes.Equal(after[i], before[i]) {
			t.Fatalf("document %d changed: %s -> %s", i, before[i], after[i])
		}
	}
}

// letColl holds {_id: i, a: i} for i = 1..3.
func letColl(t *testing.T) *mongo.Collection {
	t.Helper()
	coll := newDB(t).Collection("c")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: 1}},
		bson.D{{Key: "_id", Value: 2}, {Key: "a", Value: 2}}, bson.D{{Key: "_id", Value: 3}, {Key: "a", Value: 3}})
	return coll
}

// aEqTarget matches documents whose a equals $$target.
var aEqTarget = bson.D{{Key: "$expr", Value: bson.D{{Key: "$eq", Value: bson.A{"$a", "$$target"}}}}}

func intIDs(t *testing.T, docs []bson.Raw) []int32 {
	t.Helper()
	out := make([]int32, len(docs))
	for i, d := range docs {
		out[i] = lookup(t, d, "_id").Int32()
	}
	return out
}

func TestLetInFindFilter(t *testing.T) {
	coll := letColl(t)
	got := intIDs(t, findAll(t, coll, aEqTarget, options.Find().SetLet(bson.D{{Key: "target", Value: 2}})))
	if len(got) != 1 || got[0] != 2 {
		t.Fatalf("find with let target 2 returned _ids %v", got)
	}
	// A let variable is an expression, evaluated once for the command.
	expr := bson.D{{Key: "target", Value: bson.D{{Key: "$add", Value: bson.A{1, 2}}}}}
	got = intIDs(t, findAll(t, coll, aEqTarget, options.Find().SetLet(expr)))
	if len(got) != 1 || got[0] != 3 {
		t.Fatalf("find with let target {$add: [1, 2]} returned _ids %v", got)
	}
	// Without let the variable is undefined: the filter fails to parse.
	_, err := coll.Find(ctxT(t), aEqTarget)
	wantCode(t, err, 17276)
}

func TestLetInAggregate(t *testing.T) {
	coll := letColl(t)
	cur, err := coll.Aggregate(ctxT(t), mongo.Pipeline{{{Key: "$match", Value: aEqTarget}}},
		options.Aggregate().SetLet(bson.D{{Key: "target", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.Raw
	if err := cur.All(ctxT(t), &docs); err != nil {
		t.Fatal(err)
	}
	if got := intIDs(t, docs); len(got) != 1 || got[0] != 1 {
		t.Fatalf("aggregate with let target 1 returned _ids %v", got)
	}
}

func TestLetInDelete(t *testing.T) {
	coll := letColl(t)
	res, err := coll.DeleteMany(ctxT(t), aEqTarget, options.DeleteMany().SetLet(bson.D{{Key: "target", Value: 3}}))
	if err != nil {
		t.Fatal(err)
	}
	if res.DeletedCount != 1 {
		t.Fatalf("deleted %d, want 1", res.DeletedCount)
	}
	if got := intIDs(t, docsOf(t, coll)); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("remaining _ids %v, want [1 2]", got)
	}
}

// let is allowed with operator updates: it feeds the filter's $expr.
func TestLetInUpdateFilterAndPipeline(t *testing.T) {
	coll := letColl(t)
	res, err := coll.UpdateMany(ctxT(t), aEqTarget, bson.D{{Key: "$set", Value: bson.D{{Key: "hit", Value: true}}}},
		options.UpdateMany().SetLet(bson.D{{Key: "target", Value: 2}}))
	if err != nil {
		t.Fatal(err)
	}
	if res.MatchedCount != 1 || res.ModifiedCount != 1 {
		t.Fatalf("matched %d modified %d, want 1 and 1", res.MatchedCount, res.ModifiedCount)
	}
	// A pipeline update sees the variables too.
	pipeline := mongo.Pipeline{{{Key: "$set", Value: bson.D{{Key: "label", Value: "$$label"}}}}}
	_, err = coll.UpdateOne(ctxT(t), aEqTarget, pipeline,
		options.UpdateOne().SetLet(bson.D{{Key: "target", Value: 3}, {Key: "label", Value: "three"}}))
	if err != nil {
		t.Fatal(err)
	}
	wantDocsExactly(t, "after let updates", docsOf(t, coll),
		bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: 1}},
		bson.D{{Key: "_id", Value: 2}, {Key: "a", Value: 2}, {Key: "hit", Value: true}},
		bson.D{{Key: "_id", Value: 3}, {Key: "a", Value: 3}, {Key: "label", Value: "three"}})
}

func TestLetInFindAndModify(t *testing.T) {
	coll := letColl(t)
	var got bson.Raw
	err := coll.FindOneAndUpdate(ctxT(t), aEqTarget, bson.D{{Key: "$inc", Value: bson.D{{Key: "a", Value: 10}}}},
		options.FindOneAndUpdate().SetLet(bson.D{{Key: "target", Value: 2}}).SetReturnDocument(options.After)).Decode(&got)
	if err != nil {
		t.Fatal(err)
	}
	wantDocsExactly(t, "findAndModify with let", []bson.Raw{got}, bson.D{{Key: "_id", Value: 2}, {Key: "a", Value: 12}})
	err = coll.FindOneAndDelete(ctxT(t), aEqTarget, options.FindOneAndDelete().SetLet(bson.D{{Key: "target", Value: 3}})).Decode(&got)
	if err != nil {
		t.Fatal(err)
	}
	if lookup(t, got, "_id").Int32() != 3 {
		t.Fatalf("findAndModify remove returned %s", got)
	}
}

func TestConversionFailureCode(t *testing.T) {
	coll := newDB(t).Collection("c")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: 1}, {Key: "s", Value: "abc"}})
	_, err := coll.Find(ctxT(t), bson.D{{Key: "$expr", Value: bson.D{{Key: "$eq", Value: bson.A{
		bson.D{{Key: "$toInt", Value: "$s"}}, 1}}}}})
	wantCode(t, err, 241)
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Name != "ConversionFailure" {
		t.Fatalf("codeName: %v", err)
	}
}

// validatedColl is a collection whose validator requires an int a, holding
// {_id: 1, a: 1}.
func validatedColl(t *testing.T) *mongo.Collection {
	t.Helper()
	db := newDB(t)
	runCmd(t, db, bson.D{{Key: "create", Value: "v"}, {Key: "validator", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$type", Value: "int"}}}}}})
	coll := db.Collection("v")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: 1}})
	return coll
}

func TestValidatorAppliesToUpdatesAndReplacements(t *testing.T) {
	coll := validatedColl(t)
	const docValidationFailure = 121
	bad := bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: "text"}}}}
	_, err := coll.UpdateOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}, bad)
	wantWriteCode(t, err, docValidationFailure)
	_, err = coll.ReplaceOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "a", Value: "text"}})
	wantWriteCode(t, err, docValidationFailure)
	_, err = coll.UpdateOne(ctxT(t), bson.D{{Key: "_id", Value: 2}}, bad, options.UpdateOne().SetUpsert(true))
	wantWriteCode(t, err, docValidationFailure)
	err = coll.FindOneAndUpdate(ctxT(t), bson.D{{Key: "_id", Value: 1}}, bad).Err()
	wantCode(t, err, docValidationFailure)
	wantDocsExactly(t, "after rejected writes", docsOf(t, coll), bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: 1}})
	// A valid update still goes through.
	if _, err := coll.UpdateOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "a", Value: 1}}}}); err != nil {
		t.Fatalf("valid update: %v", err)
	}
}

func TestBypassDocumentValidationOnUpdates(t *testing.T) {
	coll := validatedColl(t)
	bad := bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: "text"}}}}
	res, err := coll.UpdateOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}, bad, options.UpdateOne().SetBypassDocumentValidation(true))
	if err != nil || res.ModifiedCount != 1 {
		t.Fatalf("bypassed update: %v %+v", err, res)
	}
	_, err = coll.ReplaceOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "a", Value: "other"}},
		options.Replace().SetBypassDocumentValidation(true))
	if err != nil {
		t.Fatalf("bypassed replace: %v", err)
	}
	var got bson.Raw
	err = coll.FindOneAndUpdate(ctxT(t), bson.D{{Key: "_id", Value: 2}}, bad,
		options.FindOneAndUpdate().SetUpsert(true).SetBypassDocumentValidation(true).SetReturnDocument(options.After)).Decode(&got)
	if err != nil {
		t.Fatalf("bypassed findAndModify upsert: %v", err)
	}
	wantDocsExactly(t, "after bypassed writes", docsOf(t, coll),
		bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: "other"}}, bson.D{{Key: "_id", Value: 2}, {Key: "a", Value: "text"}})
}
