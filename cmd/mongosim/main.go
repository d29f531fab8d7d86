// Command mongosim runs one or more simulated MongoDB replica-set primaries
// (or standalones) in memory until SIGINT/SIGTERM, printing their URIs.
//
//	mongosim --port 27017 --port 27018 --version 7.0.12
//	mongosim --ports 27017,27018 --replset rs0
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mlink-dev/mlink/mongosim"
)

type portList []int

func (p *portList) String() string { return fmt.Sprint(*p) }

func (p *portList) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("invalid port %q", f)
		}
		*p = append(*p, n)
	}
	return nil
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mongosim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mongosim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ports portList
	fs.Var(&ports, "port", "port to listen on (repeatable; 0 = any free port)")
	fs.Var(&ports, "ports", "comma-separated ports to listen on")
	host := fs.String("host", "127.0.0.1", "address to bind")
	version := fs.String("version", "8.0.4", "MongoDB version to report (6.0.x, 7.0.x, 8.0.x)")
	replset := fs.String("replset", "rs0", "replica set name; each server is its own single-node set")
	standalone := fs.Bool("standalone", false, "run without a replica set")
	noop := fs.Duration("noop-interval", 10*time.Second, "idle no-op write interval")
	verbose := fs.Bool("v", false, "log connections and errors to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if len(ports) == 0 {
		ports = portList{27017}
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var servers []*mongosim.Server
	defer func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}()
	for _, p := range ports {
		// Each server is its own single-node set named --replset; connect to
		// each with its own URI (never list two of them in one seed list).
		s, err := mongosim.Start(ctx, mongosim.Options{
			Version: *version, ReplSetName: *replset, Standalone: *standalone,
			Addr: fmt.Sprintf("%s:%d", *host, p), NoopInterval: *noop, Logger: logger,
		})
		if err != nil {
			return err
		}
		servers = append(servers, s)
		fmt.Fprintln(stdout, s.URI())
	}
	<-ctx.Done()
	return nil
}
