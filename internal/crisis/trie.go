package crisis

// A prefixTrie holds the literal prefixes of every rule alternative, so that
// one walk along a word finds every alternative that could match there (see
// literalPrefixes). Alternatives whose prefixes could not be listed are kept
// apart and tried at any word whose first byte fits.
type prefixTrie struct {
	root  [256]int32 // child of the root by byte (0: none)
	nodes []trieNode
	loose []altRef // alternatives without a literal prefix list
}

type trieNode struct {
	edges []trieEdge
	hits  []altRef // alternatives one of whose prefixes ends here
}

type trieEdge struct {
	b     byte
	child int32
}

// altRef names alternative alt of rule rule.
type altRef struct {
	rule, alt int32
}

func newPrefixTrie() *prefixTrie {
	return &prefixTrie{nodes: make([]trieNode, 1)} // node 0 stands for "none"
}

func (t *prefixTrie) insert(prefix string, ref altRef) {
	var cur int32
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		var next int32
		if i == 0 {
			next = t.root[c]
		} else {
			for _, e := range t.nodes[cur].edges {
				if e.b == c {
					next = e.child
					break
				}
			}
		}
		if next == 0 {
			t.nodes = append(t.nodes, trieNode{})
			next = int32(len(t.nodes) - 1)
			if i == 0 {
				t.root[c] = next
			} else {
				t.nodes[cur].edges = append(t.nodes[cur].edges, trieEdge{c, next})
			}
		}
		cur = next
	}
	t.nodes[cur].hits = append(t.nodes[cur].hits, ref)
}

// walk calls fn for every alternative with a prefix that s starts with
// whose rule is in rules (nil: every rule).
func (t *prefixTrie) walk(s string, rules *ruleSet, fn func(altRef)) {
	if len(s) == 0 {
		return
	}
	cur := t.root[s[0]]
	for i := 1; cur != 0; i++ {
		for _, h := range t.nodes[cur].hits {
			if rules == nil || rules.has(int(h.rule)) {
				fn(h)
			}
		}
		if i >= len(s) {
			return
		}
		var next int32
		for _, e := range t.nodes[cur].edges {
			if e.b == s[i] {
				next = e.child
				break
			}
		}
		cur = next
	}
}
