package mongosim

// Fault injection for what mongod has no command for (the Go API of issue
// 3; more faults join this file).

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
