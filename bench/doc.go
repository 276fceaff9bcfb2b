// Package bench measures ztkit's token and DPoP verification against the
// libraries a user would pick instead (golang-jwt, jwx, go-jose), on the same
// tokens and proofs, in the same run. It is a module of its own so that the
// competitors stay out of ztkit's go.mod. See README.md.
package bench
