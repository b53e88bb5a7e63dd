// Package metrics owns one node's Prometheus series and serves them at
// /metrics in the Prometheus text format. Each Metrics has a registry of its
// own — never the global default one — so several nodes in one process (the
// tests) do not collide.
//
// Confidentiality: no series carries a room id, a display name or any text.
// The only label is a frame's type, taken from the protocol's fixed set of
// client frame types (anything else counts as "other"), so cardinality is
// bounded whatever clients send.
//
// The hub does not import this package: it reports through hub.Observer
// (implemented by *Metrics) and hub.Stats (read at scrape time through the
// Stats function given to New); internal/node wires the two together.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hearth/internal/protocol"
)

// Stats are the hub's counters as the metrics read them at every scrape
// (internal/node fills them from hub.Stats).
type Stats struct {
	Connections   int64  // connections open now
	Rooms         int    // rooms (and personal channels) with a local connection
	SlowConsumers uint64 // connections closed because their send queue overflowed
	CrisisMatches uint64 // crisis detector matches and support requests: a count only
}

// frameTypes are the "type" label values of hearth_frames_in_total: the
// protocol's client frame types. Anything else is OtherType.
var frameTypes = []string{
	protocol.TypeAuth, protocol.TypeJoin, protocol.TypeSend, protocol.TypeLeave, protocol.TypePing, protocol.TypeRefresh,
	protocol.TypeStartSession, protocol.TypeBeginClosing, protocol.TypeEndSession, protocol.TypeAdmit, protocol.TypeAdmitAll,
	protocol.TypeDeny, protocol.TypeWarn, protocol.TypeMute, protocol.TypeUnmute, protocol.TypeRemove, protocol.TypeBan,
	protocol.TypeUnban, protocol.TypeDeleteMessage, protocol.TypeLock, protocol.TypeUnlock, protocol.TypeSlowMode,
	protocol.TypePin, protocol.TypeUnpin, protocol.TypeDM, protocol.TypeReport, protocol.TypeHide, protocol.TypeUnhide,
	protocol.TypeRequestSupport, protocol.TypeAckAlert, protocol.TypeSetMode, protocol.TypeShareTimer,
	protocol.TypeRaiseHand, protocol.TypeLowerHand, protocol.TypePass, protocol.TypeGiveFloor, protocol.TypeNextSpeaker,
	protocol.TypeEndTurn, protocol.TypeSetPresence, protocol.TypeReact,
}

// OtherType is the label value of frames whose type is not a protocol
// client frame type (misspelt, empty, or undecodable frames).
const OtherType = "other"

// Metrics is one node's series. Its methods are safe for concurrent use.
type Metrics struct {
	reg       *prometheus.Registry
	framesIn  map[string]prometheus.Counter // one per frameTypes entry and OtherType; read-only after New
	framesOut prometheus.Counter
	pubErrors prometheus.Counter
	fanOut    prometheus.Histogram
}

// New returns the series of one node, in a registry of their own. stats is
// called at every scrape (several times: keep it cheap); it must be safe
// for concurrent use.
func New(stats func() Stats) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg, framesIn: make(map[string]prometheus.Counter, len(frameTypes)+1)}
	framesIn := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hearth_frames_in_total",
		Help: "WebSocket text frames read from clients, by frame type (a protocol client frame type, or \"other\").",
	}, []string{"type"})
	for _, t := range append(frameTypes, OtherType) {
		m.framesIn[t] = framesIn.WithLabelValues(t) // every series exists from the start, at 0
	}
	m.framesOut = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_frames_out_total",
		Help: "WebSocket frames written to clients (events batched into one frame count once).",
	})
	m.pubErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_broker_publish_errors_total",
		Help: "Publishes to the broker (room events and control messages) that failed.",
	})
	m.fanOut = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hearth_fanout_latency_seconds",
		Help:    "From accepting a send (the message's timestamp, millisecond precision) to queuing it to the last local connection in the room.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1 ms … about 8 s
	})
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		framesIn, m.framesOut, m.pubErrors, m.fanOut,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hearth_connections_open",
			Help: "WebSocket connections open on this node.",
		}, func() float64 { return float64(stats().Connections) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hearth_rooms_live",
			Help: "Rooms (and personal channels) with at least one connection on this node.",
		}, func() float64 { return float64(stats().Rooms) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hearth_slow_consumer_disconnects_total",
			Help: "Connections closed with 1013 because their send queue overflowed (events dropped).",
		}, func() float64 { return float64(stats().SlowConsumers) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hearth_crisis_triggers_total",
			Help: "Messages and check-ins that matched the crisis detector, and requests for support: a count, nothing more.",
		}, func() float64 { return float64(stats().CrisisMatches) }),
	)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the registry the series live in (to add a node's other
// collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// FrameIn counts one frame read from a client; a type outside the
// protocol's client frame types counts as OtherType (hub.Observer).
func (m *Metrics) FrameIn(typ string) {
	c, ok := m.framesIn[typ]
	if !ok {
		c = m.framesIn[OtherType]
	}
	c.Inc()
}

// FrameOut counts one frame written to a client (hub.Observer).
func (m *Metrics) FrameOut() { m.framesOut.Inc() }

// FanOut observes one message's fan-out latency (hub.Observer). Negative
// durations (clock differences between nodes) count as 0.
func (m *Metrics) FanOut(d time.Duration) { m.fanOut.Observe(max(d, 0).Seconds()) }

// PublishError counts one failed broker publish.
func (m *Metrics) PublishError() { m.pubErrors.Inc() }
