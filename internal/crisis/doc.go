// Package crisis recognizes crisis language in members' messages: words
// that suggest suicide, self-harm or danger. Detect looks at one message and
// says whether it matched, how severe it is and in which category; Window
// does the same over an author's last few messages, so that a thought split
// across messages is still seen. The caller decides what a match does (show
// the member crisis resources, alert the facilitators); a match never stops a
// message from being delivered, because reaching out must never be
// punished. (resources.go, beside it, holds the resources that are shown.)
//
// The detector is pure: no I/O, no logging, no goroutines, no state outside
// a Window. Everything it matches against is compiled once, at init.
//
// How it reads a message:
//
//   - Normalize folds the many ways one word can be written to one form
//     (markup, compatibility forms, invisible characters, accents and zalgo,
//     case, look-alike letters from other scripts, stretched letters,
//     whitespace). The raw text is never changed: only the copy that is
//     matched.
//   - Several views of the normalized text are matched: as written; with
//     leetspeak folded inside words that contain letters (never a number
//     standing alone such as 988, 911 or 7:30); with letters spelled out one
//     by one joined back ("k i l l" → "kill"); and each of those with doubled
//     letters squeezed ("diie" → "die").
//   - A prefilter (one pass of an Aho–Corasick automaton over the text with
//     separators skipped) finds which trigger stems occur; an ordinary
//     message that contains none costs a few microseconds and no further
//     work.
//   - Phrase patterns (whole words only: "skilled" and "skillet" never match
//     "kill") are then run for the stems found, and each match is read in its
//     clause: who it is about, what verb leads to it ("want to", "going to",
//     "about to", "tried to"), and whether it is negated, in the past, about
//     someone else, a joke, or an idiom.
//
// Severity:
//
//   - Imminent: an act under way, or the means at hand right now.
//   - High: intent, a plan, a method, preparation, a goodbye, overdose intent.
//   - Elevated: ideation, a passive wish to be dead, current self-harm,
//     hopelessness and feeling a burden.
//   - Gentle: the words are there but negated, in the past, about someone
//     else (including bereavement by suicide), or followed by "lol"/"jk".
//     These lower a match; they never silence it.
//
// What it deliberately does not do: it does not judge tone or sarcasm beyond
// a few markers, it does not moderate (an insult such as "kys" aimed at
// someone else is not crisis language and is left to reporting), it does not
// learn or remember anything beyond a Window, and it understands English and
// core Spanish only.
package crisis
