package mongosim

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/store"
)

// Statistics: collStats, dbStats and the $collStats stage's document.
//
// Sizes are approximations documented in package store: size/dataSize are
// exact sums of BSON sizes; storageSize and index sizes round to 4 KiB
// pages. The simulated file system reports fixed sizes.

const (
	simFSTotalSize = 100 << 30
	simFSUsedSize  = 10 << 30
)

func init() {
	register(command{name: "collStats", lock: lockRead, handler: handleCollStats})
	register(command{name: "dbStats", lock: lockRead, handler: handleDBStats})
}

// scaleArg reads a collStats/dbStats scale (default 1).
func scaleArg(req *request) (int64, error) {
	v := req.arg("scale")
	if v.Type == 0 {
		return 1, nil
	}
	if !bsonkit.IsNumber(v.Type) {
		return 0, mongoerr.WrongType(req.name+".scale", typeName(v.Type), mongoerr.NumberTypes)
	}
	f, _ := bsonkit.ToFloat(v)
	if f < 1 {
		return 0, mongoerr.New(mongoerr.Location51024, "BSON field 'scale' value must be >= 1, actual value '%d'", int64(f))
	}
	return int64(f), nil
}

// number mirrors mongod's appendNumber(long long): int32 when small.
func number(n int64) bsoncore.Value {
	if n > -(1<<30) && n < 1<<30 {
		return bsonkit.Int32(int32(n))
	}
	return bsonkit.Int64(n)
}

// storageStats returns collStats' storage fields for c in mongod's order.
func storageStats(c *store.Collection, scale int64) bsonkit.Doc {
	var d bsonkit.Doc
	add := func(k string, v bsoncore.Value) { d = append(d, bsonkit.Elem{Key: k, Value: v}) }
	add("size", number(c.DataSize()/scale))
	add("count", number(c.Count()))
	add("avgObjSize", number(c.AvgObjSize()))
	add("numOrphanDocs", bsonkit.Int32(0))
	add("storageSize", number(c.StorageSize()/scale))
	add("freeStorageSize", bsonkit.Int32(0))
	capped, size, max := c.Capped()
	add("capped", bsonkit.Bool(capped))
	if capped {
		add("max", number(max))
		add("maxSize", number(size/scale))
	}
	indexes := c.Indexes()
	add("nindexes", bsonkit.Int32(int32(len(indexes))))
	add("indexBuilds", bsonkit.Array())
	var sizes bsonkit.Doc
	var total int64
	for _, ix := range indexes {
		n := c.IndexSize(ix)
		total += n
		sizes = append(sizes, bsonkit.Elem{Key: ix.Name(), Value: number(n / scale)})
	}
	add("totalIndexSize", number(total/scale))
	add("totalSize", number((c.StorageSize()+total)/scale))
	add("indexSizes", sizes.Value())
	add("scaleFactor", bsonkit.Int32(int32(scale)))
	return d
}

// statsTarget finds the collection collStats/$collStats report on.
func statsTarget(st *store.Store, db, coll string) (*store.Collection, error) {
	c := st.Collection(db, coll)
	if c == nil {
		return nil, mongoerr.New(mongoerr.NamespaceNotFound, "Collection [%s.%s] not found.", db, coll)
	}
	if c.Kind == store.KindView {
		return nil, notCollection(c)
	}
	return c, nil
}

func handleCollStats(_ context.Context, req *request) (bsoncore.Document, error) {
	name, err := collectionArg(req)
	if err != nil {
		return nil, err
	}
	if err := checkFields(req, fieldSet("scale", "verbose")); err != nil {
		return nil, err
	}
	scale, err := scaleArg(req)
	if err != nil {
		return nil, err
	}
	c, err := statsTarget(req.srv.store, req.db, name)
	if err != nil {
		return nil, err
	}
	d := bsonkit.Doc{{Key: "ns", Value: bsonkit.String(req.ns(name))}}
	d = append(d, storageStats(c, scale)...)
	return d.Bytes(), nil
}

func handleDBStats(_ context.Context, req *request) (bsoncore.Document, error) {
	if err := checkFields(req, fieldSet("scale", "freeStorage")); err != nil {
		return nil, err
	}
	scale, err := scaleArg(req)
	if err != nil {
		return nil, err
	}
	var colls, views, objects, indexes, dataSize, storageSize, indexSize int64
	if db := req.srv.store.Database(req.db); db != nil {
		for _, c := range db.Collections() {
			if c.Kind == store.KindView {
				views++
				continue
			}
			colls++
			objects += c.Count()
			dataSize += c.DataSize()
			storageSize += c.StorageSize()
			indexes += int64(len(c.Indexes()))
			indexSize += c.TotalIndexSize()
		}
	}
	avg := 0.0
	if objects > 0 {
		avg = float64(dataSize) / float64(objects)
	}
	fsUsed, fsTotal := float64(simFSUsedSize), float64(simFSTotalSize)
	if colls+views == 0 {
		fsUsed, fsTotal = 0, 0
	}
	sc := float64(scale)
	return bsonkit.D(
		"db", bsonkit.String(req.db),
		"collections", bsonkit.Int64(colls),
		"views", bsonkit.Int64(views),
		"objects", bsonkit.Int64(objects),
		"avgObjSize", bsonkit.Double(avg),
		"dataSize", bsonkit.Double(float64(dataSize)/sc),
		"storageSize", bsonkit.Double(float64(storageSize)/sc),
		"indexes", bsonkit.Int64(indexes),
		"indexSize", bsonkit.Double(float64(indexSize)/sc),
		"totalSize", bsonkit.Double(float64(storageSize+indexSize)/sc),
		"scaleFactor", bsonkit.Int64(scale),
		"fsUsedSize", bsonkit.Double(fsUsed/sc),
		"fsTotalSize", bsonkit.Double(fsTotal/sc),
	), nil
}

// collStatsDocument builds the single document the $collStats stage emits
// for db.coll: {ns, host, localTime, latencyStats?, storageStats?, count?,
// queryExecStats?} for the sections spec requests. The caller holds the
// store read lock. This is the agg.Env CollStats implementation.
func (s *Server) collStatsDocument(db, coll string, spec bsoncore.Document) (bsoncore.Document, error) {
	elems, err := spec.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "invalid $collStats specification: %v", err)
	}
	out := bsonkit.Doc{
		{Key: "ns", Value: bsonkit.String(db + "." + coll)},
		{Key: "host", Value: bsonkit.String(s.addr)},
		{Key: "localTime", Value: bsonkit.DateTime(time.Now().UnixMilli())},
	}
	for _, e := range elems {
		v := e.Value()
		switch k := e.Key(); k {
		case "latencyStats":
			zero := bsonkit.D("latency", bsonkit.Int64(0), "ops", bsonkit.Int64(0))
			out = append(out, bsonkit.Elem{Key: k, Value: bsonkit.DocValue(bsonkit.D(
				"reads", bsonkit.DocValue(zero), "writes", bsonkit.DocValue(zero),
				"commands", bsonkit.DocValue(zero), "transactions", bsonkit.DocValue(zero)))})
		case "storageStats":
			scale := int64(1)
			if v.Type == bsoncore.TypeEmbeddedDocument {
				if sv := v.Document().Lookup("scale"); sv.Type != 0 {
					f, ok := bsonkit.ToFloat(sv)
					if !ok || f < 1 {
						return nil, mongoerr.New(mongoerr.Location51024, "BSON field 'scale' value must be >= 1, actual value '%s'", sv)
					}
					scale = int64(f)
				}
			}
			c, err := statsTarget(s.store, db, coll)
			if err != nil {
				return nil, mongoerr.New(asMongoErr(err).Code,
					"Unable to retrieve storageStats in $collStats stage :: caused by :: %s", asMongoErr(err).Msg)
			}
			out = append(out, bsonkit.Elem{Key: k, Value: storageStats(c, scale).Value()})
		case "count":
			c, err := statsTarget(s.store, db, coll)
			if err != nil {
				return nil, mongoerr.New(asMongoErr(err).Code,
					"Unable to retrieve count in $collStats stage :: caused by :: %s", asMongoErr(err).Msg)
			}
			out = append(out, bsonkit.Elem{Key: k, Value: bsonkit.DocValue(bsonkit.D("count", bsonkit.Int64(c.Count())))})
		case "queryExecStats":
			out = append(out, bsonkit.Elem{Key: k, Value: bsonkit.DocValue(bsonkit.D(
				"collectionScans", bsonkit.DocValue(bsonkit.D("total", bsonkit.Int64(0), "nonTailable", bsonkit.Int64(0)))))})
		default:
			return nil, mongoerr.New(mongoerr.Location40415, "BSON field '$collStats.%s' is an unknown field.", k)
		}
	}
	return out.Bytes(), nil
}

// collStatsForNS is collStatsDocument for a "db.coll" namespace, the form
// agg.Env.CollStats receives.
func (s *Server) collStatsForNS(ns string, spec bsoncore.Document) (bsoncore.Document, error) {
	db, coll, ok := splitNS(ns)
	if !ok {
		return nil, mongoerr.New(mongoerr.InvalidNamespace, "Invalid namespace specified '%s'", ns)
	}
	return s.collStatsDocument(db, coll, spec)
}
