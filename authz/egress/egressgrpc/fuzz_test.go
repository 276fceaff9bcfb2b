package egressgrpc_test

import (
	"errors"
	neturl "net/url"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/resolver"

	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/authz/egress/egressgrpc"
)

// FuzzNewClient: whatever the target, NewClient either refuses it with a
// typed error or creates a client whose resolver hands the dialer a listed
// endpoint. Creating a client makes no connection.
func FuzzNewClient(f *testing.F) {
	for _, s := range []string{
		"payments.test:8443", "payments.test", "dns:///payments.test:8443", "dns:payments.test:8443",
		"passthrough:///PAYMENTS.test.:8443", "dns://8.8.8.8/payments.test:8443", "unix:///run/x.sock",
		"evil.test:8443", "[::1]:8443", "payments.test:8443:1", "xds:///payments", "", "dns:///", "a b:1",
	} {
		f.Add(s)
	}
	list, err := egress.NewList(egress.Destination{Host: "payments.test", Port: 8443}, egress.Destination{Host: "::1", Port: 8443})
	require.NoError(f, err)
	d, err := egress.NewDialer(list, egress.WithResolver(hosts{}))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, target string) {
		conn, err := egressgrpc.NewClient(target, d)
		if err != nil {
			var de *egress.DestinationError
			if errors.As(err, &de) {
				require.ErrorIs(t, err, egress.ErrDestinationNotAllowed)
				return
			}
			require.Nil(t, conn) // grpc.NewClient's own refusal of the target
			return
		}
		defer conn.Close()
		// The resolver gRPC picked must be one of ours, for a listed endpoint.
		parsed := conn.CanonicalTarget()
		u, perr := neturl.Parse(parsed)
		require.NoError(t, perr, parsed)
		rt := resolver.Target{URL: *u}
		require.Contains(t, []string{"dns", "passthrough"}, u.Scheme, parsed)
		_, merr := list.Match(egress.SchemeHTTPS, rt.Endpoint())
		require.NoError(t, merr, parsed)
	})
}
