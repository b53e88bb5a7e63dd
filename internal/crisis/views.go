package crisis

import (
	"math/bits"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A view is one reading of a normalized message: its words as tokens joined
// by single spaces, with a "." token for each sentence boundary (. ! ? ; :),
// so a phrase pattern never runs across sentences. Other punctuation only
// separates words; an emoji or other symbol is a token of its own ("i'm dead
// 😂").
type view struct {
	s     string
	start []int // byte offset of each token in s
	// ctx is the view whose tokens are read for context: the view itself, or
	// for a squeezed view the one it was squeezed from (token for token the
	// same words, unsqueezed, so "will" is still "will").
	ctx      *view
	squeezed bool
	// mark is the index of the first token after a boundaryMark (0 when
	// there is none): in a Window's joined text, where the current message
	// begins.
	mark int
	bare []string    // tokens without apostrophes, built on first use (ctx views only)
	info []*wordInfo // each bare token's part in reading a context, built on first use
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiWord[r]
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mc, r)
}

var asciiWord = func() (t [utf8.RuneSelf]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	return t
}()

// buildView tokenizes a normalized text.
func buildView(n string) *view {
	v := &view{start: make([]int, 0, len(n)/4+4)}
	b := make([]byte, 0, len(n)+8)
	emit := func(tok string) {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		v.start = append(v.start, len(b))
		b = append(b, tok...)
	}
	lastDot := true // no boundary token at the start
	for i := 0; i < len(n); {
		r, size := rune(n[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(n[i:])
		}
		switch {
		case isWordRune(r):
			j := i + size
			for j < len(n) {
				r2, sz := rune(n[j]), 1
				if r2 >= utf8.RuneSelf {
					r2, sz = utf8.DecodeRuneInString(n[j:])
				}
				if isWordRune(r2) {
					j += sz
					continue
				}
				if r2 == '\'' && j+1 < len(n) {
					if r3, _ := utf8.DecodeRuneInString(n[j+1:]); isWordRune(r3) {
						j++
						continue
					}
				}
				break
			}
			if drugNames[n[i:j]] {
				emit("pills") // one word for every drug, so the patterns stay small
			} else {
				emit(n[i:j])
			}
			lastDot = false
			i = j
		case r == '.' || r == '!' || r == '?' || r == ';' || r == ':':
			// An ellipsis is a pause, not a boundary: "i want to... die".
			ellipsis := r == '.' && ((i+1 < len(n) && n[i+1] == '.') || (i > 0 && n[i-1] == '.'))
			if !ellipsis && !lastDot {
				emit(".")
				lastDot = true
			}
			i += size
		case r == 0:
			v.mark = len(v.start) // boundaryMark: the current message begins
			i += size
		case r >= utf8.RuneSelf && unicode.Is(unicode.So, r):
			emit(n[i : i+size])
			lastDot = false
			i += size
		default:
			i += size
		}
	}
	v.s = string(b)
	v.ctx = v
	return v
}

// ntok is the number of tokens.
func (v *view) ntok() int { return len(v.start) }

// tok returns token i.
func (v *view) tok(i int) string {
	end := len(v.s)
	if i+1 < len(v.start) {
		end = v.start[i+1] - 1
	}
	return v.s[v.start[i]:end]
}

// tokenAt returns the index of the token containing byte offset off.
func (v *view) tokenAt(off int) int {
	i := sort.SearchInts(v.start, off+1) - 1
	if i < 0 {
		return 0
	}
	return i
}

// bareTokens returns the tokens with apostrophes removed ("i'm" → "im"),
// which is how the context word lists are written.
func (v *view) bareTokens() []string {
	if v.bare == nil {
		v.bare = make([]string, v.ntok())
		for i := range v.bare {
			t := v.tok(i)
			if strings.IndexByte(t, '\'') >= 0 {
				t = strings.ReplaceAll(t, "'", "")
			}
			v.bare[i] = t
		}
	}
	return v.bare
}

// infos returns each bare token's entry in the lexicon.
func (v *view) infos() []*wordInfo {
	if v.info == nil {
		toks := v.bareTokens()
		v.info = make([]*wordInfo, len(toks))
		for i, t := range toks {
			v.info[i] = lookup(t)
		}
	}
	return v.info
}

// squeeze returns the view with runs of one letter inside each token
// collapsed to one ("diie" → "die", "kill" → "kil"), token for token, or
// nil when that changes nothing.
func (v *view) squeeze() *view {
	changed := false
	for i := 1; i < len(v.s); i++ {
		if v.s[i] == v.s[i-1] && isLowerASCII(v.s[i]) {
			changed = true
			break
		}
	}
	if !changed {
		return nil
	}
	sq := &view{start: make([]int, 0, len(v.start)), ctx: v.ctx, squeezed: true, mark: v.mark}
	b := make([]byte, 0, len(v.s))
	for i := range v.start {
		if i > 0 {
			b = append(b, ' ')
		}
		sq.start = append(sq.start, len(b))
		t := v.tok(i)
		for j := 0; j < len(t); j++ {
			if j > 0 && t[j] == t[j-1] && isLowerASCII(t[j]) {
				continue
			}
			b = append(b, t[j])
		}
	}
	sq.s = string(b)
	return sq
}

func isLowerASCII(c byte) bool { return 'a' <= c && c <= 'z' }

// --- Leetspeak ---

// leetMap is what a digit or symbol stands for inside a word. '1' stands for
// i or l; leetFold chooses per word.
var leetMap = [256]byte{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '@': 'a', '$': 's', '5': 's', '7': 't', '!': 'i'}

func isLeetWordByte(c byte) bool {
	return isLowerASCII(c) || ('0' <= c && c <= '9') || c == '@' || c == '$' || c == '!' || c == '\''
}

// emojiWords are emoji used in place of a word of crisis language ("want to
// 🔫 myself"); the leet view reads them as the word.
var emojiWords = []struct{ emoji, word string }{
	{"🔫", "shoot"}, {"🔪", "stab"}, {"💊", "pills"}, {"🪢", "rope"}, {"⚰", "coffin"}, {"🩸", "blood"},
}

// textspeak are whole words of text speak whose digits are not leetspeak
// ("4ever" is "forever", not "aever").
var textspeak = map[string]string{
	"4ever": "forever", "4eva": "forever", "4evr": "forever", "2nite": "tonight", "2night": "tonight",
	"2day": "today", "2moro": "tomorrow", "2morrow": "tomorrow", "b4": "before", "4got": "forgot",
	"2": "to", "4": "for", "l8r": "later", "gr8": "great", "some1": "someone", "no1": "no one", "any1": "anyone",
	"every1": "everyone",
}

// mayHaveLeet reports whether b has a leet character next to a letter, or an
// emoji that stands for a word: the cheap test for whether the leet view can
// differ.
func mayHaveLeet[T string | []byte](b T) bool {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == 0xF0 || c == 0xE2 {
			for _, e := range emojiWords {
				if strings.HasPrefix(string(b[i:min(len(b), i+len(e.emoji))]), e.emoji) {
					return true
				}
			}
		}
		if leetMap[c] == 0 {
			continue
		}
		if (i > 0 && isLowerASCII(b[i-1])) || (i+1 < len(b) && isLowerASCII(b[i+1])) {
			return true
		}
	}
	return false
}

// units are what may follow a number in a word that is not leetspeak: 7pm,
// 2nd, 10mg, 5k, 90s.
var units = map[string]bool{
	"st": true, "nd": true, "rd": true, "th": true, "am": true, "pm": true, "mg": true, "ml": true,
	"g": true, "kg": true, "lb": true, "lbs": true, "k": true, "km": true, "kms": true, "m": true,
	"mi": true, "x": true, "s": true, "h": true, "hr": true, "hrs": true, "min": true, "mins": true,
	"yo": true, "yr": true, "yrs": true, "d": true, "w": true, "ish": true, "mcg": true, "oz": true,
	"ft": true, "cm": true, "mm": true, "gb": true, "mb": true, "hz": true, "p": true, "sec": true,
}

// leetFold folds leetspeak inside words that contain a letter ("k1ll",
// "su1c1de", "$uicide", "k!ll"), leaving numbers alone (988, 911, 7:30) and
// numbers with a unit (7pm, 2nd, 10mg). A '1' reads as i or l, whichever
// gives the word more trigger stems ("ki11" → "kill", "k1ll" → "kill").
func leetFold(n string) (string, bool) {
	var b []byte
	changed := false
	for _, e := range emojiWords {
		if strings.Contains(n, e.emoji) {
			n = strings.ReplaceAll(n, e.emoji, " "+e.word+" ")
			changed = true
		}
	}
	if changed {
		b = make([]byte, 0, len(n))
	}
	for i := 0; i < len(n); {
		if !isLeetWordByte(n[i]) {
			if b != nil {
				b = append(b, n[i])
			}
			i++
			continue
		}
		j := i
		for j < len(n) && isLeetWordByte(n[j]) {
			j++
		}
		w := n[i:j]
		// A '!' at either end is punctuation, not a letter.
		lo, hi := 0, len(w)
		for lo < hi && w[lo] == '!' {
			lo++
		}
		for hi > lo && w[hi-1] == '!' {
			hi--
		}
		folded, ok := "", false
		if ts, isTS := textspeak[w[lo:hi]]; isTS {
			folded, ok = ts, true
		} else {
			folded, ok = foldWord(w[lo:hi])
		}
		if ok {
			if b == nil {
				b = make([]byte, 0, len(n))
				b = append(b, n[:i]...)
			}
			changed = true
			b = append(b, w[:lo]...)
			b = append(b, folded...)
			b = append(b, w[hi:]...)
		} else if b != nil {
			b = append(b, w...)
		}
		i = j
	}
	if !changed {
		return n, false
	}
	return string(b), true
}

func foldWord(w string) (string, bool) {
	letters, leet := 0, 0
	for i := 0; i < len(w); i++ {
		switch {
		case isLowerASCII(w[i]):
			letters++
		case leetMap[w[i]] != 0:
			leet++
		}
	}
	if letters == 0 || leet == 0 {
		return "", false
	}
	// A number with a unit is not leetspeak.
	d := 0
	for d < len(w) && '0' <= w[d] && w[d] <= '9' {
		d++
	}
	if d > 0 && units[w[d:]] {
		return "", false
	}
	fold := func(one byte) []byte {
		out := make([]byte, len(w))
		for i := 0; i < len(w); i++ {
			c := w[i]
			switch {
			case c == '1':
				out[i] = one
			case leetMap[c] != 0:
				out[i] = leetMap[c]
			default:
				out[i] = c
			}
		}
		return out
	}
	asI := fold('i')
	if strings.IndexByte(w, '1') < 0 {
		return string(asI), true
	}
	asL := fold('l')
	if stemCount(asL) > stemCount(asI) {
		return string(asL), true
	}
	return string(asI), true
}

func stemCount(b []byte) int {
	k := scan(eng.pre, b)
	n := 0
	for _, w := range k {
		n += bits.OnesCount64(w)
	}
	return n
}

// --- Letters spelled out one by one ---

// isAtomByte is a letter, or a digit or symbol that stands for one, that can
// be spelled out on its own: "k i l l", "s.u.i.c.i.d.e", "d-1-e".
func isAtomByte(c byte) bool { return isLowerASCII(c) || leetMap[c] != 0 && c != '!' }

func isWordByte(c byte) bool {
	return isLowerASCII(c) || ('0' <= c && c <= '9') || c == '\'' || c == '@' || c == '$' || c >= utf8.RuneSelf
}

// isGapByte: what may stand between letters spelled out one by one; a
// boundaryMark too, so letters sent one per message join.
func isGapByte(c byte) bool {
	return c == ' ' || c == '.' || c == '-' || c == '/' || c == '+' || c == 0
}

// joinSpaced joins runs of three or more single letters separated by spaces,
// dots, dashes or slashes into a word ("k i l l m y s e l f" →
// "killmyself"), and reports whether it changed anything. Phrase patterns
// allow the spaces between their words to be missing, so the joined word
// still matches "kill myself".
func joinSpaced(s string) (string, bool) {
	var b []byte
	last := 0 // end of what has been copied to b
	i := 0
	for i < len(s) {
		// Find a run of atoms starting at i.
		if !isAtomByte(s[i]) || (i > 0 && isWordByte(s[i-1])) || (i+1 < len(s) && isWordByte(s[i+1])) {
			i++
			continue
		}
		run := []int{i}
		j := i + 1
		for {
			k := j
			for k < len(s) && k-j < 3 && isGapByte(s[k]) {
				k++
			}
			if k == j || k >= len(s) || !isAtomByte(s[k]) || (k+1 < len(s) && isWordByte(s[k+1])) {
				break
			}
			run = append(run, k)
			j = k + 1
		}
		letters := 0
		for _, p := range run {
			if isLowerASCII(s[p]) {
				letters++
			}
		}
		tight := len(run) == 2 && run[1]-run[0] == 2 && s[run[0]+1] != ' '
		if (len(run) >= 3 || tight) && letters >= 2 {
			if b == nil {
				b = make([]byte, 0, len(s))
			}
			b = append(b, s[last:run[0]]...)
			for _, p := range run {
				c := s[p]
				if !isLowerASCII(c) {
					c = leetMap[c]
				}
				b = append(b, c)
			}
			last = run[len(run)-1] + 1
		}
		i = j
	}
	if b == nil {
		return s, false
	}
	b = append(b, s[last:]...)
	return string(b), true
}
