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
// log-ins under way (more tabs than that start over); a session the
// platform ended is remembered, to tell its browser why, for endedTTL.
const (
	cookieName = "demo_session"
	sessionTTL = 12 * time.Hour
	pendingTTL = 10 * time.Minute
	maxPending = 8
	endedTTL   = time.Hour
	// maxSessions bounds the store, and its ended sessions, against a
	// flood of new browsers.
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
// Once signed in it has the user, the tokens and the sid of the ID token
// ("" if it had none): the login that a back-channel logout names.
type session struct {
	id      string
	seen    time.Time
	pending []pendingLogin
	user    *user
	sid     string
	token   *oauth2.Token
}

// ended is what remains of a signed-in session that the platform ended:
// whose login it was, and what its browser is told.
type ended struct {
	sub, sid string
	notice   string
	at       time.Time
}

// sessions is the site's in-memory session store: the live sessions, and
// the ones the platform ended, for endedTTL, by id.
type sessions struct {
	mu    sync.Mutex
	m     map[string]*session
	ended map[string]*ended
}

func newSessions() *sessions {
	return &sessions{m: map[string]*session{}, ended: map[string]*ended{}}
}

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

// signIn signs sess in as u, by the login of the ID token's sid (""
// if it had none), under a new id (so that an id planted before the log-in
// is worth nothing after it: session fixation).
func (s *sessions) signIn(w http.ResponseWriter, sess *session, u *user, sid string, tok *oauth2.Token, secure bool) {
	s.mu.Lock()
	delete(s.m, sess.id)
	sess.id = randomString()
	sess.user, sess.sid, sess.token, sess.pending = u, sid, tok, nil
	s.m[sess.id] = sess
	s.mu.Unlock()
	setCookie(w, sess.id, secure)
}

// signOut forgets sess: the person logged out of this site.
func (s *sessions) signOut(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sess.id)
}

// end ends the signed-in sess because the platform ended its login; its
// browser is told notice (see endedNotice).
func (s *sessions) end(sess *session, notice string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLocked(sess, notice)
}

// endLocked is end with s.mu held.
func (s *sessions) endLocked(sess *session, notice string) {
	delete(s.m, sess.id)
	s.ended[sess.id] = &ended{sub: sess.user.Subject, sid: sess.sid, notice: notice, at: time.Now()}
}

// endLogin ends every signed-in session of the login that a back-channel
// logout names by subject sub and sid (either may be "", not both; see
// ofLogin), and returns how many it ended. Their browsers are told notice,
// and so are those of the login's sessions ended already (say, when
// userinfo refused the token before the logout token arrived).
func (s *sessions) endLogin(sub, sid, notice string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sess := range s.m {
		if sess.user != nil && ofLogin(sess.user.Subject, sess.sid, sub, sid) {
			s.endLocked(sess, notice)
			n++
		}
	}
	for _, e := range s.ended {
		if ofLogin(e.sub, e.sid, sub, sid) {
			e.notice = notice
		}
	}
	return n
}

// ofLogin reports whether a login of subject sub whose ID token had sid
// ("" if none) is one that a logout token naming lsub and lsid ends: by
// sid where both have one (and by subject too, if the logout names one),
// else by subject.
func ofLogin(sub, sid, lsub, lsid string) bool {
	if lsub != "" && sub != lsub {
		return false
	}
	if lsid != "" && sid != "" {
		return sid == lsid
	}
	return lsub != ""
}

// endedNotice returns what the browser of r is told about its session
// that the platform ended, until it logs in again or endedTTL passes; ""
// if there is none.
func (s *sessions) endedNotice(r *http.Request) string {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.ended[c.Value]
	if e == nil || time.Since(e.at) > endedTTL {
		delete(s.ended, c.Value)
		return ""
	}
	return e.notice
}

// sweep drops idle sessions and old ended ones and, while there are still
// too many, any others; s.mu is held.
func (s *sessions) sweep() {
	for id, sess := range s.m {
		if time.Since(sess.seen) > sessionTTL || len(s.m) >= maxSessions {
			delete(s.m, id)
		}
	}
	for id, e := range s.ended {
		if time.Since(e.at) > endedTTL || len(s.ended) >= maxSessions {
			delete(s.ended, id)
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
