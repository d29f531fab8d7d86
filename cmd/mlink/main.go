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

// run executes the command line and returns the exit code: 0, 1 for an
// error, or the code an error carries (verify: 1 different, 2 error).
// Errors are printed scrubbed of any secret the command was given.
func run(ctx context.Context, args []string, a *app) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(a.stderr, "Error:", a.redactor.String(err.Error()))
	}
	return exitCodeOf(err)
}
