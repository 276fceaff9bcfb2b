package vault_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/vault"
)

// tokenMeta returns the metadata of the token c holds.
func tokenMeta(t *testing.T, c *api.Client) (path string, meta map[string]any) {
	t.Helper()
	self, err := c.Auth().Token().LookupSelf()
	require.NoError(t, err)
	path, _ = self.Data["path"].(string)
	meta, _ = self.Data["meta"].(map[string]any)
	return path, meta
}

// leafSerial returns the serial number (decimal, as the cert auth method
// records it in the token's metadata) of the SVID src holds now.
func leafSerial(t *testing.T, src x509svid.Source) string {
	t.Helper()
	svid, err := src.GetX509SVID()
	require.NoError(t, err)
	return svid.Certificates[0].SerialNumber.String()
}

func TestCertLoginRenewsAndLogsInAgainWhenTheSVIDRotates(t *testing.T) {
	a := baotest.Admin(t)
	iss := newIssuer(t)
	src := x509Source(t, iss)
	secretPath, policy := kvSecret(t, a)
	mount := certRole(t, a, iss.X509Bundle().X509Authorities(), payments, policy, 2*time.Second, time.Minute)

	login, err := vault.Cert(mount, "payments", src)
	require.NoError(t, err)
	c, err := vault.New(t.Context(), baoConfig(t), login, fastBackoff)
	require.NoError(t, err)
	defer c.Close()

	first, err := c.Token().Current()
	require.NoError(t, err)
	path, meta := tokenMeta(t, c.API())
	assert.Equal(t, "auth/"+mount+"/login", path)
	assert.Equal(t, leafSerial(t, src), meta["serial_number"], "the login presented the served SVID")
	readKV(t, c, secretPath)

	// The token is renewed (at about 1.3 s of its 2 s), not replaced: the
	// renewal presented the SVID, as the cert auth method requires.
	require.Eventually(t, func() bool {
		cur, err := c.Token().Current()
		return err == nil && cur.Lease().ExpiresAt.After(first.Lease().ExpiresAt)
	}, 5*time.Second, 50*time.Millisecond, "token not renewed")
	renewed, err := c.Token().Current()
	require.NoError(t, err)
	assert.Equal(t, first.Lease().ID, renewed.Lease().ID, "renewed, not logged in again")

	// The SVID rotates: the Client notices and logs in again with the new one.
	relogins := make(chan *secrets.Secret, 4)
	c.Token().OnRotate(func(s *secrets.Secret) { relogins <- s })
	oldSerial := leafSerial(t, src)
	require.NoError(t, iss.Rotate())
	var next *secrets.Secret
	select {
	case next = <-relogins:
	case <-time.After(5 * time.Second):
		t.Fatal("no new login after the SVID rotated")
	}
	assert.NotEqual(t, first.Lease().ID, next.Lease().ID, "a new token")
	newSerial := leafSerial(t, src)
	require.NotEqual(t, oldSerial, newSerial)
	_, meta = tokenMeta(t, c.API())
	assert.Equal(t, newSerial, meta["serial_number"], "the new login presented the new SVID")
	readKV(t, c, secretPath)

	// Close stops the watch (a later rotation is not acted on), and can be
	// called again.
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	require.NoError(t, iss.Rotate())
	_, err = c.Token().Current()
	assert.ErrorIs(t, err, secrets.ErrClosed)
}

// The SVID rotates to an identity Vault refuses: the Client keeps its token,
// still valid, and reads keep working; once the workload has its identity
// back, it is logged in with it again.
func TestCertLoginKeepsItsTokenWhenTheNewSVIDIsRefused(t *testing.T) {
	a := baotest.Admin(t)
	iss := newIssuer(t)
	src := x509Source(t, iss)
	secretPath, policy := kvSecret(t, a)
	mount := certRole(t, a, iss.X509Bundle().X509Authorities(), payments, policy, time.Minute, time.Hour)
	login, err := vault.Cert(mount, "payments", src)
	require.NoError(t, err)
	var logs logBuffer
	c, err := vault.New(t.Context(), baoConfig(t), login, fastBackoff, logs.logger())
	require.NoError(t, err)
	defer c.Close()

	require.NoError(t, iss.Register(intruder))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "issue failed") },
		5*time.Second, 20*time.Millisecond, "no login attempted with the new SVID")
	assert.Contains(t, logs.String(), "HTTP 400", "refused, not retried as an outage")
	_, err = c.Token().Current()
	require.NoError(t, err)
	readKV(t, c, secretPath)

	require.NoError(t, iss.Register(payments))
	require.NoError(t, iss.Rotate())
	require.Eventually(t, func() bool {
		_, meta := tokenMeta(t, c.API())
		return meta["serial_number"] == leafSerial(t, src)
	}, 10*time.Second, 50*time.Millisecond, "not logged in again with the workload's SVID")
	readKV(t, c, secretPath)
}

func TestCertLoginRefused(t *testing.T) {
	a := baotest.Admin(t)
	iss := newIssuer(t)
	_, policy := kvSecret(t, a)
	mount := certRole(t, a, iss.X509Bundle().X509Authorities(), payments, policy, time.Minute, time.Hour)

	// An SVID of the same trust domain, but another SPIFFE ID.
	other, err := iss.IssueX509SVID(intruder)
	require.NoError(t, err)
	// An SVID of payments from another trust domain's CA.
	foreign := newIssuer(t)
	forged, err := foreign.IssueX509SVID(payments)
	require.NoError(t, err)

	for name, svid := range map[string]*x509svid.SVID{"another SPIFFE ID": other, "another CA": forged} {
		t.Run(name, func(t *testing.T) {
			login, err := vault.Cert(mount, "payments", staticX509{svid})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			_, err = vault.New(ctx, baoConfig(t), login, fastBackoff)
			require.ErrorIs(t, err, secrets.ErrRefused)
			assert.NotErrorIs(t, err, secrets.ErrUnavailable)
		})
	}
}

// Vault and OpenBao take the identity alias from the subject common name,
// which an X.509-SVID need not have. They answer 500; the login reports a
// refusal with the remedy instead of retrying as if the server were down.
func TestCertLoginSVIDWithoutCommonName(t *testing.T) {
	a := baotest.Admin(t)
	iss, err := spiffetest.New(t.Context(), shopTD)
	require.NoError(t, err)
	defer iss.Close()
	svid, err := iss.IssueX509SVID(payments)
	require.NoError(t, err)
	_, policy := kvSecret(t, a)
	mount := certRole(t, a, iss.X509Bundle().X509Authorities(), payments, policy, time.Minute, time.Hour)

	login, err := vault.Cert(mount, "payments", staticX509{svid})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = vault.New(ctx, baoConfig(t), login, fastBackoff)
	require.ErrorIs(t, err, secrets.ErrRefused)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "not retried")
	assert.Contains(t, err.Error(), "common name")
}

// countingProxy forwards TCP connections to target and counts them: accepted
// so far, and still open.
type countingProxy struct {
	ln             net.Listener
	accepted, open atomic.Int64
	wg             sync.WaitGroup
	mu             sync.Mutex
	conns          []net.Conn
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &countingProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			p.open.Add(1)
			p.mu.Lock()
			p.conns = append(p.conns, conn)
			p.mu.Unlock()
			p.wg.Add(1)
			go p.forward(conn, target)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *countingProxy) forward(conn net.Conn, target string) {
	defer p.wg.Done()
	defer p.open.Add(-1)
	defer conn.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, conn); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, up); done <- struct{}{} }()
	<-done
	_ = conn.Close()
	_ = up.Close()
	<-done
}

// Each login opens a TLS connection of its own, presenting the SVID current
// at that moment, and closes it: no login reuses a connection made with an
// older SVID, and none is left in the client's pool.
func TestCertLoginUsesAFreshConnectionEachTime(t *testing.T) {
	a := baotest.Admin(t)
	iss := newIssuer(t)
	src := x509Source(t, iss)
	_, policy := kvSecret(t, a)
	mount := certRole(t, a, iss.X509Bundle().X509Authorities(), payments, policy, time.Minute, time.Hour)
	login, err := vault.Cert(mount, "payments", src)
	require.NoError(t, err)

	direct, err := api.NewClient(baoConfig(t))
	require.NoError(t, err)
	cfg := baoConfig(t)
	proxy := newCountingProxy(t, cfg.Address[len("https://"):])
	cfg.Address = "https://" + proxy.ln.Addr().String()
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	c.ClearToken()

	for i := int64(1); i <= 2; i++ {
		serial := leafSerial(t, src)
		sec, err := login.Login(t.Context(), c)
		require.NoError(t, err)
		assert.Equal(t, i, proxy.accepted.Load(), "login %d on a new connection", i)
		require.Eventually(t, func() bool { return proxy.open.Load() == 0 }, 2*time.Second, 10*time.Millisecond,
			"login %d left its connection open", i)

		direct.SetToken(sec.Auth.ClientToken)
		_, meta := tokenMeta(t, direct)
		assert.Equal(t, serial, meta["serial_number"], "login %d presented the SVID current then", i)

		// Rotate, and wait until the source serves the new SVID.
		before := login.CredentialID()
		require.NoError(t, iss.Rotate())
		require.Eventually(t, func() bool { return login.CredentialID() != before }, 5*time.Second, 10*time.Millisecond)
	}
}

func TestCertLoginErrors(t *testing.T) {
	iss := newIssuer(t)
	valid, err := iss.IssueX509SVID(payments)
	require.NoError(t, err)
	expired, err := iss.IssueX509SVID(payments, spiffetest.WithValidity(time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)))
	require.NoError(t, err)

	client := func(t *testing.T, addr string, rt http.RoundTripper) *api.Client {
		cfg := api.DefaultConfig()
		cfg.Address = addr
		if rt != nil {
			cfg.HttpClient = &http.Client{Transport: rt}
		}
		c, err := api.NewClient(cfg)
		require.NoError(t, err)
		return c
	}
	tests := []struct {
		name   string
		source x509svid.Source
		client *api.Client
		want   error
	}{
		{"no SVID", failingX509{}, client(t, "https://127.0.0.1:1", nil), secrets.ErrUnavailable},
		{"incomplete SVID", staticX509{&x509svid.SVID{ID: payments}}, client(t, "https://127.0.0.1:1", nil), secrets.ErrUnavailable},
		{"expired SVID", staticX509{expired}, client(t, "https://127.0.0.1:1", nil), secrets.ErrUnavailable},
		{"no TLS", staticX509{valid}, client(t, "http://127.0.0.1:1", nil), secrets.ErrInvalidConfig},
		{"custom transport", staticX509{valid}, client(t, "https://127.0.0.1:1", roundTripper{}), secrets.ErrInvalidConfig},
		{"nil client", staticX509{valid}, nil, secrets.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			login, err := vault.Cert("", "payments", tt.source)
			require.NoError(t, err)
			_, err = login.Login(t.Context(), tt.client)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

type failingX509 struct{}

func (failingX509) GetX509SVID() (*x509svid.SVID, error) {
	return nil, errors.New("x509source: source is closed")
}

type roundTripper struct{}

func (roundTripper) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("unused")
}

func TestLoginConstructorsRefuseBadArguments(t *testing.T) {
	x509src := staticX509{}
	jwtsrc := tokenJWT{}
	var nilX509 *workloadapi.X509Source
	var nilJWT *workloadapi.JWTSource
	tests := []struct {
		name, arg string
		make      func() (api.AuthMethod, error)
	}{
		{"Cert nil source", "source", func() (api.AuthMethod, error) { return vault.Cert("", "r", nil) }},
		{"Cert typed nil source", "source", func() (api.AuthMethod, error) { return vault.Cert("", "r", nilX509) }},
		{"Cert empty role", "role", func() (api.AuthMethod, error) { return vault.Cert("cert", " ", x509src) }},
		{"JWT nil source", "source", func() (api.AuthMethod, error) { return vault.JWT("", "r", nil, "vault") }},
		{"JWT typed nil source", "source", func() (api.AuthMethod, error) { return vault.JWT("", "r", nilJWT, "vault") }},
		{"JWT empty role", "role", func() (api.AuthMethod, error) { return vault.JWT("", "", jwtsrc, "vault") }},
		{"JWT empty audience", "audience", func() (api.AuthMethod, error) { return vault.JWT("", "r", jwtsrc, "") }},
		{"JWT empty extra audience", "extra audience", func() (api.AuthMethod, error) {
			return vault.JWT("", "r", jwtsrc, "vault", "other", "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var login api.AuthMethod
			assert.NotPanics(t, func() {
				var err error
				login, err = tt.make()
				require.ErrorIs(t, err, secrets.ErrInvalidConfig)
				var ce *vault.ConfigError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tt.arg, ce.Arg)
			})
			assert.Nil(t, login)
		})
	}
}
