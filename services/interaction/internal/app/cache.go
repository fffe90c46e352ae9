package app

import "sync"

// lookupCache is a bounded map safe for concurrent use. When full it is
// emptied rather than evicting one entry at a time: it only saves calls to
// the customer service, and refilling it is cheap.
type lookupCache struct {
	mu   sync.Mutex
	max  int
	data map[string]string
}

func newLookupCache(max int) *lookupCache {
	return &lookupCache{max: max, data: map[string]string{}}
}

func (c *lookupCache) get(k string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.data[k]
	return v, ok
}

func (c *lookupCache) put(k, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.data) >= c.max {
		c.data = map[string]string{}
	}
	c.data[k] = v
}
