package crisis

import (
	"regexp"
	"strings"
	"sync"
)

// cue is the verb phrase that leads to a matched phrase, read from the words
// before it in its clause: "i want to | kill myself", "i'm going to | end it".
type cue uint8

const (
	cueNone     cue = iota
	cueDesire       // want to, thinking about, should, feel like
	cueWish         // wish i could, hope i
	cueNeed         // need to, have to
	cueIntent       // going to, will, plan to, ready to
	cueSoon         // about to
	cueAttempt      // tried to
	cueNear         // almost, nearly
	cueTopic        // talk about, read about, an article on
	cueProgress     // i'm …ing: under way ("i'm cutting", "im od'ing")
	numCues
)

// sevTable is a rule's severity for each cue; None means the rule does not
// match with that cue (a bare "die" is not crisis language; "want to die"
// is).
type sevTable [numCues]Severity

var (
	// actSev: a self-directed act ("kill myself"): ideation, intent when
	// intended, imminent when about to happen.
	actSev = sevTable{Elevated, Elevated, Elevated, Elevated, High, Imminent, Elevated, High, Gentle, Elevated}
	// methodSev: a named method, or overdose: thinking of it with a method
	// in mind is already high.
	methodSev = sevTable{Elevated, High, High, High, High, Imminent, Elevated, High, Gentle, High}
	// wishSev: words that are crisis language only after a wish or desire
	// ("want to | die", "wish i could | disappear forever").
	wishSev = sevTable{None, Elevated, Elevated, Elevated, None, None, None, None, None, None}
	// cueActSev: an act named too vaguely to count without a verb of intent
	// ("end it", "off myself", "self delete").
	cueActSev = sevTable{None, Elevated, Elevated, Elevated, High, Imminent, Elevated, High, Gentle, Elevated}
	// cueMethodSev: a method that needs a verb of intent ("od", "take all my
	// pills", "jump off a bridge").
	cueMethodSev = sevTable{None, High, High, None, High, Imminent, Elevated, High, Gentle, High}
	// activeSev: killing oneself named as an act of one's own ("kill
	// myself", "end my life"). Wanting it, thinking of it, wishing one
	// could, needing to is active ideation (C-SSRS 2 and above), high; the
	// bare words ("kill myself", "kms") and "i'm killing myself" (most
	// often hyperbole) stay elevated.
	activeSev = sevTable{Elevated, High, High, High, High, Imminent, Elevated, High, Gentle, Elevated}
	// cueActiveSev: the same act in words too vague to count without a
	// verb ("off myself", "self delete").
	cueActiveSev = sevTable{None, High, High, High, High, Imminent, Elevated, High, Gentle, Elevated}
	// silent: a rule that never matches alone, only as a part of another
	// reading (fMeans: "i have pills" is everyday; with "i want to kill
	// myself" it is means at hand).
	silent = sevTable{}
)

// fixed is a severity whatever the cue (the pattern carries its own grammar),
// except that a topic ("an article about …") is gentle.
func fixed(s Severity) sevTable {
	t := sevTable{}
	for i := range t {
		t[i] = s
	}
	t[cueTopic] = Gentle
	return t
}

type flag uint32

const (
	fSelf           flag = 1 << iota // the phrase names the writer ("myself", "my life"): idioms never silence it
	fSubject                         // read who it is about: someone else → gentle
	fNeedSelf                        // not when it is about someone or something else ("it's a burden"); "tired of being a burden" is the writer
	fNeedSelfStrict                  // only when the writer is named as its subject ("i should kys", not "kys")
	fOthers                          // about someone else, or bereavement: always gentle
	fNoSqueeze                       // not matched with doubled letters squeezed ("odd" is not "od")
	fWishPassive                     // after a wish cue it is a passive wish
	fAttempt                         // an attempt: high when recent
	fNow                             // "now", "right now" makes it imminent
	fNotAfterNumber                  // "5 kms" is a distance
	fClauseEnd                       // only at the end of its clause ("i wrote a note.")
	fNowAny                          // "now", "this is it" makes it imminent whatever the cue ("the rope is tied. this is it")
	fTakenNow                        // taken within the day ("i overdosed tonight"): imminent
	fWayOut                          // "the easiest way out" makes it high
	fVague                           // venting as much as crisis: a laugh ("lol") after it means it is not crisis language
	fActive                          // active ideation or intent to kill oneself: a time soon makes it imminent, and so do means at hand
	fPassiveTimed                    // a passive wish ("want to die"): a time soon, or means at hand, make it high
	fMeans                           // means at hand ("i have pills", "i bought a rope"): with fActive in the message, imminent
)

type rule struct {
	name  string
	cat   Category
	sev   sevTable
	keys  []string // prefilter stems, at least one of which every match contains
	pat   string
	flags flag
	// unless: what follows the match that makes it something else
	// ("cut myself | shaving"). unlessLeft: what comes before it ("can you |
	// take care of my cat for me"). near: words one of which must be
	// somewhere in the message.
	// unlessNear: words anywhere in the message that make it something
	// else ("see you next week").
	// gentleIf: what follows the match that makes it hyperbole, lowering it
	// to gentle without silencing it ("killing myself studying").
	unless, unlessLeft, near, unlessNear, gentleIf string

	// Compiled, each for plain views and for squeezed ones.
	tp                               tokPair // the pattern, tried at the start of each word
	unlessRe, unlessLeftRe, gentleRe *rePair
	nearTP, unlessNearTP             *tokPair
}

// rePair is a regexp compiled for plain views and for squeezed ones.
type rePair struct{ plain, squeezed *regexp.Regexp }

func (p *rePair) in(v *view) *regexp.Regexp {
	if v.squeezed {
		return p.squeezed
	}
	return p.plain
}

func compileRe(p string) *rePair {
	return &rePair{regexp.MustCompile(p), regexp.MustCompile(squeezeRegexp(p))}
}

// tokPair is a tokPat compiled for plain views and for squeezed ones.
type tokPair struct{ plain, squeezed tokPat }

func (p *tokPair) in(v *view) *tokPat {
	if v.squeezed {
		return &p.squeezed
	}
	return &p.plain
}

func compileTokPair(pattern string) *tokPair {
	plain, squeezed := compileTok(pattern)
	return &tokPair{plain, squeezed}
}

// expand turns the notation the patterns are written in into a regexp: a
// space means the words may also be run together ("kill myself",
// "killmyself"), and an apostrophe may be left out ("i'm", "im").
func expand(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			i++
			b.WriteByte(p[i])
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
		case c == ' ':
			b.WriteString(" ?")
		case c == '\'':
			b.WriteString("'?")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// squeezeRegexp collapses doubled literal letters in a regexp written by
// expand, so that it matches a squeezed view ("kill" → "kil").
func squeezeRegexp(p string) string {
	var b strings.Builder
	inClass := false
	var prev byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			i++
			b.WriteByte(p[i])
			prev = 0
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
		case isLowerASCII(c) && c == prev:
			continue
		}
		b.WriteByte(c)
		if isLowerASCII(c) && !inClass {
			prev = c
		} else {
			prev = 0
		}
	}
	return b.String()
}

type engine struct {
	rules    []*rule
	trie     *prefixTrie // prefixes of the rules' alternatives, for plain views
	trieSq   *prefixTrie // and for squeezed views
	pre      *automaton
	ruleKeys ruleSet // keys of all rules (the prefilter also holds vocabulary)
	idioms   *tokPair
}

var eng = newEngine()

// vocabularyBit marks the prefilter's vocabulary words, which trigger no rule.
const vocabularyBit = maxRules - 1

func newEngine() *engine {
	e := &engine{}
	if len(rules) >= maxRules {
		panic("crisis: too many rules for the prefilter's sets")
	}
	keys := map[string]ruleSet{}
	for i := range rules {
		r := &rules[i]
		if len(r.keys) == 0 {
			panic("crisis: rule " + r.name + " has no prefilter key")
		}
		e.ruleKeys.add(i)
		for _, k := range r.keys {
			k = squeezeKey(k)
			set := keys[k]
			set.add(i)
			keys[k] = set
		}
	}
	for _, k := range vocabulary {
		k = squeezeKey(k)
		set := keys[k]
		set.add(vocabularyBit)
		keys[k] = set
	}
	e.pre = newAutomaton(keys)
	for i := range rules {
		r := &rules[i]
		r.tp = *compileTokPair(r.pat)
		if r.unless != "" {
			r.unlessRe = compileRe(`^ (?:` + expand(r.unless) + `)(?: |$)`)
		}
		if r.gentleIf != "" {
			r.gentleRe = compileRe(`^ (?:` + expand(r.gentleIf) + `)(?: |$)`)
		}
		if r.unlessLeft != "" {
			r.unlessLeftRe = compileRe(`(?:^| )(?:` + expand(r.unlessLeft) + `) $`)
		}
		if r.near != "" {
			r.nearTP = compileTokPair(r.near)
		}
		if r.unlessNear != "" {
			r.unlessNearTP = compileTokPair(r.unlessNear)
		}
		e.rules = append(e.rules, r)
	}
	e.trie, e.trieSq = newPrefixTrie(), newPrefixTrie()
	for i, r := range e.rules {
		for j := range r.tp.plain.alts {
			ref := altRef{int32(i), int32(j)}
			if ps := r.tp.plain.alts[j].prefixes; ps != nil {
				for _, p := range ps {
					e.trie.insert(p, ref)
				}
			} else {
				e.trie.loose = append(e.trie.loose, ref)
			}
			if ps := r.tp.squeezed.alts[j].prefixes; ps != nil {
				for _, p := range ps {
					e.trieSq.insert(p, ref)
				}
			} else {
				e.trieSq.loose = append(e.trieSq.loose, ref)
			}
		}
	}
	e.trie.freeze()
	e.trieSq.freeze()
	e.idioms = compileTokPair(strings.Join(idioms, "|"))
	return e
}

// bufs holds normalization buffers, so that an ordinary message is checked
// without allocating.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Detect reads one message.
func Detect(text string) Result {
	bp := bufs.Get().(*[]byte)
	b := appendNormalized((*bp)[:0], text)
	r := detect(eng, b)
	*bp = b[:0]
	bufs.Put(bp)
	return r
}

// detect reads a normalized message. The prefilter runs on it as it is (a
// []byte for Detect's pooled buffer: nothing is allocated unless a key is
// found).
func detect[T string | []byte](e *engine, b T) Result {
	return detectMarked(e, b).all
}

// A verdict is the most severe reading of a text, and the most severe among
// the phrases that end after its boundary mark (see boundaryMark); without a
// mark the two are the same.
type verdict struct {
	all, current Result
	// parts of a reading made of two phrases (means at hand with intent):
	// found anywhere, found ending in the current message; meansCat is
	// the category of the means (overdose for pills).
	parts, partsCur part
	meansCat        Category
}

// A part is one half of a combined reading.
type part uint8

const (
	partActive  part = 1 << iota // active ideation or intent to kill oneself, high or more
	partPassive                  // a passive wish to be dead, elevated
	partMeans                    // means at hand, said of oneself
)

// combine raises a verdict when its parts together say more than each
// phrase alone (C-SSRS: ideation with means at hand): intent or active
// ideation with the means at hand is imminent; a wish to be dead with the
// means at hand is high. The current reading is raised only when one of the
// parts is in the current message.
func (vd *verdict) combine() {
	raise := func(r *Result, parts part) {
		if parts&partMeans == 0 {
			return
		}
		cat := vd.meansCat
		if cat != Overdose {
			cat = ImminentDanger
		}
		switch {
		case parts&partActive != 0 && r.Severity < Imminent:
			*r = Result{Matched: true, Severity: Imminent, Category: cat}
		case parts&partPassive != 0 && r.Severity < High:
			if cat == ImminentDanger {
				cat = MethodPlan
			}
			*r = Result{Matched: true, Severity: High, Category: cat}
		}
	}
	raise(&vd.all, vd.parts)
	if vd.partsCur != 0 {
		raise(&vd.current, vd.parts)
	}
}

// boundaryMark separates, in a Window's joined text, the earlier messages
// from the current one. Normalize never leaves it in a text.
const boundaryMark = "\x00"

func detectMarked[T string | []byte](e *engine, b T) verdict {
	found := scan(e.pre, b)
	leet, hasLeet := "", false
	if mayHaveLeet(b) {
		if leet, hasLeet = leetFold(string(b)); hasLeet {
			more := scan(e.pre, leet)
			found.or(&more)
		}
	}
	if !found.intersects(&e.ruleKeys) {
		return verdict{}
	}
	return e.detectViews(string(b), leet, hasLeet, &found)
}

func (e *engine) detectViews(s, leet string, hasLeet bool, found *ruleSet) verdict {
	var vd verdict
	for _, v := range buildViews(s, leet, hasLeet) {
		e.scanView(v, found, &vd)
		if vd.all.Severity == Imminent && vd.current.Severity == Imminent {
			break
		}
	}
	vd.combine()
	return vd
}

// buildViews returns the views of a normalized text that are matched: as
// written, leet-folded (when it has leet), with spelled-out letters joined,
// each followed by its squeezed form when that differs.
func buildViews(s, leet string, hasLeet bool) []*view {
	views := make([]*view, 0, 6)
	add := func(v *view) {
		views = append(views, v)
		if sq := v.squeeze(); sq != nil {
			views = append(views, sq)
		}
	}
	add(buildView(s))
	src := s
	if hasLeet {
		add(buildView(leet))
		src = leet
	}
	if joined, ok := joinSpaced(src); ok {
		add(buildView(joined))
	}
	return views
}

// scanView tries, at each word of v, the alternatives of the rules the
// prefilter found keys for whose literal prefix the word starts with, and
// keeps the most severe readings.
func (e *engine) scanView(v *view, found *ruleSet, vd *verdict) {
	trie := e.trie
	if v.squeezed {
		trie = e.trieSq
	}
	try := func(ref altRef, start int) {
		if vd.current.Severity == Imminent {
			return
		}
		r := e.rules[ref.rule]
		if v.squeezed && r.flags&fNoSqueeze != 0 {
			return
		}
		end := r.tp.in(v).altAt(int(ref.alt), v.s, start)
		if end < 0 {
			return
		}
		res, part, ok := e.judge(r, v, start, end)
		if part != 0 {
			cur := v.tokenAt(end-1) >= v.mark
			vd.parts |= part
			if cur {
				vd.partsCur |= part
			}
			if part&partMeans != 0 && (vd.meansCat == "" || r.cat == Overdose) {
				vd.meansCat = r.cat
			}
		}
		if !ok {
			return
		}
		if better(res, vd.all) {
			vd.all = res
		}
		if v.tokenAt(end-1) >= v.mark && better(res, vd.current) {
			vd.current = res
		}
	}
	for i := 0; i < len(v.start) && vd.current.Severity < Imminent; i++ {
		start := v.start[i]
		trie.walk(v.s[start:], found, func(ref altRef) { try(ref, start) })
		for _, ref := range trie.loose {
			try(ref, start)
		}
	}
}

// better reports whether a is a more severe reading than b or, as severe,
// of a more specific category.
func better(a, b Result) bool {
	if a.Severity != b.Severity {
		return a.Severity > b.Severity
	}
	return categoryRank[a.Category] > categoryRank[b.Category]
}

// categoryRank orders categories from the most specific: on equal severity
// "ya no aguanto más, quiero morirme" is ideation before it is hopelessness.
var categoryRank = map[Category]int{
	ImminentDanger: 8, Overdose: 7, MethodPlan: 6, Goodbye: 5, SelfHarm: 4, Ideation: 3, PassiveWish: 2, Hopelessness: 1,
}

// judge reads a match in its context and decides its severity. It also
// says which part of a combined reading the match is (see verdict.combine),
// even for a silent rule, which never matches alone.
func (e *engine) judge(r *rule, v *view, start, end int) (res Result, p part, ok bool) {
	res, p, ok = e.judge1(r, v, start, end)
	if !ok || res.Severity <= Gentle {
		p &^= partActive | partPassive
	}
	return res, p, ok
}

func (e *engine) judge1(r *rule, v *view, start, end int) (Result, part, bool) {
	var means part
	toks, inf := v.ctx.bareTokens(), v.ctx.infos()
	t0, t1 := v.tokenAt(start), v.tokenAt(end-1)+1
	rd := read(v.ctx, t0, t1)

	if r.flags&fNotAfterNumber != 0 && t0 > 0 && isNumber(toks[t0-1]) {
		return Result{}, 0, false
	}
	if r.flags&fClauseEnd != 0 && t1 < len(toks) && toks[t1] != "." && inf[t1].flags&(wLaugh|wRetraction|wNowWord) == 0 {
		return Result{}, 0, false
	}
	if r.unlessRe != nil && r.unlessRe.in(v).MatchString(v.s[end:]) {
		return Result{}, 0, false
	}
	if r.unlessLeftRe != nil && r.unlessLeftRe.in(v).MatchString(v.s[max(0, start-80):start]) {
		return Result{}, 0, false
	}
	if r.nearTP != nil && !r.nearTP.in(v).findIn(v, 0, v.ntok(), start, end) {
		return Result{}, 0, false
	}
	if r.unlessNearTP != nil && r.unlessNearTP.in(v).findIn(v, 0, v.ntok(), -1, -1) {
		return Result{}, 0, false
	}
	if rd.accident {
		return Result{}, 0, false
	}

	sev := r.sev[rd.cue]
	if r.flags&fMeans != 0 && !rd.negated && !rd.past && !rd.retracted && !rd.reported && rd.cue != cueTopic &&
		(rd.subject == subjSelf || rd.subject == subjUnknown) && r.flags&fOthers == 0 {
		means = partMeans // "i have pills": said of oneself, now
	}
	if sev == None {
		return Result{}, means, false
	}
	if r.flags&fNeedSelf != 0 && rd.subject != subjSelf && rd.subject != subjUnknown {
		return Result{}, 0, false
	}
	if r.flags&fNeedSelfStrict != 0 && rd.subject != subjSelf {
		return Result{}, 0, false
	}
	if (r.flags&fVague != 0 || rd.causative) && rd.laugh {
		// Venting, or "X makes me want to die lol": hyperbole about X.
		return Result{}, 0, false // "i can't do this anymore lol my toddler won't nap"
	}
	self := r.flags&fSelf != 0
	weak := !self && rd.cue == cueNone && r.flags&fOthers == 0
	if weak && rd.subject == subjThing {
		return Result{}, 0, false // "a song about suicide"
	}
	if weak && e.idioms.in(v).overlaps(v, t0, t1, 6, start, end) {
		return Result{}, 0, false
	}

	cat := r.cat
	switch {
	case rd.cue == cueWish && r.flags&fWishPassive != 0:
		cat = PassiveWish
	case (rd.cue == cueIntent || rd.cue == cueNear) && cat == Ideation:
		cat = MethodPlan // stated intent is a plan: "i'm going to kill myself on friday"
	}
	if (rd.cue == cueAttempt || r.flags&fAttempt != 0) && rd.recent && !rd.past {
		sev = max(sev, High)
	}
	if r.flags&fWayOut != 0 && rd.wayOut {
		sev = max(sev, High)
	}
	if r.flags&fTakenNow != 0 && rd.immediate && !rd.past && takenForm(v.s[start:end]) {
		sev = Imminent
	}
	if rd.now && (r.flags&fNowAny != 0 || r.flags&fNow != 0 && (rd.cue == cueIntent || rd.cue == cueSoon || rd.cue == cueProgress)) {
		sev = Imminent
	}
	hyperbole := r.gentleRe != nil && r.gentleRe.in(v).MatchString(v.s[end:])
	lowered := rd.negated || rd.past || rd.retracted || rd.reported || rd.cue == cueTopic || rd.subject == subjOther
	if rd.timed && !hyperbole && !lowered && sev >= Elevated {
		switch {
		case r.flags&fActive != 0:
			sev = Imminent // "i want to kill myself tonight", "gonna od after this session"
		case r.flags&fPassiveTimed != 0 && (rd.cue == cueDesire || rd.cue == cueWish || rd.cue == cueNeed):
			sev = max(sev, High) // "i want to die tonight"
		}
	}
	if sev == Imminent && (cat == Ideation || cat == MethodPlan) {
		cat = ImminentDanger // about to happen, or under way
	}
	switch {
	case r.flags&fOthers != 0, rd.negated, rd.past, rd.cue == cueTopic, rd.subject == subjOther && !self, rd.reported:
		sev = Gentle
	case rd.retracted && sev < Imminent:
		sev = Gentle
	case hyperbole && sev < Imminent:
		sev = Gentle // hyperbole: "i'm killing myself studying for this exam"
	}
	p := means
	switch {
	case r.flags&fActive != 0 && sev >= High:
		p |= partActive
	case r.flags&(fActive|fPassiveTimed) != 0 && sev >= Elevated:
		p |= partPassive
	}
	return Result{Matched: true, Severity: sev, Category: cat}, p, true
}

// takenForm reports whether a match names something already done
// ("overdosed", "od'd"), not intended.
func takenForm(m string) bool {
	return strings.HasSuffix(m, "ed") || strings.HasSuffix(m, "'d")
}

func isNumber(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return numberWords[t]
		}
	}
	return true
}
