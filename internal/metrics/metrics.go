// Package metrics owns one node's Prometheus series and serves them at
// /metrics in the Prometheus text format. Each Metrics has a registry of its
// own — never the global default one — so several nodes in one process (the
// tests) do not collide.
//
// Confidentiality: no series carries a room id, a display name or any text.
// Every label takes its values from a fixed set known when New runs — a
// frame type from the protocol's client frame types, a send-queue drop
// reason, a broker publish kind, a store operation — and anything else
// counts as "other", so cardinality is bounded whatever clients send.
//
// The hub does not import this package: it reports through hub.Observer
// (implemented by *Metrics) and hub.Stats (read at scrape time through
// Config.Stats); internal/node wires the two together, wraps the broker and
// the stores to report publish errors and store operations, and gives New
// the label sets.
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
	SessionsOpen  int    // of those rooms, the ones whose session is open (or closing), as this node last heard
	SlowConsumers uint64 // connections closed because their send queue overflowed
	CrisisMatches uint64 // crisis detector matches and support requests: a count only
}

// Config configures New. Stats is required; the label sets may be empty
// (then every value counts as OtherType).
type Config struct {
	// Stats is called at every scrape (several times: keep it cheap); it
	// must be safe for concurrent use.
	Stats func() Stats
	// DropReasons are the "reason" values of hearth_send_queue_drops_total
	// (hub.DropReasons).
	DropReasons []string
	// PublishKinds are the "kind" values of
	// hearth_broker_publish_errors_total: one per broker method that
	// publishes (internal/node).
	PublishKinds []string
	// StoreOps are the "op" values of hearth_store_errors_total and
	// hearth_store_operation_seconds: one per store method (internal/node).
	StoreOps []string
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
// client frame type (misspelt, empty, or undecodable frames), and of any
// other label value outside its series' fixed set.
const OtherType = "other"

// Metrics is one node's series. Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry
	// The labelled series, one per value of their fixed set and OtherType,
	// created by New (so every series exists from the start, at 0) and
	// read-only afterwards.
	framesIn   labelled[prometheus.Counter]
	drops      labelled[prometheus.Counter]
	pubErrors  labelled[prometheus.Counter]
	storeErrs  labelled[prometheus.Counter]
	storeTime  labelled[prometheus.Observer]
	framesOut  prometheus.Counter
	deliveries prometheus.Counter
	resubs     prometheus.Counter
	fanOut     prometheus.Histogram
}

// labelled is a series' children by label value.
type labelled[T any] map[string]T

// get returns the child for v, or OtherType's.
func (l labelled[T]) get(v string) T {
	if c, ok := l[v]; ok {
		return c
	}
	return l[OtherType]
}

// children makes one child of vec per value of values and OtherType.
func children[T any](values []string, with func(...string) T) labelled[T] {
	l := make(labelled[T], len(values)+1)
	for _, v := range append(values[:len(values):len(values)], OtherType) {
		l[v] = with(v)
	}
	return l
}

// New returns the series of one node, in a registry of their own.
func New(cfg Config) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg}
	framesIn := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hearth_frames_in_total",
		Help: "WebSocket text frames read from clients, by frame type (a protocol client frame type, or \"other\").",
	}, []string{"type"})
	m.framesIn = children(frameTypes, framesIn.WithLabelValues)
	m.framesOut = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_frames_out_total",
		Help: "WebSocket frames written to clients (events batched into one frame count once).",
	})
	m.deliveries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_deliveries_total",
		Help: "Events (replies and room events, one JSON object each) written to client sockets; one frame may carry several.",
	})
	drops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hearth_send_queue_drops_total",
		Help: "Events that never reached a client's socket, by reason: queue_full (the send queue overflowed: a slow consumer), " +
			"closing (offered to a connection already being closed), unsent (queued but not written when the connection ended).",
	}, []string{"reason"})
	m.drops = children(cfg.DropReasons, drops.WithLabelValues)
	pubErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hearth_broker_publish_errors_total",
		Help: "Broker calls that publish (room events, rate-limited events, control messages, presence entries and exits, shared-value updates) and failed, by kind.",
	}, []string{"kind"})
	m.pubErrors = children(cfg.PublishKinds, pubErrors.WithLabelValues)
	m.resubs = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_broker_resubscribes_total",
		Help: "Room channels resubscribed after the node's pub/sub connection to Redis was lost and came back: one per local room per reconnect.",
	})
	storeErrs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hearth_store_errors_total",
		Help: "Store operations that failed (not counting answers such as not found or already exists, nor refusals of the change itself), by operation.",
	}, []string{"op"})
	m.storeErrs = children(cfg.StoreOps, storeErrs.WithLabelValues)
	storeTime := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hearth_store_operation_seconds",
		Help:    "How long store operations took, failed or not, by operation.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 15), // 100 µs … about 1.6 s
	}, []string{"op"})
	m.storeTime = children(cfg.StoreOps, storeTime.WithLabelValues)
	m.fanOut = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "hearth_fanout_latency_seconds",
		Help: "From accepting a send (the message's timestamp, millisecond precision; across nodes it includes the clocks' difference) " +
			"to writing it to the last local socket in the room.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1 ms … about 8 s
	})
	stats := cfg.Stats
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		framesIn, m.framesOut, m.deliveries, drops, pubErrors, m.resubs, storeErrs, storeTime, m.fanOut,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hearth_connections_open",
			Help: "WebSocket connections open on this node.",
		}, func() float64 { return float64(stats().Connections) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hearth_rooms_live",
			Help: "Rooms (and personal channels) with at least one connection on this node.",
		}, func() float64 { return float64(stats().Rooms) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hearth_sessions_open",
			Help: "Rooms with a connection on this node whose session is open (or closing). Summed over nodes it counts a room once per node: use max or count by node.",
		}, func() float64 { return float64(stats().SessionsOpen) }),
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
func (m *Metrics) FrameIn(typ string) { m.framesIn.get(typ).Inc() }

// FrameOut counts one frame written to a client, carrying events events
// (hub.Observer).
func (m *Metrics) FrameOut(events int) {
	m.framesOut.Inc()
	m.deliveries.Add(float64(events))
}

// Dropped counts n events dropped from (or never put in) a connection's
// send queue for reason, one of Config.DropReasons (hub.Observer).
func (m *Metrics) Dropped(reason string, n int) { m.drops.get(reason).Add(float64(n)) }

// FanOut observes one message's fan-out latency (hub.Observer). Negative
// durations (clock differences between nodes) count as 0.
func (m *Metrics) FanOut(d time.Duration) { m.fanOut.Observe(max(d, 0).Seconds()) }

// PublishError counts one failed broker call of kind, one of
// Config.PublishKinds.
func (m *Metrics) PublishError(kind string) { m.pubErrors.get(kind).Inc() }

// Resubscribed counts one room channel resubscribed after a reconnect to
// Redis.
func (m *Metrics) Resubscribed() { m.resubs.Inc() }

// StoreOp observes one store operation op (one of Config.StoreOps) that
// took d, and counts it as an error when failed.
func (m *Metrics) StoreOp(op string, d time.Duration, failed bool) {
	m.storeTime.get(op).Observe(d.Seconds())
	if failed {
		m.storeErrs.get(op).Inc()
	}
}
