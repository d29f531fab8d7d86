// Command mongosim runs one or more simulated MongoDB replica-set primaries
// (or standalones) in memory until SIGINT/SIGTERM, printing their URIs.
//
//	mongosim --port 27017 --port 27018 --version 7.0.12
//	mongosim --ports 27017,27018 --replset rs0
//	mongosim --user admin:secret:root --user app:pw:readWrite@app
//	mongosim --tls-cert server.pem --tls-key server-key.pem --tls-ca ca.pem
//	mongosim --oplog-max-entries 10000 --oplog-max-bytes 0
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
	"syscall"
	"time"

	"github.com/mlink-dev/mlink/mongosim"
)

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
	var userSpecs userList
	fs.Var(&userSpecs, "user", "SCRAM user on the admin database, `spec` = name:password:role[@db][,role[@db]...] (repeatable; turns access control on; a role without @db is on admin)")
	tlsCert := fs.String("tls-cert", "", "PEM certificate `file`: accept TLS connections only")
	tlsKey := fs.String("tls-key", "", "PEM private key `file` of --tls-cert")
	tlsCA := fs.String("tls-ca", "", "PEM CA `file`: require client certificates signed by it")
	oplogBytes := fs.Int64("oplog-max-bytes", 256<<20, "oplog (change-stream history) retention in `bytes`; 0 = no byte bound")
	oplogEntries := fs.Int("oplog-max-entries", 0, "oplog retention in entries; 0 = no entry bound")
	verbose := fs.Bool("v", false, "log connections and errors to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if len(ports) == 0 {
		ports = portList{27017}
	}
	users, err := userSpecs.users()
	if err != nil {
		return err
	}
	tlsCfg, err := tlsConfig(*tlsCert, *tlsKey, *tlsCA)
	if err != nil {
		return err
	}
	retention, err := oplogRetention(*oplogBytes, *oplogEntries)
	if err != nil {
		return err
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
			Users: users, TLS: tlsCfg, OplogRetention: retention,
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
