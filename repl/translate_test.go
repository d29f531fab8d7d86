package repl

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
	"go.uber.org/goleak"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
	"github.com/mlink-dev/mlink/mongosim/simtest"
	"github.com/mlink-dev/mlink/mongosim/update"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func raw(t *testing.T, ext string) bson.Raw {
	t.Helper()
	var r bson.Raw
	if err := bson.UnmarshalExtJSON([]byte(ext), false, &r); err != nil {
		t.Fatalf("%s: %v", ext, err)
	}
	return r
}

// TestTranslateReproducesEveryUpdateShape applies an update on the
// simulator's update engine to get the post-image and the change event's
// updateDescription (as MongoDB's $v:2 delta gives it), then applies mlink's
// translation of that description to the pre-image on a server and checks
// the result is the post-image, byte for byte.
func TestTranslateReproducesEveryUpdateShape(t *testing.T) {
	pad := strings.Repeat("x", 600) // big enough that pipeline updates log a delta, not a replacement
	pre := `{"_id": 1, "pad": "` + pad + `", "a": {"b": 1, "c": {"d": [1, 2, 3]}}, "arr": [1, 2, 3, 4, 5],
		"docs": [{"k": 1}, {"k": 2}], "obj": {"5": "five", "x.y": "dotted"}, "n": {"$numberDecimal": "1.5"}, "s": "keep"}`
	cases := []struct{ name, update string }{
		{"nested set", `{"$set": {"a.b": 2, "a.c.e": "new"}}`},
		{"array element", `{"$set": {"arr.2": 30, "docs.1.k": 20}}`},
		{"push appends", `{"$push": {"arr": {"$each": [6, 7]}}}`},
		{"push beyond end pads", `{"$set": {"arr.7": 8}}`},
		{"pop truncates", `{"$pop": {"arr": 1}}`},
		{"pull rewrites", `{"$pull": {"arr": {"$in": [2, 4]}}}`},
		{"unset", `{"$unset": {"a.b": "", "s": ""}}`},
		{"numeric key in document", `{"$set": {"obj.5": "FIVE"}}`},
		{"inc decimal", `{"$inc": {"n": {"$numberDecimal": "1"}}}`},
		{"type change", `{"$set": {"a": "now a string"}}`},
		{"rename", `{"$rename": {"s": "t"}}`},
		{"pipeline truncation and element change", `[{"$set": {"arr": {"$concatArrays": [[100], {"$slice": ["$arr", 1, 2]}]}}}]`},
		{"pipeline shrinks nested array", `[{"$set": {"a.c.d": {"$slice": ["$a.c.d", 1]}}}]`},
		{"pipeline dotted field name", `[{"$replaceWith": {"$setField": {"field": "x.y", "input": "$$ROOT", "value": 42}}}]`},
		{"pipeline dotted field inside doc", `[{"$set": {"obj": {"$setField": {"field": "x.y", "input": "$obj", "value": "changed"}}}}]`},
		{"pipeline removes dotted field", `[{"$set": {"obj": {"$unsetField": {"field": "x.y", "input": "$obj"}}}}]`},
		{"pipeline dollar field", `[{"$replaceWith": {"$setField": {"field": {"$literal": "$price"}, "input": "$$ROOT", "value": 9}}}]`},
		{"dollar field and array element together", `[{"$replaceWith": {"$setField": {"field": {"$literal": "$price"}, "input": {"$mergeObjects": ["$$ROOT", {"arr": {"$concatArrays": [{"$slice": ["$arr", 2]}, [33], {"$slice": ["$arr", 3, 10]}]}}]}, "value": 9}}}]`},
	}
	srv := simtest.Start(t)
	ctx := context.Background()
	dst, err := mongo.Connect(ctx, srv.URI(), mongo.RoleTarget)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close(ctx)
	ns := mlink.Namespace{DB: "db", Coll: "c"}
	preDoc := raw(t, pre)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var spec bsoncore.Value
			if strings.HasPrefix(c.update, "[") {
				var arr bson.Raw
				if err := bson.UnmarshalExtJSON([]byte(`{"p": `+c.update+`}`), false, &arr); err != nil {
					t.Fatal(err)
				}
				spec = bsoncore.Value{Type: bsoncore.TypeArray, Data: arr.Lookup("p").Value}
			} else {
				spec = bsoncore.Value{Type: bsoncore.TypeEmbeddedDocument, Data: raw(t, c.update)}
			}
			u, err := update.Compile(spec, update.Options{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := u.ApplyDescribed(bsoncore.Document(preDoc), update.ApplyCtx{MatchPos: -1})
			if err != nil {
				t.Fatal(err)
			}
			if res.Description == nil {
				t.Fatalf("update was logged as a replacement; the case does not test a delta")
			}
			ev := bsoncore.NewDocumentBuilder().
				AppendDocument("_id", bsoncore.NewDocumentBuilder().AppendString("_data", "82").Build()).
				AppendString("operationType", "update").
				AppendDocument("ns", bsoncore.NewDocumentBuilder().AppendString("db", ns.DB).AppendString("coll", ns.Coll).Build()).
				AppendDocument("documentKey", bsoncore.NewDocumentBuilder().AppendInt32("_id", 1).Build()).
				AppendDocument("updateDescription", res.Description.Document(true)).
				Build()
			e, err := mlink.ParseEvent(bson.Raw(ev))
			if err != nil {
				t.Fatal(err)
			}
			ops, err := translate(e)
			if err != nil {
				t.Fatalf("translate %s: %v", bson.Raw(res.Description.Document(true)), err)
			}
			if _, err := dst.RunCommand(ctx, ns.DB, bson.D{{Key: "delete", Value: ns.Coll}, {Key: "deletes", Value: bson.A{bson.D{{Key: "q", Value: bson.D{}}, {Key: "limit", Value: 0}}}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := dst.Insert(ctx, ns, []bson.Raw{preDoc}, true); err != nil {
				t.Fatal(err)
			}
			if err := dst.BulkWrite(ctx, ns, ops); err != nil {
				t.Fatalf("apply %v: %v", ops, err)
			}
			got, err := dst.RunCommand(ctx, ns.DB, bson.D{{Key: "find", Value: ns.Coll}})
			if err != nil {
				t.Fatal(err)
			}
			first, _ := got.Lookup("cursor", "firstBatch").ArrayOK()
			vals, _ := first.Values()
			if len(vals) != 1 {
				t.Fatalf("want 1 document, got %d", len(vals))
			}
			if !bytes.Equal(vals[0].Document(), res.Doc) {
				t.Fatalf("description %s\napplied %v\n got  %s\n want %s", bson.Raw(res.Description.Document(true)), ops, vals[0].Document(), bson.Raw(res.Doc))
			}
		})
	}
}

func TestRegroupKeepsPerDocumentOrder(t *testing.T) {
	key := func(id int) bson.Raw { r, _ := bson.Marshal(bson.D{{Key: "_id", Value: id}}); return r }
	op := func(id int, k mongo.OpKind) mongo.WriteOp { return mongo.WriteOp{Kind: k, Filter: key(id)} }
	items := []item{
		{ops: []mongo.WriteOp{op(1, mongo.OpUpsert)}},
		{ops: []mongo.WriteOp{op(2, mongo.OpDelete)}},
		{ops: []mongo.WriteOp{op(1, mongo.OpDelete)}},
		{ops: []mongo.WriteOp{op(3, mongo.OpUpdate), op(3, mongo.OpUpdate)}}, // truncation + $set of one event
		{ops: []mongo.WriteOp{op(2, mongo.OpUpsert)}},
		{ops: []mongo.WriteOp{op(4, mongo.OpUpsert)}},
	}
	ops, owner := regroup(items)
	type w struct {
		id    int32
		kind  mongo.OpKind
		owner int
	}
	var got []w
	for i, o := range ops {
		got = append(got, w{bson.Raw(o.Filter).Lookup("_id").Int32(), o.Kind, owner[i]})
	}
	want := []w{
		// layer 0: first write of each document, updates before deletes
		{1, mongo.OpUpsert, 0}, {3, mongo.OpUpdate, 3}, {4, mongo.OpUpsert, 5}, {2, mongo.OpDelete, 1},
		// layer 1
		{3, mongo.OpUpdate, 3}, {2, mongo.OpUpsert, 4}, {1, mongo.OpDelete, 2},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("regroup:\n got  %v\n want %v", got, want)
	}
}
