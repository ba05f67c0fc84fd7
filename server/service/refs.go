package service

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// A rotating ticket's refs are sealed, not stored: the ref of its rotation
// n is one AES-256 block, the encryption of
//
//	ticket id (12 bytes) | n (2 bytes, big-endian) | "qr"
//
// under a key that every node reads from the store (Store.ServerKey), in
// base64url: 22 characters, like a random ref. Rotating a ticket is then
// an event to push, not a row to write, and any node opens any ref: it
// decrypts the block, checks the last two bytes, and reads the ticket by
// its id. Without the key a ref is 128 bits that cannot be told from
// random, cannot be made for a ticket, and says nothing of the ticket's
// id or of its other refs; a block that does not open is tried as a stored
// ref (a one-tap request's, a device grant's), and is otherwise unknown:
// 404.

// refKeyName names the sealing key in the store.
const refKeyName = "ticket-refs-aes256"

// ticketIDBytes is the length of a rotating ticket's id: 96 random bits,
// which leave room in the block for the rotation's number and a check.
const ticketIDBytes = 12

// maxRotations bounds a ticket's rotations (n fits 2 bytes).
const maxRotations = 1 << 16

var refCheck = [2]byte{'q', 'r'}

// refSealer seals and opens rotating tickets' refs.
type refSealer struct{ block cipher.Block }

// loadRefSealer reads the sealing key from store, storing a new random one
// if there is none yet.
func loadRefSealer(store server.Store) (refSealer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fresh := make([]byte, 32)
	rand.Read(fresh)
	key, err := store.ServerKey(ctx, refKeyName, fresh)
	if err != nil {
		return refSealer{}, fmt.Errorf("the key that seals QR refs: %w", err)
	}
	if len(key) != 32 {
		return refSealer{}, fmt.Errorf("the key that seals QR refs is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return refSealer{}, err
	}
	return refSealer{block: block}, nil
}

// newTicketID returns a new random id for a rotating ticket.
func newTicketID() string {
	b := make([]byte, ticketIDBytes)
	rand.Read(b) // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// seal returns the ref of rotation n of the ticket whose id is id, and
// false if id is not a rotating ticket's (newTicketID) or n is out of
// range.
func (r refSealer) seal(id string, n int) (string, bool) {
	var b [aes.BlockSize]byte
	if n < 0 || n >= maxRotations || !decodeTicketID(b[:ticketIDBytes], id) {
		return "", false
	}
	binary.BigEndian.PutUint16(b[ticketIDBytes:], uint16(n))
	copy(b[ticketIDBytes+2:], refCheck[:])
	r.block.Encrypt(b[:], b[:])
	return base64.RawURLEncoding.EncodeToString(b[:]), true
}

// decodeTicketID decodes id, a rotating ticket's (newTicketID), into dst
// (ticketIDBytes long), and reports false if it is not one.
func decodeTicketID(dst []byte, id string) bool {
	if base64.RawURLEncoding.EncodedLen(ticketIDBytes) != len(id) {
		return false
	}
	k, err := base64.RawURLEncoding.Decode(dst, []byte(id))
	return err == nil && k == ticketIDBytes
}

// open returns the ticket id and rotation number that ref seals, and false
// if ref is not a sealed ref.
func (r refSealer) open(ref string) (id string, n int, ok bool) {
	var b [aes.BlockSize]byte
	if len(ref) != base64.RawURLEncoding.EncodedLen(aes.BlockSize) {
		return "", 0, false
	}
	if k, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(ref)); err != nil || k != aes.BlockSize {
		return "", 0, false
	}
	r.block.Decrypt(b[:], b[:])
	if b[ticketIDBytes+2] != refCheck[0] || b[ticketIDBytes+3] != refCheck[1] {
		return "", 0, false
	}
	return base64.RawURLEncoding.EncodeToString(b[:ticketIDBytes]), int(binary.BigEndian.Uint16(b[ticketIDBytes:])), true
}

// rotation returns the number of t's rotation that is current at now: 0
// for a ticket that does not rotate, else the count of RotateEvery since
// creation, up to the last that starts before RotateUntil.
func (s *Service) rotation(t server.Ticket, now time.Time) int {
	if !s.rotates(t) || !now.After(t.CreatedAt) {
		return 0
	}
	n := int(now.Sub(t.CreatedAt) / t.RotateEvery)
	last := int((t.RotateUntil.Sub(t.CreatedAt) - 1) / t.RotateEvery)
	return max(0, min(n, last, maxRotations-1))
}

// scans reports whether ref n of pending ticket t is one that scans at
// now: the current rotation's; or, while nobody has watched t, its first,
// which then lives until t's deadline, as the protocol has it (refs are
// replaced only while the desktop watches). A watch marks t by extending
// its deadline (rotator) before its first ref is replaced, which moves its
// Version past 1: no other write leaves a ticket pending.
func (s *Service) scans(t server.Ticket, n int, now time.Time) bool {
	return n == s.rotation(t, now) || n == 0 && t.Version == 1
}

// rotates reports whether t's QR is replaced while it is pending.
func (s *Service) rotates(t server.Ticket) bool {
	var b [ticketIDBytes]byte
	return t.RotateEvery > 0 && decodeTicketID(b[:], t.ID)
}

// qr returns the ref of t's rotation n and when that ref expires: TicketTTL
// after the rotation began, but not after RotateUntil (it is replaced
// sooner, at the next rotation). For a ticket that does not rotate, its
// ref and deadline.
func (s *Service) qr(t server.Ticket, n int) (string, time.Time) {
	if !s.rotates(t) {
		return t.Ref, t.ExpiresAt
	}
	ref, _ := s.refs.seal(t.ID, n)
	start := t.CreatedAt.Add(time.Duration(n) * t.RotateEvery)
	exp := start.Add(s.cfg.TicketTTL)
	if exp.After(t.RotateUntil) {
		exp = t.RotateUntil
	}
	return ref, exp
}

// currentQR is the event that tells a watcher of pending ticket t the QR it
// shows at now.
func (s *Service) currentQR(t server.Ticket, now time.Time) api.TicketEvent {
	ref, exp := s.qr(t, s.rotation(t, now))
	return api.TicketEvent{Type: api.EventRotated, Ref: ref, QRPayload: api.Payload(s.cfg.BaseURL, ref), ExpiresAt: &exp}
}

// ticketByRef returns the ticket that ref names and the number of the
// rotation whose ref it is: a sealed ref's, or for a stored ref 0 if it is
// the ticket's first (or, for a ticket stored before refs were sealed, its
// last) and -1 if not (one that rotation replaced then). An unknown ref is
// not_found.
func (s *Service) ticketByRef(ctx context.Context, ref string) (server.Ticket, int, error) {
	if id, n, ok := s.refs.open(ref); ok {
		// A random ref opens by chance once in 2^16; its id is then no
		// ticket's, and it is looked up as stored.
		t, err := s.store.TicketByID(ctx, id)
		if !errors.Is(err, server.ErrNotFound) {
			return t, n, err
		}
	}
	return s.storedTicket(ctx, ref)
}

// storedTicket is ticketByRef of a ref that is stored (TicketByRef): its
// rotation is 0 if it is the ticket's first, else -1 (one that rotation
// stored before refs were sealed).
func (s *Service) storedTicket(ctx context.Context, ref string) (server.Ticket, int, error) {
	t, err := s.store.TicketByRef(ctx, ref)
	if err != nil {
		return t, 0, err
	}
	if ref != t.Ref {
		return t, -1, nil
	}
	return t, 0, nil
}

// storedRef is storedTicket's ticket id and rotation.
func (s *Service) storedRef(ctx context.Context, ref string) (string, int, error) {
	t, n, err := s.storedTicket(ctx, ref)
	return t.ID, n, err
}

// CheckShown returns nil if ref is the QR that a pending ticket shows now;
// expired if the ticket has moved on or that QR was replaced, not_found if
// no ticket has such a ref.
func (s *Service) CheckShown(ctx context.Context, ref string) error {
	if !api.ValidRef(ref) {
		return server.Errorf(server.CodeNotFound, "no such ticket")
	}
	t, n, err := s.ticketByRef(ctx, ref)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	if t.State != server.StatePending || t.Expired(now) || !s.scans(t, n, now) {
		return server.Errorf(server.CodeExpired, "this QR code is no longer shown")
	}
	return nil
}
