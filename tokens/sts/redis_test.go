package sts_test

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/tokens/dpop/redisreplay"
	"github.com/ztkit/ztkit/tokens/sts"
)

// Two replicas sharing a Redis replay store (the store DPoP proofs use)
// accept a client assertion once between them: replayed at the other
// replica it is refused (RFC 7523 §3 item 7).
func TestClientAssertionReplayAcrossReplicas(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: testenv.Require(t, testenv.RedisAddrVar)})
	t.Cleanup(func() { _ = client.Close() })
	store, err := redisreplay.New(client, redisreplay.WithKeyPrefix("ztkit:test:sts:"+rand.Text()+":"))
	require.NoError(t, err)
	key := newKey(t)
	a, b := newRigWithClientKey(t, key, sts.WithReplayStore(store)), newRigWithClientKey(t, key, sts.WithReplayStore(store))

	// aud is the issuer identifier, which both replicas share.
	assertion := a.clientAssertion(t, func(c map[string]any) { c["aud"] = issuerURL })
	body := ccJWT(assertion, "audience="+url.QueryEscape(paymentsAud))
	r := a.post(a.client(spiffeid.ID{}), body, "DPoP", proof(t, newProofer(t), a.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	r = b.post(b.client(spiffeid.ID{}), body, "DPoP", proof(t, newProofer(t), b.endpoint, ""))
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "invalid_client", r.body["error"])
	assert.Equal(t, "client_assertion has been used before", r.body["error_description"])
}
