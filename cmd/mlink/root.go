package main

import (
	"context"
	"io"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/api"
)

// Environment variables the CLI reads when the matching flag is not given.
const (
	envSource = "MLINK_SOURCE_URI"
	envTarget = "MLINK_TARGET_URI"
	envServer = "MLINK_SERVER"
	envToken  = "MLINK_API_TOKEN"
)

// app is what the commands need from the outside world; tests replace it.
type app struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	redactor       *mlink.Redactor
	// newController builds the sync engine for serve (see daemon.go).
	newController func(ctx context.Context, cfg ServeConfig) (api.Controller, error)
	// onListening is called with the daemon's address once it accepts
	// connections (tests use it to find a port-0 daemon).
	onListening func(net.Addr)
	// stdoutIsTTY decides between progress bars and plain lines in
	// status --watch.
	stdoutIsTTY func() bool
	// watchRefresh, when set, is the interval status --watch uses
	// regardless of --interval (tests).
	watchRefresh time.Duration
}

func newApp() *app {
	return &app{
		getenv:        os.Getenv,
		stdout:        os.Stdout,
		stderr:        os.Stderr,
		redactor:      &mlink.Redactor{},
		newController: newController,
		onListening:   func(net.Addr) {},
		stdoutIsTTY:   func() bool { return isTerminal(os.Stdout) },
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newRootCmd(a *app) *cobra.Command {
	var cfg serveFlags
	root := &cobra.Command{
		Use:   "mlink",
		Short: "Migrate and live-sync MongoDB replica sets",
		Long: `mlink clones a MongoDB replica set into another, replicates every change until
cutover, and is driven over an HTTP API. Run without a subcommand it is "mlink serve".`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd, a, &cfg)
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	cfg.register(root)
	root.AddCommand(
		newServeCmd(a),
		newStartCmd(a),
		newFinalizeCmd(a),
		newPauseCmd(a),
		newResumeCmd(a),
		newResetCmd(a),
		newStatusCmd(a),
		newVerifyCmd(a),
		newDemoCmd(a),
		newVersionCmd(a),
	)
	return root
}

// clientFlags are the flags every client subcommand takes.
type clientFlags struct {
	server string
	token  string
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "server", api.DefaultServer, "mlink daemon address (env "+envServer+")")
	cmd.Flags().StringVar(&f.token, "api-token", "", "API token of the daemon (env "+envToken+")")
}

// client builds an API client, taking unset flags from the environment.
func (f *clientFlags) client(cmd *cobra.Command, a *app) *api.Client {
	server := flagOrEnv(cmd, a, "server", f.server, envServer)
	token := flagOrEnv(cmd, a, "api-token", f.token, envToken)
	return api.NewClient(server, token, nil)
}

// flagOrEnv returns the flag's value when given on the command line, else
// the environment variable when set, else the flag's default. Secrets
// from the environment thus never show up as a default in --help.
func flagOrEnv(cmd *cobra.Command, a *app, flag, value, env string) string {
	if cmd.Flags().Changed(flag) {
		return value
	}
	if v := a.getenv(env); v != "" {
		return v
	}
	return value
}
