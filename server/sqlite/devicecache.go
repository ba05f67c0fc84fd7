package sqlite

import (
	"slices"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/qrlogin/qrlogin/server"
)

// deviceCacheSize bounds the devices kept by deviceCache: about 450 bytes
// each (4.3 MiB in all).
const deviceCacheSize = 10_000

// deviceCache keeps the live (unrevoked) devices read by their token
// hash, so that the phone's scan and confirm need not read the device on a
// reader connection each time: two reads of every login.
//
// A device changes only by its revocation (it is never un-revoked; the
// purge deletes only revoked ones), and every revocation is a write of
// this process: one node on SQLite, whose command-line tools (apps, keys)
// revoke none. So each write that may revoke a device (CreateDevice,
// RevokeDevice) drops the whole cache once it has committed, and a read
// that began before that drop keeps nothing (the generation): once a
// revocation has returned, no read returns the device unrevoked.
type deviceCache struct {
	mu  sync.Mutex
	gen uint64 // how many times the cache was dropped
	lru *simplelru.LRU[string, server.Device]
}

func newDeviceCache() *deviceCache {
	l, _ := simplelru.NewLRU[string, server.Device](deviceCacheSize, nil) // fails only for a size ≤ 0
	return &deviceCache{lru: l}
}

// get returns a copy of the device whose token hash is h, if cached, and
// otherwise the generation to give put with what the caller reads.
func (c *deviceCache) get(h []byte) (d server.Device, gen uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok = c.lru.Get(string(h)); ok {
		d.TokenHash = slices.Clone(d.TokenHash)
	}
	return d, c.gen, ok
}

// put keeps d, read since get returned gen, unless it is revoked or the
// cache was dropped meanwhile.
func (c *deviceCache) put(gen uint64, d server.Device) {
	if !d.RevokedAt.IsZero() {
		return
	}
	d.TokenHash = slices.Clone(d.TokenHash)
	c.mu.Lock()
	if c.gen == gen {
		c.lru.Add(string(d.TokenHash), d)
	}
	c.mu.Unlock()
}

// drop forgets every device, and whatever reads begun before it read.
func (c *deviceCache) drop() {
	c.mu.Lock()
	c.gen++
	c.lru.Purge()
	c.mu.Unlock()
}
