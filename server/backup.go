package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hearth/internal/node"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"hearth/internal/store"
)

// backupLockWait is how long `hearth backup` waits for the data file's lock
// before concluding that a server holds it.
const backupLockWait = 2 * time.Second

// runBackup implements `hearth backup -out FILE [-data DIR]`: with the
// server stopped, it writes a compacted copy of DIR/hearth.db (live data
// only: freed pages, which may still hold deleted names or ids, are not
// copied) to FILE, created with mode 0600, and checks the copy. It never
// overwrites FILE. While a server holds the data file it fails, wrapping
// store.ErrInUse, after backupLockWait: bbolt cannot be copied consistently
// from outside the process that writes it.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	flags := flag.NewFlagSet("backup", flag.ContinueOnError)
	flags.SetOutput(stdout)
	dataDir := getenv("HEARTH_DATA_DIR")
	if dataDir == "" {
		dataDir = settingDefault("HEARTH_DATA_DIR")
	}
	flags.StringVar(&dataDir, "data", dataDir, "directory of the embedded store ($HEARTH_DATA_DIR)")
	out := flags.String("out", "", "file to write the copy to; must not exist (required)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // the usage is printed
		}
		return fmt.Errorf("backup: %w", err)
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("backup: unexpected argument %q", flags.Arg(0))
	}
	if *out == "" {
		return errors.New("backup: -out must name the file to write the copy to")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	src := filepath.Join(dataDir, node.DataFile)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup: no data file at %s: %w", src, err)
	}
	sdb, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true, Timeout: backupLockWait})
	if errors.Is(err, bolt.ErrTimeout) {
		return fmt.Errorf("backup: %s: %w; stop the server first", src, store.ErrInUse)
	}
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", src, err)
	}
	defer sdb.Close()

	// Create the copy exclusively (never replacing a file), then let bbolt
	// open it: an empty file is initialized as a new database.
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("backup: %s already exists; choose a new file", *out)
	}
	if err != nil {
		return fmt.Errorf("backup: create %s: %w", *out, err)
	}
	_ = f.Close()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(*out)
		}
	}()
	ddb, err := bolt.Open(*out, 0o600, &bolt.Options{Timeout: backupLockWait})
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", *out, err)
	}
	if err := bolt.Compact(ddb, sdb, 0); err != nil {
		_ = ddb.Close()
		return fmt.Errorf("backup: copy %s to %s: %w", src, *out, err)
	}
	var checkErr error
	_ = ddb.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			checkErr = errors.Join(checkErr, e)
		}
		return nil
	})
	if err := errors.Join(checkErr, ddb.Close()); err != nil {
		return fmt.Errorf("backup: the copy %s failed its check: %w", *out, err)
	}
	ok = true
	_, err = fmt.Fprintf(stdout, "backed up %s to %s\n", src, *out)
	return err
}
