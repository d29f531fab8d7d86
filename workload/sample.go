// Package workload generates data and traffic on a MongoDB deployment: a
// varied sample dataset and a continuous mixed write workload. It is test
// and demo infrastructure (the demo, e2e tests and benchmarks use it), so
// it talks to the driver directly rather than through mlink's mongo
// package.
package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Sample describes the sample dataset: a shop, a CRM and an analytics
// database with nested documents, arrays, several index kinds, a capped
// collection, a view, a collation and a TTL index.
type Sample struct {
	Prefix    string // database name prefix
	Orders    int    // shop.orders documents (customers, products, events scale with it)
	BatchSize int
}

// Loaded counts what LoadSample wrote.
type Loaded struct {
	Documents int64
	Bytes     int64
}

// DB returns the prefixed database name.
func (s Sample) DB(name string) string { return s.Prefix + name }

// Load creates the sample dataset on c.
func (s Sample) Load(ctx context.Context, c *mongo.Client) (Loaded, error) {
	if s.BatchSize <= 0 {
		s.BatchSize = 1000
	}
	var out Loaded
	r := rand.New(rand.NewPCG(1, 2))
	shop, crm, analytics := c.Database(s.DB("shop")), c.Database(s.DB("crm")), c.Database(s.DB("analytics"))
	steps := []func() error{
		func() error {
			return analytics.CreateCollection(ctx, "events", options.CreateCollection().SetCapped(true).SetSizeInBytes(4<<20))
		},
		func() error {
			return crm.CreateCollection(ctx, "contacts", options.CreateCollection().SetCollation(&options.Collation{Locale: "en", Strength: 2}))
		},
		func() error {
			return shop.CreateCollection(ctx, "products", options.CreateCollection().SetValidator(
				bson.D{{Key: "price", Value: bson.D{{Key: "$gte", Value: 0}}}}))
		},
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return out, fmt.Errorf("sample: %w", err)
		}
	}
	customers := max(1, s.Orders/4)
	products := max(1, s.Orders/20)
	gen := map[*mongo.Collection]struct {
		n   int
		doc func(i int) bson.D
	}{
		shop.Collection("orders"): {s.Orders, func(i int) bson.D { return Order(r, i, customers, products) }},
		shop.Collection("customers"): {customers, func(i int) bson.D {
			return bson.D{{Key: "_id", Value: i}, {Key: "email", Value: fmt.Sprintf("user%d@example.com", i)},
				{Key: "name", Value: fmt.Sprintf("Customer %d", i)}, {Key: "since", Value: time.Unix(1.6e9+int64(i)*3600, 0)},
				{Key: "tags", Value: bson.A{"retail", []string{"gold", "silver", "bronze"}[i%3]}}}
		}},
		shop.Collection("products"): {products, func(i int) bson.D {
			return bson.D{{Key: "_id", Value: fmt.Sprintf("SKU-%05d", i)}, {Key: "name", Value: fmt.Sprintf("Product %d", i)},
				{Key: "price", Value: bson.NewDecimal128(uint64(i*100+99), 0)}, {Key: "stock", Value: int32(r.IntN(500))},
				{Key: "description", Value: "A fine product for everyday use, number " + fmt.Sprint(i)}}
		}},
		crm.Collection("contacts"): {customers / 2, func(i int) bson.D {
			return bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "name", Value: fmt.Sprintf("Contact %d", i)},
				{Key: "phones", Value: bson.A{bson.D{{Key: "kind", Value: "work"}, {Key: "n", Value: fmt.Sprintf("+1-555-%04d", i)}}}}}
		}},
		crm.Collection("sessions"): {customers / 2, func(i int) bson.D {
			return bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "user", Value: i}, {Key: "lastSeen", Value: time.Now()}}
		}},
		analytics.Collection("events"): {s.Orders / 2, func(i int) bson.D {
			return bson.D{{Key: "_id", Value: int64(i)}, {Key: "kind", Value: []string{"view", "click", "buy"}[i%3]},
				{Key: "at", Value: bson.Timestamp{T: uint32(1.7e9) + uint32(i), I: 1}}}
		}},
	}
	for coll, g := range gen {
		n, b, err := insertGenerated(ctx, coll, g.n, s.BatchSize, g.doc)
		out.Documents += n
		out.Bytes += b
		if err != nil {
			return out, err
		}
	}
	indexes := []struct {
		coll   *mongo.Collection
		models []mongo.IndexModel
	}{
		{shop.Collection("orders"), []mongo.IndexModel{
			{Keys: bson.D{{Key: "customer", Value: 1}, {Key: "placed", Value: -1}}},
			{Keys: bson.D{{Key: "items.sku", Value: 1}}},
			{Keys: bson.D{{Key: "status", Value: "hashed"}}},
		}},
		{shop.Collection("customers"), []mongo.IndexModel{
			{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)},
		}},
		{shop.Collection("products"), []mongo.IndexModel{
			{Keys: bson.D{{Key: "description", Value: "text"}}},
		}},
		{crm.Collection("sessions"), []mongo.IndexModel{
			{Keys: bson.D{{Key: "lastSeen", Value: 1}}, Options: options.Index().SetExpireAfterSeconds(86400 * 30)},
		}},
	}
	for _, ix := range indexes {
		if _, err := ix.coll.Indexes().CreateMany(ctx, ix.models); err != nil {
			return out, fmt.Errorf("sample: indexes of %s: %w", ix.coll.Name(), err)
		}
	}
	err := shop.CreateView(ctx, "bigOrders", "orders", bson.A{
		bson.D{{Key: "$match", Value: bson.D{{Key: "total", Value: bson.D{{Key: "$gte", Value: 500}}}}}},
	})
	if err != nil {
		return out, fmt.Errorf("sample: view: %w", err)
	}
	return out, nil
}

// Order builds one order document.
func Order(r *rand.Rand, i, customers, products int) bson.D {
	items := bson.A{}
	total := 0
	for j := 0; j < 1+r.IntN(4); j++ {
		qty, price := 1+r.IntN(3), 5+r.IntN(200)
		total += qty * price
		items = append(items, bson.D{{Key: "sku", Value: fmt.Sprintf("SKU-%05d", r.IntN(products))},
			{Key: "qty", Value: int32(qty)}, {Key: "price", Value: float64(price)}})
	}
	return bson.D{
		{Key: "_id", Value: i},
		{Key: "customer", Value: r.IntN(customers)},
		{Key: "placed", Value: time.Unix(1.65e9+int64(i)*60, 0).UTC()},
		{Key: "status", Value: []string{"new", "paid", "shipped", "delivered"}[r.IntN(4)]},
		{Key: "items", Value: items},
		{Key: "total", Value: total},
		{Key: "shipping", Value: bson.D{{Key: "city", Value: []string{"Lyon", "Oslo", "Lima", "Pune"}[r.IntN(4)]},
			{Key: "notes", Value: "leave at the door"}}},
	}
}

func insertGenerated(ctx context.Context, coll *mongo.Collection, n, batch int, doc func(int) bson.D) (docs, bytes int64, err error) {
	buf := make([]any, 0, batch)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		_, err := coll.InsertMany(ctx, buf)
		buf = buf[:0]
		return err
	}
	for i := 0; i < n; i++ {
		d := doc(i)
		raw, err := bson.Marshal(d)
		if err != nil {
			return docs, bytes, err
		}
		buf = append(buf, bson.Raw(raw))
		docs++
		bytes += int64(len(raw))
		if len(buf) == batch {
			if err := flush(); err != nil {
				return docs, bytes, fmt.Errorf("sample: insert into %s: %w", coll.Name(), err)
			}
		}
	}
	if err := flush(); err != nil {
		return docs, bytes, fmt.Errorf("sample: insert into %s: %w", coll.Name(), err)
	}
	return docs, bytes, nil
}

// Connect opens a client for loading data and running the workload.
func Connect(uri string) (*mongo.Client, error) {
	return mongo.Connect(options.Client().ApplyURI(uri).SetAppName("mlink-workload"))
}
