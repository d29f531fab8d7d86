package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/mlink-dev/mlink"
)

// okReply is the body of every successful POST.
type okReply struct {
	OK bool `json:"ok"`
}

// errorReply is the body of every failed request.
type errorReply struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// writeJSON writes v without HTML escaping: replies are JSON, never
// embedded in a page, and messages like "Bearer <token>" stay readable.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		code = http.StatusInternalServerError
		buf.Reset()
		_ = enc.Encode(errorReply{Error: "encoding reply: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func (s *server) writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorReply{Error: s.redactor.String(msg)})
}

// statusCode maps a controller error to its HTTP status.
func statusCode(err error) int {
	var se *mlink.StateError
	var ie *mlink.InputError
	switch {
	case errors.As(err, &se):
		return http.StatusConflict
	case errors.As(err, &ie):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// redactStatus copies st with every free-text field scrubbed, so no reply
// carries a credential even if an engine put one in a message. Slices and
// maps are copied: the controller's own status is never modified.
func (s *server) redactStatus(st mlink.Status) mlink.Status {
	r := s.redactor
	st.Info = r.String(st.Info)
	st.Error = r.String(st.Error)
	st.Source = r.String(st.Source)
	st.Target = r.String(st.Target)
	if st.Warnings != nil {
		ws := make([]mlink.Warning, len(st.Warnings))
		for i, w := range st.Warnings {
			w.Message = r.String(w.Message)
			ws[i] = w
		}
		st.Warnings = ws
	}
	if st.IndexFailures != nil {
		fs := make([]mlink.IndexFailure, len(st.IndexFailures))
		for i, f := range st.IndexFailures {
			f.Error = r.String(f.Error)
			fs[i] = f
		}
		st.IndexFailures = fs
	}
	if st.Extra != nil {
		extra := make(map[string]string, len(st.Extra))
		for k, v := range st.Extra {
			extra[k] = r.String(v)
		}
		st.Extra = extra
	}
	return st
}
