package httpapi

import (
	"net/http"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// desktopKey serves GET /api/v1/desktop/key: with a DPoP proof, the
// account the desktop's key is enrolled for.
func (h *Handler) desktopKey(w http.ResponseWriter, r *http.Request) {
	jkt, err := h.proofKey(r, "", "")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	info, err := h.svc.DesktopKey(r.Context(), jkt)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// desktopLogin serves POST /api/v1/desktop/login: with a DPoP proof from
// an enrolled key, the account's phones are asked to let the desktop in.
func (h *Handler) desktopLogin(w http.ResponseWriter, r *http.Request) {
	var req api.DesktopLoginRequest
	if err := decodeOptional(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	jkt, err := h.proofKey(r, "", "")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	resp, err := h.svc.DesktopLogin(r.Context(), jkt, server.Desktop{
		Name: req.Device.Name, OS: req.Device.OS, App: req.Device.App, IP: clientIP(r), UserAgent: r.UserAgent(),
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, resp)
}

// loginRequests serves GET /api/v1/mobile/login-requests.
func (h *Handler) loginRequests(w http.ResponseWriter, r *http.Request, d server.Device) {
	list, err := h.svc.LoginRequests(r.Context(), d, clientIP(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// decideLoginRequest serves POST /api/v1/mobile/login-requests/{id}.
func (h *Handler) decideLoginRequest(w http.ResponseWriter, r *http.Request, d server.Device) {
	var req api.DecideLoginRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	resp, err := h.svc.DecideLoginRequest(r.Context(), d, r.PathValue("id"), req)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// desktops serves GET /api/v1/mobile/desktops.
func (h *Handler) desktops(w http.ResponseWriter, r *http.Request, d server.Device) {
	list, err := h.svc.Desktops(r.Context(), d)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// removeDesktop serves DELETE /api/v1/mobile/desktops/{id}.
func (h *Handler) removeDesktop(w http.ResponseWriter, r *http.Request, d server.Device) {
	if err := h.svc.RemoveDesktop(r.Context(), d, r.PathValue("id")); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
