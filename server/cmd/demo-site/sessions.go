package main

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Session limits: an idle session is forgotten after sessionTTL; a log-in
// must come back within pendingTTL; one browser has at most maxPending
// log-ins under way (more tabs than that start over).
const (
	cookieName = "demo_session"
	sessionTTL = 12 * time.Hour
	pendingTTL = 10 * time.Minute
	maxPending = 8
	// maxSessions bounds the store against a flood of new browsers.
	maxSessions = 10000
)

// user is what the site knows of the person signed in.
type user struct {
	Subject    string
	Name       string
	Username   string
	Picture    string
	SignedInAt time.Time
}

// pendingLogin is a log-in under way: what the callback must check.
type pendingLogin struct {
	state, nonce, verifier string
	at                     time.Time
}

// session is one browser's, named by a random id in an HttpOnly cookie.
type session struct {
	id      string
	seen    time.Time
	pending []pendingLogin
	user    *user
	token   *oauth2.Token
}

// sessions is the site's in-memory session store.
type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func newSessions() *sessions { return &sessions{m: map[string]*session{}} }

// randomString returns 256 random bits, base64url.
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// get returns the session of r's cookie, or nil.
func (s *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.m[c.Value]
	if sess == nil || time.Since(sess.seen) > sessionTTL {
		delete(s.m, c.Value)
		return nil
	}
	sess.seen = time.Now()
	return sess
}

// getOrCreate returns r's session, or starts one and sets its cookie.
func (s *sessions) getOrCreate(w http.ResponseWriter, r *http.Request, secure bool) *session {
	if sess := s.get(r); sess != nil {
		return sess
	}
	sess := &session{id: randomString(), seen: time.Now()}
	s.mu.Lock()
	s.sweep()
	s.m[sess.id] = sess
	s.mu.Unlock()
	setCookie(w, sess.id, secure)
	return sess
}

// addPending records a log-in under way, dropping expired ones and, past
// maxPending, the oldest.
func (s *sessions) addPending(sess *session, pl pendingLogin) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := sess.pending[:0]
	for _, p := range sess.pending {
		if time.Since(p.at) < pendingTTL {
			keep = append(keep, p)
		}
	}
	if len(keep) >= maxPending {
		keep = keep[len(keep)-maxPending+1:]
	}
	sess.pending = append(keep, pl)
}

// takePending removes and returns the log-in whose state is state: each
// state is good for one callback.
func (s *sessions) takePending(sess *session, state string) (pendingLogin, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range sess.pending {
		if p.state == state {
			sess.pending = append(sess.pending[:i], sess.pending[i+1:]...)
			return p, time.Since(p.at) < pendingTTL
		}
	}
	return pendingLogin{}, false
}

// signIn signs sess in as u, under a new id (so that an id planted before
// the log-in is worth nothing after it: session fixation).
func (s *sessions) signIn(w http.ResponseWriter, sess *session, u *user, tok *oauth2.Token, secure bool) {
	s.mu.Lock()
	delete(s.m, sess.id)
	sess.id = randomString()
	sess.user, sess.token, sess.pending = u, tok, nil
	s.m[sess.id] = sess
	s.mu.Unlock()
	setCookie(w, sess.id, secure)
}

// signOut forgets sess.
func (s *sessions) signOut(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sess.id)
}

// sweep drops idle sessions and, while there are still too many, any
// others; s.mu is held.
func (s *sessions) sweep() {
	for id, sess := range s.m {
		if time.Since(sess.seen) > sessionTTL || len(s.m) >= maxSessions {
			delete(s.m, id)
		}
	}
}

// setCookie sets the session cookie: HttpOnly (no script reads it),
// SameSite=Lax (sent on the platform's redirect back, a top-level GET, but
// not on other sites' POSTs).
func setCookie(w http.ResponseWriter, id string, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: id, Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL / time.Second),
	})
}
