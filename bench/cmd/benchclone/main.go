// Command benchclone is the clone benchmark: two mongosim server processes,
// a generated dataset on the source, then mlink's clone engine and the raw
// baseline copier (at several worker counts), each in its own process,
// timed from an empty target and checked against the source.
//
//	benchclone                      # 1M documents of ~1 KB in 8 collections
//	benchclone -docs 4000000        # the 4x dataset (needs ~10 GB of RAM)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/mlink-dev/mlink/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchclone:", err)
		os.Exit(1)
	}
}

func run() error {
	docs := flag.Int64("docs", 1_000_000, "documents to clone")
	colls := flag.Int("colls", 8, "collections they are spread over")
	size := flag.Int("doc-bytes", 1024, "average document size in bytes")
	workers := flag.String("raw-workers", "4,8,16", "baseline worker counts tried in round 0 (the fastest is compared)")
	rounds := flag.Int("rounds", 3, "paired rounds of mlink against the baseline at its best worker count (the median ratio is reported)")
	nice := flag.Int("nice", 0, "run the servers and the measured programs under nice -n N (e.g. -5 on a machine shared with other work; negative needs root)")
	binDir := flag.String("bin", "", "directory holding mongosim, rawcopy and mlinkclone (default: this program's)")
	mlinkFlags := flag.String("mlink-flags", "", "extra flags for mlinkclone, space-separated (e.g. \"-writers 8\" or \"-cpuprofile /tmp/clone.prof\")")
	gogc := flag.String("server-gogc", "", "GOGC of the server processes (default: Go's)")
	flag.Parse()
	var ws []int
	for _, f := range strings.Split(*workers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("-raw-workers: bad count %q", f)
		}
		ws = append(ws, n)
	}
	var env []string
	if *gogc != "" {
		env = append(env, "GOGC="+*gogc)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.RunCloneBench(ctx, bench.CloneConfig{
		BinDir:     *binDir,
		Dataset:    bench.Dataset{DB: "bench", Colls: *colls, Docs: *docs, DocBytes: *size},
		RawWorkers: ws,
		Rounds:     *rounds,
		ServerEnv:  env,
		MlinkArgs:  strings.Fields(*mlinkFlags),
		Log:        os.Stderr,
		Nice:       *nice,
	})
	if err != nil {
		return err
	}
	rep.WriteTable(os.Stdout)
	return nil
}
