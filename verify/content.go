package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

// collJob is one collection whose documents are compared.
type collJob struct {
	ns     mlink.Namespace
	report *ContentReport
	// batchDocs sizes cursor batches to about scanBatchBytes, so a scan
	// holds a few MB whatever the range size (the server's own cap is 16 MB).
	batchDocs int
	ranges    []mongo.Range
	// digests[i] holds range i's source and target digests; each worker
	// writes only the slots of the ranges it was given.
	digests [][2]rangeDigest
}

type rangeTask struct {
	job *collJob
	idx int
}

type contentComparer struct {
	src, dst *mongo.Client
	opts     Options
	hasher   *hasher
}

// run hashes every range of every job with opts.Parallel workers, then
// re-reads the ranges that differ to list the differing _ids.
func (c *contentComparer) run(ctx context.Context, jobs []*collJob) error {
	g, gctx := errgroup.WithContext(ctx)
	tasks := make(chan rangeTask)
	g.Go(func() error {
		defer close(tasks)
		for _, job := range jobs {
			if err := c.split(gctx, job); err != nil {
				return err
			}
			for i := range job.ranges {
				select {
				case tasks <- rangeTask{job: job, idx: i}:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
		}
		return nil
	})
	for range c.opts.Parallel {
		g.Go(func() error {
			for t := range tasks {
				if err := c.hashRangeBothSides(gctx, t); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, job := range jobs {
		if err := c.settle(ctx, job); err != nil {
			return err
		}
	}
	return nil
}

// split cuts a collection into _id ranges from a sample of the source; the
// same bounds are read on the target, so every target document falls in
// exactly one range (the first and last are open-ended).
func (c *contentComparer) split(ctx context.Context, job *collJob) error {
	st, err := c.src.CollStats(ctx, job.ns)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	ranges, err := c.src.SplitRanges(ctx, job.ns, st, c.opts.PartitionBytes, c.opts.Parallel)
	if err != nil {
		return fmt.Errorf("verify: split %s: %w", job.ns, err)
	}
	job.ranges = ranges
	job.digests = make([][2]rangeDigest, len(ranges))
	job.batchDocs = batchDocsFor(st.AvgObjSize)
	return nil
}

func (c *contentComparer) hashRangeBothSides(ctx context.Context, t rangeTask) error {
	r := t.job.ranges[t.idx]
	g, gctx := errgroup.WithContext(ctx)
	for side, cl := range []*mongo.Client{c.src, c.dst} {
		g.Go(func() error {
			d, err := c.hashRange(gctx, cl, t.job.ns, r, t.job.batchDocs)
			t.job.digests[t.idx][side] = d
			return err
		})
	}
	return g.Wait()
}

// scanBatchBytes is the cursor batch size aimed at (a variable so the
// memory test can scale it down with its data).
var scanBatchBytes int64 = 2 << 20

// batchDocsFor turns scanBatchBytes into a document count for a
// collection's average document size (0 when unknown: the server decides).
func batchDocsFor(avgObjSize int64) int {
	if avgObjSize <= 0 {
		return 0
	}
	return int(max(16, min(100_000, scanBatchBytes/avgObjSize)))
}

// hashRange streams one side of a range and digests its documents.
func (c *contentComparer) hashRange(ctx context.Context, cl *mongo.Client, ns mlink.Namespace, r mongo.Range, batchDocs int) (rangeDigest, error) {
	var d rangeDigest
	err := cl.Scan(ctx, ns, r, mongo.ScanOptions{BatchDocs: batchDocs}, func(b mongo.Batch) error {
		for _, doc := range b.Docs {
			d.add(doc, c.hasher.doc(doc))
		}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("verify: %w", err)
	}
	return d, nil
}

// settle totals a job's digests and drills into the ranges that differ
// until MaxDiffs _ids are listed.
func (c *contentComparer) settle(ctx context.Context, job *collJob) error {
	rep := job.report
	rep.Ranges = len(job.ranges)
	budget := c.opts.MaxDiffs
	for i, pair := range job.digests {
		s, d := pair[0], pair[1]
		rep.SourceCount += s.Count
		rep.TargetCount += d.Count
		rep.SourceBytes += s.Bytes
		rep.TargetBytes += d.Bytes
		if s == d {
			continue
		}
		rep.MismatchedRanges++
		var rd *RangeDiff
		if len(rep.RangeDiffs) < maxListedRanges {
			r := job.ranges[i]
			rep.RangeDiffs = append(rep.RangeDiffs, RangeDiff{Min: boundJSON(r.Min), Max: boundJSON(r.Max), SourceCount: s.Count, TargetCount: d.Count})
			rd = &rep.RangeDiffs[len(rep.RangeDiffs)-1]
		}
		if budget == 0 {
			rep.Truncated = rep.Truncated || c.opts.MaxDiffs > 0
			continue
		}
		diffs, err := c.drill(ctx, job, job.ranges[i], max(s.Count, d.Count))
		if errors.Is(err, errRangeTooLarge) {
			// The sample misjudged this range (say, the source side is
			// empty); listing its _ids would take unbounded memory.
			rep.Truncated = true
			if rd != nil {
				rd.TooLarge = true
			}
			continue
		}
		if err != nil {
			return err
		}
		if rd != nil {
			rd.Drilled = true
			rd.Unconfirmed = diffs.total() == 0
		}
		budget = diffs.listInto(rep, budget)
	}
	return nil
}

func boundJSON(v bson.RawValue) json.RawMessage {
	if v.Type == 0 {
		return nil
	}
	return extJSON(v, true)
}

// idHash is one document of a range: its _id (type byte + value bytes, a
// map key) and the fingerprint of its whole raw bytes.
type idHash struct {
	id string
	h  docHash
}

// rangeDiffs are the _ids of one range that differ, in _id index order.
type rangeDiffs struct {
	missing, extra, different []string
}

func (r rangeDiffs) total() int { return len(r.missing) + len(r.extra) + len(r.different) }

// listInto appends up to budget _ids to the report and returns what is left
// of the budget, marking the report truncated when some did not fit.
func (r rangeDiffs) listInto(rep *ContentReport, budget int) int {
	for _, l := range []struct {
		ids []string
		out *[]json.RawMessage
	}{{r.missing, &rep.Missing}, {r.extra, &rep.Extra}, {r.different, &rep.Different}} {
		for _, id := range l.ids {
			if budget == 0 {
				rep.Truncated = true
				return 0
			}
			*l.out = append(*l.out, idJSON(id))
			budget--
		}
	}
	return budget
}

func idJSON(id string) json.RawMessage {
	if id == "" {
		return json.RawMessage(`null`)
	}
	return extJSON(bson.RawValue{Type: bson.Type(id[0]), Value: []byte(id[1:])}, true)
}

// maxDrillDocs bounds the documents of one side of a range that drill
// keeps (an _id and a fingerprint each, about 100 bytes with the map).
var maxDrillDocs int64 = 1 << 20

var errRangeTooLarge = errors.New("range too large to re-read")

// drill reads both sides of a range and compares them document by document.
// Only _ids and 16-byte fingerprints are kept, so a range of tens of MB of
// documents costs a few MB here; a range larger than maxDrillDocs on either
// side (known from the hash pass, or found while reading) is refused with
// errRangeTooLarge.
func (c *contentComparer) drill(ctx context.Context, job *collJob, r mongo.Range, docs int64) (rangeDiffs, error) {
	if docs > maxDrillDocs {
		return rangeDiffs{}, errRangeTooLarge
	}
	var sides [2][]idHash
	g, gctx := errgroup.WithContext(ctx)
	for side, cl := range []*mongo.Client{c.src, c.dst} {
		g.Go(func() error {
			return cl.Scan(gctx, job.ns, r, mongo.ScanOptions{BatchDocs: job.batchDocs}, func(b mongo.Batch) error {
				for _, doc := range b.Docs {
					sides[side] = append(sides[side], idHash{id: idKey(doc), h: c.hasher.doc(doc)})
				}
				if int64(len(sides[side])) > maxDrillDocs {
					return errRangeTooLarge
				}
				return nil
			})
		})
	}
	if err := g.Wait(); err != nil {
		if errors.Is(err, errRangeTooLarge) {
			return rangeDiffs{}, err
		}
		return rangeDiffs{}, fmt.Errorf("verify: re-read %s: %w", job.ns, err)
	}
	return diffIDs(sides[0], sides[1]), nil
}

// idKey is a document's _id as type byte + value bytes ("" without _id).
func idKey(doc bson.Raw) string {
	v, err := doc.LookupErr("_id")
	if err != nil {
		return ""
	}
	return string(append([]byte{byte(v.Type)}, v.Value...))
}

// diffIDs matches two sides' documents by _id bytes: an _id of another type
// (1 vs 1.0) is another document, as it is for the bytes the sync copies.
func diffIDs(src, dst []idHash) rangeDiffs {
	target := make(map[string]docHash, len(dst))
	for _, e := range dst {
		target[e.id] = e.h
	}
	var out rangeDiffs
	for _, e := range src {
		h, ok := target[e.id]
		switch {
		case !ok:
			out.missing = append(out.missing, e.id)
		case h != e.h:
			out.different = append(out.different, e.id)
		}
		delete(target, e.id)
	}
	for _, e := range dst {
		if _, ok := target[e.id]; ok {
			out.extra = append(out.extra, e.id)
		}
	}
	return out
}
