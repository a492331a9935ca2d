package media

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// BenchmarkProcess12MPJPEG processes a 4000x3000 camera-like JPEG (noisy
// gradients, 4:2:0, quality 90, EXIF with GPS) per iteration: upright (the
// lossless strip, a decode and the preview) and with EXIF Orientation 6
// (decode, rotate in place, re-encode, preview).
//
// After the timed loop it processes the file once more while sampling the
// heap every millisecond and reports the peak as peak-heap-MiB: the most
// heap (live objects plus garbage not yet swept, runtime/metrics
// /memory/classes/heap/objects:bytes, the same figure as
// MemStats.HeapAlloc) held above what was held before the run began. The
// sampling could miss a spike shorter than a millisecond; the big buffers
// (decoded planes, scaled copies) live far longer than that.
//
//	go test ./web/media -run '^$' -bench Process12MPJPEG -benchmem -count 6
func BenchmarkProcess12MPJPEG(b *testing.B) {
	photo := encodeTestJPEG(b, noisyGradient(4000, 3000, 12))
	for _, o := range []int{1, 6} {
		b.Run(fmt.Sprintf("orientation=%d", o), func(b *testing.B) {
			in := withSegments(photo, jpegSegment(markerAPP1, buildEXIF(binary.BigEndian, o)))
			path := filepath.Join(b.TempDir(), "photo.jpg")
			if err := os.WriteFile(path, in, 0o600); err != nil {
				b.Fatal(err)
			}
			tmpDir := b.TempDir()
			run := func() {
				p, err := Process(b.Context(), path, Limits{}, tmpDir)
				if err != nil {
					b.Fatal(err)
				}
				p.Cleanup()
			}
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				run()
			}
			b.ReportMetric(float64(peakHeap(run))/(1<<20), "peak-heap-MiB")
		})
	}
}

// peakHeap runs f once and returns the largest number of heap bytes in
// objects seen while it ran, less those in use before it started (after a
// collection).
func peakHeap(f func()) uint64 {
	const name = "/memory/classes/heap/objects:bytes"
	runtime.GC()
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		s := []metrics.Sample{{Name: name}}
		var max uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > max {
				max = v
			}
			select {
			case <-done:
				peak <- max
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	p := <-peak
	if p < base {
		return 0
	}
	return p - base
}
