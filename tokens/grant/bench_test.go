package grant_test

import (
	"context"
	"testing"
	"time"

	"github.com/ztkit/ztkit/tokens/grant"
)

// The cached path every request takes: a lock, a clock read and a compare.
func BenchmarkSourceAccessToken(b *testing.B) {
	now := time.Now()
	s, err := grant.NewSource(grant.FetcherFunc(func(context.Context) (*grant.Token, error) {
		return &grant.Token{AccessToken: "t", TokenType: grant.TokenTypeDPoP, IssuedAt: now, Expiry: now.Add(time.Hour)}, nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.AccessToken(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = s.AccessToken(ctx)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = s.AccessToken(ctx)
			}
		})
	})
}
