package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
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
	Rounds     int     // repeat every copier; each keeps its fastest round
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
	Dataset    Dataset
	DataBytes  int64
	Load       time.Duration
	Runs       []CopierRun
	BestRaw    CopierRun
	Mlink      CopierRun
	Ratio      float64 // mlink wall / best raw wall
	CPURatio   float64 // mlink's CPU time / the best raw run's (copier process only)
	SourcePeak int64   // server processes' peak RSS over the whole run
	TargetPeak int64
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
	var copiers []copier
	for _, w := range cfg.RawWorkers {
		copiers = append(copiers, copier{"raw", w, bins["rawcopy"],
			[]string{"-src", src.URI, "-dst", dst.URI, "-workers", strconv.Itoa(w), "-batch", strconv.Itoa(cfg.BatchDocs)}})
	}
	copiers = append(copiers, copier{"mlink", 0, bins["mlinkclone"], append([]string{"-src", src.URI, "-dst", dst.URI}, cfg.MlinkArgs...)})
	for round := 1; round <= cfg.Rounds; round++ {
		order := copiers
		if round%2 == 0 { // alternate the order so neither side always meets a warmer target
			order = make([]copier, len(copiers))
			for i, c := range copiers {
				order[len(copiers)-1-i] = c
			}
		}
		for _, c := range order {
			if err := DropUserDatabases(ctx, dstC); err != nil {
				return nil, fmt.Errorf("reset target: %w", err)
			}
			srcCPU, dstCPU := serverCPU(src), serverCPU(dst)
			res, err := RunProc(ctx, ProcSpec{Bin: c.bin, Args: c.args, Nice: cfg.Nice})
			if err != nil {
				return nil, err
			}
			run := CopierRun{Copier: c.name, Workers: c.workers, Round: round, Wall: res.Wall, MaxRSS: res.MaxRSS,
				Docs: reportedDocs(res.Stdout), CPU: res.CPU,
				SourceCPU: serverCPU(src) - srcCPU, TargetCPU: serverCPU(dst) - dstCPU, Load: LoadAverage()}
			got, err := TakeFingerprint(ctx, dstC, cfg.Dataset.DB)
			if err != nil {
				return nil, err
			}
			if d := want.Diff(got); d != "" {
				return nil, fmt.Errorf("%s copy (workers %d) is not the source: %s", c.name, c.workers, d)
			}
			logf("round %d %-5s workers %-2s %8s  peak RSS %6.1f MB  %.0f docs/s  (copy verified)", round, c.name,
				workersLabel(c.workers), run.Wall.Round(time.Millisecond), mb(run.MaxRSS), float64(cfg.Dataset.Docs)/run.Wall.Seconds())
			rep.Runs = append(rep.Runs, run)
		}
	}
	for _, r := range rep.Runs {
		switch {
		case r.Copier == "raw" && (rep.BestRaw.Wall == 0 || r.Wall < rep.BestRaw.Wall):
			rep.BestRaw = r
		case r.Copier == "mlink" && (rep.Mlink.Wall == 0 || r.Wall < rep.Mlink.Wall):
			rep.Mlink = r
		}
	}
	rep.Ratio = rep.Mlink.Wall.Seconds() / rep.BestRaw.Wall.Seconds()
	rep.CPURatio = rep.Mlink.CPU.Seconds() / rep.BestRaw.CPU.Seconds()
	_, rep.SourcePeak, _ = src.Memory()
	_, rep.TargetPeak, _ = dst.Memory()
	return rep, nil
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
	fmt.Fprintf(w, "best raw baseline: %d workers, %s; mlink: %s\n", r.BestRaw.Workers, r.BestRaw.Wall.Round(time.Millisecond), r.Mlink.Wall.Round(time.Millisecond))
	fmt.Fprintf(w, "mlink / raw wall time = %.2fx (goal <= 1.25x: %s); copier CPU time %.2fx\n", r.Ratio, verdict(r.Ratio <= 1.25), r.CPURatio)
	fmt.Fprintf(w, "mlink peak RSS = %.1f MB (goal <= 300 MB: %s)\n", mb(r.Mlink.MaxRSS), verdict(r.Mlink.MaxRSS <= 300<<20))
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
