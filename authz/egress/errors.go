package egress

import (
	"errors"
	"net"
	"strconv"
	"strings"
)

// Sentinel errors. Refusals are returned as a [*DestinationError] that wraps
// one of the first two; configuration errors wrap one of the last two. Test
// with [errors.Is].
var (
	// ErrDestinationNotAllowed: the request or dial was refused before any
	// connection was made: its scheme, host and port are not on the [List];
	// or the host is malformed, the URL carries userinfo, the Host header
	// names another endpoint, the method is CONNECT or the network is not
	// TCP; or no address the host resolved to is allowed for the
	// destination. The [Reason] of the [*DestinationError] says which.
	ErrDestinationNotAllowed = errors.New("egress: destination not allowed")
	// ErrServerIdentity: the TLS handshake with a listed destination failed
	// because the server is not who the list says it must be: its X.509-SVID
	// does not verify against the trust bundles or names a SPIFFE ID the
	// destination's matcher refuses, or (for a web PKI destination) its
	// certificate does not verify for the host name. The client sent no
	// request bytes.
	ErrServerIdentity = errors.New("egress: server identity refused")
	// ErrInvalidDestination: a [Destination] given to [NewList] or a string
	// given to [ParseDestination] is malformed or cannot be dialed safely.
	ErrInvalidDestination = errors.New("egress: invalid destination")
	// ErrInvalidConfig: [NewDialer] or [NewTransport] was given something
	// that cannot work, such as a nil list, or SPIFFE destinations without
	// [WithSPIFFE].
	ErrInvalidConfig = errors.New("egress: invalid configuration")
)

// Reason says why a destination was refused. It is a short, bounded string
// for logs and metric labels.
type Reason string

// Reasons.
const (
	// ReasonNotListed: no destination on the list has this scheme, host and port.
	ReasonNotListed Reason = "not_listed"
	// ReasonScheme: the URL scheme is neither http nor https.
	ReasonScheme Reason = "scheme"
	// ReasonInvalidHost: the host or port is malformed, not ASCII, has an IPv6
	// zone, or could be read as an IP address in a non-standard form.
	ReasonInvalidHost Reason = "invalid_host"
	// ReasonUserinfo: the URL carries a user name or password.
	ReasonUserinfo Reason = "userinfo"
	// ReasonHostMismatch: the Host header (or gRPC authority) names another
	// endpoint than the one dialed.
	ReasonHostMismatch Reason = "host_mismatch"
	// ReasonMethod: the request is a CONNECT, which would open a tunnel.
	ReasonMethod Reason = "method"
	// ReasonNetwork: a dial asked for a network other than tcp, tcp4 or tcp6.
	ReasonNetwork Reason = "network"
	// ReasonAddress: no address the host resolved to is allowed for the
	// destination (for example a public API name that resolves to a private
	// or metadata address: DNS rebinding).
	ReasonAddress Reason = "address"
	// ReasonServerIdentity: the server failed the identity check of the TLS
	// handshake; the error matches [ErrServerIdentity].
	ReasonServerIdentity Reason = "server_identity"
)

// DestinationError is a refused request or dial. It names the endpoint as
// scheme, host and port, never the path, query or userinfo of a URL, which
// may hold personal data or credentials. A host that cannot be parsed is
// left out entirely. It unwraps to [ErrDestinationNotAllowed] or, for
// [ReasonServerIdentity], to [ErrServerIdentity] and the verification
// failure.
type DestinationError struct {
	// Scheme is "http" or "https"; empty when the scheme itself was refused.
	Scheme string
	// Host is the normalised host name or IP address; empty when it could
	// not be parsed.
	Host string
	// Port is the port, with the scheme's default filled in; 0 when unknown.
	Port int
	// Reason says why.
	Reason Reason
	// Err is the cause, wrapping one of the sentinels.
	Err error
}

// Error formats the endpoint, the reason and the cause, as in
// `egress: https://evil.example:443 (not_listed): destination not allowed`.
func (e *DestinationError) Error() string {
	var b strings.Builder
	b.WriteString("egress: ")
	if e.Host == "" {
		b.WriteString("(invalid destination)")
	} else {
		if e.Scheme != "" {
			b.WriteString(e.Scheme + "://")
		}
		if e.Port > 0 {
			b.WriteString(net.JoinHostPort(e.Host, strconv.Itoa(e.Port)))
		} else {
			b.WriteString(e.Host)
		}
	}
	b.WriteString(" (" + string(e.Reason) + ")")
	if e.Err != nil {
		b.WriteString(": " + strings.TrimPrefix(e.Err.Error(), "egress: "))
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *DestinationError) Unwrap() error { return e.Err }

// refusal builds the error for a refusal made before connecting.
func refusal(scheme, host string, port int, reason Reason) *DestinationError {
	return &DestinationError{Scheme: scheme, Host: host, Port: port, Reason: reason, Err: ErrDestinationNotAllowed}
}
