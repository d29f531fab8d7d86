// Command mlinkclone runs mlink's clone engine, with its default options
// unless -readers/-writers say otherwise, from -src to -dst: the same code
// path as `mlink start` before replication. It prints "docs N" (documents
// sent) when done.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mlink-dev/mlink/bench"
	"github.com/mlink-dev/mlink/clone"
	"github.com/mlink-dev/mlink/mongo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mlinkclone:", err)
		os.Exit(1)
	}
}

func run() error {
	srcURI := flag.String("src", "", "source connection string")
	dstURI := flag.String("dst", "", "target connection string")
	readers := flag.Int("readers", 0, "clone.Options.Readers (0: mlink's default)")
	writers := flag.Int("writers", 0, "clone.Options.Writers (0: mlink's default)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		stopProfile, err := bench.StartCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	if *srcURI == "" || *dstURI == "" {
		return fmt.Errorf("-src and -dst are required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	src, err := mongo.Connect(ctx, *srcURI, mongo.RoleSource)
	if err != nil {
		return err
	}
	defer src.Close(context.WithoutCancel(ctx))
	dst, err := mongo.Connect(ctx, *dstURI, mongo.RoleTarget)
	if err != nil {
		return err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	cl := clone.New(src, dst, clone.Options{Readers: *readers, Writers: *writers})
	if err := cl.Run(ctx); err != nil {
		return err
	}
	fmt.Printf("docs %d\n", cl.SentDocuments())
	return nil
}
