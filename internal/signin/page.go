package signin

import (
	"html/template"
	"net/http"

	"hearth/internal/httpapi"
)

// failure is a sign-in that did not finish: a stable code for the log, the
// status of the page, and the sentence the page shows. The sentences live
// here, in one place.
type failure struct {
	code   string
	status int
	text   string
}

// The ways a sign-in can fail.
var (
	failDenied = failure{"signin_denied", http.StatusForbidden,
		"You chose not to sign in, so you are not signed in. You can try again whenever you like."}
	failBadState = failure{"signin_bad_state", http.StatusBadRequest,
		"This sign-in could not be matched to this browser, or it took too long. Please start again from Hearth."}
	failBadNext = failure{"signin_bad_next", http.StatusBadRequest,
		"This sign-in link points away from Hearth, so it was not followed. Please open Hearth and sign in from there."}
	failUnreachable = failure{"signin_provider_unreachable", http.StatusBadGateway,
		"The sign-in service could not be reached. Please try again in a few minutes."}
	failProviderError = failure{"signin_provider_error", http.StatusBadGateway,
		"The sign-in service could not sign you in. Please try again; if it keeps happening, ask your organisation for help."}
	failBadIDToken = failure{"signin_bad_id_token", http.StatusBadGateway,
		"The sign-in service's answer could not be checked, so you are not signed in. Please try again."}
	failBadRole = failure{"signin_bad_role", http.StatusForbidden,
		"Your account has a role Hearth does not know, so you are not signed in. Please ask your organisation to check your account."}
	failInternal = failure{"signin_internal", http.StatusInternalServerError,
		"Something went wrong on our side, so you are not signed in. Please try again."}
)

// failurePage is the plain page shown for a failure: a heading, the
// sentence and a way back, with the site's stylesheet (no inline script or
// style, as the Content-Security-Policy requires).
var failurePage = template.Must(template.New("failure").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in did not finish</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<main class="signin-failed">
<h1>Sign-in did not finish</h1>
<p>{{.}}</p>
<p><a href="/">Back to Hearth</a></p>
</main>
</body>
</html>
`))

// fail shows f's page and logs its code. err is a detail for operators: it
// never holds a token, a code or a claim value.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, f failure, err error) {
	log := httpapi.RequestLogger(r.Context(), s.log)
	args := []any{"code", f.code}
	if err != nil {
		args = append(args, "err", err.Error())
	}
	if f.status >= 500 {
		log.Warn("sign-in failed", args...)
	} else {
		log.Info("sign-in failed", args...)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(f.status)
	_ = failurePage.Execute(w, f.text)
}
