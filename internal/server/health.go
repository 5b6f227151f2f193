package server

import (
	"encoding/json"
	"net/http"
	"strings"
)

// ConsoleHandler serves the console listener: the management API under
// /api/ (api), and, until the web console lands, a JSON 404 elsewhere.
func ConsoleHandler(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			api.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"error": "NotFound", "message": "the web console is not part of this build yet; the management API is under /api/"})
	})
}
