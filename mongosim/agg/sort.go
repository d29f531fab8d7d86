package agg

import (
	"container/heap"
	"context"
	"sort"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/query"
)

func init() { stageParsers["$sort"] = parseSort }

type sortStage struct {
	sort  *query.Sort
	limit int64 // >0: only the first limit documents are needed (top-k)
}

func (s *sortStage) name() string { return "$sort" }

func parseSort(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(15973, "the $sort key specification must be an object")
	}
	srt, err := query.CompileSort(arg.Document())
	if err != nil {
		return nil, err
	}
	if srt.Len() == 0 {
		if _, natural := srt.Natural(); !natural {
			return nil, mongoerr.New(15976, "$sort stage must have at least one sort key")
		}
	}
	return &sortStage{sort: srt}, nil
}

type keyedDoc struct {
	doc bsoncore.Document
	key []bsoncore.Value
	seq int64
}

func (s *sortStage) less(a, b *keyedDoc) bool {
	if c := s.sort.CompareKeys(a.key, b.key); c != 0 {
		return c < 0
	}
	return a.seq < b.seq // stable
}

// topK is a max-heap holding the k smallest documents seen so far.
type topK struct {
	s    *sortStage
	docs []*keyedDoc
}

func (h *topK) Len() int           { return len(h.docs) }
func (h *topK) Less(i, j int) bool { return h.s.less(h.docs[j], h.docs[i]) }
func (h *topK) Swap(i, j int)      { h.docs[i], h.docs[j] = h.docs[j], h.docs[i] }
func (h *topK) Push(x any)         { h.docs = append(h.docs, x.(*keyedDoc)) }
func (h *topK) Pop() any {
	last := h.docs[len(h.docs)-1]
	h.docs = h.docs[:len(h.docs)-1]
	return last
}

func (s *sortStage) run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error) {
	return blockingIter(func() ([]*keyedDoc, error) { return s.load(ctx, in) },
		func(kd *keyedDoc) bsoncore.Document { return kd.doc }), nil
}

func (s *sortStage) load(ctx context.Context, in Iterator) ([]*keyedDoc, error) {
	h := &topK{s: s}
	var all []*keyedDoc
	seq := int64(0)
	err := forEachInput(ctx, in, func(d bsoncore.Document) error {
		kd := &keyedDoc{doc: d, key: s.sort.Key(d), seq: seq}
		seq++
		if s.limit <= 0 {
			all = append(all, kd)
			return nil
		}
		if int64(h.Len()) < s.limit {
			heap.Push(h, kd)
		} else if s.less(kd, h.docs[0]) {
			h.docs[0] = kd
			heap.Fix(h, 0)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.limit > 0 {
		all = h.docs
	}
	sort.Slice(all, func(i, j int) bool { return s.less(all[i], all[j]) })
	return all, nil
}
