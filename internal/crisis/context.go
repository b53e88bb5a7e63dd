package crisis

import (
	"sort"
	"strings"
)

// A reading is what the words around a match say about it. All word lists
// here are written without apostrophes, as bareTokens gives them.
type reading struct {
	cue       cue
	subject   subject
	negated   bool // "not", "never", "don't" govern it
	past      bool // "used to", "last year", "when i was 15", "2 years clean"
	recent    bool // "last night", "today", "just", "an hour ago"
	now       bool // "now", "right now", "rn", "this is it"
	immediate bool // within the day: "tonight", "just", "an hour ago"
	laugh     bool // "lol", "lmao", 😂, 💀: not a retraction (laughter often masks)
	retracted bool // "jk", "just kidding": the writer takes it back
	wayOut    bool // "the easiest way out"
	accident  bool // "accidentally"
	causative bool // "this heat makes me want to …": something made the writer feel it
	// timed: a time soon, attached to the act ("kill myself tonight",
	// "tonight i'm going to", "after this session"), not to a feeling
	// that has passed ("i wanted to die today").
	timed bool
	// reported: someone else's words, or a song's, quoted in the first
	// person ("she said i want to kill myself").
	reported bool
}

type subject uint8

const (
	subjUnknown   subject = iota
	subjSelf              // i, me, my
	subjOther             // she, my friend, you, we
	subjThing             // a song, an article: a topic
	subjNonPerson         // it, this, that: not a person ("it's a burden")
)

const (
	maxLeft  = 12 // words read before a match, within its clause
	maxRight = 8  // words read after it
)

// Each word's part in reading a context, looked up once per word.
type wordFlag uint32

const (
	wFiller wordFlag = 1 << iota
	wLike
	wLikeKeeper
	wFirstPerson
	wOther
	wThing
	wNonPerson
	wNegSkip
	wNegator
	wNo
	wNoNotNegation
	wClauseBreak
	wLaugh
	wRetraction
	wRelapse
	wThirdPersonCue
	wNowWord
)

// Kinds of marker phrases.
type marker uint16

const (
	mPast marker = 1 << iota
	mRecent
	mImmediate
	mNow
	mWayOut
	mAfterNeg
	mRetract
	mRecovery
	mAsked // "asked if i ever", "screened for": someone else's question, reported
	mWhen  // "tonight", "after this session": when an act is to happen (see reading.timed)
)

type markerPhrase struct {
	words []string
	kind  marker
}

type wordInfo struct {
	flags   wordFlag
	markers []markerPhrase // marker phrases that begin with this word
	cues    []cuePhrase    // cue phrases that end with this word, longest first
}

var noInfo = &wordInfo{}

// lexicon maps a word to its part; built at init from the lists below.
var lexicon = buildLexicon()

func lookup(w string) *wordInfo {
	if in, ok := lexicon[w]; ok {
		return in
	}
	if strings.HasPrefix(w, "haha") || strings.HasPrefix(w, "hehe") || strings.HasPrefix(w, "lmao") {
		return laughInfo
	}
	return noInfo
}

var laughInfo = &wordInfo{flags: wLaugh}

func buildLexicon() map[string]*wordInfo {
	lex := map[string]*wordInfo{}
	get := func(w string) *wordInfo {
		in := lex[w]
		if in == nil {
			in = &wordInfo{}
			lex[w] = in
		}
		return in
	}
	for f, words := range map[wordFlag]string{
		wFiller: fillers, wLike: "like", wLikeKeeper: likeKeepers, wFirstPerson: firstPersonWords,
		wOther: otherWords, wThing: thingWords, wNonPerson: nonPersonWords, wNegSkip: negationSkip,
		wNegator: negatorWords, wNo: "no", wNoNotNegation: noNotNegation, wClauseBreak: clauseBreaks,
		wLaugh: laughWords, wRetraction: retractionWords, wRelapse: relapseWords,
		wThirdPersonCue: thirdPersonCues, wNowWord: "now rn tonight",
	} {
		for _, w := range strings.Fields(words) {
			get(w).flags |= f
		}
	}
	for kind, phrases := range map[marker][]string{
		mPast: pastMarkers, mRecent: recentMarkers, mImmediate: immediateMarkers, mNow: nowMarkers,
		mWayOut: wayOutMarkers, mAfterNeg: afterNegations, mRetract: retractionPhrases, mRecovery: recoveryMarkers,
		mAsked: askedMarkers, mWhen: whenMarkers,
	} {
		for _, p := range phrases {
			w := strings.Fields(p)
			in := get(w[0])
			in.markers = append(in.markers, markerPhrase{w, kind})
		}
	}
	for _, c := range cuePhrases { // already longest first
		in := get(c.words[len(c.words)-1])
		in.cues = append(in.cues, c)
	}
	return lex
}

// read looks at the words of v (a context view) around tokens [t0, t1).
func read(v *view, t0, t1 int) reading {
	var rd reading
	toks, inf := v.bareTokens(), v.infos()
	// The clause: back to a sentence boundary or a "but".
	cs := t0
	for cs > 0 && t0-cs < maxLeft && toks[cs-1] != "." && inf[cs-1].flags&wClauseBreak == 0 {
		cs--
	}
	// Words after the match, past one sentence boundary ("suicidal? not
	// anymore", "i want to die. jk").
	re := t1
	for dots := 0; re < len(toks) && re-t1 < maxRight; re++ {
		if toks[re] == "." {
			if dots++; dots > 1 {
				break
			}
		}
	}
	filler := func(i int) bool {
		f := inf[i].flags
		if f&wLike != 0 {
			// "like" is a filler ("i want to like die") except in "feel
			// like", "would like to".
			return !(i > 0 && inf[i-1].flags&wLikeKeeper != 0)
		}
		return f&wFiller != 0
	}

	// The cue: a verb phrase right before the match, fillers aside.
	var buf [maxLeft]int
	left := buf[:0]
	for i := cs; i < t0; i++ {
		if !filler(i) {
			left = append(left, i)
		}
	}
	cueStart := t0
	if len(left) > 0 {
		for _, c := range inf[left[len(left)-1]].cues {
			if n := len(c.words); n <= len(left) && endsWith(toks, left, c.words) {
				rd.cue = c.kind
				cueStart = left[len(left)-n]
				break
			}
		}
		// "i'm cutting", "im od'ing", "i am killing myself": under way.
		if last := toks[left[len(left)-1]]; rd.cue == cueNone && (last == "im" || last == "am") &&
			(strings.HasSuffix(toks[t0], "ing") || strings.HasSuffix(toks[t0], "in")) {
			rd.cue = cueProgress
			cueStart = left[len(left)-1]
		}
	}
	// "this heat makes me (want to) die": something made the writer feel it.
	if cueStart >= 2 && toks[cueStart-1] == "me" {
		switch toks[cueStart-2] {
		case "makes", "made", "make", "making":
			rd.causative = true
		}
	}

	// Who it is about: the nearest person named before the match (the
	// cue's own words count: "imma", "telling me to").
	for i := t0 - 1; i >= cs && rd.subject == subjUnknown; i-- {
		switch f := inf[i].flags; {
		case f&wFirstPerson != 0:
			rd.subject = subjSelf
		case f&wOther != 0:
			rd.subject = subjOther
		case f&wThing != 0:
			rd.subject = subjThing
		case f&wNonPerson != 0:
			rd.subject = subjNonPerson
		}
	}
	if rd.subject == subjUnknown && rd.cue != cueNone && cueStart < t0 && inf[cueStart].flags&wThirdPersonCue != 0 {
		rd.subject = subjOther // "wants to": someone else
	}
	if rd.cue == cueProgress {
		rd.subject = subjSelf
	}

	// Negation: a negator governing the cue, or the match when there is no
	// cue, with only light words between ("i'm not really going to", "i
	// would never").
	for i, steps := cueStart-1, 0; i >= cs && steps < 6; i, steps = i-1, steps+1 {
		f := inf[i].flags
		if f&wNegSkip != 0 || filler(i) {
			continue
		}
		if f&wNegator != 0 || (f&wNo != 0 && !(i+1 < len(toks) && inf[i+1].flags&wNoNotNegation != 0)) ||
			(toks[i] == "longer" && i > 0 && toks[i-1] == "no") {
			rd.negated = true
		}
		break
	}

	// Markers, in one pass over the clause and the words after the match.
	var found marker
	nowFrom, nowTo := max(cs, t0-3), min(re, t1+5)
	for i := cs; i < re; i++ {
		in := inf[i]
		if i < t0 || i >= t1 {
			switch {
			case in.flags&wRetraction != 0:
				rd.retracted = true
			case in.flags&wLaugh != 0:
				rd.laugh = true
			}
			if i < t0 && (toks[i] == "accidentally" || toks[i] == "accidently") {
				rd.accident = true
			}
		}
		for _, m := range in.markers {
			n := len(m.words)
			if i+n > re || !equalWords(toks[i+1:i+n], m.words[1:]) {
				continue
			}
			outside := i+n <= t0 || i >= t1
			after := i >= t1
			switch m.kind {
			case mPast, mRecovery, mRetract:
				found |= m.kind
			case mRecent, mImmediate:
				if outside {
					found |= m.kind
				}
			case mNow:
				if i >= nowFrom && i+n <= nowTo {
					found |= m.kind
				}
			case mWayOut, mAfterNeg:
				if after {
					found |= m.kind
				}
			case mAsked:
				if i+n <= t0 {
					found |= m.kind
				}
			case mWhen:
				// Right after the match, fillers aside ("kill myself
				// tonight", "end it all right now"), or before its cue in
				// the clause ("tonight i'm going to"; a bare "now" there
				// is a discourse word: "and now i want to …").
				if (i >= t1 && i <= t1+3 && allFillers(t1, i, func(j int) bool { return filler(j) || toks[j] == "bad" }) && !(n == 1 && toks[i] == "now" && i+1 < len(toks) && toks[i+1] == "that")) ||
					(i+n <= cueStart && !(n == 1 && toks[i] == "now")) {
					found |= m.kind
				}
			}
		}
	}
	if found&mAsked != 0 {
		rd.cue = cueTopic // the question was someone else's
	}
	// A time counts only for an act still to come: not after a cue in the
	// past ("i wanted to die today", "i thought about it tonight"), nor an
	// attempt or a near miss.
	if found&mWhen != 0 && rd.cue != cueAttempt && rd.cue != cueNear && rd.cue != cueTopic && !pastCueWords[toks[cueStart]] {
		rd.timed = true
	}
	// Reported speech: "she said i want to kill myself", "the song goes
	// 'i want to end my life'". Someone else's (or a song's) words, quoted
	// in the first person: not the writer's.
	if rd.subject == subjSelf && reportedBy(toks, inf, cs, t0) {
		rd.reported = true
	}
	rd.negated = rd.negated || found&mAfterNeg != 0
	rd.retracted = rd.retracted || found&mRetract != 0
	rd.recent = found&mRecent != 0
	rd.immediate = found&mImmediate != 0
	rd.now = found&mNow != 0
	rd.wayOut = found&mWayOut != 0
	rd.past = found&mPast != 0 || hasYear(toks, cs, re)
	if !rd.past && (found&mRecovery != 0 || recoveryCount(toks, cs, re)) {
		// "2 years clean", unless the message says it ended: "i relapsed".
		relapse := false
		for _, in := range inf {
			if in.flags&wRelapse != 0 {
				relapse = true
				break
			}
		}
		rd.past = !relapse
	}
	if !rd.past && !rd.recent && rd.cue == cueNone && cueStart > cs {
		// "i was suicidal": a past state, unless something says it is recent.
		j := cueStart - 1
		for j > cs && (filler(j) || toks[j] == "very") {
			j--
		}
		if toks[j] == "was" || toks[j] == "were" {
			rd.past = true
		}
	}
	return rd
}

// allFillers reports whether the words in [from, to) are all fillers.
func allFillers(from, to int, filler func(int) bool) bool {
	for i := from; i < to; i++ {
		if !filler(i) {
			return false
		}
	}
	return true
}

// pastCueWords begin a cue in the past: a time after it is when the feeling
// was, not when an act is to happen.
var pastCueWords = wordSet("wanted thought felt was were had used")

// reportVerbs introduce someone's words: "she said", "my friend texted me",
// "the song goes".
var reportVerbs = wordSet(`said says say told tells texted texts wrote writes posted posts messaged messages
	goes go went sings sang sing screamed yelled shouted whispered quoted quotes tweeted dmd replied replies`)

var quoteLeadIn = wordSet("me us that to like so")

// reportedBy reports whether a first-person match is someone else's words:
// a reporting verb before it whose speaker, the nearest person or thing
// before the verb in the clause, is not the writer ("my friend told me",
// "the song goes"; not "i told my therapist").
func reportedBy(toks []string, inf []*wordInfo, cs, t0 int) bool {
	for i := t0 - 1; i > cs; i-- {
		if !reportVerbs[toks[i]] {
			continue
		}
		// The quote begins right after the verb: "told me | i want to",
		// not "he said he loves me and i want to".
		k := i + 1
		for k < t0 && quoteLeadIn[toks[k]] {
			k++
		}
		if k > t0 || inf[k].flags&wFirstPerson == 0 {
			return false
		}
		for j := i - 1; j >= cs && i-j <= 4; j-- {
			switch f := inf[j].flags; {
			case f&wFirstPerson != 0:
				return false
			case f&(wOther|wThing) != 0:
				return true
			}
		}
		return false
	}
	return false
}

func equalWords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// endsWith reports whether the words at idx end with words.
func endsWith(toks []string, idx []int, words []string) bool {
	off := len(idx) - len(words)
	for i, w := range words {
		if toks[idx[off+i]] != w {
			return false
		}
	}
	return true
}

// hasYear finds "in 2019", "back in 1998".
func hasYear(toks []string, from, to int) bool {
	to = min(to, len(toks))
	for i := max(from, 1); i < to; i++ {
		t := toks[i]
		if len(t) == 4 && (strings.HasPrefix(t, "19") || strings.HasPrefix(t, "20")) && isNumber(t) && (toks[i-1] == "in" || toks[i-1] == "since") {
			return true
		}
	}
	return false
}

// recoveryCount finds "2 years clean", "100 days free", "3 months sober".
func recoveryCount(toks []string, from, to int) bool {
	to = min(to, len(toks))
	for i := max(from, 0); i+1 < to; i++ {
		switch toks[i] {
		case "day", "days", "week", "weeks", "month", "months", "year", "years":
			if i > 0 && (isNumber(toks[i-1]) || toks[i-1] == "a") {
				for j := i + 1; j < min(to, i+4); j++ {
					if toks[j] == "clean" || toks[j] == "free" || toks[j] == "sober" || toks[j] == "without" {
						return true
					}
				}
			}
		}
	}
	return false
}

type cuePhrase struct {
	words []string
	kind  cue
}

// cuePhrases are matched at the end of the words before a match, longest
// first.
var cuePhrases = func() []cuePhrase {
	list := [numCues][]string{
		cueSoon: {"about to", "bout to", "abt to", "getting ready to", "on the verge of", "moments away from",
			"on my way to"},
		cueNear: {"almost", "nearly", "came close to", "came so close to", "was about to", "was going to",
			"was gonna", "close to", "so close to"},
		cueAttempt: {"tried to", "try to", "trying to", "tryna", "attempted to", "attempt to", "attempting to",
			"tried", "attempted"},
		cueIntent: {"telling me to", "tells me to", "told me to", "tell me to", "commanding me to", "my plan is to",
			"time to", "its time to", "its time i", "time i", "about time i",
			"the plan is to", "plan is to", "going to", "gonna", "gunna", "goin to", "gon", "finna", "will", "ill", "shall", "ima", "imma",
			"plan to", "planning to", "planning on", "plan on", "planned to", "planned on", "decided to",
			"deciding to", "decide to", "intend to", "intending to", "determined to", "ready to", "prepared to",
			"preparing to", "made up my mind to", "set on", "committed to", "promise to", "promised to",
			"going to go", "will go", "have decided to", "gonna go"},
		cueDesire: {"want to", "wanna", "wan to", "want 2", "wnat to", "wana", "wamt to", "watn to", "want too", "whant to",
			"thinking abt", "thinkin abt", "thinking bout", "thinkin bout", "thinking of how to", "thinking about how to", "wants to", "wanted to", "wanting to",
			"would like to", "id like to", "feel like", "feeling like", "felt like", "feels like",
			"should", "ought to", "urge to", "urges to", "tempted to", "temptation to", "thinking about",
			"thinking of", "think about", "thought about", "thoughts of", "thoughts about", "thinkin about",
			"thinkin of", "considering", "contemplating", "deserve to", "deserves to", "long to", "longing to",
			"rather", "prefer to", "dream of", "dreaming of", "dreaming about", "dream about", "fantasize about",
			"fantasizing about", "fantasise about", "fantasising about", "obsessed with", "let me", "desire to",
			"impulse to", "impulses to", "itching to", "might", "may", "could just", "need to just",
			"idea of", "ideas of", "wish to", "want so bad to", "wanna go", "want to go", "can only think about",
			"keep thinking of", "plans to", "thinks about", "imagining", "imagine", "picturing", "picture",
			"imagined", "fantasies about", "fantasies of", "thoughts about", "think of", "dreams of", "dreams about",
			"easier to", "better to", "easier to just", "simpler to"},
		cueWish: {"wish i could", "wish i would", "wish id", "wish i can", "wish i", "wishing i could",
			"wishing i would", "wish that i could", "hope i", "hoping i", "hope that i", "pray i", "praying i",
			"pray that i", "if only i could", "i wish to"},
		cueNeed: {"need to", "needs to", "have to", "has to", "gotta", "got to", "must"},
		cueTopic: {"talk about", "talked about", "talking about", "talks about", "discuss", "discussed",
			"discussing", "read about", "reading about", "learn about", "learned about", "learning about",
			"learnt about", "article about", "article on", "documentary about", "documentary on", "video about",
			"video on", "podcast about", "podcast on", "book about", "book on", "questions about",
			"question about", "ask about", "asked about", "asking about", "research on", "research about",
			"training on", "training about", "class on", "course on", "lecture on", "presentation on",
			"essay on", "essay about", "paper on", "joke about", "jokes about", "joking about", "song about",
			"movie about", "film about", "show about", "episode about", "post about", "posts about",
			"stigma of", "stigma around", "stigma about", "myths about", "statistics on", "stats on",
			"awareness of", "educate people about", "write about", "wrote about", "writing about"},
	}
	var out []cuePhrase
	// Kinds in this order, then longest first: among phrases of one length
	// the earlier kind wins ("was about to" is near, "about to" soon).
	for _, kind := range []cue{cueSoon, cueNear, cueAttempt, cueIntent, cueWish, cueDesire, cueNeed, cueTopic} {
		for _, p := range list[kind] {
			out = append(out, cuePhrase{strings.Fields(p), kind})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].words) > len(out[j].words) })
	return out
}()

// Word lists. Single words are space-separated strings; phrases are lists.
const (
	clauseBreaks = "but though although however except pero"
	fillers      = `just really so actually honestly seriously literally kinda sorta fucking fuckin
		freaking frickin damn finally probably definitely totally truly still even also simply all badly lowkey
		highkey legit genuinely ever always sometimes often constantly again already tbh ngl idk maybe perhaps
		go quietly slowly peacefully quickly somehow secretly soon very too um uh well please now honestly
		srsly fr deadass rly realy rlly`
	likeKeepers      = "feel feeling felt feels would id wd"
	firstPersonWords = "i im ive id me my myself mine ima imma iam yo"
	thingWords       = `song songs movie movies film films show shows book books novel article articles video videos
		documentary podcast episode series story lyrics poem essay paper study research statistics stats rates
		rate training course class workshop lecture webinar presentation campaign game news report headline
		post meme leaflet pamphlet poster`
	thirdPersonCues = "wants plans thinks deserves feels needs has keeps"
	negationSkip    = `i im ive id am is are was be been being do does did would will could should gonna
		going to that thoughts thought of about thinking plan plans intention any feeling feel want wanna
		actively currently even ever`
	negatorWords = `not never dont doesnt didnt wont wouldnt isnt arent wasnt werent aint havent hasnt
		hadnt shouldnt nor neither nunca jamas cannot`
	noNotNegation   = "i im one way matter wonder doubt idea clue shit joke lie"
	laughWords      = "lol lolol lool lmao lmfao lmaoo xd rofl lel 😂 🤣 💀 😆 😹 😜 😝"
	retractionWords = "jk jkjk jking jks kidding"
	relapseWords    = "relapsed relapse relapsing slipped"
	nonPersonWords  = "it its this that thats which there theres"
)

// otherWords name someone other than the writer: pronouns, and people by
// relation (with plural and possessive: "friends", "dad's" → "dads").
var otherWords = func() string {
	words := strings.Fields(`he she they hes shes theyre theyve theyll hell shell him her them his hers their
		theirs himself herself themselves themself someone somebody anyone anybody everyone everybody people ppl
		person you your u ur youre yourself yall we us our ours ourselves ella ellos ellas alguien`)
	for _, n := range strings.Fields(`friend bestie bff brother bro sister sis sibling mom mum mother mommy mama mam
		dad father daddy papa parent son daughter kid child children baby partner wife husband spouse boyfriend
		girlfriend bf gf fiance fiancee ex cousin uncle aunt auntie nephew niece grandma grandpa grandmother
		grandfather grandparent nan nana granny teen teenager student client patient coworker colleague
		classmate roommate flatmate neighbor neighbour boss teacher guy girl man woman boy lady dude member
		character celebrity actor singer rapper hermano hermana padre madre amigo amiga hijo hija primo prima
		tio tia novio novia esposo esposa abuelo abuela companero`) {
		words = append(words, n, n+"s")
	}
	return strings.Join(words, " ")
}()

var numberWords = wordSet("one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred a few several")

// Marker phrases.
var (
	afterNegations = []string{"not anymore", "not any more", "no longer", "not really", "no more", "not now", "ya no",
		"urges 0", "urge 0", "urges zero", "urges none", "urges are 0", "urges are zero", "urges were 0",
		"urges at 0", "urges at zero", "free today", "free this week"}
	retractionPhrases = []string{"just kidding", "only kidding", "im kidding", "not serious", "not being serious",
		"j k", "just joking", "only joking", "im joking"}
	recoveryMarkers = []string{"clean for", "clean since", "clean from", "free for", "free since", "sober for",
		"sh free", "harm free", "clean today", "days clean", "weeks clean", "months clean", "years clean"}
	immediateMarkers = []string{"tonight", "just", "today", "this morning", "this afternoon", "this evening",
		"earlier", "hour ago", "hours ago", "minutes ago", "mins ago", "an hour ago", "last night", "right now",
		"now", "rn", "anoche", "hoy"}
	wayOutMarkers = []string{"way out", "only way", "only option", "only answer", "only solution", "best option",
		"easiest way", "only escape", "way to end"}
	pastMarkers = []string{"used to", "use to", "years ago", "year ago", "months ago", "long ago", "ages ago",
		"last year", "last summer", "last spring", "last fall", "last autumn", "last winter", "when i was",
		"when i were", "back when", "back then", "back in", "as a kid", "as a teen", "as a teenager", "as a child",
		"in high school", "in middle school", "in college", "in uni", "in university", "in the past",
		"in my past", "in my teens", "in my twenties", "years back", "survived", "survivor", "survivors",
		"recovery", "recovered", "anniversary", "history of", "after my attempt", "after my overdose",
		"since my attempt", "since my overdose", "hace un ano", "hace anos", "hace mucho",
		"cuando era", "cuando tenia", "el ano pasado", "once tried", "once attempted", "previous", "previously",
		"former", "formerly", "when i was younger", "as a young", "after my suicide attempt", "since my suicide attempt"}
	recentMarkers = []string{"last night", "yesterday", "this morning", "this afternoon", "this evening",
		"today", "tonight", "earlier", "just", "hour ago", "hours ago", "minutes ago", "mins ago", "day ago",
		"days ago", "week ago", "weeks ago", "last week", "this week", "recently", "an hour ago", "anoche", "hoy"}
	askedMarkers = []string{"asked if", "asked me if", "asked whether", "asked me whether", "asks if", "asks me if",
		"ask if", "ask me if", "asking if", "asking me if", "asked about", "asks about", "screened for", "screening for",
		"assessed for", "questionnaire", "survey", "form asked", "intake form"}
	// whenMarkers are times soon enough that an act tied to them is
	// imminent (C-SSRS: intent with a plan and its timing). Written as
	// bareTokens gives them: no apostrophes.
	whenMarkers = []string{"tonight", "tonights", "tonite", "2nite", "2night", "today", "right now", "now", "rn",
		"as we speak", "this evening", "this afternoon", "this weekend", "this wkend", "tomorrow",
		"tmrw", "tmr", "tomorow", "in an hour", "in a few hours", "in a couple of hours", "in a few minutes",
		"in a minute", "in five minutes", "in ten minutes", "before morning", "before the morning",
		"before sunrise", "before dawn", "by morning", "by tomorrow", "after this session", "after the session",
		"after tonights session", "after todays session", "after this group", "after group", "after the group",
		"after the meeting", "after this meeting", "after this call", "after this chat", "after everyone leaves",
		"when everyone is asleep", "when everyones asleep", "when everyone goes to sleep",
		"while everyone sleeps", "while everyone is asleep", "while everyones asleep", "once everyone is asleep",
		"once everyones asleep", "when my parents are asleep", "when they are asleep", "when theyre asleep",
		"on friday", "on saturday", "on sunday", "on monday", "on tuesday", "on wednesday", "on thursday",
		"this friday", "this saturday", "this sunday", "this monday", "this tuesday", "this wednesday",
		"this thursday", "friday night", "saturday night", "esta noche", "hoy", "ahora", "ahorita", "ya mismo"}
	nowMarkers = []string{"now", "right now", "rn", "as we speak", "as i type", "as i write", "at this moment",
		"in a minute", "in a few minutes", "in five minutes", "ahora", "ya mismo", "this is it", "its time", "here goes",
		"here i go"}
)

// wordSet builds a set of the words in ws.
func wordSet(ws ...string) map[string]bool {
	m := map[string]bool{}
	for _, w := range ws {
		for _, f := range strings.Fields(w) {
			m[f] = true
		}
	}
	return m
}
