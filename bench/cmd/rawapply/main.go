// Command rawapply is the replication benchmark's baseline applier: it
// reads the source's change stream from -start-at and applies document
// events to -dst with the same worker count and bulk sizes as mlink, until
// everything up to -until (or the "until T,I" line read from stdin) is
// applied. It prints "applied N" and "elapsed SECONDS" (stream open to
// last write).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rawapply:", err)
		os.Exit(1)
	}
}

func run() error {
	var f bench.ApplyFlags
	f.Register(flag.CommandLine)
	flag.Parse()
	startAt, err := f.Check()
	if err != nil {
		return err
	}
	var until bson.Timestamp
	if f.Until != "" {
		if until, err = bench.ParseTimestamp(f.Until); err != nil {
			return fmt.Errorf("-until: %w", err)
		}
	} else if until, err = bench.ReadUntil(os.Stdin); err != nil {
		return fmt.Errorf("read until from stdin: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	src, err := bench.Connect(f.Src, "rawapply-source")
	if err != nil {
		return err
	}
	defer src.Disconnect(context.WithoutCancel(ctx))
	dst, err := bench.Connect(f.Dst, "rawapply-target")
	if err != nil {
		return err
	}
	defer dst.Disconnect(context.WithoutCancel(ctx))
	start := time.Now()
	n, err := bench.RawApply(ctx, src, dst, startAt, until, f.Opts)
	if err != nil {
		return err
	}
	fmt.Printf("applied %d\nelapsed %.6f\n", n, time.Since(start).Seconds())
	return nil
}
