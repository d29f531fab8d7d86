package verify

import (
	"context"
	"fmt"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

// Run compares src and dst and reports every difference found. An error
// means the comparison could not be made (a listing or a scan failed); a
// difference is never an error.
func Run(ctx context.Context, src, dst *mongo.Client, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	started := time.Now()
	rep := &Report{Source: src.URI(), Target: dst.URI(), InProgress: opts.InProgress, StartedAt: started.UTC()}

	var srcCat, dstCat map[string]mongo.CollectionInfo
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { srcCat, err = listCatalog(gctx, src, opts.Filter); return err })
	g.Go(func() (err error) { dstCat, err = listCatalog(gctx, dst, opts.Filter); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}

	names := make([]string, 0, len(srcCat)+len(dstCat))
	for ns := range srcCat {
		names = append(names, ns)
	}
	for ns := range dstCat {
		if _, ok := srcCat[ns]; !ok {
			names = append(names, ns)
		}
	}
	sort.Strings(names)

	cmp := &contentComparer{src: src, dst: dst, opts: opts, hasher: newHasher()}
	rep.Namespaces = make([]NamespaceReport, len(names))
	var jobs []*collJob
	for i, name := range names {
		s, sok := srcCat[name]
		d, dok := dstCat[name]
		nr, compareContent := compareCatalogEntry(name, lookup(s, sok), lookup(d, dok), opts.InProgress)
		if compareContent {
			var err error
			if nr.Indexes, err = compareIndexLists(ctx, src, dst, s.NS, opts.InProgress); err != nil {
				return nil, err
			}
			nr.Content = &ContentReport{}
			jobs = append(jobs, &collJob{ns: s.NS, report: nr.Content})
		}
		rep.Namespaces[i] = nr
	}
	if err := cmp.run(ctx, jobs); err != nil {
		return nil, err
	}
	for i := range rep.Namespaces {
		rep.Namespaces[i].settleStatus()
	}
	rep.Duration = time.Since(started)
	return rep, nil
}

func lookup(ci mongo.CollectionInfo, ok bool) *mongo.CollectionInfo {
	if !ok {
		return nil
	}
	return &ci
}

// listCatalog lists the collections and views of every database the filter
// may select, keyed by namespace.
func listCatalog(ctx context.Context, c *mongo.Client, filter *mlink.Filter) (map[string]mongo.CollectionInfo, error) {
	dbs, err := c.ListDatabaseNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	out := map[string]mongo.CollectionInfo{}
	for _, db := range dbs {
		if !filter.MayMatchDB(db) {
			continue
		}
		colls, err := c.ListCollections(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		for _, ci := range colls {
			if filter.Match(ci.NS) {
				out[ci.NS.String()] = ci
			}
		}
	}
	return out, nil
}

const timeseriesReason = "time series collection: not compared (mlink does not copy time series collections; check them with mongodump/mongorestore tooling)"

// compareCatalogEntry compares what listCollections reports for one
// namespace on each side (nil: absent). It says whether the namespace is a
// collection on both sides, whose indexes and documents are compared next.
func compareCatalogEntry(name string, s, d *mongo.CollectionInfo, inProgress bool) (NamespaceReport, bool) {
	nr := NamespaceReport{NS: name}
	switch {
	case s != nil && s.Type == mongo.TypeTimeseries, d != nil && d.Type == mongo.TypeTimeseries:
		nr.Status, nr.Type, nr.Reason = StatusNotCompared, mongo.TypeTimeseries, timeseriesReason+presence(s, d)
		return nr, false
	case d == nil:
		nr.Status, nr.Type = StatusMissingOnTarget, s.Type
		return nr, false
	case s == nil:
		nr.Status, nr.Type = StatusExtraOnTarget, d.Type
		return nr, false
	}
	nr.Type = s.Type
	if s.Type != d.Type {
		nr.TargetType = d.Type
		return nr, false
	}
	nr.Options = compareOptions(s.Options, d.Options, inProgress)
	if s.ReadOnly != d.ReadOnly {
		nr.Options = append(nr.Options, fieldDiff("info.readOnly",
			bson.RawValue{Type: bson.TypeBoolean, Value: boolBytes(s.ReadOnly)},
			bson.RawValue{Type: bson.TypeBoolean, Value: boolBytes(d.ReadOnly)}))
	}
	nr.Options = append(nr.Options, compareFields("idIndex.", s.IDIndex, d.IDIndex, nil, "ns")...)
	return nr, s.Type == mongo.TypeCollection
}

func presence(s, d *mongo.CollectionInfo) string {
	switch {
	case s == nil:
		return "; present on the target only"
	case d == nil:
		return "; present on the source only"
	}
	return ""
}

func boolBytes(b bool) []byte {
	if b {
		return []byte{1}
	}
	return []byte{0}
}

func compareIndexLists(ctx context.Context, src, dst *mongo.Client, ns mlink.Namespace, inProgress bool) ([]IndexDiff, error) {
	var srcSpecs, dstSpecs []bson.Raw
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { srcSpecs, err = src.ListIndexes(gctx, ns); return err })
	g.Go(func() (err error) { dstSpecs, err = dst.ListIndexes(gctx, ns); return err })
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return compareIndexes(srcSpecs, dstSpecs, inProgress), nil
}

// settleStatus decides a compared namespace's status from its differences.
func (nr *NamespaceReport) settleStatus() {
	if nr.Status != "" {
		return
	}
	nr.Status = StatusEqual
	if nr.TargetType != "" || len(nr.Options) > 0 || len(nr.Indexes) > 0 {
		nr.Status = StatusDifferent
	}
	if c := nr.Content; c != nil && (c.SourceCount != c.TargetCount || c.MismatchedRanges > 0) {
		nr.Status = StatusDifferent
	}
}
