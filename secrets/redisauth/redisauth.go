package redisauth

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync"

	"github.com/redis/go-redis/v9/auth"

	"github.com/ztkit/ztkit/internal/redacted"
	"github.com/ztkit/ztkit/secrets"
)

// Compile-time check that Provider is a go-redis streaming provider.
var _ auth.StreamingCredentialsProvider = (*Provider)(nil)

// Provider gives go-redis connections the current credential of a
// [secrets.Source] and tells them of every rotation. Set it as
// redis.Options.StreamingCredentialsProvider (re-authentication of open
// connections), or set its [Provider.Credentials] method as
// redis.Options.CredentialsProviderContext (new connections only).
//
// One Provider can serve several clients. It does not own its Source: Close
// the Source after the Provider, and the Provider after the last client that
// uses it. A Provider is safe for concurrent use. Create one with [New]; the
// zero value is not usable.
type Provider struct {
	src      *secrets.Source
	username string // field names, not values
	password string

	mu        sync.Mutex
	listeners map[uint64]auth.CredentialsListener
	nextID    uint64
	closed    bool
	remove    func()
}

// New returns a Provider of the credentials src keeps fresh. It registers
// with [secrets.Source.OnRotate] until [Provider.Close]. New does not contact
// Redis, and it does not check the current credential: a connection does. It
// returns an error matching [secrets.ErrInvalidConfig] when src is nil or the
// password field's name is empty. Nil options are ignored.
func New(src *secrets.Source, opts ...Option) (*Provider, error) {
	if src == nil {
		return nil, fmt.Errorf("redisauth: %w: nil source", secrets.ErrInvalidConfig)
	}
	cfg := newConfig(opts)
	if cfg.password == "" {
		return nil, fmt.Errorf("redisauth: %w: empty password field name", secrets.ErrInvalidConfig)
	}
	p := &Provider{
		src:       src,
		username:  cfg.username,
		password:  cfg.password,
		listeners: map[uint64]auth.CredentialsListener{},
	}
	p.remove = src.OnRotate(p.rotated)
	return p, nil
}

// Subscribe implements [auth.StreamingCredentialsProvider]; go-redis calls it
// for every connection it opens. It returns the current credential and
// registers listener, whose OnNext gets every new credential (go-redis then
// re-authenticates the connection once it is idle) until unsubscribe is
// called. Subscribing a listener already subscribed (go-redis does when it
// reconnects a connection) does not register it twice, and any of the
// unsubscribe functions returned for it ends its subscription; each may be
// called more than once. When there is no valid credential, Subscribe
// returns a [*CredentialsError] and registers nothing, so the connection is
// refused.
func (p *Provider) Subscribe(listener auth.CredentialsListener) (auth.Credentials, auth.UnsubscribeFunc, error) {
	if listener == nil {
		return nil, nil, fmt.Errorf("redisauth: %w: nil listener", secrets.ErrInvalidConfig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// Read the credential under the lock that rotated also takes, after the
	// Source has published it: a listener registered with an older
	// credential is in the list rotated notifies.
	creds, err := p.current()
	if err != nil {
		return nil, nil, err
	}
	id, ok := p.find(listener)
	if !ok {
		id = p.nextID
		p.nextID++
		p.listeners[id] = listener
	}
	return creds, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.listeners, id)
		return nil
	}, nil
}

// find returns the id of listener when it is subscribed. A listener whose
// value cannot be compared (a struct holding a slice or a func) is never
// found: it is registered again.
func (p *Provider) find(listener auth.CredentialsListener) (uint64, bool) {
	if !reflect.ValueOf(listener).Comparable() {
		return 0, false
	}
	for id, l := range p.listeners {
		if reflect.TypeOf(l) == reflect.TypeOf(listener) && reflect.ValueOf(l).Comparable() && l == listener {
			return id, true
		}
	}
	return 0, false
}

// Credentials returns the current username and password, with the signature
// of go-redis's Options.CredentialsProviderContext; the username is "" when
// the Provider was made WithUsernameField(""). When there is no valid
// credential, or ctx is done, it returns a [*CredentialsError] and empty
// strings, and go-redis refuses the connection.
func (p *Provider) Credentials(ctx context.Context) (username, password string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", &CredentialsError{Source: p.src.Name(), Err: err}
	}
	p.mu.Lock()
	creds, err := p.current()
	p.mu.Unlock()
	if err != nil {
		return "", "", err
	}
	username, password = creds.BasicAuth()
	return username, password, nil
}

// Close unregisters the Provider from its Source and drops its listeners:
// open connections keep the credential they have, and new ones are refused
// with a [*CredentialsError] matching [secrets.ErrClosed]. It does not close
// the Source. Close may be called more than once.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.remove()
		clear(p.listeners)
	}
	return nil
}

// current returns the Source's current credential. p.mu is held.
func (p *Provider) current() (*credentials, error) {
	if p.closed {
		return nil, &CredentialsError{Source: p.src.Name(), Err: secrets.ErrClosed}
	}
	sec, err := p.src.Current()
	if err != nil {
		return nil, &CredentialsError{Source: p.src.Name(), Err: err}
	}
	return p.credentials(sec)
}

// credentials takes the username and password out of sec, refusing a
// missing or empty field.
func (p *Provider) credentials(sec *secrets.Secret) (*credentials, error) {
	var username, password string
	if p.username != "" {
		var err error
		if username, err = p.field(sec, p.username); err != nil {
			return nil, err
		}
	}
	password, err := p.field(sec, p.password)
	if err != nil {
		return nil, err
	}
	return &credentials{basic: func() (string, string) { return username, password }}, nil
}

func (p *Provider) field(sec *secrets.Secret, name string) (string, error) {
	v, ok := sec.Reveal(name)
	switch {
	case !ok:
		return "", &CredentialsError{Source: p.src.Name(),
			Err: fmt.Errorf("%w: no field %q", secrets.ErrInvalidSecret, name)}
	case v == "":
		return "", &CredentialsError{Source: p.src.Name(),
			Err: fmt.Errorf("%w: field %q is empty", secrets.ErrInvalidSecret, name)}
	}
	return v, nil
}

// rotated is the Source's OnRotate function: it gives every subscribed
// connection the new credential, or, when the new credential is unusable,
// the error (go-redis logs it and keeps the connection's credential).
func (p *Provider) rotated(sec *secrets.Secret) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	creds, err := p.credentials(sec)
	listeners := make([]auth.CredentialsListener, 0, len(p.listeners))
	for _, l := range p.listeners {
		listeners = append(listeners, l)
	}
	p.mu.Unlock()
	for _, l := range listeners {
		if err != nil {
			l.OnError(err)
		} else {
			l.OnNext(creds)
		}
	}
}

// String returns a description of the Provider naming its Source.
func (p *Provider) String() string {
	if p == nil || p.src == nil {
		return "redisauth.Provider(<nil>)"
	}
	return "redisauth.Provider(" + p.src.Name() + ")"
}

// GoString returns the same as String, so that %#v does not reach the
// Provider's fields.
func (p *Provider) GoString() string { return p.String() }

// LogValue logs the same as String.
func (p *Provider) LogValue() slog.Value { return slog.StringValue(p.String()) }

// credentials is what go-redis authenticates a connection with. It prints,
// logs and marshals as [REDACTED]. The values are behind a function, which
// printers that walk a value by reflection print as its address.
type credentials struct {
	basic func() (username, password string)
}

var _ auth.Credentials = (*credentials)(nil)

// BasicAuth implements [auth.Credentials].
func (c *credentials) BasicAuth() (username, password string) { return c.basic() }

// RawCredentials implements [auth.Credentials] as go-redis's basic
// credentials do: "username:password".
func (c *credentials) RawCredentials() string {
	username, password := c.basic()
	return username + ":" + password
}

func (credentials) String() string                { return redacted.Marker }
func (credentials) GoString() string              { return redacted.Marker }
func (credentials) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }
func (credentials) LogValue() slog.Value          { return redacted.LogValue() }
func (credentials) MarshalJSON() ([]byte, error)  { return redacted.JSON(), nil }
