package crisis

import (
	"regexp/syntax"
	"testing"
)

// firedRules returns the rules that give a reading of text, through the
// whole path (prefilter, views, context).
func firedRules(text string) map[string]Result {
	out := map[string]Result{}
	s := Normalize(text)
	found := scan(eng.pre, s)
	leet, hasLeet := "", false
	if mayHaveLeet(s) {
		if leet, hasLeet = leetFold(s); hasLeet {
			more := scan(eng.pre, leet)
			found.or(&more)
		}
	}
	views := buildViews(s, leet, hasLeet)
	for _, v := range views {
		trie := eng.trie
		if v.squeezed {
			trie = eng.trieSq
		}
		for i := range v.start {
			start := v.start[i]
			try := func(ref altRef) {
				if !found.has(int(ref.rule)) {
					return
				}
				r := eng.rules[ref.rule]
				if v.squeezed && r.flags&fNoSqueeze != 0 {
					return
				}
				if end := r.tp.in(v).altAt(int(ref.alt), v.s, start); end >= 0 {
					res, part, ok := eng.judge(r, v, start, end)
					if ok && better(res, out[r.name]) {
						out[r.name] = res
					}
					if _, seen := out[r.name]; !seen && !ok && part != 0 {
						out[r.name] = Result{} // a silent rule: a part of a combined reading
					}
				}
			}
			trie.walk(v.s[start:], &found, try)
			for _, ref := range trie.loose {
				try(ref)
			}
		}
	}
	return out
}

// Every rule fires on an example of its own: a wrong prefilter key or a
// pattern that never matches fails here.
var ruleExamples = map[string]string{
	"took-pills":               "I swallowed all my pills",
	"took-them-now":            "took them all already. bye",
	"taking-them-all":          "i have pills and i'm taking them all tonight",
	"od-now":                   "od tonight",
	"have-pills":               "i have the pills",
	"have-means":               "i bought a knife",
	"want-to-kill-compact":     "iwanttokillmyself",
	"es-active":                "me quiero matar",
	"es-intent-when":           "esta noche me mato",
	"want-to-disappear":        "i just want to disappear",
	"overdosed-now":            "i just overdosed",
	"place":                    "I'm standing on the bridge",
	"high-place":               "i'm on the roof, i'm going to jump",
	"weapon-at-hand":           "the gun is in my mouth",
	"blade-in-hand":            "the razor is in my hand",
	"doing-it-now":             "doing it now, goodbye",
	"jump-bare":                "about to jump",
	"cut-too-deep":             "I cut too deep",
	"bleeding":                 "I cut and it won't stop bleeding",
	"take-all-pills":           "I'm going to take all my pills",
	"take-all-pills-at-once":   "take all my pills at once",
	"overdose":                 "I want to overdose",
	"od":                       "gonna od",
	"od-when":                  "od tonight",
	"stockpile":                "I've been stockpiling my pills",
	"counted-pills":            "I counted my pills to see if it's enough",
	"goodbye-bare":             "thank you for being my friends. goodbye.",
	"staring-at-means":         "I've been staring at the pills for an hour",
	"be-gone-soon":             "I'll be gone soon, don't worry about me",
	"death-way-out":            "there's no way out except death",
	"poison":                   "I drank bleach",
	"wrists-bleeding":          "my wrists are bleeding",
	"rather-dead-than":         "I'd rather be dead than keep feeling like this",
	"ready-to-die":             "I'm ready to die",
	"if-i-died-relief":         "if I died tomorrow it would be a relief",
	"why-bother-living":        "why bother living",
	"better-with-someone-else": "my kids would be better off with a different mom",
	"means-ready":              "I have the pills ready",
	"rope-noose":               "I bought a rope",
	"gun-ready":                "I loaded my dad's gun and I want to die",
	"note":                     "I wrote my suicide note",
	"note-for-family":          "I left a note for my family",
	"wrote-a-note":             "I wrote a note.",
	"decided-how":              "I decided how I'm going to do it",
	"decided-how-bare":         "I've decided how.",
	"picked-date":              "I've picked the date",
	"use-means":                "I keep thinking about using it, the gun is in the drawer",
	"do-it":                    "I'm going to do it tonight. I have the pills",
	"have-a-plan":              "I have a plan to kill myself",
	"researched-method":        "looking up the tallest bridges near me",
	"method-self":              "I want to hang myself",
	"method-jump":              "I want to jump off a bridge",
	"method-traffic":           "I want to walk into traffic",
	"this-is-goodbye":          "this is goodbye",
	"last-message":             "this is my last message",
	"wont-be-around":           "I won't be around much longer",
	"or-ever":                  "I won't be at group next week, or ever",
	"thank-you-goodbye":        "thank you all for everything. goodbye",
	"goodbye-sorry":            "goodbye everyone, i'm sorry",
	"love-before-i-go":         "I love you all, before I go",
	"affairs":                  "I sorted my will and left instructions for the dog",
	"wont-need-stuff":          "won't be needing my stuff soon",
	"pets-better-off":          "I gave my dog to my brother, he'll be better off",
	"giving-away":              "I'm giving away my things",
	"care-for-pets":            "please take care of my cat for me",
	"by-the-time":              "by the time you read this",
	"sorry-goodbye":            "sorry for everything, goodbye",
	"wont-have-to":             "you won't have to deal with me anymore",
	"es-goodbye":               "adiós para siempre",
	"harm-myself":              "I want to hurt myself",
	"self-harm":                "I self harm",
	"sh":                       "sh urges again",
	"harm-recovery":            "sh free for a month",
	"cutting":                  "cutting again",
	"injure-body":              "I burned my arm on purpose",
	"cut-intransitive":         "I cut again last night",
	"cut-bare":                 "I think I'm going to cut.",
	"want-to-cut":              "the urge to cut is so strong",
	"es-self-harm":             "me corto",
	"kill-myself":              "I want to kill myself",
	"kms":                      "kms",
	"kys-self":                 "i should just kys",
	"end-my-life":              "I want to end my life",
	"end-it-all":               "I want to end it all",
	"end-it":                   "I'm going to end it",
	"take-my-life":             "I want to take my own life",
	"commit-suicide":           "I want to commit suicide",
	"unalive-myself":           "unalive myself",
	"unalive":                  "thinking about unaliving",
	"self-delete":              "I want to self delete",
	"sewer-slide":              "sewer slide",
	"ctb":                      "ctb",
	"catch-the-bus":            "I want to catch the bus.",
	"s-word":                   "thinking about the s word",
	"my-death":                 "I keep imagining my own death",
	"death-relief":             "death would be a relief",
	"might-as-well":            "might as well be dead",
	"off-myself":               "I want to off myself",
	"yeet":                     "gonna yeet myself off a bridge",
	"want-to-die-compact":      "iwanttodie",
	"something-stupid":         "I'm going to do something stupid",
	"die":                      "I want to die",
	"suicide":                  "I'm suicidal",
	"attempt":                  "after my suicide attempt",
	"es-ideation":              "me quiero morir",
	"es-intent":                "voy a suicidarme",
	"wish-dead":                "I wish I was dead",
	"not-wake-up":              "I hope I don't wake up",
	"dont-want-wake":           "I don't want to wake up",
	"kill-me":                  "I wish someone would kill me",
	"better-off-dead":          "I'd be better off dead",
	"es-passive":               "quisiera desaparecer para siempre",
	"better-off-without-me":    "they'd be better off without me",
	"better-if-dead":           "it would be easier if I wasn't alive",
	"not-alive":                "why am I still alive",
	"researched-dose":          "what's a lethal dose of tylenol",
	"not-exist":                "I want to disappear forever",
	"es-not-live":              "no quiero vivir",
	"burden":                   "I'm a burden",
	"no-reason":                "there's no reason to live",
	"dont-want-live":           "I don't want to live",
	"want-it-over":             "I want it all to end",
	"want-it-over-vague":       "nothing will ever get better, I want it to be over",
	"no-future":                "I have no future",
	"wouldnt-care":             "I wouldn't care if I died",
	"cant-go-on":               "I can't go on anymore",
	"cant-go-on-bare":          "I can't go on.",
	"tired-of-living":          "I'm tired of life",
	"no-one-would-care":        "no one would miss me",
	"es-hopeless":              "soy una carga",
	"others-act":               "he killed himself",
	"others-harm":              "she's cutting herself",
	"bereavement":              "my brother died by suicide",
}

func TestEveryRuleFires(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.name] {
			t.Errorf("two rules are named %q", r.name)
		}
		seen[r.name] = true
		ex, ok := ruleExamples[r.name]
		if !ok {
			t.Errorf("rule %q has no example", r.name)
			continue
		}
		if _, ok := firedRules(ex)[r.name]; !ok {
			t.Errorf("rule %q does not fire on its example %q (fired: %v)", r.name, ex, firedRules(ex))
		}
	}
	for name := range ruleExamples {
		if !seen[name] {
			t.Errorf("example for unknown rule %q", name)
		}
	}
}

// Each alternative of each pattern compiles to a small program: large
// alternations run on Go's slower NFA instead of its backtracker.
func TestPatternsStaySmall(t *testing.T) {
	t.Logf("%d rules; prefilter automaton: %d states, %d KB of transitions",
		len(eng.rules), eng.pre.states, len(eng.pre.delta)*2/1024)
	for _, r := range eng.rules {
		for _, a := range r.tp.plain.alts {
			prog, err := syntax.Compile(mustParse(t, a.re.String()).Simplify())
			if err != nil {
				t.Fatal(err)
			}
			if len(prog.Inst) > 1500 {
				t.Errorf("rule %s: an alternative compiles to %d instructions", r.name, len(prog.Inst))
			}
		}
	}
}

func mustParse(t *testing.T, s string) *syntax.Regexp {
	re, err := syntax.Parse(s, syntax.Perl)
	if err != nil {
		t.Fatal(err)
	}
	return re
}
