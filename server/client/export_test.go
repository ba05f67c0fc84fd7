package client

import "time"

// WithClock makes the Client read this computer's time from now: a test's
// desktop whose clock is off.
func WithClock(now func() time.Time) Option {
	return func(c *Client) { c.now = now }
}
