// Command mlink migrates and live-syncs MongoDB replica sets. "mlink" or
// "mlink serve" runs the daemon; the other subcommands drive it over HTTP.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], newApp())
	stop()
	os.Exit(code)
}

// run executes the command line and returns the exit code. Errors are
// printed scrubbed of any secret the daemon was configured with.
func run(ctx context.Context, args []string, a *app) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(a.stderr, "Error:", a.redactor.String(err.Error()))
		return 1
	}
	return 0
}
