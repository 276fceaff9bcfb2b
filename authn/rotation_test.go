package authn_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffesource"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/internal/test/shoprig"
)

// TestRotationUnderLoad: payments serves HTTPS with ServerTLSConfig on its
// X509Source, checkout calls it with ClientTLSConfig on its own, both from
// one issuer. While eight clients send requests, each on a new connection,
// the issuer rotates the SVIDs several times. No request may fail, and both
// ends must present new certificates after the rotations.
func TestRotationUnderLoad(t *testing.T) {
	t.Run("bundles from a BundleSource", func(t *testing.T) {
		anRotationUnderLoad(t, false)
	})
	t.Run("bundles from the X509Source", func(t *testing.T) {
		// What ServerTLSConfig recommends. Under -race this caught
		// spiffe/go-spiffe#411 (the X509Source read its bundles without its
		// lock) until go-spiffe v2.8.2.
		anRotationUnderLoad(t, true)
	})
}

// anRotationUnderLoad runs the rotation test; bundlesFromX509Source says
// whether each side verifies its peer against its X509Source, as go-spiffe's
// examples do, or against a separate workloadapi.BundleSource.
func anRotationUnderLoad(t *testing.T, bundlesFromX509Source bool) {
	const (
		workers   = 8
		rotations = 4
		// perPhase is how many requests must complete between rotations, so
		// that every rotation happens under load.
		perPhase = 2 * workers
	)
	iss := shoprig.NewIssuer(t, shoprig.TrustDomain, spiffetest.WithAttestor(shoprig.ByWorkloadName(map[string]spiffeid.ID{
		"payments": shoprig.Payments,
		"checkout": shoprig.Checkout,
		"":         shoprig.Storefront, // whoever asks only for bundles
	})))
	server := shoprig.NewX509Source(t, iss, shoprig.AsWorkload("payments"))
	client := shoprig.NewX509Source(t, iss, shoprig.AsWorkload("checkout"))
	var serverBundles, clientBundles x509bundle.Source = server, client
	if !bundlesFromX509Source {
		bundles, err := spiffesource.NewBundleSource(shoprig.Context(t), iss.Addr())
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, bundles.Close()) })
		serverBundles, clientBundles = bundles, bundles
	}

	peers := authn.MatchID(shoprig.Checkout)
	a, err := authn.New(authn.Policy{Peer: peers}, authn.WithX509Bundles(serverBundles))
	require.NoError(t, err)
	var clientSerials sync.Map // serials of the client certificates the server saw
	srv := shoprig.StartTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r.Context(), r)
		if err != nil || p.Peer != shoprig.Checkout {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		clientSerials.Store(r.TLS.PeerCertificates[0].SerialNumber.String(), true)
		w.WriteHeader(http.StatusNoContent)
	}), shoprig.ServerTLSConfig(t, server, serverBundles, peers), nil)

	tr := &http.Transport{TLSClientConfig: shoprig.ClientTLSConfig(t, client, clientBundles, authn.MatchID(shoprig.Payments)), DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	ctx := shoprig.Context(t)

	// get sends one request and returns the serial of the certificate payments presented.
	get := func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/settle", nil)
		if err != nil {
			return "", err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusNoContent {
			return "", fmt.Errorf("status %d", resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.String(), nil
	}

	initial, err := get(ctx)
	require.NoError(t, err)
	initialSVID, err := client.GetX509SVID()
	require.NoError(t, err)
	initialClient := initialSVID.Certificates[0].SerialNumber.String()

	var (
		stop     = make(chan struct{})
		progress = make(chan struct{})
		wg       sync.WaitGroup
		total    atomic.Int64
		failed   atomic.Int64
		firstErr atomic.Value
		served   sync.Map // serials of the server certificates the clients saw
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				serial, err := get(context.WithoutCancel(ctx))
				total.Add(1)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				} else {
					served.Store(serial, true)
				}
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		}()
	}
	stopped := false
	stopWorkers := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	t.Cleanup(stopWorkers)

	// awaitRequests waits until n more requests have completed.
	awaitRequests := func(n int) {
		t.Helper()
		for range n {
			select {
			case <-progress:
			case <-ctx.Done():
				t.Fatal("the clients stopped making progress")
			}
		}
	}
	// awaitUpdated waits for src's next update.
	awaitUpdated := func(name string, src *workloadapi.X509Source) {
		t.Helper()
		require.NoError(t, src.WaitUntilUpdated(ctx), "the %s source saw no rotation", name)
	}

	awaitRequests(perPhase)
	for i := range rotations {
		require.NoError(t, iss.Rotate(), "rotation %d", i)
		awaitUpdated("payments", server)
		awaitUpdated("checkout", client)
		awaitRequests(perPhase)
	}
	stopWorkers()

	if err, _ := firstErr.Load().(error); err != nil {
		t.Errorf("first failure: %v", err)
	}
	assert.Zero(t, failed.Load(), "failed requests out of %d", total.Load())
	assert.GreaterOrEqual(t, total.Load(), int64((rotations+1)*perPhase))

	// After the rotations both ends present new certificates.
	final, err := get(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, initial, final, "payments still serves its first certificate")
	current, err := server.GetX509SVID()
	require.NoError(t, err)
	assert.Equal(t, current.Certificates[0].SerialNumber.String(), final, "payments serves its current SVID")
	currentClient, err := client.GetX509SVID()
	require.NoError(t, err)
	assert.NotEqual(t, initialClient, currentClient.Certificates[0].SerialNumber.String())
	_, sawCurrentClient := clientSerials.Load(currentClient.Certificates[0].SerialNumber.String())
	assert.True(t, sawCurrentClient, "payments saw checkout's current certificate")

	count := func(m *sync.Map) int {
		n := 0
		m.Range(func(any, any) bool { n++; return true })
		return n
	}
	assert.Greater(t, count(&served), 1, "the clients saw more than one server certificate under load")
	assert.Greater(t, count(&clientSerials), 1, "payments saw more than one client certificate")
}
