package secret

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkLocalSealOpen measures one Seal and one Open, the cost of storing
// and then using a secret with the local sealer (for docs/performance.md).
// The KMS sealer adds one GenerateDataKey per Seal and one Decrypt per
// uncached Open on top of this.
func BenchmarkLocalSealOpen(b *testing.B) {
	ctx := context.Background()
	l := newTestLocal(b)
	for _, size := range []int{32, 4096} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			plaintext := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			ops := 0
			for b.Loop() {
				blob, err := l.Seal(ctx, plaintext, testAAD)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := l.Open(ctx, blob, testAAD); err != nil {
					b.Fatal(err)
				}
				ops++
			}
			b.ReportMetric(float64(ops)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkKMSOpenCached is the warm-Lambda path: the data key is cached, so
// Open is a map lookup and one AES-GCM decryption.
func BenchmarkKMSOpenCached(b *testing.B) {
	ctx := context.Background()
	k, _ := newTestKMS(b)
	blob, err := k.Seal(ctx, make([]byte, 32), testAAD)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(ctx, blob, testAAD); err != nil {
			b.Fatal(err)
		}
	}
}
