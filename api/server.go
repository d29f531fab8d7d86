package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/api/dashboard"
)

// DefaultOpTimeout bounds one controller call (start, pause, …).
const DefaultOpTimeout = 30 * time.Second

// Options configure NewHandler.
type Options struct {
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every endpoint except GET /metrics and the dashboard page.
	Token string
	// Gatherer is what GET /metrics exposes; nil means
	// prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Logger receives one line per control request; nil discards.
	Logger *slog.Logger
	// Redactor scrubs error messages and status text in replies; nil
	// still masks URI passwords.
	Redactor *mlink.Redactor
	// DefaultOverwriteTarget is overwriteTarget for start requests that do
	// not set it (the daemon's --overwrite-target).
	DefaultOverwriteTarget bool
	// OpTimeout bounds each controller call; 0 means DefaultOpTimeout.
	OpTimeout time.Duration
	// LoopbackHostsOnly refuses requests whose Host header is not
	// localhost or a loopback address. Set it when the daemon listens on
	// loopback: it stops a web page from reaching the API through DNS
	// rebinding (a name of the attacker's resolving to 127.0.0.1).
	LoopbackHostsOnly bool
}

type server struct {
	ctrl      Controller
	opts      Options
	tokenHash [sha256.Size]byte
	redactor  *mlink.Redactor
	log       *slog.Logger
	routes    map[string]route
}

type route struct {
	method  string // GET routes also answer HEAD
	public  bool   // served without the API token
	handler http.HandlerFunc
}

// NewHandler returns the control-plane handler:
//
//	POST /start /finalize /pause /resume /reset   control (JSON body, empty = {})
//	GET  /status                                  mlink.Status with ok:true
//	GET  /metrics                                 Prometheus exposition (no token)
//	GET  /                                        dashboard page (no token)
//
// Every reply except /metrics and / is JSON; errors are
// {"ok":false,"error":"…"} with 400, 401, 403 (cross-origin POST), 404, 405,
// 409, 413 or 500.
func NewHandler(ctrl Controller, opts Options) http.Handler {
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.DefaultGatherer
	}
	s := &server{ctrl: ctrl, opts: opts, redactor: opts.Redactor, log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.tokenHash = sha256.Sum256([]byte(opts.Token))
	metricsHandler := promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{})
	s.routes = map[string]route{
		"/":         {method: http.MethodGet, public: true, handler: dashboard.Handler().ServeHTTP},
		"/metrics":  {method: http.MethodGet, public: true, handler: metricsHandler.ServeHTTP},
		"/status":   {method: http.MethodGet, handler: s.status},
		"/start":    {method: http.MethodPost, handler: s.start},
		"/finalize": {method: http.MethodPost, handler: s.finalize},
		"/pause":    {method: http.MethodPost, handler: s.pause},
		"/resume":   {method: http.MethodPost, handler: s.resume},
		"/reset":    {method: http.MethodPost, handler: s.reset},
	}
	// Browsers send Origin / Sec-Fetch-Site: a page on another site must
	// not drive a daemon on localhost with a form post.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, http.StatusForbidden, "cross-origin request refused")
	}))
	return cop.Handler(http.HandlerFunc(s.serveHTTP))
}

// NewHTTPServer wraps h in an http.Server with time limits: headers within
// 5 s, the whole request within 30 s, the reply within OpTimeout plus a
// margin (controller calls are bounded by OpTimeout).
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      DefaultOpTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

func (s *server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("api handler panic", "path", r.URL.Path, "panic", fmt.Sprint(p))
			if !rec.wrote {
				s.writeError(rec, http.StatusInternalServerError, "internal error")
			}
		}
		if r.URL.Path != "/status" && r.URL.Path != "/metrics" { // polled every second
			s.log.Info("api request", "method", r.Method, "path", r.URL.Path, "status", rec.code, "duration", time.Since(start))
		}
	}()
	h := rec.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")

	if s.opts.LoopbackHostsOnly && !isLoopbackHost(r.Host) {
		s.writeError(rec, http.StatusForbidden, fmt.Sprintf("host %q refused: the API answers only to localhost and loopback addresses", r.Host))
		return
	}
	rt, ok := s.routes[r.URL.Path]
	if !ok {
		s.writeError(rec, http.StatusNotFound, fmt.Sprintf("unknown path %q", r.URL.Path))
		return
	}
	if !rt.public && s.opts.Token != "" {
		if msg := s.checkToken(r); msg != "" {
			h.Set("WWW-Authenticate", `Bearer realm="mlink"`)
			s.writeError(rec, http.StatusUnauthorized, msg)
			return
		}
	}
	allowed := r.Method == rt.method || (rt.method == http.MethodGet && r.Method == http.MethodHead)
	if !allowed {
		allow := rt.method
		if rt.method == http.MethodGet {
			allow = "GET, HEAD"
		}
		h.Set("Allow", allow)
		s.writeError(rec, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow))
		return
	}
	rt.handler(rec, r)
}

// isLoopbackHost reports whether a Host header (with or without port)
// names localhost or a loopback IP.
func isLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkToken returns why the request is unauthorized, or "". Hashing both
// sides first makes the comparison constant-time in the token length too.
func (s *server) checkToken(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if auth == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		return "API token required: send Authorization: Bearer <token>"
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) != 1 {
		return "invalid API token"
	}
	return ""
}

// readBody reads at most MaxBodyBytes; ok is false when a reply was sent.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: limit is %d bytes (1 MiB)", MaxBodyBytes))
			return nil, false
		}
		s.writeError(w, http.StatusBadRequest, "reading request body: "+err.Error())
		return nil, false
	}
	return body, true
}

// call runs one controller operation bounded by OpTimeout. The operation
// does not see the client's cancellation (see Controller); if it overruns
// it keeps going in the background and the reply says so.
func (s *server) call(r *http.Request, op mlink.Op, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.opts.OpTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("controller panic", "op", string(op), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- errors.New("internal error")
			}
		}()
		done <- fn(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s did not complete within %s; check GET /status", op, s.opts.OpTimeout)
	}
}

func (s *server) reply(w http.ResponseWriter, op mlink.Op, err error) {
	if err != nil {
		code := statusCode(err)
		if code == http.StatusInternalServerError {
			s.log.Error("control operation failed", "op", string(op), "err", err)
		}
		s.writeError(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, okReply{OK: true})
}

func (s *server) start(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	req, err := DecodeStartRequest(body, s.opts.DefaultOverwriteTarget)
	if err == nil {
		err = s.call(r, mlink.OpStart, func(ctx context.Context) error { return s.ctrl.Start(ctx, req) })
	}
	s.reply(w, mlink.OpStart, err)
}

func (s *server) finalize(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	req, err := DecodeFinalizeRequest(body)
	if err == nil {
		err = s.call(r, mlink.OpFinalize, func(ctx context.Context) error { return s.ctrl.Finalize(ctx, req) })
	}
	s.reply(w, mlink.OpFinalize, err)
}

func (s *server) resume(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	req, err := DecodeResumeRequest(body)
	if err == nil {
		err = s.call(r, mlink.OpResume, func(ctx context.Context) error { return s.ctrl.Resume(ctx, req) })
	}
	s.reply(w, mlink.OpResume, err)
}

func (s *server) pause(w http.ResponseWriter, r *http.Request) {
	s.noFieldOp(w, r, mlink.OpPause, s.ctrl.Pause)
}

func (s *server) reset(w http.ResponseWriter, r *http.Request) {
	s.noFieldOp(w, r, mlink.OpReset, s.ctrl.Reset)
}

func (s *server) noFieldOp(w http.ResponseWriter, r *http.Request, op mlink.Op, fn func(context.Context) error) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	err := decodeEmpty(body)
	if err == nil {
		err = s.call(r, op, fn)
	}
	s.reply(w, op, err)
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	st := s.redactStatus(s.ctrl.Status(r.Context()))
	st.OK = true
	writeJSON(w, http.StatusOK, st)
}

// statusRecorder remembers the reply code for the request log.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
