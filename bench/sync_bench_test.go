package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/mlsync"
)

// BenchmarkSyncPush is the client side of the driver's Y1 and Y2 with no
// server: mlsync.Push of the generated tree into a file store, the first
// push (dst=filestore/push=first: every point read, hashed and written) and
// a push with nothing changed (push=unchanged: every history read and
// hashed against its watermark, nothing sent). Against a server the
// first push is the server's time; this is what ours would cost without it.
// MLRUNS_BENCH_SYNC_STEPS sets the steps per key (default 5000: the
// driver's 20 runs x 20 keys x 5,000 steps).
func BenchmarkSyncPush(b *testing.B) {
	y := newSizes(1, false).sync
	if v := os.Getenv("MLRUNS_BENCH_SYNC_STEPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("MLRUNS_BENCH_SYNC_STEPS=%q: want a positive integer", v)
		}
		y.steps = n
	}
	d := &driver{tmp: b.TempDir(), sz: sizes{batchSize: 1000}}
	root, _, err := d.makeSyncTree(y)
	if err != nil {
		b.Fatal(err)
	}
	src, err := filestore.Open(root, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	// push pushes the tree into the file store at dir, checking that a first
	// push sends every point and a later one nothing.
	push := func(b *testing.B, dir string, first bool) {
		dst, err := filestore.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer dst.Close()
		rep, err := mlsync.Push(context.Background(), src, dst, mlsync.Options{Root: root, Target: dir})
		if err != nil {
			b.Fatal(err)
		}
		want := int64(0)
		if first {
			want = int64(y.points())
		}
		if !rep.Complete() || rep.Points() != want || (!first && rep.Requests != 0) {
			b.Fatalf("push (first %v): complete %v, %d points (want %d), %d requests", first, rep.Complete(), rep.Points(), want, rep.Requests)
		}
	}
	b.Run("dst=filestore/push=first", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dir := filepath.Join(b.TempDir(), "dst")
			b.StartTimer()
			push(b, dir, true)
		}
		reportPoints(b, b.N*y.points())
	})
	b.Run("dst=filestore/push=unchanged", func(b *testing.B) {
		dir := filepath.Join(b.TempDir(), "dst")
		push(b, dir, true)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			push(b, dir, false)
		}
		reportPoints(b, b.N*y.points())
	})
}
