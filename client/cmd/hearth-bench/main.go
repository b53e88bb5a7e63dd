// Command hearth-bench is Hearth's load generator: it runs the whole real
// path — REST setup, WebSocket connections, joins, messages, fan-out
// across nodes, reconnects with resume — against running server nodes, and
// reports what a user would notice: lost, gapped or duplicated messages,
// and latency. `hearth-bench baseline` runs instead a bare fan-out server
// for benchmarking only (see baseline.go), which the same generator run
// drives unchanged, to compare Hearth with the limit of the socket
// library on the same machine and workload.
//
//	HEARTH_JWT_SECRET=… hearth-bench -url ws://127.0.0.1:8081/ws,ws://127.0.0.1:8082/ws \
//	    -rooms 150 -members 13 -rate 1 -size 200 -warmup 30s -duration 10m -ramp 200 \
//	    -pidfile node1.pid,node2.pid [-json] [-out report.json]
//
// It mints its own tokens with HEARTH_JWT_SECRET (HS256, as `server token`
// does: sub, role, iat, exp, and iss/aud when HEARTH_JWT_ISSUER /
// HEARTH_JWT_AUDIENCE are set), one distinct user per connection. Against
// servers that hold no shared secret (tokens from an identity provider,
// RS256 or ES256 through a JWKS), -tokens FILE gives the tokens instead,
// and HEARTH_JWT_SECRET is neither needed nor used:
//
//	# ROLE TOKEN, one a line; blank lines and # comments are ignored
//	facilitator eyJhbGciOiJSUzI1NiIs…
//	member eyJhbGciOiJSUzI1NiIs…
//
// The run takes the first -rooms facilitator tokens (room i's lead
// facilitator is the i-th) and the first -rooms × -members member tokens
// (room 0's members, then room 1's, …); the rest are ignored. A member's
// user id, for the roster, is its token's sub, read without verifying the
// token (the servers verify it). Every line must be ROLE TOKEN with a
// known role and a JWT carrying sub and exp; the tokens taken must be
// distinct users, enough for the run, and valid until its planned end
// (setup, then warmup, duration and drain for each step): a file that
// fails is refused before anything starts, naming the line. Over the
// REST API each room's facilitator creates the room (no waiting room,
// capacity -members) and puts its members on the roster. Then, at -ramp
// connections per second, each facilitator connects, joins and starts the
// session, and each member connects and joins, accepting the group
// agreement; connections go round-robin across the -url nodes.
//
// Traffic: each room sends -rate messages per second of -size bytes, the
// senders taking turns among its members (the facilitator only listens).
// Each message's text carries its room, sender, the sender's own sequence
// number and its send time. Every connection of the room — the sender's
// own and the facilitator's included — is a receiver: it records the
// latency of live deliveries (one clock: the servers must be on this
// machine), and which messages it got. The first -warmup of traffic is not
// counted; then -duration is measured; then the run waits at most -drain
// for deliveries still in flight, ends the sessions and closes everything.
//
// Modes: steady chat (above); -idle, which connects every connection and
// holds it for -duration without traffic, to measure the servers' memory
// per connection; and -find-max BOUND, which repeats warmup, measurement
// and drain in steps, starting at -rate and raising it ×1.25 each step
// (up to the highest rate -members may send), until a step's p99 latency
// passes BOUND or a delivery is missing, duplicated or late by a
// reconnect, and reports every step and the last rate that held.
//
// Reconnects: a connection that the server closes with a reconnect code
// (1012 when a node restarts, 1013 for a slow reader, 1006 when it drops,
// …) reconnects with backoff — to the next node first after 1012 or 1001
// — and joins again with resume_from, its last epoch and seq. Replayed
// messages count as recovered; a resume that reports a gap (or a new
// epoch) marks what that member missed since the drop as reported.
//
// The report (a table, or JSON with -json; -out also writes the JSON to a
// file) gives connections and connect time, messages sent (confirmed,
// refused by code, unanswered), deliveries expected, received, lost
// (missing and never reported), reported as a gap, duplicated and
// recovered, deliveries per second, latency p50/p90/p99/p99.9/max,
// reconnects by close code, and, for the server processes named by -pid or
// -pidfile (re-read every second, so a restarted node is followed), their
// CPU seconds and peak RSS from /proc, with this process's goroutines and
// RSS and the servers' RSS, threads and CPU at each phase, and their RSS
// growth per connection from before connecting to the end of the
// measurement. hearth-bench exits with status 1 when a delivery was lost
// without a gap report or duplicated, or a member gave up (a final close code or refusal, such as
// 4401: a person would have been put out of the room) — with -find-max,
// when no step held or a member gave up — and 2 for a bad flag.
//
// It refuses URLs that are not on a loopback address unless -allow-remote
// is given; every count and duration is bounded (see -h), and the run stops
// by itself. Ctrl-C stops it early and cleanly: traffic stops, deliveries
// in flight get a few seconds, sessions are ended, connections closed, and
// the report (marked interrupted) is printed; a second Ctrl-C kills it.
// It never prints tokens or message text.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "hearth-bench:", err, "(see hearth-bench -h)")
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "hearth-bench:", err)
		os.Exit(1)
	}
}

// run runs hearth-bench with args (without the program name), reading the
// environment through getenv, printing the report on stdout and progress
// and warnings on stderr. It returns errLoss after printing a report that
// shows lost or duplicated deliveries or members who gave up (with
// -find-max: when no step held), a usage error (wrapping errUsage or
// flag.ErrHelp), or an error that stopped the run before it measured
// anything. With the first argument "baseline" it runs the baseline
// server instead (runBaseline) until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "baseline" {
		return runBaseline(ctx, args[1:], stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	rep, err := runBench(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if cfg.JSON {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeTable(stdout)
	}
	if err != nil {
		return err
	}
	if cfg.Out != "" {
		f, err := os.Create(cfg.Out)
		if err != nil {
			return fmt.Errorf("-out: %w", err)
		}
		werr := rep.writeJSON(f)
		if err := errors.Join(werr, f.Close()); err != nil {
			return fmt.Errorf("-out: %w", err)
		}
	}
	if rep.failed() {
		return errLoss
	}
	return nil
}
