package grpccreds_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/ztkit/ztkit/internal/grpccreds"
)

type info credentials.SecurityLevel

func (info) AuthType() string { return "test" }
func (i info) GetCommonAuthInfo() credentials.CommonAuthInfo {
	return credentials.CommonAuthInfo{SecurityLevel: credentials.SecurityLevel(i)}
}

// TestCheck: only a call with request info on a connection with privacy and
// integrity, and without the keys in its outgoing metadata, gets a credential.
func TestCheck(t *testing.T) {
	withInfo := func(ai credentials.AuthInfo) context.Context {
		return credentials.NewContextWithRequestInfo(context.Background(), credentials.RequestInfo{Method: "/s/m", AuthInfo: ai})
	}
	secure := withInfo(info(credentials.PrivacyAndIntegrity))
	cases := []struct {
		name string
		ctx  context.Context
		want grpccreds.Refusal
	}{
		{"secure", secure, grpccreds.None},
		{"other outgoing metadata", metadata.AppendToOutgoingContext(secure, "x-request-id", "1"), grpccreds.None},
		{"no request info", context.Background(), grpccreds.Insecure},
		{"no auth info", withInfo(nil), grpccreds.Insecure},
		{"no security", withInfo(info(credentials.NoSecurity)), grpccreds.Insecure},
		{"integrity only", withInfo(info(credentials.IntegrityOnly)), grpccreds.Insecure},
		{"key present", metadata.AppendToOutgoingContext(secure, "authorization", "x"), grpccreds.Conflict},
		{"key present in other case", metadata.AppendToOutgoingContext(secure, "DPoP", "x"), grpccreds.Conflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, got := grpccreds.Check(tc.ctx, "authorization", "dpop")
			assert.Equal(t, tc.want, got)
		})
	}
	ri, _ := grpccreds.Check(secure)
	assert.Equal(t, "/s/m", ri.Method)
}
