package metrics

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/qrlogin/qrlogin/server"
)

// countingStore counts CountTicketsByState calls; the rest of server.Store
// is not used by the metrics and left nil.
type countingStore struct {
	server.Store
	calls atomic.Int64
}

func (s *countingStore) CountTicketsByState(context.Context) (map[server.State]int, error) {
	s.calls.Add(1)
	return map[server.State]int{server.StatePending: 7}, nil
}

// Item 11 of issue 10: six scrapers took /healthz from 2 ms to 223 ms at
// 300k tickets, each scrape counting the whole ticket table. Scrapes now
// share one count per countEvery.
func TestScrapesShareOneCount(t *testing.T) {
	store := &countingStore{}
	m := New(store)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range 10 {
				rec := httptest.NewRecorder()
				m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
				if !strings.Contains(rec.Body.String(), `qrlogin_tickets{state="pending"} 7`) {
					t.Errorf("scrape lacks the pending count:\n%.300s", rec.Body.String())
				}
			}
		})
	}
	wg.Wait()
	if n := store.calls.Load(); n != 1 {
		t.Fatalf("60 scrapes counted the tickets %d times, want once", n)
	}
}
