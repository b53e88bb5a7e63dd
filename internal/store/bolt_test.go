package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A second opener of the same file gets a clear error after the lock
// timeout instead of hanging; once the first closes, it opens.
func TestBoltFileInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	first, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	second, err := OpenBolt(path)
	if err == nil {
		_ = second.Close()
		_ = first.Close()
		t.Fatal("second OpenBolt of a held file succeeded")
	}
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "in use by another Hearth process") {
		t.Errorf("err = %v, want ErrInUse", err)
	}
	if d := time.Since(start); d < boltOpenTimeout/2 || d > boltOpenTimeout+3*time.Second {
		t.Errorf("gave up after %v, want about %v", d, boltOpenTimeout)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	again, err := OpenBolt(path)
	if err != nil {
		t.Fatalf("OpenBolt after Close: %v", err)
	}
	_ = again.Close()
}

// The data directory and file are private to the Hearth user.
func TestBoltPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "hearth")
	path := filepath.Join(dir, "hearth.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700}, {path, 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&^c.want != 0 { // the umask may only take away
			t.Errorf("%s mode = %v, want at most %v", c.path, got, c.want)
		}
	}
}

func TestBoltOpenError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := OpenBolt(filepath.Join(file, "hearth.db")); err == nil {
		_ = s.Close()
		t.Fatal("OpenBolt under a regular file succeeded")
	}
}
