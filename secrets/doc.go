// Package secrets gives a service short-lived credentials instead of static
// ones: a database password, an API key or a Vault token is issued by a
// backend, kept in memory, renewed before it expires and replaced before its
// lease ends, with the service told of each replacement while the old
// credential still works.
//
// A [Provider] issues and renews one kind of credential. Package
// secrets/vault has providers for HashiCorp Vault and OpenBao (logins with
// the workload's SPIFFE identity, KV, dynamic leases, Transit signing keys);
// [Static] and [Memory] are in-process providers for demos and for tests that
// need no server. A [Source] drives a provider:
//
//	src, err := secrets.NewSource(ctx, "payments-db", provider,
//		secrets.WithLogger(logger), secrets.WithMeterProvider(mp))
//	defer src.Close()
//	src.OnRotate(func(s *secrets.Secret) { pool.SwitchTo(s) })
//
//	// On the request path: an atomic load, no round trip.
//	cred, err := src.Current()
//	password, _ := cred.Reveal("password")
//
// # Lifecycle
//
// A Source renews a renewable lease at a random point between 60% and 70% of
// its lifetime; issues a new credential when the lease is not renewable, when
// the backend refuses the renewal ([ErrRefused], such as a lease revoked out
// of band), when a renewal comes back shorter than the lease it extends (the
// maximum TTL is near), or when its provider, an [Invalidator], reports that
// the credential will end before its lease does (a Vault dynamic credential
// whose token was replaced); and issues a credential that does not expire
// again every [WithRefresh] interval. Near the maximum TTL, the new
// credential is issued when 30% to 40% of a full lifetime is left (or at once
// when less is), so that the old one stays valid beside it as long as it can. A new credential with a different value is a
// rotation: the [Source.OnRotate] functions get it.
//
// Lifetimes are counted on the local monotonic clock from the moment each
// request was sent, using the relative TTL the backend grants, never its
// wall-clock expiry time: a clock that differs from the backend's, or that
// jumps, shortens or lengthens nothing.
//
// # When the backend is down
//
// While the backend is unavailable ([ErrUnavailable]: a network failure, a
// 5xx answer, a sealed Vault) a Source keeps serving the credential it has,
// retrying with exponential backoff and jitter ([WithBackoff]). When that
// credential expires with no replacement, [Source.Current] fails closed with
// an error matching [ErrExpired] and the cause of the last failure; the Source
// keeps trying and recovers by itself when the backend answers again. A call
// to a backend that does not answer at all is abandoned when the credential
// it would renew or replace expires, so that Current fails closed on time.
//
// # Secrets stay secret
//
// A [Secret] prints as [REDACTED] through fmt (every verb), slog and
// encoding/json; its values are reachable only through [Secret.Reveal]. Log
// records and error messages carry the source's name, the lease's version and
// expiry and the cause of a failure, never a value.
//
// # Telemetry
//
// A Source logs issues and rotations at Info, renewals at Debug, failures at
// Warn and an expiry with no replacement at Error ([WithLogger]). It records,
// through [WithMeterProvider], under the scope github.com/ztkit/ztkit/secrets:
//
//   - ztkit.secrets.issued, an Int64Counter of credentials issued (logins,
//     reads, new leases);
//   - ztkit.secrets.renewed, an Int64Counter of leases renewed;
//   - ztkit.secrets.failures, an Int64Counter of failed issues and renewals,
//     expiries with no replacement and panicking rotation callbacks, with
//     ztkit.secrets.operation (issue, renew, expire, callback) and
//     ztkit.secrets.cause (unavailable, refused, not_renewable, invalid,
//     expired, panic, canceled, error);
//   - ztkit.secrets.expiry, a Float64ObservableGauge of the seconds until the
//     current credential expires (0 once it has), absent for credentials that
//     do not expire.
//
// Every metric carries ztkit.secrets.name, the name given to [NewSource]; the
// other attributes come from the fixed sets above, so cardinality is bounded
// by the number of sources a service configures.
package secrets
