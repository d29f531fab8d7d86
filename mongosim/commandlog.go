package mongosim

import (
	"sync"
	"sync/atomic"
)

// The command log counts every command a client sends, by the connection's
// application name (the handshake's client.application.name) and the
// command name as sent. Tests use it to prove, for example, that mlink
// never sends a write command to its source. It is always on and cheap:
// a connection caches its counters, so counting is one atomic add.

type commandKey struct{ app, cmd string }

type commandLog struct {
	mu     sync.Mutex
	counts map[commandKey]*atomic.Int64
}

// counter returns the shared counter of (app, cmd), creating it.
func (l *commandLog) counter(app, cmd string) *atomic.Int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = make(map[commandKey]*atomic.Int64)
	}
	k := commandKey{app, cmd}
	c := l.counts[k]
	if c == nil {
		c = new(atomic.Int64)
		l.counts[k] = c
	}
	return c
}

// countCommand records one command of req. Internal requests (no
// connection) are not client commands and are not counted.
func (s *Server) countCommand(req *request) {
	c := req.conn
	if c == nil || req.name == "" {
		return
	}
	// A connection runs one command at a time: its cache needs no lock.
	if c.cmdCounts == nil {
		c.cmdCounts = make(map[string]*atomic.Int64)
	}
	ctr := c.cmdCounts[req.name]
	if ctr == nil {
		ctr = s.cmdLog.counter(c.appName, req.name)
		c.cmdCounts[req.name] = ctr
	}
	ctr.Add(1)
}

// CommandCounts returns how many commands clients have sent, by application
// name ("" for clients without one) and command name as sent ("insert",
// "find", "isMaster", ...). Commands are counted when received, whether they
// succeed or fail, including unknown ones.
func (s *Server) CommandCounts() map[string]map[string]int64 {
	s.cmdLog.mu.Lock()
	defer s.cmdLog.mu.Unlock()
	out := make(map[string]map[string]int64)
	for k, c := range s.cmdLog.counts {
		n := c.Load()
		if n == 0 {
			continue
		}
		m := out[k.app]
		if m == nil {
			m = make(map[string]int64)
			out[k.app] = m
		}
		m[k.cmd] = n
	}
	return out
}

// CommandCount returns how many cmd commands clients with application name
// app have sent.
func (s *Server) CommandCount(app, cmd string) int64 {
	s.cmdLog.mu.Lock()
	c := s.cmdLog.counts[commandKey{app, cmd}]
	s.cmdLog.mu.Unlock()
	if c == nil {
		return 0
	}
	return c.Load()
}

// writeCommandNames are the commands that modify data or the catalog.
var writeCommandNames = []string{
	"insert", "update", "delete", "findAndModify", "findandmodify", "create", "drop", "dropDatabase",
	"createIndexes", "dropIndexes", "deleteIndexes", "collMod", "renameCollection", "appendOplogNote",
	"commitTransaction", "applyOps", "convertToCapped", "cloneCollectionAsCapped",
}

// WriteCommandCount returns how many commands that write (insert, update,
// delete, findAndModify and DDL) clients with application name app have
// sent. Aggregations with $out/$merge are not included.
func (s *Server) WriteCommandCount(app string) int64 {
	var n int64
	for _, cmd := range writeCommandNames {
		n += s.CommandCount(app, cmd)
	}
	return n
}

// ResetCommandCounts sets every command count to zero.
func (s *Server) ResetCommandCounts() {
	s.cmdLog.mu.Lock()
	defer s.cmdLog.mu.Unlock()
	for _, c := range s.cmdLog.counts {
		c.Store(0)
	}
}
