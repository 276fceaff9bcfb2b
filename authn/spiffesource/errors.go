package spiffesource

import (
	"fmt"

	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/ztkit/ztkit/authn"
)

// ErrNoAddress: the constructor was given no Workload API address and the
// SPIFFE_ENDPOINT_SOCKET environment variable is unset or empty. It matches
// [authn.ErrInvalidConfig] too.
var ErrNoAddress = fmt.Errorf("%w: spiffesource: no Workload API address (none given and %s unset)", authn.ErrInvalidConfig, workloadapi.SocketEnv)
