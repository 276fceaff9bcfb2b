package main

import (
	"bytes"
	"context"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShopWithRedis plays the scenario with checkout's counters in the Redis
// that scripts/test starts (ZTKIT_TEST_REDIS_ADDR): step 23's limit holds
// the same, and the counts are in Redis, under key names that hold no
// customer.
func TestShopWithRedis(t *testing.T) {
	addr := agentEnv(t, "ZTKIT_TEST_REDIS_ADDR")
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, []string{"-redis-addr", addr}))
	got := out.String()
	assert.Contains(t, got, "limits:   POST /orders: 5 per customer (the token's subject) per 10m0s (guard.WithRateLimits); counters in Redis at "+addr+" (shared by every replica)\n")
	assertScenario(t, got, "spiffe://shop.example/storefront")

	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { assert.NoError(t, client.Close()) })
	keys, err := client.Keys(t.Context(), counterPrefix+"*").Result()
	require.NoError(t, err)
	assert.NotEmpty(t, keys, "the counts are kept in Redis")
	for _, k := range keys {
		for _, customer := range []string{customerID, botCustomer} {
			assert.NotContains(t, k, customer)
		}
	}
}

// TestShopRedisUnreachable: a checkout whose counters do not answer does
// not start (its limits would refuse every order).
func TestShopRedisUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	var out bytes.Buffer
	err = run(context.Background(), &out, []string{"-redis-addr", addr})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redis at "+addr)
}
