package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/api"
	"github.com/mlink-dev/mlink/logging"
	"github.com/mlink-dev/mlink/metrics"
)

// ServeConfig is everything the sync engine needs from the daemon's
// command line.
type ServeConfig struct {
	SourceURI string
	TargetURI string
	// ResetState forgets any checkpoint at start-up (--reset-state).
	ResetState bool
	// OverwriteTarget is the default for start requests that do not say.
	OverwriteTarget bool
	Logger          *slog.Logger
	Metrics         *metrics.Metrics
	Redactor        *mlink.Redactor
}

// newController builds the real sync engine. It is set by the file that
// links the engine in (serve.go); until then serve refuses to run.
var newController func(ctx context.Context, cfg ServeConfig) (api.Controller, error)

// serveFlags are the daemon's flags, on both "mlink" and "mlink serve".
type serveFlags struct {
	source, target  string
	listen          string
	port            int
	logLevel        string
	logJSON         bool
	noColor         bool
	resetState      bool
	apiToken        string
	overwriteTarget bool
}

func (f *serveFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.source, "source", "", "source replica set connection string (env "+envSource+")")
	fl.StringVar(&f.target, "target", "", "target replica set connection string (env "+envTarget+")")
	fl.StringVar(&f.listen, "listen", "127.0.0.1", "address the HTTP API binds to")
	fl.IntVar(&f.port, "port", 2242, "port of the HTTP API")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.BoolVar(&f.logJSON, "log-json", false, "log JSON lines instead of text")
	fl.BoolVar(&f.noColor, "no-color", false, "never colour the log output")
	fl.BoolVar(&f.resetState, "reset-state", false, "forget the saved checkpoint and start from idle")
	fl.StringVar(&f.apiToken, "api-token", "", "require this bearer token on the API, except /metrics (env "+envToken+")")
	fl.BoolVar(&f.overwriteTarget, "overwrite-target", false, "default overwriteTarget for start requests that do not set it")
}

func newServeCmd(a *app) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the mlink daemon (the default command)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd, a, &f)
		},
	}
	f.register(cmd)
	return cmd
}

// serve runs the daemon until ctx is cancelled (SIGINT/SIGTERM).
func serve(cmd *cobra.Command, a *app, f *serveFlags) error {
	ctx := cmd.Context()
	source := flagOrEnv(cmd, a, "source", f.source, envSource)
	target := flagOrEnv(cmd, a, "target", f.target, envTarget)
	token := flagOrEnv(cmd, a, "api-token", f.apiToken, envToken)
	a.redactor.AddURI(source)
	a.redactor.AddURI(target)
	a.redactor.AddSecret(token)
	if source == "" {
		return errors.New("--source (or " + envSource + ") is required")
	}
	if target == "" {
		return errors.New("--target (or " + envTarget + ") is required")
	}
	if f.port < 0 || f.port > 65535 {
		return fmt.Errorf("--port %d: want 0-65535", f.port)
	}
	level, err := logging.ParseLevel(f.logLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := logging.New(a.stderr, logging.Options{Level: level, JSON: f.logJSON, NoColor: f.noColor, Redactor: a.redactor})

	reg := prometheus.NewRegistry()
	metrics.RegisterRuntime(reg)
	m := metrics.New(reg)

	if a.newController == nil {
		return errors.New("this build of mlink has no sync engine linked in")
	}
	ctrl, err := a.newController(ctx, ServeConfig{
		SourceURI: source, TargetURI: target,
		ResetState: f.resetState, OverwriteTarget: f.overwriteTarget,
		Logger: log, Metrics: m, Redactor: a.redactor,
	})
	if err != nil {
		return fmt.Errorf("starting the sync engine: %w", err)
	}
	defer closeController(ctrl, log)

	addr := net.JoinHostPort(f.listen, strconv.Itoa(f.port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	if token == "" && !isLoopback(f.listen) {
		log.Warn("the HTTP API is reachable from the network without a token; set --api-token", "listen", f.listen)
	}
	handler := api.NewHandler(ctrl, api.Options{
		Token: token, Gatherer: reg, Logger: log, Redactor: a.redactor,
		DefaultOverwriteTarget: f.overwriteTarget,
		LoopbackHostsOnly:      isLoopback(f.listen),
	})
	srv := api.NewHTTPServer(addr, handler)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("mlink listening", "url", "http://"+ln.Addr().String(), "version", mlink.Version,
		"source", mlink.RedactURI(source), "target", mlink.RedactURI(target), "token", token != "")
	a.onListening(ln.Addr())

	select {
	case err := <-served:
		return fmt.Errorf("HTTP server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("HTTP server shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("HTTP server: %w", err)
	}
	return nil
}

// closeController stops an engine that can be stopped.
func closeController(ctrl api.Controller, log *slog.Logger) {
	switch c := ctrl.(type) {
	case interface{ Close(context.Context) error }:
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			log.Error("stopping the sync engine", "err", err)
		}
	case io.Closer:
		if err := c.Close(); err != nil {
			log.Error("stopping the sync engine", "err", err)
		}
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
