// Package crisis recognizes crisis language in members' messages: words
// that suggest suicide, self-harm or danger. Detect reads one message and
// says whether it matched, how severe it is and in which category; a Window
// reads each message together with the author's recent ones, so that a
// thought split across messages is still seen. The caller decides what a
// match does (show the member crisis resources, alert the facilitators); a
// match never stops a message from being delivered, because reaching out
// must never be punished. (resources.go, beside it, holds the resources
// that are shown.)
//
// The detector is pure: no I/O, no logging, no goroutines, no state outside
// a Window. Everything it matches with is compiled at init (one table is
// built on the first message with non-ASCII text).
//
// # How a message is read
//
//   - Normalize folds the ways one word can be written to one form: markup,
//     compatibility forms, invisible characters, accents and zalgo, case,
//     letters of other scripts that look Latin, stretched letters,
//     whitespace. The raw text is never changed, only the copy matched.
//   - Several views of the normalized text are read: as written; with
//     leetspeak folded inside words that contain letters ("k1ll", "$uicide";
//     never a number standing alone such as 988, 911 or 7:30, nor one with a
//     unit such as 7pm or 10mg), with a few emoji read as the word they stand
//     for ("🔫 myself") and text speak ("4ever"); with letters spelled out one
//     by one joined ("k i l l", "s.u.i.c.i.d.e", "s/h"); and each of those
//     with doubled letters squeezed ("diie" reads "die", while "kill" is
//     still matched in the unsqueezed view). Every drug name is read as
//     "pills".
//   - A prefilter (an Aho–Corasick automaton run once over the text with
//     separators skipped) finds which rules' stems occur. An ordinary message
//     containing none costs a few microseconds and allocates nothing.
//   - The rules found are tried at the start of each word, and only where a
//     word begins with a literal prefix of theirs: phrases match whole words
//     ("skilled" and "skillet" are not "kill"), and the words of a phrase may
//     be run together ("killmyself").
//   - Each match is read in its clause: the verb that leads to it ("want
//     to", "going to", "about to", "tried to", "almost"), who it is about,
//     and whether it is negated, past, retracted, an idiom, or a topic
//     ("an article about suicide").
//
// # Severity
//
// Graded after the Columbia Suicide Severity Rating Scale (C-SSRS): a
// passive wish to be dead < active ideation < ideation with a method < with
// intent < with a plan, its timing or the means at hand.
//
//   - Imminent: an act under way, or the means at hand right now ("took all
//     my pills", "standing on the bridge", "i'm cutting right now", "about
//     to jump"); ideation or intent with a time soon attached to the act
//     ("i want to kill myself tonight", "gonna od after this session", "i'm
//     taking them all this weekend"; a time of the feeling does not count:
//     "i wanted to die today"); ideation or intent with the means at hand in
//     the message or the author's window ("i want to kill myself and i have
//     the pills": "i have pills" alone matches nothing).
//   - High: active ideation in the first person ("i want to kill myself",
//     "i'm thinking of ending my life", "i wish i could kill myself"),
//     intent, a plan, a method, preparation, a goodbye, overdose intent
//     ("i'm going to kill myself", "i have the pills ready", "i've written
//     my goodbye letters", "this is goodbye"); a passive wish with a time or
//     the means at hand ("i want to die tonight").
//   - Elevated: a passive wish to be dead ("i want to die", "i wish i
//     wasn't here", "i just want to disappear"), the bare words with no verb
//     ("kill myself", "kms"), suicidal feelings as a state ("i'm suicidal"),
//     current self-harm, hopelessness and feeling a burden.
//   - Gentle: crisis words that are negated ("i'm not suicidal"), in the past
//     ("i used to cut", "2 years clean"), about someone else ("my friend is
//     suicidal", "my brother died by suicide"), someone else's words quoted
//     ("she said 'i want to kill myself'"), a topic, or retracted ("jk").
//     These lower a match; they never silence it.
//
// A laugh ("lol", "lmao", 😂, 💀) does not lower a strong phrase: laughter
// often masks distress ("i want to die lol"), while "jk" takes the words
// back. After vague venting ("i can't do this anymore lol my toddler won't
// nap") a laugh means it is not crisis language, and nothing matches.
//
// Idioms ("this traffic is killing me", "to die for", "suicide squad",
// "suicide prevention", "988 lifeline") silence only weak matches, a term
// with no self-reference and no verb of intent; never a phrase that names
// the writer such as "kill myself".
//
// # What it deliberately does not do
//
// It does not moderate: an insult such as "kys" aimed at someone else is
// not crisis language and is left to reporting ("i should just kys" is
// read). It does not guess from context alone: "tonight's the night" or
// "i'm finally going to do it" with no crisis words in the message or the
// author's window does not match. It does not judge tone beyond a few
// markers, learn, or remember anything outside a Window. It reads English
// and core Spanish only.
package crisis
