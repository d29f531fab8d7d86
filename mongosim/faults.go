package mongosim

import "time"

// Fault injection for what mongod has no command for (the Go API of issue
// 3). Fail points (configureFailPoint) are in failpoint_cmds.go, step-downs
// in stepdown.go.

// DropConnections closes every client connection at once, as a network
// failure or a crashed peer would. The server keeps running and accepts
// new connections; it returns how many were closed.
func (s *Server) DropConnections() int {
	s.connMu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.connMu.Unlock()
	for _, c := range conns {
		_ = c.nc.Close()
	}
	return len(conns)
}

// RefuseConnections closes every new connection as soon as it is accepted,
// for d from now (d <= 0 stops refusing at once). Clients see a network
// error on connect, as when the host is unreachable. Open connections are
// untouched: call DropConnections too to simulate a full outage.
func (s *Server) RefuseConnections(d time.Duration) {
	if d <= 0 {
		s.refuseUntil.Store(0)
		return
	}
	s.refuseUntil.Store(time.Now().Add(d).UnixNano())
}

// refusing reports whether new connections are refused now.
func (s *Server) refusing() bool {
	until := s.refuseUntil.Load()
	return until != 0 && time.Now().UnixNano() < until
}

// SetReplyLatency delays every reply by d before it is written (0 removes
// the delay), like a slow network between client and server.
func (s *Server) SetReplyLatency(d time.Duration) {
	if d < 0 {
		d = 0
	}
	s.replyLatency.Store(int64(d))
}
