package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
	"github.com/mlink-dev/mlink/verify"
)

// Exit codes of mlink verify.
const (
	exitDifferent = 1
	exitError     = 2
)

// exitCodeError makes the process exit with a given code. run honours it
// through exitCodeOf; other errors exit 1.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }
func (e *exitCodeError) ExitCode() int { return e.code }

// exitCodeOf returns the exit code for an error a command returned.
func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}

type verifyFlags struct {
	source, target   string
	include, exclude []string
	asJSON           bool
	maxDiffs         int
	inProgress       bool
	parallel         int
}

func newVerifyCmd(a *app) *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Compare source and target: namespaces, options, indexes, counts and content",
		Long: `Compare the source and the target directly (no daemon needed): the namespaces
the filter selects, collection types and options, index specs, document counts,
and the documents themselves, hashed per _id range on both sides; ranges that
differ are re-read to list the _ids missing on the target, extra on it, or
different (a changed value, type or field order).

Run it after finalize; during a sync, --in-progress accepts what mlink relaxes
until finalize (unique indexes built non-unique, TTL expiry disabled).
Time series collections are listed as not compared.

Exit code: 0 equal, 1 different, 2 the comparison could not be made.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.NoArgs(cmd, args); err != nil {
				return &exitCodeError{code: exitError, err: err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := runVerify(cmd, a, &f)
			if err != nil && !errors.Is(err, errDifferent) {
				err = &exitCodeError{code: exitError, err: err}
			}
			return err
		},
	}
	// A usage mistake is an error like any other: exit 2, never 1 (which
	// would read as "different").
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitCodeError{code: exitError, err: err}
	})
	fl := cmd.Flags()
	fl.StringVar(&f.source, "source", "", "source replica set connection string (env "+envSource+")")
	fl.StringVar(&f.target, "target", "", "target replica set connection string (env "+envTarget+")")
	fl.Var(patternList{&f.include}, "include", "namespaces to compare: db.coll, db.* or /regex/ (comma-separated or repeated)")
	fl.Var(patternList{&f.exclude}, "exclude", "namespaces to leave out (comma-separated or repeated)")
	fl.BoolVar(&f.asJSON, "json", false, "print the report as JSON")
	fl.IntVar(&f.maxDiffs, "max-diffs", 20, "differing _ids to list per namespace (0: none, ranges are not re-read)")
	fl.BoolVar(&f.inProgress, "in-progress", false, "accept the sync's relaxations until finalize (unique off, TTL disabled)")
	fl.IntVar(&f.parallel, "parallel", 4, "_id ranges hashed at once (each reads both sides)")
	return cmd
}

// errDifferent ends a verification that found differences (exit 1; the
// report says what differs).
var errDifferent = errors.New("source and target differ")

func runVerify(cmd *cobra.Command, a *app, f *verifyFlags) error {
	ctx := cmd.Context()
	source := flagOrEnv(cmd, a, "source", f.source, envSource)
	target := flagOrEnv(cmd, a, "target", f.target, envTarget)
	a.redactor.AddURI(source)
	a.redactor.AddURI(target)
	if source == "" {
		return errors.New("--source (or " + envSource + ") is required")
	}
	if target == "" {
		return errors.New("--target (or " + envTarget + ") is required")
	}
	if f.maxDiffs < 0 {
		return fmt.Errorf("--max-diffs %d: want 0 or more", f.maxDiffs)
	}
	if f.parallel < 1 {
		return fmt.Errorf("--parallel %d: want 1 or more", f.parallel)
	}
	filter, err := mlink.NewFilter(f.include, f.exclude)
	if err != nil {
		return err
	}
	src, err := connect(ctx, source, mongo.RoleSource)
	if err != nil {
		return err
	}
	defer src.Close(context.WithoutCancel(ctx))
	dst, err := connect(ctx, target, mongo.RoleTarget)
	if err != nil {
		return err
	}
	defer dst.Close(context.WithoutCancel(ctx))

	opts := verify.Options{Filter: filter, MaxDiffs: f.maxDiffs, InProgress: f.inProgress, Parallel: f.parallel}
	if f.maxDiffs == 0 {
		opts.MaxDiffs = -1 // the API's zero means "default"
	}
	rep, err := verify.Run(ctx, src, dst, opts)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.asJSON {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if _, err := out.Write(append(b, '\n')); err != nil {
			return err
		}
	} else if err := rep.WriteText(out); err != nil {
		return err
	}
	if !rep.Equal() {
		return &exitCodeError{code: exitDifferent, err: errDifferent}
	}
	return nil
}

// connect opens a pool and checks the primary answers, so a wrong host
// fails here with a clear message rather than in the middle of a listing.
func connect(ctx context.Context, uri string, role mongo.Role) (*mongo.Client, error) {
	c, err := mongo.Connect(ctx, uri, role)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx); err != nil {
		_ = c.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return c, nil
}
