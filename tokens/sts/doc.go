// Package sts is the token endpoint of an internal security token service
// (RFC 6749 §3.2), an [http.Handler] built on ztkit's token issuer and
// verifiers, SPIFFE identities and DPoP.
//
// It serves two grants, and step-up (see below) as a token exchange:
//
//   - Token exchange (RFC 8693) for a workload acting for a subject: the
//     subject_token (the customer's access token, of type access_token or
//     jwt) is verified by the very [tokens.Verifier] the resource servers
//     use; the actor proves who it is with a JWT-SVID as actor_token (of
//     type jwt, with the token service's own audience) or, without one, with
//     its X.509-SVID over mTLS. The actor's [ActorPolicy] says which
//     audience and resource values it may ask for (several may be given) and
//     which scopes it may carry; scopes only narrow, never widen. A subject
//     token with may_act (§4.4) admits only the actor it names. The issued
//     access token keeps the subject's sub, names the actor in act (§4.1)
//     with the subject token's own act chain nested inside, has the actor as
//     client_id, never outlives the subject token, and is bound to the DPoP
//     proof's key (cnf.jkt). Only access tokens are issued
//     (requested_token_type access_token, the default). A subject_token_type
//     of jwt is accepted for a JWT access token (typ at+jwt), the only kind
//     the verifier accepts. A JWT-SVID actor token is not single-use: the
//     Workload API hands a workload the same JWT-SVID until it nears expiry,
//     and the issued token is bound to the caller's own key anyway.
//   - client_credentials (RFC 6749 §4.4) for a workload acting for itself,
//     authenticated by tls_client_auth (RFC 8705 §2.1: client_id in the
//     form, and an X.509-SVID whose SPIFFE ID is the client's registered
//     subject) or private_key_jwt (RFC 7523 §2.2, §3: iss and sub the
//     client_id, aud this server's issuer or token endpoint, exp bounded,
//     jti used once, signed with one of the client's registered keys under
//     an allowed algorithm). The token is bound to the DPoP proof's key or,
//     without a proof over mTLS, to the client certificate (cnf.x5t#S256,
//     RFC 8705 §3).
//
// DPoP (RFC 9449 §5) is required by default ([WithDPoPOptional] relaxes it):
// the proof's htm is POST and its htu the token endpoint URL given to [New],
// never the request's Host. Proofs are kept from replay in a
// [dpop.ReplayStore], which also remembers the jti of client assertions.
// With [WithNonces] the endpoint requires server nonces (§8): a proof without
// a valid one gets a 400 use_dpop_nonce answer and the nonce in DPoP-Nonce.
//
// A minimal service:
//
//	srv, err := sts.New("https://sts.shop.example", "https://sts.shop.example/token", issuer,
//		sts.WithTokenExchange(customerTokens, sts.ActorPolicy{
//			ID: checkoutID, Audiences: []string{"https://payments.shop.example"}, Scopes: []string{"payments:charge"},
//		}),
//		sts.WithJWTSVIDs(bundles, "spiffe://shop.example/sts"),
//		sts.WithX509Bundles(bundles),
//		sts.WithReplayStore(store), sts.WithNonces(nonces))
//	mux.Handle("POST /token", srv)
//	mux.Handle("GET /.well-known/oauth-authorization-server", srv.MetadataHandler())
//
// # Step-up
//
// With [WithStepUp] the endpoint also answers the step-up a resource server
// asks for with an RFC 9470 §3 insufficient_user_authentication challenge:
// the client that holds a user's DPoP-bound access token gets, after the
// user's second factor, a token for the same user at a higher acr. The
// request is a token exchange:
//
//	POST /token
//	DPoP: <proof by the key the subject token is bound to>
//
//	grant_type=urn:ietf:params:oauth:grant-type:token-exchange
//	&subject_token=<the user's current access token>
//	&subject_token_type=urn:ietf:params:oauth:token-type:access_token
//	&acr_values=mfa&max_age=300&otp=123456
//
// A token exchange is a step-up when it carries acr_values, max_age or otp.
// Why a token exchange, and not a grant type of ztkit's own: RFC 8693 is
// the standard way to trade a token for another with other properties for
// the same subject, and its subject_token is exactly the token being
// stepped up; without an actor token it issues a token for the subject
// itself, with no act (the impersonation semantics of RFC 8693 §1.1, here
// for the user's own client). acr_values and max_age are the parameters RFC
// 9470 §4 names for the request that follows a step-up challenge, so the
// challenge maps onto the request one to one; RFC 6749 §8.2 lets a grant
// take further parameters, and otp carries the one-time password (RFC 8176
// amr "otp"; Auth0's MFA grant uses the same name). Clients of RFC 8693 and
// the metadata's grant_types_supported need nothing new, and no private
// grant URI is minted. A private grant type would fail more visibly at a
// server that does not know it (unsupported_grant_type, where an RFC 8693
// server that ignores unknown parameters might answer without a step-up);
// ztkit's server refuses a step-up parameter it was not configured for, and
// a client should check the acr of what it gets where it can.
//
// The request is checked in this order, each refusal an RFC 6749 §5.2
// error: the parameters (no actor_token or client assertion: the holder of
// the token asks; acr_values required, values separated by single spaces;
// max_age a number of seconds; otp required); the subject token, verified
// by the verifier given to WithStepUp, which must be DPoP-bound (cnf.jkt),
// not delegated (no act), unexpired, and of the client_id the request names
// if any; the DPoP proof, which must be made with the subject token's key
// (invalid_grant otherwise: a stolen token without its key can neither be
// stepped up nor used to lock its user out); the attempt bound; the factor,
// verified by the [SecondFactor] (invalid_grant for a wrong code, a code
// used before, or a user without the factor); and the acr the factor
// reaches, which must be one of acr_values (invalid_request otherwise).
//
// The issued token keeps the subject token's sub, client_id, audience,
// scopes (narrowed by scope, audience and resource parameters, never
// widened), roles, groups, entitlements and may_act; its acr is the
// factor's, its amr the subject token's followed by the factor's methods,
// its auth_time the factor's (now); it is bound to the same key and never
// outlives the subject token: a step-up raises the assurance of a session,
// not its length. Any max_age is met by a factor verified now.
//
// Guessing is bounded per subject: every attempt counts as a failure until
// its factor verifies, so concurrent guesses count too, and after
// [DefaultStepUpMaxFailures] failures within [DefaultStepUpWindow]
// ([WithStepUpAttempts]) the subject's attempts are refused with
// invalid_grant until the window has passed. A 6-digit code accepted one
// step either side matches a guess with probability 3 in 10^6: 5 guesses per
// 15 minutes is at most 480 a day, about 1 in 700 a day for an attacker who
// already holds both the user's token and its private key, and who must keep
// getting fresh tokens. Replicas share the bound through an
// [AttemptLimiter] of their own ([WithAttemptLimiter]). Package
// tokens/sts/totp is the TOTP (RFC 6238) SecondFactor, and tokens/grant's
// StepUpper the client.
//
// The TLS configuration of the listener should request client certificates
// (tls.RequestClientCert, or VerifyClientCertIfGiven): the server verifies
// the presented X.509-SVID against the bundles of [WithX509Bundles] itself.
//
// # Errors
//
// Refusals are RFC 6749 §5.2 JSON objects, {"error", "error_description"},
// with Cache-Control: no-store, and never contain a token, an assertion, a
// proof or anything else the client sent. A token exchange refused for its
// request, its subject token or its actor (including may_act) answers
// invalid_request, for an audience or resource invalid_target (RFC 8693
// §2.2.2, RFC 8707 §2), for a scope invalid_scope. A client that fails to
// authenticate gets invalid_client with status 401; when it tried an
// Authorization header (such as client_secret_basic, which this server does
// not support) the 401 carries a WWW-Authenticate challenge of that scheme.
// DPoP proofs that fail are invalid_dpop_proof (RFC 9449 §5). The request
// must be a POST of application/x-www-form-urlencoded with a bounded body,
// no query, and no parameter but audience and resource given twice (RFC
// 6749 §3.1, §3.2).
//
// # Telemetry
//
// [WithLogger] logs every refusal at Info with its grant_type, reason code,
// error code, and the client_id and actor once authenticated, and every
// issued token at Debug; never a token. [WithMeterProvider] records
// ztkit.sts.requests, an Int64Counter (unit "{request}") with attributes
// ztkit.sts.grant_type ("token_exchange", "step_up", "client_credentials", "other"),
// ztkit.sts.outcome ("issued", "refused") and ztkit.sts.reason (a fixed set
// of reason codes, "" when issued).
//
// [Server.MetadataHandler] publishes RFC 8414 metadata so standard clients
// configure themselves.
package sts
