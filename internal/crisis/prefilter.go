package crisis

import "sort"

// The prefilter finds which rules' trigger stems (keys) occur in a text in
// one pass, so that an ordinary message costs one scan and the phrase
// patterns run only for the rules whose stems are there. It is an
// Aho–Corasick automaton, compiled to a full transition table, over a stream
// made of the text's ASCII letters only: every other character (spaces,
// digits, punctuation, apostrophes, non-ASCII) is skipped, and a letter equal
// to the one before it is skipped too. So a key may span words ("endmy" is
// found in "end my life" and in "endmylife") and keys are written squeezed.
// The stream over-approximates: a key it finds may not be a word of the text
// (the patterns check that); a key that is in any view of the text is always
// found.

const (
	maxRules = 192 // a key's output is the set of rules it triggers (a multiple of 64)
	nClasses = 26  // a–z
)

type ruleSet [maxRules / 64]uint64

func (k *ruleSet) add(i int)      { k[i/64] |= 1 << (i % 64) }
func (k *ruleSet) has(i int) bool { return k[i/64]&(1<<(i%64)) != 0 }
func (k *ruleSet) or(o *ruleSet) {
	for i := range k {
		k[i] |= o[i]
	}
}
func (k *ruleSet) intersects(o *ruleSet) bool {
	for i := range k {
		if k[i]&o[i] != 0 {
			return true
		}
	}
	return false
}
func (k *ruleSet) empty() bool {
	for _, w := range k {
		if w != 0 {
			return false
		}
	}
	return true
}

// byteClass maps a byte to its class, or -1 for a byte the stream skips.
var byteClass = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = int8(c - 'a')
	}
	return t
}()

type automaton struct {
	delta  []uint16  // delta[state*nClasses+class] = next state
	out    []ruleSet // rules triggered by the keys that end at (or in a suffix of) each state
	has    []bool    // out is not empty
	states int
}

// newAutomaton builds the automaton for keys, each a non-empty squeezed
// string of a–z mapped to the set of rules it triggers.
func newAutomaton(keys map[string]ruleSet) *automaton {
	type node struct {
		next [nClasses]int
		fail int
		out  ruleSet
	}
	fresh := func() node {
		n := node{}
		for j := range n.next {
			n.next[j] = -1
		}
		return n
	}
	nodes := []node{fresh()}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		s := 0
		for i := 0; i < len(k); i++ {
			c := byteClass[k[i]]
			if c < 0 {
				panic("crisis: prefilter key " + k + " has a character outside a–z")
			}
			if nodes[s].next[c] < 0 {
				nodes = append(nodes, fresh())
				nodes[s].next[c] = len(nodes) - 1
			}
			s = nodes[s].next[c]
		}
		set := keys[k]
		nodes[s].out.or(&set)
	}
	// Breadth-first: failure links and the full transition table.
	queue := []int{}
	for c := range nClasses {
		if n := nodes[0].next[c]; n >= 0 {
			nodes[n].fail = 0
			queue = append(queue, n)
		} else {
			nodes[0].next[c] = 0
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		nodes[s].out.or(&nodes[nodes[s].fail].out)
		for c := range nClasses {
			n := nodes[s].next[c]
			if n >= 0 {
				nodes[n].fail = nodes[nodes[s].fail].next[c]
				queue = append(queue, n)
			} else {
				nodes[s].next[c] = nodes[nodes[s].fail].next[c]
			}
		}
	}
	if len(nodes) > 1<<16 {
		panic("crisis: prefilter automaton too large")
	}
	a := &automaton{states: len(nodes)}
	a.delta = make([]uint16, len(nodes)*nClasses)
	a.out = make([]ruleSet, len(nodes))
	a.has = make([]bool, len(nodes))
	for i, n := range nodes {
		for c := range nClasses {
			a.delta[i*nClasses+c] = uint16(n.next[c])
		}
		a.out[i] = n.out
		a.has[i] = !n.out.empty()
	}
	return a
}

// scan returns the rules whose keys occur in the squeezed, separator-free
// stream of b.
func scan[T string | []byte](a *automaton, b T) ruleSet {
	var found ruleSet
	s := 0
	var prev byte
	for i := 0; i < len(b); i++ {
		ch := b[i]
		c := byteClass[ch]
		if c < 0 {
			continue
		}
		if ch == prev {
			continue
		}
		prev = ch
		s = int(a.delta[s*nClasses+int(c)])
		if a.has[s] {
			found.or(&a.out[s])
		}
	}
	return found
}

// squeezeKey returns k with runs of one letter collapsed to one, as the
// stream sees it.
func squeezeKey(k string) string {
	b := make([]byte, 0, len(k))
	for i := 0; i < len(k); i++ {
		if i > 0 && k[i] == k[i-1] && k[i] >= 'a' && k[i] <= 'z' {
			continue
		}
		b = append(b, k[i])
	}
	return string(b)
}
