package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/ztkit/ztkit/secrets"
)

// TokenSourceName is the name of a [Client]'s Vault-token source in logs and
// metrics.
const TokenSourceName = "vault-token"

// Client is a Vault (or OpenBao) client that keeps itself logged in: it logs
// in with a login method, renews its token through a [secrets.Source] (at
// about two thirds of its TTL, with a fresh login before the token's maximum
// TTL or when a renewal is refused), and logs in again at once when Vault
// answers 403 to a request made with a token it had thought valid and then
// refuses a lookup of that token too (a token revoked out of band).
//
// When its login method is a [RotatingLogin] (such as [Cert], which presents
// the workload's X.509-SVID), the Client also logs in again when the
// credential rotates, so that its token always comes from a login with the
// workload's current identity.
//
// The providers it makes ([Client.KV], [Client.Lease]) and the Transit signer
// use that token. Vault revokes a dynamic credential with the token that
// issued it, so the lease providers are [secrets.Invalidator]s: at each new
// login, their Sources issue new credentials under the new token while the
// old one still lives. A Client is safe for concurrent use.
type Client struct {
	api   *api.Client
	login api.AuthMethod
	token *secrets.Source

	// loginCred is the CredentialID of a RotatingLogin taken just before
	// the login whose token is current.
	loginCred atomic.Pointer[string]

	stopWatch func()
	watchDone chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	relogin chan struct{} // closed when the token is replaced by a new login
}

// RotatingLogin is a login method whose credential rotates under a logged-in
// token, such as the X.509-SVID that [Cert] presents. A [Client] that logs in
// with one notes its CredentialID before each login, compares it with the
// current one about once a second, and logs in again (through its token
// source's [secrets.Source.Rotate]) when the credential changed. When that
// login fails (Vault is down, or refuses the new credential), the Client
// keeps the token it has, renewed as usual while Vault allows, and tries
// again, waiting longer after each failure, up to a minute.
type RotatingLogin interface {
	api.AuthMethod
	// CredentialID returns a value that names the credential Login would
	// present now (for an X.509-SVID, its leaf certificate's serial number)
	// and changes when it rotates, or "" when there is none at the moment.
	// It is called about once a second: it must be cheap, must not block,
	// and must be safe for concurrent use. The value is not secret.
	CredentialID() string
}

// Rotation checks of a [RotatingLogin].
const (
	// CredentialCheckInterval is how often a [Client] compares the
	// credential of its [RotatingLogin] with the one it logged in with.
	CredentialCheckInterval = time.Second
	// maxCredentialBackoff bounds the wait between two logins after a
	// rotation when they fail.
	maxCredentialBackoff = time.Minute
)

// renewingLogin is a login method whose tokens must be renewed through a
// client it makes: the cert auth method binds a renewal to the client
// certificate of the login.
type renewingLogin interface {
	renewClient(c *api.Client) (*api.Client, func(), error)
}

// New logs in to the Vault server cfg names with login and starts keeping
// the token fresh. It blocks until the first login succeeds (retrying while
// Vault is unavailable, until ctx is done).
//
// cfg is used as given: build it with api.DefaultConfig (which reads the
// VAULT_* environment variables) or by hand. Set cfg.MaxRetries to 0: the
// Client's sources retry by themselves, with backoff. Any token cfg or the
// environment holds is ignored: the Client's token is the one login returns.
// opts configure the token's [secrets.Source] (logging, metrics, backoff).
func New(ctx context.Context, cfg *api.Config, login api.AuthMethod, opts ...secrets.Option) (*Client, error) {
	if cfg == nil || login == nil {
		return nil, fmt.Errorf("%w: vault: a client needs a config and a login method", secrets.ErrInvalidConfig)
	}
	ac, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: vault: %v", secrets.ErrInvalidConfig, err)
	}
	ac.ClearToken()
	c := &Client{api: ac, login: login, relogin: make(chan struct{})}
	src, err := secrets.NewSource(ctx, TokenSourceName, tokenProvider{c: c}, opts...)
	if err != nil {
		return nil, err
	}
	c.token = src
	sec, err := src.Current()
	if err != nil {
		_ = src.Close()
		return nil, err
	}
	c.setToken(sec)
	// Registered first, it runs before the OnRotate functions of the
	// Client's users: they see API() with the new token.
	src.OnRotate(c.loggedIn)
	if rl, ok := login.(RotatingLogin); ok {
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c.stopWatch = cancel
		c.watchDone = make(chan struct{})
		go c.watchCredential(wctx, rl)
	}
	return c, nil
}

// watchCredential logs in again whenever the credential of rl is no longer
// the one of the current token's login. It polls, in memory: the Updated
// channel of go-spiffe's workloadapi sources is one buffered channel shared
// by every reader, so reading it here would take updates away from the
// service's own watchers of the same source.
func (c *Client) watchCredential(ctx context.Context, rl RotatingLogin) {
	defer close(c.watchDone)
	tick := time.NewTicker(CredentialCheckInterval)
	defer tick.Stop()
	var failures int
	var notBefore time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if failures > 0 && time.Now().Before(notBefore) {
			continue
		}
		cur := rl.CredentialID()
		if last := c.loginCred.Load(); cur == "" || (last != nil && *last == cur) {
			continue
		}
		// The Source logs the new login, or its failure.
		if err := c.token.Rotate(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			notBefore = time.Now().Add(min(CredentialCheckInterval<<min(failures, 6), maxCredentialBackoff))
			continue
		}
		failures = 0
	}
}

func (c *Client) setToken(s *secrets.Secret) {
	if tok, ok := s.Reveal("token"); ok {
		c.api.SetToken(tok)
	}
}

// loggedIn takes the token of a new login, then tells the lease providers
// that the credentials issued under the old token end with it.
func (c *Client) loggedIn(s *secrets.Secret) {
	c.setToken(s)
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.relogin)
	c.relogin = make(chan struct{})
}

// reloggedIn returns a channel closed at the next new login.
func (c *Client) reloggedIn() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.relogin
}

// API returns the underlying vault/api client, logged in with the Client's
// current token, for calls ztkit does not wrap. The Client changes its token
// when it logs in again; do not clear or set it.
func (c *Client) API() *api.Client { return c.api }

// Token returns the source of the Client's Vault token, for its state
// ([secrets.Source.Current] fails once the token expired with no fresh login)
// and its rotations.
func (c *Client) Token() *secrets.Source { return c.token }

// Close stops renewing the token (and watching the credential of a
// [RotatingLogin]). It does not revoke the token (its TTL ends it); providers
// made by the Client fail with [secrets.ErrClosed] afterwards. Close may be
// called more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if c.stopWatch != nil {
			c.stopWatch()
			<-c.watchDone
		}
	})
	return c.token.Close()
}

// do calls fn with the logged-in client and classifies its error. When Vault
// answers 403 (permission denied) while the token had not expired, either
// the token's policies do not allow the request, or the token was revoked out
// of band. The Client asks Vault which with a lookup of the token itself
// (which the default policy allows); only when that is refused too does it
// log in again, and call fn once more. A request its policies refuse thus
// costs one more round trip, not a new login (and the new credentials of
// every lease provider that a new login brings).
func (c *Client) do(ctx context.Context, what string, fn func(*api.Client) (*api.Secret, error)) (*api.Secret, error) {
	if _, err := c.token.Current(); err != nil {
		return nil, fmt.Errorf("vault: %s: no valid token: %w", what, err)
	}
	sec, err := fn(c.api)
	if err != nil && statusCode(err) == http.StatusForbidden && c.tokenRefused(ctx) {
		if rerr := c.token.Rotate(ctx); rerr != nil {
			return nil, fmt.Errorf("vault: %s: logging in again after a 403: %w", what, rerr)
		}
		sec, err = fn(c.api)
	}
	if err != nil {
		return nil, classify(what, err)
	}
	return sec, nil
}

// tokenRefused reports whether Vault refuses the Client's token itself: a
// lookup of the token by itself is answered 403.
func (c *Client) tokenRefused(ctx context.Context) bool {
	_, err := c.api.Auth().Token().LookupSelfWithContext(ctx)
	return statusCode(err) == http.StatusForbidden
}

// tokenProvider issues Vault tokens by logging in, and renews them.
type tokenProvider struct{ c *Client }

func (p tokenProvider) Issue(ctx context.Context) (*secrets.Secret, error) {
	// Log in without any token, on a clone: the Client's token may be the
	// revoked one this login replaces.
	lc, err := p.c.api.Clone()
	if err != nil {
		return nil, fmt.Errorf("vault: login: %w", err)
	}
	lc.ClearToken()
	// The credential is noted before the login: should it rotate meanwhile,
	// the watcher sees a change and logs in once more, which is harmless.
	var cred string
	rl, rotating := p.c.login.(RotatingLogin)
	if rotating {
		cred = rl.CredentialID()
	}
	start := time.Now()
	sec, err := p.c.login.Login(ctx, lc)
	if err != nil {
		return nil, classify("login", err)
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return nil, fmt.Errorf("%w: vault: login returned no token", secrets.ErrRefused)
	}
	if rotating {
		p.c.loginCred.Store(&cred)
	}
	return tokenSecret(start, sec.Auth.ClientToken, sec.Auth.Accessor, sec.Auth.LeaseDuration, sec.Auth.Renewable), nil
}

func (p tokenProvider) Renew(ctx context.Context, s *secrets.Secret) (*secrets.Secret, error) {
	lease := s.Lease()
	if !lease.Renewable {
		return nil, secrets.ErrNotRenewable
	}
	tok, _ := s.Reveal("token")
	rc, err := p.c.api.Clone()
	if err != nil {
		return nil, fmt.Errorf("vault: renew token: %w", err)
	}
	if rl, ok := p.c.login.(renewingLogin); ok {
		var release func()
		rc, release, err = rl.renewClient(rc)
		if err != nil {
			return nil, classify("renew token", err)
		}
		defer release()
	}
	rc.SetToken(tok)
	start := time.Now()
	sec, err := rc.Auth().Token().RenewSelfWithContext(ctx, int(lease.TTL().Seconds()))
	if err != nil {
		return nil, classify("renew token", err)
	}
	if sec == nil || sec.Auth == nil {
		return nil, fmt.Errorf("%w: vault: token renewal returned no lease", secrets.ErrRefused)
	}
	if sec.Auth.LeaseDuration <= 0 {
		// Not a token that stopped expiring: one at its maximum TTL.
		return nil, fmt.Errorf("%w: vault: token renewal granted no time", secrets.ErrNotRenewable)
	}
	return tokenSecret(start, tok, lease.ID, sec.Auth.LeaseDuration, sec.Auth.Renewable), nil
}

func tokenSecret(start time.Time, token, accessor string, ttl int, renewable bool) *secrets.Secret {
	lease := secrets.Lease{ID: accessor, IssuedAt: start, Renewable: renewable}
	if ttl > 0 {
		lease.ExpiresAt = start.Add(time.Duration(ttl) * time.Second)
	} else {
		// A token that does not expire (a root token) is never renewed.
		lease.Renewable = false
	}
	return secrets.NewSecret(map[string]string{"token": token}, lease)
}

// statusCode returns the HTTP status of a Vault error response, or 0.
func statusCode(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// maxErrorText bounds how much of Vault's error text an error carries.
const maxErrorText = 200

// classify turns an error of vault/api into one matching
// [secrets.ErrRefused] (Vault answered 4xx: permission denied, unknown lease
// or path, a login it refused) or [secrets.ErrUnavailable] (network failure,
// 429, 5xx, a sealed Vault); an error that already matches one of them, or
// [secrets.ErrNotRenewable] or [secrets.ErrInvalidConfig], keeps its kind.
// The message keeps Vault's status and error text (which never carries a
// secret value) and drops the response body.
func classify(what string, err error) error {
	var re *api.ResponseError
	if errors.As(err, &re) {
		kind := secrets.ErrRefused
		if re.StatusCode == http.StatusTooManyRequests || re.StatusCode >= 500 {
			kind = secrets.ErrUnavailable
		}
		text := ""
		if !re.RawError {
			text = strings.Join(re.Errors, "; ")
			if len(text) > maxErrorText {
				text = text[:maxErrorText] + "…"
			}
		}
		return fmt.Errorf("vault: %s: %w: HTTP %d: %s", what, kind, re.StatusCode, text)
	}
	if errors.Is(err, secrets.ErrRefused) || errors.Is(err, secrets.ErrUnavailable) ||
		errors.Is(err, secrets.ErrNotRenewable) || errors.Is(err, secrets.ErrInvalidConfig) {
		return fmt.Errorf("vault: %s: %w", what, err)
	}
	return fmt.Errorf("vault: %s: %w: %v", what, secrets.ErrUnavailable, err)
}
