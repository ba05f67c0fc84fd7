package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
)

// uncancelled is a connector whose connections run every statement to its
// end: they hand the driver each context without its cancellation
// (context.WithoutCancel). The writer pool is opened on it because the
// driver answers a context that ends during a statement with
// sqlite3_interrupt, and an interrupted write inside an explicit
// transaction may roll back the whole transaction: with group commit,
// other callers' writes too. database/sql itself still honours the
// contexts: it starts no statement on one that has ended and cuts short
// the Rows of one that ends.
//
// Without a cancellable context the driver also spares, per statement, the
// goroutine and progress handler that watch the context.
type uncancelled struct{ driver.Connector }

// sqliteConn is what database/sql uses of a driver connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteStmt is what database/sql uses of a driver statement.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// Connect implements driver.Connector.
func (c uncancelled) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(sqliteConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("sqlite: the driver's connection is a %T, not what database/sql is expected to use", dc)
	}
	return &uncancelledConn{c: sc}, nil
}

// noCancel is ctx without its cancellation and deadline; ctx itself if it
// has none.
func noCancel(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// uncancelledConn is a connection of uncancelled. Its transactions begin
// IMMEDIATE (the writer's, whose DSN's _txlock asks the same of the
// driver), and it keeps their BEGIN, COMMIT and ROLLBACK prepared: the
// driver prepares each anew for every transaction, which cost a twentieth
// of the server's CPU at 400 logins/s. database/sql uses a connection on
// one goroutine at a time.
type uncancelledConn struct {
	c                       sqliteConn
	begin, commit, rollback driver.Stmt // prepared on first use
}

func (u *uncancelledConn) Prepare(q string) (driver.Stmt, error) {
	return u.PrepareContext(context.Background(), q)
}

func (u *uncancelledConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := u.c.PrepareContext(noCancel(ctx), q)
	if err != nil {
		return nil, err
	}
	ss, ok := st.(sqliteStmt)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("sqlite: the driver's statement is a %T, not what database/sql is expected to use", st)
	}
	return uncancelledStmt{ss}, nil
}

func (u *uncancelledConn) Close() error {
	for _, st := range []driver.Stmt{u.begin, u.commit, u.rollback} {
		if st != nil {
			st.Close()
		}
	}
	return u.c.Close()
}

func (u *uncancelledConn) Begin() (driver.Tx, error) {
	return u.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx begins an IMMEDIATE transaction; one with options other than
// the defaults is the driver's.
func (u *uncancelledConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts != (driver.TxOptions{}) {
		return u.c.BeginTx(noCancel(ctx), opts)
	}
	if err := u.run(&u.begin, "BEGIN IMMEDIATE"); err != nil {
		return nil, err
	}
	return preparedTx{u}, nil
}

// run runs *st, preparing it as q first if it is nil.
func (u *uncancelledConn) run(st *driver.Stmt, q string) error {
	if *st == nil {
		s, err := u.PrepareContext(context.Background(), q)
		if err != nil {
			return err
		}
		*st = s
	}
	_, err := (*st).(driver.StmtExecContext).ExecContext(context.Background(), nil)
	return err
}

// preparedTx is a transaction of uncancelledConn.
type preparedTx struct{ u *uncancelledConn }

// Commit commits, or if it cannot (SQLITE_BUSY, a full disk), which may
// leave the transaction open, rolls back, as database/sql expects the
// transaction ended either way, and returns the COMMIT's error. The
// ROLLBACK fails, harmlessly, if none is open.
func (t preparedTx) Commit() error {
	err := t.u.run(&t.u.commit, "COMMIT")
	if err != nil {
		t.u.run(&t.u.rollback, "ROLLBACK")
	}
	return err
}

func (t preparedTx) Rollback() error { return t.u.run(&t.u.rollback, "ROLLBACK") }

func (u *uncancelledConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return u.c.ExecContext(noCancel(ctx), q, args)
}

func (u *uncancelledConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return u.c.QueryContext(noCancel(ctx), q, args)
}

func (u *uncancelledConn) Ping(ctx context.Context) error { return u.c.Ping(noCancel(ctx)) }

func (u *uncancelledConn) ResetSession(ctx context.Context) error {
	return u.c.ResetSession(noCancel(ctx))
}

func (u *uncancelledConn) IsValid() bool { return u.c.IsValid() }

type uncancelledStmt struct{ s sqliteStmt }

func (u uncancelledStmt) Close() error  { return u.s.Close() }
func (u uncancelledStmt) NumInput() int { return u.s.NumInput() }

// Exec and Query complete driver.Stmt; database/sql calls ExecContext and
// QueryContext.
func (u uncancelledStmt) Exec(args []driver.Value) (driver.Result, error) { return u.s.Exec(args) }
func (u uncancelledStmt) Query(args []driver.Value) (driver.Rows, error)  { return u.s.Query(args) }

func (u uncancelledStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return u.s.ExecContext(noCancel(ctx), args)
}

func (u uncancelledStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return u.s.QueryContext(noCancel(ctx), args)
}
