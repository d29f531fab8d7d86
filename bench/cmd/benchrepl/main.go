// Command benchrepl is the replication benchmark: two mongosim server
// processes with the same base data; a backlog of writes on the source
// drained by the raw baseline applier and by mlink's replicator (each in
// its own process, same workers and bulk sizes, same events); then mlink
// live while a writer steps through increasing rates, its lag sampled
// every 100 ms.
//
//	benchrepl                               # defaults: see -h
//	benchrepl -rates 1000,2000,5000,10000,20000 -step 15s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mlink-dev/mlink/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchrepl:", err)
		os.Exit(1)
	}
}

func run() error {
	var apply bench.ApplyOptions
	apply.Register(flag.CommandLine)
	base := flag.Int64("base-docs", 50_000, "documents loaded on both sides before the benchmark")
	colls := flag.Int("colls", 4, "collections")
	size := flag.Int("doc-bytes", 1024, "average document size in bytes")
	backlog := flag.Int64("backlog", 200_000, "operations in the backlog both appliers drain")
	rounds := flag.Int("rounds", 3, "apply-rate rounds, each applier once per round (the median ratio is reported)")
	rates := flag.String("rates", "1000,2000,5000,10000,20000", "lag test writer rates, ops/s (empty: no lag test)")
	step := flag.Duration("step", 10*time.Second, "duration of each lag test step")
	samplesPath := flag.String("samples", "", "write every lag sample (ms since the lag test began, lag ms) to this file")
	mlinkFlags := flag.String("mlink-flags", "", "extra flags for mlinkrepl, space-separated (e.g. \"-cpuprofile /tmp/repl.prof\"; the lag test's run overwrites the apply run's file)")
	nice := flag.Int("nice", 0, "run the servers and the measured programs under nice -n N (e.g. -5 on a machine shared with other work; negative needs root)")
	binDir := flag.String("bin", "", "directory holding mongosim, rawapply and mlinkrepl (default: this program's)")
	flag.Parse()
	var rs []float64
	for _, v := range strings.Split(*rates, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 {
			return fmt.Errorf("-rates: bad rate %q", v)
		}
		rs = append(rs, r)
	}
	cfgSamples := io.Writer(nil)
	if *samplesPath != "" {
		f, err := os.Create(*samplesPath)
		if err != nil {
			return err
		}
		defer f.Close()
		cfgSamples = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.RunReplBench(ctx, bench.ReplConfig{
		BinDir:    *binDir,
		Base:      bench.Dataset{DB: "bench", Colls: *colls, Docs: *base, DocBytes: *size},
		Backlog:   *backlog,
		Apply:     apply,
		Rounds:    *rounds,
		Rates:     rs,
		StepFor:   *step,
		Log:       os.Stderr,
		Nice:      *nice,
		Samples:   cfgSamples,
		MlinkArgs: strings.Fields(*mlinkFlags),
	})
	if err != nil {
		return err
	}
	rep.WriteTable(os.Stdout)
	return nil
}
