package clone

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

// A resumed partition holds at most targetIDChunk target _ids, and about
// targetIDChunkBytes of them, in memory at once (variables for tests).
var (
	targetIDChunk      = 50_000
	targetIDChunkBytes = 4 << 20
)

var errChunkFull = errors.New("target id chunk full")

// targetIDs is the set of _ids a resumed partition already has on the
// target beyond its checkpoint: batches acknowledged after the last
// checkpoint save, out of order, or in flight when the previous run
// stopped. The reader skips those documents instead of sending them again,
// so an interrupted clone costs little more than the documents that never
// reached the target.
//
// The set is read from the target's _id index in chunks of targetIDChunk
// ids; the next chunk is read when the source scan reaches the last _id of
// the current one. Keys are the raw type and value bytes: the target holds
// the source's exact bytes, so equal documents have equal keys.
type targetIDs struct {
	dst  *mongo.Client
	ns   mlink.Namespace
	max  bson.RawValue
	ids  map[string]struct{}
	last bson.RawValue // last _id of the loaded chunk
	more bool          // the chunk was cut short: ids may follow last
}

// loadTargetIDs reads the first chunk of target _ids in r.
func loadTargetIDs(ctx context.Context, dst *mongo.Client, ns mlink.Namespace, r mongo.Range) (*targetIDs, error) {
	t := &targetIDs{dst: dst, ns: ns, max: r.Max}
	if err := t.load(ctx, r.Min, bson.RawValue{}); err != nil {
		return nil, err
	}
	return t, nil
}

// load reads up to targetIDChunk _ids from min (inclusive), leaving out
// exclude (the previous chunk's last id, already known).
func (t *targetIDs) load(ctx context.Context, min, exclude bson.RawValue) error {
	ids := make(map[string]struct{})
	var last bson.RawValue
	more := false
	so := mongo.ScanOptions{BatchDocs: 10_000, Projection: bson.D{{Key: "_id", Value: 1}}}
	err := retryTransient(ctx, func(ctx context.Context) error {
		clear(ids)
		last, more = bson.RawValue{}, false
		size := 0
		err := t.dst.Scan(ctx, t.ns, mongo.Range{Min: min, Max: t.max}, so, func(b mongo.Batch) error {
			for _, d := range b.Docs {
				id := d.Lookup("_id")
				if exclude.Type != 0 && id.Equal(exclude) {
					continue
				}
				if len(ids) == targetIDChunk || size >= targetIDChunkBytes {
					more = true
					return errChunkFull
				}
				key := idKey(id)
				ids[key] = struct{}{}
				size += len(key)
				last = id
			}
			return nil
		})
		if errors.Is(err, errChunkFull) {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	t.ids, t.more = ids, more
	t.last = bson.RawValue{Type: last.Type, Value: append([]byte(nil), last.Value...)}
	return nil
}

// has reports whether the target already holds id. Ids must be asked in the
// source scan's (_id index) order.
func (t *targetIDs) has(ctx context.Context, id bson.RawValue) (bool, error) {
	if len(t.ids) == 0 && !t.more {
		return false, nil
	}
	_, ok := t.ids[idKey(id)]
	if t.more && id.Equal(t.last) {
		if err := t.load(ctx, t.last, t.last); err != nil {
			return false, err
		}
	}
	return ok, nil
}

func idKey(id bson.RawValue) string {
	return string(append([]byte{byte(id.Type)}, id.Value...))
}
