package httpapi

import (
	"bufio"
	"net"
	"net/http"
)

// timedWriter is the http.ResponseWriter of a WebSocket handler
// (upgradeChecked): its Hijack sets the connection's TCP user timeout, the
// half of finding dead peers that costs the server nothing while it waits
// (Config.PingEvery).
type timedWriter struct {
	http.ResponseWriter
	h       *Handler
	proxied bool // the peer is a trusted proxy
	// dropsDead is set by Hijack if the connection took the timeout and
	// is the client's own (no trusted proxy, whose acknowledgements say
	// nothing of the client): TCP then fails it once the peer leaves what
	// the server wrote unacknowledged for PingEvery/2.
	dropsDead bool
}

// timedWriter returns w, for the request r, as a timedWriter.
func (h *Handler) timedWriter(w http.ResponseWriter, r *http.Request) *timedWriter {
	return &timedWriter{ResponseWriter: w, h: h, proxied: h.trusted(peerIP(r))}
}

// Hijack hijacks the connection and sets its TCP user timeout to
// PingEvery/2, unless the peer is a trusted proxy; dropsDead says whether
// it did. The connection is handed over either way.
func (w *timedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.dropsDead = !w.proxied && setUserTimeout(conn, w.h.cfg.PingEvery/2) == nil
	return conn, brw, nil
}

// Unwrap lets http.ResponseController reach the writer's other methods.
func (w *timedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// dropsDead reports whether w, a WebSocket handler's writer, hijacked a
// connection that TCP fails when its peer dies (timedWriter.dropsDead).
func dropsDead(w http.ResponseWriter) bool {
	tw, ok := w.(*timedWriter)
	return ok && tw.dropsDead
}
