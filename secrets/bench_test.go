package secrets_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/ztkit/ztkit/secrets"
)

// BenchmarkCurrent is the cost a request pays for its credential: an atomic
// load. bench/ compares it with a Vault read per use and a mutex-guarded cache.
func BenchmarkCurrent(b *testing.B) {
	src, err := secrets.NewSource(context.Background(), "bench", secrets.Static(map[string]string{"k": "v"}))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := src.Current(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		// 16 goroutines, whatever GOMAXPROCS is.
		b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := src.Current(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
