package spiffetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// Attestor decides which SPIFFE ID the caller of a Workload API RPC gets. ctx
// is the RPC's context: [CallerFromContext] reads the caller's process
// credentials from it. An Attestor returns an ID in the issuer's trust domain,
// or an error (wrapping [ErrNoIdentity] by convention) when the caller is not
// entitled to one; the RPC then fails with PermissionDenied. It is called once
// per RPC, for a stream when the stream opens, and must be safe for concurrent
// use.
type Attestor func(ctx context.Context) (spiffeid.ID, error)

// ByUID returns an [Attestor] that gives a caller the ID ids maps its user ID
// to, as read from the socket with SO_PEERCRED. A caller whose user ID is not
// in ids gets [ErrNoIdentity]; without caller credentials (on systems other
// than Linux) every caller gets [ErrNoCallerCredentials]. ids is copied.
func ByUID(ids map[uint32]spiffeid.ID) Attestor {
	ids = maps.Clone(ids)
	return func(ctx context.Context) (spiffeid.ID, error) {
		c, ok := CallerFromContext(ctx)
		if !ok {
			return spiffeid.ID{}, ErrNoCallerCredentials
		}
		id, ok := ids[c.UID]
		if !ok {
			return spiffeid.ID{}, fmt.Errorf("%w: no entry for uid %d", ErrNoIdentity, c.UID)
		}
		return id, nil
	}
}

// Caller identifies the process at the other end of the Workload API socket,
// as the kernel reports it when the connection is accepted (SO_PEERCRED).
type Caller struct {
	// PID is the process ID of the process that opened the connection.
	PID int32
	// UID is its effective user ID.
	UID uint32
	// GID is its effective group ID.
	GID uint32
}

// CallerFromContext returns the credentials of the process that made the
// Workload API call whose context is ctx. ok is false outside such a call and
// where the credentials cannot be read (systems other than Linux).
func CallerFromContext(ctx context.Context) (c Caller, ok bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return Caller{}, false
	}
	info, ok := p.AuthInfo.(callerAuthInfo)
	if !ok || !info.known {
		return Caller{}, false
	}
	return info.caller, true
}

// callerCredentials is the server side of the Workload API transport: no
// encryption (the socket is local) and no client authentication, as the
// Workload Endpoint specification requires, but the handshake records the
// peer's process credentials in the connection's AuthInfo.
type callerCredentials struct{}

var errClientHandshake = errors.New("spiffetest: caller credentials are for the server side only")

func (callerCredentials) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errClientHandshake
}

func (callerCredentials) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	info := callerAuthInfo{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}}
	info.caller, info.known = peerCredentials(conn)
	return conn, info, nil
}

func (callerCredentials) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "insecure"}
}

func (callerCredentials) Clone() credentials.TransportCredentials { return callerCredentials{} }

func (callerCredentials) OverrideServerName(string) error { return nil }

type callerAuthInfo struct {
	credentials.CommonAuthInfo
	caller Caller
	known  bool
}

func (callerAuthInfo) AuthType() string { return "spiffetest-peercred" }
