package secrets

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Static returns a provider of one fixed credential that does not expire: the
// embedded default of a service run without a secrets backend, and a stand-in
// in tests. Its fields are copied.
func Static(fields map[string]string) Provider {
	return staticProvider{s: NewSecret(fields, Lease{})}
}

type staticProvider struct{ s *Secret }

func (p staticProvider) Issue(context.Context) (*Secret, error) {
	return NewSecret(p.s.values(), Lease{IssuedAt: time.Now()}), nil
}

func (p staticProvider) Renew(context.Context, *Secret) (*Secret, error) {
	return nil, ErrNotRenewable
}

// Memory is an in-process secrets backend that leases credentials the way
// Vault's dynamic secrets engines do: each Issue makes a new credential with
// the generator, under a lease of the configured TTL that renewals extend up
// to the maximum TTL counted from its issue. It can also be made unavailable,
// and a lease revoked, to see what a service does when its backend fails.
//
// Memory is the embedded default for demos and for tests that need no server.
// It is safe for concurrent use.
type Memory struct {
	gen    func() (map[string]string, error)
	ttl    time.Duration
	maxTTL time.Duration

	mu     sync.Mutex
	leases map[string]memoryLease
	seq    int
	down   bool
}

type memoryLease struct {
	issued time.Time
	until  time.Time
}

// NewMemory returns a backend whose credentials hold the fields gen makes,
// leased for ttl and renewable up to maxTTL after issue. A nil gen makes one
// field, "password", of 26 random characters.
func NewMemory(gen func() (map[string]string, error), ttl, maxTTL time.Duration) (*Memory, error) {
	if ttl <= 0 || maxTTL < ttl {
		return nil, fmt.Errorf("%w: memory backend needs 0 < ttl <= max ttl", ErrInvalidConfig)
	}
	if gen == nil {
		gen = func() (map[string]string, error) { return map[string]string{"password": rand.Text()}, nil }
	}
	return &Memory{gen: gen, ttl: ttl, maxTTL: maxTTL, leases: map[string]memoryLease{}}, nil
}

// Issue implements [Provider]: a new credential under a new lease.
func (m *Memory) Issue(ctx context.Context) (*Secret, error) {
	now := time.Now()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	fields, err := m.gen()
	if err != nil {
		return nil, fmt.Errorf("secrets: memory backend: generating a credential: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	id := "memory/" + strconv.Itoa(m.seq)
	m.leases[id] = memoryLease{issued: now, until: now.Add(m.ttl)}
	return NewSecret(fields, Lease{ID: id, IssuedAt: now, ExpiresAt: now.Add(m.ttl), Renewable: true}), nil
}

// Renew implements [Provider]: the lease is extended by the TTL, up to the
// maximum TTL; an unknown, revoked or expired lease is refused.
func (m *Memory) Renew(ctx context.Context, s *Secret) (*Secret, error) {
	now := time.Now()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id := s.Lease().ID
	l, ok := m.leases[id]
	if !ok || !now.Before(l.until) {
		delete(m.leases, id)
		return nil, fmt.Errorf("%w: memory backend: no such lease", ErrRefused)
	}
	until := now.Add(m.ttl)
	if limit := l.issued.Add(m.maxTTL); limit.Before(until) {
		until = limit
	}
	if !now.Before(until) {
		return nil, fmt.Errorf("%w: memory backend: lease at its maximum TTL", ErrNotRenewable)
	}
	l.until = until
	m.leases[id] = l
	return NewSecret(s.values(), Lease{ID: id, IssuedAt: now, ExpiresAt: until, Renewable: true}), nil
}

// Valid reports whether s is a credential this backend issued whose lease has
// not expired nor been revoked: what a server checking the credential would
// accept.
func (m *Memory) Valid(s *Secret) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.leases[s.Lease().ID]
	return ok && time.Now().Before(l.until)
}

// Revoke ends the lease with id at once, as an operator revoking it out of
// band would.
func (m *Memory) Revoke(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.leases, id)
}

// SetAvailable makes the backend answer (true) or fail every call with
// [ErrUnavailable] (false), as a stopped or sealed Vault does.
func (m *Memory) SetAvailable(up bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.down = !up
}

func (m *Memory) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return fmt.Errorf("%w: memory backend is down", ErrUnavailable)
	}
	return nil
}
