package crisis

import (
	"strings"
	"testing"
)

type want struct {
	sev Severity
	cat Category // "" = any
}

func checkAll(t *testing.T, cases map[string]want) {
	t.Helper()
	for text, w := range cases {
		got := Detect(text)
		if got.Severity != w.sev || (w.cat != "" && got.Category != w.cat) || got.Matched != (w.sev != None) {
			t.Errorf("Detect(%q) = %v %v (matched %v), want %v %v", text, got.Severity, got.Category, got.Matched, w.sev, w.cat)
		}
	}
}

func TestCategories(t *testing.T) {
	checkAll(t, map[string]want{
		// Ideation.
		"I want to kill myself":                              {High, Ideation}, // active ideation (C-SSRS 2+)
		"i want to die":                                      {Elevated, Ideation},
		"I've been having suicidal thoughts":                 {Elevated, Ideation},
		"i keep thinking about ending my life":               {High, Ideation},
		"im so suicidal":                                     {Elevated, Ideation},
		"thinking about suicide again":                       {Elevated, Ideation},
		"I'm going to kill myself tonight":                   {Imminent, ImminentDanger}, // intent and its time
		"i'll end it all":                                    {High, MethodPlan},
		"I plan to take my own life":                         {High, MethodPlan},
		"i'm ready to end my life":                           {High, MethodPlan},
		"the voices keep telling me to kill myself":          {High, MethodPlan},
		"I almost killed myself last night":                  {High, MethodPlan},
		"i tried to kill myself yesterday":                   {High, Ideation},
		"I want to kill myself at work today":                {High, Ideation}, // "today" is when the feeling came, not the act
		"I'm going to take my own life and nobody will care": {High, MethodPlan},
		"i want to hang myself while everyone sleeps":        {Imminent, ImminentDanger}, // a method and its time
		"I'm going to hurt myself over this":                 {High, SelfHarm},
		"I'm about to kill myself":                           {Imminent, ImminentDanger},
		// Passive wish.
		"I wish I was dead":                             {Elevated, PassiveWish},
		"i wish i wouldn't wake up tomorrow":            {Elevated, PassiveWish},
		"hope i don't wake up":                          {Elevated, PassiveWish},
		"wish i could disappear forever":                {Elevated, PassiveWish},
		"I wish I could just die":                       {Elevated, PassiveWish},
		"i wouldn't care if a bus hit me":               {Elevated, PassiveWish},
		"I wish I had never been born":                  {Elevated, PassiveWish},
		"I'd be better off dead":                        {Elevated, PassiveWish},
		"i dont want to wake up anymore":                {Elevated, PassiveWish},
		"sometimes I hope something would just kill me": {Elevated, PassiveWish},
		"praying god takes me in my sleep":              {Elevated, PassiveWish},
		"honestly might as well be dead":                {Elevated, PassiveWish},
		"i just want to go to sleep and never wake up":  {Elevated, ""},
		"I'd rather not be alive":                       {Elevated, ""},
		"death would be a relief":                       {Elevated, ""},
		"i keep picturing my own funeral":               {Elevated, ""},
		// Self-harm.
		"I cut myself last night":                       {Elevated, SelfHarm},
		"cutting again":                                 {Elevated, SelfHarm},
		"i burned myself on purpose":                    {Elevated, SelfHarm},
		"I want to hurt myself":                         {Elevated, SelfHarm},
		"the urge to self harm is so strong":            {Elevated, SelfHarm},
		"relapsed on sh":                                {Elevated, SelfHarm},
		"I've been cutting my arms":                     {Elevated, SelfHarm},
		"i scratched my arm until it bled":              {Elevated, SelfHarm},
		"I'm going to hurt myself":                      {High, SelfHarm},
		"i'm going to cut myself while everyone sleeps": {High, SelfHarm},
		"I cut too deep and it won't stop bleeding":     {Imminent, SelfHarm},
		"i'm cutting right now":                         {Imminent, SelfHarm},
		// Method and plan.
		"I bought a rope":                          {High, MethodPlan},
		"I have the pills ready":                   {High, MethodPlan},
		"i've been stockpiling my meds":            {High, Overdose},
		"I wrote a suicide note":                   {High, MethodPlan},
		"I wrote a note.":                          {High, MethodPlan},
		"i've decided how":                         {High, MethodPlan},
		"I know exactly how I'm going to do it":    {High, MethodPlan},
		"how many tylenol would it take to die":    {High, Overdose},
		"i looked up painless ways to die":         {High, MethodPlan},
		"I want to hang myself":                    {High, MethodPlan},
		"thinking about jumping off a bridge":      {High, MethodPlan},
		"I have a plan to kill myself":             {High, MethodPlan},
		"I've picked the date":                     {High, MethodPlan},
		"i have enough pills to not wake up":       {High, Overdose},
		"I tied a noose":                           {High, MethodPlan},
		"been looking up the tallest bridges here": {High, MethodPlan},
		// Imminent danger.
		"I took all my pills":                                     {Imminent, Overdose},
		"just swallowed the whole bottle":                         {Imminent, Overdose},
		"I'm standing on the bridge":                              {Imminent, ImminentDanger},
		"i'm on the ledge":                                        {Imminent, ImminentDanger},
		"the gun is in my hand":                                   {Imminent, ImminentDanger},
		"gun to my head":                                          {Imminent, ImminentDanger},
		"taking them now. goodbye":                                {Imminent, ""},
		"the rope is around my neck":                              {Imminent, ImminentDanger},
		"I'm on the roof and I'm going to jump":                   {Imminent, ImminentDanger},
		"about to jump":                                           {Imminent, ImminentDanger},
		"sitting in my car in the garage with the engine running": {Imminent, ImminentDanger},
		"I'm in the bath with a razor":                            {Imminent, ImminentDanger},
		"I overdosed an hour ago":                                 {Imminent, Overdose},
		"im od'ing right now":                                     {Imminent, Overdose},
		// Goodbye.
		"this is goodbye":                        {High, Goodbye},
		"I'm giving away all my things":          {High, Goodbye},
		"I won't be around much longer":          {High, Goodbye},
		"please take care of my cat for me":      {High, Goodbye},
		"by the time you read this I'll be gone": {High, Goodbye},
		"this is my last message":                {High, Goodbye},
		"you won't have to deal with me anymore": {High, Goodbye},
		"tell my mom i love her":                 {High, Goodbye},
		"Goodbye everyone. I'm sorry.":           {High, Goodbye},
		"thank you all for everything. goodbye.": {High, Goodbye},
		"won't be needing my stuff soon":         {High, Goodbye},
		"I won't be at group next week, or ever": {High, Goodbye},
		// Overdose.
		"i want to overdose":                     {High, Overdose},
		"I'm going to take all my pills":         {High, Overdose},
		"gonna od tonight":                       {Imminent, Overdose},
		"thinking about overdosing":              {High, Overdose},
		"overdosing seems like the only way out": {High, Overdose},
		// Hopelessness and burden.
		"everyone would be better off without me": {Elevated, Hopelessness},
		"I'm a burden to everyone":                {Elevated, Hopelessness},
		"there's no reason to live":               {Elevated, Hopelessness},
		"I don't want to be here anymore":         {Elevated, PassiveWish},
		"I don't want to live like this anymore":  {Elevated, PassiveWish},
		"i have nothing left to live for":         {Elevated, Hopelessness},
		"I'm so tired of living":                  {Elevated, PassiveWish},
		"what's the point of living":              {Elevated, Hopelessness},
		"why am i still alive":                    {Elevated, PassiveWish},
		"I can't go on anymore":                   {Elevated, Hopelessness},
		"nobody would miss me":                    {Elevated, Hopelessness},
		"i just want it all to end":               {Elevated, Hopelessness},
		"life isn't worth living":                 {Elevated, Hopelessness},
	})
}

func TestSpanish(t *testing.T) {
	checkAll(t, map[string]want{
		"me quiero morir":                      {Elevated, Ideation},
		"quiero suicidarme":                    {High, Ideation},
		"Quiero quitarme la vida":              {High, Ideation},
		"me quiero matar":                      {High, Ideation},
		"voy a matarme esta noche":             {Imminent, ImminentDanger},
		"no quiero vivir":                      {Elevated, PassiveWish},
		"ya no quiero vivir más":               {Elevated, PassiveWish},
		"soy una carga para todos":             {Elevated, Hopelessness},
		"estarían mejor sin mí":                {Elevated, Hopelessness},
		"me corto los brazos":                  {Elevated, SelfHarm},
		"adiós para siempre":                   {High, Goodbye},
		"no quiero morir":                      {Gentle, Ideation},
		"mi hermano se suicidó":                {Gentle, Ideation},
		"mi jefe me va a matar si llego tarde": {None, ""},
		"me muero de risa 😂":                   {None, ""},
		"no quiero vivir en esta ciudad":       {None, ""},
	})
}

// Evasions: the same words written to get past a keyword list.
func TestEvasions(t *testing.T) {
	const zwsp, zwj, shy = "\u200b", "\u200d", "\u00ad"
	cases := map[string][]string{
		"leet": {"i want to k1ll mys3lf", "I want to d13", "su1c1dal", "$uicidal", "i want to ki11 myse1f",
			"k!ll myself", "1 w4nt t0 d1e", "ov3rd0se tonight, i want to"},
		"spaced":    {"k i l l m y s e l f", "i want to d i e", "s u i c i d a l", "k m s"},
		"dotted":    {"k.i.l.l m.y.s.e.l.f", "s.u.i.c.i.d.e is all i think about", "i want to d-i-e", "s/h again tonight"},
		"markup":    {"||i want to die||", "~~i want to kill myself~~", "*i want to die*", "_i want to die_", "`kill myself`", "> i want to die", "**suicidal**"},
		"cyrillic":  {"і wаnt tо kіll mysеlf", "suіcіdal", "і want tо dіе"},
		"greek":     {"i want to kιll myself", "suιcιdαl"},
		"fullwidth": {"ｉ ｗａｎｔ ｔｏ ｄｉｅ", "𝐢 𝐰𝐚𝐧𝐭 𝐭𝐨 𝐝𝐢𝐞", "ⓚⓘⓛⓛ ⓜⓨⓢⓔⓛⓕ"},
		"invisible": {"i want to ki" + zwsp + "ll myself", "sui" + shy + "cidal", "i want to d" + zwj + "ie",
			"i want to die\u202e", "\ufeffsuicidal", "kill\u2060myself"},
		"zalgo":    {"i w̴a̷n̶t̸ t̵o̶ d̸̢i̴̛e̷", "súícídál", "i want to dìé"},
		"repeated": {"i want to diiiiiie", "i want to diie", "SUUUUICIDAL", "kill myselfffff", "killlll myself", "i want to dieeeee"},
		"algospeak": {"i should just kys", "i want to unalive myself", "thinking about sewer slide", "kms", "i want to self delete",
			"ctb thoughts again", "thinking about the s word again", "honestly want to 🔫 myself"},
		"caps":       {"I WANT TO DIE", "I'M GOING TO KILL MYSELF", "SuIcIdAl"},
		"misspelled": {"im so sucidal", "i feel suiside", "suicidel thoughts", "keep thinking about killin myself", "cuttin again"},
		"no spaces":  {"iwanttodie", "killmyself", "#wanttodie"},
		"textspeak":  {"i wanna disappear 4ever"},
	}
	for kind, texts := range cases {
		for _, text := range texts {
			if got := Detect(text); !got.Matched || got.Severity < Elevated {
				t.Errorf("%s: Detect(%q) = %+v, want a match of at least elevated", kind, text, got)
			}
		}
	}
}

// Negated, past, about someone else, retracted: still matched, but gentle.
func TestLowered(t *testing.T) {
	for _, text := range []string{
		// Negation.
		"I'm not suicidal", "i would never kill myself", "I don't want to die", "I'm not going to hurt myself",
		"not suicidal anymore", "no thoughts of suicide this week", "I'm no longer suicidal",
		"suicidal? not anymore", "i didn't self harm today", "I'm not going to kill myself, just venting",
		// Past.
		"I used to cut in high school", "i was suicidal last year", "when I was 15 I tried to kill myself",
		"I attempted suicide years ago", "2 years clean from self harm", "I overdosed in 2019",
		"back when I wanted to die", "100 days sh free",
		// About someone else, bereavement.
		"my friend is suicidal", "my brother died by suicide", "she wants to kill herself",
		"my son has been cutting himself", "lost my dad to suicide", "he overdosed last week",
		"worried my sister wants to die", "my mum took her own life",
		// Retracted.
		"i want to kill myself jk", "i want to die, just kidding",
		// Talk about it as a topic.
		"can we talk about suicide in group", "I'm killing myself studying for finals", "My therapist asked if I ever had thoughts of self-harm and I said no.",
	} {
		if got := Detect(text); !got.Matched || got.Severity != Gentle {
			t.Errorf("Detect(%q) = %+v, want matched and gentle", text, got)
		}
	}
}

// Laughter after a strong phrase often masks it: it does not lower it. (A
// retraction such as "jk" does.)
func TestLaughDoesNotLower(t *testing.T) {
	checkAll(t, map[string]want{
		"I want to die lol":             {Elevated, Ideation},
		"kms lol":                       {Elevated, Ideation},
		"i'm going to kill myself lmao": {High, MethodPlan},
		"took all my pills 😂":           {Imminent, Overdose},
	})
}

// Idioms, jokes, games, cooking, titles, prevention: quiet.
func TestIdiomsQuiet(t *testing.T) {
	for _, text := range []string{
		"this traffic is killing me", "you're killing it!", "this cake is to die for", "I'm dying of laughter",
		"dead tired after work", "I'm dead 😂", "die hard is the best christmas movie", "we killed the boss finally",
		"my character died again", "kill the heat and let it rest", "watched suicide squad last night",
		"suicide prevention training was good", "the 988 lifeline number is on the fridge",
		"going to the awareness walk on sunday", "I'd rather die than sing karaoke", "this workout killed me",
		"I'm dying to see the new movie", "I could kill for a coffee", "my phone is dead", "that joke killed",
		"I'm going to kill my brother if he eats my leftovers", "overdosing on sugar this halloween",
		"I can't do this anymore lol my toddler won't nap", "coach made us run suicides",
		"i cut myself shaving", "burned myself on the stove", "hurt myself at the gym",
		"i'm going to overdose on netflix this weekend", "i need to die my roots lol", "i feel like dying my hair blue",
		"this heat makes me want to die lol", "my dog would be fine without me for a day",
		"that was odd tonight", "I'm not dead lol just busy", "dying my hair tonight",
		"my dad overdid it at the gym", "killer whale documentary",
		// An insult aimed at someone else is not crisis language (it is left
		// to reporting); the same letters about oneself are.
		"you should kys", "kys loser",
	} {
		if got := Detect(text); got.Matched {
			t.Errorf("Detect(%q) = %+v, want no match", text, got)
		}
	}
}

// Words that contain a trigger but are not it, and numbers that look like
// leetspeak but are not.
func TestSubstringsAndNumbersQuiet(t *testing.T) {
	for _, text := range []string{
		"I'm so skilled at this", "skillet cornbread recipe", "killer whale", "we watched the killers live",
		"studies show diet matters", "the soldier died in the film", "an indie band", "overdue library books",
		"call 988 if you need to", "911 is for emergencies", "see you at 7:30", "meds at 8am and 10pm",
		"I ran 5 kms today", "took 2 tylenol for my headache", "I take my meds every morning", "a 10mg dose",
		"room 404", "we're at 1337 main st", "call me at 555-0134",
	} {
		if got := Detect(text); got.Matched {
			t.Errorf("Detect(%q) = %+v, want no match", text, got)
		}
	}
	// A standalone number is never folded to letters.
	for _, n := range []string{"988", "911", "7:30", "1-800-273-8255", "741741"} {
		if got, _ := leetFold(Normalize("call " + n + " now")); got != "call "+n+" now" {
			t.Errorf("leetFold folded the number %q: %q", n, got)
		}
	}
}

// A held-out list of ordinary support-group messages, written apart from
// the corpus: none may match.
func TestEverydayQuiet(t *testing.T) {
	for _, text := range strings.Split(everyday, "\n") {
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		if got := Detect(text); got.Matched {
			t.Errorf("Detect(%q) = %+v, want no match", text, got)
		}
	}
}

const everyday = `
Thanks everyone for listening tonight, it really helped.
I did the breathing exercise before the meeting and it worked a bit.
My therapist says I should try journaling, anyone have tips?
This week was rough but I made it to group.
I'm so tired, work has been insane.
I finally cut back on coffee, two weeks now!
My sister and I went hiking by the river on Sunday.
I'm dying to know how your interview went
We're hanging out at the park later if anyone wants to come.
I kept putting off the worksheet, sorry.
The new meds are making me sleepy, going to ask my doctor.
My grandma passed away last month and I miss her.
Can someone share the link to the workbook again?
I cut my hair short and I love it.
I hit the gym this morning and feel great.
Just got back from my sister's wedding, I'm exhausted.
I'm on the edge of my seat waiting for the results.
The bridge club meets on Thursdays.
I hung the new curtains today.
I shot a video for my mom's birthday.
My cat knocked a glass off the table again lol
I need to take all my pills with food, the doctor said.
I'll do it tomorrow, promise.
I'm going to jump in the shower and then join.
We did jumping jacks in PE today.
The meeting ran over so I'm late, sorry.
I'm so done with this week lol
Killing time before my appointment.
My battery is dead, I'll message from my laptop.
That movie was a killer.
My boss is killing me with these deadlines.
I'm giving away my old baby clothes to a friend who's expecting.
Please take care of my plants while I'm on holiday.
I'm on the roof fixing the gutter, back in 10.
It's been a year since my dog died.
I burned the toast again.
I hurt my back lifting boxes.
Taking my meds now, then bed.
I'm at the train station, will be a few minutes late.
We went to the lake and jumped off the dock, so much fun.
I feel like a burden when I ask for help, is that normal?
I'm reading a book about grief.
Goodbye everyone, see you next week!
Thank you all for everything tonight, see you Thursday.
I love you guys, bye!
Can you take care of my dog for me this weekend?
I've been saving up for a new bike.
I looked up how to make sourdough.
How many pills do I take if I miss a dose?
I'm ready to try again next week.
I'm not going to give up on the workbook.
I could sleep forever after this week.
I want to disappear under a blanket and watch movies.
I want it to be over so I can go home, this meeting is long.
I can't do this homework anymore lol
I'm so tired of this rain.
The noose scene in that western was intense.
We talked about coping skills and grounding.
`
