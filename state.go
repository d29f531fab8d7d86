package mlink

import "fmt"

// State is where a sync is in its lifecycle.
type State string

const (
	StateIdle       State = "idle"
	StateRunning    State = "running"
	StatePaused     State = "paused"
	StateFinalizing State = "finalizing"
	StateFinalized  State = "finalized"
	StateFailed     State = "failed"
)

// States lists every state, in lifecycle order (metrics export one series each).
var States = []State{StateIdle, StateRunning, StatePaused, StateFinalizing, StateFinalized, StateFailed}

// Op is a control-plane operation that moves the state machine.
type Op string

const (
	OpStart    Op = "start"
	OpPause    Op = "pause"
	OpResume   Op = "resume"
	OpFinalize Op = "finalize"
	OpReset    Op = "reset"
)

// Allowed reports whether op may be applied in state s. fromFailure is the
// resume flag that allows leaving the failed state.
//
//	idle      --start-->            running
//	running   --pause-->            paused     --resume--> running
//	running   --finalize-->         finalizing --(done)--> finalized
//	paused    --finalize-->         finalizing (replication resumes to reach the point)
//	failed    --resume fromFailure-> running
//	finalized --start-->            running (a new sync with a fresh clone)
//	idle|paused|failed|finalized --reset--> idle (checkpoint forgotten)
func Allowed(s State, op Op, fromFailure bool) bool {
	switch op {
	case OpStart:
		return s == StateIdle || s == StateFinalized
	case OpPause:
		return s == StateRunning
	case OpResume:
		if s == StateFailed {
			return fromFailure
		}
		return s == StatePaused && !fromFailure
	case OpFinalize:
		return s == StateRunning || s == StatePaused
	case OpReset:
		return s == StateIdle || s == StatePaused || s == StateFailed || s == StateFinalized
	}
	return false
}

// StateError is an operation refused because of the current state. The
// HTTP API answers it with 409 Conflict.
type StateError struct {
	Op     Op
	State  State
	Reason string // optional detail, e.g. "initial sync is not complete"
}

func (e *StateError) Error() string {
	msg := fmt.Sprintf("cannot %s: sync is %s", e.Op, e.State)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Op == OpResume && e.State == StateFailed {
		msg += " (use resume --from-failure to retry from the last checkpoint)"
	}
	return msg
}

// InputError is a request refused because its content is invalid (bad
// filter, malformed field). The HTTP API answers it with 400 Bad Request.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// Check returns a *StateError when op is not allowed in s.
func Check(s State, op Op, fromFailure bool) error {
	if Allowed(s, op, fromFailure) {
		return nil
	}
	return &StateError{Op: op, State: s}
}
