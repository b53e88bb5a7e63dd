package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Limits of hearth-bench, in one place. They keep a run bounded in count
// and time, and inside what the server accepts.
const (
	// maxRooms bounds -rooms.
	maxRooms = 1000
	// maxMembers bounds -members: a room's capacity is at most 50 members
	// (facilitators not counted), as POST /api/rooms checks.
	maxMembers = 50
	// minMembers: a room needs someone to send and someone else to hear.
	minMembers = 2
	// maxConnections bounds -rooms × (-members + 1), the connections held
	// at once (one facilitator per room): room for the largest workload of
	// docs/performance.md, 1,000 rooms × (10 members + 1).
	maxConnections = 12000
	// maxDuration bounds -duration, and maxWarmup -warmup.
	maxDuration = 2 * time.Hour
	maxWarmup   = 10 * time.Minute
	// maxDrain bounds -drain.
	maxDrain = 5 * time.Minute
	// minSize and maxSize bound -size, in bytes (the text is ASCII, so
	// bytes are code points): room for the header each message carries,
	// and the server's 4000-code-point limit on a message.
	minSize = 64
	maxSize = 4000
	// maxRamp bounds -ramp, in connections per second.
	minRamp = 1 // connections per second: slower, connecting 12,000 would take hours
	maxRamp = 5000
	// serverSendRate is the server's message rate for one user (and so
	// for one connection: each member here is a distinct user), in
	// messages per second: protocol.SendRate, which this command may not
	// import, so it must be kept in step by hand. Senders rotate among a
	// room's members, so each sends -rate/-members per second, evenly
	// spaced; -rate is kept under sendHeadroom of what the members could
	// send together. The server's burst (protocol.SendBurst, 10) absorbs
	// the jitter of sends at 90 % of the rate; 0.9 lets 100 rooms of 10
	// members carry the 45,000 deliveries per second of
	// docs/performance.md's latency workload.
	serverSendRate = 5
	sendHeadroom   = 0.9
	// benchEventBuffer is each connection's client event buffer
	// (client.Options.EventBuffer): every member drains its events at once,
	// so 64 slots (about 28 KiB) carry any burst the servers send, where
	// the client's default 1,024 (about 450 KiB) made 11,000 connections
	// cost the generator about 5 GiB. The client drops nothing when it is
	// full; it waits.
	benchEventBuffer = 64
	// maxProgress bounds -progress.
	maxProgress = time.Hour
	// minFindMax and maxFindMax bound -find-max, the p99 latency a step
	// may reach and still hold.
	minFindMax = time.Millisecond
	maxFindMax = 10 * time.Second
	// findMaxFactor is how much each -find-max step raises the rate, up to
	// the highest rate -rate allows (rateCap).
	findMaxFactor = 1.25
	// maxFindMaxSteps bounds the steps of -find-max.
	maxFindMaxSteps = 30
	// findMaxSkipShare is the share of a step's measured ticks that may be
	// skipped (every sender of the room still waiting for its last
	// answer) for the step to hold.
	findMaxSkipShare = 0.01
)

// config is a validated set of flags.
type config struct {
	URLs        []string      // WebSocket URLs of the nodes, ws://host:port/ws
	Rooms       int           // rooms to create
	Members     int           // members per room, besides its facilitator
	Rate        float64       // messages per second per room
	Size        int           // message text size in bytes
	Duration    time.Duration // measured traffic
	Warmup      time.Duration // traffic before the measurement, not counted
	Ramp        float64       // new connections per second during setup
	Drain       time.Duration // the longest wait for in-flight deliveries after traffic
	Progress    time.Duration // interval of progress lines on stderr; 0 for none
	JSON        bool          // print the report as JSON instead of a table
	Out         string        // also write the JSON report to this file
	PIDs        []int         // server processes to measure
	PIDFiles    []string      // files holding the PIDs of server processes, read again at every sample
	AllowRemote bool          // accept URLs whose host is not a loopback address
	Idle        bool          // connect and hold, no traffic (memory per connection)
	FindMax     time.Duration // with -find-max: the p99 bound of a step that holds; 0 for one step at -rate
	Secret      []byte        // HEARTH_JWT_SECRET; nil with -tokens
	Issuer      string        // HEARTH_JWT_ISSUER; "" with -tokens
	Audience    string        // HEARTH_JWT_AUDIENCE; "" with -tokens
	TokenFile   string        // -tokens: the file the tokens come from; "" to mint them
	Tokens      tokenFile     // with TokenFile: the tokens the run takes from it
}

// connections is how many WebSocket connections the run holds at once.
func (c config) connections() int { return c.Rooms * (c.Members + 1) }

// setupBound is the longest the setup may take: every connection at -ramp
// per second, plus setupSlack.
func (c config) setupBound() time.Duration {
	return time.Duration(float64(c.connections())/c.Ramp*float64(time.Second)) + setupSlack
}

// plannedRun is the longest the run may last before it stops by itself:
// the setup, then each traffic step's warmup, measurement and drain. The
// tokens must be valid that long: minted ones are (with tokenSlack), and
// those of a -tokens file are checked against it.
func (c config) plannedRun() time.Duration {
	return c.setupBound() + time.Duration(c.steps())*(c.Warmup+c.Duration+c.Drain)
}

// rateCap is the highest -rate for c.Members: the members together may
// send sendHeadroom of what the server allows them.
func (c config) rateCap() float64 { return sendHeadroom * serverSendRate * float64(c.Members) }

// steps is the most traffic steps the run may take: one, or
// maxFindMaxSteps with -find-max.
func (c config) steps() int {
	if c.FindMax > 0 {
		return maxFindMaxSteps
	}
	return 1
}

// mode names the run's mode in the report: "chat", "idle" or "find_max".
func (c config) mode() string {
	switch {
	case c.Idle:
		return "idle"
	case c.FindMax > 0:
		return "find_max"
	}
	return "chat"
}

// minSecretBytes is the shortest HS256 key the server accepts, in bytes
// (auth.MinSecretBytes on the server).
const minSecretBytes = 32

// errUsage marks a bad flag or setting: main prints it with the usage hint
// and exits with status 2.
var errUsage = errors.New("usage")

// usageError is a bad flag or setting, said in one sentence that names it.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// parseConfig parses args (without the program name) and the environment
// (getenv) into a config. Help output goes to out. It returns
// flag.ErrHelp for -h, and an error wrapping errUsage for a bad value,
// whose text names the flag or variable and its bounds.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet("hearth-bench", flag.ContinueOnError)
	fs.SetOutput(out)
	urls := fs.String("url", "ws://127.0.0.1:8080/ws", "comma-separated WebSocket `URLs` of the nodes; members are spread round-robin across them")
	rooms := fs.Int("rooms", 3, fmt.Sprintf("rooms to create (1–%d)", maxRooms))
	members := fs.Int("members", 5, fmt.Sprintf("members per room, each a distinct user, besides one facilitator (%d–%d)", minMembers, maxMembers))
	rate := fs.Float64("rate", 1, "messages per second per room (senders rotate among the members; 0 for none)")
	size := fs.Int("size", 200, fmt.Sprintf("message size in bytes (%d–%d)", minSize, maxSize))
	duration := fs.Duration("duration", 30*time.Second, "measured traffic (at most "+maxDuration.String()+")")
	warmup := fs.Duration("warmup", 5*time.Second, "traffic before the measurement, not counted (at most "+maxWarmup.String()+")")
	ramp := fs.Float64("ramp", 100, fmt.Sprintf("new connections per second during setup (%d to %d)", minRamp, maxRamp))
	drain := fs.Duration("drain", 15*time.Second, "the longest wait for deliveries still in flight when traffic stops")
	progress := fs.Duration("progress", 10*time.Second, "interval of progress lines on standard error (0: none)")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	outFile := fs.String("out", "", "also write the JSON report to this `file`")
	pids := fs.String("pid", "", "comma-separated `PIDs` of the server processes, to report their CPU time and memory from /proc")
	pidFiles := fs.String("pidfile", "", "comma-separated `files` holding server PIDs, read again at every sample (follows a restarted node)")
	allowRemote := fs.Bool("allow-remote", false, "accept node URLs that are not on a loopback address")
	idle := fs.Bool("idle", false, "connect and hold every connection for -duration without traffic, to measure the servers' memory per connection (with -pid)")
	tokens := fs.String("tokens", "", "read the tokens from this `file` instead of minting them with HEARTH_JWT_SECRET, which is then neither needed nor used: one token a line, \"ROLE TOKEN\" with ROLE facilitator or member (# comments and blank lines ignored); the run takes the first -rooms facilitator tokens and the first -rooms × -members member tokens, each a distinct user (sub), valid until the run's planned end")
	findMax := fs.Duration("find-max", 0, fmt.Sprintf("step the rate up from -rate, ×%g per step of -warmup + -duration, until p99 passes this `bound` (such as 50ms) or anything is lost, and report the last rate that held (%s–%s; 0: off)", findMaxFactor, minFindMax, maxFindMax))
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, usageError("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *idle {
		switch {
		case set["rate"] || set["warmup"]:
			return config{}, usageError("-idle sends nothing: leave out -rate and -warmup")
		case *findMax != 0:
			return config{}, usageError("-idle and -find-max exclude each other")
		}
		*rate, *warmup = 0, 0
	}
	c := config{Rooms: *rooms, Members: *members, Rate: *rate, Size: *size, Duration: *duration, Warmup: *warmup,
		Ramp: *ramp, Drain: *drain, Progress: *progress, JSON: *asJSON, Out: *outFile, AllowRemote: *allowRemote,
		Idle: *idle, FindMax: *findMax, TokenFile: *tokens}
	if c.TokenFile == "" {
		c.Secret, c.Issuer, c.Audience = []byte(getenv("HEARTH_JWT_SECRET")), getenv("HEARTH_JWT_ISSUER"), getenv("HEARTH_JWT_AUDIENCE")
	}
	var err error
	if c.URLs, err = parseURLs(*urls, c.AllowRemote); err != nil {
		return config{}, err
	}
	if c.PIDs, err = parsePIDs(*pids); err != nil {
		return config{}, err
	}
	for f := range strings.SplitSeq(*pidFiles, ",") {
		if f = strings.TrimSpace(f); f != "" {
			c.PIDFiles = append(c.PIDFiles, f)
		}
	}
	if err := c.validate(); err != nil {
		return config{}, err
	}
	if c.TokenFile != "" {
		if c.Tokens, err = readTokenFile(c.TokenFile, c.Rooms, c.Members, time.Now().Add(c.plannedRun())); err != nil {
			return config{}, err
		}
	}
	return c, nil
}

// validate checks every bound; the first failure is returned.
func (c config) validate() error {
	switch {
	case c.Rooms < 1 || c.Rooms > maxRooms:
		return usageError("-rooms must be from 1 to %d, got %d", maxRooms, c.Rooms)
	case c.Members < minMembers || c.Members > maxMembers:
		return usageError("-members must be from %d to %d (a room's capacity), got %d", minMembers, maxMembers, c.Members)
	case c.connections() > maxConnections:
		return usageError("-rooms × (-members + 1 facilitator) is %d connections; at most %d", c.connections(), maxConnections)
	case math.IsNaN(c.Rate) || c.Rate < 0:
		return usageError("-rate must not be negative, got %g", c.Rate)
	case c.Rate > c.rateCap():
		return usageError("-rate %g per room is too fast for %d members: each would send %.3g messages per second, and the server allows %d per user (keep -rate at most %g)",
			c.Rate, c.Members, c.Rate/float64(c.Members), serverSendRate, c.rateCap())
	case c.FindMax != 0 && (c.FindMax < minFindMax || c.FindMax > maxFindMax):
		return usageError("-find-max must be from %s to %s (the p99 bound), got %s", minFindMax, maxFindMax, c.FindMax)
	case c.FindMax != 0 && c.Rate == 0:
		return usageError("-find-max steps the rate up from -rate, which must be above 0")
	case c.Size < minSize || c.Size > maxSize:
		return usageError("-size must be from %d to %d bytes, got %d", minSize, maxSize, c.Size)
	case c.Duration <= 0 || c.Duration > maxDuration:
		return usageError("-duration must be positive and at most %s, got %s", maxDuration, c.Duration)
	case c.Warmup < 0 || c.Warmup > maxWarmup:
		return usageError("-warmup must be from 0 to %s, got %s", maxWarmup, c.Warmup)
	case math.IsNaN(c.Ramp) || c.Ramp < minRamp || c.Ramp > maxRamp:
		return usageError("-ramp must be from %d to %d connections per second, got %g", minRamp, maxRamp, c.Ramp)
	case c.Drain <= 0 || c.Drain > maxDrain:
		return usageError("-drain must be positive and at most %s, got %s", maxDrain, c.Drain)
	case c.Progress < 0 || c.Progress > maxProgress:
		return usageError("-progress must be from 0 to %s, got %s", maxProgress, c.Progress)
	case c.TokenFile != "":
		// The tokens come from the file: no secret needed.
	case len(c.Secret) == 0:
		return usageError("HEARTH_JWT_SECRET is not set: the tokens must be signed with the servers' key (or come from a -tokens file)")
	case len(c.Secret) < minSecretBytes:
		return usageError("HEARTH_JWT_SECRET must be at least %d bytes, as the server requires", minSecretBytes)
	}
	return nil
}

// parseURLs splits the -url list and checks each URL: ws:// or wss://, a
// host, and — unless allowRemote — a loopback host (127.0.0.0/8, ::1 or
// localhost), so that a run cannot load someone else's server by mistake
// and latencies compare two readings of one clock.
func parseURLs(list string, allowRemote bool) ([]string, error) {
	var urls []string
	for s := range strings.SplitSeq(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			return nil, usageError("-url %q is not a ws:// or wss:// URL such as ws://127.0.0.1:8080/ws", s)
		}
		if !allowRemote && !isLoopback(u.Hostname()) {
			return nil, usageError("-url %q is not on this machine (a loopback address); pass -allow-remote to load a remote server on purpose", s)
		}
		urls = append(urls, s)
	}
	if len(urls) == 0 {
		return nil, usageError("-url names no node")
	}
	return urls, nil
}

// isLoopback reports whether host is "localhost" or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parsePIDs parses the -pid list.
func parsePIDs(list string) ([]int, error) {
	var pids []int
	for s := range strings.SplitSeq(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		pid, err := strconv.Atoi(s)
		if err != nil || pid <= 0 {
			return nil, usageError("-pid %q is not a process id", s)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
