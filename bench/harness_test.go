package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binaries builds mongosim and the bench programs once per test run.
func binaries(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		t.Skipf("environment: no go toolchain at %s to build the benchmark programs", goBin)
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "mlink-bench-bin-"); buildErr != nil {
			return
		}
		cmd := exec.Command(goBin, "build", "-o", buildDir+string(os.PathSeparator),
			"github.com/mlink-dev/mlink/cmd/mongosim", "github.com/mlink-dev/mlink/bench/cmd/...")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = err
			buildDir = buildDir + " (build failed: " + string(out) + ")"
		}
	})
	if buildErr != nil {
		t.Fatalf("build benchmark programs: %v in %s", buildErr, buildDir)
	}
	return buildDir
}

func TestCloneBenchRunsEveryCopierAndVerifies(t *testing.T) {
	dir := binaries(t)
	var log strings.Builder
	rep, err := RunCloneBench(context.Background(), CloneConfig{
		BinDir:     dir,
		Dataset:    Dataset{DB: "bench", Colls: 4, Docs: 2000, DocBytes: 600},
		RawWorkers: []int{1, 4},
		Rounds:     2,
		Log:        &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 6 || len(rep.Pairs) != 2 {
		t.Fatalf("%d runs and %d pairs, want 2 calibration runs then 2 pairs", len(rep.Runs), len(rep.Pairs))
	}
	// Round 0 tries each worker count; pairs alternate which copier goes first.
	order := []string{"raw", "raw", "mlink", "raw", "raw", "mlink"}
	rounds := []int{0, 0, 1, 1, 2, 2}
	for i, r := range rep.Runs {
		if r.Copier != order[i] || r.Round != rounds[i] || r.Docs != 2000 || r.Wall <= 0 || r.MaxRSS < 1<<20 || r.CPU <= 0 {
			t.Fatalf("run %d = %+v (want copier %s in round %d, 2000 docs, a wall time, an RSS and CPU time)", i, r, order[i], rounds[i])
		}
	}
	best := rep.Runs[0]
	if rep.Runs[1].Wall < best.Wall {
		best = rep.Runs[1]
	}
	if rep.BestWorkers != best.Workers {
		t.Fatalf("best workers %d, but round 0's fastest run is %+v", rep.BestWorkers, best)
	}
	var ratios []float64
	for _, p := range rep.Pairs {
		if p.Raw.Workers != best.Workers || p.Mlink.Copier != "mlink" {
			t.Fatalf("pair %+v", p)
		}
		if want := p.Mlink.Wall.Seconds() / p.Raw.Wall.Seconds(); p.Ratio != want {
			t.Fatalf("pair ratio %v, want %v", p.Ratio, want)
		}
		ratios = append(ratios, p.Ratio)
	}
	if want := (ratios[0] + ratios[1]) / 2; rep.Ratio != want {
		t.Fatalf("ratio %v, want the median of %v", rep.Ratio, ratios)
	}
	if rep.MlinkPeakRSS != max(rep.Pairs[0].Mlink.MaxRSS, rep.Pairs[1].Mlink.MaxRSS) {
		t.Fatalf("mlink peak RSS %d", rep.MlinkPeakRSS)
	}
	if rep.DataBytes < 2000*525 || rep.SourcePeak <= 0 || rep.TargetPeak <= 0 {
		t.Fatalf("report %+v", rep)
	}
	var table strings.Builder
	rep.WriteTable(&table)
	for _, want := range []string{"mlink / raw wall time = ", "median of 2 pairs", "mlink peak RSS = ", "best worker count (round 0): "} {
		if !strings.Contains(table.String(), want) {
			t.Fatalf("table lacks %q:\n%s", want, table.String())
		}
	}
	if strings.Count(log.String(), "(copy verified)") != 6 {
		t.Fatalf("log:\n%s", log.String())
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}, {nil, 0}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestCloneBenchRejectsAnIncompleteCopy(t *testing.T) {
	dir := binaries(t)
	// A "copier" that reports success without copying anything.
	fake := t.TempDir()
	for _, name := range []string{"mongosim", "mlinkclone"} {
		if err := os.Symlink(filepath.Join(dir, name), filepath.Join(fake, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(fake, "rawcopy"), []byte("#!/bin/sh\necho docs 2000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := RunCloneBench(context.Background(), CloneConfig{BinDir: fake, RawWorkers: []int{2},
		Dataset: Dataset{DB: "bench", Colls: 2, Docs: 200, DocBytes: 600}})
	if err == nil || !strings.Contains(err.Error(), "raw copy (workers 2) is not the source: [c0: missing c1: missing]") {
		t.Fatalf("err = %v", err)
	}
}

func TestReplBenchRunsBothAppliersAndTheLagTest(t *testing.T) {
	dir := binaries(t)
	var log, samples strings.Builder
	rep, err := RunReplBench(context.Background(), ReplConfig{
		BinDir:   dir,
		Base:     Dataset{DB: "bench", Colls: 3, Docs: 1500, DocBytes: 600},
		Backlog:  4000,
		Apply:    ApplyOptions{Workers: 4, BatchDocs: 500, BatchBytes: 4 << 20, FlushInterval: 5 * time.Millisecond},
		Rates:    []float64{300, 600},
		StepFor:  1500 * time.Millisecond,
		LagEvery: 50 * time.Millisecond,
		Log:      &log,
		Samples:  &samples,
	})
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	if len(rep.Runs) != 2 || rep.Runs[0].Applier != "raw" || rep.Runs[1].Applier != "mlink" {
		t.Fatalf("runs %+v", rep.Runs)
	}
	raw, ml := rep.Runs[0], rep.Runs[1]
	// Both drained the same events: the backlog (minus writes that matched
	// nothing) and the two markers around it.
	if raw.Events != ml.Events || raw.Events < 2500 || raw.Events > 4002 {
		t.Fatalf("raw applied %d events, mlink %d; want the same, about 4000", raw.Events, ml.Events)
	}
	if raw.Elapsed <= 0 || ml.Elapsed <= 0 || raw.Elapsed > raw.Wall || ml.Elapsed > ml.Wall {
		t.Fatalf("elapsed must be positive and within the process's wall time: %+v %+v", raw, ml)
	}
	if got, want := rep.Ratio, ml.Rate()/raw.Rate(); got != want {
		t.Fatalf("ratio %v, want %v", got, want)
	}
	if len(rep.Steps) == 0 {
		t.Fatal("no lag step ran")
	}
	for _, s := range rep.Steps {
		if s.Lag.Samples < 10 || s.Lag.P50 > s.Lag.P99 || s.Lag.P99 > s.Lag.Max || s.Achieved <= 0 || s.MlinkCPU <= 0 || s.Busy <= 0 {
			t.Fatalf("step %+v", s)
		}
	}
	if n := strings.Count(samples.String(), "\n"); n < 20 {
		t.Fatalf("%d lag samples written", n)
	}
	if !strings.Contains(log.String(), "lag test: target verified after catching up") {
		t.Fatalf("log:\n%s", log.String())
	}
}
