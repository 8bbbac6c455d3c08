// Package metrics holds Gatehouse's Prometheus collectors, registered on a
// registry of their own (no global state), served at /metrics.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the collectors. A nil *Metrics is valid and records nothing,
// so that packages can be used without metrics in tests.
type Metrics struct {
	reg            *prometheus.Registry
	logins         *prometheus.CounterVec
	sessions       *prometheus.GaugeVec
	kicked         *prometheus.CounterVec
	deliveries     *prometheus.CounterVec
	loginRecLost   prometheus.Counter
	loginRecQueued prometheus.Gauge
	adminChanges   *prometheus.CounterVec
	deliveredBytes prometheus.Counter
}

// New creates and registers the collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_logins_total", Help: "POP3/IMAP4 login attempts by protocol and result.",
		}, []string{"protocol", "result"}),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gatehouse_sessions_open", Help: "Authenticated POP3/IMAP4 sessions open on this node.",
		}, []string{"protocol"}),
		kicked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_sessions_closed_by_policy_total", Help: "Open sessions closed because the access rule turned false for them.",
		}, []string{"protocol"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_deliveries_total", Help: "Messages offered for delivery, per recipient, by protocol and result.",
		}, []string{"protocol", "result"}),
		deliveredBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_delivered_bytes_total", Help: "Bytes of messages stored by delivery.",
		}),
		loginRecLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_login_records_dropped_total", Help: "Login records dropped: the oldest when the recorder's buffer was full while the store did not take them, and those left unwritten at shutdown.",
		}),
		loginRecQueued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_login_records_pending", Help: "Login records waiting in the recorder's buffer to be written.",
		}),
		adminChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_admin_operations_total", Help: "Audited administrative operations by cmdlet and outcome.",
		}, []string{"cmdlet", "succeeded"}),
	}
	m.reg.MustRegister(m.logins, m.sessions, m.kicked, m.deliveries, m.deliveredBytes, m.loginRecLost, m.loginRecQueued, m.adminChanges,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Login counts one login attempt.
func (m *Metrics) Login(protocol, result string) {
	if m != nil {
		m.logins.WithLabelValues(protocol, result).Inc()
	}
}

// SessionOpened and SessionClosed track open sessions.
func (m *Metrics) SessionOpened(protocol string) {
	if m != nil {
		m.sessions.WithLabelValues(protocol).Inc()
	}
}

// SessionClosed is the counterpart of SessionOpened.
func (m *Metrics) SessionClosed(protocol string) {
	if m != nil {
		m.sessions.WithLabelValues(protocol).Dec()
	}
}

// Kicked counts a session closed by policy.
func (m *Metrics) Kicked(protocol string) {
	if m != nil {
		m.kicked.WithLabelValues(protocol).Inc()
	}
}

// Delivery counts one recipient of one message.
func (m *Metrics) Delivery(protocol, result string) {
	if m != nil {
		m.deliveries.WithLabelValues(protocol, result).Inc()
	}
}

// DeliveredBytes counts stored message bytes.
func (m *Metrics) DeliveredBytes(n int) {
	if m != nil {
		m.deliveredBytes.Add(float64(n))
	}
}

// LoginRecordDropped counts a record lost to a full buffer.
func (m *Metrics) LoginRecordDropped() {
	if m != nil {
		m.loginRecLost.Inc()
	}
}

// LoginRecordsLost counts records left unwritten at shutdown.
func (m *Metrics) LoginRecordsLost(n int) {
	if m != nil {
		m.loginRecLost.Add(float64(n))
	}
}

// LoginRecordsPending sets how many records wait to be written.
func (m *Metrics) LoginRecordsPending(n int) {
	if m != nil {
		m.loginRecQueued.Set(float64(n))
	}
}

// AdminOperation counts an audited operation.
func (m *Metrics) AdminOperation(cmdlet string, succeeded bool) {
	if m != nil {
		s := "false"
		if succeeded {
			s = "true"
		}
		m.adminChanges.WithLabelValues(cmdlet, s).Inc()
	}
}
