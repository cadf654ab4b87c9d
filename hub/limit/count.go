package limit

import "sync"

// PerKey counts what each key (an agency's code) holds at once, up to a
// cap. It is safe for concurrent use.
type PerKey struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

// NewPerKey returns a PerKey allowing max per key; max < 0 allows any
// number.
func NewPerKey(max int) *PerKey { return &PerKey{max: max, n: make(map[string]int)} }

// Max is the cap per key.
func (p *PerKey) Max() int { return p.max }

// Acquire takes one for key and returns its release (idempotent), or
// ok false when key already holds the cap.
func (p *PerKey) Acquire(key string) (release func(), ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.max >= 0 && p.n[key] >= p.max {
		return nil, false
	}
	p.n[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.n[key]--; p.n[key] <= 0 {
				delete(p.n, key)
			}
		})
	}, true
}

// Held is what key holds now.
func (p *PerKey) Held(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[key]
}

// Budget is a total (bytes) that holders reserve from and give back. It
// is safe for concurrent use.
type Budget struct {
	max  int64
	mu   sync.Mutex
	used int64
}

// NewBudget returns a Budget of max; max < 0 is unbounded.
func NewBudget(max int64) *Budget { return &Budget{max: max} }

// Max is the budget's total.
func (b *Budget) Max() int64 { return b.max }

// Reserve takes n and returns its release (idempotent), or ok false and
// what is in use when n does not fit.
func (b *Budget) Reserve(n int64) (release func(), used int64, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.max >= 0 && b.used+n > b.max {
		return nil, b.used, false
	}
	b.used += n
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.used -= n
			b.mu.Unlock()
		})
	}, b.used, true
}

// Used is what is reserved now.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
