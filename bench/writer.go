package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// WriterOptions configure the replication benchmark's writer.
type WriterOptions struct {
	Dataset Dataset // the collections written to; inserts continue its _ids
	// Rate is the target total operations per second (0: as fast as the
	// server takes them). It can be changed while running with SetRate.
	Rate    float64
	Clients int // concurrent bulk writers (default 4)
	// MaxBulk caps the operations of one bulkWrite (default 100). Each
	// operation is its own oplog entry and change event; batching only
	// saves round trips so 2 cores can drive tens of thousands of ops/s.
	MaxBulk int
	Ops     int64 // stop after this many operations (0: run until Stop)
	Seed    uint64
	// NextIDs are the first _ids to insert per collection (default: the
	// dataset's sizes; after an earlier writer, see NextIDs).
	NextIDs []int64
}

// Writer drives inserts, updates and deletes against a Dataset's
// collections: 25% inserts of new documents, 55% updates ($set and $inc,
// one in ten an $unset) and 20% deletes of random existing _ids.
type Writer struct {
	o      WriterOptions
	c      *mongo.Client
	pace   *pacer
	nextID []atomic.Int64 // per collection: the next _id to insert
	ops    atomic.Int64
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errMu  sync.Mutex
	err    error
	done   chan struct{}
}

// StartWriter starts writing on c; Stop (or Wait, with Ops set) ends it.
func StartWriter(ctx context.Context, c *mongo.Client, o WriterOptions) *Writer {
	if o.Clients <= 0 {
		o.Clients = 4
	}
	if o.MaxBulk <= 0 {
		o.MaxBulk = 100
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Writer{o: o, c: c, pace: newPacer(o.Rate, o.MaxBulk), nextID: make([]atomic.Int64, o.Dataset.Colls),
		cancel: cancel, done: make(chan struct{})}
	for k := range w.nextID {
		if k < len(o.NextIDs) {
			w.nextID[k].Store(o.NextIDs[k])
		} else {
			w.nextID[k].Store(o.Dataset.PerColl(k))
		}
	}
	var budget atomic.Int64
	budget.Store(o.Ops)
	for i := range o.Clients {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			r := rand.New(rand.NewPCG(o.Seed, uint64(i)+1))
			for ctx.Err() == nil {
				n, wait := w.pace.take(time.Now())
				if n == 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(wait):
					}
					continue
				}
				if o.Ops > 0 {
					left := budget.Add(-int64(n))
					if left < 0 {
						n += int(left)
					}
					if n <= 0 {
						return
					}
				}
				if err := w.bulk(ctx, r, n); err != nil {
					if ctx.Err() == nil {
						w.fail(err)
						cancel()
					}
					return
				}
				w.ops.Add(int64(n))
			}
		}()
	}
	go func() { w.wg.Wait(); close(w.done) }()
	return w
}

// bulk writes n operations to one random collection in one unordered
// bulkWrite.
func (w *Writer) bulk(ctx context.Context, r *rand.Rand, n int) error {
	k := r.IntN(w.o.Dataset.Colls)
	models := make([]mongo.WriteModel, 0, n)
	for range n {
		top := w.nextID[k].Load()
		pick := func() int64 { return r.Int64N(max(1, top)) }
		switch p := r.IntN(100); {
		case p < 25:
			id := w.nextID[k].Add(1) - 1
			models = append(models, mongo.NewInsertOneModel().SetDocument(w.o.Dataset.Doc(k, id)))
		case p < 80 && r.IntN(10) == 0:
			models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: pick()}}).
				SetUpdate(bson.D{{Key: "$unset", Value: bson.D{{Key: "email", Value: ""}}}}))
		case p < 80:
			models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: pick()}}).
				SetUpdate(bson.D{
					{Key: "$set", Value: bson.D{{Key: "score", Value: r.Float64() * 1000}, {Key: "address.city", Value: cities[r.IntN(len(cities))]}}},
					{Key: "$inc", Value: bson.D{{Key: "visits", Value: 1}}},
				}))
		default:
			models = append(models, mongo.NewDeleteOneModel().SetFilter(bson.D{{Key: "_id", Value: pick()}}))
		}
	}
	coll := w.c.Database(w.o.Dataset.DB).Collection(CollName(k))
	if _, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
		return fmt.Errorf("writer: bulk write to %s: %w", CollName(k), err)
	}
	return nil
}

// NextIDs reads, per collection of d, one more than the highest _id (the
// first _id a new writer may insert).
func NextIDs(ctx context.Context, c *mongo.Client, d Dataset) ([]int64, error) {
	ids := make([]int64, d.Colls)
	for k := range ids {
		raw, err := c.Database(d.DB).Collection(CollName(k)).FindOne(ctx, bson.D{},
			options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}}).SetProjection(bson.D{{Key: "_id", Value: 1}})).Raw()
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("highest _id of %s: %w", CollName(k), err)
		}
		id, ok := raw.Lookup("_id").AsInt64OK()
		if !ok {
			return nil, fmt.Errorf("highest _id of %s is not a number: %s", CollName(k), raw)
		}
		ids[k] = id + 1
	}
	return ids, nil
}

func (w *Writer) fail(err error) {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// SetRate changes the target rate (0: unlimited).
func (w *Writer) SetRate(rate float64) { w.pace.setRate(rate, time.Now()) }

// Ops is how many operations were acknowledged so far.
func (w *Writer) Ops() int64 { return w.ops.Load() }

// Wait waits until the writer ends by itself (Ops reached, or an error).
func (w *Writer) Wait(ctx context.Context) error {
	select {
	case <-w.done:
	case <-ctx.Done():
		w.cancel()
		<-w.done
	}
	return w.firstErr()
}

// Stop ends the writer and returns the first error it met.
func (w *Writer) Stop() error {
	w.cancel()
	<-w.done
	return w.firstErr()
}

func (w *Writer) firstErr() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

// pacer hands out operations at a rate: a token bucket holding at most
// 20 ms of operations (never less than one bulk).
type pacer struct {
	mu      sync.Mutex
	rate    float64
	maxBulk int
	tokens  float64
	last    time.Time
}

func newPacer(rate float64, maxBulk int) *pacer {
	return &pacer{rate: rate, maxBulk: maxBulk, last: time.Now()}
}

func (p *pacer) setRate(rate float64, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refill(now)
	p.rate = rate
	p.tokens = min(p.tokens, p.burst())
}

func (p *pacer) burst() float64 { return max(float64(p.maxBulk), p.rate*0.02) }

func (p *pacer) refill(now time.Time) {
	if d := now.Sub(p.last); d > 0 {
		p.tokens = min(p.burst(), p.tokens+p.rate*d.Seconds())
	}
	p.last = now
}

// take returns how many operations may be issued now (at most a bulk), or
// 0 and how long to wait for the next one.
func (p *pacer) take(now time.Time) (int, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rate <= 0 {
		return p.maxBulk, 0
	}
	p.refill(now)
	n := min(int(math.Floor(p.tokens)), p.maxBulk)
	if n < 1 {
		need := 1 - p.tokens
		return 0, max(time.Duration(need/p.rate*float64(time.Second)), 200*time.Microsecond)
	}
	p.tokens -= float64(n)
	return n, 0
}
