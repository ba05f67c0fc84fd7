package httpapi_test

// Issue 10's abuse cases: one client on one address (or one /64) tries to
// take the server down, dodge its limits or lock others out. Each test
// fails on the server before the change that it names.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/httpapi"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/node"
)

// concurrently runs f n times at once and returns the statuses by count.
func concurrently(n int, f func(i int) int) map[int]int {
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s := f(i)
			mu.Lock()
			got[s]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return got
}

// Item 2: the failure budget is reserved before the password is checked,
// so that 60 concurrent wrong logins from one address cannot all be
// judged: at most the budget's 30 are, the rest get 429.
func TestConcurrentFailuresCannotOverdrawTheBudget(t *testing.T) {
	h := start(t, nil)
	got := concurrently(60, func(i int) int {
		// Different usernames, so that only the address's budget applies.
		return h.Do("POST", api.PathMobileLogin, protocoltest.Auth{}, api.MobileLoginRequest{
			Username: fmt.Sprintf("nobody%d", i), Password: "wrong password", Device: api.MobileDevice{ID: "d"},
		}).Status
	})
	if got[http.StatusUnauthorized] > httpapi.DefaultLimits.BurstFailure || got[http.StatusTooManyRequests] == 0 {
		t.Fatalf("60 concurrent failed logins: %v, want at most %d 401 and the rest 429", got, httpapi.DefaultLimits.BurstFailure)
	}
}

// Item 3: the per-account login budget is keyed on the canonical name:
// once alice is locked, ALICE is too. A name that cannot be a username is
// refused without becoming a key (see TestMalformedUsernamesMakeNoKeys).
func TestLoginLimitIgnoresLetterCase(t *testing.T) {
	h := start(t, func(c *node.Config) {
		c.Limits = httpapi.Limits{Failures: 1000, BurstFailure: 1000} // only the username's budget is under test
	})
	p := h.NewPhone("Alice")
	for range httpapi.DefaultLimits.BurstLogin {
		r := h.Do("POST", api.PathMobileLogin, protocoltest.Auth{}, api.MobileLoginRequest{
			Username: p.Username, Password: "wrong password", Device: api.MobileDevice{ID: "d"},
		})
		protocoltest.Want(t, r, http.StatusUnauthorized, "unauthorized")
	}
	for _, name := range []string{p.Username, strings.ToUpper(p.Username), "U" + p.Username[1:]} {
		r := h.Do("POST", api.PathMobileLogin, protocoltest.Auth{}, api.MobileLoginRequest{
			Username: name, Password: "correct horse", Device: api.MobileDevice{ID: "d"},
		})
		protocoltest.Want(t, r, http.StatusTooManyRequests, "rate_limited")
	}
	// Successful logins do not spend it: another account is unaffected
	// by its own many logins.
	q := h.NewPhone("Bob")
	for range httpapi.DefaultLimits.BurstLogin + 5 {
		h.Login(q.Username, "d")
	}
}

// Item 6: requests that are not failed credentials (a missing favicon, an
// unknown endpoint) do not spend the address's guessing budget, so they
// cannot lock out the household behind it.
func TestNotFoundPagesDoNotLockTheAddressOut(t *testing.T) {
	h := start(t, nil)
	p := h.NewPhone("Alice")
	for range 3 * httpapi.DefaultLimits.BurstFailure {
		protocoltest.Want(t, h.Do("GET", "/favicon.ico", protocoltest.Auth{}, nil), http.StatusNotFound, "not_found")
	}
	tk := h.NewTicket()
	h.SignIn(p, tk)
	// A wrong poll secret is a failed credential and does count.
	for range httpapi.DefaultLimits.BurstFailure {
		h.Do("POST", api.PathTickets+"/"+tk.Ref+"/redeem", protocoltest.Auth{Bearer: "wrong"}, nil)
	}
	protocoltest.Want(t, h.Do("POST", api.PathTickets, protocoltest.Auth{}, api.CreateTicketRequest{}), http.StatusTooManyRequests, "rate_limited")
}

// Item 7: QR images are rate-limited per address, and probing random refs
// spends the guessing budget.
func TestQRImagesThrottledAndProbesCharged(t *testing.T) {
	h := start(t, nil)
	statuses := map[int]int{}
	for range httpapi.DefaultLimits.BurstFailure + 5 {
		statuses[h.Do("GET", "/q/"+server.NewRef()+".png", protocoltest.Auth{}, nil).Status]++
	}
	if statuses[http.StatusTooManyRequests] == 0 {
		t.Fatalf("random-ref probes: %v, want 429 once the guessing budget is spent", statuses)
	}

	h = start(t, nil)
	tk := h.NewTicket()
	statuses = map[int]int{}
	for range httpapi.DefaultLimits.BurstQR + 5 {
		statuses[h.Do("GET", "/q/"+tk.Ref+".png?px=2048", protocoltest.Auth{}, nil).Status]++
	}
	if statuses[http.StatusOK] != httpapi.DefaultLimits.BurstQR || statuses[http.StatusTooManyRequests] != 5 {
		t.Fatalf("QR images of one ref: %v, want %d 200 then 429", statuses, httpapi.DefaultLimits.BurstQR)
	}
}

// Item 8: a JSON endpoint takes only application/json, which a cross-site
// page cannot send without a CORS preflight; and a browser page of another
// origin cannot create a ticket even with an empty body.
func TestCrossSiteRequestsRefused(t *testing.T) {
	h := start(t, nil)
	for _, c := range []struct{ path, body string }{
		{api.PathAccounts, `{"username":"mallory","password":"correct horse"}`},
		{api.PathTickets, `{"device":{"name":"PC"}}`},
		{api.PathMobileLogin, `{"username":"mallory","password":"correct horse","device":{"id":"d"}}`},
	} {
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
			req, _ := http.NewRequest("POST", h.Base+c.path, strings.NewReader(c.body))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(b), "unsupported_media_type") {
				t.Errorf("POST %s as %q: %d %s, want 415", c.path, ct, res.StatusCode, b)
			}
		}
	}
	if counts := h.ticketCounts(); counts[server.StatePending] != 0 {
		t.Fatalf("tickets were created: %v", counts)
	}
	req, _ := http.NewRequest("POST", h.Base+api.PathTickets, nil)
	req.Header.Set("Origin", "https://attacker.example")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("an empty POST from another origin: %d, want 403", res.StatusCode)
	}
	// The server's own pages still may.
	req, _ = http.NewRequest("POST", h.Base+api.PathTickets, nil)
	req.Header.Set("Origin", h.Base)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("an empty POST from the server's own origin: %d, want 201", res.StatusCode)
	}
}

// Item 9: DNS rebinding. A request for a host the server is not known by
// gets 421, and an Origin equal to such a Host does not open a WebSocket.
func TestUnknownHostsMisdirected(t *testing.T) {
	h := start(t, func(c *node.Config) { c.Aliases = []string{"http://qrlogin.lan:8080"} })
	port := h.node.Addr().(*net.TCPAddr).Port
	tk := h.NewTicket()
	get := func(host, path, origin string, hdr map[string]string) int {
		req, _ := http.NewRequest("GET", h.Base+path, nil)
		req.Host = host
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	rebound := fmt.Sprintf("attacker.example:%d", port)
	upgrade := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Authorization": "Bearer " + tk.PollSecret}
	for _, c := range []struct {
		host, path, origin string
		hdr                map[string]string
		want               int
	}{
		{rebound, api.PathTickets + "/" + tk.Ref + "/events", "http://" + rebound, upgrade, http.StatusMisdirectedRequest},
		{rebound, "/login", "", nil, http.StatusMisdirectedRequest},
		{fmt.Sprintf("localhost:%d", port), "/q/" + tk.Ref, "", nil, http.StatusMisdirectedRequest},
		{rebound, api.PathHealth, "", nil, http.StatusOK}, // load balancers ask by address
		{"qrlogin.lan:8080", "/q/" + tk.Ref, "", nil, http.StatusOK},
		{fmt.Sprintf("127.0.0.1:%d", port), "/q/" + tk.Ref, "", nil, http.StatusOK},
		// The request's own host is no reason to allow its Origin.
		{fmt.Sprintf("127.0.0.1:%d", port), api.PathTickets + "/" + tk.Ref + "/events", "http://attacker.example", upgrade, http.StatusForbidden},
		{fmt.Sprintf("127.0.0.1:%d", port), api.PathTickets + "/" + tk.Ref + "/events", "http://qrlogin.lan:8080", upgrade, http.StatusSwitchingProtocols},
	} {
		if got := get(c.host, c.path, c.origin, c.hdr); got != c.want {
			t.Errorf("Host %s, Origin %q, GET %s: %d, want %d", c.host, c.origin, c.path, got, c.want)
		}
	}
}

// Item 10: a scan payload that names another host is refused, though its
// ref is real, and the ticket stays pending.
func TestScanOfAnotherHostsPayloadRefused(t *testing.T) {
	h := start(t, func(c *node.Config) { c.Aliases = []string{"https://login.example"} })
	p := h.NewPhone("Alice")
	tk := h.NewTicket()
	for _, payload := range []string{"https://evil.example/q/" + tk.Ref, "http://evil.example" + strings.TrimPrefix(tk.QRPayload, h.Base)} {
		r := h.Scan(p, payload)
		protocoltest.Want(t, r, http.StatusBadRequest, "invalid_request")
		if !strings.Contains(string(r.Body), "another server") {
			t.Errorf("scan of %s: %s, want a message that names another server", payload, r.Body)
		}
	}
	if counts := h.ticketCounts(); counts[server.StatePending] != 1 {
		t.Fatalf("tickets: %v, want the one still pending", counts)
	}
	// The base URL in another case, and an alias, are ours.
	protocoltest.Want(t, h.Scan(p, strings.Replace(tk.QRPayload, "http://", "HTTP://", 1)), http.StatusOK, "")
	tk = h.NewTicket()
	protocoltest.Want(t, h.Scan(p, "https://login.example/q/"+tk.Ref), http.StatusOK, "")
}

// Item 5: sockets are capped per credential and per address, with 429 at
// the upgrade (and close 4429 where the credential comes in a message).
func TestSocketCaps(t *testing.T) {
	h := start(t, func(c *node.Config) { c.Limits = httpapi.Limits{SocketsPerAddress: 20} })
	p := h.NewPhone("Alice")
	perCred := httpapi.DefaultLimits.SocketsPerCredential
	for i := range perCred + 1 {
		_, status := h.Dial(api.PathMobileEvents, p.Auth, "")
		want := http.StatusSwitchingProtocols
		if i == perCred {
			want = http.StatusTooManyRequests
		}
		if status != want {
			t.Fatalf("phone socket %d: %d, want %d", i+1, status, want)
		}
	}
	tk := h.NewTicket()
	for range perCred {
		h.Dial(api.PathTickets+"/"+tk.Ref+"/events", tk.Secret(), "")
	}
	// The ticket's cap reached, a socket that authenticates by message is
	// closed with 4429.
	ws, status := h.Dial(api.PathTickets+"/"+tk.Ref+"/events", protocoltest.Auth{}, "")
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade without a bearer: %d", status)
	}
	ws.Send(api.AuthMessage{Type: api.EventAuth, PollSecret: tk.PollSecret})
	if code := ws.Closed(5 * time.Second); code != 4429 {
		t.Fatalf("a ticket's socket over its cap: close %d, want 4429", code)
	}
	// The address has 16 open: 4 more, then 429 on any credential.
	for range 4 {
		t2 := h.NewTicket()
		if _, status := h.Dial(api.PathTickets+"/"+t2.Ref+"/events", t2.Secret(), ""); status != http.StatusSwitchingProtocols {
			t.Fatalf("socket within the address's cap: %d", status)
		}
	}
	t3 := h.NewTicket()
	if _, status := h.Dial(api.PathTickets+"/"+t3.Ref+"/events", t3.Secret(), ""); status != http.StatusTooManyRequests {
		t.Fatalf("socket over the address's cap: %d, want 429", status)
	}
	r := h.Do("GET", api.PathTickets+"/"+t3.Ref+"/wait", t3.Secret(), nil)
	protocoltest.Want(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After on a refused long-poll")
	}
}

// Item 4: a request body trickled slower than the body timeout, and a
// keep-alive connection left idle, are closed.
func TestSlowBodiesAndIdleConnectionsClosed(t *testing.T) {
	h := start(t, func(c *node.Config) { c.BodyTimeout = time.Second; c.IdleTimeout = 2 * time.Second })
	addr := h.node.Addr().String()
	const n = 30
	closed := make(chan int, n)
	for i := range n {
		go func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				closed <- -1
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", api.PathAccounts, addr)
			for range 300 { // a byte every 100 ms for 30 s, unless closed
				time.Sleep(100 * time.Millisecond)
				if _, err := c.Write([]byte(" ")); err != nil {
					closed <- i
					return
				}
			}
			closed <- -1
		}()
	}
	for range n {
		if i := <-closed; i < 0 {
			t.Fatal("a connection trickling a body was still open after 30 s")
		}
	}

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", api.PathHealth, addr)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the server sent more on an idle connection")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("an idle keep-alive connection was still open after 30 s")
	}
}

// Item 14: per-address limits key an IPv6 address by its /64, so that a
// client cannot dodge them by changing the low 64 bits; and tickets are
// capped per address per hour and for the whole node.
func TestIPv6LimitedPerSlash64AndTicketCaps(t *testing.T) {
	h := start(t, func(c *node.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	statuses := map[int]int{}
	for i := range httpapi.DefaultLimits.BurstFailure + 5 {
		req, _ := http.NewRequest("GET", h.Base+api.PathMe, nil)
		req.Header.Set("Authorization", "Bearer wrong")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("2001:db8:1:2::%x", i+1))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		statuses[res.StatusCode]++
	}
	if statuses[http.StatusTooManyRequests] == 0 {
		t.Fatalf("failures from one /64: %v, want 429 once the budget is spent", statuses)
	}

	h = start(t, func(c *node.Config) { c.Limits = httpapi.Limits{TicketsPerHour: 5, BurstTickets: 5} })
	for range 10 { // malformed requests spend no ticket
		protocoltest.Want(t, h.Do("POST", api.PathTickets, protocoltest.Auth{}, "not json"), http.StatusBadRequest, "invalid_request")
	}
	for range 5 {
		h.NewTicket()
	}
	protocoltest.Want(t, h.Do("POST", api.PathTickets, protocoltest.Auth{}, api.CreateTicketRequest{}), http.StatusTooManyRequests, "rate_limited")

	h = start(t, func(c *node.Config) { c.Limits = httpapi.Limits{MaxPending: 3} })
	for range 3 {
		h.NewTicket()
	}
	protocoltest.Want(t, h.Do("POST", api.PathTickets, protocoltest.Auth{}, api.CreateTicketRequest{}), http.StatusTooManyRequests, "rate_limited")
}

// Item 15: authenticated calls are rate-limited per credential.
func TestAuthenticatedCallsLimited(t *testing.T) {
	h := start(t, nil)
	p := h.NewPhone("Alice")
	rr := h.SignIn(p, h.NewTicket())
	for _, c := range []struct {
		path string
		auth protocoltest.Auth
	}{{api.PathMobileSessions, p.Auth}, {api.PathMe, protocoltest.Auth{Bearer: rr.SessionToken}}} {
		statuses := map[int]int{}
		for range httpapi.DefaultLimits.BurstCredential + 10 {
			statuses[h.Do("GET", c.path, c.auth, nil).Status]++
		}
		if statuses[http.StatusTooManyRequests] == 0 {
			t.Errorf("GET %s %d times on one credential: %v, want 429", c.path, httpapi.DefaultLimits.BurstCredential+10, statuses)
		}
	}
}

// Item 16: X-Forwarded-For from a peer that is not a trusted proxy is
// ignored, and said once in the log.
func TestUntrustedForwardedForWarnedOnce(t *testing.T) {
	h := start(t, nil)
	for range 3 {
		req, _ := http.NewRequest("GET", h.Base+api.PathHealth, nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if n := strings.Count(h.logs.String(), "X-Forwarded-For arrived from a peer that is not a trusted proxy"); n != 1 {
		t.Fatalf("the warning was logged %d times, want once:\n%s", n, h.logs.String())
	}
}
