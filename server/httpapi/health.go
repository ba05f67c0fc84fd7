package httpapi

import (
	"net/http"

	"github.com/qrlogin/qrlogin/server/api"
)

// health answers 200 while the database answers and takes writes, and 503
// with the reason otherwise. Whether it takes writes is the outcome of a
// write probe that the store makes at most every few seconds
// (server.Store.CheckWrites), so that a flood of checks is no flood of
// writes.
func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	st := h.svc.Store()
	if err := st.Ping(r.Context()); err != nil {
		h.log.Error("health: database unreachable", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, api.Health{Status: "database unreachable"})
		return
	}
	if err := st.CheckWrites(r.Context(), h.svc.Config().Now()); err != nil {
		h.log.Error("health: database does not take writes", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, api.Health{Status: "database does not accept writes (disk full, read-only or damaged: see the server log)"})
		return
	}
	writeJSON(w, http.StatusOK, api.Health{Status: "ok"})
}
