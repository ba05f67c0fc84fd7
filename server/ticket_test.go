package server

import (
	"errors"
	"testing"
)

func TestStateMoves(t *testing.T) {
	tests := []struct {
		from, to State
		ok       bool
	}{
		{StatePending, StateScanned, true},
		{StatePending, StateConfirmed, false}, // scanning alone never logs in
		{StatePending, StateRedeemed, false},
		{StateScanned, StateConfirmed, true},
		{StateScanned, StateDenied, true},
		{StateScanned, StateScanned, false}, // a second scan changes nothing
		{StateConfirmed, StateRedeemed, true},
		{StateConfirmed, StateDenied, false},
		{StateRedeemed, StateRedeemed, false}, // redeemed exactly once
		{StateDenied, StateConfirmed, false},
		{StateExpired, StateScanned, false},
		{StateCancelled, StatePending, false},
	}
	for _, tt := range tests {
		if got := tt.from.CanMoveTo(tt.to); got != tt.ok {
			t.Errorf("%s -> %s: %v, want %v", tt.from, tt.to, got, tt.ok)
		}
	}
	for _, s := range States {
		final := s == StateRedeemed || s == StateDenied || s == StateExpired || s == StateCancelled
		if s.Final() != final {
			t.Errorf("%s.Final() = %v", s, s.Final())
		}
	}
}

func TestPasswordHash(t *testing.T) {
	p := PasswordParams{Memory: 64, Time: 1, Threads: 1}
	h := p.HashPassword("correct horse")
	if h == p.HashPassword("correct horse") {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !CheckPassword(h, "correct horse") || CheckPassword(h, "correct horsE") {
		t.Fatal("CheckPassword is wrong")
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2id$v=19$m=x$a$b", "$bcrypt$v=19$m=64,t=1,p=1$AAAA$AAAA"} {
		if CheckPassword(bad, "") {
			t.Fatalf("malformed hash %q matched", bad)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	err := Errorf(CodeExpired, "gone")
	if ErrorCode(err) != CodeExpired || ErrorMessage(err) != "gone" {
		t.Fatal(err)
	}
	if ErrorCode(errAny{}) != CodeInternal || ErrorMessage(errAny{}) == "secret internals" {
		t.Fatal("a plain error must become internal with a generic message")
	}
	if !isErr(err, ErrExpired) || isErr(err, ErrConflict) {
		t.Fatal("errors.Is must match by code")
	}
}

type errAny struct{}

func (errAny) Error() string { return "secret internals" }

func isErr(err, target error) bool { return errors.Is(err, target) }
