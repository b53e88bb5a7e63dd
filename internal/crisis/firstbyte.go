package crisis

import (
	"regexp/syntax"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

func unicodeSimpleFold(r rune) rune { return unicode.SimpleFold(r) }

// byteSet is a set of bytes.
type byteSet [4]uint64

func (b *byteSet) add(c byte)      { b[c/64] |= 1 << (c % 64) }
func (b *byteSet) has(c byte) bool { return b[c/64]&(1<<(c%64)) != 0 }
func (b *byteSet) addAll()         { *b = byteSet{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)} }
func (b *byteSet) union(o byteSet) {
	for i := range b {
		b[i] |= o[i]
	}
}
func (b *byteSet) addRune(r rune) { var buf [4]byte; utf8.EncodeRune(buf[:], r); b.add(buf[0]) }
func (b *byteSet) addRange(lo, hi rune) {
	if hi-lo > 512 || hi >= utf8.RuneSelf {
		// Wide or non-ASCII ranges: every byte they could start with.
		for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
			b.add(byte(r))
		}
		if hi >= utf8.RuneSelf {
			for c := 0xC0; c < 0x100; c++ {
				b.add(byte(c))
			}
		}
		return
	}
	for r := lo; r <= hi; r++ {
		b.addRune(r)
	}
}

// firstBytes returns the bytes a match of pattern can begin with, so that
// the pattern is tried only at words that begin with one of them. If the
// pattern can match the empty string, every byte is possible.
func firstBytes(pattern string) byteSet {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		panic("crisis: " + err.Error())
	}
	set, nullable := first(re.Simplify())
	if nullable {
		set.addAll()
	}
	return set
}

// first returns the possible first bytes of re and whether re matches the
// empty string.
func first(re *syntax.Regexp) (byteSet, bool) {
	var set byteSet
	switch re.Op {
	case syntax.OpNoMatch:
		return set, false
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return set, true
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return set, true
		}
		r := re.Rune[0]
		set.addRune(r)
		if re.Flags&syntax.FoldCase != 0 {
			for f := unicodeSimpleFold(r); f != r; f = unicodeSimpleFold(f) {
				set.addRune(f)
			}
		}
		return set, false
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			set.addRange(re.Rune[i], re.Rune[i+1])
		}
		return set, false
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		set.addAll()
		return set, false
	case syntax.OpCapture, syntax.OpPlus:
		return first(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		s, _ := first(re.Sub[0])
		return s, true
	case syntax.OpRepeat:
		s, n := first(re.Sub[0])
		return s, n || re.Min == 0
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			s, n := first(sub)
			set.union(s)
			if !n {
				return set, false
			}
		}
		return set, true
	case syntax.OpAlternate:
		nullable := false
		for _, sub := range re.Sub {
			s, n := first(sub)
			set.union(s)
			nullable = nullable || n
		}
		return set, nullable
	}
	set.addAll()
	return set, true
}

// maxPrefixes bounds the literal prefixes kept for one alternative; past it
// the prefixes found so far (shorter, so less selective) are used.
const maxPrefixes = 600

// literalPrefixes returns literal strings one of which every match of
// pattern starts with (sorted, none a prefix of another), or nil if it found
// none worth checking.
func literalPrefixes(pattern string) []string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		panic("crisis: " + err.Error())
	}
	ps, _ := prefixes(re.Simplify())
	if ps == nil {
		return nil
	}
	for _, p := range ps {
		if p == "" {
			return nil // some match starts with anything
		}
	}
	sort.Strings(ps)
	// Drop any prefix that has a shorter one in the set: the shorter one
	// already admits it.
	out := ps[:0]
	for _, p := range ps {
		if len(out) > 0 && strings.HasPrefix(p, out[len(out)-1]) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// prefixes returns literal prefixes of re's matches and whether each is the
// whole match (so that what follows can extend it), or nil when re can start
// with something no short list of literals covers.
func prefixes(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return []string{""}, true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1]-re.Rune[i] > 10 {
				return nil, false
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				out = append(out, string(r))
			}
		}
		return out, true
	case syntax.OpCapture:
		return prefixes(re.Sub[0])
	case syntax.OpAlternate:
		var out []string
		complete := true
		for _, sub := range re.Sub {
			ps, c := prefixes(sub)
			if ps == nil {
				return nil, false
			}
			out = append(out, ps...)
			complete = complete && c
		}
		return out, complete
	case syntax.OpQuest:
		ps, c := prefixes(re.Sub[0])
		if ps == nil {
			return []string{""}, false
		}
		return append(ps, ""), c
	case syntax.OpPlus:
		ps, _ := prefixes(re.Sub[0])
		return ps, false
	case syntax.OpRepeat:
		if re.Min == 0 {
			return []string{""}, false
		}
		ps, _ := prefixes(re.Sub[0])
		return ps, false
	case syntax.OpConcat:
		cur := []string{""}
		for _, sub := range re.Sub {
			ps, c := prefixes(sub)
			if ps == nil {
				return cur, false
			}
			if len(cur)*len(ps) > maxPrefixes {
				return cur, false
			}
			next := make([]string, 0, len(cur)*len(ps))
			for _, a := range cur {
				for _, b := range ps {
					next = append(next, a+b)
				}
			}
			cur = next
			if !c {
				return cur, false
			}
		}
		return cur, true
	}
	return nil, false
}

// hasPrefixIn reports whether s starts with one of the sorted prefixes
// (none a prefix of another).
func hasPrefixIn(s string, prefixes []string) bool {
	i := sort.SearchStrings(prefixes, s) // first prefix >= s
	// A prefix of s sorts at or before s: the one just before i, or s itself.
	if i < len(prefixes) && prefixes[i] == s {
		return true
	}
	return i > 0 && strings.HasPrefix(s, prefixes[i-1])
}
