package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/ztkit/ztkit/secrets"
)

// KV returns a provider of the secret at path in the KV version 2 engine
// mounted at mount ("secret"), read with the Client's token. Its fields are
// the secret's data (values that are not strings are encoded as JSON), its
// lease's Version the KV version. A KV secret does not expire: a
// [secrets.Source] reads it again every [secrets.WithRefresh] interval, and
// calls its OnRotate functions when the value changed.
func (c *Client) KV(mount, secretPath string) secrets.Provider {
	return kvProvider{c: c, path: path.Join(strings.Trim(mount, "/"), "data", strings.Trim(secretPath, "/"))}
}

type kvProvider struct {
	c    *Client
	path string
}

func (p kvProvider) Issue(ctx context.Context) (*secrets.Secret, error) {
	start := time.Now()
	sec, err := p.c.do(ctx, "read "+p.path, func(a *api.Client) (*api.Secret, error) {
		return a.Logical().ReadWithContext(ctx, p.path)
	})
	if err != nil {
		return nil, err
	}
	if sec == nil {
		return nil, fmt.Errorf("vault: read %s: %w: no secret at this path", p.path, secrets.ErrRefused)
	}
	data, ok := sec.Data["data"].(map[string]any)
	if !ok {
		// Deleted or destroyed versions come back with "data": null.
		return nil, fmt.Errorf("vault: read %s: %w: no data (deleted or destroyed version, or not a KV v2 mount)", p.path, secrets.ErrRefused)
	}
	fields, err := stringFields(data)
	if err != nil {
		return nil, fmt.Errorf("vault: read %s: %w", p.path, err)
	}
	lease := secrets.Lease{IssuedAt: start}
	if md, ok := sec.Data["metadata"].(map[string]any); ok {
		if v, ok := md["version"].(json.Number); ok {
			lease.Version = v.String()
		}
	}
	return secrets.NewSecret(fields, lease), nil
}

func (p kvProvider) Renew(context.Context, *secrets.Secret) (*secrets.Secret, error) {
	return nil, secrets.ErrNotRenewable
}

// Lease returns a provider of dynamic credentials: each Issue reads path (or
// writes data to it, when data is not nil, for engines that take
// parameters), such as "database/creds/payments", and the credential's lease
// is renewed through sys/leases/renew. Its fields are the response's data
// (values that are not strings are encoded as JSON). A [secrets.Source]
// renews the lease at about two thirds of its TTL and issues a new
// credential before the lease's maximum TTL, or when Vault refuses the
// renewal (a lease revoked out of band).
//
// Vault revokes a lease with the token that issued it: the provider is a
// [secrets.Invalidator] whose channel is closed when the Client logs in again
// (before its token's maximum TTL, or after the token was revoked), and a
// Source issues a new credential under the new token at once.
func (c *Client) Lease(credPath string, data map[string]any) secrets.Provider {
	return leaseProvider{c: c, path: strings.Trim(credPath, "/"), data: data}
}

type leaseProvider struct {
	c    *Client
	path string
	data map[string]any
}

func (p leaseProvider) Issue(ctx context.Context) (*secrets.Secret, error) {
	start := time.Now()
	what := "read " + p.path
	sec, err := p.c.do(ctx, what, func(a *api.Client) (*api.Secret, error) {
		if p.data != nil {
			return a.Logical().WriteWithContext(ctx, p.path, p.data)
		}
		return a.Logical().ReadWithContext(ctx, p.path)
	})
	if err != nil {
		return nil, err
	}
	if sec == nil {
		return nil, fmt.Errorf("vault: %s: %w: no secret at this path", what, secrets.ErrRefused)
	}
	fields, err := stringFields(sec.Data)
	if err != nil {
		return nil, fmt.Errorf("vault: %s: %w", what, err)
	}
	lease := secrets.Lease{ID: sec.LeaseID, IssuedAt: start, Renewable: sec.Renewable && sec.LeaseID != ""}
	if sec.LeaseDuration > 0 {
		lease.ExpiresAt = start.Add(time.Duration(sec.LeaseDuration) * time.Second)
	}
	return secrets.NewSecret(fields, lease), nil
}

// Invalidated implements [secrets.Invalidator]: the channel is closed when
// the Client's token, under which the credentials were issued, is replaced.
func (p leaseProvider) Invalidated() <-chan struct{} { return p.c.reloggedIn() }

func (p leaseProvider) Renew(ctx context.Context, s *secrets.Secret) (*secrets.Secret, error) {
	lease := s.Lease()
	if !lease.Renewable || lease.ID == "" {
		return nil, secrets.ErrNotRenewable
	}
	start := time.Now()
	sec, err := p.c.do(ctx, "renew lease of "+p.path, func(a *api.Client) (*api.Secret, error) {
		return a.Sys().RenewWithContext(ctx, lease.ID, int(lease.TTL().Seconds()))
	})
	if err != nil {
		return nil, err
	}
	if sec == nil || sec.LeaseDuration <= 0 {
		return nil, fmt.Errorf("vault: renew lease of %s: %w: no lease in the answer", p.path, secrets.ErrNotRenewable)
	}
	next := lease
	next.IssuedAt = start
	next.ExpiresAt = start.Add(time.Duration(sec.LeaseDuration) * time.Second)
	next.Renewable = sec.Renewable
	return s.WithLease(next), nil
}

// stringFields returns data with every value as a string: strings as they
// are, numbers and booleans in their JSON form, objects and arrays as JSON.
func stringFields(data map[string]any) (map[string]string, error) {
	out := make(map[string]string, len(data))
	for k, v := range data {
		switch v := v.(type) {
		case string:
			out[k] = v
		case json.Number:
			out[k] = v.String()
		case bool:
			out[k] = strconv.FormatBool(v)
		case nil:
			out[k] = ""
		default:
			b, err := json.Marshal(v)
			if err != nil {
				// The value is not named: it may be secret.
				return nil, fmt.Errorf("%w: field %q is not representable", secrets.ErrInvalidSecret, k)
			}
			out[k] = string(b)
		}
	}
	return out, nil
}
