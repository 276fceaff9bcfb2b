package dpopgrpc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/ztkit/ztkit/internal/dpopnonce"
	"github.com/ztkit/ztkit/internal/grpccreds"
	"github.com/ztkit/ztkit/internal/httphdr"
	"github.com/ztkit/ztkit/internal/redacted"
	"github.com/ztkit/ztkit/internal/urlpath"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// PerRPCCredentials puts a DPoP-bound access token and a fresh DPoP proof on
// every gRPC call (credentials.PerRPCCredentials): the metadata
// "authorization: DPoP <token>" and "dpop: <proof>", the proof for htm
// "POST" and the call's htu (see the package documentation), with the
// token's ath and the latest nonce the server gave for that authority.
//
// The nonces are learnt, and the use_dpop_nonce challenge retried once, by
// its interceptors; [PerRPCCredentials.DialOptions] installs them with the
// credentials.
//
// A PerRPCCredentials is safe for concurrent use; it prints as [REDACTED].
// Build it with [NewPerRPCCredentials]; the zero value refuses every call
// with [ErrInvalidConfig].
type PerRPCCredentials struct {
	tokens    dpop.TokenSource
	proofer   *dpop.Proofer
	authority string
	nonces    dpopnonce.Book
}

var _ credentials.PerRPCCredentials = (*PerRPCCredentials)(nil)

// NewPerRPCCredentials returns credentials that send the tokens of src,
// DPoP-bound to the key of p, with p's proofs. src is asked for a token on
// every call and should cache it until it nears expiry.
func NewPerRPCCredentials(src dpop.TokenSource, p *dpop.Proofer, opts ...Option) (*PerRPCCredentials, error) {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if src == nil || p == nil {
		return nil, fmt.Errorf("%w: a token source and a proofer are required", ErrInvalidConfig)
	}
	if cfg.authority != "" && !httphdr.ValidHost(cfg.authority) {
		return nil, fmt.Errorf("%w: authority is not host[:port]", ErrInvalidConfig)
	}
	return &PerRPCCredentials{tokens: src, proofer: p, authority: cfg.authority}, nil
}

// RequireTransportSecurity returns true: the token and proofs are sent only
// over a connection with privacy and integrity (TLS). grpc-go refuses to
// create a client with these credentials and insecure transport
// credentials, and fails a call given them as a call option on an insecure
// connection.
func (c *PerRPCCredentials) RequireTransportSecurity() bool { return true }

// GetRequestMetadata returns the call's "authorization" and "dpop"
// metadata. uri is the one grpc-go passes, "https://<authority>/<service>";
// the method comes from credentials.RequestInfoFromContext(ctx). It refuses,
// with this package's errors, a connection without privacy and integrity, a
// call whose target is unknown or whose outgoing metadata already has
// either key, and a token source or proofer failure.
func (c *PerRPCCredentials) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	st, _ := ctx.Value(stateKey{c}).(*callState)
	md, origin, nonce, err := c.metadata(ctx, uri)
	if st != nil {
		st.set(origin, nonce, err)
	}
	return md, err
}

func (c *PerRPCCredentials) metadata(ctx context.Context, uri []string) (_ map[string]string, origin, nonce string, _ error) {
	if c == nil || c.tokens == nil || c.proofer == nil {
		return nil, "", "", fmt.Errorf("%w: PerRPCCredentials not built with NewPerRPCCredentials", ErrInvalidConfig)
	}
	ri, refusal := grpccreds.Check(ctx, "authorization", "dpop")
	switch refusal {
	case grpccreds.Insecure:
		return nil, "", "", ErrInsecureTransport
	case grpccreds.Conflict:
		return nil, "", "", ErrConflictingMetadata
	}
	if !validMethod(ri.Method) {
		return nil, "", "", fmt.Errorf("%w: method is not /service/method", ErrUnknownTarget)
	}
	authority := c.authority
	if authority == "" {
		var ok bool
		if authority, ok = uriAuthority(uri); !ok {
			return nil, "", "", fmt.Errorf("%w: no https authority", ErrUnknownTarget)
		}
	}
	token, err := c.tokens.AccessToken(ctx)
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: %w", ErrTokenSource, err)
	}
	if _, _, err := httphdr.ParseAuthorization("DPoP " + token); err != nil {
		return nil, "", "", fmt.Errorf("%w: the token is empty or not token68", ErrTokenSource)
	}
	origin = "https://" + authority
	nonce = c.nonces.Get(origin)
	proof, err := c.proofer.Proof(dpop.ProofRequest{Method: "POST", URL: origin + ri.Method, AccessToken: token, Nonce: nonce})
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: %w", ErrProof, err)
	}
	return map[string]string{"authorization": "DPoP " + token, "dpop": proof}, origin, nonce, nil
}

// validMethod accepts a gRPC full method, "/service/method", that is
// already in the canonical form the server checks htu's path in (package
// internal/urlpath: no dot or empty segment, no query, fragment, control
// character or encoded separator), so that the htu names the method as the
// server reads it.
func validMethod(m string) bool {
	if strings.Count(m, "/") != 2 || strings.HasSuffix(m, "/") {
		return false
	}
	c, err := urlpath.Canonical(m)
	return err == nil && c == m
}

// uriAuthority returns the authority of grpc-go's uri,
// "https://<authority>/<service>".
func uriAuthority(uri []string) (string, bool) {
	if len(uri) == 0 {
		return "", false
	}
	rest, ok := strings.CutPrefix(uri[0], "https://")
	if !ok {
		return "", false
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return rest, httphdr.ValidHost(rest)
}

// DialOptions returns the options that install c on a client: the
// credentials on every call and the unary and stream interceptors that learn
// nonces and retry the use_dpop_nonce challenge. The interceptors are
// chained after any the client already has. Add transport credentials (TLS)
// of your own.
func (c *PerRPCCredentials) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithPerRPCCredentials(c),
		grpc.WithChainUnaryInterceptor(c.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(c.StreamClientInterceptor()),
	}
}

// String returns [REDACTED].
func (c *PerRPCCredentials) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (c *PerRPCCredentials) GoString() string { return redacted.Marker }

// Format prints [REDACTED] for every verb.
func (c *PerRPCCredentials) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue logs [REDACTED].
func (c *PerRPCCredentials) LogValue() slog.Value { return redacted.LogValue() }

// stateKey keys the [callState] of one call of one PerRPCCredentials in the
// call's context.
type stateKey struct{ c *PerRPCCredentials }

// callState is what the credentials tell their interceptor about one
// attempt of a call: the origin and nonce of its proof, or why no metadata
// was made.
type callState struct {
	mu     sync.Mutex
	origin string
	nonce  string
	err    error
}

func (s *callState) set(origin, nonce string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.origin, s.nonce, s.err = origin, nonce, err
}

func (s *callState) get() (origin, nonce string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.origin, s.nonce, s.err
}

// MarshalJSON encodes [REDACTED].
func (c *PerRPCCredentials) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }
