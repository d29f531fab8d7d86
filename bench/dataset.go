// Package bench measures mlink against minimal raw baselines on the same
// servers in the same run: a clone benchmark (mlink's clone engine against a
// parallel find → insertMany copier) and a replication benchmark (mlink's
// replicator against a change-stream → bulkWrite applier). The programs under
// bench/cmd run each side in its own process so wall time and peak RSS
// belong to one copier alone; this package holds what they share.
package bench

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Dataset describes generated benchmark data: Docs documents of about
// DocBytes each, spread evenly over Colls collections named c0, c1, … of
// database DB. Document i of a collection has _id int64(i); its content is
// a pure function of (collection, i), so the same dataset can be loaded on
// two servers and compared.
type Dataset struct {
	DB       string
	Colls    int
	Docs     int64
	DocBytes int
}

// CollName is the name of collection k.
func CollName(k int) string { return fmt.Sprintf("c%d", k) }

// PerColl is how many documents collection k holds.
func (d Dataset) PerColl(k int) int64 {
	n := d.Docs / int64(d.Colls)
	if int64(k) < d.Docs%int64(d.Colls) {
		n++
	}
	return n
}

var (
	cities = []string{"Lyon", "Oslo", "Lima", "Pune", "Kyoto", "Accra", "Quito", "Perth"}
	tags   = []string{"retail", "gold", "silver", "bronze", "b2b", "vip", "new", "churned", "eu", "apac"}
)

// filler is deterministic text-like bytes the notes field is cut from
// (a random window per document: cheap to generate, never the same twice).
var filler = func() []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyz      ABCDEFGHIJ.,0123456789"
	r := rand.New(rand.NewPCG(7, 7))
	b := make([]byte, 256<<10)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return b
}()

// AppendDoc appends document i of collection coll: an int64 _id and a mix
// of strings, numbers, a date, a decimal, a nested document and arrays,
// padded with a text field to about size bytes (±12%). The fixed fields
// take about 450 bytes: smaller sizes get an empty pad.
func AppendDoc(dst []byte, coll int, i int64, size int) []byte {
	r := rand.New(rand.NewPCG(uint64(coll)+1, uint64(i)))
	idx, dst := bsoncore.AppendDocumentStart(dst)
	dst = bsoncore.AppendInt64Element(dst, "_id", i)
	dst = bsoncore.AppendStringElement(dst, "name", fmt.Sprintf("customer %d/%d", coll, i))
	dst = bsoncore.AppendStringElement(dst, "email", fmt.Sprintf("user%d.%d@example.com", coll, i))
	dst = bsoncore.AppendDateTimeElement(dst, "createdAt", 1_600_000_000_000+i*61_000)
	dst = bsoncore.AppendDoubleElement(dst, "score", r.Float64()*1000)
	dst = bsoncore.AppendInt32Element(dst, "visits", int32(r.IntN(10000)))
	dst = bsoncore.AppendBooleanElement(dst, "active", r.IntN(4) != 0)
	// High word 0x3040… is exponent 0: the value is the low word.
	dst = bsoncore.AppendDecimal128Element(dst, "balance", 0x3040000000000000, uint64(r.IntN(1_000_000)))

	var aidx int32
	aidx, dst = bsoncore.AppendArrayElementStart(dst, "tags")
	for k := range 3 {
		dst = bsoncore.AppendStringElement(dst, fmt.Sprint(k), tags[r.IntN(len(tags))])
	}
	dst, _ = bsoncore.AppendArrayEnd(dst, aidx)

	var didx int32
	didx, dst = bsoncore.AppendDocumentElementStart(dst, "address")
	dst = bsoncore.AppendStringElement(dst, "street", fmt.Sprintf("%d Main Street", r.IntN(999)+1))
	dst = bsoncore.AppendStringElement(dst, "city", cities[r.IntN(len(cities))])
	dst = bsoncore.AppendInt32Element(dst, "zip", int32(10000+r.IntN(89999)))
	dst, _ = bsoncore.AppendDocumentEnd(dst, didx)

	aidx, dst = bsoncore.AppendArrayElementStart(dst, "items")
	for k := range 3 {
		didx, dst = bsoncore.AppendDocumentElementStart(dst, fmt.Sprint(k))
		dst = bsoncore.AppendStringElement(dst, "sku", fmt.Sprintf("SKU-%05d", r.IntN(50000)))
		dst = bsoncore.AppendInt32Element(dst, "qty", int32(1+r.IntN(5)))
		dst = bsoncore.AppendDoubleElement(dst, "price", float64(r.IntN(20000))/100)
		dst, _ = bsoncore.AppendDocumentEnd(dst, didx)
	}
	dst, _ = bsoncore.AppendArrayEnd(dst, aidx)

	// Pad: the notes element costs 1 (type) + 6 ("notes\0") + 4 (length) +
	// 1 (NUL) bytes besides its text, and the document end 1 more.
	want := size + r.IntN(size/4+1) - size/8
	pad := want - (len(dst) - int(idx)) - 13
	pad = max(0, min(pad, len(filler)))
	dst = bsoncore.AppendHeader(dst, bsoncore.TypeString, "notes")
	dst = bsoncore.AppendInt32(dst, int32(pad+1))
	off := r.IntN(len(filler) - pad + 1)
	dst = append(dst, filler[off:off+pad]...)
	dst = append(dst, 0)
	dst, _ = bsoncore.AppendDocumentEnd(dst, idx)
	return dst
}

// Doc returns document i of collection coll.
func (d Dataset) Doc(coll int, i int64) bson.Raw {
	return bson.Raw(AppendDoc(nil, coll, i, d.DocBytes))
}

// loadChunk is a run of consecutive documents of one collection.
type loadChunk struct {
	coll       int
	start, end int64
}

// Load inserts the dataset into c with workers parallel unordered
// insertMany calls of batch documents, pre-marshalled as raw BSON. It
// returns the bytes inserted.
func (d Dataset) Load(ctx context.Context, c *mongo.Client, workers, batch int) (int64, error) {
	if d.Colls <= 0 || d.DocBytes <= 0 {
		return 0, fmt.Errorf("dataset: need collections and a document size, got %+v", d)
	}
	workers, batch = max(1, workers), max(1, batch)
	chunks := make(chan loadChunk)
	var bytes int64
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var slab []byte
			docs := make([]bson.Raw, 0, batch)
			for ch := range chunks {
				slab, docs = slab[:0], docs[:0]
				for i := ch.start; i < ch.end; i++ {
					slab = AppendDoc(slab, ch.coll, i, d.DocBytes)
				}
				// Slice after appending: the slab may have moved while growing.
				for off := 0; off < len(slab); {
					n, _, _ := bsoncore.ReadLength(slab[off:])
					docs = append(docs, bson.Raw(slab[off:off+int(n)]))
					off += int(n)
				}
				coll := c.Database(d.DB).Collection(CollName(ch.coll))
				if _, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false)); err != nil {
					fail(fmt.Errorf("dataset: load %s.%s: %w", d.DB, CollName(ch.coll), err))
					cancel()
					continue
				}
				mu.Lock()
				bytes += int64(len(slab))
				mu.Unlock()
			}
		}()
	}
	// Interleave collections so every worker count spreads over them.
	next := make([]int64, d.Colls)
feed:
	for more := true; more; {
		more = false
		for k := range d.Colls {
			n := d.PerColl(k)
			if next[k] >= n {
				continue
			}
			more = true
			ch := loadChunk{coll: k, start: next[k], end: min(n, next[k]+int64(batch))}
			next[k] = ch.end
			select {
			case chunks <- ch:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(chunks)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return bytes, firstErr
}

// CollPrint is a collection's content fingerprint: its count and an
// order-independent sum of per-document hashes (every byte counts).
type CollPrint struct {
	Name  string
	Count int64
	Sum   uint64
}

// Fingerprint of every collection of a database, sorted by name.
type Fingerprint []CollPrint

// fingerprintSeed is shared by every fingerprint of this process so two
// fingerprints taken here can be compared.
var fingerprintSeed = maphash.MakeSeed()

// TakeFingerprint reads every document of every collection of db on c
// (system collections excluded).
func TakeFingerprint(ctx context.Context, c *mongo.Client, db string) (Fingerprint, error) {
	names, err := c.Database(db).ListCollectionNames(ctx, bson.D{{Key: "type", Value: "collection"}})
	if err != nil {
		return nil, fmt.Errorf("fingerprint %s: list collections: %w", db, err)
	}
	sort.Strings(names)
	fp := make(Fingerprint, 0, len(names))
	for _, name := range names {
		if len(name) >= 7 && name[:7] == "system." {
			continue
		}
		cp := CollPrint{Name: name}
		cur, err := c.Database(db).Collection(name).Find(ctx, bson.D{}, options.Find().SetBatchSize(2000))
		if err != nil {
			return nil, fmt.Errorf("fingerprint %s.%s: %w", db, name, err)
		}
		for cur.Next(ctx) {
			cp.Count++
			cp.Sum += maphash.Bytes(fingerprintSeed, cur.Current)
		}
		err = cur.Err()
		_ = cur.Close(ctx)
		if err != nil {
			return nil, fmt.Errorf("fingerprint %s.%s: %w", db, name, err)
		}
		fp = append(fp, cp)
	}
	return fp, nil
}

// Total is the number of documents fingerprinted.
func (fp Fingerprint) Total() int64 {
	var n int64
	for _, c := range fp {
		n += c.Count
	}
	return n
}

// Diff describes how got differs from fp ("" when equal).
func (fp Fingerprint) Diff(got Fingerprint) string {
	byName := map[string]CollPrint{}
	for _, c := range got {
		byName[c.Name] = c
	}
	var diffs []string
	for _, want := range fp {
		g, ok := byName[want.Name]
		delete(byName, want.Name)
		switch {
		case !ok:
			diffs = append(diffs, want.Name+": missing")
		case g.Count != want.Count:
			diffs = append(diffs, fmt.Sprintf("%s: %d documents, want %d", want.Name, g.Count, want.Count))
		case g.Sum != want.Sum:
			diffs = append(diffs, want.Name+": same count, different content")
		}
	}
	for name := range byName {
		diffs = append(diffs, name+": unexpected collection")
	}
	sort.Strings(diffs)
	if len(diffs) == 0 {
		return ""
	}
	return fmt.Sprint(diffs)
}

// DropUserDatabases drops every database of c except admin, config and
// local, so a copier starts on an empty target.
func DropUserDatabases(ctx context.Context, c *mongo.Client) error {
	names, err := c.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("list databases: %w", err)
	}
	for _, n := range names {
		if n == "admin" || n == "config" || n == "local" {
			continue
		}
		if err := c.Database(n).Drop(ctx); err != nil {
			return fmt.Errorf("drop database %s: %w", n, err)
		}
	}
	return nil
}

// Connect opens a driver client with a generous timeout for bulk work.
func Connect(uri, appName string) (*mongo.Client, error) {
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetAppName(appName).SetTimeout(10 * time.Minute))
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", uri, err)
	}
	return c, nil
}
