package mongosim

import "crypto/rand"

// Restart simulates a mongod restart that keeps its data: every client
// connection is closed, every cursor and every transaction in progress is
// gone, and the server answers again at once on the same address under a
// new processId (so topologyVersion changes, as after a real restart). The
// store, the oplog history (change streams resume across it) and the
// sessions' retryable-write replies survive, as config.transactions does.
// Combine it with RefuseConnections for a restart that takes a while.
func (s *Server) Restart() {
	s.topo.mu.Lock()
	_, _ = rand.Read(s.processID[:])
	s.topo.counter = 0
	close(s.topo.changed) // streaming hellos answer with the new process
	s.topo.changed = make(chan struct{})
	s.topo.mu.Unlock()
	s.repl.sessions.abortAll()
	s.cursors.killAll()
	s.DropConnections()
}

// processIDNow is the current process's id (it changes on Restart).
func (s *Server) processIDNow() [12]byte {
	s.topo.mu.Lock()
	defer s.topo.mu.Unlock()
	return s.processID
}
