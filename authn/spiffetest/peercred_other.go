//go:build !linux

package spiffetest

import "net"

// peerCredentials is not implemented outside Linux: callers stay anonymous and
// [ByUID] refuses them.
func peerCredentials(net.Conn) (Caller, bool) { return Caller{}, false }
