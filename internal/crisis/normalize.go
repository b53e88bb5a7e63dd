package crisis

import (
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Normalize returns the form of text that the detector matches: one
// canonical spelling for the many ways a word can be written. It is exported
// for tests and fuzzing; the raw text is what is displayed. In order:
//
//  1. Unicode NFKC (fullwidth, mathematical, circled and other compatibility
//     letters become plain ones).
//  2. Format characters (category Cf: zero-width spaces and joiners, bidi
//     controls, soft hyphens, the BOM, tag characters), variation selectors,
//     invisible fillers and control characters are dropped.
//  3. Case folding (golang.org/x/text/cases.Fold).
//  4. NFKD, and combining marks dropped: accents and zalgo vanish.
//  5. Letters from other scripts that look like Latin ones are folded to
//     Latin (see confusables).
//  6. Markup wrappers are unwrapped: the characters of ||spoiler||,
//     ~~strike~~, *em*, _em_ and `code` become spaces, and ">" quote markers
//     at the start of a line are dropped. Typographic apostrophes become '.
//  7. Runs of three or more of the same letter become two ("diiiie" →
//     "diie"; the detector also matches a view with doubles squeezed, so
//     "diie" still reads "die" while "kill" stays "kill").
//  8. Whitespace runs become one space; the ends are trimmed.
//
// Normalize is idempotent: Normalize(Normalize(x)) == Normalize(x), and its
// output is valid UTF-8 whatever the input.
func Normalize(text string) string {
	return string(appendNormalized(nil, text))
}

// appendNormalized appends Normalize(text) to dst. ASCII text, the common
// case, takes a fast path that allocates nothing but dst's growth.
func appendNormalized(dst []byte, text string) []byte {
	if isASCII(text) {
		return finish(dst, text, false)
	}
	if simpleText(text) {
		// Every non-ASCII character is one whose Unicode stages do not
		// depend on its neighbours: finish maps it from a table.
		return finish(dst, text, true)
	}
	// The Unicode stages can, rarely, leave something that a second pass
	// would change (a case fold that yields a decomposable letter, say), so
	// they run until the text is stable. Two passes settle everything the
	// fuzzer has found; the bound is there for safety.
	s := text
	var out []byte
	for range 4 {
		out = finish(out[:0], unicodeStages(s), false)
		if string(out) == s || isASCII(string(out)) {
			break
		}
		s = string(out)
	}
	return append(dst, out...)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// casers holds case folders: a cases.Caser keeps state and must not be
// shared between goroutines.
var casers = sync.Pool{New: func() any { c := cases.Fold(); return &c }}

// unicodeStages applies stages 1–4 of Normalize.
func unicodeStages(s string) string {
	s = norm.NFKC.String(s)
	s = dropInvisible(s)
	c := casers.Get().(*cases.Caser)
	s = c.String(s)
	casers.Put(c)
	s = norm.NFKD.String(s)
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
			continue
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

// dropInvisible removes characters that render as nothing and are used to
// break up words: format characters, variation selectors, fillers, and
// control characters other than whitespace. Invalid UTF-8 is dropped too.
func dropInvisible(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if invisible(r) {
			continue
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

func invisible(r rune) bool {
	switch {
	case r == utf8.RuneError:
		return true
	case unicode.IsSpace(r):
		return false
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Cc, r):
		return true
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF: // variation selectors
		return true
	case r == 0x115F, r == 0x1160, r == 0x3164, r == 0xFFA0: // Hangul fillers
		return true
	case r == 0x034F: // combining grapheme joiner
		return true
	}
	return false
}

// Characters whose Unicode stages (NFKC, dropping invisibles, folding, NFKD,
// dropping marks) give the same result alone as in any text: they neither
// combine with a neighbour nor are combining marks. Their results are
// computed once, on first use, by running the stages on each alone.
var (
	simpleOnce  sync.Once
	simpleRunes map[rune]string
)

// simpleRanges are the blocks whose characters are tabled: Latin, Greek,
// Cyrillic, general punctuation, currency, letterlike symbols, arrows.
var simpleRanges = [][2]rune{
	{0x00A0, 0x024F}, {0x0250, 0x02AF}, {0x0370, 0x03FF}, {0x0400, 0x04FF}, {0x0500, 0x052F},
	{0x1D00, 0x1D7F}, {0x1E00, 0x1EFF}, {0x2000, 0x206F}, {0x20A0, 0x20CF}, {0x2100, 0x214F},
	{0x2190, 0x21FF}, {0x2500, 0x25FF}, {0x2600, 0x27BF},
}

func loadSimpleRunes() {
	m := map[rune]string{}
	for _, rg := range simpleRanges {
		for r := rg[0]; r <= rg[1]; r++ {
			if !unicode.IsPrint(r) && !unicode.Is(unicode.Cf, r) && !unicode.IsSpace(r) {
				continue
			}
			if unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc) || norm.NFC.PropertiesString(string(r)).CCC() != 0 {
				continue // combining: depends on its neighbours
			}
			if !norm.NFC.PropertiesString(string(r)).BoundaryBefore() {
				continue // may compose with the character before it
			}
			// A character that may compose with one after it (é + ◌̣) is
			// safe here: in a text taken this way every other character is
			// ASCII, tabled or an emoji, none of them combining.
			m[r] = unicodeStages(string(r))
		}
	}
	simpleRunes = m
}

// isEmoji reports the emoji blocks, which the Unicode stages leave alone.
func isEmoji(r rune) bool { return r >= 0x1F300 && r <= 0x1FAFF }

// simpleText reports whether every non-ASCII character of s is an emoji or
// tabled.
func simpleText(s string) bool {
	simpleOnce.Do(loadSimpleRunes)
	for _, r := range s {
		if r < utf8.RuneSelf || isEmoji(r) {
			continue
		}
		if _, ok := simpleRunes[r]; !ok {
			return false
		}
	}
	return true
}

// isMarkup reports the characters of chat markup that wrap words.
func isMarkup(r rune) bool {
	switch r {
	case '|', '~', '*', '_', '`':
		return true
	}
	return false
}

// asciiKind classifies ASCII bytes for finish.
var asciiKind = func() (t [128]uint8) {
	for c := range t {
		switch {
		case c == '\n' || c == '\r':
			t[c] = kNewline
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
			t[c] = kSpace
		case c == '|' || c == '~' || c == '*' || c == '_' || c == '`':
			t[c] = kSpace // markup wraps words: it reads as a space
		case c < 0x20 || c == 0x7f:
			t[c] = kDrop
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
			t[c] = kLetter
		default:
			t[c] = kOther
		}
	}
	return t
}()

const (
	kOther uint8 = iota
	kLetter
	kSpace
	kNewline
	kDrop
)

// finisher holds the state of stages 5–8 over a text.
type finisher struct {
	dst          []byte
	start        int
	lineStart    bool
	pendingSpace bool
	last         rune // the last letter, for runs of one letter
	run          int
}

func (f *finisher) emit(r rune, letter bool) {
	if letter {
		if r == f.last {
			f.run++
			if f.run > 2 {
				return
			}
		} else {
			f.last, f.run = r, 1
		}
	} else {
		f.last, f.run = -1, 0
	}
	if f.pendingSpace && len(f.dst) > f.start {
		f.dst = append(f.dst, ' ')
	}
	f.pendingSpace = false
	if r < utf8.RuneSelf {
		f.dst = append(f.dst, byte(r))
	} else {
		f.dst = utf8.AppendRune(f.dst, r)
	}
}

func (f *finisher) space(newline bool) {
	f.pendingSpace = true
	f.lineStart = f.lineStart || newline
	f.last, f.run = -1, 0
}

func (f *finisher) ascii(c byte) {
	switch asciiKind[c] {
	case kLetter:
		f.lineStart = false
		f.emit(rune(c|0x20), true) // lower case
	case kSpace:
		f.space(false)
	case kNewline:
		f.space(true)
	case kDrop:
	default:
		if f.lineStart && c == '>' {
			f.space(false) // a quote marker
			return
		}
		f.lineStart = false
		f.emit(rune(c), false)
	}
}

// other handles a non-ASCII rune that has been through the Unicode stages.
func (f *finisher) other(r rune) {
	if cf, ok := confusables[r]; ok {
		r = cf
	}
	switch {
	case r < utf8.RuneSelf:
		f.ascii(byte(r))
	case r == 0x85 || r == 0x2028 || r == 0x2029:
		f.space(true)
	case unicode.IsSpace(r) || r == 0x2800:
		f.space(false)
	case invisible(r):
	default:
		f.lineStart = false
		f.emit(r, unicode.IsLetter(r))
	}
}

// finish applies stages 5–8 of Normalize to s and appends the result to dst.
// With table, s has not been through the Unicode stages: each non-ASCII
// character is first replaced by its tabled result (see simpleText).
func finish(dst []byte, s string, table bool) []byte {
	f := finisher{dst: dst, start: len(dst), lineStart: true, last: -1}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			f.ascii(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError {
			continue // invalid UTF-8 (or a replacement character: noise)
		}
		if table {
			if t, ok := simpleRunes[r]; ok {
				for _, r2 := range t {
					f.other(r2)
				}
				continue
			}
		}
		f.other(r)
	}
	return f.dst
}

// confusables folds letters of other scripts that look like Latin letters
// to those letters, and typographic apostrophes to '. It is a subset of the
// Unicode confusables data (UTS #39, confusables.txt,
// https://www.unicode.org/Public/security/latest/confusables.txt): the
// entries whose prototype is a single Latin letter or the apostrophe, taken
// after case folding, since the text is folded first. Where confusables.txt
// maps a small letter to a non-Latin prototype but its capital to a Latin
// letter (κ → ĸ, but Κ → K), the folded capital's entry is used (κ → k).
// Fullwidth, mathematical and circled letters are not here: NFKC already
// made them plain.
var confusables = map[rune]rune{
	// Cyrillic.
	'а': 'a', // 0430 CYRILLIC SMALL LETTER A
	'в': 'b', // 0432 (В → B)
	'г': 'r', // 0433 CYRILLIC SMALL LETTER GHE
	'е': 'e', // 0435 CYRILLIC SMALL LETTER IE
	'к': 'k', // 043A (К → K)
	'м': 'm', // 043C (М → M)
	'н': 'h', // 043D (Н → H)
	'о': 'o', // 043E CYRILLIC SMALL LETTER O
	'р': 'p', // 0440 CYRILLIC SMALL LETTER ER
	'с': 'c', // 0441 CYRILLIC SMALL LETTER ES
	'т': 't', // 0442 (Т → T)
	'у': 'y', // 0443 CYRILLIC SMALL LETTER U
	'х': 'x', // 0445 CYRILLIC SMALL LETTER HA
	'ь': 'b', // 044C (Ь → b)
	'ѕ': 's', // 0455 CYRILLIC SMALL LETTER DZE
	'і': 'i', // 0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
	'ј': 'j', // 0458 CYRILLIC SMALL LETTER JE
	'ѡ': 'w', // 0461 CYRILLIC SMALL LETTER OMEGA
	'ѵ': 'v', // 0475 CYRILLIC SMALL LETTER IZHITSA
	'ү': 'y', // 04AF CYRILLIC SMALL LETTER STRAIGHT U
	'һ': 'h', // 04BB CYRILLIC SMALL LETTER SHHA
	'ҽ': 'e', // 04BD CYRILLIC SMALL LETTER ABKHASIAN CHE
	'ӏ': 'i', // 04CF CYRILLIC SMALL LETTER PALOCHKA
	'ԁ': 'd', // 0501 CYRILLIC SMALL LETTER KOMI DE
	'ԍ': 'g', // 050D (Ԍ → G)
	'ԛ': 'q', // 051B CYRILLIC SMALL LETTER QA
	'ԝ': 'w', // 051D CYRILLIC SMALL LETTER WE
	// Greek.
	'α': 'a', // 03B1 GREEK SMALL LETTER ALPHA
	'β': 'b', // 03B2 (Β → B)
	'γ': 'y', // 03B3 GREEK SMALL LETTER GAMMA
	'ε': 'e', // 03B5 (Ε → E)
	'ζ': 'z', // 03B6 (Ζ → Z)
	'η': 'h', // 03B7 (Η → H)
	'ι': 'i', // 03B9 GREEK SMALL LETTER IOTA
	'κ': 'k', // 03BA (Κ → K)
	'μ': 'm', // 03BC (Μ → M)
	'ν': 'v', // 03BD GREEK SMALL LETTER NU
	'ο': 'o', // 03BF GREEK SMALL LETTER OMICRON
	'ρ': 'p', // 03C1 GREEK SMALL LETTER RHO
	'σ': 'o', // 03C3 GREEK SMALL LETTER SIGMA
	'τ': 't', // 03C4 (Τ → T)
	'υ': 'u', // 03C5 GREEK SMALL LETTER UPSILON
	'χ': 'x', // 03C7 (Χ → X)
	'ϲ': 'c', // 03F2 GREEK LUNATE SIGMA SYMBOL
	'ϳ': 'j', // 03F3 GREEK LETTER YOT
	// Armenian.
	'օ': 'o', // 0585 ARMENIAN SMALL LETTER OH
	'ս': 'u', // 057D ARMENIAN SMALL LETTER SEH
	'հ': 'h', // 0570 ARMENIAN SMALL LETTER HO
	'ո': 'n', // 0578 ARMENIAN SMALL LETTER VO
	'ց': 'g', // 0581 ARMENIAN SMALL LETTER CO
	// Latin look-alikes: IPA and small capitals.
	'ı': 'i', // 0131 LATIN SMALL LETTER DOTLESS I
	'ɑ': 'a', // 0251 LATIN SMALL LETTER ALPHA
	'ɡ': 'g', // 0261 LATIN SMALL LETTER SCRIPT G
	'ɣ': 'y', // 0263 LATIN SMALL LETTER GAMMA
	'ɩ': 'i', // 0269 LATIN SMALL LETTER IOTA
	'ɪ': 'i', // 026A LATIN LETTER SMALL CAPITAL I
	'ɯ': 'w', // 026F LATIN SMALL LETTER TURNED M
	'ʋ': 'u', // 028B LATIN SMALL LETTER V WITH HOOK
	'ʏ': 'y', // 028F LATIN LETTER SMALL CAPITAL Y
	'ᴄ': 'c', // 1D04 LATIN LETTER SMALL CAPITAL C
	'ᴏ': 'o', // 1D0F LATIN LETTER SMALL CAPITAL O
	'ᴜ': 'u', // 1D1C LATIN LETTER SMALL CAPITAL U
	'ᴠ': 'v', // 1D20 LATIN LETTER SMALL CAPITAL V
	'ᴡ': 'w', // 1D21 LATIN LETTER SMALL CAPITAL W
	'ᴢ': 'z', // 1D22 LATIN LETTER SMALL CAPITAL Z
	// Apostrophes.
	'\u2018': '\'', // LEFT SINGLE QUOTATION MARK
	'\u2019': '\'', // RIGHT SINGLE QUOTATION MARK
	'\u201B': '\'', // SINGLE HIGH-REVERSED-9 QUOTATION MARK
	'\u2032': '\'', // PRIME
	'\u02B9': '\'', // MODIFIER LETTER PRIME
	'\u02BB': '\'', // MODIFIER LETTER TURNED COMMA
	'\u02BC': '\'', // MODIFIER LETTER APOSTROPHE
	'\u02BD': '\'', // MODIFIER LETTER REVERSED COMMA
	'\uFF07': '\'', // FULLWIDTH APOSTROPHE (NFKC handles it; kept for safety)
}
