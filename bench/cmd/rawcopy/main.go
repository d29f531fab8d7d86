// Command rawcopy is the clone benchmark's baseline: a minimal parallel
// find → insertMany copier of every user collection from -src to -dst. It
// prints "docs N" (documents inserted) when done.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mlink-dev/mlink/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rawcopy:", err)
		os.Exit(1)
	}
}

func run() error {
	srcURI := flag.String("src", "", "source connection string")
	dstURI := flag.String("dst", "", "target connection string")
	workers := flag.Int("workers", 8, "insertMany calls in flight (as many collections read at once, at most)")
	batch := flag.Int("batch", 1000, "find batch size and documents per insertMany")
	flag.Parse()
	if *srcURI == "" || *dstURI == "" {
		return fmt.Errorf("-src and -dst are required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	src, err := bench.Connect(*srcURI, "rawcopy-source")
	if err != nil {
		return err
	}
	defer src.Disconnect(context.WithoutCancel(ctx))
	dst, err := bench.Connect(*dstURI, "rawcopy-target")
	if err != nil {
		return err
	}
	defer dst.Disconnect(context.WithoutCancel(ctx))
	n, err := bench.RawCopy(ctx, src, dst, bench.RawCopyOptions{Workers: *workers, BatchDocs: *batch})
	if err != nil {
		return err
	}
	fmt.Printf("docs %d\n", n)
	return nil
}
