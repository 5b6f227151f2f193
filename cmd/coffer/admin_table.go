package main

import (
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"os"
	"path"
	"strings"
	"time"
)

// adminCommands lists every coffer admin command.
var adminCommands = []adminCmd{
	loginCmd,
	logoutCmd,
	simple("whoami", "", "show who the session belongs to", "GET", 0, p("/api/auth/me"), ""),

	simple("users list", "", "list users", "GET", 0, p("/api/users"), "users", "name", "status", "groups", "policies", "createdAt"),
	withBody("users create", "NAME [--password P] [--policy P,...] [--group G,...]", "create a user", "POST", 1, p("/api/users"), func(fs *flag.FlagSet) func([]string) any {
		pw := fs.String("password", "", "console password (optional)")
		pol := fs.String("policy", "", "comma-separated policies to attach")
		grp := fs.String("group", "", "comma-separated groups to join")
		return func(pos []string) any {
			return map[string]any{"name": pos[0], "password": *pw, "policies": list(*pol), "groups": list(*grp)}
		}
	}),
	simple("users show", "NAME", "show a user", "GET", 1, p("/api/users/%s", 0), ""),
	simple("users delete", "NAME", "delete a user (it must own no buckets)", "DELETE", 1, p("/api/users/%s", 0), ""),
	withBody("users enable", "NAME", "enable a user", "PATCH", 1, p("/api/users/%s", 0), status("enabled")),
	withBody("users disable", "NAME", "disable a user: its keys, sessions and tokens stop working", "PATCH", 1, p("/api/users/%s", 0), status("disabled")),
	withBody("users password", "NAME --password P", "set a user's console password", "PATCH", 1, p("/api/users/%s", 0), func(fs *flag.FlagSet) func([]string) any {
		pw := fs.String("password", "", "the new password")
		cur := fs.String("current", "", "your current password (when changing your own)")
		return func([]string) any { return map[string]any{"password": *pw, "currentPassword": *cur} }
	}),
	simple("users attach", "USER POLICY", "attach a policy to a user", "POST", 2, p("/api/users/%s/policies/%s", 0, 1), ""),
	simple("users detach", "USER POLICY", "detach a policy from a user", "DELETE", 2, p("/api/users/%s/policies/%s", 0, 1), ""),

	simple("groups list", "", "list groups", "GET", 0, p("/api/groups"), "groups", "name", "members", "policies"),
	withBody("groups create", "NAME [--policy P,...]", "create a group", "POST", 1, p("/api/groups"), func(fs *flag.FlagSet) func([]string) any {
		pol := fs.String("policy", "", "comma-separated policies to attach")
		return func(pos []string) any { return map[string]any{"name": pos[0], "policies": list(*pol)} }
	}),
	simple("groups delete", "NAME", "delete a group", "DELETE", 1, p("/api/groups/%s", 0), ""),
	simple("groups add", "GROUP USER", "add a user to a group", "POST", 2, p("/api/groups/%s/members/%s", 0, 1), ""),
	simple("groups remove", "GROUP USER", "remove a user from a group", "DELETE", 2, p("/api/groups/%s/members/%s", 0, 1), ""),
	simple("groups attach", "GROUP POLICY", "attach a policy to a group", "POST", 2, p("/api/groups/%s/policies/%s", 0, 1), ""),
	simple("groups detach", "GROUP POLICY", "detach a policy from a group", "DELETE", 2, p("/api/groups/%s/policies/%s", 0, 1), ""),

	simple("keys list", "USER", "list a user's access keys", "GET", 1, p("/api/users/%s/keys", 0), "keys"),
	withBody("keys create", "USER [--access-key K --secret-key S] [--description D] [--expires 720h]", "create an access key (the secret is shown once)", "POST", 1, p("/api/users/%s/keys", 0), func(fs *flag.FlagSet) func([]string) any {
		ak := fs.String("access-key", "", "custom access key id")
		sk := fs.String("secret-key", "", "custom secret")
		desc := fs.String("description", "", "what the key is for")
		exp := fs.Duration("expires", 0, "lifetime, e.g. 720h (default: never)")
		return func([]string) any {
			body := map[string]any{"accessKey": *ak, "secretKey": *sk, "description": *desc}
			if *exp > 0 {
				body["expiresIn"] = int64(exp.Seconds())
			}
			return body
		}
	}),
	withBody("keys disable", "ACCESS_KEY", "deactivate an access key", "PATCH", 1, p("/api/keys/%s", 0), active(false)),
	withBody("keys enable", "ACCESS_KEY", "reactivate an access key", "PATCH", 1, p("/api/keys/%s", 0), active(true)),
	simple("keys delete", "ACCESS_KEY", "delete an access key", "DELETE", 1, p("/api/keys/%s", 0), ""),

	simple("policies list", "", "list policies (built-in and custom)", "GET", 0, p("/api/policies"), "policies", "name", "builtin"),
	simple("policies show", "NAME", "show a policy document", "GET", 1, p("/api/policies/%s", 0), ""),
	{name: "policies create", args: "NAME FILE", help: "create a policy from an IAM JSON document", run: policyFromFile("POST", false)},
	{name: "policies update", args: "NAME FILE", help: "replace a policy's document", run: policyFromFile("PUT", true)},
	simple("policies delete", "NAME", "delete a policy (it must be detached)", "DELETE", 1, p("/api/policies/%s", 0), ""),

	simple("tokens list", "", "list your API tokens", "GET", 0, p("/api/tokens"), "tokens"),
	withBody("tokens create", "NAME [--expires 720h]", "create an API token (shown once)", "POST", 1, p("/api/tokens"), func(fs *flag.FlagSet) func([]string) any {
		exp := fs.Duration("expires", 0, "lifetime (default: never)")
		return func(pos []string) any {
			body := map[string]any{"name": pos[0]}
			if *exp > 0 {
				body["expiresIn"] = int64(exp.Seconds())
			}
			return body
		}
	}),
	simple("tokens revoke", "ID", "revoke an API token", "DELETE", 1, p("/api/tokens/%s", 0), ""),

	simple("buckets list", "", "list buckets with their usage", "GET", 0, p("/api/buckets"), "buckets", "name", "owner", "objectCount", "totalSizeHuman", "versioning", "creationDate"),
	withBody("buckets create", "NAME [--versioning] [--object-lock]", "create a bucket", "POST", 1, p("/api/buckets"), func(fs *flag.FlagSet) func([]string) any {
		v := fs.Bool("versioning", false, "enable versioning")
		l := fs.Bool("object-lock", false, "enable object lock (implies versioning)")
		return func(pos []string) any { return map[string]any{"name": pos[0], "versioning": *v, "objectLock": *l} }
	}),
	simple("buckets show", "NAME", "show a bucket and its settings", "GET", 1, func(pos []string) string { return "/api/buckets/" + pathEscape(pos[0]) + "?objects=0" }, ""),
	{name: "buckets delete", args: "NAME [--force]", help: "delete a bucket; --force empties it first", run: func(cli *adminCLI, params []string) error {
		var force bool
		pos, err := flags(params, 1, func(fs *flag.FlagSet) { fs.BoolVar(&force, "force", false, "delete every version and upload first") })
		if err != nil {
			return err
		}
		q := ""
		if force {
			q = "?force=true"
		}
		if _, err := cli.call("DELETE", "/api/buckets/"+pathEscape(pos[0])+q, nil, ""); err != nil {
			return err
		}
		fmt.Fprintln(cli.stdout, "deleted", pos[0])
		return nil
	}},

	{name: "objects list", args: "BUCKET [PREFIX] [--search TEXT]", help: "list a folder, or search by name", run: listObjects},
	{name: "objects put", args: "BUCKET KEY FILE", help: "upload a file", run: putObject},
	{name: "objects get", args: "BUCKET KEY FILE", help: "download an object into FILE (- for stdout)", run: getObject},
	simple("objects show", "BUCKET KEY", "show an object's metadata, tags and versions", "GET", 2, func(pos []string) string {
		return "/api/objects/detail/" + pathEscape(pos[0]) + "/" + b64key(pos[1])
	}, ""),
	simple("objects delete", "BUCKET KEY", "delete an object (a KEY ending in / deletes the folder)", "DELETE", 2, func(pos []string) string {
		return "/api/objects/" + pathEscape(pos[0]) + "/" + b64key(pos[1])
	}, "deleted"),

	simple("shares list", "", "list share links", "GET", 0, p("/api/presigned-urls"), "urls", "id", "bucket_name", "object_key", "method", "expires_at"),
	{name: "shares create", args: "BUCKET KEY [--method GET] [--expires 24h]", help: "make a share link (presigned URL you can revoke)", run: func(cli *adminCLI, params []string) error {
		var method string
		var exp time.Duration
		pos, err := flags(params, 2, func(fs *flag.FlagSet) {
			fs.StringVar(&method, "method", "GET", "GET, PUT or DELETE")
			fs.DurationVar(&exp, "expires", 24*time.Hour, "lifetime, 1s to 168h")
		})
		if err != nil {
			return err
		}
		data, err := cli.call("POST", "/api/presigned-urls", map[string]any{"bucket_name": pos[0], "object_key": pos[1],
			"method": strings.ToUpper(method), "expires_in": int64(exp.Seconds())}, "")
		if err != nil {
			return err
		}
		return cli.show(data, "")
	}},
	simple("shares revoke", "ID", "revoke a share link at once", "DELETE", 1, p("/api/presigned-urls/%s", 0), ""),

	simple("stats", "", "show server statistics", "GET", 0, p("/api/stats"), ""),
	requestCmd,
}

func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func status(s string) func(*flag.FlagSet) func([]string) any {
	return func(*flag.FlagSet) func([]string) any {
		return func([]string) any { return map[string]any{"status": s} }
	}
}

func active(on bool) func(*flag.FlagSet) func([]string) any {
	return func(*flag.FlagSet) func([]string) any {
		return func([]string) any { return map[string]any{"active": on} }
	}
}

func policyFromFile(method string, update bool) func(cli *adminCLI, params []string) error {
	return func(cli *adminCLI, params []string) error {
		pos, err := flags(params, 2, nil)
		if err != nil {
			return err
		}
		doc, err := os.ReadFile(pos[1])
		if err != nil {
			return err
		}
		body := map[string]any{"document": rawJSON(doc)}
		path := "/api/policies"
		if update {
			path += "/" + pathEscape(pos[0])
		} else {
			body["name"] = pos[0]
		}
		data, err := cli.call(method, path, body, "")
		if err != nil {
			return err
		}
		return cli.show(data, "")
	}
}

func listObjects(cli *adminCLI, params []string) error {
	var search string
	pos, err := flags(params, -1, func(fs *flag.FlagSet) { fs.StringVar(&search, "search", "", "find keys containing TEXT") })
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageError{"want BUCKET [PREFIX]"}
	}
	q := url.Values{}
	if len(pos) == 2 {
		q.Set("prefix", pos[1])
	}
	if search != "" {
		q.Set("q", search)
		q.Set("mode", "contains")
		q.Set("delimiter", "") // search the whole prefix, not one folder level
	}
	data, err := cli.call("GET", "/api/objects/"+pathEscape(pos[0])+"?"+q.Encode(), nil, "")
	if err != nil {
		return err
	}
	return cli.show(data, "objects", "Key", "Size", "LastModified", "ETag")
}

func putObject(cli *adminCLI, params []string) error {
	pos, err := flags(params, 3, nil)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[2])
	if err != nil {
		return err
	}
	defer f.Close()
	// Stream the form: the file is never held in memory.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", path.Base(pos[2]))
		if err == nil {
			_, err = io.Copy(part, f)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	data, err := cli.call("POST", "/api/objects/upload/"+pathEscape(pos[0])+"/"+b64key(pos[1]), pr, mw.FormDataContentType())
	if err != nil {
		return err
	}
	return cli.show(data, "")
}

func getObject(cli *adminCLI, params []string) error {
	pos, err := flags(params, 3, nil)
	if err != nil {
		return err
	}
	res, err := cli.send("GET", "/api/objects/download/"+pathEscape(pos[0])+"/"+b64key(pos[1]), nil, "")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		data, _ := io.ReadAll(res.Body)
		e := &apiError{Status: res.StatusCode}
		_ = jsonUnmarshal(data, e)
		return e
	}
	var out io.Writer = cli.stdout
	if pos[2] != "-" {
		f, err := os.Create(pos[2])
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	n, err := io.Copy(out, res.Body)
	if err != nil {
		return fmt.Errorf("downloading: %w", err)
	}
	if pos[2] != "-" {
		fmt.Fprintf(cli.stdout, "downloaded %d bytes to %s\n", n, pos[2])
	}
	return nil
}
