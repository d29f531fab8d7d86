// Package metrics holds mlink's Prometheus collectors. Engines update the
// fields of a *Metrics directly; the daemon exposes them on GET /metrics.
//
// Every metric is documented in README.md beside this file. Label values
// are short, fixed vocabularies (state names, event kinds, phases, error
// classes): never a URI, a host name, a namespace or any credential.
package metrics

import (
	"regexp"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mlink-dev/mlink"
)

// Namespace is the prefix of every mlink metric.
const Namespace = "mlink"

// Label names.
const (
	LabelState = "state"
	LabelKind  = "kind"
	LabelPhase = "phase"
)

// Phases of bulk_apply_duration_seconds.
const (
	PhaseClone = "clone"
	PhaseRepl  = "repl"
)

// Metrics is every collector mlink exports. Create it with New.
type Metrics struct {
	// State is 1 for the current state's label and 0 for the others.
	State *prometheus.GaugeVec
	// LagSeconds is how far the last applied change is behind the source.
	LagSeconds prometheus.Gauge

	EventsRead    *prometheus.CounterVec // {kind}
	EventsApplied *prometheus.CounterVec // {kind}
	EventsSkipped *prometheus.CounterVec // {kind}

	CloneEstimatedBytes     prometheus.Gauge
	CloneCopiedBytes        prometheus.Counter
	CloneEstimatedDocuments prometheus.Gauge
	CloneCopiedDocuments    prometheus.Counter
	CloneCollectionsTotal   prometheus.Gauge
	CloneCollectionsDone    prometheus.Gauge

	// BulkApplyDuration times one bulk write to the target {phase}.
	BulkApplyDuration *prometheus.HistogramVec

	Retries *prometheus.CounterVec // {kind}
	Errors  *prometheus.CounterVec // {kind}

	OplogWindowSeconds   prometheus.Gauge
	CheckpointAgeSeconds prometheus.Gauge
	Warnings             *prometheus.GaugeVec // {kind}

	warnMu    sync.Mutex
	warnKinds map[string]bool // every kind SetWarnings has seen
}

// BulkApplyBuckets are the histogram buckets of bulk_apply_duration_seconds:
// 1 ms to ~33 s, doubling.
var BulkApplyBuckets = prometheus.ExponentialBuckets(0.001, 2, 16)

// New creates the collectors and registers them on reg. A nil reg leaves
// them unregistered (tests, or engines run without a daemon). Registering
// twice on the same registry panics, like prometheus.MustRegister.
func New(reg prometheus.Registerer) *Metrics {
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
	}
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	gaugeVec := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}

	m := &Metrics{
		State:      gaugeVec("state", "1 for the sync's current state, 0 for every other state.", LabelState),
		LagSeconds: gauge("lag_seconds", "Seconds between the source's latest cluster time and the last change applied to the target."),

		EventsRead:    counterVec("events_read_total", "Change events read from the source change stream, by operation kind.", LabelKind),
		EventsApplied: counterVec("events_applied_total", "Change events applied to the target, by operation kind.", LabelKind),
		EventsSkipped: counterVec("events_skipped_total", "Change events read but not applied (filtered out or no-ops), by operation kind.", LabelKind),

		CloneEstimatedBytes:     gauge("clone_estimated_bytes", "Estimated size in bytes of the data the initial clone copies."),
		CloneCopiedBytes:        counter("clone_copied_bytes_total", "Bytes of documents copied by the initial clone."),
		CloneEstimatedDocuments: gauge("clone_estimated_documents", "Estimated number of documents the initial clone copies."),
		CloneCopiedDocuments:    counter("clone_copied_documents_total", "Documents copied by the initial clone."),
		CloneCollectionsTotal:   gauge("clone_collections_total", "Collections the initial clone copies."),
		CloneCollectionsDone:    gauge("clone_collections_done", "Collections the initial clone has finished copying."),

		BulkApplyDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "bulk_apply_duration_seconds",
			Help:    "Duration of one bulk write to the target, by phase (clone or repl).",
			Buckets: BulkApplyBuckets,
		}, []string{LabelPhase}),

		Retries: counterVec("retries_total", "Operations retried after a transient error, by kind.", LabelKind),
		Errors:  counterVec("errors_total", "Errors seen, by kind.", LabelKind),

		OplogWindowSeconds:   gauge("oplog_window_seconds", "Seconds of history the source oplog currently holds."),
		CheckpointAgeSeconds: gauge("checkpoint_age_seconds", "Seconds since the replication checkpoint was last persisted."),
		Warnings:             gaugeVec("warnings", "Active warnings, by kind.", LabelKind),
	}
	// Every state series exists from the start, so dashboards see 0s
	// rather than missing series.
	for _, s := range mlink.States {
		m.State.WithLabelValues(string(s)).Set(0)
	}
	for _, p := range []string{PhaseClone, PhaseRepl} {
		m.BulkApplyDuration.WithLabelValues(p)
	}
	if reg != nil {
		reg.MustRegister(m.collectors()...)
	}
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.State, m.LagSeconds,
		m.EventsRead, m.EventsApplied, m.EventsSkipped,
		m.CloneEstimatedBytes, m.CloneCopiedBytes, m.CloneEstimatedDocuments, m.CloneCopiedDocuments,
		m.CloneCollectionsTotal, m.CloneCollectionsDone,
		m.BulkApplyDuration, m.Retries, m.Errors,
		m.OplogWindowSeconds, m.CheckpointAgeSeconds, m.Warnings,
	}
}

// RegisterRuntime registers the Go runtime and process collectors (the
// daemon does this once on its registry).
func RegisterRuntime(reg prometheus.Registerer) {
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
}

// SetState sets the state gauge to 1 for s and 0 for every other state.
func (m *Metrics) SetState(s mlink.State) {
	for _, st := range mlink.States {
		v := 0.0
		if st == s {
			v = 1
		}
		m.State.WithLabelValues(string(st)).Set(v)
	}
}

// CountError increments errors_total for kind (see Label).
func (m *Metrics) CountError(kind string) { m.Errors.WithLabelValues(Label(kind)).Inc() }

// CountRetry increments retries_total for kind (see Label).
func (m *Metrics) CountRetry(kind string) { m.Retries.WithLabelValues(Label(kind)).Inc() }

// SetWarnings makes the warnings gauge count ws by kind; kinds no longer
// present drop to 0 rather than disappearing.
func (m *Metrics) SetWarnings(ws []mlink.Warning) {
	counts := map[string]float64{}
	for _, w := range ws {
		counts[Label(w.Kind)]++
	}
	m.warnMu.Lock()
	defer m.warnMu.Unlock()
	if m.warnKinds == nil {
		m.warnKinds = map[string]bool{}
	}
	for k := range counts {
		m.warnKinds[k] = true
	}
	for k := range m.warnKinds {
		m.Warnings.WithLabelValues(k).Set(counts[k])
	}
}

// labelRE is what a label value may look like: a short token. Anything
// else (which could be a URI or an error message quoting one) is "other".
var labelRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,40}$`)

// Label returns kind if it is a short token ([A-Za-z0-9_.-], at most 40
// characters, no "://"), else "other". The helpers above pass every label
// through it, so a message or a URI can never become a label value.
func Label(kind string) string {
	if labelRE.MatchString(kind) {
		return kind
	}
	return "other"
}
