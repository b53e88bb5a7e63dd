package crisis

import (
	"container/list"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Window defaults: an author's last WindowMessages messages within WindowAge
// are read together.
const (
	WindowMessages = 5
	WindowAge      = 10 * time.Minute
)

// Bounds of a Window's memory.
const (
	// WindowMaxAuthors is how many authors a Window remembers at once; past
	// it, the one silent longest is forgotten first.
	WindowMaxAuthors = 10000
	// windowKeepBytes is how much of each earlier message is kept: its end,
	// which is what a thought continued in the next message follows.
	windowKeepBytes = 256
	// windowMaxMessages caps maxMessages.
	windowMaxMessages = 50
)

// A Window reads each message of an author together with the author's
// recent ones, so that a thought split across messages ("I want to" … "kill
// myself") is still seen. It is safe for concurrent use.
//
// It holds the text of recent messages in memory only, and only for the
// window (maxAge, maxMessages): it is part of the live session, like the
// conversation on screen, and is never stored or logged. What it keeps is
// the normalized form, at most the last 256 bytes of each earlier message,
// for at most WindowMaxAuthors authors: with the defaults, at most about
// 10000 × 4 × 256 bytes ≈ 10 MB of text however many people write, and
// usually far less, since an author silent for maxAge is forgotten.
//
// An author is whatever key the caller chooses; a member in a room
// ("room|member") keeps one room's words apart from another's.
type Window struct {
	maxMessages int
	maxAge      time.Duration

	mu      sync.Mutex
	authors map[string]*list.Element // of *authorWindow
	lru     list.List                // most recently active at the front
}

type authorWindow struct {
	key  string
	msgs []windowMsg // oldest first; at most maxMessages-1 (the current one joins them)
	last time.Time
}

type windowMsg struct {
	at   time.Time
	text string   // normalized, at most windowKeepBytes
	sev  Severity // the severity reported for it
}

// NewWindow returns a Window over each author's last maxMessages messages
// within maxAge. Zero or negative values take the defaults (WindowMessages,
// WindowAge); maxMessages is capped at 50.
func NewWindow(maxMessages int, maxAge time.Duration) *Window {
	if maxMessages <= 0 {
		maxMessages = WindowMessages
	}
	maxMessages = min(maxMessages, windowMaxMessages)
	if maxAge <= 0 {
		maxAge = WindowAge
	}
	return &Window{maxMessages: maxMessages, maxAge: maxAge, authors: map[string]*list.Element{}}
}

// Check reads text, written by author at now, alone and joined to the
// author's recent messages, and returns the more severe reading. A reading
// of the joined messages counts when its phrase ends in this message ("I
// want to" … "kill myself"; "I've been saving my pills" … "tonight I'm going
// to do it"), or when it reads the earlier words as more severe than they
// were reported ("I'm going to kill myself" … "right now"). So a message
// that only follows a reported one ("thank you for listening") is not
// reported again because of it.
func (w *Window) Check(author, text string, now time.Time) Result {
	n := Normalize(text)
	single := detect(eng, n)
	prev, reported := w.recent(author, now)
	res := single
	if len(prev) > 0 && n != "" {
		vd := detectMarked(eng, strings.Join(prev, " ")+" "+boundaryMark+" "+n)
		if better(vd.current, res) {
			res = vd.current
		}
		if vd.all.Severity > reported && better(vd.all, res) {
			res = vd.all
		}
	}
	if n != "" {
		w.record(author, n, res.Severity, now)
	}
	return res
}

// recent returns the author's messages still in the window, oldest first,
// and the highest severity reported for them; it forgets what has expired.
func (w *Window) recent(author string, now time.Time) (texts []string, reported Severity) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expire(now)
	el, ok := w.authors[author]
	if !ok {
		return nil, None
	}
	aw := el.Value.(*authorWindow)
	aw.prune(now, w.maxAge, w.maxMessages-1)
	for _, m := range aw.msgs {
		texts = append(texts, m.text)
		reported = max(reported, m.sev)
	}
	return texts, reported
}

// record adds a message to the author's window.
func (w *Window) record(author, normalized string, sev Severity, now time.Time) {
	if w.maxMessages < 2 {
		return // nothing is ever joined: keep nothing
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	el, ok := w.authors[author]
	if !ok {
		for len(w.authors) >= WindowMaxAuthors {
			w.forget(w.lru.Back())
		}
		el = w.lru.PushFront(&authorWindow{key: author})
		w.authors[author] = el
	} else {
		w.lru.MoveToFront(el)
	}
	aw := el.Value.(*authorWindow)
	aw.msgs = append(aw.msgs, windowMsg{at: now, text: tail(normalized, windowKeepBytes), sev: sev})
	aw.prune(now, w.maxAge, w.maxMessages-1)
	if now.After(aw.last) {
		aw.last = now
	}
}

// expire forgets the authors silent for longer than maxAge, starting from
// the least recently active.
func (w *Window) expire(now time.Time) {
	for el := w.lru.Back(); el != nil; el = w.lru.Back() {
		if now.Sub(el.Value.(*authorWindow).last) <= w.maxAge {
			return
		}
		w.forget(el)
	}
}

func (w *Window) forget(el *list.Element) {
	delete(w.authors, el.Value.(*authorWindow).key)
	w.lru.Remove(el)
}

// prune drops messages older than maxAge and keeps at most keep.
func (aw *authorWindow) prune(now time.Time, maxAge time.Duration, keep int) {
	i := 0
	for i < len(aw.msgs) && now.Sub(aw.msgs[i].at) > maxAge {
		i++
	}
	if n := len(aw.msgs) - i; n > keep {
		i += n - keep
	}
	if i > 0 {
		aw.msgs = append(aw.msgs[:0], aw.msgs[i:]...)
	}
}

// tail returns the end of s, at most n bytes, starting at a word.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := len(s) - n
	for cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut++
	}
	if sp := strings.IndexByte(s[cut:], ' '); sp >= 0 && sp < len(s)-cut-1 {
		cut += sp + 1
	}
	return strings.Clone(s[cut:])
}
