package crisis

import "testing"

// Severity graded after the Columbia Suicide Severity Rating Scale (C-SSRS):
// a passive wish to be dead < active ideation < ideation with a method <
// with intent < with a plan, its timing or the means at hand. Written as
// members type in chat: lower case, no punctuation, misspelled.
func TestGradingCSSRS(t *testing.T) {
	checkAll(t, map[string]want{
		// Passive wish to be dead (C-SSRS 1): elevated, as before.
		"I wish I wasn't here":            {Elevated, PassiveWish},
		"I want to disappear":             {Elevated, PassiveWish},
		"i just want to disappear":        {Elevated, PassiveWish},
		"i wish i could disappear":        {Elevated, PassiveWish},
		"I want to die":                   {Elevated, Ideation},
		"i want to die lol":               {Elevated, Ideation},
		"i wish i could just die":         {Elevated, PassiveWish},
		"i wish i would never wake up":    {Elevated, PassiveWish},
		"i dont want to be alive anymore": {Elevated, PassiveWish},
		// The bare words, with no one saying them and no verb: elevated.
		"kill myself": {Elevated, Ideation},
		"kms":         {Elevated, Ideation},

		// Active ideation in the first person (C-SSRS 2–3): at least high.
		"I want to kill myself":                         {High, Ideation},
		"I want to end my life":                         {High, Ideation},
		"I'm thinking of killing myself":                {High, Ideation},
		"i wanna kill myself":                           {High, Ideation},
		"i want to end it all":                          {High, Ideation},
		"im thinking of killing myself":                 {High, Ideation},
		"i keep thinking about killing myself":          {High, Ideation},
		"ive been thinking about ending my life":        {High, Ideation},
		"i really want to kms":                          {High, Ideation},
		"i want to take my own life":                    {High, Ideation},
		"i want to commit suicide":                      {High, Ideation},
		"i need to kill myself":                         {High, Ideation},
		"i wish i could just kill myself":               {High, Ideation},
		"i feel like killing myself":                    {High, Ideation},
		"honestly i just want to end my life":           {High, Ideation},
		"i wnat to kill myslef":                         {High, Ideation},
		"i wana end my life":                            {High, Ideation},
		"iwanttokillmyself":                             {High, Ideation},
		"i want to unalive myself":                      {High, Ideation},
		"wanna off myself tbh":                          {High, Ideation},
		"me quiero matar":                               {High, Ideation},
		"I'm going to kill myself":                      {High, MethodPlan},
		"i told my therapist i want to kill myself":     {High, Ideation},
		"he said he loves me and i want to kill myself": {High, Ideation},
		"I want to kill myself at work today":           {High, Ideation}, // "today" is when the feeling came
		"i wanted to kill myself today":                 {High, Ideation}, // a feeling today, not a time for the act
		// A wish to be dead with a time, or with the means at hand: high.
		"i want to die tonight":          {High, Ideation},
		"i want to die and i have pills": {High, Overdose},

		// Ideation or intent with its time, or with the means at hand
		// (C-SSRS 4–5): imminent.
		"I want to kill myself tonight":                         {Imminent, ImminentDanger},
		"i want to kill myself right now":                       {Imminent, ImminentDanger},
		"im going to kill myself tonight":                       {Imminent, ImminentDanger},
		"I'M GOING TO KILL MYSELF TONIGHT":                      {Imminent, ImminentDanger},
		"gonna end it all tonight":                              {Imminent, ImminentDanger},
		"im going to end my life after this session":            {Imminent, ImminentDanger},
		"I want to kill myself after this session":              {Imminent, ImminentDanger},
		"tonight im going to kill myself":                       {Imminent, ImminentDanger},
		"i want to end my life this weekend":                    {Imminent, ImminentDanger},
		"im killing myself tomorrow":                            {Imminent, ImminentDanger},
		"i want to kms rn":                                      {Imminent, ImminentDanger},
		"i want to kill myself so bad tonight":                  {Imminent, ImminentDanger},
		"tonight's the night i end my life":                     {Imminent, ImminentDanger},
		"i think im going to kill myself when everyones asleep": {Imminent, ImminentDanger},
		"i'm gonna unalive myself tonight":                      {Imminent, ImminentDanger},
		"me voy a matar esta noche":                             {Imminent, ImminentDanger},
		"esta noche me mato":                                    {Imminent, ImminentDanger},
		"i want to kill myself and i have the pills":            {Imminent, Overdose}, // the means are pills
		"i bought a rope. im going to kill myself":              {Imminent, ImminentDanger},
		"i have a knife and i want to end it all":               {Imminent, ImminentDanger},
		// Plans and means without the word suicide.
		"I have pills and I'm taking them all tonight":          {Imminent, Overdose},
		"i have pills and im taking them all tonight":           {Imminent, Overdose},
		"I'm going to take all my pills tonight":                {Imminent, Overdose},
		"im going to take all my pills tonight":                 {Imminent, Overdose},
		"i have the pills and im going to take them all":        {Imminent, Overdose},
		"im taking every last one of my pills tonight":          {Imminent, Overdose},
		"i saved up my pills and im taking them all tonight":    {Imminent, Overdose},
		"im going to overdose tonight":                          {Imminent, Overdose},
		"overdose tonight":                                      {Imminent, Overdose},
		"i want to overdose tonight":                            {Imminent, Overdose},
		"gonna od tonight":                                      {Imminent, Overdose},
		"I've written my goodbye letters":                       {High, MethodPlan},
		"ive written my goodbye letters":                        {High, MethodPlan},
		"i wrote letters to my family, i wont be here tomorrow": {High, MethodPlan},
		// Means alone is preparation (high), or nothing ("i have pills").
		"I bought a rope":  {High, MethodPlan},
		"I have the pills": {None, ""},
	})
}

// What the grading must not raise: the past, negation, someone else's words,
// hyperbole, idioms, and pills taken as prescribed.
func TestGradingNotRaised(t *testing.T) {
	checkAll(t, map[string]want{
		"last year I wanted to die but I'm better now":                   {Gentle, Ideation},
		"when i was 15 i wanted to kill myself":                          {Gentle, Ideation},
		"i used to want to kill myself every day":                        {Gentle, Ideation},
		"i would never kill myself":                                      {Gentle, Ideation},
		"i dont want to kill myself tonight":                             {Gentle, Ideation},
		"im not suicidal tonight":                                        {Gentle, Ideation},
		"i want to kill myself jk":                                       {Gentle, Ideation},
		"im killing myself studying tonight":                             {Gentle, Ideation},
		"my friend said she wants to kill herself tonight":               {Gentle, Ideation},
		`my friend told me "i want to kill myself"`:                      {Gentle, Ideation},
		`my friend told me "i want to kill myself" and idk what to do`:   {Gentle, Ideation},
		`she said "I want to kill myself" and I didn't know what to say`: {Gentle, Ideation},
		`she texted me "im going to kill myself tonight"`:                {Gentle, MethodPlan},
		`the song goes "i want to end my life"`:                          {Gentle, Ideation},
		"this traffic is killing me":                                     {None, ""},
		"I could kill for a coffee":                                      {None, ""},
		"I'm dying to see it":                                            {None, ""},
		"take all the pills the doctor gives you? no way":                {None, ""},
		"i take all my pills every morning":                              {None, ""},
		"I need to take all my pills with food, the doctor said.":        {None, ""},
		"im taking all my meds tonight like im supposed to":              {None, ""},
		"i have pills for my headache":                                   {None, ""},
		"i have my meds with me tonight":                                 {None, ""},
		"i bought a rope for the hammock":                                {None, ""},
		"i got a knife for the kitchen":                                  {None, ""},
		"i have a gun. hunting season starts tomorrow":                   {None, ""},
		"im going to kill my brother tonight if he eats my leftovers":    {None, ""},
		"this exam is gonna kill me tomorrow":                            {None, ""},
		"i could just die of embarrassment today":                        {None, ""},
		"i'm gonna die if i don't get coffee right now":                  {None, ""},
		"my mom has all her pills in a box":                              {None, ""},
		"i'm going to take them all back to the pharmacy tonight":        {None, ""},
		"take them all with water tonight":                               {None, ""},
		"we watched suicide squad tonight":                               {None, ""},
		"i want to disappear lol":                                        {None, ""},
		"I want to disappear under a blanket and watch movies.":          {None, ""},
	})
}
