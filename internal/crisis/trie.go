package crisis

// A prefixTrie holds the literal prefixes of every rule alternative, so that
// one walk along a word finds every alternative that could match there (see
// literalPrefixes). Alternatives whose prefixes could not be listed are kept
// apart and tried at any word whose first byte fits.
//
// It is built with insert and then frozen into flat arrays without
// pointers: the garbage collector does not scan them, so the tries' nodes
// (396,000 objects with the package's other state before, 133,000 after:
// docs/performance.md) cost no marking work in the server's every GC
// cycle, and a node takes 16 bytes instead of two slice headers and two
// small allocations.
type prefixTrie struct {
	root  [256]int32 // child of the root by byte (0: none)
	nodes []trieNode // frozen: node i's edges and hits, as ranges of edges and hits
	edges []trieEdge
	hits  []altRef
	loose []altRef // alternatives without a literal prefix list

	build []buildNode // while building: nil once frozen
}

// trieNode is a frozen node: its edges are edges[edge0:edge1] and the
// alternatives one of whose prefixes ends here are hits[hit0:hit1].
type trieNode struct {
	edge0, edge1, hit0, hit1 int32
}

// buildNode is a node while the trie is built.
type buildNode struct {
	edges []trieEdge
	hits  []altRef
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
	return &prefixTrie{build: make([]buildNode, 1)} // node 0 stands for "none"
}

func (t *prefixTrie) insert(prefix string, ref altRef) {
	var cur int32
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		var next int32
		if i == 0 {
			next = t.root[c]
		} else {
			for _, e := range t.build[cur].edges {
				if e.b == c {
					next = e.child
					break
				}
			}
		}
		if next == 0 {
			t.build = append(t.build, buildNode{})
			next = int32(len(t.build) - 1)
			if i == 0 {
				t.root[c] = next
			} else {
				t.build[cur].edges = append(t.build[cur].edges, trieEdge{c, next})
			}
		}
		cur = next
	}
	t.build[cur].hits = append(t.build[cur].hits, ref)
}

// freeze ends the building: the nodes move into the flat arrays walk reads.
func (t *prefixTrie) freeze() {
	var ne, nh int
	for _, n := range t.build {
		ne += len(n.edges)
		nh += len(n.hits)
	}
	t.nodes = make([]trieNode, len(t.build))
	t.edges = make([]trieEdge, 0, ne)
	t.hits = make([]altRef, 0, nh)
	for i, n := range t.build {
		fn := &t.nodes[i]
		fn.edge0 = int32(len(t.edges))
		t.edges = append(t.edges, n.edges...)
		fn.edge1 = int32(len(t.edges))
		fn.hit0 = int32(len(t.hits))
		t.hits = append(t.hits, n.hits...)
		fn.hit1 = int32(len(t.hits))
	}
	t.build = nil
}

// walk calls fn for every alternative with a prefix that s starts with
// whose rule is in rules (nil: every rule). The trie must be frozen.
func (t *prefixTrie) walk(s string, rules *ruleSet, fn func(altRef)) {
	if len(s) == 0 {
		return
	}
	cur := t.root[s[0]]
	for i := 1; cur != 0; i++ {
		n := t.nodes[cur]
		for _, h := range t.hits[n.hit0:n.hit1] {
			if rules == nil || rules.has(int(h.rule)) {
				fn(h)
			}
		}
		if i >= len(s) {
			return
		}
		var next int32
		for _, e := range t.edges[n.edge0:n.edge1] {
			if e.b == s[i] {
				next = e.child
				break
			}
		}
		cur = next
	}
}
