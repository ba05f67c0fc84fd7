package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
)

// A client that authenticates by header and still sends the auth message
// (or anything else) keeps its socket and its events.
func TestWebSocketIgnoresClientMessages(t *testing.T) {
	h := start(t, nil)
	p := h.NewPhone("Alice")
	tk := h.NewTicket()
	ws, _ := h.Dial(events(tk.Ref), tk.Secret(), "")
	ws.Send(api.AuthMessage{Type: "auth", PollSecret: tk.PollSecret})
	ws.Send(map[string]string{"type": "hello"})
	ws.Expect("state", "pending", short)
	protocoltest.Want(t, h.Scan(p, tk.QRPayload), http.StatusOK, "")
	ws.Expect("state", "scanned", short)
}

// A ticket request may have no body at all: every field is optional.
func TestCreateTicketWithoutBody(t *testing.T) {
	h := start(t, nil)
	protocoltest.Want(t, h.Do("POST", api.PathTickets, protocoltest.Auth{}, nil), http.StatusCreated, "")
}
