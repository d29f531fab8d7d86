// Package apitest provides a fake api.Controller that follows mlink's state
// machine (mlink.Check) without moving any data, for tests of the HTTP
// API, the client and the CLI.
package apitest

import (
	"context"
	"sync"

	"github.com/mlink-dev/mlink"
)

// Controller is an in-memory sync engine. The zero value is idle and ready.
type Controller struct {
	mu     sync.Mutex
	state  mlink.State
	status mlink.Status
	calls  []Call
	// failNext, when set, is returned by the next operation instead of
	// running it.
	failNext error
}

// Call records one operation the controller received.
type Call struct {
	Op       mlink.Op
	Start    mlink.StartRequest
	Resume   mlink.ResumeRequest
	Finalize mlink.FinalizeRequest
}

// SetState moves the fake to s (e.g. failed) without checks.
func (c *Controller) SetState(s mlink.State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = s
}

// SetStatus sets what Status reports; its State is replaced by the fake's
// current state.
func (c *Controller) SetStatus(st mlink.Status) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status = st
}

// FailNext makes the next operation return err.
func (c *Controller) FailNext(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failNext = err
}

// Calls returns the operations applied so far.
func (c *Controller) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Call(nil), c.calls...)
}

func (c *Controller) apply(call Call, fromFailure bool, next mlink.State) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.failNext; err != nil {
		c.failNext = nil
		return err
	}
	if c.state == "" {
		c.state = mlink.StateIdle
	}
	if err := mlink.Check(c.state, call.Op, fromFailure); err != nil {
		return err
	}
	c.state = next
	c.calls = append(c.calls, call)
	return nil
}

func (c *Controller) Start(_ context.Context, req mlink.StartRequest) error {
	return c.apply(Call{Op: mlink.OpStart, Start: req}, false, mlink.StateRunning)
}

func (c *Controller) Pause(context.Context) error {
	return c.apply(Call{Op: mlink.OpPause}, false, mlink.StatePaused)
}

func (c *Controller) Resume(_ context.Context, req mlink.ResumeRequest) error {
	return c.apply(Call{Op: mlink.OpResume, Resume: req}, req.FromFailure, mlink.StateRunning)
}

// Finalize moves to finalizing, as the real engine does when it returns;
// call SetState(mlink.StateFinalized) to finish.
func (c *Controller) Finalize(_ context.Context, req mlink.FinalizeRequest) error {
	return c.apply(Call{Op: mlink.OpFinalize, Finalize: req}, false, mlink.StateFinalizing)
}

func (c *Controller) Reset(context.Context) error {
	return c.apply(Call{Op: mlink.OpReset}, false, mlink.StateIdle)
}

func (c *Controller) Status(context.Context) mlink.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.status
	st.State = c.state
	if st.State == "" {
		st.State = mlink.StateIdle
	}
	return st
}
