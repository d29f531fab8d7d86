package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Writer runs a continuous mix of writes against collections of one
// database until stopped: inserts, $set/$inc/$push/$pull/$unset updates,
// replacements, deletes, upserts and, optionally, transactions and DDL.
type Writer struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ops    atomic.Int64
	errMu  sync.Mutex
	err    error
}

// WriterOptions configure a Writer.
type WriterOptions struct {
	DB          string
	Collections []string // default: "live"
	Clients     int      // concurrent writers (default 2)
	Rate        int      // total ops per second (0 = as fast as possible)
	Keys        int      // documents per collection the writes touch (default 1000)
	DDLEvery    int      // run a DDL step every N ops per client (0 = never)
	Txns        bool     // some ops run as multi-document transactions
	Seed        uint64
}

// StartWriter starts writing; Stop ends it.
func StartWriter(ctx context.Context, c *mongo.Client, o WriterOptions) *Writer {
	if len(o.Collections) == 0 {
		o.Collections = []string{"live"}
	}
	if o.Clients <= 0 {
		o.Clients = 2
	}
	if o.Keys <= 0 {
		o.Keys = 1000
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Writer{cancel: cancel}
	var tick <-chan time.Time
	if o.Rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(o.Rate))
		tick = t.C
		w.wg.Add(1)
		go func() { defer w.wg.Done(); <-ctx.Done(); t.Stop() }()
	}
	for i := 0; i < o.Clients; i++ {
		w.wg.Add(1)
		go func(id int) {
			defer w.wg.Done()
			r := rand.New(rand.NewPCG(o.Seed, uint64(id)))
			db := c.Database(o.DB)
			for n := 1; ; n++ {
				if tick != nil {
					select {
					case <-ctx.Done():
						return
					case <-tick:
					}
				} else if ctx.Err() != nil {
					return
				}
				coll := db.Collection(o.Collections[r.IntN(len(o.Collections))])
				var err error
				switch {
				case o.DDLEvery > 0 && n%o.DDLEvery == 0:
					err = ddlStep(ctx, db, r, id, n)
				case o.Txns && r.IntN(20) == 0:
					err = txnStep(ctx, c, coll, r, o.Keys)
				default:
					err = crudStep(ctx, coll, r, o.Keys)
				}
				if err != nil && ctx.Err() == nil {
					if transient(err) {
						continue // connections cut under us (fault tests): carry on
					}
					w.fail(err)
					return
				}
				w.ops.Add(1)
			}
		}(i)
	}
	return w
}

func (w *Writer) fail(err error) {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// Ops is how many operations completed so far.
func (w *Writer) Ops() int64 { return w.ops.Load() }

// Stop ends the workload and returns the first error it met.
func (w *Writer) Stop() error {
	w.cancel()
	w.wg.Wait()
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

// Err returns the first error so far without stopping.
func (w *Writer) Err() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

// transient reports errors a client sees when its connections are cut or
// the primary steps down; the workload goes on after them.
func transient(err error) bool {
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) {
		return true
	}
	var le mongo.LabeledError
	return errors.As(err, &le) && (le.HasErrorLabel("RetryableWriteError") || le.HasErrorLabel("TransientTransactionError"))
}

func crudStep(ctx context.Context, coll *mongo.Collection, r *rand.Rand, keys int) error {
	id := r.IntN(keys)
	f := bson.D{{Key: "_id", Value: id}}
	var err error
	switch r.IntN(10) {
	case 0, 1:
		_, err = coll.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "n", Value: 0}, {Key: "tags", Value: bson.A{"a", "b"}},
			{Key: "sub", Value: bson.D{{Key: "x", Value: r.IntN(100)}, {Key: "y", Value: "s"}}}})
		if mongo.IsDuplicateKeyError(err) {
			err = nil
		}
	case 2:
		_, err = coll.UpdateOne(ctx, f, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}, {Key: "$set", Value: bson.D{{Key: "sub.x", Value: r.IntN(100)}}}})
	case 3:
		_, err = coll.UpdateOne(ctx, f, bson.D{{Key: "$push", Value: bson.D{{Key: "tags", Value: fmt.Sprint("t", r.IntN(9))}}}})
	case 4:
		_, err = coll.UpdateOne(ctx, f, bson.D{{Key: "$pop", Value: bson.D{{Key: "tags", Value: 1}}}})
	case 5:
		_, err = coll.UpdateOne(ctx, f, bson.D{{Key: "$unset", Value: bson.D{{Key: "sub.y", Value: ""}}}, {Key: "$set", Value: bson.D{{Key: "flag", Value: r.IntN(2) == 0}}}})
	case 6:
		_, err = coll.ReplaceOne(ctx, f, bson.D{{Key: "n", Value: r.IntN(1000)}, {Key: "replaced", Value: true}})
	case 7:
		_, err = coll.DeleteOne(ctx, f)
	case 8:
		_, err = coll.UpdateOne(ctx, f, bson.D{{Key: "$set", Value: bson.D{{Key: "up", Value: r.IntN(9)}}}}, options.UpdateOne().SetUpsert(true))
	case 9:
		_, err = coll.UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: id}, {Key: "$lt", Value: id + 3}}}},
			bson.A{bson.D{{Key: "$set", Value: bson.D{{Key: "m", Value: bson.D{{Key: "$add", Value: bson.A{bson.D{{Key: "$ifNull", Value: bson.A{"$m", 0}}}, 1}}}}}}}})
	}
	return err
}

func txnStep(ctx context.Context, c *mongo.Client, coll *mongo.Collection, r *rand.Rand, keys int) error {
	sess, err := c.StartSession()
	if err != nil {
		return err
	}
	defer sess.EndSession(ctx)
	a, b := r.IntN(keys), r.IntN(keys)
	_, err = sess.WithTransaction(ctx, func(ctx context.Context) (any, error) {
		if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: a}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "bal", Value: -1}}}}, options.UpdateOne().SetUpsert(true)); err != nil {
			return nil, err
		}
		_, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: b}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "bal", Value: 1}}}}, options.UpdateOne().SetUpsert(true))
		return nil, err
	})
	return err
}

// ddlStep creates or drops an index, or creates and drops a scratch collection.
func ddlStep(ctx context.Context, db *mongo.Database, r *rand.Rand, client, n int) error {
	coll := db.Collection("live")
	switch r.IntN(3) {
	case 0:
		_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "n", Value: 1}}})
		return err
	case 1:
		err := coll.Indexes().DropOne(ctx, "n_1")
		var ce mongo.CommandError
		if errors.As(err, &ce) && (ce.Code == 27 || ce.Code == 26) {
			return nil
		}
		return err
	default:
		name := fmt.Sprintf("scratch_%d_%d", client, n)
		if err := db.CreateCollection(ctx, name); err != nil {
			return err
		}
		if _, err := db.Collection(name).InsertOne(ctx, bson.D{{Key: "x", Value: 1}}); err != nil {
			return err
		}
		if r.IntN(2) == 0 {
			return db.Collection(name).Drop(ctx)
		}
		return nil
	}
}
