package vault_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/vault"
)

// rfc3339 matches the timestamps Vault puts in its JSON answers
// ("2026-12-07T00:05:23.123456789Z", with an offset or not).
var rfc3339 = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"`)

// skewProxy returns the address of a reverse proxy to the shared test Vault
// that moves every wall-clock time in Vault's answers (expire_time,
// issue_time, creation_time, last_renewal_time, the Date header) by skew: to
// a client behind it, Vault's clock is off by skew. It counts the times it
// moved.
func skewProxy(t *testing.T, skew time.Duration) (string, *atomic.Int64) {
	t.Helper()
	target, err := url.Parse(testenv.Require(t, testenv.VaultAddrVar))
	require.NoError(t, err)
	pem, err := os.ReadFile(testenv.Require(t, testenv.VaultCACertVar))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	moved := new(atomic.Int64)
	shift := func(b []byte) []byte {
		return rfc3339.ReplaceAllFunc(b, func(m []byte) []byte {
			ts, err := time.Parse(time.RFC3339Nano, string(m[1:len(m)-1]))
			if err != nil {
				return m
			}
			moved.Add(1)
			return []byte(strconv.Quote(ts.Add(skew).Format(time.RFC3339Nano)))
		})
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	rp.ModifyResponse = func(r *http.Response) error {
		if d, err := http.ParseTime(r.Header.Get("Date")); err == nil {
			r.Header.Set("Date", d.Add(skew).UTC().Format(http.TimeFormat))
		}
		body, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return err
		}
		body = shift(body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL, moved
}

// Clock skew. A Source counts every lifetime from the relative TTL Vault
// grants (lease_duration), on the local monotonic clock, starting when the
// request was sent; it never reads Vault's wall-clock times. There is no
// skewing a real OpenBao's clock from a test (it reads the kernel's clock
// through the vDSO, which no LD_PRELOAD reaches, and the machine's clock is
// the service's too), so the skew is made where the client sees it: a proxy
// moves every wall-clock time in Vault's answers by an hour, ahead and behind. With Vault an hour behind, a client reading
// expire_time would think every credential expired; an hour ahead, it would
// renew an hour late. The Source renews on time and never fails, and its
// lease carries a monotonic clock reading, so that a jump of the service's
// own wall clock (an NTP step) changes none of its waits either.
func TestClockSkewChangesNothing(t *testing.T) {
	t.Parallel()
	a := baotest.Admin(t)
	mount := baotest.RedisDatabase(t, a)
	for _, skew := range []time.Duration{time.Hour, -time.Hour} {
		t.Run("vault "+skew.String(), func(t *testing.T) {
			t.Parallel()
			// Long enough that a renewal on a loaded 2-core CI machine (-race, parallel
			// tests) still lands well before the lease ends.
			const ttl = 4 * time.Second
			ctx := context.Background()
			addr := testenv.Require(t, testenv.VaultRedisAddrVar)
			role := baotest.RedisRole(t, a, mount, ttl, time.Minute)
			login := appRoleLogin(t, a, `path "`+mount+`/creds/*" { capabilities = ["read"] }`, time.Minute, time.Hour)
			proxy, moved := skewProxy(t, skew)
			cfg := config(t)
			cfg.Address = proxy
			c, err := vault.New(ctx, cfg, login, fastBackoff)
			require.NoError(t, err)
			defer c.Close()

			// Vault's clock, as this client sees it, is off by skew.
			self, err := c.API().Auth().Token().LookupSelfWithContext(ctx)
			require.NoError(t, err)
			exp, err := time.Parse(time.RFC3339Nano, self.Data["expire_time"].(string))
			require.NoError(t, err)
			assert.InDelta(t, (time.Minute + skew).Seconds(), time.Until(exp).Seconds(), 5, "Vault's expire_time as seen here")
			require.Positive(t, moved.Load())

			mp, reader := meters(t)
			before := time.Now()
			src, err := secrets.NewSource(ctx, "cache", c.Lease(mount+"/creds/"+role, nil), secrets.WithMeterProvider(mp), fastBackoff)
			require.NoError(t, err)
			defer src.Close()
			after := time.Now()
			first, err := src.Current()
			require.NoError(t, err)
			lease := first.Lease()
			assert.Equal(t, ttl, lease.TTL(), "the TTL Vault granted, to the nanosecond")
			assert.False(t, lease.IssuedAt.Before(before) || lease.IssuedAt.After(after), "issued when the request was sent")
			assert.True(t, strings.Contains(lease.ExpiresAt.String(), " m=+"), "the expiry carries a monotonic clock reading")
			assert.True(t, strings.Contains(lease.IssuedAt.String(), " m=+"))

			rots := watchRotations(src)
			errs, stop := watchCurrent(src)
			time.Sleep(3 * ttl)
			stop()
			assert.Zero(t, errs.Load(), "Current failed")
			assert.Empty(t, rots.all(), "rotated")
			assert.GreaterOrEqual(t, counter(t, reader, "ztkit.secrets.renewed", sourceName("cache")), int64(3), "renewed on time")
			assert.Zero(t, counter(t, reader, "ztkit.secrets.failures", sourceName("cache")))
			now, err := src.Current()
			require.NoError(t, err)
			assert.Equal(t, lease.ID, now.Lease().ID)
			assert.NoError(t, redisCall(ctx, addr, now))
		})
	}
}
