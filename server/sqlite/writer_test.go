package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
)

// insertUser stores a user named id in tx.
func insertUser(tx *sql.Tx, id string) error {
	_, err := tx.Exec(`INSERT INTO users (id, username, display_name, avatar_url, password_hash, created_at) VALUES (?, ?, '', '', 'h', 0)`, id, id)
	return err
}

// committed reports whether the user id is committed (read on the reader
// pool, which a write function may do).
func committed(db *DB, id string) (bool, error) {
	_, err := db.UserByID(context.Background(), id)
	if errors.Is(err, server.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// stored is committed for the test's goroutine.
func stored(t *testing.T, db *DB, id string) bool {
	t.Helper()
	ok, err := committed(db, id)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// gate asks db for a write that stores the user id and then waits, holding
// its batch open, until release is called. started is closed once the
// write runs; done gets inTx's result.
func gate(db *DB, id string) (started <-chan struct{}, release func(), done <-chan error) {
	s, r, d := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		d <- db.inTx(context.Background(), func(tx *sql.Tx) error {
			err := insertUser(tx, id)
			close(s)
			<-r
			return err
		})
	}()
	return s, func() { close(r) }, d
}

// holdWriter is gate, waited for until its write runs.
func holdWriter(t *testing.T, db *DB, id string) (release func(), done <-chan error) {
	t.Helper()
	started, release, done := gate(db, id)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the gate's write did not run")
	}
	return release, done
}

// waitQueued waits until n writes are queued.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		db.wr.mu.Lock()
		q := len(db.wr.queue) - db.wr.head
		db.wr.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", q, n)
		}
	}
}

// result waits for a write's result.
func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("a write did not return")
		return nil
	}
}

// Of racing writes in one batch, one that fails (or panics) loses its own
// writes and returns its own error; the others' are kept.
func TestBatchOneFails(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	release, gateDone := holdWriter(t, db, "gate")
	boom := errors.New("boom")
	fns := map[string]func() error{
		"a":     func() error { return nil },
		"fails": func() error { return boom },
		"panic": func() error { panic(boom) },
		"c":     func() error { return nil },
	}
	order := []string{"a", "fails", "panic", "c"}
	done := map[string]chan error{}
	for i, id := range order {
		done[id] = make(chan error, 1)
		go func() {
			defer func() {
				if p := recover(); p != nil {
					err, _ := p.(error)
					done[id] <- fmt.Errorf("panicked: %w", err)
				}
			}()
			done[id] <- db.inTx(context.Background(), func(tx *sql.Tx) error {
				if err := insertUser(tx, id); err != nil {
					return err
				}
				if later, err := committed(db, "gate"); later || err != nil {
					return fmt.Errorf("in a later batch than the gate's (%v)", err)
				}
				return fns[id]()
			})
		}()
		waitQueued(t, db, i+1)
	}
	release()
	if err := result(t, gateDone); err != nil {
		t.Fatalf("gate: %v", err)
	}
	for _, id := range order {
		err := result(t, done[id])
		var p *fnPanic
		switch {
		case id == "fails" && err != boom:
			t.Errorf("the failing write returned %v, want its own error", err)
		case id == "panic" && (!errors.As(err, &p) || !errors.Is(err, boom)):
			t.Errorf("the panicking write: %v, want its panic raised again", err)
		case (id == "a" || id == "c") && err != nil:
			t.Errorf("write %s: %v", id, err)
		}
		if got, want := stored(t, db, id), id == "a" || id == "c"; got != want {
			t.Errorf("user %s stored %v, want %v", id, got, want)
		}
	}
	if !stored(t, db, "gate") {
		t.Error("the gate's write was lost")
	}
}

// A batch whose commit fails fails every caller in it, and stores nothing
// of it; the writer goes on.
func TestBatchCommitFails(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	release, gateDone := holdWriter(t, db, "gate")
	done := make([]chan error, 3)
	for i := range done {
		done[i] = make(chan error, 1)
		go func() {
			done[i] <- db.inTx(ctx, func(tx *sql.Tx) error {
				if i == 1 { // a foreign key checked only at COMMIT
					if _, err := tx.Exec(`PRAGMA defer_foreign_keys = ON`); err != nil {
						return err
					}
					_, err := tx.Exec(`INSERT INTO ticket_refs (ref, ticket_id) VALUES ('r', 'no-such-ticket')`)
					return err
				}
				return insertUser(tx, fmt.Sprint("u", i))
			})
		}()
		waitQueued(t, db, i+1)
	}
	release()
	for i, d := range done {
		if err := result(t, d); err == nil || !strings.Contains(err.Error(), "commit") {
			t.Errorf("write %d: %v, want the commit's error", i, err)
		}
	}
	if err := result(t, gateDone); err == nil || !strings.Contains(err.Error(), "commit") {
		t.Errorf("gate: %v, want the commit's error", err)
	}
	for _, id := range []string{"gate", "u0", "u2"} {
		if stored(t, db, id) {
			t.Errorf("user %s of the failed batch is stored", id)
		}
	}
	if err := db.inTx(ctx, func(tx *sql.Tx) error { return insertUser(tx, "after") }); err != nil || !stored(t, db, "after") {
		t.Fatalf("a write after the failed batch: %v", err)
	}
}

// A caller whose context ends while its write waits for its turn gets the
// context's error at once, and its function never runs.
func TestCancelledBeforeItsTurn(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	release, gateDone := holdWriter(t, db, "gate")
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.inTx(ctx, func(tx *sql.Tx) error {
			close(ran)
			return insertUser(tx, "x")
		})
	}()
	waitQueued(t, db, 1)
	cancel()
	if err := result(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled write: %v, want context.Canceled", err)
	}
	release()
	if err := result(t, gateDone); err != nil {
		t.Fatal(err)
	}
	// The writer has passed it: the next write runs.
	if err := db.inTx(context.Background(), func(tx *sql.Tx) error { return insertUser(tx, "next") }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Error("the cancelled write's function ran")
	default:
	}
	if stored(t, db, "x") {
		t.Error("the cancelled write is stored")
	}
}

// A caller whose context ends once its function has run waits for the
// commit, and is told its outcome.
func TestCancelledAfterItsTurn(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	release1, gate1 := holdWriter(t, db, "gate1")
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.inTx(ctx, func(tx *sql.Tx) error {
			close(ran)
			return insertUser(tx, "a")
		})
	}()
	waitQueued(t, db, 1)
	started2, release2, gate2 := gate(db, "gate2") // the batch: gate1, a, gate2
	waitQueued(t, db, 2)
	release1()
	<-ran
	<-started2
	cancel()
	select {
	case err := <-done:
		t.Fatalf("the write returned %v before its batch committed", err)
	case <-time.After(100 * time.Millisecond):
	}
	release2()
	if err := result(t, done); err != nil {
		t.Fatalf("the write cancelled after it ran: %v, want the commit's outcome (nil)", err)
	}
	for _, g := range []<-chan error{gate1, gate2} {
		if err := result(t, g); err != nil {
			t.Fatal(err)
		}
	}
	if !stored(t, db, "a") {
		t.Error("the write is not stored")
	}
}

// Writes run in the order they were asked for, each seeing the earlier
// ones of its batch, and a batch runs maxBatch of them at most.
func TestWritesRunInOrder(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	release, gateDone := holdWriter(t, db, "gate")
	n := maxBatch + 5
	var order []int
	laterBatch := make([]bool, n)
	done := make([]chan error, n)
	for i := range n {
		done[i] = make(chan error, 1)
		go func() {
			done[i] <- db.inTx(ctx, func(tx *sql.Tx) error {
				order = append(order, i) // fns run one at a time
				var err error
				if laterBatch[i], err = committed(db, "gate"); err != nil {
					return err
				}
				if i > 0 {
					var seen int
					if err := tx.QueryRow(`SELECT count(*) FROM users WHERE id = ?`, fmt.Sprint("u", i-1)).Scan(&seen); err != nil || seen != 1 {
						return fmt.Errorf("write %d does not see write %d: %d %v", i, i-1, seen, err)
					}
				}
				return insertUser(tx, fmt.Sprint("u", i))
			})
		}()
		waitQueued(t, db, i+1)
	}
	release()
	if err := result(t, gateDone); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := result(t, done[i]); err != nil {
			t.Fatal(err)
		}
		// The gate's batch holds it and the first maxBatch-1 writes.
		if want := i >= maxBatch-1; laterBatch[i] != want {
			t.Errorf("write %d in a later batch than the gate's: %v, want %v", i, laterBatch[i], want)
		}
	}
	for i, got := range order {
		if got != i {
			t.Fatalf("writes ran in the order %v", order)
		}
	}
}

// Close lets the queued writes finish; later ones fail.
func TestCloseRunsQueuedWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qrlogin.db")
	db := mustOpen(t, path)
	release, gateDone := holdWriter(t, db, "gate")
	done := make(chan error, 1)
	go func() { done <- db.inTx(ctx, func(tx *sql.Tx) error { return insertUser(tx, "queued") }) }()
	waitQueued(t, db, 1)
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	for {
		db.wr.mu.Lock()
		c := db.wr.closed
		db.wr.mu.Unlock()
		if c {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := db.inTx(ctx, func(tx *sql.Tx) error { return insertUser(tx, "late") }); !errors.Is(err, errClosed) {
		t.Errorf("a write after Close: %v, want errClosed", err)
	}
	release()
	for _, d := range []<-chan error{gateDone, done, closed} {
		if err := result(t, d); err != nil {
			t.Fatal(err)
		}
	}
	db = mustOpen(t, path)
	for id, want := range map[string]bool{"gate": true, "queued": true, "late": false} {
		if got := stored(t, db, id); got != want {
			t.Errorf("user %s stored %v after Close, want %v", id, got, want)
		}
	}
}

// A caller's context that ends during a statement of its write interrupts
// nothing: the statement runs to its end, and the batch, with the others'
// writes, commits.
func TestCancelInterruptsNoStatement(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	release, gateDone := holdWriter(t, db, "gate")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- db.inTx(ctx, func(tx *sql.Tx) error {
			ended := make(chan struct{})
			time.AfterFunc(time.Millisecond, func() { cancel(); close(ended) })
			_, err := tx.ExecContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000)
				INSERT INTO users (id, username, display_name, avatar_url, password_hash, created_at) SELECT 'bulk' || x, 'bulk' || x, '', '', 'h', 0 FROM c`)
			select {
			case <-ended:
			default:
				return errors.New("the statement ended before the context")
			}
			return err
		})
	}()
	waitQueued(t, db, 1)
	release()
	if err := result(t, done); err != nil {
		t.Fatalf("the write whose context ended as it ran: %v", err)
	}
	if err := result(t, gateDone); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"gate", "bulk50000"} {
		if !stored(t, db, id) {
			t.Errorf("user %s was not stored", id)
		}
	}
}

// The first write of a batch runs without a savepoint: when it fails (or
// panics), the transaction rolls back whole, it gets its own error at once,
// and the writes queued behind it go on in the next batch.
func TestFirstOfBatchFails(t *testing.T) {
	boom := errors.New("boom")
	for _, panics := range []bool{false, true} {
		db := mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			defer func() {
				if p := recover(); p != nil {
					err, _ := p.(error)
					done <- fmt.Errorf("panicked: %w", err)
				}
			}()
			done <- db.inTx(context.Background(), func(tx *sql.Tx) error {
				err := insertUser(tx, "first")
				close(started)
				<-release
				if err == nil && panics {
					panic(boom)
				}
				return cmp.Or(err, boom)
			})
		}()
		<-started
		others := make([]chan error, 2)
		for i := range others {
			others[i] = make(chan error, 1)
			go func() {
				others[i] <- db.inTx(context.Background(), func(tx *sql.Tx) error { return insertUser(tx, fmt.Sprint("u", i)) })
			}()
			waitQueued(t, db, i+1)
		}
		close(release)
		var p *fnPanic
		if err := result(t, done); !errors.Is(err, boom) || errors.As(err, &p) != panics {
			t.Errorf("panics %v: the failed first write returned %v", panics, err)
		}
		for i, d := range others {
			if err := result(t, d); err != nil {
				t.Errorf("panics %v: write %d after the failed first: %v", panics, i, err)
			}
		}
		for id, want := range map[string]bool{"first": false, "u0": true, "u1": true} {
			if got := stored(t, db, id); got != want {
				t.Errorf("panics %v: user %s stored %v, want %v", panics, id, got, want)
			}
		}
	}
}

// Racing writes, led by their callers or run by the writer's goroutine,
// some given up, run one at a time, each seeing all the earlier ones: each
// numbers its user by how many users it finds.
func TestWritesRace(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	const goroutines, each = 8, 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := 0
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				ctx, cancel := context.WithCancel(context.Background())
				if i%10 == g%10 {
					time.AfterFunc(time.Duration(i%3)*100*time.Microsecond, cancel)
				}
				err := db.inTx(ctx, func(tx *sql.Tx) error {
					var n int
					if err := tx.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil {
						return err
					}
					return insertUser(tx, fmt.Sprint("n", n))
				})
				cancel()
				switch {
				case err == nil:
					mu.Lock()
					stored++
					mu.Unlock()
				case !errors.Is(err, context.Canceled):
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	var n int
	if err := db.r.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil || n != stored {
		t.Fatalf("%d users stored, %d writes reported stored (%v)", n, stored, err)
	}
}

// A write's then runs once its batch has committed, in the order of the
// writes, before its caller is answered; a write that fails runs none.
func TestThenRunsAfterTheCommitInOrder(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	release, gateDone := holdWriter(t, db, "gate")
	var mu sync.Mutex
	var ran []string
	order := []string{"a", "fails", "b", "c"}
	done := map[string]chan error{}
	for i, id := range order {
		done[id] = make(chan error, 1)
		go func() {
			done[id] <- db.inTxThen(context.Background(), func(tx *sql.Tx) error {
				if err := insertUser(tx, id); err != nil {
					return err
				}
				if id == "fails" {
					return errors.New("boom")
				}
				return nil
			}, func() {
				ok, err := committed(db, id)
				mu.Lock()
				defer mu.Unlock()
				if !ok || err != nil {
					ran = append(ran, id+" (not committed)")
					return
				}
				ran = append(ran, id)
			})
		}()
		waitQueued(t, db, i+1)
	}
	release()
	if err := result(t, gateDone); err != nil {
		t.Fatal(err)
	}
	for _, id := range order {
		err := result(t, done[id])
		mu.Lock()
		seen := strings.Contains(strings.Join(ran, ","), id)
		mu.Unlock()
		if got, want := err == nil, id != "fails"; got != want {
			t.Errorf("write %s: %v", id, err)
		}
		if seen != (id != "fails") {
			t.Errorf("write %s returned with its then run: %v", id, seen)
		}
	}
	if got := strings.Join(ran, ","); got != "a,b,c" {
		t.Fatalf("then ran as %q, want a,b,c after their commit", got)
	}
}
