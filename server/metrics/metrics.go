// Package metrics exposes the server's Prometheus metrics: tickets by state
// (counted in the store at most every 30 s), transitions, open sockets, push
// latencies and HTTP requests.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qrlogin/qrlogin/server"
)

// Metrics holds the collectors of one server. Its methods are safe for
// concurrent use.
type Metrics struct {
	reg         *prometheus.Registry
	transitions *prometheus.CounterVec
	sockets     *prometheus.GaugeVec
	scanToPush  prometheus.Histogram
	confirmPush prometheus.Histogram
	requests    *prometheus.CounterVec
}

// New registers the collectors in a registry of their own; store is asked
// for the tickets by state at each scrape.
func New(store server.Store) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qrlogin_ticket_transitions_total", Help: "Tickets that entered each state.",
		}, []string{"state"}),
		sockets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "qrlogin_sockets_open", Help: "Open WebSockets and long-polls by kind.",
		}, []string{"kind"}),
		scanToPush: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "qrlogin_scan_to_push_seconds", Help: "From a scan request's arrival to the scanned event written to the desktop.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		confirmPush: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "qrlogin_confirm_to_push_seconds", Help: "From a confirm request's arrival to its event written to the desktop.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qrlogin_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "code"}),
	}
	m.reg.MustRegister(m.transitions, m.sockets, m.scanToPush, m.confirmPush, m.requests,
		&ticketsCollector{store: store, desc: prometheus.NewDesc("qrlogin_tickets", "Stored tickets by state.", []string{"state"}, nil)},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Transition counts a ticket entering state.
func (m *Metrics) Transition(state server.State) { m.transitions.WithLabelValues(string(state)).Inc() }

// SocketOpened counts a socket of kind opening; call the result when it
// closes.
func (m *Metrics) SocketOpened(kind string) (closed func()) {
	g := m.sockets.WithLabelValues(kind)
	g.Inc()
	return g.Dec
}

// Pushed records that an event in state, caused by a request that arrived at
// at, reached a desktop now.
func (m *Metrics) Pushed(state server.State, at time.Time) {
	if at.IsZero() {
		return
	}
	switch state {
	case server.StateScanned:
		m.scanToPush.Observe(time.Since(at).Seconds())
	case server.StateConfirmed, server.StateDenied:
		m.confirmPush.Observe(time.Since(at).Seconds())
	}
}

// Request counts an HTTP request answered with status on route (the mux
// pattern, so that refs never become labels).
func (m *Metrics) Request(route string, status int) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
}

// ticketsCollector reports the tickets by state in the store. Counting
// reads the whole ticket table, so it runs at most once per countEvery,
// whatever the number of scrapers, and scrapes in between get the last
// counts: a scrape costs a look-up, not a scan.
type ticketsCollector struct {
	store server.Store
	desc  *prometheus.Desc

	mu     sync.Mutex // held while counting: concurrent scrapes wait for one count
	at     time.Time
	counts map[server.State]int
	err    error
}

// countEvery is how old the ticket counts may get.
const countEvery = 30 * time.Second

func (c *ticketsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *ticketsCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.current()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, s := range server.States {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
}

// current returns the counts, counting again if the last are older than
// countEvery.
func (c *ticketsCollector) current() (map[server.State]int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || time.Since(c.at) >= countEvery {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c.counts, c.err = c.store.CountTicketsByState(ctx)
		c.at = time.Now()
	}
	return c.counts, c.err
}
