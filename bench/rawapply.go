package bench

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
)

// ApplyOptions are the knobs the raw applier shares with mlink's
// replicator; the benchmark sets both to the same values.
type ApplyOptions struct {
	Workers       int
	BatchDocs     int
	BatchBytes    int
	FlushInterval time.Duration
}

// rawOp is one change event turned into a write.
type rawOp struct {
	db, coll string
	model    mongo.WriteModel
	size     int
}

// RawApply is the replication baseline: it reads the source's cluster
// change stream from startAt (inclusive), routes each event by hash of
// namespace and documentKey to one of Workers workers, and each worker
// writes ordered bulks per namespace (upsert replacements for inserts and
// replaces, $set/$unset updates, deletes) of at most BatchDocs/BatchBytes,
// waiting at most FlushInterval to fill one. It stops once it has applied
// everything up to until and returns the number of events applied. It
// handles document events only: no DDL, no transactions as units, no
// checkpoints, no retries.
func RawApply(ctx context.Context, src, dst *mongo.Client, startAt, until bson.Timestamp, o ApplyOptions) (int64, error) {
	o.Workers, o.BatchDocs, o.BatchBytes = max(1, o.Workers), max(1, o.BatchDocs), max(1, o.BatchBytes)
	if o.FlushInterval <= 0 {
		o.FlushInterval = 5 * time.Millisecond
	}
	opts := options.ChangeStream().SetStartAtOperationTime(&startAt).SetBatchSize(int32(o.BatchDocs)).
		SetMaxAwaitTime(500 * time.Millisecond)
	cs, err := src.Watch(ctx, mongo.Pipeline{}, opts)
	if err != nil {
		return 0, fmt.Errorf("rawapply: open change stream: %w", err)
	}
	defer cs.Close(context.WithoutCancel(ctx))

	g, gctx := errgroup.WithContext(ctx)
	queues := make([]chan rawOp, o.Workers)
	for i := range queues {
		queues[i] = make(chan rawOp, 4*o.BatchDocs)
	}
	var applied atomic.Int64
	g.Go(func() error {
		defer func() {
			for _, q := range queues {
				close(q)
			}
		}()
		seed := maphash.MakeSeed()
		for {
			if cs.TryNext(gctx) {
				ev := cs.Current
				op, t, err := translateEvent(ev)
				if err != nil {
					return err
				}
				if op != nil {
					var h maphash.Hash
					h.SetSeed(seed)
					h.WriteString(op.db)
					h.WriteByte(0)
					h.WriteString(op.coll)
					h.WriteByte(0)
					h.Write(ev.Lookup("documentKey").Value)
					select {
					case queues[h.Sum64()%uint64(o.Workers)] <- *op:
					case <-gctx.Done():
						return gctx.Err()
					}
				}
				if !t.Before(until) {
					return nil
				}
				continue
			}
			if err := cs.Err(); err != nil {
				return fmt.Errorf("rawapply: change stream: %w", err)
			}
			// An empty batch: the postBatchResumeToken says how far the
			// source has been read.
			if t, ok := tokenTime(cs.ResumeToken()); ok && !t.Before(until) {
				return nil
			}
		}
	})
	for _, q := range queues {
		g.Go(func() error {
			n, err := rawWorker(gctx, dst, q, o)
			applied.Add(n)
			return err
		})
	}
	err = g.Wait()
	return applied.Load(), err
}

// rawWorker applies the events routed to it, in order.
func rawWorker(ctx context.Context, dst *mongo.Client, q <-chan rawOp, o ApplyOptions) (int64, error) {
	var applied int64
	batch := make([]rawOp, 0, o.BatchDocs)
	for {
		first, ok := <-q
		if !ok {
			return applied, nil
		}
		batch = append(batch[:0], first)
		size := first.size
		timer := time.NewTimer(o.FlushInterval)
	fill:
		for len(batch) < o.BatchDocs && size < o.BatchBytes {
			select {
			case op, ok := <-q:
				if !ok {
					break fill
				}
				batch = append(batch, op)
				size += op.size
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		// One ordered bulk per namespace, namespaces in order of appearance.
		type nsKey struct{ db, coll string }
		var order []nsKey
		groups := map[nsKey][]mongo.WriteModel{}
		for _, op := range batch {
			k := nsKey{op.db, op.coll}
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], op.model)
		}
		for _, k := range order {
			opts := options.BulkWrite().SetOrdered(true).SetBypassDocumentValidation(true)
			if _, err := dst.Database(k.db).Collection(k.coll).BulkWrite(ctx, groups[k], opts); err != nil {
				return applied, fmt.Errorf("rawapply: bulk write to %s.%s: %w", k.db, k.coll, err)
			}
			applied += int64(len(groups[k]))
		}
	}
}

var errUnsupportedEvent = errors.New("rawapply handles insert, update, replace and delete events only")

// translateEvent turns a change event into a write (nil for events that
// need none) and returns its cluster time.
func translateEvent(ev bson.Raw) (*rawOp, bson.Timestamp, error) {
	tt, ti, _ := ev.Lookup("clusterTime").TimestampOK()
	t := bson.Timestamp{T: tt, I: ti}
	opType, _ := ev.Lookup("operationType").StringValueOK()
	db, _ := ev.Lookup("ns", "db").StringValueOK()
	coll, _ := ev.Lookup("ns", "coll").StringValueOK()
	key, ok := ev.Lookup("documentKey").DocumentOK()
	op := &rawOp{db: db, coll: coll, size: len(ev)}
	if !ok && opType != "" {
		switch opType {
		case "insert", "update", "replace", "delete":
			return nil, t, fmt.Errorf("rawapply: %s event without documentKey", opType)
		}
	}
	switch opType {
	case "insert", "replace":
		full, ok := ev.Lookup("fullDocument").DocumentOK()
		if !ok {
			return nil, t, fmt.Errorf("rawapply: %s event without fullDocument", opType)
		}
		op.model = mongo.NewReplaceOneModel().SetFilter(clone(key)).SetReplacement(clone(full)).SetUpsert(true)
	case "update":
		ud, _ := ev.Lookup("updateDescription").DocumentOK()
		if arr, ok := ud.Lookup("truncatedArrays").ArrayOK(); ok {
			if vals, _ := arr.Values(); len(vals) > 0 {
				return nil, t, fmt.Errorf("rawapply: truncatedArrays: %w", errUnsupportedEvent)
			}
		}
		var update bson.D
		if set, ok := ud.Lookup("updatedFields").DocumentOK(); ok {
			if elems, _ := set.Elements(); len(elems) > 0 {
				update = append(update, bson.E{Key: "$set", Value: clone(set)})
			}
		}
		if arr, ok := ud.Lookup("removedFields").ArrayOK(); ok {
			vals, _ := arr.Values()
			var unset bson.D
			for _, v := range vals {
				if s, ok := v.StringValueOK(); ok {
					unset = append(unset, bson.E{Key: s, Value: ""})
				}
			}
			if len(unset) > 0 {
				update = append(update, bson.E{Key: "$unset", Value: unset})
			}
		}
		if len(update) == 0 {
			return nil, t, nil
		}
		op.model = mongo.NewUpdateOneModel().SetFilter(clone(key)).SetUpdate(update)
	case "delete":
		op.model = mongo.NewDeleteOneModel().SetFilter(clone(key))
	default:
		return nil, t, fmt.Errorf("rawapply: %q event: %w", opType, errUnsupportedEvent)
	}
	return op, t, nil
}

// clone copies raw bytes out of the cursor's buffer, which the next batch
// reuses.
func clone(r bson.Raw) bson.Raw { return append(bson.Raw(nil), r...) }

// tokenTime reads the cluster time at the start of a MongoDB resume token
// ({_data: hex KeyString}): type byte 130 (Timestamp) then T and I as a
// big-endian uint64.
func tokenTime(token bson.Raw) (bson.Timestamp, bool) {
	data, ok := token.Lookup("_data").StringValueOK()
	if !ok || len(data) < 18 {
		return bson.Timestamp{}, false
	}
	b, err := hex.DecodeString(data[:18])
	if err != nil || b[0] != 130 {
		return bson.Timestamp{}, false
	}
	return bson.Timestamp{T: uint32(b[1])<<24 | uint32(b[2])<<16 | uint32(b[3])<<8 | uint32(b[4]),
		I: uint32(b[5])<<24 | uint32(b[6])<<16 | uint32(b[7])<<8 | uint32(b[8])}, true
}
