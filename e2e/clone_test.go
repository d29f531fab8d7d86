package e2e

import (
	"context"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink/clone"
)

// runClone copies everything of this test with the clone engine.
func (e *Env) runClone(t *testing.T, opts clone.Options) *clone.Cloner {
	t.Helper()
	src, dst := e.Clients()
	if opts.Filter == nil {
		opts.Filter = e.Filter()
	}
	cl := clone.New(src, dst, opts)
	if err := cl.Run(context.Background()); err != nil {
		t.Fatalf("clone: %v", err)
	}
	return cl
}

func mustExec(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCloneManyDatabasesAndOptions(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	for d := 0; d < 4; d++ {
		db := e.Src.Database(e.DB(fmt.Sprintf("db%d", d)))
		for c := 0; c < 3; c++ {
			coll := db.Collection(fmt.Sprintf("c%d", c))
			var docs []any
			for i := 0; i < 250; i++ {
				docs = append(docs, bson.D{{Key: "_id", Value: i}, {Key: "d", Value: d}, {Key: "c", Value: c}, {Key: "s", Value: fmt.Sprintf("v%05d", i)}})
			}
			_, err := coll.InsertMany(ctx, docs)
			mustExec(t, err)
		}
	}
	db := e.Src.Database(e.DB("opts"))
	mustExec(t, db.CreateCollection(ctx, "capped", options.CreateCollection().SetCapped(true).SetSizeInBytes(1<<20).SetMaxDocuments(100)))
	mustExec(t, db.CreateCollection(ctx, "validated", options.CreateCollection().
		SetValidator(bson.D{{Key: "n", Value: bson.D{{Key: "$gte", Value: 0}}}}).SetValidationLevel("moderate").SetValidationAction("warn")))
	mustExec(t, db.CreateCollection(ctx, "collated", options.CreateCollection().SetCollation(&options.Collation{Locale: "fr", Strength: 2})))
	mustExec(t, db.CreateCollection(ctx, "images", options.CreateCollection().SetChangeStreamPreAndPostImages(bson.D{{Key: "enabled", Value: true}})))
	mustExec(t, db.CreateCollection(ctx, "clustered", options.CreateCollection().
		SetClusteredIndex(bson.D{{Key: "key", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "unique", Value: true}})))
	mustExec(t, db.CreateCollection(ctx, "empty"))
	mustExec(t, db.CreateView(ctx, "view", "validated", bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "n", Value: bson.D{{Key: "$gt", Value: 1}}}}}}}))
	for i := 0; i < 150; i++ { // capped keeps the last 100, in natural order
		_, err := db.Collection("capped").InsertOne(ctx, bson.D{{Key: "_id", Value: 1000 - i}, {Key: "i", Value: i}})
		mustExec(t, err)
	}
	for _, name := range []string{"validated", "collated", "images", "clustered"} {
		_, err := db.Collection(name).InsertMany(ctx, []any{bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: 1}}, bson.D{{Key: "_id", Value: "B"}, {Key: "n", Value: 2}}})
		mustExec(t, err)
	}
	_, err := db.Collection("validated").Indexes().CreateMany(ctx, []mongoIndex{
		{Keys: bson.D{{Key: "n", Value: 1}}, Options: options.Index().SetUnique(true).SetName("n_unique")},
		{Keys: bson.D{{Key: "s", Value: "text"}}, Options: options.Index().SetDefaultLanguage("french")},
		{Keys: bson.D{{Key: "t", Value: 1}}, Options: options.Index().SetExpireAfterSeconds(3600)},
		{Keys: bson.D{{Key: "p", Value: 1}}, Options: options.Index().SetPartialFilterExpression(bson.D{{Key: "n", Value: bson.D{{Key: "$gt", Value: 1}}}})},
		{Keys: bson.D{{Key: "h", Value: "hashed"}}},
		{Keys: bson.D{{Key: "loc", Value: "2dsphere"}}},
		{Keys: bson.D{{Key: "w.$**", Value: 1}}},
		{Keys: bson.D{{Key: "x", Value: 1}, {Key: "y", Value: -1}}, Options: options.Index().SetSparse(true).SetHidden(true)},
	})
	mustExec(t, err)

	e.runClone(t, clone.Options{})
	// The clone relaxes unique and TTL until finalize; restore them the way
	// finalize does before comparing.
	restoreForCompare(t, e)
	e.AssertSameData(t)
}
