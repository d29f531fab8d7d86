package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/cupwriter"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/api"
)

// watchView shows successive statuses.
type watchView interface {
	update(st mlink.Status)
	close()
}

// watchStatus polls the daemon every interval and shows progress until the
// sync is finalized (nil), failed (error) or ctx is cancelled (nil). On a
// terminal it draws progress bars; otherwise it prints one line per poll.
func watchStatus(ctx context.Context, c *api.Client, out io.Writer, interval time.Duration, tty bool) error {
	var view watchView = lineView{out: out}
	if tty {
		view = newBarView(out, 0)
	}
	defer view.close()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		st, err := c.Status(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		view.update(st)
		switch st.State {
		case mlink.StateFinalized:
			view.close()
			fmt.Fprintln(out, "sync finalized")
			return nil
		case mlink.StateFailed:
			view.close()
			return fmt.Errorf("sync failed: %s", orDash(st.Error))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// lineView prints one summary line per status (pipes, logs, CI).
type lineView struct{ out io.Writer }

func (v lineView) update(st mlink.Status) { fmt.Fprintln(v.out, summaryLine(st)) }
func (lineView) close()                   {}

func summaryLine(st mlink.Status) string {
	parts := []string{string(st.State)}
	if st.Info != "" {
		parts[0] += ": " + st.Info
	}
	if c := st.Clone; c != nil {
		done := c.CollectionsAll > 0 && c.CollectionsDone == c.CollectionsAll
		parts = append(parts, fmt.Sprintf("clone %.1f%% %s/%s %d/%d collections ETA %s",
			clonePercent(c), fmtBytes(c.CopiedBytes), fmtBytes(c.EstimatedBytes),
			c.CollectionsDone, c.CollectionsAll, fmtETA(c.ETASeconds, done)))
	}
	if lag := lagText(st); lag != "" {
		parts = append(parts, "lag "+lag)
	}
	ev := "events " + fmtCount(st.EventsProcessed)
	if r := st.Replication; r != nil {
		ev += fmt.Sprintf(" (%.1f/s)", r.ApplyRate)
	}
	parts = append(parts, ev)
	if n := len(st.Warnings); n > 0 {
		parts = append(parts, fmt.Sprintf("%d warning(s)", n))
	}
	return strings.Join(parts, " | ")
}

// barView draws, top to bottom: a state line, the clone total, one bar
// per collection and a replication line. Each update waits until its frame
// is written, so every status is drawn and none is drawn with parts of the
// next (mpb renders in its own goroutine).
type barView struct {
	p        *mpb.Progress
	refresh  chan any
	flushed  chan struct{}
	shutdown chan any

	mu     sync.Mutex
	st     mlink.Status
	byNS   map[string]mlink.CollectionProgress
	bars   map[string]*mpb.Bar // by namespace
	total  *mpb.Bar
	header *mpb.Bar
	repl   *mpb.Bar
	nsW    int // widest namespace, for alignment
	closed bool
}

const (
	prioHeader = 0
	prioTotal  = 1
	prioColl   = 2
	prioRepl   = math.MaxInt32
)

// newBarView draws on out; width 0 means the terminal's width.
func newBarView(out io.Writer, width int) *barView {
	v := &barView{refresh: make(chan any), flushed: make(chan struct{}, 1), shutdown: make(chan any),
		byNS: map[string]mlink.CollectionProgress{}, bars: map[string]*mpb.Bar{}, nsW: len("total")}
	cw := flushSignal{ConsoleWriter: cupwriter.New(out, false), flushed: v.flushed}
	opts := []mpb.ContainerOption{mpb.WithConsoleWriter(cw), mpb.WithManualRefresh(v.refresh),
		mpb.WithShutdownNotifier(v.shutdown)}
	if width > 0 {
		opts = append(opts, mpb.WithWidth(width))
	}
	v.p = mpb.New(opts...)
	v.header = v.p.New(0, mpb.NopStyle(), mpb.BarPriority(prioHeader),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return v.headerText() })))
	return v
}

func (v *barView) headerText() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := "state: " + string(v.st.State)
	if v.st.Info != "" {
		s += " - " + v.st.Info
	}
	if v.st.Error != "" {
		s += " - error: " + v.st.Error
	}
	if n := len(v.st.Warnings); n > 0 {
		s += fmt.Sprintf(" - %d warning(s): %s", n, v.st.Warnings[0].Message)
	}
	return s
}

func (v *barView) totalText() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	c := v.st.Clone
	if c == nil {
		return ""
	}
	done := c.CollectionsAll > 0 && c.CollectionsDone == c.CollectionsAll
	return fmt.Sprintf("%5.1f%%  %s / %s  %d/%d coll  %s/s  ETA %s", clonePercent(c),
		fmtBytes(c.CopiedBytes), fmtBytes(c.EstimatedBytes), c.CollectionsDone, c.CollectionsAll,
		fmtBytes(int64(c.BytesPerSec)), fmtETA(c.ETASeconds, done))
}

func (v *barView) collText(ns string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	col := v.byNS[ns]
	p := percent(col.CopiedBytes, col.EstimatedBytes)
	if col.Done {
		p = 100
	}
	return fmt.Sprintf("%5.1f%%  %s / %s  %s docs  ETA %s", p, fmtBytes(col.CopiedBytes), fmtBytes(col.EstimatedBytes),
		fmtCount(col.CopiedDocs), fmtETA(col.ETASeconds, col.Done))
}

func (v *barView) replText() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.st.Replication
	if r == nil {
		return ""
	}
	return fmt.Sprintf("replication: lag %s  applied %s events  %.1f/s  checkpoint age %s",
		fmtSeconds(r.LagSeconds), fmtCount(r.EventsApplied), r.ApplyRate, fmtSeconds(r.CheckpointAge))
}

func (v *barView) name(label string) decor.Decorator {
	return decor.Any(func(decor.Statistics) string {
		v.mu.Lock()
		defer v.mu.Unlock()
		return label + strings.Repeat(" ", max(0, v.nsW-len(label)))
	}, decor.WCSyncWidthR)
}

func (v *barView) update(st mlink.Status) {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	v.st = st
	var newNS []string
	if st.Clone != nil {
		for _, col := range st.Clone.Collections {
			if _, ok := v.byNS[col.Namespace]; !ok {
				newNS = append(newNS, col.Namespace)
			}
			v.byNS[col.Namespace] = col
			v.nsW = max(v.nsW, len(col.Namespace))
		}
	}
	v.mu.Unlock()

	if c := st.Clone; c != nil {
		if v.total == nil {
			v.total = v.p.New(0, mpb.BarStyle(), mpb.BarPriority(prioTotal),
				mpb.PrependDecorators(v.name("total")),
				mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return v.totalText() }, decor.WCSyncWidthR)))
		}
		done := c.CollectionsAll > 0 && c.CollectionsDone == c.CollectionsAll
		setProgress(v.total, c.CopiedBytes, c.EstimatedBytes, done)
		for i, ns := range newNS {
			ns := ns
			v.bars[ns] = v.p.New(0, mpb.BarStyle(), mpb.BarPriority(prioColl+len(v.bars)+i),
				mpb.PrependDecorators(v.name(ns)),
				mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return v.collText(ns) }, decor.WCSyncWidthR)))
		}
		for _, col := range c.Collections {
			setProgress(v.bars[col.Namespace], col.CopiedBytes, col.EstimatedBytes, col.Done)
		}
	}
	if st.Replication != nil && v.repl == nil {
		v.repl = v.p.New(0, mpb.NopStyle(), mpb.BarPriority(prioRepl),
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return v.replText() })))
	}
	v.draw()
}

// draw asks mpb for a frame and waits until it is written (or mpb stopped
// on a render error, which it reports through Wait).
func (v *barView) draw() {
	v.refresh <- time.Now()
	select {
	case <-v.flushed:
	case <-v.shutdown:
	}
}

// flushSignal is mpb's console writer that tells when a frame is written.
type flushSignal struct {
	mpb.ConsoleWriter
	flushed chan struct{}
}

func (w flushSignal) Flush(lines int) error {
	err := w.ConsoleWriter.Flush(lines)
	select {
	case w.flushed <- struct{}{}:
	default: // the final render on Wait is not waited for
	}
	return err
}

// setProgress shows copied of estimated; estimates can be low, so the
// total never goes below what is copied. A done bar is completed.
func setProgress(b *mpb.Bar, copied, estimated int64, done bool) {
	if b.Completed() {
		return
	}
	total := max(estimated, copied, 1)
	if done {
		b.SetTotal(total, true)
		return
	}
	b.SetTotal(total, false)
	b.SetCurrent(copied)
}

// close draws the last status and stops the container.
func (v *barView) close() {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	v.closed = true
	v.mu.Unlock()
	v.draw()
	for _, b := range v.allBars() {
		b.Abort(false)
	}
	v.p.Wait()
}

func (v *barView) allBars() []*mpb.Bar {
	bars := []*mpb.Bar{v.header}
	if v.total != nil {
		bars = append(bars, v.total)
	}
	for _, b := range v.bars {
		bars = append(bars, b)
	}
	if v.repl != nil {
		bars = append(bars, v.repl)
	}
	return bars
}
