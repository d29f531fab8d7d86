// Package api is mlink's HTTP control plane: the handler the daemon serves
// (PLM-compatible endpoints, /metrics, the dashboard) and the Go client the
// CLI uses.
package api

import (
	"context"

	"github.com/mlink-dev/mlink"
)

// Controller is the sync engine as the control plane sees it.
//
// Every method returns once the transition has been made, never after the
// work it starts: Start returns when the sync is running (clone and
// replication continue in the background), Finalize returns once finalizing
// has begun (state finalizing; GET /status reports progress until the state
// is finalized or failed). The ctx passed in bounds only that synchronous
// part: the handler gives it Options.OpTimeout and does not cancel it when
// the HTTP client goes away, so a request that reached the engine is
// carried out. Background work must not inherit ctx.
//
// Errors: *mlink.StateError when the current state forbids the operation
// (HTTP 409), *mlink.InputError for an invalid request (HTTP 400), anything
// else is HTTP 500. Status must be cheap and never block on I/O.
type Controller interface {
	Start(ctx context.Context, req mlink.StartRequest) error
	Pause(ctx context.Context) error
	Resume(ctx context.Context, req mlink.ResumeRequest) error
	Finalize(ctx context.Context, req mlink.FinalizeRequest) error
	Reset(ctx context.Context) error
	Status(ctx context.Context) mlink.Status
}
