package vault

import (
	"context"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/ztkit/ztkit/secrets"
)

// AppRole returns the AppRole login (auth method "approle" mounted at mount,
// "approle" by default) for services not yet on SPIFFE: the role ID and a
// secret ID. The secret ID is itself a secret: pass it from a
// [secrets.Source] or a file the platform delivers, never from code.
func AppRole(mount, roleID string, secretID *secrets.Secret) (api.AuthMethod, error) {
	switch {
	case roleID == "":
		return nil, &ConfigError{Func: "AppRole", Arg: "roleID", Reason: "is empty"}
	case secretID == nil:
		return nil, &ConfigError{Func: "AppRole", Arg: "secretID", Reason: "is nil"}
	}
	if id, ok := secretID.Reveal("secret_id"); !ok || id == "" {
		return nil, &ConfigError{Func: "AppRole", Arg: "secretID", Reason: "has no secret_id field"}
	}
	return appRole{mount: mountOr(mount, "approle"), roleID: roleID, secretID: secretID}, nil
}

type appRole struct {
	mount, roleID string
	secretID      *secrets.Secret
}

func (l appRole) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	id, _ := l.secretID.Reveal("secret_id")
	return c.Logical().WriteWithContext(ctx, "auth/"+l.mount+"/login", map[string]any{
		"role_id":   l.roleID,
		"secret_id": id,
	})
}

func mountOr(mount, def string) string {
	if m := strings.Trim(mount, "/"); m != "" {
		return m
	}
	return def
}
