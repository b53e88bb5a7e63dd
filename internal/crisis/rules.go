package crisis

// The phrase patterns. Notation (see expand): a space means the words may
// also be written together, an apostrophe may be left out; everything else
// is Go regexp syntax. Patterns match whole words of a view (they start at a
// word and end at one); letters are lower case. Every match of a pattern
// contains one of its keys (stems written without spaces or apostrophes,
// found by the prefilter); TestEveryRuleFires checks each rule against an
// example through the whole path.
//
// A rule's sev says how severe it is after each kind of cue (see cue);
// flags say how its context is read. When two readings are equally severe,
// the more specific category wins (see categoryRank).

// Building blocks.
const (
	me = `(?:my self|myslef|myelf|meself|my sef)`
	// pills: the views read every drug name as "pills" (see drugNames), so
	// the patterns need only the generic words.
	pills  = `(?:pills?|meds|medications?|medicines?|tablets?|capsules|sleeping (?:pills|tablets|meds)|sleep aids|pain ?killers|prescriptions?|anti ?depressants|antipsychotics)`
	quant  = `(?:all|every one|every single one|everything|the whole (?:bottle|pack|packet|box|strip|blister|thing)|a whole (?:bottle|pack|packet|box)|a (?:bottle|handful|bunch|lot|ton|fistful)|handfuls|too many|way too many|[1-9][0-9]+|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|a hundred|hundreds|like [1-9][0-9]+|as many as i could|all of them|them all)`
	poss   = `(?:my|the|her|his|their|mom's|mum's|dad's|these|those|some|of my|of the|of these|of them|of those)`
	people = `(?:you|u|everyone|everybody|you all|y'all|all of you|you guys|people|my (?:family|friends|parents|mom|mum|dad|kids|children|wife|husband|partner|boyfriend|girlfriend|sister|brother)|they|them|the world|others)`
	pets   = `(?:cat|cats|dog|dogs|pets?|kids|children|plants|fish|bird|hamster|rabbit|bunny|babies|kitty|puppy)`
	// A third person doing it to themself.
	themselves = `(?:him ?self|her ?self|them ?selves|them ?self)`
)

// haveVerbs: having or getting something at hand.
const haveVerbs = `have|having|got|gotten|bought|found|holding|picked up|collected|grabbed|got out|took out|hid|kept|still have|'ve got|ve got`

// compliance: words that make taking all of one's pills a routine taken as
// told ("i'm taking all my meds tonight like i'm supposed to").
const compliance = `supposed to|as prescribed|like prescribed|(?:the|my) (?:doctor|dr|pharmacist|psychiatrist|nurse) (?:said|told|says|wants)|with food|on time|pill (?:organizer|organiser|box)|refill|remember(?:ed)? to|reminder|every (?:day|morning|night|evening)`

// Body parts that are cut or burned in self-harm.
const body = `(?:arms?|wrists?|legs?|thighs?|skin|stomach|hips?|body|belly|forearms?)`

var rules = []rule{
	// ---------------------------------------------------------------
	// Imminent danger: an act under way, the means at hand now.
	{name: "took-pills", cat: Overdose, sev: fixed(Imminent), flags: fSubject,
		keys: append([]string{"whole", "cabinet", "pillbox", "firstaidkit", "medicinebox", "medicinedrawer"}, pillKeys...),
		pat: `(?:took|taken|swallowed|downed|popped|chugged|ate) (?:` + quant + `) (?:of )?(?:` + poss + ` )?(?:` + pills + `)|` +
			`(?:took|taken|swallowed|downed) (?:the|a) whole (?:bottle|pack|packet|box|strip|blister)|` +
			`(?:took|taken|swallowed|downed) (?:everything|all the pills|every pill|all the meds|whatever) (?:in|from) (?:my|the|mom's|mum's|dad's|our) (?:medicine cabinet|cabinet|bathroom cabinet|pill box|first aid kit|drawer|medicine box|medicine drawer)`,
		unless: `today|this morning|this evening|on time|like (?:i'm|i am|i was) supposed to|as prescribed|for (?:the day|once|a change)|with (?:food|breakfast|dinner|lunch|water)|yesterday|every|each|this week|before (?:bed|breakfast)|at breakfast|and (?:felt|feel|i feel) (?:better|good|proud)|of (?:vitamins|gummies|candy)`},
	{name: "poison", cat: Overdose, sev: sevTable{Imminent, High, High, None, High, Imminent, Imminent, High, Gentle, Imminent}, flags: fSubject,
		keys: []string{"bleach", "antifreze", "poison", "draincleaner", "pesticide", "wedkiler", "lye"},
		pat:  `(?:drank|drunk|swallowed|ate|drink|drinking|swallow|swallowing|eat|eating|ingested|ingest) (?:some |a bottle of |a cup of |a glass of |the |a lot of |half a bottle of )?(?:bleach|antifreeze|poison|drain cleaner|rat poison|pesticide|weed killer|lye)`},
	{name: "took-them-now", cat: Overdose, sev: fixed(Imminent), flags: fSubject,
		keys: []string{"tookthem", "tookit", "tookall", "tookeverything", "tooktherest", "tookthelot", "takenthem", "takenit", "takenall", "swallowedthem", "swallowedit", "swallowedall", "swallowedeverything", "downedthem", "downedit", "downedall", "takingthem", "takingit", "takingall", "takingeverything", "swallowingthem", "justtook", "alreadytook", "justswallowed", "alreadyswallowed", "justdowned", "alreadydowned"},
		pat:  `(?:took|taken|swallowed|downed|taking|swallowing) (?:them|it|all of them|them all|everything|it all|the rest|the lot) (?:already|just now|now|right now|rn|as we speak)|(?:just|already) (?:took|swallowed|downed) (?:them|it|all of them|them all|everything|it all)`,
		near: `pills?|meds|tablets|bottle|overdose|od|goodbye|bye|die|dying|end it|sorry|love you|` + pills},
	{name: "overdosed-now", cat: Overdose, sev: fixed(Imminent), flags: fSubject,
		keys: []string{"justoverdosed", "alreadyoverdosed", "justod", "alreadyod", "iveoverdosed", "ihaveoverdosed", "iveod", "ihaveod"},
		pat:  `(?:i've|i have|i|ive)? ?(?:just|already) (?:overdosed|od'd|oded|od)|(?:i've|i have) (?:overdosed|od'd|oded)`},
	{name: "place", cat: ImminentDanger, sev: fixed(Imminent), flags: fSubject,
		keys:   []string{"bridge", "ledge", "railing", "tracks", "overpass", "cliffedge", "edgeofacliff", "edgeofthecliff", "edgeofthebridge", "edgeoftheplatform", "platformedge"},
		pat:    `(?:standing|stood|sitting|sat|i'm|im|i am|currently|here|climbing|climbed|over) (?:on|at|over) (?:the|a|this) (?:edge of (?:the|a|this) )?(?:bridge|ledge|railing|train tracks|tracks|railway tracks|overpass|cliff edge|edge of (?:a|the) cliff|bridge railing|edge of the platform|platform edge)`,
		unless: `club|game|tournament|party|of (?:the|my|a) (?:bed|seat|chair|couch|sofa|tub|bath|pool|stage|desk|table|bench|dock)|with (?:my|friends|the (?:kids|dog|family))|for (?:a|the) (?:photo|picture|view|selfie|sunset)|taking (?:photos|pictures)|watching|to (?:watch|see|take)|waiting for (?:a|the|my) train|at (?:work|school)|in (?:my|a|the) (?:car|bus|train)|crossing|walking|on my (?:way|walk|bike|run)`},
	{name: "high-place", cat: ImminentDanger, sev: fixed(Imminent), flags: fSubject,
		keys: []string{"roof", "balcony", "ontheedge", "topofthe", "topofa", "topofmy"},
		pat: `(?:standing|stood|sitting|sat|i'm|im|i am|currently|here|climbing|climbed) (?:on|at|onto|up) (?:the|a|this|my) (?:roof|rooftop|roof edge|edge of the roof|balcony|balcony railing|top of (?:the|a|my) (?:building|parking garage|car park|apartment building|tower|stairwell))|` +
			`(?:standing|stood|sitting) on the edge`,
		unless: `of (?:the|my|a) (?:bed|seat|chair|couch|sofa|tub|bath|pool|stage|desk|table|bench|dock)|fixing|cleaning|with (?:my|friends|the)|for (?:a|the) (?:photo|picture|view|selfie|party|bbq)|taking|watching|to (?:watch|see|take)`,
		near:   `jump|jumping|end it|end it all|goodbye|bye|die|dying|kill|suicid\w*|can't do this|let go|fall|falling|over the edge|down|edge`},
	{name: "weapon-at-hand", cat: ImminentDanger, sev: fixed(Imminent), flags: fSelf,
		keys: []string{"gun", "pistol", "revolver", "barrel", "shotgun", "rifle", "knife", "blade", "razor", "aroundmyneck", "roundmyneck", "onmyneck", "garage"},
		pat: `(?:gun|pistol|revolver|barrel|shotgun|rifle) (?:is )?(?:in my (?:hand|hands|mouth|lap)|to my (?:head|temple|chest|chin)|against my (?:head|temple|chest)|pointed at (?:me|my (?:self|head))|under my chin)|` +
			`(?:holding|have|got|put|pressing|pressed) (?:a|the|my) (?:gun|pistol|knife|blade|razor|razor blade) (?:to|against|on) my (?:head|throat|wrist|wrists|neck|mouth|temple|chest)|` +

			`(?:knife|blade|razor) (?:is )?(?:to|against|on) my (?:wrist|wrists|throat|neck|skin)|` +
			`(?:rope|noose|belt|cord) (?:is )?(?:around|on|round) my neck|` +
			`(?:in|sitting in|lying in|laying in|in my) (?:the )?(?:bath|bathtub|tub|shower) with (?:a|the|my) (?:razor|razors|blade|blades|knife|pills|razor blade)|` +
			`(?:sitting|sat|i'm|im|i am) in (?:my|the) car (?:in|inside) (?:the|my) (?:closed )?garage (?:with )?(?:the )?(?:engine|motor|car) (?:on|running)|(?:engine|motor|car) (?:is )?(?:running|on) (?:in|inside) (?:the|a|my) (?:closed |shut )?garage`,
		unless: `(?:chopping|cutting (?:the|some|an?|up)|cooking|slicing|peeling|dicing|for (?:the|dinner|lunch|breakfast|cooking)|and (?:the|some) (?:onions|veg|vegetables|bread|meat|chicken))`},
	{name: "blade-in-hand", cat: ImminentDanger, sev: fixed(Imminent), flags: fSelf,
		keys:       []string{"inmyhand", "inmylap"},
		pat:        `(?:knife|blade|razor|razor blade|knives|blades|razors|gun|pistol) (?:is |are )?in my (?:hand|hands|lap)`,
		unlessNear: `making|cooking|cook|chopping|slicing|dicing|peeling|carving (?:the|a)|recipe|dinner|lunch|breakfast|onions?|carrots|veg|vegetables|kitchen|meat|bread|cake|butter|whittling|fishing|hunting|range|shooting range|game`},
	{name: "doing-it-now", cat: ImminentDanger, sev: fixed(Imminent),
		keys: []string{"doingit", "doit", "jump", "trigger", "takingthem"},
		pat:  `(?:doing it|do it|going to do it|gonna do it|about to do it|jumping|about to jump|going to jump|gonna jump|pulling the trigger|pull the trigger|taking them|going to take them|gonna take them) (?:now|right now|rn|as we speak|in (?:a few|five|ten|[0-9]+) minutes)`,
		near: `bridge|ledge|roof|pills?|gun|rope|noose|goodbye|bye|die|end it|kill|suicid\w*|sorry|love you|jump|knife|blade|razor|overdose|can't do this|anymore|for good|forever`},
	{name: "jump-bare", cat: ImminentDanger, sev: sevTable{None, Elevated, Elevated, None, High, Imminent, None, High, None, Imminent}, flags: fSubject | fNow | fClauseEnd,
		keys:       []string{"jump"},
		pat:        `jump(?:ing)?(?: (?:off|now|right now|rn|tonight|from here|off this|off the top))?`,
		unlessNear: `pool|lake|trampoline|parachute|skydiv\w*|bungee|plane|rope|jump ?rope|queue|line|call|meeting|shower|bed|car|ship|game`},
	{name: "cut-too-deep", cat: SelfHarm, sev: fixed(Imminent), flags: fSubject,
		keys: []string{"toodeep", "sodeep", "reallydeep", "verydeep", "deeperthan", "deepthan"},
		pat:  `cut (?:myself |my (?:arm|wrist|wrists|leg|thigh|skin) )?(?:too deep|so deep|really deep|very deep|deep(?:er)? than (?:ever|usual|before|i meant))`},
	{name: "wrists-bleeding", cat: SelfHarm, sev: fixed(Imminent), flags: fSubject,
		keys: cross([]string{"wrist", "wrists", "cuts", "cut"}, []string{"arebleding", "isbleding", "keepbleding", "keepsbleding", "wontstopbleding", "startedbleding", "stilbleding"}),
		pat:  `my (?:wrists?|cuts?) (?:are|is|keep|keeps|won't stop|wont stop|started) (?:still )?bleeding`},
	{name: "bleeding", cat: SelfHarm, sev: fixed(Imminent), flags: fSubject,
		keys: []string{"bleeding", "blood"},
		pat: `(?:can't|cannot|cant|won't|wont|will not) stop (?:the )?bleeding|bleeding (?:won't|wont|will not|isn't|doesn't|does not|is not) stop(?:ping)?|` +
			`(?:it|the bleeding|the blood|my arm|my wrist|my leg) (?:won't|wont|will not|isn't|doesn't|does not|is not) stop(?:ping)? bleeding|` +
			`(?:losing|lost) (?:a lot of|so much|too much) blood|bleeding (?:a lot|so much|too much|heavily|badly|everywhere|out)`,
		near: `cut|cutting|cuts|blade|razor|knife|wrists?|my ?self|sh|harm|deep`},

	// ---------------------------------------------------------------
	// Overdose.
	{name: "take-all-pills", cat: Overdose, sev: cueMethodSev, flags: fSubject | fNow | fActive,
		keys:       pillKeys,
		pat:        `(?:take|taking|swallow|swallowing|down|downing|overdose on|overdosing on|od on) (?:` + quant + `) (?:of )?(?:` + poss + ` )?(?:` + pills + `)`,
		unless:     `with|at (?:breakfast|dinner|lunch|night|bedtime|the same time every)|before|after|in the morning|every|each|on time|today|daily|as prescribed|like i'm supposed to`,
		unlessNear: compliance},
	{name: "take-all-pills-at-once", cat: Overdose, sev: fixed(High), flags: fSubject | fNow | fActive,
		keys:       pillKeys,
		pat:        `(?:take|taking|swallow|swallowing|down|downing) (?:` + quant + `) (?:of )?(?:` + poss + ` )?(?:` + pills + `) (?:at once|all at once|at the same time|tonight|and (?:die|sleep forever|not wake up|never wake up|end it|be done|go to sleep forever))`,
		unlessNear: compliance},
	// "i have pills and i'm taking them all tonight": the pills named
	// elsewhere in the message. Without a verb of intent ("take them all")
	// it is only a part: the means, with other words of intent.
	{name: "taking-them-all", cat: Overdose, sev: cueMethodSev, flags: fSubject | fNow | fActive | fMeans,
		keys:       []string{"themall", "allofthem", "everyoneofthem", "everylastone", "everysingleone", "thelot", "thewholelot", "thewholebotle", "thewholepack", "thewholepacket", "thewholebox", "thewholestrip"},
		pat:        `(?:take|taking|swallow|swallowing|down|downing|overdose on|overdosing on|od on) (?:them all|all of them|every one of them|every last one(?: of them)?|every single one(?: of them)?|the lot|the whole lot|the whole (?:bottle|pack|packet|box|strip))`,
		unless:     `with|at (?:breakfast|dinner|lunch|bedtime|the same time every)|before (?:bed|breakfast|meals)|after (?:meals|dinner|breakfast|food)|in the morning|every|each|on time|today|daily|as prescribed|like (?:i'm|im|i am|you're|youre) supposed to|back|to (?:the|a) (?:pharmacy|chemist|doctor)`,
		near:       `pills?|meds|tablets?|capsules|bottle|overdose|od|` + pills,
		unlessNear: compliance},
	{name: "od-now", cat: Overdose, sev: fixed(Imminent), flags: fSubject | fNoSqueeze,
		keys: []string{"odtonight", "odtoday", "odrightnow", "odnow", "odrn"},
		pat:  `od (?:tonight|today|right now|now|rn)`},
	// Means at hand, said of oneself ("i have pills", "i bought a knife"):
	// everyday words alone, so the rule is silent; with active ideation or
	// intent in the message (or the author's window) it makes them
	// imminent, and a wish to be dead high (see verdict.combine).
	{name: "have-pills", cat: Overdose, sev: silent, flags: fSubject | fMeans,
		keys:   pillKeys,
		pat:    `(?:` + haveVerbs + `) (?:(?:` + quant + `|enough|so many|plenty of|loads of|lots of) )?(?:of )?(?:(?:` + poss + `|a|an) )?(?:` + pills + `)`,
		unless: `for (?:the|a|my|our) (?:headache|migraine|back|pain|cold|flu|allergies|trip)|to (?:take (?:with|at|before|after|every|each|daily)|refill)|from (?:the|my) (?:pharmacy|chemist|doctor)`},
	{name: "have-means", cat: MethodPlan, sev: silent, flags: fSubject | fMeans,
		keys:   []string{"rope", "noose", "gun", "pistol", "rifle", "shotgun", "razor", "blade", "knife", "knives", "bullet", "bleach", "poison", "charcoal", "helium"},
		pat:    `(?:` + haveVerbs + `) (?:(?:enough|a lot of|some|a) )?(?:(?:` + poss + `|a|an) )?(?:rope|ropes|noose|gun|guns|pistol|rifle|shotgun|razors?|razor blades?|blades?|knife|knives|bullets?|bleach|poison|charcoal|helium)`,
		unless: `for (?:the|a|my|our) (?:camping|climbing|hiking|work|boat|garden|kitchen|dinner|trip|hunting|range)|to (?:cook|chop|cut (?:the|some|up)|slice|open|tie|hang (?:the|a|up)|clean)`},
	{name: "overdose", cat: Overdose, sev: methodSev, flags: fSubject | fNow | fAttempt | fTakenNow | fWayOut | fActive,
		keys:   []string{"overdos", "overdoz", "sobredosis"},
		pat:    `overdos(?:e|ed|es|ing)|overdoz(?:e|ed|ing)|sobredosis`,
		unless: `on (?:sugar|caffeine|coffee|candy|chocolate|carbs|netflix|tv|love|cuteness|cheese|junk food|pizza|sweets|halloween candy|anime|memes|sunshine|vitamin \w+|positivity|drama|news|cake|cookies|tea|energy drinks|red bull|music|kpop|k-pop|screen time|social media)`},
	{name: "od", cat: Overdose, sev: cueMethodSev, flags: fSubject | fNow | fNoSqueeze | fWayOut | fActive,
		keys: []string{"wantod", "wanaod", "wanttood", "gonaod", "goingtood", "triedtood", "trytood", "tryingtood", "abouttood", "mightod", "wilod", "ilod", "plantood", "thinkingaboutod", "imaod", "imaoding", "imoding", "imodding", "iamoding", "almostod", "nearlyod", "shouldod", "urgetood", "readytood", "decidedtood"},
		pat:  `od(?:ing|'d|'ed|ed|'ing)?`},
	{name: "od-when", cat: Overdose, sev: fixed(High), flags: fSubject | fNow | fNoSqueeze | fActive,
		keys: []string{"odtonight", "odtoday", "odtomorrow", "odthisweekend", "odonmy", "odonthe", "odonall", "odonsome", "odonthese", "odonthose", "odonhis", "odonher", "odonmoms", "odondads"},
		pat:  `od (?:tonight|today|tomorrow|this weekend|on (?:my|the|all|some|these|those|his|her|mom's|dad's) (?:` + pills + `))`},

	// ---------------------------------------------------------------
	// Method and plan.
	{name: "stockpile", cat: Overdose, sev: fixed(High), flags: fSubject | fMeans,
		keys: []string{"stockpil", "hoard", "stash", "savingup", "savedup", "beensaving", "hid", "hiding", "collecting", "enough"},
		pat: `(?:a |my )?(?:stash|stockpile|hoard) of (?:` + pills + `)|(?:stockpil(?:e|ed|ing)|hoard(?:ed|ing)?|stash(?:ed|ing)?|saving up|saved up|been saving|hid|hidden|hiding|collecting|been collecting) (?:up )?(?:all )?(?:my |the |some |enough |a lot of |a bunch of |extra )?(?:` + pills + `)|` +
			`enough (?:` + pills + `) (?:to (?:die|kill (?:me|myself)|do it|end it|overdose|od|not wake up|never wake up|be lethal|finish it|end my life))`,
		unless: `from (?:my|the) (?:kids|children|toddler|baby|dog|cat|puppy)|for (?:the|my) (?:trip|holiday|vacation|travel)|in (?:the|my) (?:pill box|pill organizer|cabinet)`},
	{name: "counted-pills", cat: Overdose, sev: fixed(High), flags: fSubject | fMeans,
		keys: cross([]string{"counted", "counting", "count", "countedout", "countingout"}, []string{"my", "the", "allmy", "allthe", "out"}),
		pat:  `(?:counted|counting|count) (?:out )?(?:all )?(?:my |the )?(?:` + pills + `)`,
		near: `enough|to die|would it|how many|lethal|overdose|od|end it|kill (?:me|myself)|not wake up|do it`},
	{name: "staring-at-means", cat: MethodPlan, sev: fixed(High), flags: fSubject | fMeans,
		keys: []string{"staringat", "staredat"},
		pat:  `(?:staring|stared|been staring) at (?:the|my|all the|all my|a) (?:` + pills + `|rope|noose|gun|razors?|blades?|knife|bottle of pills)`},
	{name: "means-ready", cat: MethodPlan, sev: fixed(High), flags: fSubject | fNowAny | fMeans,
		keys: []string{"ready", "setup", "laidout", "linedup", "countedout", "infrontofme", "nexttome", "together", "ropeis", "ropetied", "noseis", "nosetied", "beltis", "ropehung", "ropeup", "nosehung"},
		pat: `(?:` + pills + `|rope|noose|gun|razors?|blades?) (?:is |are )?(?:all )?(?:ready|set up|laid out|lined up|counted out|in front of me|next to me)|` +
			`(?:have|got|get|getting) (?:the|my|enough|all the|all my) (?:` + pills + `|rope|gun|razors?|blades?) (?:ready|together|lined up|laid out|counted out)|` +
			`(?:the )?(?:rope|noose|belt) (?:is )?(?:tied|hung|secured|up|attached|tied up)`,
		unless: `for (?:pick ?up|collection|refill|the week|tomorrow)|at the pharmacy|to (?:pick|collect|go)|in my (?:pill box|pill organizer|bag)`},
	{name: "rope-noose", cat: MethodPlan, sev: fixed(High), flags: fSubject | fNowAny | fMeans,
		keys: []string{"rope", "noose", "helium", "charcoal", "exitbag"},
		pat: `(?:tied|tie|tying|made|make|making|have|got|bought|hung|hanging up|set up) (?:a |the |my )?noose|noose (?:is )?(?:ready|tied|up|hanging|set up)|` +
			`(?:have|got|bought|buy|buying|ordered|found|get|getting) (?:a |the |some |enough )?(?:rope|helium|charcoal|exit bag)`,
		unless: `for (?:the|a|my|our) (?:camping|climbing|hiking|work|boat|garden|swing|tent|project|dog|hammock|balloons?|party|grill|bbq|barbecue|class|gym|trip|birthday|kids)|for (?:camping|climbing|hiking|work|sailing|balloons|the bbq|grilling)|to (?:tie|hang (?:the|a|my|up)|secure|climb|fix|make a|grill|fill)|at|from|and (?:tape|tarp|balloons)|balloons?|tank for|light|bag for|ladder|swing`},
	{name: "gun-ready", cat: MethodPlan, sev: fixed(High), flags: fSubject | fMeans,
		keys: []string{"gun", "pistol", "revolver", "shotgun", "rifle", "bullet"},
		pat:  `(?:loaded|load|loading|cleaned|bought|got|have|holding|took out|got out|getting out) (?:a |the |my |my dad's |dad's |a loaded |the loaded )?(?:gun|pistol|revolver|shotgun|rifle)|(?:one|a|the) bullet (?:for me|left|is for me)`,
		near: `die|dead|death|end it|kill|my ?self|suicid\w*|goodbye|bye|pull the trigger|can't (?:do|take) (?:this|it)|anymore|for good|forever|end my life`},
	{name: "note", cat: MethodPlan, sev: fixed(High), flags: fSubject,
		keys:   []string{"suicidenote", "goodbyenote", "farewellnote", "finalnote", "lastnote", "suicideletter", "goodbyeletter", "farewellletter", "finalletter", "lastletter", "goodbyemessage", "farewellmessage", "finalmessage", "lastmessage", "suicidevideo", "goodbyevideo"},
		pat:    `(?:wrote|written|writing|write|left|leaving|finished|drafted|drafting|typed|have|recorded|recording) (?:a |my |the )?(?:suicide|goodbye|farewell|final|last) (?:notes?|letters?|messages?|videos?)`,
		unless: `(?:to|for) (?:the )?(?:team|class|school|teacher|coworkers|colleagues|office|job|company|boss|group)|before (?:i|my) (?:leave|move|moving|retire)|to santa|in (?:the )?(?:group|chat)`},
	{name: "note-for-family", cat: MethodPlan, sev: fixed(High), flags: fSubject,
		keys:   cross([]string{"note", "notes", "letter", "letters"}, []string{"for", "to"}),
		pat:    `(?:wrote|written|writing|left|leaving|finished) (?:a |my |the )?(?:notes?|letters?) (?:for|to) (?:my (?:family|parents|mom|mum|dad|kids|children|wife|husband|partner|sister|brother|friends|loved ones)|everyone(?: i love)?|everybody|them|you all|y'all|whoever finds me|the people i love)(?: (?:to find|explaining|saying goodbye|for when|for after))?`,
		unless: `about (?:the|my|their|our) (?:trip|schedule|plans|dinner|chores|party)|to (?:remind|say happy|say thank|thank|wish)|for (?:their|the) (?:birthday|anniversary|trip)|on (?:the )?fridge`},
	{name: "wrote-a-note", cat: MethodPlan, sev: fixed(High), flags: fSubject | fClauseEnd,
		keys: cross([]string{"wrote", "written", "finished", "left"}, []string{"anote", "mynote", "thenote"}),
		pat:  `(?:i |i've |i have |ive )?(?:wrote|written|finished|left) (?:a|my|the) note`},
	{name: "decided-how", cat: MethodPlan, sev: fixed(High), flags: fSubject | fActive,
		keys: append(cross([]string{"decided", "figuredout", "workedout", "know", "planned", "planning", "picked", "chosen", "researched", "researching", "thinkingabout"}, []string{"how", "when", "where"}), "exactlyhow", "exactlywhen", "exactlywhere"),
		pat:  `(?:decided|figured out|worked out|know|knows|planned|planning|picked|chosen|chose|researched|researching|settled on|thinking about|thought about) (?:exactly )?(?:how|when|where|the (?:day|date|time|place|method|way)) (?:i'm going to|i'm gonna|i am going to|im gonna|i'll|i will|to|i want to|i'd|i would|i can|i should|i'm gonna) ?(?:do it|end it|die|kill myself|end my life|jump|overdose|od|hang myself|take my life|end things|go through with it)`},
	{name: "decided-how-bare", cat: MethodPlan, sev: fixed(High), flags: fSubject | fClauseEnd | fActive,
		keys: append(cross([]string{"decided", "figuredout", "workedout", "planned"}, []string{"how", "when", "where"}), "exactlyhow"),
		pat:  `(?:i've |i have |ive |i )?(?:decided|figured out|worked out|planned out|planned) (?:exactly )?(?:how|when|where)`},
	{name: "picked-date", cat: MethodPlan, sev: fixed(High), flags: fNeedSelfStrict | fClauseEnd | fActive,
		keys: []string{"pickedthe", "pickeda", "chosenthe", "chosena", "chosethe", "chosea", "setadate", "setthedate", "setaday", "settheday", "settledon", "decidedon"},
		pat:  `(?:picked|chosen|chose|set|settled on|decided on) (?:a|the) (?:date|day|time|place|spot|method)`},
	{name: "use-means", cat: MethodPlan, sev: sevTable{None, High, High, High, High, Imminent, High, High, Gentle, High}, flags: fSubject | fNow,
		keys: []string{"useit", "usingit", "usethem", "usingthem"},
		pat:  `(?:use|using) (?:it|them) (?:on myself)?`,
		near: `gun|guns|gun safe|pistol|rifle|shotgun|revolver|rope|noose|razors?|blades?|bullets?`},
	{name: "do-it", cat: MethodPlan, sev: sevTable{None, Elevated, Elevated, None, High, Imminent, Elevated, High, None, Imminent}, flags: fSubject | fNow | fActive,
		keys:   []string{"doit", "doingit", "gothroughwithit", "readytogo"},
		pat:    `(?:do it|doing it|go through with it|ready to go)`,
		unless: `for|with|to|again (?:next|tomorrow)|later|tomorrow|next|at work|at school|myself|properly|right|together|by|on|in (?:the|a)`,
		near:   `pills?|meds|overdose|od|rope|noose|gun|kill (?:myself|me)|killing myself|die|dying|dead|suicid\w*|end it|end my life|goodbye|bye forever|can't go on|can't do this anymore|bridge|ledge|jump|razor|blade|cut|cutting|my note|last message|better off without me|burden|wanna die|want to die|unalive|kms|ctb`},
	{name: "have-a-plan", cat: MethodPlan, sev: fixed(High), flags: fSubject | fActive,
		keys: []string{"planto", "planfor", "planonhow", "planofhow", "planof", "planabouthow", "suicideplan", "suicidalplan", "suicidemethod", "suicidalmethod", "suicidepact", "suicidalpact"},
		pat:  `(?:have|got|made|making|make|there's|theres|with) (?:a|the|my|a whole|a real|an actual) plan (?:to|for|on how to|of how to|of|about how to) (?:kill myself|end my life|die|end it|suicide|do it|take my life|end things|commit suicide|overdose|od|hang myself|jump)|(?:suicide|suicidal) (?:plans?|method|methods|pact)`},
	{name: "researched-method", cat: MethodPlan, sev: fixed(High), flags: fSubject,
		keys: []string{"tallest", "highest", "nearestbridge", "closestbridge", "tobeto", "tobledout", "bledout", "howlong", "todie", "ofdying", "tokillmyself", "toendmylife", "tohangmyself", "tocommitsuicide", "tokillyourself", "tokms", "tosuicide", "tonotwakeup", "toendit"},
		pat: `(?:looked|look|looking|searched|searching|googled|googling|researched|researching|read|reading|watched|watching) (?:up |into |about )?(?:how|ways|methods|the (?:best|easiest|quickest|fastest|most painless) (?:way|ways|method)) (?:to|of) (?:die|kill myself|end my life|hang myself|commit suicide|kill yourself|kms|suicide|not wake up|end it)|` +
			`(?:looking up|looked up|searching|searched|googling|googled|researching|researched|scouting|checked out|checking out|visited|visiting) (?:the )?(?:tallest|highest|nearest|closest|best|biggest) (?:bridges?|buildings?|cliffs?|parking (?:garages?|structures?)|rooftops?|overpasses?|towers?)(?: near me| around here| in town| nearby)?|` +
			`how (?:high|tall|far) (?:a |the )?(?:bridge|building|fall|drop|jump) (?:has to|needs to|would have to|should) be to (?:die|kill (?:you|me|someone))|` +
			`(?:painless|easiest|quickest|fastest|best|quick|surest) (?:way|ways|method|methods) to (?:die|kill myself|end (?:it|my life)|commit suicide|kill yourself)|` +
			`how long (?:does it take|it takes|would it take|until you|before you|till you|until i|before i) (?:to )?(?:bleed out|die|suffocate|drown|pass out and die|lose consciousness)`},
	{name: "researched-dose", cat: Overdose, sev: fixed(High), flags: fSubject,
		keys: []string{"howmany", "howmuch", "lethal", "fatal", "deadly", "tooverdose", "waystood", "howtood"},
		pat: `(?:looked|look|looking|searched|searching|googled|googling|researched|researching|read|reading) (?:up |into |about )?(?:how|ways|methods|the (?:best|easiest|quickest|fastest|most painless) (?:way|ways|method)) (?:to|of) (?:overdose|od)|` +
			`how (?:many|much) (?:[a-z0-9]+ ){0,2}(?:does it take|would it take|do i need|would i need|do you need|to take|it takes|would i have to take|should i take|would kill|until) (?:to )?(?:die|kill (?:me|myself|you|a person|someone|somebody)|od|overdose|be fatal|be lethal|not wake up|never wake up|end it|i die|you die|it kills you)|` +
			`how (?:many|much) (?:` + pills + `|mg|of (?:my|these|them|it|those)) (?:to )?(?:die|kill (?:me|myself|you|a person|someone|somebody)|od|overdose|be fatal|be lethal|not wake up|never wake up|end it)|` +
			`(?:lethal|fatal|deadly) (?:dose|amount|dosage|overdose)`},
	{name: "method-self", cat: MethodPlan, sev: methodSev, flags: fSelf | fNow | fWayOut | fActive,
		keys: []string{"hang", "hung", "shot", "drown", "stab", "electroc", "sufoc", "poison", "gas", "strangl", "slit", "slash", "wrist", "throat"},
		pat: `(?:hang|hanging|hanged|hung|shoot|shooting|shot|drown|drowning|stab|stabbing|electrocute|electrocuting|suffocate|suffocating|poison|poisoning|gas|gassing|strangle|strangling) ` + me + `|` +
			`(?:slit|slitting|slash|slashing|cut|cutting) (?:my )?(?:wrists?|throat)|(?:slit|slash) (?:my )?(?:wrists?|throat)`,
		unless: `in the (?:foot|leg|arm|knee)|with (?:a|the) (?:camera|nerf|water|paintball)|a (?:look|message|text|email)|on (?:a|the|some) (?:glass|paper|can|knife|nail|fence)|by accident|accidentally|(?:while|when) (?:shaving|cooking|chopping)|shaving|cooking`},
	{name: "method-jump", cat: MethodPlan, sev: cueMethodSev, flags: fSubject | fNow | fActive,
		keys:   []string{"jump", "leap", "throwmyself", "stepinfront", "steppinginfront"},
		pat:    `(?:jump|jumping|leap|leaping|throw myself|step|stepping) (?:off|from|in front of|under|into) (?:a|the|this|that|my|our) (?:next |oncoming |passing |coming |first |nearest |tallest |highest )?(?:bridge|building|roof|rooftop|cliff|balcony|overpass|ledge|tower|parking (?:garage|deck|structure)|train|car|bus|truck|subway|traffic|window)`,
		unless: `into the pool|in the pool|on the trampoline|into the snow|for fun|for the photo|with my (?:kids|friends)`},
	{name: "method-traffic", cat: MethodPlan, sev: cueMethodSev, flags: fSubject | fNow | fActive,
		keys: []string{"walkinto", "walkinginto", "stepinfront", "steppinginfront", "stepinto", "throwmyself", "throwingmyself", "liedownon", "laydownon", "lyingdownon", "layingdownon", "liedownin", "laydownin", "walkinfront", "walkinginfront", "driveoff", "driveinto", "drivingoff", "drivinginto", "crashinto", "crashinginto", "crashmycar", "crashingmycar", "steerinto", "steeringinto", "mycaroff", "mycarinto"},
		pat: `(?:walk|walking|step|stepping|throw myself|throwing myself|lie down|lay down|lying down|laying down) (?:into|in front of|under|onto|on) (?:a |the |some )?(?:traffic|train|car|bus|truck|subway|tracks|train tracks|highway|freeway|motorway|ocean|sea|river|lake|road)|` +
			`(?:drive|driving|crash|crashing|steer|steering) (?:my car )?(?:off|into) (?:a|the) (?:bridge|cliff|wall|tree|river|lake|oncoming traffic|traffic|pole|truck)|(?:crash|crashing) my car (?:on purpose|deliberately)`,
		unless: `for fun|with my (?:kids|friends)|to (?:get|buy|see|meet|pick)|and (?:bought|got|picked)`},

	// ---------------------------------------------------------------
	// Goodbye.
	{name: "this-is-goodbye", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys: []string{"goodbye", "farewell", "goodnightforever", "byefor", "byeworld", "byecruel", "byeto", "byeeveryoneforever", "byeallforever"},
		pat: `this is (?:my )?(?:final |last )?(?:goodbye|good bye|farewell|goodnight forever)|(?:my )?(?:final|last) (?:goodbyes?|good byes?|farewells?)|` +
			`(?:goodbye|good bye|bye|farewell) (?:forever|for good|for ever|world|cruel world|to (?:the|this) world|everyone forever|all forever)|` +
			`(?:saying|said|say|to say) (?:my )?(?:final |last )?goodbyes|` +
			`(?:wanted|want|just wanted|needed|need) to say goodbye (?:to (?:everyone|you all|all of you|y'all|this group) )?(?:one last time|for the last time|forever|while i (?:still )?can|before i go|before i die|before it's too late|before i do it)`,
		unless: `for now|for (?:the|this) (?:week|weekend|summer|night|day|holidays?|season|semester|year)|until|till|til|see you|ttyl|for a (?:bit|while|few)|to (?:my|the|our) (?:old|apartment|house|job|team|school|city|town|hometown|dog|cat)`},
	{name: "last-message", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys: append(cross([]string{"last", "final"}, []string{"message", "post", "text", "words", "time", "checkin", "update", "letter", "note"}), "hearfromme", "seemeagain", "seemeanymore", "seemeever"),
		pat: `this is (?:my )?(?:last|final) (?:message|post|text|words|time (?:you'll|you will|u'll|anyone will|you guys will|y'all will) (?:hear from|see) me)|` +
			`(?:last|final) (?:message|post|text|words|check ?in|update|letter|note) (?:you'll (?:ever )?(?:get|receive|read|hear|see) )?(?:from me|ever|before i go|i'll (?:ever )?(?:send|write|post))|` +
			`(?:you|u|anyone|you all|y'all|you guys|everyone) (?:won't|wont|will not|will never|'ll never|ll never) (?:hear from|see) me (?:again|anymore|ever again)`,
		unless: `before (?:the|my|i (?:go|leave) (?:on|for)|holiday|vacation|break|christmas|the weekend)|for (?:the|today|tonight|now|a while|this (?:week|session))|until|till|til|in (?:this|the) (?:group|room|chat|thread)|here (?:for|until)|on (?:this|that) (?:topic|subject|thread)|about`},
	{name: "wont-be-around", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys: []string{"bearound", "behere", "bealive"},
		pat:  `(?:won't|wont|will not|will no longer|am not going to|'m not going to) be (?:around|here|alive) (?:much longer|for (?:much )?longer|for long|by (?:tomorrow|morning|the morning|next week|then|christmas)|after (?:tonight|today)|to see (?:tomorrow|the morning|next week|christmas|my birthday|another (?:day|year)))|(?:won't|wont|will not) be alive`},
	{name: "be-gone-soon", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys: []string{"begone", "behere", "bearound", "bealive"},
		pat: `(?:don't|dont|do not) think i'll be (?:here|around|alive) (?:next week|tomorrow|much longer|for long|by (?:then|tomorrow|next week|morning)|anymore)|` +
			`(?:i'll|i will|ill) be gone (?:soon|by (?:tomorrow|morning|then|next week)|forever|for good|before (?:long|you know it))`,
		unless:     `on (?:vacation|holiday|a trip)|for (?:the|a|work)|to (?:the|my|work)|until|till|back`,
		unlessNear: `vacation|holiday|trip|travel\w*|moving|move|flight|conference|camp|business`},
	{name: "or-ever", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys: []string{"orever", "everagain"},
		pat:  `(?:won't|wont|will not|will never) (?:be|see you|see anyone|talk to you) (?:[a-z']+ ){0,4}(?:or ever|ever again)`},
	{name: "thank-you-goodbye", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys:       []string{"foreverything"},
		pat:        `(?:thank you|thanks|thank u|ty) (?:all |so much |guys |everyone |all so much )?for everything`,
		near:       `goodbye|good bye|bye|farewell|i'm sorry|im sorry|sorry for everything|forgive me|love you all|i love you|forever`,
		unlessNear: `see (?:you|u|ya|y'all)|next (?:week|time|session|group|month)|tomorrow|later|tonight's session|until|till|talk soon|see you soon|back soon|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)`},
	{name: "goodbye-sorry", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys:       []string{"byeeveryone", "byeal", "byeyoual", "byeyal", "byeguys", "byeeverybody", "byeworld"},
		pat:        `(?:goodbye|good bye|bye) (?:everyone|all|you all|y'all|guys|everybody|world)`,
		near:       `i'm sorry|im sorry|i am sorry|sorry for everything|forgive me|i love you all|love you all|forever|for good|thank you for everything`,
		unlessNear: `see (?:you|u|ya|y'all)|next (?:week|time|session|group|month)|tomorrow|later|talk soon|back soon|leave early|have to (?:go|leave|run)|gotta (?:go|run)|need to (?:go|leave)|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|for (?:now|today|tonight)|sorry (?:i|to|for (?:leaving|being late|the))`},
	{name: "goodbye-bare", cat: Goodbye, sev: fixed(High), flags: fSubject | fClauseEnd,
		keys:       []string{"goodbye", "farewell"},
		pat:        `(?:goodbye|good bye|farewell)`,
		near:       `i'm sorry|im sorry|i am sorry|sorry for everything|forgive me|thank you for (?:being|everything|all)|i love you all|love you all|forever|for good|won't see|last time|take care of`,
		unlessNear: `see (?:you|u|ya|y'all)|next (?:week|time|session|group|month)|tomorrow|later|talk soon|back soon|leave early|have to (?:go|leave|run)|gotta (?:go|run)|need to (?:go|leave)|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|for (?:now|today|tonight)|sorry (?:i|to|for (?:leaving|being late|the))|party|trip|holiday|vacation|moving|new job|graduat\w*`},
	{name: "love-before-i-go", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys:       []string{"beforeigo", "beforeileave", "beforeidie", "beforeidoit", "beforeimgone"},
		pat:        `(?:love|thank|thanks) (?:you|u) (?:all |guys |so much |everyone )?(?:[a-z']+ ){0,3}before i (?:go|leave|die|do it|'m gone)`,
		unlessNear: `see (?:you|u|ya|y'all)|next (?:week|time|session|group|month)|tomorrow|later|talk soon|back soon|holiday|vacation|trip|move|moving|leave (?:for|on)|session|log off|sign off|for (?:now|today|tonight)|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)`},
	{name: "affairs", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys: []string{"mywill", "affairs", "inorder", "loseends", "instructions", "mysocials", "myaccounts", "mydebts", "socialmedia"},
		pat: `(?:sorted|sorting|made|making|wrote|written|writing|updated|updating|finished|finalized|finalised|signed) (?:out )?my will|(?:getting|got|put|putting|sorted|sorting) (?:all )?my affairs in order|affairs (?:are |is )?in order|` +
			`(?:everything|everything's|everythings|all) (?:is )?in order(?: now)?|tying up (?:all )?(?:the |my )?loose ends|tied up (?:all )?(?:the |my )?loose ends|left (?:instructions|directions) for|` +
			`(?:deleted|deleting|closed|closing) (?:all )?(?:of )?my (?:socials|accounts|social media|instagram|facebook|tiktok|twitter)|paid off (?:all )?(?:of )?my (?:debts|debt|bills|loans)`,
		near: `will|affairs|in order|loose ends|instructions|socials|accounts|debts|goodbye|bye|won't need|when i'm gone|after i'm gone|for good|forever|sorry|the dog|my cat|my pets`},
	{name: "wont-need-stuff", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys: []string{"needingany", "needany", "needingmy", "needmy"},
		pat:  `(?:won't|wont|will not|am not going to|'m not going to|not going to) (?:be )?(?:need|needing) (?:any of )?my (?:stuff|things|belongings|clothes|guitar|car|books|money|savings|possessions|meds|pills|room|phone)(?: (?:soon|much longer|where i'm going|after (?:tonight|today|this week)))`},
	{name: "pets-better-off", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys: []string{"mycat", "mydog", "mypet", "mycats", "mydogs", "mypets", "mybunny", "myrabit", "myhamster", "mybird", "myfish", "mykitty", "mypupy"},
		pat:  `(?:giving|gave|give|given|rehomed|rehoming|rehome) (?:away )?my (?:cat|dog|pet|cats|dogs|pets|bunny|rabbit|hamster|bird|fish|kitty|puppy)(?: away)?(?: to (?:[a-z']+ ){1,2})?`,
		near: `better off|won't (?:need|be around|be here)|goodbye|forever|for good|after i'm gone|when i'm gone|take (?:good )?care of (?:her|him|them)`},
	{name: "giving-away", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys:   []string{"givingaway", "gaveaway", "giveaway", "givenaway", "mythings", "mystuff", "mybelongings", "mypossessions"},
		pat:    `(?:giving|gave|give|given) away (?:all )?(?:of )?my (?:things|stuff|belongings|possessions|clothes|books|games|art|guitar|savings|money|jewelry|collection|` + pets + `)|(?:giving|gave|give) (?:all )?(?:of )?my (?:things|stuff|belongings|possessions) away`,
		unless: `to (?:charity|goodwill|the thrift|a thrift|the salvation|donation|the shelter|the library)|because (?:i'm|we're|i am) (?:moving|downsizing|decluttering)|before (?:the|my|we|i) (?:move|moving)|for (?:the|my) move|since (?:i'm|we're) moving|on (?:facebook|marketplace|craigslist|freecycle)|for (?:free|christmas)`},
	{name: "care-for-pets", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys: []string{"takecareofmy", "lookaftermy", "feedmy", "adoptmy", "lovemy"},
		pat: `(?:take care of|look after|feed|adopt|love) my ` + pets + ` (?:for me )?(?:when|after|once) i'm (?:gone|not here|dead|not around|no longer here)|` +
			`(?:please )?take care of my ` + pets + ` for me`,
		unless:     `while|this|next|on|over|for (?:the|a|a few|two|three|[0-9])|tomorrow|tonight|when i'm (?:away|at|on|out|in)|during|until|till|when i travel|when i go`,
		unlessLeft: `(?:can|could|would|will) (?:you|u|someone|anyone)(?: please)?`},
	{name: "by-the-time", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys: []string{"bythetime", "otherside", "anotherlife", "nextlife", "abetterlife", "inheaven", "afterlife", "knowingyou", "knowingyall", "knowingeveryone", "knowingu", "knowingall", "imgone", "imdead", "imnolonger", "imnothere", "leavingforever", "leavingforgood", "leavingpermanently", "goingawayforever", "goingawayforgood", "checkingout", "leavingthis"},
		pat: `by the time (?:you|u|anyone|someone|somebody|people|you all|y'all) (?:read|reads|see|sees|find|finds|get|gets) (?:this|my message|my note)|` +
			`see (?:you|u|y'all|ya) (?:all )?(?:on the other side|in (?:another|the next|a better) life|in heaven|in the afterlife)|meet (?:you|u) (?:on the other side|in heaven|in the next life)|` +
			`(?:it was|it's been|it has been) (?:nice|good|great|an honor|a pleasure|an honour|lovely) knowing (?:you|y'all|everyone|you all|all of you|u)|` +
			`(?:after|once) i'm (?:gone|dead|no longer here|not here anymore)|when i'm (?:gone|dead|no longer here|not here anymore)|` +
			`(?:i'm|im|i am) (?:leaving|going away|checking out) (?:forever|for good|permanently) |leaving this (?:world|earth|life)`,
		unless: `of (?:surgery|this|the|my)|for (?:a|the|my|work|school|vacation|holiday)|on (?:vacation|holiday|a trip|leave)|to (?:work|school|college|the)|from (?:work|school|here)|next|this (?:weekend|week|summer)|at (?:work|school)`},
	{name: "sorry-goodbye", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys: []string{"sorryforeverything", "iloveher", "ilovehim", "ilovethem", "iloveyou", "imsorry", "ilovedthem", "ilovedher", "ilovedhim", "imgone"},
		pat: `sorry for everything (?:goodbye|good bye|bye|i love you|love you|please forgive me|forgive me|i'm sorry)|` +
			`(?:tell|let) (?:my )?(?:mom|mum|mother|dad|father|family|parents|sister|brother|kids|children|wife|husband|partner|girlfriend|boyfriend|gf|bf|everyone|them) (?:that |know )?(?:i love (?:them|her|him|you)|i'm sorry|i loved (?:them|her|him))|` +
			`(?:remember me|don't forget me|dont forget about me|think of me) (?:when|after|once) i'm gone`,
		unless: `when (?:you|u) (?:see|talk|call)|tomorrow|at (?:the|dinner)|on (?:the )?phone|for (?:me )?(?:on|at) (?:their|her|his) birthday`},
	{name: "wont-have-to", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys: []string{"dealwithme", "worryaboutme", "putupwithme", "seemeanymore", "seemeagain", "seemeever", "hearfromme", "botheredbyme", "takecareofme"},
		pat:  people + ` (?:won't|wont|will not|will never|won't ever|will no longer|won't need to|don't have to|wont need to) (?:have to )?(?:deal with|worry about|put up with|see|hear from|be bothered by|take care of) me (?:anymore|again|ever again|much longer|after (?:today|tonight)|soon)`},
	{name: "es-goodbye", cat: Goodbye, sev: fixed(High), flags: fSubject,
		keys: []string{"adiosparasiempre", "despedida", "ultimomensaje", "medespido"},
		pat:  `adios para siempre|esta es mi despedida|este es mi ultimo mensaje|me despido para siempre`},

	// ---------------------------------------------------------------
	// Self-harm.
	{name: "harm-myself", cat: SelfHarm, sev: sevTable{Elevated, Elevated, Elevated, Elevated, High, Imminent, Elevated, Elevated, Gentle}, flags: fSelf | fNow,
		keys:   []string{"myself", "myslef", "myelf", "meself", "mysef"},
		pat:    `(?:cut|cutting|cuttin|cuts|burn|burning|burnin|burned|burnt|hurt|hurting|hurtin|hurted|harm|harming|harmed|scratch|scratching|scratched|hit|hitting|punch|punching|punched|bang|banging|carve|carving|carved|bruise|bruising|mutilate|mutilating|mutilated|bite|biting|slap|slapping|starve|starving|bleed|choke|choking|strangle|strangling|pinch|pinching) ` + me,
		unless: `(?:while|when) (?:i was |i'm |im )?(?:shaving|cooking|chopping|slicing|cutting (?:the|some|an?|up)|peeling|opening|making|baking|ironing|gardening|working|lifting|running|playing|trying|doing|climbing|fixing|cleaning|moving|carrying)|by accident|accidentally|on (?:a|the|some|my)|shaving|cooking|chopping|slicing|cutting|peeling|opening|making|baking|ironing|gardening|working out|lifting|running|playing|falling|tripping|at (?:the gym|work|practice|the game|training|football|soccer|basketball|tennis|hockey)|with (?:a|the|my) (?:knife|kitchen|can|paper|stove|oven|pan|iron|curling|hair|box|scissors|tool|saw|lawn|grater|mandoline|razor while)|in (?:the|my) (?:kitchen|garden|yard|gym)|some slack|a break|a (?:slice|piece)|off|up|out|badly (?:at|while|on)|pretty bad (?:at|while|on)|doing|trying|laughing|free|loose|short|a favor|to sleep|in the (?:foot|face with|back with)|again (?:on|with|while)`},
	{name: "self-harm", cat: SelfHarm, sev: actSev, flags: fSubject | fNow,
		keys: []string{"selfharm", "selfinjur", "selfmutil", "nsi", "autolesion"},
		pat:  `self (?:harm(?:ing|ed|er)?|injur(?:y|ies|ing|e|ed)|mutilat(?:ion|e|ing)|destruct(?:ive|ing))|nssi|autolesion(?:es|arme)?`},
	{name: "sh", cat: SelfHarm, sev: actSev, flags: fSubject,
		keys: []string{"shurge", "shagain", "shrelapse", "shscar", "shwound", "shcut", "urgetosh", "urgesh", "relapsedsh", "relapsedonsh", "relapsesh", "relapsingsh", "relapsedintosh", "relapsedwithsh", "shtonight", "wantosh", "wanash", "didsh", "todaysh"},
		pat:  `sh (?:urges?|again|relapse|scars?|wounds?|cuts?|tonight)|(?:relapsed|relapse|relapsing|urges?|urge|want|wanna|did|to) (?:on |to |with |into )?sh`},
	{name: "harm-recovery", cat: SelfHarm, sev: fixed(Gentle), flags: fSubject,
		keys: []string{"shfre", "shclean", "harmfre", "harmclean", "cutingfre", "cutingclean", "cleanfrom", "fredfrom", "frefrom"},
		pat:  `(?:sh|self harm|cutting) (?:free|clean)|(?:clean|free) (?:from|of) (?:sh|self harm|cutting|harming)`},
	{name: "cutting", cat: SelfHarm, sev: actSev, flags: fSubject | fNow,
		keys: []string{"cut", "carv", "burn", "scar", "marks"},
		pat: `(?:cutting|cuttin|cut) (?:again|tonight)|(?:started|start|been|keep|kept|stop|quit|resist|resisting|relapsed (?:and|into)|back to|the urge to|urges to) (?:cutting|cuttin|burning)|` +
			`(?:cuts|cut|cutting|burn|burns|burning|scratch|scratches|scratching|carve|carving|carved|scars?|marks) (?:on |into )?(?:my|me) ` + body,
		unless: `(?:the|a|an|some|onions?|carbs|sugar|back|down|out|off|ties|class|classes|costs|corners|hair|bangs|coupons|paper|wood|grass|vegetables|veggies|meat|bread|fabric|cake|through|in|across|up|calories|gluten|dairy|meat|fat|it|them|this|that)|on (?:a|the|some) (?:glass|nail|fence|knife|can|paper|box)|while|when|by accident|accidentally|shaving|cooking|from (?:the|a|my) (?:surgery|accident|fall|cat|dog)|(?:healed|healing|are healing|have healed)`},
	{name: "injure-body", cat: SelfHarm, sev: actSev, flags: fSubject,
		keys: []string{"onpurpose", "bled", "bleed", "bruised"},
		pat: `(?:cut|cuts|cutting|cuttin|scratched|scratch|scratching|burned|burnt|burn|burning|hit|hitting|punched|punching|bit|biting|carved|carving|hurt|hurting|bashed|banged) (?:my|me) ` + body + ` (?:until|till|til|so hard|so bad|so much|that) (?:it|they|i|that it) (?:bled|bleed|bleeds|was bleeding|were bleeding|bruised|bruises|scarred)|` +
			`(?:cut|cuts|cutting|cuttin|scratched|scratch|scratching|burned|burnt|burn|burning|hit|hitting|punched|punching|bit|biting|carved|carving|hurt|hurting|bashed|banged) (?:(?:my|me) ` + body + `|` + me + `) on purpose`},
	{name: "cut-intransitive", cat: SelfHarm, sev: actSev, flags: fNeedSelfStrict | fSubject | fNow,
		keys: []string{"cut"},
		pat:  `(?:cut|cutting|cuttin|cuts) (?:again|tonight|today|yesterday|now|right now|rn|last (?:night|week|year|month|time)|in (?:high school|middle school|college|uni|the past|my teens|the bathroom|secret)|when i was|since|for (?:years|months|a while|a long time|the first time)|anymore|any more|every (?:day|night|week)|a lot|sometimes|often|before|deep|deeper|to (?:cope|feel|numb|punish))`},
	{name: "cut-bare", cat: SelfHarm, sev: actSev, flags: fNeedSelfStrict | fSubject | fClauseEnd,
		keys: []string{"cut"},
		pat:  `(?:cut|cutting|cuts)`},
	{name: "want-to-cut", cat: SelfHarm, sev: fixed(Elevated), flags: fSubject,
		keys:   []string{"tocut", "wannacut", "toburn", "wannaburn", "tohurtmyself", "wannahurtmyself", "toselfharm", "wannaselfharm", "urgecut", "urgescut", "cravingcut", "needcut"},
		pat:    `(?:urges?|urge|want|wanna|need|craving|cravings|tempted|itching|dying) (?:to )?(?:cut|burn|hurt myself|self harm)(?: (?:again|so bad|so badly|really bad|tonight))?`,
		unless: `my (?:hair|nails|bangs|losses|hours|spending|budget|sugar|carbs|caffeine|ties|phone|screen|toenails|lawn|grass)|the|a|an|some|him|her|them|you|ties|back|down|out|off|class|school|carbs|sugar|corners|costs|it|this|that|in|line|people|everyone|toxic|contact|calories|gluten|dairy|meat|through|across|up|loose|free|bangs|wood|paper|fabric|onions|cake|bread|calories`},
	{name: "es-self-harm", cat: SelfHarm, sev: actSev, flags: fSelf,
		keys: []string{"corto", "corte", "cortarme", "cortando", "dano", "lastimarme"},
		pat:  `me corto|me corte|cortarme|me estoy cortando|hacerme dano|me hago dano|lastimarme`},

	// ---------------------------------------------------------------
	// Ideation.
	{name: "kill-myself", cat: Ideation, sev: activeSev, flags: fSelf | fNow | fActive,
		keys:     []string{"kill"},
		pat:      `kill(?:ing|in|ed|s)? ` + me,
		gentleIf: `studying|working (?:on|so|too|overtime|late|hard)|working out|trying to (?:finish|fix|get|make|learn|keep|study|pass)|laughing|at the gym|to (?:get|finish|make|pay|impress|meet|hit|keep up|catch up|study|pass)|for (?:a|an|this|that|the) (?:grade|exam|test|deadline|project|promotion|class|game|match|race)|in the gym|with (?:work|school|homework|studying|this (?:project|workout|assignment))|over (?:exams|finals|a grade|this exam|this test|homework)`,
	},
	{name: "kms", cat: Ideation, sev: activeSev, flags: fSelf | fNow | fNotAfterNumber | fActive,
		keys: []string{"kms"},
		pat:  `kms|kmsl`},
	{name: "kys-self", cat: Ideation, sev: activeSev, flags: fNeedSelfStrict | fNow | fActive,
		keys: []string{"kys"},
		pat:  `kys`},
	{name: "end-my-life", cat: Ideation, sev: activeSev, flags: fSelf | fNow | fActive,
		keys:   []string{"endmy", "endingmy", "endedmy", "endsmy"},
		pat:    `end(?:ing|ed|s)? (?:my own|my|me own) (?:life|self|existence)|end ` + me,
		unless: `story|insurance|career`},
	{name: "end-it-all", cat: Ideation, sev: activeSev, flags: fSelf | fNow | fActive,
		keys: []string{"enditall", "endingitall", "endeditall", "enditonceand", "enditfor", "endingitfor"},
		pat:  `end(?:ing|ed)? it all|end(?:ing)? it once and for all|end(?:ing)? it for good|end(?:ing)? it forever`},
	{name: "end-it", cat: Ideation, sev: cueActSev, flags: fSubject | fNow,
		keys:   []string{"endit", "endedit", "endingit", "endthings", "endingthings", "endeverything", "endingeverything"},
		pat:    `end(?:ing|ed)? (?:it|things|everything)`,
		unless: `with|between|for (?:us|them|him|her|good with)|early|there|here|on (?:a|that|this|good)|soon|before|after|by|at|now and (?:move|start)|off|up|the (?:relationship|call|meeting)|well|nicely|politely|properly|today with`},
	{name: "take-my-life", cat: Ideation, sev: activeSev, flags: fSelf | fNow | fActive,
		keys:   []string{"takemy", "takingmy", "tookmy", "takesmy"},
		pat:    `(?:take|taking|took|takes) my (?:own )?life`,
		unless: `back|in (?:a|my|the) (?:new|different|better) direction|into (?:my|your) own hands|seriously|more seriously|for granted|apart|to (?:the next level|a new level|another level)|one (?:day|step) at a time|off (?:autopilot|hold)|insurance|savings`},
	{name: "commit-suicide", cat: Ideation, sev: activeSev, flags: fSubject | fNow | fActive,
		keys: []string{"commit"},
		pat:  `commit(?:ting|ted|s)? (?:suicide|suicde|sucide|suiside|seppuku|sewer slide|self delete|self deletion)`},
	{name: "unalive-myself", cat: Ideation, sev: activeSev, flags: fSelf | fNow | fActive,
		keys: []string{"unaliv"},
		pat:  `unaliv(?:e|ing|ed) (?:` + me + `|me)`},
	{name: "unalive", cat: Ideation, sev: activeSev, flags: fSubject | fNow | fActive,
		keys: []string{"unaliv"},
		pat:  `unaliv(?:e|ing|ed)`},
	{name: "self-delete", cat: Ideation, sev: cueActiveSev, flags: fSubject | fNow | fActive,
		keys: []string{"selfdelet"},
		pat:  `self delet(?:e|ing|ion)`},
	{name: "sewer-slide", cat: Ideation, sev: actSev, flags: fSubject | fNow,
		keys: []string{"sewersl"},
		pat:  `sewer slide|sewerslide|sewer sliding`},
	{name: "ctb", cat: Ideation, sev: actSev, flags: fSubject | fNow,
		keys: []string{"ctb"},
		pat:  `ctb`},
	{name: "catch-the-bus", cat: Ideation, sev: cueActSev, flags: fNeedSelfStrict | fNow | fClauseEnd,
		keys: []string{"catchthebus"},
		pat:  `catch the bus`},
	{name: "s-word", cat: Ideation, sev: cueActSev, flags: fSubject,
		keys: []string{"sword"},
		pat:  `(?:the )?s\sword`},
	{name: "my-death", cat: Ideation, sev: wishSev, flags: fSubject,
		keys: []string{"mydeath", "myowndeath", "myfuneral", "myownfuneral", "mysuicide", "myownsuicide", "mydying"},
		pat:  `(?:my own|my) (?:death|funeral|suicide|dying)`},
	{name: "death-relief", cat: Ideation, sev: fixed(Elevated), flags: fSubject,
		keys: []string{"relief", "peaceful", "freedom", "release", "escape"},
		pat:  `(?:death|dying|being dead|not existing|not being here|not waking up|ending it|killing myself|suicide) (?:would be|will be|feels like|seems like|sounds like|is|would feel like|looks like) (?:such )?(?:a |an |the )?(?:relief|peaceful|freedom|release|escape|sweet relief|only escape)`},
	{name: "death-way-out", cat: Ideation, sev: fixed(Elevated), flags: fSubject,
		keys: []string{"wayout", "noescape", "onlyescape", "onlyoption", "onlyanswer", "onlysolution", "onlychoice"},
		pat: `(?:no (?:other )?way out|no escape|only way out|only escape|only option|only answer|only solution|only choice)(?: left)? (?:but|except|other than|besides|is|left is)? ?(?:death|dying|to die|suicide|killing myself|ending it|ending my life)|` +
			`(?:death|dying|suicide|killing myself|ending it|ending my life) (?:is|seems|seems like|feels like|looks like) (?:the|my) only (?:way out|escape|option|answer|solution|choice|way)`},
	{name: "rather-dead-than", cat: PassiveWish, sev: fixed(Elevated), flags: fSubject,
		keys: []string{"deadthan", "diethan"},
		pat:  `(?:be dead|die|not exist|not be alive) than (?:keep|go on|feel|live|be|face|wake|spend|continue|deal|suffer|carry on)`},
	{name: "ready-to-die", cat: Ideation, sev: fixed(High), flags: fSubject,
		keys:   []string{"readytodie", "readytobedead", "readytoleavethisworld"},
		pat:    `ready to (?:die|be dead|not exist|stop existing|leave this world)`,
		unless: `on (?:this|that|the) hill|for (?:this|that|it|my|the|you|him|her|them|a)|of (?:laughter|embarrassment|boredom)|laughing`},
	{name: "if-i-died-relief", cat: PassiveWish, sev: fixed(Elevated), flags: fSubject,
		keys: []string{"ifidied", "ifiwasdead", "ifididntwake", "ifinever"},
		pat:  `if i (?:died|was dead|were dead|didn't wake up|never woke up|just died|stopped existing) (?:tomorrow |today |tonight |in my sleep )?(?:it would be|that would be|it'd be|i'd be|i would be|it would feel like|it'd feel like) (?:such )?(?:a )?(?:relief|okay|fine|good|peaceful|better|free|at peace|happy)`},
	{name: "why-bother-living", cat: PassiveWish, sev: fixed(Elevated), flags: fSubject,
		keys: []string{"whyboher", "whybother", "wantoutof", "wanaoutof", "needoutof", "toescapethis", "toescapemy"},
		pat: `why (?:even )?bother (?:living|being alive|staying alive|going on|existing|waking up|trying to live)|` +
			`(?:want|need|wanna) (?:out of|to get out of|to escape) (?:this|my) life|(?:want|wanna) out of life`},
	{name: "might-as-well", cat: PassiveWish, sev: fixed(Elevated), flags: fSubject,
		keys: []string{"mightaswel"},
		pat:  `might as well (?:be dead|die|just die|kill myself|not exist|not be here|end it|end it all)`},
	{name: "off-myself", cat: Ideation, sev: cueActiveSev, flags: fSubject | fNow | fNoSqueeze | fActive,
		keys: []string{"offmy", "offingmy"},
		pat:  `off(?:ing)? ` + me},
	{name: "yeet", cat: Ideation, sev: activeSev, flags: fSelf | fNow | fActive,
		keys: []string{"yeet"},
		pat:  `yeet(?:ing)? ` + me + ` (?:off|into|out of|in front of)`},
	{name: "want-to-die-compact", cat: Ideation, sev: actSev, flags: fSubject | fNow | fPassiveTimed,
		keys: []string{"wanttodie", "wannadie", "wantodie", "wanttobedead", "wannabedead"},
		pat:  `(?:i )?(?:want to|wanna|wan to|want 2) (?:die|be dead)`},
	// The cue is inside the match ("iwanttokillmyself"): active ideation.
	{name: "want-to-kill-compact", cat: Ideation, sev: sevTable{High, High, High, High, High, Imminent, Elevated, High, Gentle, High}, flags: fSubject | fNow | fActive,
		keys: []string{"wanttokillmyself", "wannakillmyself", "wantokillmyself", "wanttokms", "wannakms", "wantokms"},
		pat:  `(?:i )?(?:want to|wanna|wan to|want 2) (?:kill myself|kms)`},
	{name: "something-stupid", cat: Ideation, sev: sevTable{None, Elevated, Elevated, None, High, Imminent, Elevated, High, Gentle}, flags: fSubject | fNow,
		keys: cross([]string{"something", "anything"}, []string{"stupid", "drastic", "permanent", "final", "irreversible", "icanttakeback"}),
		pat:  `(?:do|doing|did) (?:something|anything) (?:stupid|drastic|permanent|final|irreversible|i can't take back)`},
	{name: "die", cat: Ideation, sev: wishSev, flags: fSubject | fWishPassive | fPassiveTimed,
		keys:   []string{"die", "dying", "bedead", "stopliving", "stopbreathing", "bledout", "bledingout"},
		pat:    `(?:die|just die|dying|be dead|being dead|stop living|stop breathing|bleed out|bleeding out)`,
		unless: `my (?:hair|roots|beard|eyebrows|clothes|shirt|jeans)|(?:the|her|his|your) (?:hair|roots)|hair|roots|it (?:blue|red|pink|purple|black|green|blonde)|than|(?:of|from) (?:laughter|laughing|embarrassment|cringe|boredom|cuteness|happiness|joy|excitement|the heat|heat|thirst|hunger|jealousy|envy|fomo|old age)|laughing|for (?:this|that|it|these|those|a|some|him|her|my country)|on this hill|in (?:minecraft|fortnite|the game|game|a game|this game)|hard|happy|young|rich|peacefully in my (?:nineties|90s|eighties)|of old age|old`},
	{name: "not-exist", cat: PassiveWish, sev: wishSev, flags: fSubject,
		keys: []string{"stopexisting", "notexist", "notbealive", "notbehere", "notbearound", "ceasetoexist", "wakeup", "neverwakeup", "notwakeup", "sleepforever", "forever", "forgood", "permanently", "notbeanymore"},
		pat:  `(?:stop existing|not exist|not be alive|not be alive anymore|not be here anymore|not be around anymore|not be here any more|cease to exist|not wake up|never wake up|sleep forever|(?:go to |fall )?(?:sleep|asleep) (?:and|n) (?:never|not) wake up|disappear (?:forever|for good|permanently)|vanish (?:forever|for good)|be gone forever|be gone for good|not be anymore)`},
	{name: "suicide", cat: Ideation, sev: actSev, flags: fSubject | fNow | fWishPassive,
		keys: []string{"suic", "suis", "sucid", "suacid", "suecid", "suicad", "suicial"},
		pat:  `(?:suicid|suisid|sucid|suicd|suacid|suecid|suicad)(?:e|es|al|el|le|ality|ally|io|a|as|ial|ial|arme)|suicial|suicdal|suisidal`},
	{name: "attempt", cat: Ideation, sev: fixed(Elevated), flags: fSubject | fAttempt,
		keys:   []string{"attempt"},
		pat:    `(?:suicide|suicidal) attempts?|attempt(?:ed|ing)? (?:suicide|to (?:kill|end|take) (?:myself|my life|my own life))|attempt on my (?:own )?life|my (?:last |first |second |third |previous |recent )?attempt`,
		unless: `at (?:baking|cooking|making|the|a|this|that|drawing|painting|writing|running|fixing|being)|to (?:bake|cook|make|fix|run|draw|paint|write|learn)|was a (?:success|failure|disaster) in the kitchen`},
	{name: "es-ideation", cat: Ideation, sev: actSev, flags: fSelf | fNow,
		keys: []string{"morir", "matar", "suicid", "quitarme"},
		pat: `(?:me )?quiero morir(?:me)?|quiero morirme|(?:pienso|pensando|pense) en (?:morirme|el suicidio)|ganas de (?:morir|morirme)|` +
			`suicidarme|quitarme la vida`},
	// Wanting to kill oneself, in Spanish: active ideation.
	{name: "es-active", cat: Ideation, sev: fixed(High), flags: fSelf | fNow | fActive,
		keys: []string{"matar", "suicid", "quitar"},
		pat:  `me quiero (?:matar|suicidar|quitar la vida)|quiero (?:matarme|suicidarme|quitarme la vida)|(?:pienso|pensando|pense) en (?:suicidarme|matarme|quitarme la vida)|ganas de (?:matarme|suicidarme)`},
	{name: "es-intent", cat: MethodPlan, sev: fixed(High), flags: fSelf | fNow | fActive,
		keys: []string{"matar", "suicid", "quitar"},
		pat:  `me voy a (?:matar|suicidar|quitar la vida)|voy a (?:matarme|suicidarme|quitarme la vida)`},
	{name: "es-intent-when", cat: ImminentDanger, sev: fixed(Imminent), flags: fSelf,
		keys: []string{"nochememato", "nochemesuicido", "hoymemato", "hoymesuicido", "mananamemato", "mananamesuicido"},
		pat:  `(?:esta noche|hoy|manana) me (?:mato|suicido)`},

	// ---------------------------------------------------------------
	// Passive wish.
	{name: "wish-dead", cat: PassiveWish, sev: fixed(Elevated), flags: fSelf,
		keys: cross([]string{"wish", "wishing", "wished"}, []string{"i", "id", "thati"}),
		pat:  `wish(?:ing|ed)? (?:that )?(?:i|i'd|id) (?:was|were|had|'d|could be|would be|just was|just were)? ?(?:dead|never been born|not been born|never born|never existed|not alive|gone|never woke up|not exist|dead already|wasn't alive|wasn't born|didn't exist|wasn't here|weren't here)`},
	{name: "not-wake-up", cat: PassiveWish, sev: fixed(Elevated), flags: fSelf,
		keys: []string{"wakeup"},
		pat:  `(?:wish|hope|pray|praying|hoping|wishing)(?: that)? (?:i|i'd|id) (?:just )?(?:don't|dont|do not|won't|wont|will not|wouldn't|wouldnt|would not|didn't|didnt|never|'d never|would never|could just not|can just not|could not|couldn't|may not|might not) (?:ever )?wake up`},
	{name: "dont-want-wake", cat: PassiveWish, sev: fixed(Elevated), flags: fSubject,
		keys:   []string{"wakeup"},
		pat:    `(?:don't|dont|do not|doesn't|doesnt) (?:even )?(?:want|wanna) (?:to )?wake up(?: (?:tomorrow|anymore|again|ever again|in the morning))?`,
		unless: `early|at|before|for (?:work|school|class)|so early|on (?:a|the) (?:weekend|saturday|sunday)|in the morning for`},
	// "i just want to disappear": a passive wish at the end of its clause
	// ("i want to disappear under a blanket" is not); venting with a laugh
	// is not crisis language.
	{name: "want-to-disappear", cat: PassiveWish, sev: wishSev, flags: fSubject | fClauseEnd | fVague,
		keys: []string{"disappear", "vanish"},
		pat:  `(?:disappear|vanish)`},
	{name: "kill-me", cat: PassiveWish, sev: fixed(Elevated), flags: fSelf,
		keys: []string{"killme", "hitme", "runmeover", "endme", "takeme", "takesme", "shootme", "igethit", "igothit", "igetkiled", "igetrunover", "idgethit", "wouldgethit"},
		pat: `(?:wish|hope|pray|want|need)(?:ing|ed|s)? (?:that )?(?:someone|somebody|something|a car|a bus|a truck|a train|the universe|anyone|death|a meteor|lightning) (?:would|will|could|to|'d|would just|to just|will just|could just)? ?(?:kill|hit|run over|shoot|end) me|` +
			`(?:wish|hope|pray)(?:ing|ed)? (?:that )?(?:god|death|the universe|jesus|the lord) (?:would|will|could|'d)? ?(?:just )?(?:take|takes|took) me|` +
			`(?:wish|hope|pray)(?:ing|ed)? (?:that )?i (?:get|got|would get|'d get|will get|could get) (?:hit|run over|killed|shot|struck) (?:by|in)?`,
		unless: `in (?:a|the) (?:game|match)|with (?:a|the) (?:ball|pillow|snowball|nerf)|up|to (?:the|a|my|school|work|home|dinner)`},
	{name: "better-off-dead", cat: PassiveWish, sev: fixed(Elevated), flags: fSubject,
		keys: []string{"betteroffdead"},
		pat:  `better off dead`},
	{name: "es-passive", cat: PassiveWish, sev: fixed(Elevated), flags: fSelf,
		keys: []string{"ojala", "quisiera", "desaparecer"},
		pat:  `ojala (?:estuviera|estar|me muera|me muriera|no despertar|no despierte) ?(?:muert[oa])?|quisiera (?:estar muert[oa]|desaparecer|no despertar|no existir|morirme)|(?:quiero|quisiera) desaparecer para siempre`},

	// ---------------------------------------------------------------
	// Hopelessness and being a burden.
	{name: "better-off-without-me", cat: Hopelessness, sev: fixed(Elevated), flags: fSelf,
		unless: `for (?:a|the|one|two|three|[0-9]+|a few|a couple of) (?:day|days|week|weeks|night|nights|weekend|hour|hours|bit|while|minutes)|while i'm (?:away|gone|out|at|on)|this (?:weekend|week|evening)|tonight|today|tomorrow|for now|at (?:the|my) (?:party|meeting|game|event|office)`,
		keys:   []string{"withoutme", "ifiwas", "ifiwere", "ifidisappeared", "ifiwent", "ifiwasnt", "ifiwerent", "ifijust", "ifileft"},
		pat:    `(?:better|happier|easier|fine|okay|ok|better off|happier off|safer|lighter) (?:off |place |world )?(?:without me|if i (?:just |simply |even )?(?:was|were|wasn't|weren't|was not|were not) (?:gone|here|around)|if i (?:just )?(?:disappeared|was gone|were gone|left for good|went away forever|wasn't here|weren't here|wasn't around))`},
	{name: "better-if-dead", cat: PassiveWish, sev: fixed(Elevated), flags: fSelf,
		keys: []string{"ifiwas", "ifiwere", "ifidied", "ifinever", "ifididnt", "ifikilled", "ifiwasnt", "ifiwerent", "ifijust", "ifisimply", "ifieven"},
		pat:  `(?:better|happier|easier|fine|okay|ok|better off|happier off) (?:off )?if i (?:just |simply |even )?(?:was|were|wasn't|weren't|was not|were not) (?:dead|alive|born)|(?:better|happier|easier|fine|okay|ok|better off|happier off) (?:off )?if i (?:just )?(?:died|never existed|didn't exist|killed myself|wasn't alive|weren't alive|was never born)`},
	{name: "better-with-someone-else", cat: Hopelessness, sev: fixed(Elevated), flags: fSelf,
		keys:   []string{"ofwitha", "ofwithanother", "ofwithsomeone", "betterwitha", "betterwithanother", "betterwithsomeone"},
		pat:    `better off with (?:a different|another|a better|someone else as (?:their|a)|a new) (?:mom|mum|mother|dad|father|parent|wife|husband|partner|friend|daughter|son|sister|brother|person|family member)|better off with someone else`,
		unless: `for (?:the|this|that) (?:project|job|task|game|team|trip|shift)|at (?:work|school)`},
	{name: "burden", cat: Hopelessness, sev: fixed(Elevated), flags: fNeedSelf,
		unless: `when|whenever|if i|sometimes|at times|on (?:bad|some) days|asking|to ask`,
		keys:   []string{"burden", "wasteofspace", "wasteofair", "wasteofoxygen", "wasteoflife"},
		pat:    `(?:a|such a|just a|nothing but a|only a|an? (?:huge|big|massive|total)|a complete|a fucking) (?:burden|waste of (?:space|air|oxygen|life))|burden (?:to|on|for) (?:everyone|everybody|my (?:family|friends|parents|wife|husband|partner|kids|mom|mum|dad)|you all|you guys|y'all|others|people|them|anyone)`},
	{name: "no-reason", cat: Hopelessness, sev: fixed(Elevated), flags: fSubject,
		keys: []string{"noreason", "nopoint", "nopurpose", "nowill", "nodesire", "tolivefor", "thepoint", "apoint", "anypoint", "pointless", "meaningless", "hopeless", "worthless", "whyami", "whydoi", "worthliving", "worthit", "worthcontinuing", "worththepain", "worththeeffort", "beingalive", "beingborn", "stilhere", "evenhere", "stilalive", "evenalive", "stilbreathing", "stilaround", "existing", "myexistence", "thatiexist", "thatiwasborn", "wakingupeveryday", "thatimalive", "bealive", "haveenborn", "beliving", "shouldntexist", "shouldnotexist", "shouldneverexist"},
		pat: `no (?:reason|point|purpose|will|desire) (?:to|in|of|for) (?:live|living|life|being alive|be alive|go on|going on|keep going|keep living|exist|existing|stay alive|staying alive|wake up|waking up|carry on|carrying on|continue living|being here)|` +
			`nothing (?:left )?to live for|` +
			`(?:don't|dont|do not|can't|cant|cannot|no longer) see (?:the|any|a) point (?:in|of|to) (?:living|being alive|life|going on|existing|anything|trying|staying alive|being here|waking up)|` +
			`(?:life|living|my life|everything|existence|existing|it all) (?:is|feels|seems|has become) (?:so |completely |totally |just )?(?:pointless|meaningless|hopeless|worthless)|` +
			`(?:life|living|my life|this life|existing) (?:isn't|isnt|is not|ain't|aint|'s not|s not|is no longer|isn't even) worth (?:living|it|continuing|the pain|the effort)|not worth living|no longer worth living|` +
			`(?:what's|whats|what is) (?:even )?the point (?:of|in) (?:living|life|being alive|existing|going on|anything anymore|trying anymore|waking up|my life)`},
	{name: "not-alive", cat: PassiveWish, sev: fixed(Elevated), flags: fSubject,
		keys: []string{"deservetolive", "deservetobealive", "deservetoexist", "deservetobehere", "whyami", "whydoi", "whyim", "beingalive", "beingborn", "stilhere", "evenhere", "stilalive", "evenalive", "stilbreathing", "stilaround", "existing", "myexistence", "thatiexist", "thatiwasborn", "wakingupeveryday", "thatimalive", "bealive", "haveenborn", "beliving", "shouldntexist", "shouldnotexist", "shouldneverexist", "ofliving", "ofbeingalive", "ofexisting", "ofwakingup", "ofbreathing"},
		pat: `why (?:am i|am i even|am i still|do i (?:even |still )?(?:bother|keep)) (?:alive|living|breathing|existing|trying to live|going on|here on earth)|why do i (?:even |still )?(?:exist|bother living)|` +
			`why (?:am i|i'm|im|i am) (?:even |still )(?:here|alive|breathing|living|around|on this earth)|` +
			`(?:hate|hating|regret) (?:being alive|being born|existing|my existence|that i exist|that i was born|waking up every day|that i'm alive)|` +
			`(?:shouldn't|should not|shouldnt|should never) (?:be alive|exist|have been born|be living)|` +
			`(?:don't|dont|do not|doesn't|never) deserve to (?:live|be alive|exist|be here|have been born)|` +
			`(?:tired|sick|exhausted|weary|so tired) of (?:living|being alive|existing|waking up|breathing)`},
	{name: "dont-want-live", cat: PassiveWish, sev: fixed(Elevated), flags: fSubject,
		keys:   []string{"wanttolive", "wannalive", "wanttobealive", "wannabealive", "wanttoexist", "wannaexist", "wanttobehere", "wannabehere", "wanttobearound", "wanttobeinthis", "wanttobeonthis", "wanttogoon", "wanttokeep", "wannakeep", "wanttocontinue", "wanttocarryon", "wishtolive", "wishtoexist"},
		pat:    `(?:don't|dont|do not|doesn't|doesnt|no longer|don't even|dont even|don't really|dont really|didn't|didnt) (?:want|wanna|wish) (?:to )?(?:live like this(?: anymore| any more| any longer)?|live|be alive|exist|be here anymore|be here any longer|be here any more|be around anymore|be in this world|be on this earth|go on (?:living|anymore|like this)|keep (?:living|going anymore|existing)|continue living|live anymore|carry on living|be alive anymore)`,
		unless: `in|with|at|near|here|there|on|by|under|alone|together|so far|without (?:my|a|the)|paycheck|far|like (?:that|them|him|her|my|a|an)|through (?:another|this) (?:winter|summer)|next to|close to|downtown|abroad|anywhere|somewhere|where`},
	{name: "want-it-over", cat: Hopelessness, sev: fixed(Elevated), flags: fSubject,
		keys:   []string{"toend", "tobeover", "tostop", "tobedone"},
		pat:    `(?:want|wish|need|wanna)(?:ed|s)? (?:it all|everything|all of it|my life|this life|life|it to all|everything to just) (?:to )?(?:just )?(?:end|be over|stop|be done)(?: forever| for good| permanently)?`,
		unless: `(?:so|and|then) (?:i|we) can|after|when|because (?:it's|this is) (?:boring|long)`},
	{name: "want-it-over-vague", cat: Hopelessness, sev: fixed(Elevated), flags: fSubject,
		keys: []string{"tobeover", "toend", "tostop"},
		pat:  `(?:want|wish|need|wanna) (?:it|this) (?:to )?(?:just )?(?:end|be over|stop)(?: forever| for good| permanently)?`,
		near: `nothing (?:will |is going to |is ever going to )?(?:ever )?(?:get|gets|getting) better|never (?:gets|get|going to get) better|no point|hopeless|tired of fighting|can't do this|give up|giving up|no future|no way out|pointless|exhausted of|done with life|worthless|burden|anymore`},
	{name: "no-future", cat: Hopelessness, sev: fixed(Elevated), flags: fSubject,
		keys: []string{"nofuture"},
		pat:  `no future (?:for me|left for me|ahead of me|left)|(?:i have|i've got|i got|i've) no future`},
	{name: "wouldnt-care", cat: PassiveWish, sev: fixed(Elevated), flags: fSelf,
		keys: []string{"careif", "mindif"},
		pat: `(?:wouldn't|wouldnt|would not|don't|dont|do not|wouldn't even|honestly wouldn't|really wouldn't) (?:care|mind) (?:if|when) (?:i (?:died|die|didn't wake up|never woke up|don't wake up|got hit|get hit|was gone|disappeared|live or die|lived or died|got killed|get killed|crashed)|` +
			`(?:a car|a bus|a truck|a train|something|someone|somebody|lightning|a meteor) (?:hit|hits|killed|kills|ran over|runs over|took) me)`},
	{name: "cant-go-on", cat: Hopelessness, sev: fixed(Elevated), flags: fSubject | fVague,
		keys: []string{"anymore", "anylonger", "muchlonger"},
		pat:  `(?:can't|cant|cannot|can not|couldn't|i'm unable to) (?:go on|keep going|keep living|do this life(?: thing)?|do life|live this life|do this|take it|take this|live like this|handle (?:it|this|life)|cope|bear it|stand (?:it|this|living|being alive)|carry on|face (?:another day|tomorrow|life)) (?:any more|anymore|any longer|much longer)`},
	{name: "cant-go-on-bare", cat: Hopelessness, sev: fixed(Elevated), flags: fSubject | fClauseEnd,
		keys: cross([]string{"cant", "cannot", "couldnt"}, []string{"goon", "keepgoing", "keepliving", "livelike"}),
		pat:  `(?:can't|cant|cannot|can not|couldn't) (?:go on|keep going|keep living|live like this|go on like this|go on living)`},
	{name: "tired-of-living", cat: Hopelessness, sev: fixed(Elevated), flags: fSubject,
		keys: []string{"oflife", "ofbeinghere", "tostayalive", "ofthislife", "ofmylife", "ofbeingme", "withlife", "withliving", "withbeingalive", "withexisting", "withitall", "withthislife", "withthisworld", "uponlife", "uponliving", "uponmyself", "uponstayingalive"},
		pat: `(?:tired|sick|exhausted|weary|so tired) of (?:life|being here|trying to stay alive|fighting to stay alive|this life|my life|being me)|` +
			`(?:done|finished) with (?:life|living|being alive|existing|it all|this life|this world)|(?:give|giving|gave|given) up on (?:life|living|myself|staying alive)`},
	{name: "no-one-would-care", cat: Hopelessness, sev: fixed(Elevated), flags: fSelf,
		keys: []string{"missme", "myfuneral", "noonewould", "nobodywould", "noonewill", "nobodywill", "ifidied", "ifidie", "ifiwas", "ifiwere", "ifim", "ifiam", "ifidisappear", "ifikill", "ifiwasnt", "ifileft", "whenidie", "whenidied", "wheniwas", "whenim"},
		pat: `(?:no one|noone|nobody|no body) (?:would|will|'d|'ll) (?:even )?(?:care|notice|cry|mourn me|be sad) (?:if|when) i (?:died|die|was gone|were gone|'m gone|am gone|disappeared|disappear|killed myself|kill myself|was dead|stopped existing)|` +
			`(?:no one|noone|nobody) (?:would|will|'d|'ll) (?:even )?miss me|` +
			`if i (?:died|was gone|were gone|disappeared|killed myself|was dead|just disappeared|just died|stopped existing) (?:no one|noone|nobody|no body) (?:would|will|'d|'ll) (?:even )?(?:care|notice|cry|mourn me|miss me|be sad)|(?:no one|nobody) (?:would|will) (?:come to|show up to|go to|show up at) my funeral`},
	{name: "es-not-live", cat: PassiveWish, sev: fixed(Elevated), flags: fSubject,
		keys:   []string{"noquiero"},
		pat:    `no quiero (?:vivir|seguir viviendo|existir|despertar(?:me)?|estar aqui)(?: mas)?`,
		unless: `en|con|aqui|alli|alla|cerca|lejos|sin (?:mi|mis)|asi no|solo|sola`},
	{name: "es-hopeless", cat: Hopelessness, sev: fixed(Elevated), flags: fSubject,
		keys: []string{"carga", "mejorsin", "aguantomas", "puedomas", "vivir", "seguir"},
		pat: `(?:soy|me siento) (?:una )?carga|(?:estarian|estaria|estarias) mejor sin mi|` +
			`no (?:tengo|hay|le veo) (?:razon|razones|motivo|motivos|sentido) (?:para|de|a) (?:vivir|seguir)|ya no (?:aguanto|puedo) mas|no (?:vale|tiene sentido) (?:la pena )?vivir`},

	// ---------------------------------------------------------------
	// About someone else, or bereavement: gentle.
	{name: "others-act", cat: Ideation, sev: fixed(Gentle), flags: fOthers,
		keys: []string{"himself", "herself", "themselves", "themself", "hislife", "herlife", "theirlife", "hisownlife", "herownlife", "theirownlife"},
		pat: `(?:kill|killed|killing|kills|unalive|unalived|unaliving|hang|hanged|hung|hanging|shot|shoot|shooting|drowned|drown) ` + themselves + `|` +
			`(?:took|take|taking|takes|ended|end|ending|ends) (?:his|her|their) (?:own )?life`},
	{name: "others-harm", cat: SelfHarm, sev: fixed(Gentle), flags: fOthers,
		keys:   []string{"himself", "herself", "themselves", "themself"},
		pat:    `(?:cut|cuts|cutting|hurt|hurts|hurting|harm|harms|harming|burn|burns|burning|burned) ` + themselves,
		unless: `while|when|by accident|accidentally|on (?:a|the|some)|shaving|cooking|at (?:the gym|work|practice)|playing|falling`},
	{name: "bereavement", cat: Ideation, sev: fixed(Gentle), flags: fOthers,
		keys: []string{"suic", "suis"},
		pat: `(?:died|dead|death|lost|losing|loss) (?:\S+ ){0,3}?(?:by|of|from|to) (?:suicide|suicid)|suicide loss|(?:survivors?|loss) (?:of|after) suicide|` +
			`(?:se )?suicido|se mato|se quito la vida`},
}

// idioms silence a weak match (a term with no self-reference and no verb of
// intent) that they overlap: "suicide prevention", "the suicide squad". They
// never silence "kill myself" or any phrase that names the writer.
var idioms = []string{
	`killing me`, `killing it`, `killed it`, `to die for`, `dying (?:of|from) (?:laughter|laughing|embarrassment|cringe|boredom|heat)`,
	`dying to (?:know|see|try|meet|hear|go|get|tell|eat)`, `died laughing`, `i'm dead(?: (?:lol|lmao|😂|💀|🤣))?`,
	`dead tired`, `dead serious`, `dead wrong`, `dead end`, `die hard`, `diehard`,
	`killed (?:the|that|this) (?:boss|game|level|raid|dragon|zombie|mood|vibe)`, `my (?:character|guy|toon|champion|hero) (?:died|dies|is dead|keeps dying)`,
	`kill (?:the|that|this) (?:heat|lights|engine|process|app|music|mood|vibe|time|pain)`, `kill time`, `killing time`, `killer whales?`,
	`suicide (?:squad|prevention|awareness|hotline|lifeline|helpline|crisis line|line|bombers?|bombings?|bombing|doors?|sprints?|drills?|runs?|rates?|statistics|stats|research|risk assessment|training|squeeze|king|blonde|forest|girls|mission|machine|note movie|pact movie|watch training)`,
	`suicide (?:burn|burns|wings|sauce|hot sauce|intervention|first aid|postvention|safety plan|safety planning|screening|assessment|risk|helpline|support|crisis|grief|bereavement|support group|survivors group|loss group)`,
	`(?:made|make|making|ordered|order|got|get|had|have) a suicide(?: drink| soda)?`, `(?:run|running|ran|do|did|doing|runs) suicides`,
	`self harm (?:support|leaflet|leaflets|resources|services|awareness|group|helpline|info|information|pamphlet|training|policy|prevention)`,
	`the virgin suicides`, `virgin suicides`, `suicide is painless`, `suicidal thoughts song`,
	`(?:988|lifeline|hotline|crisis line|crisis text line)`, `awareness (?:walk|month|week|day|ribbon|event|training|campaign)`,
	`prevention (?:walk|month|week|day|training|course|class|event|month)`,
	`overdose (?:awareness|prevention|deaths|crisis|epidemic|rates?|reversal|antidote)`, `narcan`, `naloxone`,
	`self harm awareness`, `mental health (?:first aid|awareness)`, `(?:asist|safetalk|qpr) training`,
	`(?:harm|self harm) reduction`, `od(?:d|'d)? (?:on|with) (?:caffeine|coffee|sugar|candy|chocolate|carbs|netflix)`,
}

// pillKeys are the prefilter keys of the pills pattern.
var pillKeys = []string{"pill", "meds", "medication", "medicine", "tablet", "capsule", "sleepaid", "painkiller", "tylenol",
	"paracetamol", "acetaminophen", "advil", "ibuprofen", "aspirin", "xanax", "benadryl", "insulin", "antidepressant",
	"oxy", "percs", "percocet", "opioid", "opiate", "benzo", "lithium", "seroquel", "prozac", "zoloft", "ambien",
	"valium", "klonopin", "gabapentin", "morphine", "fentanyl", "heroin", "prescription", "sertraline", "fluoxetine",
	"citalopram", "paroxetine", "venlafaxine", "bupropion", "trazodone", "quetiapine", "amitriptyline", "diazepam",
	"lorazepam", "alprazolam", "clonazepam", "tramadol", "codeine", "hydrocodone", "methadone", "melatonin", "nyquil",
	"panadol", "lexapro", "wellbutrin", "effexor", "celexa", "paxil", "lamotrigine", "lamictal", "adderall",
	"antipsychotic"}

// drugNames are read as "pills" by the views.
var drugNames = wordSet(`tylenol paracetamol acetaminophen advil ibuprofen aspirin xanax benadryl insulin oxy oxys
	oxycodone percs percocet percocets opioids opiates benzos lithium seroquel prozac zoloft ambien valium klonopin
	gabapentin morphine fentanyl heroin sertraline fluoxetine citalopram escitalopram paroxetine venlafaxine
	bupropion trazodone quetiapine amitriptyline diazepam lorazepam alprazolam clonazepam tramadol codeine
	hydrocodone methadone melatonin nyquil panadol lexapro wellbutrin effexor celexa paxil lamotrigine lamictal
	adderall antidepressant antidepressants antipsychotic`)

// cross returns every a followed by every b: keys for phrases made of two
// parts.
func cross(as, bs []string) []string {
	out := make([]string, 0, len(as)*len(bs))
	for _, a := range as {
		for _, b := range bs {
			out = append(out, a+b)
		}
	}
	return out
}

// vocabulary are words the prefilter also knows, though no rule is keyed on
// them: leetFold uses them to choose between i and l for a '1'.
var vocabulary = []string{"myself", "self", "life", "live", "alive", "pills", "will", "all", "feel", "kill", "still", "hel", "lol", "wil", "fel", "pil", "self", "sucide"}
