// Command server runs a Hearth node: `go run ./server -dev` for a
// single-node development server with printed sign-in links, or
// `go run ./server token -sub u1 -role facilitator` to mint a token. This
// package only wires the internal packages together; see README.md and
// docs/operations.md for the settings.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hearth:", err)
		os.Exit(1)
	}
}
