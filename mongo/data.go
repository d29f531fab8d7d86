package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	xdriver "go.mongodb.org/mongo-driver/v2/x/mongo/driver"

	"github.com/mlink-dev/mlink"
)

// SampleIDs returns up to n distinct _id values of ns in the collection's
// _id index order (the server sorts them, so a collation on the collection
// is honoured). They serve as partition split points.
func (c *Client) SampleIDs(ctx context.Context, ns mlink.Namespace, n int) ([]bson.RawValue, error) {
	pipeline := bson.A{
		bson.D{{Key: "$sample", Value: bson.D{{Key: "size", Value: n}}}},
		bson.D{{Key: "$project", Value: bson.D{{Key: "_id", Value: 1}}}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	}
	cur, err := c.c.Database(ns.DB).Collection(ns.Coll).Aggregate(ctx, pipeline, options.Aggregate().SetAllowDiskUse(true))
	if err != nil {
		return nil, fmt.Errorf("%s: sample %s: %w", c.role, ns, err)
	}
	defer cur.Close(ctx)
	var out []bson.RawValue
	for cur.Next(ctx) {
		id, err := cur.Current.LookupErr("_id")
		if err != nil {
			continue
		}
		id = cloneValue(id)
		if len(out) > 0 && out[len(out)-1].Equal(id) {
			continue
		}
		out = append(out, id)
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("%s: sample %s: %w", c.role, ns, err)
	}
	return out, nil
}

// Range is a half-open span [Min, Max) of the _id index. A zero Min or Max
// (Type 0) leaves that side unbounded.
type Range struct {
	Min bson.RawValue
	Max bson.RawValue
}

// Batch is a run of raw documents read from one cursor batch, in order.
type Batch struct {
	Docs  []bson.Raw
	Bytes int
}

// ScanOptions tune a range scan.
type ScanOptions struct {
	BatchDocs  int // cursor batch size (documents)
	Natural    bool
	Projection bson.D // nil for whole documents
}

// maxBatchBytes is the most a server puts in one cursor batch (16 MiB of
// documents; a single larger document travels alone).
const maxBatchBytes = 16 << 20

// Scan reads ns over r in _id index order (or natural order) and calls fn
// for every cursor batch. The scan walks the _id index with min/max bounds,
// which covers every BSON type bracket in order — unlike $gte/$lt, which
// only match within one type. fn owns the batch's documents.
func (c *Client) Scan(ctx context.Context, ns mlink.Namespace, r Range, so ScanOptions, fn func(Batch) error) error {
	opts := options.Find()
	if so.Natural {
		opts.SetHint(bson.D{{Key: "$natural", Value: 1}})
	} else {
		opts.SetHint(bson.D{{Key: "_id", Value: 1}})
		if r.Min.Type != 0 {
			opts.SetMin(bson.D{{Key: "_id", Value: r.Min}})
		}
		if r.Max.Type != 0 {
			opts.SetMax(bson.D{{Key: "_id", Value: r.Max}})
		}
	}
	if so.BatchDocs > 0 {
		opts.SetBatchSize(int32(so.BatchDocs))
	}
	if so.Projection != nil {
		opts.SetProjection(so.Projection)
	}
	opts.SetNoCursorTimeout(true)
	cur, err := c.c.Database(ns.DB).Collection(ns.Coll).Find(ctx, bson.D{}, opts)
	if err != nil {
		return fmt.Errorf("%s: scan %s: %w", c.role, ns, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	// Copy each server batch into one slab: one allocation per batch, not
	// per document. cur.Current is only valid until the next Next call.
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
		b := Batch{Docs: docs, Bytes: len(slab)}
		slab, ends = nil, nil
		return fn(b)
	}
	for cur.Next(ctx) {
		if slab == nil {
			// Size the slab from the first document, but never beyond what
			// one server batch can hold: a large document followed by
			// small ones must not reserve batch-length times its size.
			slab = make([]byte, 0, min(len(cur.Current)*(cur.RemainingBatchLength()+1), maxBatchBytes))
		}
		slab = append(slab, cur.Current...)
		ends = append(ends, len(slab))
		if cur.RemainingBatchLength() == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("%s: scan %s: %w", c.role, ns, err)
	}
	return nil
}

// InsertResult counts a batch insert.
type InsertResult struct {
	Inserted   int
	Duplicates int // documents already present (duplicate _id): "already there"
	// Sent is how many documents went out in insert commands: all of them
	// once a command reached the network (its reply may be lost, its
	// writes may still be applied), none when it failed before (cancelled
	// while waiting for a server or a connection, client closed).
	Sent int
}

// Insert writes docs to ns. Unordered inserts go in parallel on the server;
// ordered ones keep natural order (capped collections). Duplicate _id
// errors mean the document was copied before (a resumed clone) and are
// counted, not failed. Document validation is bypassed: the source already
// accepted these documents under its own rules.
func (c *Client) Insert(ctx context.Context, ns mlink.Namespace, docs []bson.Raw, ordered bool) (InsertResult, error) {
	if len(docs) == 0 {
		return InsertResult{}, nil
	}
	opts := options.InsertMany().SetOrdered(ordered).SetBypassDocumentValidation(true)
	res, err := c.c.Database(ns.DB).Collection(ns.Coll).InsertMany(ctx, docs, opts)
	if err == nil {
		return InsertResult{Inserted: len(res.InsertedIDs), Sent: len(docs)}, nil
	}
	sent := 0
	if reachedNetwork(err) {
		sent = len(docs)
	}
	var bwe driver.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil && len(bwe.WriteErrors) > 0 {
		dups := 0
		for _, we := range bwe.WriteErrors {
			if we.Code != 11000 {
				return InsertResult{Sent: sent}, fmt.Errorf("%s: insert into %s: %w", c.role, ns, err)
			}
			dups++
		}
		if !ordered {
			return InsertResult{Inserted: len(docs) - dups, Duplicates: dups, Sent: sent}, nil
		}
		// Ordered: the server stopped at the duplicate; write the rest.
		idx := bwe.WriteErrors[0].Index
		rest, err := c.Insert(ctx, ns, docs[idx+1:], true)
		rest.Inserted += idx
		rest.Duplicates++
		rest.Sent += sent
		return rest, err
	}
	return InsertResult{Sent: sent}, fmt.Errorf("%s: insert into %s: %w", c.role, ns, err)
}

// reachedNetwork reports whether a failed operation got as far as the
// network: the server answered (a server error), or the driver labels the
// failure a network error (written, perhaps partly, or its reply lost).
// Anything else failed inside the driver before a byte was sent.
func reachedNetwork(err error) bool {
	var se driver.ServerError
	return errors.As(err, &se) || driver.IsNetworkError(err)
}

// IsPoolCleared reports an operation that never ran because its
// connection pool was cleared while it waited for a connection (another
// operation on the pool hit a network error): running it again is safe.
// The driver returns it unlabelled to operations it does not retry itself
// (commands such as create), so IsTransient misses it.
func IsPoolCleared(err error) bool {
	var pe xdriver.RetryablePoolError
	return errors.As(err, &pe) && pe.Retryable()
}

func cloneValue(v bson.RawValue) bson.RawValue {
	v.Value = append([]byte(nil), v.Value...)
	return v
}
