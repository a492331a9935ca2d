package storage

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const crashChildEnv = "RHIZOME_CRASH_CHILD_DB"

// TestCrashChild is the child of TestCrash_killedWriterLosesNothing: it
// writes accounts from several goroutines through Batch, forever, and
// prints each account's ID once its write has returned success.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("runs only as the child of TestCrash_killedWriterLosesNothing")
	}
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Println("open error:", err)
		os.Exit(2)
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				a := testAccount(s, fmt.Sprintf("p%d_w%d_%d", os.Getpid(), w, i), "crash.test")
				if err := s.Batch(context.Background(), func(tx *Tx) error { return tx.CreateAccount(a) }); err != nil {
					out.Lock()
					fmt.Println("write error:", err)
					out.Unlock()
					os.Exit(3)
				}
				out.Lock()
				fmt.Printf("committed %d\n", a.ID)
				out.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrash_killedWriterLosesNothing kills a writing child process with
// SIGKILL at several moments and checks that every write it reported as
// committed is in the file, and that the file is consistent.
func TestCrash_killedWriterLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	path := filepath.Join(t.TempDir(), "rhizome.db")
	var committed []ID
	for round, killAfter := range []int{1, 50, 400} {
		ids := runAndKill(t, path, killAfter)
		committed = append(committed, ids...)
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		if err := s.Check(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		missing := 0
		if err := s.View(func(tx *Tx) error {
			for _, id := range committed {
				if _, err := tx.Account(id); err != nil {
					missing++
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if missing > 0 {
			t.Fatalf("round %d: %d of %d acknowledged writes lost", round, missing, len(committed))
		}
		t.Logf("round %d: killed after %d acknowledged writes; all %d so far present", round, len(ids), len(committed))
	}
}

// runAndKill starts the child, waits until it has acknowledged killAfter
// writes, kills it with SIGKILL and returns every ID it acknowledged.
func runAndKill(t *testing.T, path string, killAfter int) []ID {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second) // hang guard only
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ids []ID
	scanner := bufio.NewScanner(stdout)
	killed := false
	for scanner.Scan() {
		line := scanner.Text()
		if rest, ok := strings.CutPrefix(line, "committed "); ok {
			id, err := ParseID(rest)
			if err != nil {
				t.Fatalf("child printed %q", line)
			}
			ids = append(ids, id)
			if !killed && len(ids) >= killAfter {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
			continue
		}
		if strings.Contains(line, "error") {
			t.Fatalf("child: %s", line)
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before it was killed: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("child did not die in time")
	}
	return ids
}
