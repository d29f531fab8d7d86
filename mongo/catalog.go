package mongo

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink"
)

// Collection types as listCollections reports them.
const (
	TypeCollection = "collection"
	TypeView       = "view"
	TypeTimeseries = "timeseries"
)

// CollectionInfo is one entry of listCollections, options kept raw so they
// are re-created exactly.
type CollectionInfo struct {
	NS       mlink.Namespace
	Type     string
	Options  bson.Raw // may be empty
	UUID     bson.Binary
	ReadOnly bool
	IDIndex  bson.Raw
}

// Capped reports the capped option.
func (ci CollectionInfo) Capped() bool {
	b, _ := ci.Options.Lookup("capped").BooleanOK()
	return b
}

// Clustered reports whether the collection is clustered by _id.
func (ci CollectionInfo) Clustered() bool {
	_, err := ci.Options.LookupErr("clusteredIndex")
	return err == nil
}

// ListDatabaseNames returns every database name, sorted.
func (c *Client) ListDatabaseNames(ctx context.Context) ([]string, error) {
	names, err := c.c.ListDatabaseNames(ctx, bson.D{}, options.ListDatabases().SetNameOnly(true))
	if err != nil {
		return nil, fmt.Errorf("%s: listDatabases: %w", c.role, err)
	}
	sort.Strings(names)
	return names, nil
}

// ListCollections returns the collections and views of db, sorted by name.
func (c *Client) ListCollections(ctx context.Context, db string) ([]CollectionInfo, error) {
	cur, err := c.c.Database(db).ListCollections(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("%s: listCollections %s: %w", c.role, db, err)
	}
	defer cur.Close(ctx)
	var out []CollectionInfo
	for cur.Next(ctx) {
		doc := cloneRaw(cur.Current)
		name, _ := doc.Lookup("name").StringValueOK()
		ci := CollectionInfo{NS: mlink.Namespace{DB: db, Coll: name}}
		ci.Type, _ = doc.Lookup("type").StringValueOK()
		if ci.Type == "" {
			ci.Type = TypeCollection
		}
		ci.Options, _ = doc.Lookup("options").DocumentOK()
		if st, bin, ok := doc.Lookup("info", "uuid").BinaryOK(); ok {
			ci.UUID = bson.Binary{Subtype: st, Data: bin}
		}
		ci.ReadOnly, _ = doc.Lookup("info", "readOnly").BooleanOK()
		ci.IDIndex, _ = doc.Lookup("idIndex").DocumentOK()
		out = append(out, ci)
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("%s: listCollections %s: %w", c.role, db, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NS.Coll < out[j].NS.Coll })
	return out, nil
}

// ListIndexes returns the index specs of ns exactly as the server reports
// them (nil, nil when the collection does not exist).
func (c *Client) ListIndexes(ctx context.Context, ns mlink.Namespace) ([]bson.Raw, error) {
	cur, err := c.c.Database(ns.DB).Collection(ns.Coll).Indexes().List(ctx)
	if err != nil {
		if IsNamespaceNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: listIndexes %s: %w", c.role, ns, err)
	}
	defer cur.Close(ctx)
	var out []bson.Raw
	for cur.Next(ctx) {
		out = append(out, cloneRaw(cur.Current))
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("%s: listIndexes %s: %w", c.role, ns, err)
	}
	return out, nil
}

// CollStats is the size of a collection as the server estimates it.
type CollStats struct {
	Count      int64
	Size       int64 // uncompressed data size in bytes
	AvgObjSize int64
}

// CollStats reads storage statistics with $collStats (the collStats command
// is deprecated since 6.2).
func (c *Client) CollStats(ctx context.Context, ns mlink.Namespace) (CollStats, error) {
	pipeline := bson.A{bson.D{{Key: "$collStats", Value: bson.D{{Key: "storageStats", Value: bson.D{}}}}}}
	cur, err := c.c.Database(ns.DB).Collection(ns.Coll).Aggregate(ctx, pipeline)
	if err != nil {
		if IsNamespaceNotFound(err) {
			return CollStats{}, nil
		}
		return CollStats{}, fmt.Errorf("%s: $collStats %s: %w", c.role, ns, err)
	}
	defer cur.Close(ctx)
	var st CollStats
	for cur.Next(ctx) {
		ss, _ := cur.Current.Lookup("storageStats").DocumentOK()
		st.Count += AsInt(ss.Lookup("count"))
		st.Size += AsInt(ss.Lookup("size"))
	}
	if err := cur.Err(); err != nil {
		return CollStats{}, fmt.Errorf("%s: $collStats %s: %w", c.role, ns, err)
	}
	if st.Count > 0 {
		st.AvgObjSize = st.Size / st.Count
	}
	return st, nil
}

// HasDocuments reports whether ns holds at least one document.
func (c *Client) HasDocuments(ctx context.Context, ns mlink.Namespace) (bool, error) {
	err := c.c.Database(ns.DB).Collection(ns.Coll).FindOne(ctx, bson.D{}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, driver.ErrNoDocuments):
		return false, nil
	}
	return false, fmt.Errorf("%s: read %s: %w", c.role, ns, err)
}

// ClusterTime returns a cluster time T such that every write at or before T
// is visible to majority reads started afterwards: the operationTime of a
// majority read. A change stream started at T then misses nothing that
// a later clone read did not see.
func (c *Client) ClusterTime(ctx context.Context, db string) (bson.Timestamp, error) {
	sess, err := c.c.StartSession()
	if err != nil {
		return bson.Timestamp{}, err
	}
	defer sess.EndSession(ctx)
	sctx := driver.NewSessionContext(ctx, sess)
	err = c.c.Database(db).Collection("mlink_cluster_time_probe").FindOne(sctx, bson.D{}).Err()
	if err != nil && !errors.Is(err, driver.ErrNoDocuments) {
		return bson.Timestamp{}, fmt.Errorf("%s: read cluster time: %w", c.role, err)
	}
	ot := sess.OperationTime()
	if ot == nil {
		return bson.Timestamp{}, fmt.Errorf("%s: server returned no operationTime (not a replica set?)", c.role)
	}
	return *ot, nil
}

// FetchDoc reads the document with key (its documentKey) by majority read;
// nil when there is none.
func (c *Client) FetchDoc(ctx context.Context, ns mlink.Namespace, key bson.Raw) (bson.Raw, error) {
	doc, err := c.c.Database(ns.DB).Collection(ns.Coll).FindOne(ctx, key).Raw()
	if isNoDocuments(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: read %s %s: %w", c.role, ns, key, err)
	}
	return cloneRaw(doc), nil
}

// IsNamespaceNotFound reports MongoDB error 26.
func IsNamespaceNotFound(err error) bool { return HasCode(err, 26) }

// IsNamespaceExists reports MongoDB error 48.
func IsNamespaceExists(err error) bool { return HasCode(err, 48) }

// HasCode reports whether err carries a server error code.
func HasCode(err error, codes ...int) bool {
	var se driver.ServerError
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se.HasErrorCode(c) {
			return true
		}
	}
	return false
}

// ErrorCode returns the first server error code of err, or 0.
func ErrorCode(err error) int {
	var ce driver.CommandError
	if errors.As(err, &ce) {
		return int(ce.Code)
	}
	var we driver.WriteException
	if errors.As(err, &we) {
		if len(we.WriteErrors) > 0 {
			return we.WriteErrors[0].Code
		}
		if we.WriteConcernError != nil {
			return we.WriteConcernError.Code
		}
	}
	var be driver.BulkWriteException
	if errors.As(err, &be) && len(be.WriteErrors) > 0 {
		return be.WriteErrors[0].Code
	}
	return 0
}

func cloneRaw(r bson.Raw) bson.Raw { return append(bson.Raw(nil), r...) }

func isNoDocuments(err error) bool { return errors.Is(err, driver.ErrNoDocuments) }

// IsCollectionGone reports errors of a read whose collection was dropped or
// renamed under it: NamespaceNotFound (26), QueryPlanKilled (175).
func IsCollectionGone(err error) bool { return HasCode(err, 26, 175) }
