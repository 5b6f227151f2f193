package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// adminCmd is one coffer admin command: its words ("users list"), its
// positional arguments as shown in usage, and what it does.
type adminCmd struct {
	name string
	args string
	help string
	run  func(cli *adminCLI, params []string) error
}

// findCommand matches the longest command name at the start of words.
func findCommand(words []string) (*adminCmd, []string) {
	var best *adminCmd
	n := 0
	for i := range adminCommands {
		c := &adminCommands[i]
		parts := strings.Fields(c.name)
		if len(parts) > len(words) || len(parts) <= n {
			continue
		}
		match := true
		for j, p := range parts {
			if words[j] != p {
				match = false
				break
			}
		}
		if match {
			best, n = c, len(parts)
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, words[n:]
}

func commandList() string {
	var b strings.Builder
	for _, c := range adminCommands {
		fmt.Fprintf(&b, "  %-40s %s\n", strings.TrimSpace(c.name+" "+c.args), c.help)
	}
	return b.String()
}

// flags parses a command's flags from params; the positional arguments
// must number exactly npos (-1: any).
func flags(params []string, npos int, define func(fs *flag.FlagSet)) ([]string, error) {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if define != nil {
		define(fs)
	}
	// Flags may follow positional arguments (coffer admin users create bob --password x).
	var pos []string
	for len(params) > 0 {
		if err := fs.Parse(params); err != nil {
			return nil, usageError{err.Error()}
		}
		params = fs.Args()
		if len(params) > 0 {
			pos = append(pos, params[0])
			params = params[1:]
		}
	}
	if npos >= 0 && len(pos) != npos {
		return nil, usageError{fmt.Sprintf("want %d argument(s), got %d", npos, len(pos))}
	}
	return pos, nil
}

// simple builds a command that sends one request and shows the answer.
func simple(name, args, help, method string, npos int, path func(pos []string) string, listKey string, columns ...string) adminCmd {
	return adminCmd{name: name, args: args, help: help, run: func(cli *adminCLI, params []string) error {
		pos, err := flags(params, npos, nil)
		if err != nil {
			return err
		}
		data, err := cli.call(method, path(pos), nil, "")
		if err != nil {
			return err
		}
		if method == "DELETE" && !cli.asJSON && len(strings.TrimSpace(string(data))) == 0 {
			fmt.Fprintln(cli.stdout, "deleted")
			return nil
		}
		return cli.show(data, listKey, columns...)
	}}
}

// withBody builds a command whose flags make a JSON body.
func withBody(name, args, help, method string, npos int, path func(pos []string) string, body func(fs *flag.FlagSet) func(pos []string) any) adminCmd {
	return adminCmd{name: name, args: args, help: help, run: func(cli *adminCLI, params []string) error {
		var build func(pos []string) any
		pos, err := flags(params, npos, func(fs *flag.FlagSet) { build = body(fs) })
		if err != nil {
			return err
		}
		data, err := cli.call(method, path(pos), build(pos), "")
		if err != nil {
			return err
		}
		return cli.show(data, "")
	}}
}

func p(format string, idx ...int) func(pos []string) string {
	return func(pos []string) string {
		args := make([]any, len(idx))
		for i, n := range idx {
			args[i] = pathEscape(pos[n])
		}
		return fmt.Sprintf(format, args...)
	}
}

func b64key(k string) string { return base64.RawURLEncoding.EncodeToString([]byte(k)) }

var loginCmd = adminCmd{name: "login", args: "[--user NAME] [--password-stdin]", help: "log in and keep the session",
	run: func(cli *adminCLI, params []string) error {
		var user, accessKey string
		var fromStdin bool
		if _, err := flags(params, 0, func(fs *flag.FlagSet) {
			fs.StringVar(&user, "user", os.Getenv("COFFER_ADMIN_USER"), "user name")
			fs.StringVar(&accessKey, "access-key", "", "log in with an access key instead of a user name")
			fs.BoolVar(&fromStdin, "password-stdin", false, "read the password (or secret key) from stdin")
		}); err != nil {
			return err
		}
		if cli.url == "" {
			return usageError{"pass --url (or set COFFER_ADMIN_URL) to name the server"}
		}
		secret := os.Getenv("COFFER_ADMIN_PASSWORD")
		if fromStdin || secret == "" {
			if !fromStdin {
				// The secret is typed in; say what is expected (on stderr,
				// so scripts reading stdout see only the result).
				fmt.Fprint(cli.stderr, "password or secret key: ")
			}
			line, err := bufio.NewReader(cli.stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("reading password: %w", err)
			}
			secret = strings.TrimRight(line, "\r\n")
		}
		body := map[string]string{"username": user, "password": secret}
		if accessKey != "" {
			body = map[string]string{"accessKey": accessKey, "secretKey": secret}
		} else if user == "" {
			return usageError{"pass --user or --access-key"}
		}
		data, err := cli.call("POST", "/api/auth/login", body, "")
		if err != nil {
			return err
		}
		var res struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(data, &res); err != nil || res.Token == "" {
			return fmt.Errorf("login answered no token")
		}
		if err := os.MkdirAll(filepath.Dir(cli.configPath), 0o700); err != nil {
			return err
		}
		saved, _ := json.Marshal(adminConfig{URL: cli.url, Token: res.Token})
		if err := os.WriteFile(cli.configPath, saved, 0o600); err != nil {
			return fmt.Errorf("saving session: %w", err)
		}
		fmt.Fprintln(cli.stdout, "logged in to", cli.url)
		return nil
	}}

var logoutCmd = adminCmd{name: "logout", help: "end the session on the server and forget it",
	run: func(cli *adminCLI, params []string) error {
		if _, err := flags(params, 0, nil); err != nil {
			return err
		}
		if _, err := cli.call("POST", "/api/auth/logout", nil, ""); err != nil {
			return err
		}
		if err := os.Remove(cli.configPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		fmt.Fprintln(cli.stdout, "logged out")
		return nil
	}}

var requestCmd = adminCmd{name: "request", args: "METHOD PATH [JSON]", help: "send any API request (e.g. request GET /api/users)",
	run: func(cli *adminCLI, params []string) error {
		if len(params) < 2 || len(params) > 3 {
			return usageError{"want METHOD PATH [JSON]"}
		}
		var body any
		if len(params) == 3 {
			body = json.RawMessage(params[2])
		}
		data, err := cli.call(strings.ToUpper(params[0]), params[1], body, "")
		if err != nil {
			return err
		}
		return cli.show(data, "")
	}}
