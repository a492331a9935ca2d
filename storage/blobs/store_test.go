package blobs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// newTestStore opens a store in a fresh folder and checks at the end that
// no temp file was left behind.
func newTestStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "media")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if left := listTemp(t, dir); len(left) != 0 {
			t.Errorf("temp files left behind: %v", left)
		}
	})
	return s, dir
}

func listTemp(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, tmpDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func hashOf(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

// stored lists the store's blobs as hash → size.
func stored(t *testing.T, s *Store) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	if err := s.Walk(func(b Blob, _ time.Time) error { got[b.Hash] = b.Size; return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

func put(t *testing.T, s *Store, content string) Blob {
	t.Helper()
	b, err := s.Put(strings.NewReader(content), 0)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Join(dir, tmpDir)} {
		info, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if !info.IsDir() || info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, want a folder closed to group and others", d, info.Mode())
		}
	}
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file); err == nil {
		t.Error("Open on a regular file succeeded")
	}
}

func TestPut_roundTrip(t *testing.T) {
	s, dir := newTestStore(t)
	tests := []struct{ name, content string }{
		{"empty", ""},
		{"text", "hello, fediverse"},
		{"binary", string(bytes.Repeat([]byte{0, 0xff, 7}, 100_000))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := put(t, s, tt.content)
			want := Blob{Hash: hashOf(tt.content), Size: int64(len(tt.content))}
			if b != want {
				t.Fatalf("Put = %+v, want %+v", b, want)
			}
			if _, err := os.Stat(filepath.Join(dir, b.Hash[:2], b.Hash[2:4], b.Hash)); err != nil {
				t.Errorf("blob not at ab/cd/<hash>: %v", err)
			}
			f, err := s.Open(b.Hash)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(f)
			f.Close()
			if err != nil || string(got) != tt.content {
				t.Errorf("Open read %d bytes, %v; want the %d put", len(got), err, len(tt.content))
			}
			if st, err := s.Stat(b.Hash); err != nil || st.Hash != want.Hash || st.Size != want.Size || time.Since(st.ModTime) > time.Minute {
				t.Errorf("Stat = %+v, %v; want %+v written just now", st, err, want)
			}
		})
	}
}

func TestPut_dedup(t *testing.T) {
	s, _ := newTestStore(t)
	a := put(t, s, "same")
	path := s.path(a.Hash)
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	b := put(t, s, "same")
	if a != b {
		t.Errorf("second Put = %+v, want %+v", b, a)
	}
	if got := stored(t, s); len(got) != 1 || got[a.Hash] != 4 {
		t.Errorf("stored = %v, want one 4-byte blob", got)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !info.ModTime().After(old.Add(24 * time.Hour)) {
		t.Errorf("Put of stored content kept modification time %v", info.ModTime())
	}
}

// A damaged copy (wrong size) is replaced, not trusted.
func TestPut_replacesTruncated(t *testing.T) {
	s, _ := newTestStore(t)
	b := put(t, s, "complete content")
	if err := os.Truncate(s.path(b.Hash), 3); err != nil {
		t.Fatal(err)
	}
	put(t, s, "complete content")
	if st, err := s.Stat(b.Hash); err != nil || st.Size != b.Size {
		t.Errorf("Stat after re-Put = %+v, %v; want size %d", st, err, b.Size)
	}
}

func TestPut_limit(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		max    int64
		tooBig bool
	}{
		{"under", 9, 10, false},
		{"at", 10, 10, false},
		{"one over", 11, 10, true},
		{"far over", 1 << 20, 10, true},
		{"no limit", 1 << 20, 0, false},
		{"negative is no limit", 100, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t)
			content := strings.Repeat("x", tt.size)
			b, err := s.Put(strings.NewReader(content), tt.max)
			if tt.tooBig {
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("Put = %+v, %v; want ErrTooLarge", b, err)
				}
				if got := stored(t, s); len(got) != 0 {
					t.Errorf("stored after ErrTooLarge: %v", got)
				}
				if _, err := s.Stat(hashOf(content)); !errors.Is(err, ErrNotFound) {
					t.Errorf("Stat after ErrTooLarge = %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil || b.Size != int64(tt.size) {
				t.Fatalf("Put = %+v, %v; want size %d", b, err, tt.size)
			}
		})
	}
}

func TestPut_readError(t *testing.T) {
	s, _ := newTestStore(t)
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(boom))
	if _, err := s.Put(r, 0); !errors.Is(err, boom) {
		t.Errorf("Put = %v, want the reader's error", err)
	}
	if got := stored(t, s); len(got) != 0 {
		t.Errorf("stored after a read error: %v", got)
	}
}

func TestInvalidHash(t *testing.T) {
	s, _ := newTestStore(t)
	valid := put(t, s, "x").Hash
	tests := []string{
		"",
		"../x",
		"../../etc/passwd",
		strings.ToUpper(valid),
		valid[:63],
		valid + "0",
		valid[:62] + "/x",
		"ab/cd/" + valid[6:],
		strings.Repeat("g", 64),
		valid[:63] + "\x00",
	}
	for _, h := range tests {
		t.Run(fmt.Sprintf("%q", h), func(t *testing.T) {
			if f, err := s.Open(h); !errors.Is(err, ErrInvalidHash) {
				if f != nil {
					f.Close()
				}
				t.Errorf("Open = %v, want ErrInvalidHash", err)
			}
			if _, err := s.Stat(h); !errors.Is(err, ErrInvalidHash) {
				t.Errorf("Stat = %v, want ErrInvalidHash", err)
			}
			if err := s.Remove(h); !errors.Is(err, ErrInvalidHash) {
				t.Errorf("Remove = %v, want ErrInvalidHash", err)
			}
		})
	}
	if _, err := s.Stat(valid); err != nil {
		t.Errorf("a valid blob was touched: %v", err)
	}
}

func TestRemove(t *testing.T) {
	s, _ := newTestStore(t)
	keep, gone := put(t, s, "keep"), put(t, s, "gone")
	if err := s.Remove(gone.Hash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(gone.Hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open after Remove = %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(gone.Hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat after Remove = %v, want ErrNotFound", err)
	}
	if err := s.Remove(gone.Hash); err != nil {
		t.Errorf("second Remove = %v, want nil", err)
	}
	if err := s.Remove(hashOf("never stored")); err != nil {
		t.Errorf("Remove of an absent blob = %v, want nil", err)
	}
	if got := stored(t, s); len(got) != 1 || got[keep.Hash] != keep.Size {
		t.Errorf("stored = %v, want only %s", got, keep.Hash)
	}
}

func TestWalk(t *testing.T) {
	s, dir := newTestStore(t)
	want := map[string]int64{}
	for i := range 50 {
		b := put(t, s, strings.Repeat("w", i))
		want[b.Hash] = b.Size
	}
	// Things that are not blobs.
	tmp, err := s.TempFile()
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	some := hashOf("")
	shard := filepath.Join(dir, some[:2], some[2:4])
	for _, p := range []string{
		filepath.Join(dir, "README"),
		filepath.Join(shard, "notes.txt"),
		filepath.Join(shard, hashOf("misplaced")), // hash that does not match its shard
		filepath.Join(dir, "AB", "CD", strings.ToUpper(hashOf("upper"))),
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("stray"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	var order []string
	got := map[string]int64{}
	err = s.Walk(func(b Blob, mod time.Time) error {
		if mod.IsZero() {
			t.Errorf("%s: zero modification time", b.Hash)
		}
		order = append(order, b.Hash)
		got[b.Hash] = b.Size
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != len(want) || !slices.IsSorted(order) {
		t.Errorf("Walk visited %d blobs (sorted: %v), want %d in hash order", len(order), slices.IsSorted(order), len(want))
	}
	for h, size := range want {
		if got[h] != size {
			t.Errorf("Walk: %s has size %d, want %d", h, got[h], size)
		}
	}
	for h := range got {
		if _, ok := want[h]; !ok {
			t.Errorf("Walk reported %s, which was never put", h)
		}
	}

	t.Run("stop", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		if err := s.Walk(func(Blob, time.Time) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
			t.Errorf("Walk = %v after %d calls, want stop after 1", err, n)
		}
		n = 0
		if err := s.Walk(func(Blob, time.Time) error { n++; return fs.SkipAll }); err != nil || n != 1 {
			t.Errorf("Walk with SkipAll = %v after %d calls, want nil after 1", err, n)
		}
	})
}

func TestOpen_removesStaleTemp(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := s.TempFile()
	if err != nil {
		t.Fatal(err)
	}
	stale.Close()
	fresh, err := s.TempFile()
	if err != nil {
		t.Fatal(err)
	}
	fresh.Close()
	long := time.Now().Add(-staleAfter - time.Minute)
	if err := os.Chtimes(stale.Name(), long, long); err != nil {
		t.Fatal(err)
	}
	blob := put(t, s, "stays")
	old := time.Now().Add(-30 * 24 * time.Hour)
	if err := os.Chtimes(s.path(blob.Hash), old, old); err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp file still there: %v", err)
	}
	if _, err := os.Stat(fresh.Name()); err != nil {
		t.Errorf("fresh temp file removed: %v", err)
	}
	if _, err := s.Stat(blob.Hash); err != nil {
		t.Errorf("old blob removed by the temp cleanup: %v", err)
	}
}

func TestTempFile(t *testing.T) {
	s, dir := newTestStore(t)
	f, err := s.TempFile()
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	if filepath.Dir(f.Name()) != filepath.Join(dir, tmpDir) {
		t.Errorf("TempFile in %s, want %s", filepath.Dir(f.Name()), filepath.Join(dir, tmpDir))
	}
	if _, err := f.WriteString("upload"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, s); len(got) != 0 {
		t.Errorf("a temp file shows as a blob: %v", got)
	}
}

func TestPutFile(t *testing.T) {
	s, _ := newTestStore(t)
	src := filepath.Join(t.TempDir(), "avatar.png")
	if err := os.WriteFile(src, []byte("not really a png"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := s.PutFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if b.Hash != hashOf("not really a png") || b.Size != 16 {
		t.Errorf("PutFile = %+v", b)
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("source file gone: %v", err)
	}
	if _, err := s.PutFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("PutFile of a missing file = %v, want fs.ErrNotExist", err)
	}
}

func TestPut_concurrent(t *testing.T) {
	s, _ := newTestStore(t)
	const writers = 16
	contents := []string{"shared", "shared", "shared", "other"} // writer i puts contents[i%4]
	var wg sync.WaitGroup
	results := make([]Blob, writers)
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			results[i], errs[i] = s.Put(strings.NewReader(contents[i%len(contents)]), 0)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		} else if want := hashOf(contents[i%len(contents)]); results[i].Hash != want {
			t.Errorf("writer %d got %s, want %s", i, results[i].Hash, want)
		}
	}
	want := map[string]int64{hashOf("shared"): 6, hashOf("other"): 5}
	if got := stored(t, s); len(got) != len(want) || got[hashOf("shared")] != 6 || got[hashOf("other")] != 5 {
		t.Errorf("stored = %v, want %v", got, want)
	}
}
