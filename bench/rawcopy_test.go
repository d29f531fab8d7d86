package bench

import (
	"context"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink/mongosim/simtest"
)

func TestRawCopyCopiesEveryUserCollectionByteForByte(t *testing.T) {
	ctx := context.Background()
	for _, workers := range []int{1, 3, 12} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			src, dst := simtest.StartPair(t)
			sc, dc := simtest.Client(t, src.URI()), simtest.Client(t, dst.URI())
			d := Dataset{DB: "app", Colls: 5, Docs: 3001, DocBytes: 700}
			if _, err := d.Load(ctx, sc, 2, 250); err != nil {
				t.Fatal(err)
			}
			// A second database with values whose bytes must survive as is.
			odd := bson.D{{Key: "_id", Value: bson.MinKey{}}, {Key: "d", Value: bson.NewDecimal128(1, 2)},
				{Key: "u", Value: bson.Undefined{}}, {Key: "$weird.key", Value: -0.0}, {Key: "ts", Value: bson.Timestamp{T: 1, I: 2}}}
			if _, err := sc.Database("other").Collection("odd").InsertOne(ctx, odd); err != nil {
				t.Fatal(err)
			}
			n, err := RawCopy(ctx, sc, dc, RawCopyOptions{Workers: workers, BatchDocs: 128})
			if err != nil {
				t.Fatal(err)
			}
			if n != 3002 {
				t.Fatalf("RawCopy inserted %d documents, want 3002", n)
			}
			for _, db := range []string{"app", "other"} {
				want, err := TakeFingerprint(ctx, sc, db)
				if err != nil {
					t.Fatal(err)
				}
				got, err := TakeFingerprint(ctx, dc, db)
				if err != nil {
					t.Fatal(err)
				}
				if diff := want.Diff(got); diff != "" {
					t.Fatalf("%s differs after the copy: %s", db, diff)
				}
			}
		})
	}
}

func TestRawCopyFailsOnAnExistingDocument(t *testing.T) {
	ctx := context.Background()
	src, dst := simtest.StartPair(t)
	sc, dc := simtest.Client(t, src.URI()), simtest.Client(t, dst.URI())
	d := Dataset{DB: "app", Colls: 1, Docs: 10, DocBytes: 600}
	if _, err := d.Load(ctx, sc, 1, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.Database("app").Collection("c0").InsertOne(ctx, bson.D{{Key: "_id", Value: int64(3)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := RawCopy(ctx, sc, dc, RawCopyOptions{Workers: 2, BatchDocs: 4}); err == nil {
		t.Fatal("RawCopy onto a target holding one of the documents succeeded; the benchmark must start from an empty target")
	}
}
