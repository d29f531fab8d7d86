package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CloneConfig configures the clone benchmark.
type CloneConfig struct {
	BinDir     string  // where mongosim, rawcopy and mlinkclone are built ("" = next to this program)
	Dataset    Dataset // loaded on the source
	RawWorkers []int   // baseline worker counts to try; the best is compared
	BatchDocs  int     // baseline find/insertMany batch size
	Rounds     int     // paired rounds (mlink, then the baseline at its best worker count) after round 0
	ServerEnv  []string
	MlinkArgs  []string  // extra mlinkclone flags (e.g. -writers 8, -cpuprofile f)
	Nice       int       // nice(1) adjustment of every process started (0: none)
	Log        io.Writer // progress lines
}

// CopierRun is one copier's run.
type CopierRun struct {
	Copier  string // "raw" or "mlink"
	Workers int    // raw: insert workers (0 for mlink: its defaults)
	Round   int
	Wall    time.Duration
	MaxRSS  int64
	Docs    int64 // documents the copier reports it sent
	// CPU time during the run: the copier's, and the two servers'.
	CPU, SourceCPU, TargetCPU time.Duration
	Load                      float64 // the machine's 1-minute load average at the end of the run
}

// CloneReport is the clone benchmark's outcome.
type CloneReport struct {
	Dataset   Dataset
	DataBytes int64
	Load      time.Duration
	Runs      []CopierRun // every run, calibration (round 0) included
	// BestWorkers is the baseline's fastest worker count in round 0; Pairs
	// are the rounds that follow, mlink against that baseline.
	BestWorkers  int
	Pairs        []ClonePair
	Ratio        float64 // median over pairs of mlink wall / raw wall
	CPURatio     float64 // median over pairs of mlink CPU / raw CPU (copier processes)
	MlinkPeakRSS int64   // highest peak RSS of mlink's runs
	SourcePeak   int64   // server processes' peak RSS over the whole run
	TargetPeak   int64
}

// RunCloneBench starts two mongosim processes, loads the dataset on the
// source and times each copier (each in its own process) from an empty
// target, checking every copy against the source's fingerprint.
func RunCloneBench(ctx context.Context, cfg CloneConfig) (*CloneReport, error) {
	if cfg.Rounds <= 0 {
		cfg.Rounds = 1
	}
	if len(cfg.RawWorkers) == 0 {
		cfg.RawWorkers = []int{4, 8, 16}
	}
	if cfg.BatchDocs <= 0 {
		cfg.BatchDocs = 1000
	}
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	bins := map[string]string{}
	for _, name := range []string{"mongosim", "rawcopy", "mlinkclone"} {
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
	srcC, err := Connect(src.URI, "bench-loader")
	if err != nil {
		return nil, err
	}
	defer srcC.Disconnect(context.WithoutCancel(ctx))
	dstC, err := Connect(dst.URI, "bench-checker")
	if err != nil {
		return nil, err
	}
	defer dstC.Disconnect(context.WithoutCancel(ctx))

	rep := &CloneReport{Dataset: cfg.Dataset}
	logf("loading %d documents of ~%d B in %d collections…", cfg.Dataset.Docs, cfg.Dataset.DocBytes, cfg.Dataset.Colls)
	start := time.Now()
	if rep.DataBytes, err = cfg.Dataset.Load(ctx, srcC, 4, 1000); err != nil {
		return nil, err
	}
	rep.Load = time.Since(start)
	want, err := TakeFingerprint(ctx, srcC, cfg.Dataset.DB)
	if err != nil {
		return nil, err
	}
	if want.Total() != cfg.Dataset.Docs {
		return nil, fmt.Errorf("source holds %d documents after loading, want %d", want.Total(), cfg.Dataset.Docs)
	}
	logf("loaded %.1f MB in %s", float64(rep.DataBytes)/1e6, rep.Load.Round(time.Millisecond))

	type copier struct {
		name    string
		workers int
		bin     string
		args    []string
	}
	runOne := func(c copier, round int) (CopierRun, error) {
		if err := DropUserDatabases(ctx, dstC); err != nil {
			return CopierRun{}, fmt.Errorf("reset target: %w", err)
		}
		srcCPU, dstCPU := serverCPU(src), serverCPU(dst)
		res, err := RunProc(ctx, ProcSpec{Bin: c.bin, Args: c.args, Nice: cfg.Nice})
		if err != nil {
			return CopierRun{}, err
		}
		run := CopierRun{Copier: c.name, Workers: c.workers, Round: round, Wall: res.Wall, MaxRSS: res.MaxRSS,
			Docs: reportedDocs(res.Stdout), CPU: res.CPU,
			SourceCPU: serverCPU(src) - srcCPU, TargetCPU: serverCPU(dst) - dstCPU, Load: LoadAverage()}
		got, err := TakeFingerprint(ctx, dstC, cfg.Dataset.DB)
		if err != nil {
			return CopierRun{}, err
		}
		if d := want.Diff(got); d != "" {
			return CopierRun{}, fmt.Errorf("%s copy (workers %d) is not the source: %s", c.name, c.workers, d)
		}
		logf("round %d %-5s workers %-2s %8s  peak RSS %6.1f MB  CPU %5.1f s  (copy verified)", round, c.name,
			workersLabel(c.workers), run.Wall.Round(time.Millisecond), mb(run.MaxRSS), run.CPU.Seconds())
		rep.Runs = append(rep.Runs, run)
		return run, nil
	}
	rawCopier := func(w int) copier {
		return copier{"raw", w, bins["rawcopy"],
			[]string{"-src", src.URI, "-dst", dst.URI, "-workers", strconv.Itoa(w), "-batch", strconv.Itoa(cfg.BatchDocs)}}
	}
	mlinkCopier := copier{"mlink", 0, bins["mlinkclone"], append([]string{"-src", src.URI, "-dst", dst.URI}, cfg.MlinkArgs...)}

	// Round 0 finds the baseline's best worker count; then mlink and that
	// baseline run in pairs, alternating which goes first, and the pairs'
	// median ratio is the result: neighbours' load drifts, a pair's two
	// runs are minutes apart at most.
	best := CopierRun{}
	for _, w := range cfg.RawWorkers {
		run, err := runOne(rawCopier(w), 0)
		if err != nil {
			return nil, err
		}
		if best.Wall == 0 || run.Wall < best.Wall {
			best = run
		}
	}
	rep.BestWorkers = best.Workers
	for round := 1; round <= cfg.Rounds; round++ {
		order := []copier{mlinkCopier, rawCopier(best.Workers)}
		if round%2 == 0 {
			order[0], order[1] = order[1], order[0]
		}
		var p ClonePair
		for _, c := range order {
			run, err := runOne(c, round)
			if err != nil {
				return nil, err
			}
			if c.name == "mlink" {
				p.Mlink = run
			} else {
				p.Raw = run
			}
		}
		p.Ratio = p.Mlink.Wall.Seconds() / p.Raw.Wall.Seconds()
		p.CPURatio = p.Mlink.CPU.Seconds() / p.Raw.CPU.Seconds()
		rep.Pairs = append(rep.Pairs, p)
	}
	var ratios, cpuRatios []float64
	for _, p := range rep.Pairs {
		ratios, cpuRatios = append(ratios, p.Ratio), append(cpuRatios, p.CPURatio)
		rep.MlinkPeakRSS = max(rep.MlinkPeakRSS, p.Mlink.MaxRSS)
	}
	rep.Ratio, rep.CPURatio = median(ratios), median(cpuRatios)
	_, rep.SourcePeak, _ = src.Memory()
	_, rep.TargetPeak, _ = dst.Memory()
	return rep, nil
}

// ClonePair is one round: mlink and the baseline at its best worker count.
type ClonePair struct {
	Mlink, Raw      CopierRun
	Ratio, CPURatio float64 // mlink / raw: wall time, and the copier's CPU time
}

// median of a non-empty slice (sorted in place).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	if n := len(v); n%2 == 1 {
		return v[n/2]
	} else {
		return (v[n/2-1] + v[n/2]) / 2
	}
}

// startPair starts the source and the target server processes.
func startPair(ctx context.Context, spec ProcSpec) (src, dst *Server, err error) {
	spec.Args = []string{"--replset", "rs0"}
	if src, err = StartServer(ctx, spec); err != nil {
		return nil, nil, fmt.Errorf("source server: %w", err)
	}
	spec.Args = []string{"--replset", "rs1"}
	if dst, err = StartServer(ctx, spec); err != nil {
		_ = src.Stop()
		return nil, nil, fmt.Errorf("target server: %w", err)
	}
	return src, dst, nil
}

// serverCPU is a server's CPU time so far (0 if unreadable: the column
// then shows nonsense rather than failing the benchmark).
func serverCPU(s *Server) time.Duration {
	d, _ := s.CPU()
	return d
}

// reportedDocs reads the "docs N" line a copier prints.
func reportedDocs(stdout string) int64 {
	for _, line := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "docs "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return -1
}

func workersLabel(w int) string {
	if w == 0 {
		return "-"
	}
	return strconv.Itoa(w)
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// WriteTable prints the runs and the verdict against the goals.
func (r *CloneReport) WriteTable(w io.Writer) {
	d := r.Dataset
	fmt.Fprintf(w, "\nClone benchmark: %d documents (%.0f MB of BSON, ~%d B each) in %d collections, source and target mongosim in their own processes\n",
		d.Docs, float64(r.DataBytes)/1e6, d.DocBytes, d.Colls)
	fmt.Fprintf(w, "%-6s %-7s %-5s %10s %10s %8s %14s %22s %6s\n", "copier", "workers", "round", "wall", "docs/s", "MB/s", "peak RSS (MB)", "CPU s copier/src/dst", "load")
	maxLoad := 0.0
	for _, run := range r.Runs {
		fmt.Fprintf(w, "%-6s %-7s %-5d %10s %10.0f %8.1f %14.1f %10.1f/%.1f/%.1f %6.1f\n", run.Copier, workersLabel(run.Workers), run.Round,
			run.Wall.Round(time.Millisecond), float64(d.Docs)/run.Wall.Seconds(), float64(r.DataBytes)/1e6/run.Wall.Seconds(), mb(run.MaxRSS),
			run.CPU.Seconds(), run.SourceCPU.Seconds(), run.TargetCPU.Seconds(), run.Load)
		maxLoad = max(maxLoad, run.Load)
	}
	fmt.Fprintf(w, "baseline's best worker count (round 0): %d; pairs (mlink vs raw, order alternating):\n", r.BestWorkers)
	for i, p := range r.Pairs {
		fmt.Fprintf(w, "  round %d: mlink %s, raw %s: %.2fx wall, %.2fx CPU\n", i+1, p.Mlink.Wall.Round(time.Millisecond),
			p.Raw.Wall.Round(time.Millisecond), p.Ratio, p.CPURatio)
	}
	fmt.Fprintf(w, "mlink / raw wall time = %.2fx, median of %d pairs (goal <= 1.25x: %s); copier CPU time %.2fx\n",
		r.Ratio, len(r.Pairs), verdict(r.Ratio <= 1.25), r.CPURatio)
	fmt.Fprintf(w, "mlink peak RSS = %.1f MB (goal <= 300 MB: %s)\n", mb(r.MlinkPeakRSS), verdict(r.MlinkPeakRSS <= 300<<20))
	fmt.Fprintf(w, "servers' peak RSS: source %.0f MB, target %.0f MB\n", mb(r.SourcePeak), mb(r.TargetPeak))
	warnBusy(w, maxLoad)
}

// warnBusy flags results taken while other work loaded the machine: the
// benchmark itself keeps about NumCPU+1 runnable threads at most.
func warnBusy(w io.Writer, maxLoad float64) {
	if cpus := runtime.NumCPU(); maxLoad > float64(cpus)+1 {
		fmt.Fprintf(w, "WARNING: load average reached %.1f on %d CPUs: other work shared the machine, so wall times (and their ratio) are unreliable; CPU seconds are less affected\n", maxLoad, cpus)
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
