package mgmtapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestGapsAuthErrorsNamedOnce: a refused ticket or session says what
// failed once ("redeeming ticket: unknown or used: invalid ticket"), not
// twice (route.go wrapped what session already names).
func TestGapsAuthErrorsNamedOnce(t *testing.T) {
	e := newEnv(t)
	var body struct{ Message string }
	e.anon().do("GET", "/api/objects/upload-progress/"+b64("k")+"?ticket="+strings.Repeat("A", 43), nil).
		wantError(http.StatusUnauthorized, "InvalidTicket").json(&body)
	if n := strings.Count(body.Message, "redeeming ticket"); n != 1 {
		t.Fatalf("ticket error %q names its step %d times", body.Message, n)
	}
	c := e.anon()
	c.bearer = "a.b.c"
	c.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "InvalidToken").json(&body)
	if n := strings.Count(body.Message, "verifying session"); n != 1 {
		t.Fatalf("session error %q names its step %d times", body.Message, n)
	}
}
