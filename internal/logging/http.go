package logging

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
)

// Handler serves the admin API's logger endpoints. Mount it for both
// "/v1/loggers" and "/v1/loggers/" (it matches the full paths itself):
//
//	GET    /v1/loggers              {"format":…,"level":…,"components":[{component,level,override}…]}
//	PUT    /v1/loggers              {"level":"debug"}: the base level
//	GET    /v1/loggers/{component}  {component,level,override}
//	PUT    /v1/loggers/{component}  {"level":"debug"}: that component's override
//	DELETE /v1/loggers/{component}  drops the override (back to the base level)
//
// POST is accepted wherever PUT is. A body that is not such JSON, or an
// unknown level, is 400; an unknown component is 404. A successful change
// answers with the same document GET would.
func (l *Logging) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/loggers", l.serveList)
	mux.HandleFunc("PUT /v1/loggers", l.serveSetBase)
	mux.HandleFunc("POST /v1/loggers", l.serveSetBase)
	mux.HandleFunc("GET /v1/loggers/{component}", l.serveComponent)
	mux.HandleFunc("PUT /v1/loggers/{component}", l.serveSetComponent)
	mux.HandleFunc("POST /v1/loggers/{component}", l.serveSetComponent)
	mux.HandleFunc("DELETE /v1/loggers/{component}", l.serveClearComponent)
	return mux
}

// levelsDoc is GET /v1/loggers's answer.
type levelsDoc struct {
	Format     Format           `json:"format"`
	Level      string           `json:"level"`
	Components []ComponentLevel `json:"components"`
}

// levelBody is what PUT and POST take.
type levelBody struct {
	Level string `json:"level"`
}

func (l *Logging) serveList(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, levelsDoc{Format: l.format, Level: LevelName(l.Level()), Components: l.Levels()})
}

func (l *Logging) serveSetBase(w http.ResponseWriter, r *http.Request) {
	lv, err := readLevel(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	l.SetLevel(lv)
	l.serveList(w, r)
}

func (l *Logging) serveComponent(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("component")
	for _, c := range l.Levels() {
		if c.Component == name {
			writeJSON(w, http.StatusOK, c)
			return
		}
	}
	writeError(w, http.StatusNotFound, fmt.Errorf("no component %q", name))
}

func (l *Logging) serveSetComponent(w http.ResponseWriter, r *http.Request) {
	lv, err := readLevel(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if !l.SetComponentLevel(r.PathValue("component"), lv) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no component %q", r.PathValue("component")))
		return
	}
	l.serveComponent(w, r)
}

func (l *Logging) serveClearComponent(w http.ResponseWriter, r *http.Request) {
	if !l.ClearComponentLevel(r.PathValue("component")) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no component %q", r.PathValue("component")))
		return
	}
	l.serveComponent(w, r)
}

// readLevel decodes {"level":"…"}; the body is small, so it is capped
// rather than streamed.
func readLevel(r *http.Request) (slog.Level, error) {
	var b levelBody
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return 0, fmt.Errorf("want a JSON body {\"level\":\"debug|info|warn|error\"}: %w", err)
	}
	return ParseLevel(b.Level)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
