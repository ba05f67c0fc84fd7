package httpapi

import (
	"net/http"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/oauth/provider"
)

// listGrants serves GET /api/v1/mobile/grants: the apps' live grants on
// the phone's account. A server without the open platform has none.
func (h *Handler) listGrants(w http.ResponseWriter, r *http.Request, d server.Device) {
	list := []api.Grant{}
	if h.cfg.OAuth != nil {
		var err error
		if list, err = h.cfg.OAuth.Grants(r.Context(), d.UserID); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, api.GrantsBody{Grants: list})
}

// revokeGrant serves DELETE /api/v1/mobile/grants/{id}: the phone ends one
// of its account's grants.
func (h *Handler) revokeGrant(w http.ResponseWriter, r *http.Request, d server.Device) {
	var err error = server.Errorf(server.CodeNotFound, "no such grant")
	if h.cfg.OAuth != nil {
		err = h.cfg.OAuth.RevokeGrant(r.Context(), d.UserID, r.PathValue("id"))
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// revoke serves POST /oauth/revoke (RFC 7009): 200 with {} for any token
// of a client that authenticated, known or not.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	f, cc, ok := h.clientRequest(w, r)
	if !ok {
		return
	}
	err := h.checkedOAuth(r, func() error {
		return h.cfg.OAuth.Revoke(r.Context(), cc, f.Get("token"))
	}, provider.InvalidClient)
	h.writeOAuth(w, r, struct{}{}, err)
}
