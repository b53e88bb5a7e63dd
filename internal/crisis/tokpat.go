package crisis

import (
	"regexp"
	"strings"
)

// A tokPat is a pattern matched only at the start of a word of a view: each
// top-level alternative is its own anchored regexp with the set of bytes a
// match can begin with, so a word is passed over with one lookup per
// alternative and a regexp runs only where it could match. (Go's regexp is
// linear, but one large alternation run over a whole message costs tens of
// microseconds; anchored, per alternative, it costs next to nothing.)
type tokPat struct {
	alts  []tokAlt
	first byteSet     // union of the alternatives' first bytes
	trie  *prefixTrie // the alternatives' literal prefixes, when there are many
}

type tokAlt struct {
	re       *regexp.Regexp
	first    byteSet
	prefixes []string // literal prefixes every match starts with (nil: unknown)
}

// maxMatchLen bounds the text an anchored pattern is run over: no phrase is
// longer.
const maxMatchLen = 160

// compileTok compiles pattern (in expand's notation) for plain and for
// squeezed views. Each match must end at the end of a word.
func compileTok(pattern string) (plain, squeezed tokPat) {
	for _, alt := range splitAlternatives(pattern) {
		body := `(?:` + expand(alt) + `)(?: |$)`
		sq := squeezeRegexp(body)
		plain.add(tokAlt{regexp.MustCompile(`^` + body), firstBytes(body), literalPrefixes(body)})
		squeezed.add(tokAlt{regexp.MustCompile(`^` + sq), firstBytes(sq), literalPrefixes(sq)})
	}
	plain.index()
	squeezed.index()
	return plain, squeezed
}

// index builds the trie of the alternatives' prefixes when there are enough
// alternatives for it to pay.
func (p *tokPat) index() {
	if len(p.alts) < 6 {
		return
	}
	p.trie = newPrefixTrie()
	for i, a := range p.alts {
		if a.prefixes == nil {
			p.trie.loose = append(p.trie.loose, altRef{0, int32(i)})
			continue
		}
		for _, pr := range a.prefixes {
			p.trie.insert(pr, altRef{0, int32(i)})
		}
	}
	p.trie.freeze()
}

func (p *tokPat) add(a tokAlt) {
	p.alts = append(p.alts, a)
	p.first.union(a.first)
}

// splitAlternatives splits a pattern at its top-level '|'.
func splitAlternatives(p string) []string {
	var out []string
	depth, inClass, last := 0, false, 0
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '|' && depth == 0:
			out = append(out, p[last:i])
			last = i + 1
		}
	}
	return append(out, p[last:])
}

// at returns the end of the first alternative that matches at byte offset
// start of s (a word start), without the trailing space, or -1.
func (p *tokPat) at(s string, start int) int {
	c := s[start]
	if !p.first.has(c) {
		return -1
	}
	if p.trie != nil {
		best := -1
		try := func(ref altRef) {
			if best >= 0 && int(ref.alt) > best {
				return
			}
			if p.altAt(int(ref.alt), s, start) >= 0 {
				best = int(ref.alt) // the first alternative that matches wins
			}
		}
		p.trie.walk(s[start:], nil, try)
		for _, ref := range p.trie.loose {
			try(ref)
		}
		if best < 0 {
			return -1
		}
		return p.altAt(best, s, start)
	}
	window := s[start:]
	if len(window) > maxMatchLen {
		cut := strings.LastIndexByte(window[:maxMatchLen], ' ')
		if cut <= 0 {
			cut = maxMatchLen
		}
		window = window[:cut]
	}
	for i := range p.alts {
		a := &p.alts[i]
		if !a.first.has(c) || a.prefixes != nil && !hasPrefixIn(window, a.prefixes) {
			continue
		}
		if loc := a.re.FindStringIndex(window); loc != nil {
			end := start + loc[1]
			if end > start && s[end-1] == ' ' {
				end--
			}
			if end > start {
				return end
			}
		}
	}
	return -1
}

// altAt is at for alternative i alone.
func (p *tokPat) altAt(i int, s string, start int) int {
	a := &p.alts[i]
	if !a.first.has(s[start]) {
		return -1
	}
	window := s[start:]
	if len(window) > maxMatchLen {
		cut := strings.LastIndexByte(window[:maxMatchLen], ' ')
		if cut <= 0 {
			cut = maxMatchLen
		}
		window = window[:cut]
	}
	loc := a.re.FindStringIndex(window)
	if loc == nil {
		return -1
	}
	end := start + loc[1]
	if end > start && s[end-1] == ' ' {
		end--
	}
	if end <= start {
		return -1
	}
	return end
}

// findIn reports whether the pattern matches at a word of v among words
// [from, to), other than a match lying inside bytes [skipStart, skipEnd).
func (p *tokPat) findIn(v *view, from, to, skipStart, skipEnd int) bool {
	from, to = max(from, 0), min(to, len(v.start))
	for i := from; i < to; i++ {
		start := v.start[i]
		if end := p.at(v.s, start); end >= 0 && (start < skipStart || end > skipEnd) {
			return true
		}
	}
	return false
}

// overlaps reports whether the pattern matches somewhere overlapping bytes
// [start, end), trying the words from back words before the match.
func (p *tokPat) overlaps(v *view, t0, t1, back, start, end int) bool {
	for i := max(t0-back, 0); i < t1 && i < len(v.start); i++ {
		if e := p.at(v.s, v.start[i]); e > start {
			return true
		}
	}
	return false
}
