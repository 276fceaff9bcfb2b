package spiffetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"google.golang.org/grpc"

	"github.com/ztkit/ztkit/internal/redacted"
)

// gracefulStopTimeout bounds how long Close waits for in-flight RPCs before it
// cuts the connections.
const gracefulStopTimeout = 2 * time.Second

// Issuer is a certificate authority for one trust domain that serves the
// SPIFFE Workload API on a unix socket. Create it with [New] and release it
// with [Issuer.Close]. Its methods are safe for concurrent use. The zero value
// is not usable.
type Issuer struct {
	td      spiffeid.TrustDomain
	ca      *authority
	cfg     *config
	socket  string // absolute path of the socket
	tempDir string // directory New created for the socket, removed by Close
	server  *grpc.Server

	done      chan struct{} // closed by Close
	wg        sync.WaitGroup
	serveErr  error // written by the serve goroutine before wg.Done
	closeOnce sync.Once
	closeErr  error

	mu         sync.Mutex
	closed     bool
	registered spiffeid.ID
	svids      map[spiffeid.ID]*x509svid.SVID // current X509-SVID per ID; cleared on rotation
	federated  map[spiffeid.TrustDomain]*spiffebundle.Bundle
	changed    chan struct{} // closed and replaced whenever what the streams send changes
}

// New creates the CA for td, listens on the socket and serves the Workload
// API until [Issuer.Close]. ctx bounds the setup only; cancelling it later has
// no effect on the returned Issuer. Clients can connect as soon as New
// returns. Until [Issuer.Register] (or with an [Attestor], until it finds an
// identity) callers get PermissionDenied.
//
// New fails with [ErrInvalidConfig] for a zero trust domain or a bad option,
// and with a wrapped OS error when it cannot listen on the socket.
func New(ctx context.Context, td spiffeid.TrustDomain, opts ...Option) (_ *Issuer, err error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil context", ErrInvalidConfig)
	}
	cfg := newConfig(opts)
	if err := cfg.validate(td); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("spiffetest: %w", err)
	}
	ca, err := newAuthority(td, cfg.now())
	if err != nil {
		return nil, err
	}
	i := &Issuer{
		td:        td,
		ca:        ca,
		cfg:       cfg,
		done:      make(chan struct{}),
		svids:     map[spiffeid.ID]*x509svid.SVID{},
		federated: cfg.federated,
		changed:   make(chan struct{}),
	}

	var cleanup []func() error
	defer func() {
		if err != nil {
			for k := len(cleanup) - 1; k >= 0; k-- {
				err = errors.Join(err, cleanup[k]())
			}
		}
	}()

	if cfg.socketPath == "" {
		dir, err := os.MkdirTemp("", "spiffetest-")
		if err != nil {
			return nil, fmt.Errorf("spiffetest: socket directory: %w", err)
		}
		cleanup = append(cleanup, func() error { return os.RemoveAll(dir) })
		i.tempDir = dir
		i.socket = filepath.Join(dir, defaultSocketName)
	} else {
		i.socket, err = filepath.Abs(cfg.socketPath)
		if err != nil {
			return nil, fmt.Errorf("spiffetest: socket path: %w", err)
		}
	}
	lis, err := (&net.ListenConfig{}).Listen(ctx, "unix", i.socket)
	if err != nil {
		return nil, fmt.Errorf("spiffetest: listen on unix socket %q: %w", i.socket, err)
	}
	cleanup = append(cleanup, lis.Close)

	i.server = grpc.NewServer(
		grpc.Creds(callerCredentials{}),
		grpc.ChainUnaryInterceptor(i.unaryHeaderCheck),
		grpc.ChainStreamInterceptor(i.streamHeaderCheck),
	)
	workload.RegisterSpiffeWorkloadAPIServer(i.server, &workloadAPI{i: i})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("spiffetest: %w", err)
	}

	i.wg.Add(2)
	go i.serve(lis)
	go i.rotateEvery(cfg.rotation)
	return i, nil
}

func (i *Issuer) serve(lis net.Listener) {
	defer i.wg.Done()
	if err := i.server.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		i.serveErr = fmt.Errorf("spiffetest: serve: %w", err)
	}
}

func (i *Issuer) rotateEvery(d time.Duration) {
	defer i.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-i.done:
			return
		case <-t.C:
			_ = i.Rotate() // fails only once closed, and then done is closed too
		}
	}
}

// Close stops the Workload API, ends every open stream (clients see
// Unavailable), stops rotation and removes the socket, and the temporary
// directory if New created it. It waits for in-flight calls for a short while
// and then cuts them. Close may be called more than once; later calls return
// the first call's result. Every other method except the bundle accessors
// fails with [ErrClosed] afterwards.
func (i *Issuer) Close() error {
	i.closeOnce.Do(func() {
		i.mu.Lock()
		i.closed = true
		close(i.done)
		i.mu.Unlock()

		stopped := make(chan struct{})
		go func() {
			i.server.GracefulStop()
			close(stopped)
		}()
		t := time.NewTimer(gracefulStopTimeout)
		select {
		case <-stopped:
		case <-t.C:
			i.server.Stop()
			<-stopped
		}
		t.Stop()
		i.wg.Wait()

		errs := []error{i.serveErr}
		// The listener unlinks the socket when it closes; this covers a
		// listener that did not.
		if err := os.Remove(i.socket); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("spiffetest: remove socket: %w", err))
		}
		if i.tempDir != "" {
			if err := os.RemoveAll(i.tempDir); err != nil {
				errs = append(errs, fmt.Errorf("spiffetest: remove socket directory: %w", err))
			}
		}
		i.closeErr = errors.Join(errs...)
	})
	return i.closeErr
}

// Addr returns the Workload API address, "unix://" and the absolute socket
// path, as [github.com/spiffe/go-spiffe/v2/workloadapi.WithAddr] and the
// SPIFFE_ENDPOINT_SOCKET variable take it.
func (i *Issuer) Addr() string {
	return (&url.URL{Scheme: "unix", Path: i.socket}).String()
}

// TrustDomain returns the issuer's trust domain.
func (i *Issuer) TrustDomain() spiffeid.TrustDomain { return i.td }

// Register sets the identity served to every Workload API caller when no
// [Attestor] is configured, replacing the previous one, and pushes it to the
// open streams. id must be in the issuer's trust domain and have a path
// ([ErrInvalidID]).
func (i *Issuer) Register(id spiffeid.ID) error {
	if err := i.checkID(id); err != nil {
		return err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return ErrClosed
	}
	if i.registered != id {
		i.registered = id
		if i.cfg.attestor == nil { // attested streams do not serve it
			i.notifyLocked()
		}
		i.cfg.log.Debug("spiffetest: registered identity", "spiffe_id", id.String())
	}
	return nil
}

// Rotate reissues the X509-SVIDs now, as the rotation schedule does, and pushes
// the new SVIDs and the bundles to every open stream. A client such as
// workloadapi.X509Source reports the update through its Updated channel.
func (i *Issuer) Rotate() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return ErrClosed
	}
	clear(i.svids)
	i.notifyLocked()
	i.cfg.log.Debug("spiffetest: rotated X509-SVIDs", "trust_domain", i.td.String())
	return nil
}

// SetFederatedBundle adds or replaces the bundle of a foreign trust domain, as
// [WithFederatedBundle] does, and pushes the change to the open streams. Two
// issuers federate with each other by passing each other's [Issuer.Bundle].
// It fails with [ErrInvalidConfig] for a nil bundle or one for the issuer's
// own or a zero trust domain.
func (i *Issuer) SetFederatedBundle(b *spiffebundle.Bundle) error {
	switch {
	case b == nil:
		return fmt.Errorf("%w: nil federated bundle", ErrInvalidConfig)
	case b.TrustDomain().IsZero():
		return fmt.Errorf("%w: federated bundle with a zero trust domain", ErrInvalidConfig)
	case b.TrustDomain() == i.td:
		return fmt.Errorf("%w: federated bundle for the issuer's own trust domain %q", ErrInvalidConfig, i.td)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return ErrClosed
	}
	i.federated[b.TrustDomain()] = b.Clone()
	i.notifyLocked()
	return nil
}

// Bundle returns a copy of the issuer's own SPIFFE bundle: its root CA
// certificate and its JWT public key. It stays valid for the Issuer's
// lifetime, and after Close.
func (i *Issuer) Bundle() *spiffebundle.Bundle { return i.ca.bundle() }

// X509Bundle returns a copy of the issuer's X.509 bundle, its root CA
// certificate, for verifying the X509-SVIDs it issues.
func (i *Issuer) X509Bundle() *x509bundle.Bundle { return i.ca.bundle().X509Bundle() }

// JWTBundle returns a copy of the issuer's JWT bundle, its JWT public key under
// its kid, for verifying the JWT-SVIDs it issues.
func (i *Issuer) JWTBundle() *jwtbundle.Bundle { return i.ca.bundle().JWTBundle() }

// Bundles returns a new set with copies of the issuer's own bundle and every
// federated bundle. A *spiffebundle.Set is both an x509bundle.Source and a
// jwtbundle.Source.
func (i *Issuer) Bundles() *spiffebundle.Set {
	i.mu.Lock()
	defer i.mu.Unlock()
	set := spiffebundle.NewSet(i.ca.bundle())
	for _, b := range i.federated {
		set.Add(b.Clone())
	}
	return set
}

// IssueX509SVID issues an X509-SVID for id directly, without the Workload API:
// a fresh key and a leaf certificate signed by the issuer's CA, valid for the
// [WithX509SVIDTTL] lifetime unless [WithValidity] says otherwise. Served
// X509-SVIDs are unaffected. id must be in the issuer's trust domain and have
// a path ([ErrInvalidID]).
func (i *Issuer) IssueX509SVID(id spiffeid.ID, opts ...SVIDOption) (*x509svid.SVID, error) {
	if err := i.checkID(id); err != nil {
		return nil, err
	}
	if i.isClosed() {
		return nil, ErrClosed
	}
	notBefore, notAfter, err := i.validity(opts, i.cfg.x509TTL)
	if err != nil {
		return nil, err
	}
	return i.ca.issueX509(id, notBefore, notAfter, i.cfg.dnsNames)
}

// IssueJWTSVID issues a JWT-SVID for id with the given audience directly,
// without the Workload API, valid for the [WithJWTSVIDTTL] lifetime unless
// [WithValidity] says otherwise. It returns the token in JWS compact
// serialization; jwtsvid.ParseAndValidate with [Issuer.JWTBundle] verifies it.
// A token, rather than a *jwtsvid.SVID, lets it be expired or not yet valid.
// id must be in the issuer's trust domain and have a path ([ErrInvalidID]);
// audience must hold at least one non-empty value ([ErrInvalidAudience]).
func (i *Issuer) IssueJWTSVID(id spiffeid.ID, audience []string, opts ...SVIDOption) (string, error) {
	if err := i.checkID(id); err != nil {
		return "", err
	}
	if err := checkAudience(audience); err != nil {
		return "", err
	}
	if i.isClosed() {
		return "", ErrClosed
	}
	notBefore, notAfter, err := i.validity(opts, i.cfg.jwtTTL)
	if err != nil {
		return "", err
	}
	return i.ca.signJWT(id, audience, notBefore, notAfter)
}

// String returns a redaction marker: an Issuer holds CA keys.
func (i *Issuer) String() string { return redacted.Marker }

// GoString returns a redaction marker: an Issuer holds CA keys.
func (i *Issuer) GoString() string { return redacted.Marker }

// Format writes a redaction marker for every verb: an Issuer holds CA keys.
func (i *Issuer) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue returns a redaction marker: an Issuer holds CA keys.
func (i *Issuer) LogValue() slog.Value { return redacted.LogValue() }

func (i *Issuer) isClosed() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.closed
}

// notifyLocked wakes every stream so that it sends the current state.
// i.mu must be held.
func (i *Issuer) notifyLocked() {
	close(i.changed)
	i.changed = make(chan struct{})
}

// subscribe returns a channel that is closed at the next change.
func (i *Issuer) subscribe() <-chan struct{} {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.changed
}

// currentX509SVID returns the X509-SVID served for id in the current rotation
// period, issuing it on first use, so that every stream of one identity gets
// the same SVID.
func (i *Issuer) currentX509SVID(id spiffeid.ID) (*x509svid.SVID, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if svid, ok := i.svids[id]; ok {
		return svid, nil
	}
	now := i.cfg.now()
	svid, err := i.ca.issueX509(id, now, now.Add(i.cfg.x509TTL), i.cfg.dnsNames)
	if err != nil {
		return nil, err
	}
	i.svids[id] = svid
	return svid, nil
}

func (i *Issuer) checkID(id spiffeid.ID) error {
	switch {
	case id.IsZero():
		return fmt.Errorf("%w: zero ID", ErrInvalidID)
	case !id.MemberOf(i.td):
		return fmt.Errorf("%w: %q is not in trust domain %q", ErrInvalidID, id, i.td)
	case id.Path() == "":
		return fmt.Errorf("%w: %q has no path", ErrInvalidID, id)
	}
	return nil
}

func checkAudience(audience []string) error {
	if len(audience) == 0 {
		return fmt.Errorf("%w: no audience", ErrInvalidAudience)
	}
	for _, a := range audience {
		if a == "" {
			return fmt.Errorf("%w: empty audience value", ErrInvalidAudience)
		}
	}
	return nil
}

func (i *Issuer) validity(opts []SVIDOption, ttl time.Duration) (notBefore, notAfter time.Time, err error) {
	var c svidConfig
	for _, o := range opts {
		if o != nil {
			o.applySVID(&c)
		}
	}
	if c.notBefore.IsZero() {
		c.notBefore = i.cfg.now()
	}
	if c.notAfter.IsZero() {
		c.notAfter = c.notBefore.Add(ttl)
	}
	if !c.notAfter.After(c.notBefore) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: notAfter %s is not after notBefore %s",
			ErrInvalidConfig, c.notAfter.Format(time.RFC3339), c.notBefore.Format(time.RFC3339))
	}
	return c.notBefore, c.notAfter, nil
}
