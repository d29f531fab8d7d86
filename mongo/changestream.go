package mongo

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// WatchOptions start a cluster-wide change stream.
type WatchOptions struct {
	StartAt     *bson.Timestamp // first run: the clone's T0 (inclusive)
	ResumeAfter bson.Raw        // later runs: the checkpointed token
	BatchSize   int32
	MaxAwait    time.Duration // how long an empty getMore waits on the server
}

// ChangeStream reads raw change events.
type ChangeStream struct {
	cs   *driver.ChangeStream
	role Role
}

// Watch opens a cluster-level change stream with showExpandedEvents, so DDL
// (create, createIndexes, dropIndexes, modify, rename …) arrives in order
// with the data changes. Events stay raw BSON.
func (c *Client) Watch(ctx context.Context, pipeline bson.A, wo WatchOptions) (*ChangeStream, error) {
	opts := options.ChangeStream().SetShowExpandedEvents(true)
	if wo.BatchSize > 0 {
		opts.SetBatchSize(wo.BatchSize)
	}
	if wo.MaxAwait > 0 {
		opts.SetMaxAwaitTime(wo.MaxAwait)
	}
	switch {
	case wo.ResumeAfter != nil:
		opts.SetResumeAfter(wo.ResumeAfter)
	case wo.StartAt != nil:
		opts.SetStartAtOperationTime(wo.StartAt)
	}
	if pipeline == nil {
		pipeline = bson.A{}
	}
	cs, err := c.c.Watch(ctx, pipeline, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: open change stream: %w", c.role, err)
	}
	return &ChangeStream{cs: cs, role: c.role}, nil
}

// Next waits up to the stream's MaxAwait for the next event. It returns
// (event, true, nil) for an event (a copy the caller owns), (nil, false,
// nil) when the server answered with an empty batch — the stream's resume
// token then marks how far the source has been read — or an error.
func (s *ChangeStream) Next(ctx context.Context) (bson.Raw, bool, error) {
	if s.cs.TryNext(ctx) {
		return cloneRaw(s.cs.Current), true, nil
	}
	if err := s.cs.Err(); err != nil {
		return nil, false, fmt.Errorf("%s: change stream: %w", s.role, err)
	}
	return nil, false, nil
}

// Buffered is how many events of the current batch are not yet returned.
func (s *ChangeStream) Buffered() int { return s.cs.RemainingBatchLength() }

// ResumeToken is the token to resume after everything returned so far (the
// postBatchResumeToken once a batch is exhausted).
func (s *ChangeStream) ResumeToken() bson.Raw { return cloneRaw(s.cs.ResumeToken()) }

// Close ends the stream.
func (s *ChangeStream) Close(ctx context.Context) error { return s.cs.Close(ctx) }

// TokenTime extracts the cluster time a resume token stands for. MongoDB's
// tokens ({_data: "<hex>"}) are KeyString-encoded and begin with the event's
// cluster time: type byte 130 then the Timestamp as a big-endian uint64.
// That lets mlink measure how far the source has moved from the
// postBatchResumeToken alone, without writing to the source.
func TokenTime(token bson.Raw) (bson.Timestamp, bool) {
	data, ok := token.Lookup("_data").StringValueOK()
	if !ok || len(data) < 18 {
		return bson.Timestamp{}, false
	}
	b, err := hex.DecodeString(data[:18])
	if err != nil || b[0] != 130 {
		return bson.Timestamp{}, false
	}
	v := uint64(b[1])<<56 | uint64(b[2])<<48 | uint64(b[3])<<40 | uint64(b[4])<<32 |
		uint64(b[5])<<24 | uint64(b[6])<<16 | uint64(b[7])<<8 | uint64(b[8])
	return bson.Timestamp{T: uint32(v >> 32), I: uint32(v)}, true
}

// IsHistoryLost reports that the source no longer holds the history a
// change stream needs (the oplog rolled over): ChangeStreamHistoryLost (286)
// or, on older servers, CappedPositionLost (136) / ChangeStreamFatalError (280).
func IsHistoryLost(err error) bool { return HasCode(err, 286, 136, 280) }

// OplogWindow reads the first and last entry times of the source's oplog.
// It needs read access to the local database; the error says so.
func (c *Client) OplogWindow(ctx context.Context) (first, last bson.Timestamp, err error) {
	coll := c.c.Database("local").Collection("oplog.rs")
	read := func(dir int) (bson.Timestamp, error) {
		res := coll.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "$natural", Value: dir}}).SetProjection(bson.D{{Key: "ts", Value: 1}}))
		raw, err := res.Raw()
		if err != nil {
			return bson.Timestamp{}, err
		}
		t, i, ok := raw.Lookup("ts").TimestampOK()
		if !ok {
			return bson.Timestamp{}, fmt.Errorf("oplog entry without ts")
		}
		return bson.Timestamp{T: t, I: i}, nil
	}
	if first, err = read(1); err != nil {
		return first, last, fmt.Errorf("%s: read oplog window (needs read access to local.oplog.rs): %w", c.role, err)
	}
	if last, err = read(-1); err != nil {
		return first, last, fmt.Errorf("%s: read oplog window (needs read access to local.oplog.rs): %w", c.role, err)
	}
	return first, last, nil
}
