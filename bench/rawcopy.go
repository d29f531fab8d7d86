package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
)

// RawCopyOptions tune the baseline copier.
type RawCopyOptions struct {
	// Workers is how many insertMany calls are in flight; as many
	// collections (at most) are read at once, one cursor each.
	Workers int
	// BatchDocs is the find batch size and the insertMany size.
	BatchDocs int
}

// rawBatch is one cursor batch on its way to an inserter.
type rawBatch struct {
	coll *mongo.Collection
	docs []bson.Raw
}

// RawCopy is the clone baseline: it copies every collection of every user
// database of src to dst with plain finds and unordered insertMany calls of
// raw documents, and nothing else (no catalog options, no indexes, no
// checkpoints, no retries). It returns the documents inserted.
func RawCopy(ctx context.Context, src, dst *mongo.Client, o RawCopyOptions) (int64, error) {
	o.Workers, o.BatchDocs = max(1, o.Workers), max(1, o.BatchDocs)
	type job struct{ db, coll string }
	var jobs []job
	dbs, err := src.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		return 0, fmt.Errorf("rawcopy: list databases: %w", err)
	}
	for _, db := range dbs {
		if db == "admin" || db == "config" || db == "local" {
			continue
		}
		names, err := src.Database(db).ListCollectionNames(ctx, bson.D{{Key: "type", Value: "collection"}})
		if err != nil {
			return 0, fmt.Errorf("rawcopy: list collections of %s: %w", db, err)
		}
		for _, n := range names {
			if !strings.HasPrefix(n, "system.") {
				jobs = append(jobs, job{db, n})
			}
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	queue := make(chan job)
	batches := make(chan rawBatch, o.Workers)
	g.Go(func() error {
		defer close(queue)
		for _, j := range jobs {
			select {
			case queue <- j:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	var readers sync.WaitGroup
	for range min(o.Workers, max(1, len(jobs))) {
		readers.Add(1)
		g.Go(func() error {
			defer readers.Done()
			for j := range queue {
				err := readCollection(gctx, src.Database(j.db).Collection(j.coll), o.BatchDocs, func(docs []bson.Raw) error {
					select {
					case batches <- rawBatch{coll: dst.Database(j.db).Collection(j.coll), docs: docs}:
						return nil
					case <-gctx.Done():
						return gctx.Err()
					}
				})
				if err != nil {
					return fmt.Errorf("rawcopy: read %s.%s: %w", j.db, j.coll, err)
				}
			}
			return nil
		})
	}
	g.Go(func() error { readers.Wait(); close(batches); return nil })
	var inserted atomic.Int64
	for range o.Workers {
		g.Go(func() error {
			for b := range batches {
				res, err := b.coll.InsertMany(gctx, b.docs, options.InsertMany().SetOrdered(false))
				if err != nil {
					return fmt.Errorf("rawcopy: insert into %s: %w", b.coll.Name(), err)
				}
				inserted.Add(int64(len(res.InsertedIDs)))
			}
			return nil
		})
	}
	err = g.Wait()
	return inserted.Load(), err
}

// readCollection scans coll and hands each batch of up to batchDocs raw
// documents, copied into one slab, to fn.
func readCollection(ctx context.Context, coll *mongo.Collection, batchDocs int, fn func([]bson.Raw) error) error {
	cur, err := coll.Find(ctx, bson.D{}, options.Find().SetBatchSize(int32(batchDocs)))
	if err != nil {
		return err
	}
	defer cur.Close(context.WithoutCancel(ctx))
	var slab []byte
	var ends []int
	flush := func() error {
		if len(ends) == 0 {
			return nil
		}
		docs := make([]bson.Raw, len(ends))
		start := 0
		for i, e := range ends {
			docs[i] = bson.Raw(slab[start:e:e])
			start = e
		}
		slab, ends = nil, nil
		return fn(docs)
	}
	for cur.Next(ctx) {
		if slab == nil {
			slab = make([]byte, 0, len(cur.Current)*(cur.RemainingBatchLength()+1))
		}
		slab = append(slab, cur.Current...)
		ends = append(ends, len(slab))
		if cur.RemainingBatchLength() == 0 || len(ends) >= batchDocs {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := cur.Err(); err != nil {
		return err
	}
	return flush()
}
