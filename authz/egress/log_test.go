package egress_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/internal/test/shoprig"
)

// TestRefusalLog locks in the log line of a refusal: endpoint and reason,
// never the path, query, headers or body of the request.
func TestRefusalLog(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	impostor := spiffeServer(t, iss, attacker, "127.0.0.1", 0)
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	res := newHosts(map[string][]netip.Addr{"payments.test": {loopback}})
	list := newList(t, egress.Destination{Host: "payments.test", Port: impostor.Port, Server: authn.MatchID(payments)})
	d := storefrontDialer(t, iss, list, egress.WithResolver(res), egress.WithLogger(logger))
	c := newClient(t, d)

	req, err := http.NewRequestWithContext(shoprig.Context(t), http.MethodGet,
		"https://Evil.Test./customers/jane.doe@example.com?card=4111111111111111", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer eyJhbGciOiJFUzI1NiJ9.secret")
	_, _, err = do(c, req)
	var de *egress.DestinationError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "egress: https://evil.test:443 (not_listed): destination not allowed", de.Error())

	_, _, err = get(t, c, link("https", "payments.test", impostor.Port, "/customers/jane.doe@example.com"))
	require.ErrorIs(t, err, egress.ErrServerIdentity)

	port := strconv.Itoa(impostor.Port)
	assert.Equal(t,
		`{"level":"WARN","msg":"egress refused","scheme":"https","host":"evil.test","port":443,"reason":"not_listed"}`+"\n"+
			`{"level":"WARN","msg":"egress refused","scheme":"https","host":"payments.test","port":`+port+`,"reason":"server_identity"}`+"\n",
		buf.String())
	assert.Equal(t, uint64(2), d.Refusals())
}
