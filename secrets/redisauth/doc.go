// Package redisauth authenticates go-redis v9 clients with a credential kept
// fresh by a [secrets.Source], such as a dynamic Redis user issued by Vault's
// or OpenBao's database engine, so that a service holds no static Redis
// password and switches to each new credential with no failed command.
//
// A [Provider] implements go-redis's [auth.StreamingCredentialsProvider]:
// every connection the client opens authenticates with the Source's current
// credential, and on every rotation ([secrets.Source.OnRotate]) go-redis
// re-authenticates each pooled connection with the new credential (AUTH
// username password) while the one it replaces is still valid, as soon as the
// connection is idle. A connection therefore never has to be closed, nor a
// command retried, because its credential was rotated.
//
//	src, err := secrets.NewSource(ctx, "cache", vaultClient.Lease("database/creds/cache", nil))
//	if err != nil {
//		return err
//	}
//	defer src.Close()
//	creds, err := redisauth.New(src)
//	if err != nil {
//		return err
//	}
//	defer creds.Close()
//	client := redis.NewClient(&redis.Options{
//		Addr:                         "redis:6379",
//		StreamingCredentialsProvider: creds,
//	})
//	defer client.Close()
//
// The credential's fields are "username" and "password" by default, the
// names Vault's database engine uses; [WithUsernameField] and
// [WithPasswordField] change them, and WithUsernameField("") authenticates
// with the password alone (a server protected by requirepass).
//
// [Provider.Credentials] has the signature of go-redis's
// Options.CredentialsProviderContext, for code that can pass only that
// function: new connections then authenticate with the current credential,
// but connections already open keep the one they had until they are closed,
// and fail when the server deletes that user. Prefer the streaming form,
// which every go-redis client's options take (single server, Sentinel,
// Cluster, Ring, Universal).
//
// # What go-redis does on a rotation
//
// go-redis marks every connection of the pool; each is re-authenticated by a
// background worker as soon as it is idle, and serves no command meanwhile.
// While connections wait, the pool may open short-lived extra connections,
// which authenticate with the new credential; a connection go-redis cannot
// re-authenticate within its PoolTimeout is closed and replaced. No command
// fails because of a rotation, provided the old credential stays valid for a
// moment after it: a Source rotates at about two thirds of a lease, and Vault
// deletes a database user only when its lease ends. Use go-redis v9.23.0 or
// later: earlier versions race on the client's close hooks when connections
// open concurrently, keep a closure per connection ever opened, and could
// miss the moment a connection goes idle and leave it unusable until
// PoolTimeout.
//
// # Fail closed
//
// When the Source has no valid credential (it expired with no replacement, or
// the Source was closed), a new connection is refused with a
// [*CredentialsError] that matches the Source's error ([secrets.ErrExpired],
// [secrets.ErrClosed]) with errors.Is; a credential that lacks a field, or
// whose field is empty, is refused the same way, matching
// [secrets.ErrInvalidSecret]. The provider never hands go-redis empty
// credentials, so a connection never falls back to Redis's default user.
//
// # Secrets stay secret
//
// The credentials a Provider gives go-redis print, log and marshal as
// [REDACTED]; errors name the Source and the field, never a value. go-redis
// sends the password to Redis in HELLO and AUTH commands, which pass through
// the client's hooks: an instrumentation hook that records command arguments
// must redact those commands.
package redisauth
