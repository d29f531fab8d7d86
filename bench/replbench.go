package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ReplConfig configures the replication benchmark.
type ReplConfig struct {
	BinDir    string
	Base      Dataset      // loaded on both sides before anything is measured
	Backlog   int64        // operations pre-generated for the apply-rate comparison
	Apply     ApplyOptions // for both appliers
	Rounds    int          // apply-rate rounds: raw and mlink back to back, order alternating
	Rates     []float64    // lag test steps (ops/s); none skips the lag test
	StepFor   time.Duration
	LagEvery  time.Duration
	ServerEnv []string
	Log       io.Writer
	Nice      int // nice(1) adjustment of every process started (0: none)
	// MlinkArgs are extra flags for every mlinkrepl run (e.g. -cpuprofile).
	MlinkArgs []string
	// Samples, when set, receives every lag sample of the lag test as
	// "<ms since the test began> <lag ms>" lines, for plotting.
	Samples io.Writer
}

// ApplierRun is one applier draining the backlog.
type ApplierRun struct {
	Applier string // "raw" or "mlink"
	Round   int
	Events  int64         // events the applier reports applied
	Elapsed time.Duration // stream open → everything applied
	Wall    time.Duration // process start → exit
	MaxRSS  int64
	CPU     time.Duration
	Load    float64 // the machine's 1-minute load average at the end of the run
}

// Rate is events applied per second.
func (a ApplierRun) Rate() float64 { return float64(a.Events) / a.Elapsed.Seconds() }

// LagStep is one writer rate of the lag test.
type LagStep struct {
	Target   float64 // ops/s asked of the writer
	Achieved float64 // ops/s the writer managed
	Lag      LagStats
	// CPU is the CPU time the step took of each process: the writer (this
	// process), the source and target servers and mlink; Busy is their sum
	// over what the machine's cores could give in the step.
	WriterCPU, SourceCPU, TargetCPU, MlinkCPU time.Duration
	Busy                                      float64
	Load                                      float64 // 1-minute load average at the end of the step
}

// ReplReport is the replication benchmark's outcome.
type ReplReport struct {
	Base       Dataset
	BacklogOps int64
	Runs       []ApplierRun
	// Ratio is the median over rounds of mlink's rate / raw's rate (the two
	// runs of a round are back to back); CPURatio the same for CPU per event.
	Ratio     float64
	CPURatio  float64
	Steps     []LagStep
	Sustained *LagStep // the highest step with p99 lag < 1 s (nil: none)
}

// ErrNoChangeStreams is returned when the source cannot open a change
// stream, so nothing can be measured.
var ErrNoChangeStreams = errors.New("the source does not support change streams")

// RunReplBench starts two mongosim processes with the same base data,
// pre-generates a backlog on the source, times each applier (in its own
// process) draining it from the same start, and then runs mlink live while
// a writer steps through Rates, sampling its lag.
func RunReplBench(ctx context.Context, cfg ReplConfig) (*ReplReport, error) {
	if cfg.Rounds <= 0 {
		cfg.Rounds = 1
	}
	if cfg.StepFor <= 0 {
		cfg.StepFor = 10 * time.Second
	}
	if cfg.LagEvery <= 0 {
		cfg.LagEvery = 100 * time.Millisecond
	}
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	bins := map[string]string{}
	for _, name := range []string{"mongosim", "rawapply", "mlinkrepl"} {
		p, err := FindBinary(cfg.BinDir, name)
		if err != nil {
			return nil, err
		}
		bins[name] = p
	}
	src, dst, err := startPair(ctx, ProcSpec{Bin: bins["mongosim"], Env: cfg.ServerEnv, Nice: cfg.Nice})
	if err != nil {
		return nil, err
	}
	defer src.Stop()
	defer dst.Stop()
	srcC, err := Connect(src.URI, "bench-writer")
	if err != nil {
		return nil, err
	}
	defer srcC.Disconnect(context.WithoutCancel(ctx))
	dstC, err := Connect(dst.URI, "bench-checker")
	if err != nil {
		return nil, err
	}
	defer dstC.Disconnect(context.WithoutCancel(ctx))
	if err := CheckChangeStreams(ctx, srcC); err != nil {
		return nil, err
	}

	rep := &ReplReport{Base: cfg.Base, BacklogOps: cfg.Backlog}
	logf("loading the base dataset (%d documents) on both servers…", cfg.Base.Docs)
	if _, err := cfg.Base.Load(ctx, srcC, 4, 1000); err != nil {
		return nil, err
	}
	resetTarget := func() error {
		if err := DropUserDatabases(ctx, dstC); err != nil {
			return err
		}
		_, err := cfg.Base.Load(ctx, dstC, 4, 1000)
		return err
	}
	marker := 0
	mark := func() (string, error) {
		marker++
		t, err := WriteMarker(ctx, srcC, cfg.Base.DB, marker)
		return FormatTimestamp(t), err
	}

	// Apply rate: the same backlog, drained by each applier from the same start.
	startAt, err := mark()
	if err != nil {
		return nil, err
	}
	logf("writing a backlog of %d operations on the source…", cfg.Backlog)
	w := StartWriter(ctx, srcC, WriterOptions{Dataset: cfg.Base, Ops: cfg.Backlog, Seed: 1})
	if err := w.Wait(ctx); err != nil {
		return nil, err
	}
	until, err := mark()
	if err != nil {
		return nil, err
	}
	want, err := TakeFingerprint(ctx, srcC, cfg.Base.DB)
	if err != nil {
		return nil, err
	}
	flags := ApplyFlags{Src: src.URI, Dst: dst.URI, StartAt: startAt, Until: until, Opts: cfg.Apply}
	appliers := []struct {
		name, bin string
		extra     []string
	}{{"raw", bins["rawapply"], nil}, {"mlink", bins["mlinkrepl"], cfg.MlinkArgs}}
	for round := 1; round <= cfg.Rounds; round++ {
		for i := range appliers {
			a := appliers[i]
			if round%2 == 0 {
				a = appliers[len(appliers)-1-i]
			}
			if err := resetTarget(); err != nil {
				return nil, fmt.Errorf("reset target: %w", err)
			}
			res, err := RunProc(ctx, ProcSpec{Bin: a.bin, Args: append(flags.Args(), a.extra...), Nice: cfg.Nice})
			if err != nil {
				return nil, err
			}
			run := ApplierRun{Applier: a.name, Round: round, Wall: res.Wall, MaxRSS: res.MaxRSS, CPU: res.CPU, Load: LoadAverage()}
			if run.Events, run.Elapsed, err = parseApplied(res.Stdout); err != nil {
				return nil, fmt.Errorf("%s: %w", a.name, err)
			}
			got, err := TakeFingerprint(ctx, dstC, cfg.Base.DB)
			if err != nil {
				return nil, err
			}
			if d := want.Diff(got); d != "" {
				return nil, fmt.Errorf("after %s applied the backlog the target is not the source: %s", a.name, d)
			}
			logf("round %d %-5s %d events in %s: %.0f events/s (target verified)", round, a.name, run.Events,
				run.Elapsed.Round(time.Millisecond), run.Rate())
			rep.Runs = append(rep.Runs, run)
		}
	}
	var ratios, cpuRatios []float64
	for round := 1; round <= cfg.Rounds; round++ {
		var raw, ml ApplierRun
		for _, r := range rep.Runs {
			if r.Round == round && r.Applier == "raw" {
				raw = r
			} else if r.Round == round {
				ml = r
			}
		}
		ratios = append(ratios, ml.Rate()/raw.Rate())
		cpuRatios = append(cpuRatios, (ml.CPU.Seconds()/float64(ml.Events))/(raw.CPU.Seconds()/float64(raw.Events)))
	}
	rep.Ratio, rep.CPURatio = median(ratios), median(cpuRatios)

	if len(cfg.Rates) > 0 {
		// The target equals the source now (the last applier was verified).
		if err := runLagTest(ctx, cfg, rep, bins["mlinkrepl"], src, dst, srcC, dstC, mark, logf); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// runLagTest replicates with mlink while the writer steps through the rates.
func runLagTest(ctx context.Context, cfg ReplConfig, rep *ReplReport, bin string, src, dst *Server, srcC, dstC *mongo.Client,
	mark func() (string, error), logf func(string, ...any)) error {
	startAt, err := mark()
	if err != nil {
		return err
	}
	flags := ApplyFlags{Src: src.URI, Dst: dst.URI, StartAt: startAt, Opts: cfg.Apply}
	var mu sync.Mutex
	var samples []LagSample
	p, err := StartProc(ctx, ProcSpec{Bin: bin, Nice: cfg.Nice, Args: append(append(flags.Args(), "-lag", "-lag-every", cfg.LagEvery.String()), cfg.MlinkArgs...),
		OnLine: func(line string) {
			if s, ok := ParseLagLine(line); ok {
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
			}
		}})
	if err != nil {
		return err
	}
	defer p.Signal(syscall.SIGKILL) // on early return; harmless after exit
	began := time.Now()
	next, err := NextIDs(ctx, srcC, cfg.Base)
	if err != nil {
		return err
	}
	w := StartWriter(ctx, srcC, WriterOptions{Dataset: cfg.Base, Rate: cfg.Rates[0], Seed: 2, NextIDs: next})
	writerStopped := false
	defer func() {
		if !writerStopped {
			_ = w.Stop()
		}
	}()
	for i, rate := range cfg.Rates {
		w.SetRate(rate)
		from, ops0 := time.Now(), w.Ops()
		cpu0 := stepCPU(src, dst, p)
		select {
		case <-time.After(cfg.StepFor):
		case <-p.Done():
			_, err := p.Wait()
			return fmt.Errorf("mlinkrepl exited during the lag test: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
		to := time.Now()
		if err := w.firstErr(); err != nil {
			return err
		}
		mu.Lock()
		st := LagStep{Target: rate, Achieved: float64(w.Ops()-ops0) / to.Sub(from).Seconds(), Lag: SummariseLag(samples, from, to)}
		mu.Unlock()
		cpu1 := stepCPU(src, dst, p)
		st.WriterCPU, st.SourceCPU, st.TargetCPU, st.MlinkCPU = cpu1[0]-cpu0[0], cpu1[1]-cpu0[1], cpu1[2]-cpu0[2], cpu1[3]-cpu0[3]
		st.Load = LoadAverage()
		st.Busy = (st.WriterCPU + st.SourceCPU + st.TargetCPU + st.MlinkCPU).Seconds() / (float64(runtime.NumCPU()) * to.Sub(from).Seconds())
		rep.Steps = append(rep.Steps, st)
		logf("lag step %d: %.0f ops/s asked, %.0f achieved: lag p50 %s p99 %s max %s (%d samples); CPU busy %.0f%%", i+1, st.Target, st.Achieved,
			st.Lag.P50.Round(time.Millisecond), st.Lag.P99.Round(time.Millisecond), st.Lag.Max.Round(time.Millisecond), st.Lag.Samples, 100*st.Busy)
		if st.Lag.Samples > 0 && st.Lag.P99 < time.Second {
			sustained := st
			rep.Sustained = &sustained
		} else {
			break // higher rates only lag more
		}
	}
	writerStopped = true
	if err := w.Stop(); err != nil {
		return err
	}
	until, err := mark()
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(p.Stdin(), "until %s\n", until); err != nil {
		return fmt.Errorf("tell mlinkrepl where to stop: %w", err)
	}
	if _, err := p.Wait(); err != nil {
		return err
	}
	want, err := TakeFingerprint(ctx, srcC, cfg.Base.DB)
	if err != nil {
		return err
	}
	got, err := TakeFingerprint(ctx, dstC, cfg.Base.DB)
	if err != nil {
		return err
	}
	if d := want.Diff(got); d != "" {
		return fmt.Errorf("after the lag test the target is not the source: %s", d)
	}
	logf("lag test: target verified after catching up")
	if cfg.Samples != nil {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range samples {
			fmt.Fprintf(cfg.Samples, "%d %.1f\n", s.At.Sub(began).Milliseconds(), float64(s.Lag)/float64(time.Millisecond))
		}
	}
	return nil
}

// stepCPU reads the CPU time so far of this process, the two servers and
// the mlink child.
func stepCPU(src, dst *Server, mlink *Proc) [4]time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	own := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	child, _ := procCPU(mlink.Pid())
	return [4]time.Duration{own, serverCPU(src), serverCPU(dst), child}
}

// CheckChangeStreams opens a cluster change stream on c and reads once.
func CheckChangeStreams(ctx context.Context, c *mongo.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cs, err := c.Watch(ctx, mongo.Pipeline{}, options.ChangeStream().SetMaxAwaitTime(10*time.Millisecond))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoChangeStreams, err)
	}
	defer cs.Close(context.WithoutCancel(ctx))
	cs.TryNext(ctx)
	if err := cs.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrNoChangeStreams, err)
	}
	return nil
}

// parseApplied reads the "applied N" and "elapsed S" lines of an applier.
func parseApplied(stdout string) (int64, time.Duration, error) {
	var n int64 = -1
	var el time.Duration
	for _, line := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "applied "); ok {
			n, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "elapsed "); ok {
			s, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			el = time.Duration(s * float64(time.Second))
		}
	}
	if n < 0 || el <= 0 {
		return 0, 0, fmt.Errorf("no applied/elapsed lines in its output: %q", stdout)
	}
	return n, el, nil
}

// WriteTable prints the apply-rate runs, the lag steps and the verdicts.
func (r *ReplReport) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "\nReplication benchmark: base %d documents of ~%d B in %d collections on both sides, backlog of %d operations (25%% insert, 55%% update, 20%% delete)\n",
		r.Base.Docs, r.Base.DocBytes, r.Base.Colls, r.BacklogOps)
	fmt.Fprintf(w, "%-7s %-5s %8s %10s %12s %14s %8s %6s\n", "applier", "round", "events", "elapsed", "events/s", "peak RSS (MB)", "CPU s", "load")
	maxLoad := 0.0
	for _, run := range r.Runs {
		fmt.Fprintf(w, "%-7s %-5d %8d %10s %12.0f %14.1f %8.1f %6.1f\n", run.Applier, run.Round, run.Events,
			run.Elapsed.Round(time.Millisecond), run.Rate(), mb(run.MaxRSS), run.CPU.Seconds(), run.Load)
		maxLoad = max(maxLoad, run.Load)
	}
	fmt.Fprintf(w, "mlink / raw apply rate = %.2fx, median of %d rounds (goal >= 0.8x: %s); CPU per event %.2fx\n",
		r.Ratio, len(r.Runs)/2, verdict(r.Ratio >= 0.8), r.CPURatio)
	defer func() { warnBusy(w, maxLoad) }()
	if len(r.Steps) == 0 {
		return
	}
	fmt.Fprintf(w, "\nLag test (mlink live; lag = wall time since the source last had nothing unapplied, sampled every 100 ms, exact to 10 ms)\n")
	fmt.Fprintf(w, "%12s %10s %8s %9s %9s %9s %6s %30s %6s\n", "asked ops/s", "achieved", "samples", "p50", "p99", "max", "busy",
		"CPU s writer/src/dst/mlink", "load")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "%12.0f %10.0f %8d %9s %9s %9s %5.0f%% %12.1f/%.1f/%.1f/%.1f %6.1f\n", s.Target, s.Achieved, s.Lag.Samples,
			s.Lag.P50.Round(time.Millisecond), s.Lag.P99.Round(time.Millisecond), s.Lag.Max.Round(time.Millisecond), 100*s.Busy,
			s.WriterCPU.Seconds(), s.SourceCPU.Seconds(), s.TargetCPU.Seconds(), s.MlinkCPU.Seconds(), s.Load)
		maxLoad = max(maxLoad, s.Load)
	}
	if s := r.Sustained; s != nil {
		fmt.Fprintf(w, "highest sustained rate with p99 lag < 1 s: %.0f ops/s achieved (%.0f asked)\n", s.Achieved, s.Target)
	} else {
		fmt.Fprintf(w, "no step kept p99 lag < 1 s\n")
	}
}
