package httpapi

import (
	"net/http"

	"qrlogin/server/api"
)

func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.Store().Ping(r.Context()); err != nil {
		h.log.Error("health: database unreachable", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, api.Health{Status: "database unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, api.Health{Status: "ok"})
}
