package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

const adminUsage = `Usage: coffer admin [--url URL] [--token TOKEN] [--json] COMMAND [ARGS]

Manage a Coffer server through its management API (/api on the console
listener). Log in once; the session is kept in $COFFER_ADMIN_CONFIG
(default ~/.config/coffer/admin.json). --url and --token (or
COFFER_ADMIN_URL and COFFER_ADMIN_TOKEN, an API token) override it.

Commands:
%s
Output is a table; --json prints the API's JSON instead.
`

// adminCLI is one invocation of coffer admin.
type adminCLI struct {
	url, token string
	asJSON     bool
	stdout     io.Writer
	stderr     io.Writer
	stdin      io.Reader
	hc         *http.Client
	configPath string
}

// adminConfig is what login keeps between invocations.
type adminConfig struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

func adminConfigPath(getenv func(string) string) string {
	if p := getenv("COFFER_ADMIN_CONFIG"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "."
	}
	return filepath.Join(dir, "coffer", "admin.json")
}

func adminCommand(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cli := &adminCLI{stdout: stdout, stderr: stderr, stdin: stdin, hc: &http.Client{Timeout: 5 * time.Minute},
		configPath: adminConfigPath(getenv)}
	fs := flag.NewFlagSet("coffer admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cli.url, "url", getenv("COFFER_ADMIN_URL"), "management API base URL, e.g. http://127.0.0.1:9001")
	fs.StringVar(&cli.token, "token", getenv("COFFER_ADMIN_TOKEN"), "API token or session token")
	fs.BoolVar(&cli.asJSON, "json", false, "print JSON instead of tables")
	fs.Usage = func() { fmt.Fprintf(stderr, adminUsage, commandList()) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	cmd, params := findCommand(rest)
	if cmd == nil {
		fmt.Fprintf(stderr, "coffer admin: unknown command %q\n\n", strings.Join(rest, " "))
		fs.Usage()
		return 2
	}
	if cmd.name != "login" {
		if err := cli.loadSession(); err != nil {
			fmt.Fprintln(stderr, "coffer admin:", err)
			return 2
		}
	}
	if err := cmd.run(cli, params); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "coffer admin %s: %v\nusage: coffer admin %s %s\n", cmd.name, err, cmd.name, cmd.args)
			return 2
		}
		fmt.Fprintln(stderr, "coffer admin:", err)
		return 1
	}
	return 0
}

// loadSession fills url and token from the saved login unless given.
func (cli *adminCLI) loadSession() error {
	if cli.url != "" && cli.token != "" {
		return nil
	}
	data, err := os.ReadFile(cli.configPath)
	if errors.Is(err, os.ErrNotExist) {
		if cli.url == "" {
			return errors.New("not logged in: run coffer admin --url URL login, or set COFFER_ADMIN_URL and COFFER_ADMIN_TOKEN")
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", cli.configPath, err)
	}
	var c adminConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("reading %s: %w", cli.configPath, err)
	}
	if cli.url == "" {
		cli.url = c.URL
	}
	if cli.token == "" {
		cli.token = c.Token
	}
	return nil
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// apiError is the API's error body.
type apiError struct {
	Status  int    `json:"-"`
	Name    string `json:"error"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("%s (HTTP %d): %s", e.Name, e.Status, e.Message)
}

// call sends a request and returns the response body; non-2xx statuses
// become *apiError. body is JSON-encoded unless it is an io.Reader.
func (cli *adminCLI) call(method, path string, body any, contentType string) ([]byte, error) {
	res, err := cli.send(method, path, body, contentType)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	if res.StatusCode >= 300 {
		e := &apiError{Status: res.StatusCode}
		json.Unmarshal(data, e) //nolint:errcheck // a non-JSON body keeps the bare status
		return nil, e
	}
	return data, nil
}

func (cli *adminCLI) send(method, path string, body any, contentType string) (*http.Response, error) {
	if cli.url == "" {
		return nil, errors.New("no server URL: pass --url or set COFFER_ADMIN_URL")
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case io.Reader:
		rd = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, contentType = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, strings.TrimRight(cli.url, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if cli.token != "" {
		req.Header.Set("Authorization", "Bearer "+cli.token)
	}
	res, err := cli.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calling %s %s: %w", method, path, err)
	}
	return res, nil
}

// show prints a response: JSON as is with --json, else a table of the
// list found under listKey ("" for a top-level array or a single object)
// with the given columns (all scalar fields when none are given).
func (cli *adminCLI) show(data []byte, listKey string, columns ...string) error {
	if cli.asJSON {
		var buf bytes.Buffer
		if err := json.Indent(&buf, data, "", "  "); err != nil {
			_, err = cli.stdout.Write(data)
			return err
		}
		buf.WriteByte('\n')
		_, err := buf.WriteTo(cli.stdout)
		return err
	}
	var v any
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("decoding response: %w", err)
	}
	var rows []map[string]any
	switch x := v.(type) {
	case []any:
		rows = objects(x)
	case map[string]any:
		if list, ok := x[listKey].([]any); ok && listKey != "" {
			rows = objects(list)
		} else {
			return cli.showObject(x)
		}
	default:
		_, err := fmt.Fprintln(cli.stdout, x)
		return err
	}
	if len(columns) == 0 && len(rows) > 0 {
		columns = scalarKeys(rows[0])
	}
	tw := tabwriter.NewWriter(cli.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(columns, "\t")))
	for _, r := range rows {
		cells := make([]string, len(columns))
		for i, c := range columns {
			cells[i] = cell(r[c])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// showObject prints one object as "key  value" lines.
func (cli *adminCLI) showObject(m map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(cli.stdout, 0, 4, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\n", k, cell(m[k]))
	}
	return tw.Flush()
}

func objects(list []any) []map[string]any {
	rows := make([]map[string]any, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			rows = append(rows, m)
		} else {
			rows = append(rows, map[string]any{"value": e})
		}
	}
	return rows
}

func scalarKeys(m map[string]any) []string {
	var keys []string
	for k, v := range m {
		switch v.(type) {
		case map[string]any, []any:
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = cell(e)
		}
		return strings.Join(parts, ",")
	}
	data, _ := json.Marshal(v)
	return string(data)
}

// pathEscape escapes one path segment.
func pathEscape(s string) string { return url.PathEscape(s) }

// rawJSON passes a JSON document through a JSON body unchanged.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) {
	if !json.Valid(r) {
		return nil, errors.New("the file is not valid JSON")
	}
	return r, nil
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
