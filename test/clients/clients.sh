#!/usr/bin/env bash
# Drives a running Coffer server with real S3 clients: the aws CLI, s3cmd
# and rclone. Usage: clients.sh aws|s3cmd|rclone|all
#
# Environment (set by clients_test.go):
#   COFFER_ENDPOINT    http://127.0.0.1:PORT of the S3 API
#   COFFER_ACCESS_KEY  root access key
#   COFFER_SECRET_KEY  root secret key
#   WORK               a scratch directory this script may fill
#
# 20m.bin is above the multipart thresholds of the aws CLI (8 MiB) and
# s3cmd (15 MiB), so both upload it in parts.
set -euo pipefail

: "${COFFER_ENDPOINT:?}" "${COFFER_ACCESS_KEY:?}" "${COFFER_SECRET_KEY:?}" "${WORK:?}"
HOSTPORT=${COFFER_ENDPOINT#http://}

step() { printf '\n=== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# expect_eq WHAT GOT WANT
expect_eq() {
	if [[ "$2" != "$3" ]]; then
		fail "$1: got [$2], want [$3]"
	fi
	printf 'ok: %s = %s\n' "$1" "$3"
}

# same FILE1 FILE2: byte-for-byte equality, with both digests on failure.
same() {
	if ! cmp -s "$1" "$2"; then
		sha256sum "$1" "$2" >&2 || true
		fail "$1 and $2 differ"
	fi
	printf 'ok: %s == %s\n' "$1" "$2"
}

# slice FILE OFFSET COUNT prints COUNT bytes of FILE from OFFSET. head
# comes first so no stage exits early and trips pipefail with SIGPIPE.
slice() {
	head -c $(($2 + $3)) "$1" | tail -c "$3"
}

# make_data fills $WORK/files with single files and $WORK/tree with a
# small tree: nested dirs, spaces, unicode, characters that need escaping.
# Every file has distinct content, so no client turns an upload into a
# server-side copy of a duplicate.
make_data() {
	[[ -d $WORK/files ]] && return
	mkdir -p "$WORK/files"
	: >"$WORK/files/empty.bin"
	head -c 1024 /dev/urandom >"$WORK/files/1k.bin"
	head -c $((200 * 1024)) /dev/urandom >"$WORK/files/200k.bin"
	head -c $((5 * 1024 * 1024)) /dev/urandom >"$WORK/files/5m.bin"
	# Above the aws CLI's 8 MiB multipart threshold: a multipart upload of
	# three 8 MiB parts and a ranged, parallel download.
	head -c $((20 * 1024 * 1024 + 12345)) /dev/urandom >"$WORK/files/20m.bin"

	local t="$WORK/tree"
	mkdir -p "$t/a/b/c" "$t/with space/inner dir" "$t/unicodé/日本語" "$t/x"
	head -c 3000 /dev/urandom >"$t/top.bin"
	printf 'hello %s\n' "$RANDOM$RANDOM" >"$t/a/hello.txt"
	head -c 70000 /dev/urandom >"$t/a/b/mid.bin"
	head -c 300000 /dev/urandom >"$t/a/b/c/deep.bin"
	printf 'spaced %s\n' "$RANDOM$RANDOM" >"$t/with space/file name.txt"
	head -c 1500000 /dev/urandom >"$t/with space/inner dir/large one.bin"
	printf 'unicode %s\n' "$RANDOM$RANDOM" >"$t/unicodé/日本語/ファイル.txt"
	printf 'emoji %s\n' "$RANDOM$RANDOM" >"$t/unicodé/😀 smile.txt"
	printf 'plus %s\n' "$RANDOM$RANDOM" >"$t/x/plus+sign=eq&amp.txt"
	printf 'percent %s\n' "$RANDOM$RANDOM" >"$t/x/100% (sure).txt"
}

# tree_keys PREFIX: the keys the tree should become under PREFIX, sorted
# by byte order as S3 lists them.
tree_keys() {
	(cd "$WORK/tree" && find . -type f | sed "s|^\./|$1|") | LC_ALL=C sort
}

run_aws() {
	step "aws: setup"
	command -v aws >/dev/null || fail "aws CLI not on PATH"
	export AWS_CONFIG_FILE="$WORK/aws/config" AWS_SHARED_CREDENTIALS_FILE="$WORK/aws/credentials"
	unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
	export AWS_ACCESS_KEY_ID="$COFFER_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$COFFER_SECRET_KEY"
	export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1
	mkdir -p "$WORK/aws"
	aws configure set default.s3.addressing_style path
	aws --version
	local A=(aws --endpoint-url "$COFFER_ENDPOINT")
	local B=aws-cli-bucket D="$WORK/aws/down"
	mkdir -p "$D"

	step "aws s3 mb"
	"${A[@]}" s3 mb "s3://$B"
	"${A[@]}" s3 ls | grep -q " $B\$" || fail "bucket $B not in aws s3 ls"

	# Checksums: recent CLIs send a CRC32 by default; when_required sends
	# none. The server must accept both.
	local mode f
	for mode in when_supported when_required; do
		for f in empty.bin 1k.bin 200k.bin 5m.bin 20m.bin; do
			step "aws s3 cp up/down $f (checksum $mode)"
			AWS_REQUEST_CHECKSUM_CALCULATION=$mode "${A[@]}" s3 cp --no-progress "$WORK/files/$f" "s3://$B/files/$mode/$f"
			AWS_RESPONSE_CHECKSUM_VALIDATION=$mode "${A[@]}" s3 cp --no-progress "s3://$B/files/$mode/$f" "$D/$mode-$f"
			same "$WORK/files/$f" "$D/$mode-$f"
		done
	done

	step "aws s3 cp from stdin and to stdout"
	"${A[@]}" s3 cp --no-progress - "s3://$B/files/stdin.bin" <"$WORK/files/200k.bin"
	"${A[@]}" s3 cp --no-progress "s3://$B/files/stdin.bin" - >"$D/stdout.bin"
	same "$WORK/files/200k.bin" "$D/stdout.bin"

	step "aws s3 sync up"
	"${A[@]}" s3 sync --no-progress "$WORK/tree" "s3://$B/tree/"
	step "aws s3 sync up again uploads nothing"
	local again
	again=$("${A[@]}" s3 sync --no-progress "$WORK/tree" "s3://$B/tree/")
	expect_eq "second sync output" "$again" ""
	step "aws s3 sync down"
	"${A[@]}" s3 sync --no-progress "s3://$B/tree/" "$D/tree"
	diff -r "$WORK/tree" "$D/tree"
	echo "ok: synced tree matches"

	step "aws s3 ls --recursive"
	local listed
	listed=$("${A[@]}" s3 ls --recursive "s3://$B/tree/" | sed -E 's/^[0-9-]+ [0-9:]+ +[0-9]+ //' | LC_ALL=C sort)
	expect_eq "recursive listing" "$listed" "$(tree_keys tree/)"

	step "aws s3api put-object / head-object"
	local obj="$WORK/files/200k.bin" key="api/dir/object one.bin" etag
	etag=$("${A[@]}" s3api put-object --bucket "$B" --key "$key" --body "$obj" \
		--content-type application/x-test --metadata color=blue --query ETag --output text)
	expect_eq "put-object ETag" "$etag" "\"$(md5sum <"$obj" | cut -d' ' -f1)\""
	local head
	head=$("${A[@]}" s3api head-object --bucket "$B" --key "$key" \
		--query '[ContentLength, ETag, ContentType, Metadata.color]' --output text)
	expect_eq "head-object" "$head" "$(stat -c %s "$obj")	$etag	application/x-test	blue"

	step "aws s3api get-object --range"
	local cr
	cr=$("${A[@]}" s3api get-object --bucket "$B" --key "$key" --range bytes=1000-66535 \
		--query '[ContentRange, ContentLength]' --output text "$D/range.bin")
	expect_eq "get-object range headers" "$cr" "bytes 1000-66535/$(stat -c %s "$obj")	65536"
	slice "$obj" 1000 65536 >"$D/range.want"
	same "$D/range.want" "$D/range.bin"
	cr=$("${A[@]}" s3api get-object --bucket "$B" --key "$key" --range bytes=-100 \
		--query ContentRange --output text "$D/suffix.bin")
	expect_eq "get-object suffix range" "$cr" "bytes $(($(stat -c %s "$obj") - 100))-$(($(stat -c %s "$obj") - 1))/$(stat -c %s "$obj")"
	tail -c 100 "$obj" >"$D/suffix.want"
	same "$D/suffix.want" "$D/suffix.bin"
	"${A[@]}" s3api get-object --bucket "$B" --key "$key" "$D/whole.bin" >/dev/null
	same "$obj" "$D/whole.bin"

	step "aws s3api head-object of a missing key fails with 404"
	local err
	if err=$("${A[@]}" s3api head-object --bucket "$B" --key "api/missing" 2>&1); then
		fail "head-object of a missing key succeeded: $err"
	fi
	[[ $err == *"404"* ]] || fail "head-object of a missing key: want 404, got: $err"
	echo "ok: $err"

	step "aws s3api list-objects-v2 --delimiter"
	local prefixes contents
	prefixes=$("${A[@]}" s3api list-objects-v2 --bucket "$B" --prefix tree/ --delimiter / \
		--query 'CommonPrefixes[].Prefix' --output text | tr '\t' '\n' | LC_ALL=C sort)
	expect_eq "common prefixes" "$prefixes" "$(printf '%s\n' tree/a/ tree/unicodé/ tree/with\ space/ tree/x/ | LC_ALL=C sort)"
	contents=$("${A[@]}" s3api list-objects-v2 --bucket "$B" --prefix tree/ --delimiter / \
		--query 'Contents[].Key' --output text)
	expect_eq "keys at tree/ level" "$contents" "tree/top.bin"
	prefixes=$("${A[@]}" s3api list-objects-v2 --bucket "$B" --prefix "tree/unicodé/" --delimiter / \
		--query 'CommonPrefixes[].Prefix' --output text)
	expect_eq "unicode common prefix" "$prefixes" "tree/unicodé/日本語/"
	# Paging through the tree two keys at a time must give every key once.
	local paged
	paged=$("${A[@]}" s3api list-objects-v2 --bucket "$B" --prefix tree/ --page-size 2 \
		--query 'Contents[].Key' --output text | tr '\t' '\n' | LC_ALL=C sort)
	expect_eq "paged listing" "$paged" "$(tree_keys tree/)"

	step "aws s3api delete-objects"
	local deleted
	deleted=$("${A[@]}" s3api delete-objects --bucket "$B" \
		--delete '{"Objects":[{"Key":"tree/top.bin"},{"Key":"tree/a/hello.txt"},{"Key":"tree/never-existed"}]}' \
		--query 'Deleted[].Key' --output text | tr '\t' '\n' | LC_ALL=C sort)
	expect_eq "delete-objects Deleted" "$deleted" "$(printf '%s\n' tree/a/hello.txt tree/never-existed tree/top.bin)"
	listed=$("${A[@]}" s3 ls --recursive "s3://$B/tree/" | sed -E 's/^[0-9-]+ [0-9:]+ +[0-9]+ //' | LC_ALL=C sort)
	expect_eq "listing after delete-objects" "$listed" "$(tree_keys tree/ | grep -v -e '^tree/top.bin$' -e '^tree/a/hello.txt$')"

	step "aws s3 rb of a non-empty bucket fails"
	if err=$("${A[@]}" s3 rb "s3://$B" 2>&1); then
		fail "rb of a non-empty bucket succeeded: $err"
	fi
	[[ $err == *BucketNotEmpty* ]] || fail "rb of a non-empty bucket: want BucketNotEmpty, got: $err"
	echo "ok: $err"

	step "aws s3 rm --recursive"
	"${A[@]}" s3 rm --recursive "s3://$B/"
	listed=$("${A[@]}" s3 ls --recursive "s3://$B/")
	expect_eq "listing after rm --recursive" "$listed" ""

	step "aws s3 rb"
	"${A[@]}" s3 rb "s3://$B"
	if "${A[@]}" s3 ls | grep -q " $B\$"; then
		fail "bucket $B still listed after rb"
	fi
	echo "ok: bucket removed"
}

run_s3cmd() {
	step "s3cmd: setup"
	command -v s3cmd >/dev/null || fail "s3cmd not on PATH"
	local cfg="$WORK/s3cmd.cfg"
	cat >"$cfg" <<EOF
[default]
access_key = $COFFER_ACCESS_KEY
secret_key = $COFFER_SECRET_KEY
host_base = $HOSTPORT
host_bucket = $HOSTPORT
use_https = False
signature_v2 = False
bucket_location = us-east-1
check_ssl_certificate = False
EOF
	local S=(s3cmd -c "$cfg" --no-progress)
	local B=s3cmd-bucket D="$WORK/s3cmd/down"
	mkdir -p "$D"
	s3cmd --version

	step "s3cmd mb"
	"${S[@]}" mb "s3://$B"
	"${S[@]}" ls | grep -q "s3://$B\$" || fail "bucket $B not in s3cmd ls"

	local f
	for f in empty.bin 1k.bin 200k.bin 5m.bin 20m.bin; do
		step "s3cmd put/get $f"
		"${S[@]}" put "$WORK/files/$f" "s3://$B/files/$f"
		"${S[@]}" get "s3://$B/files/$f" "$D/$f"
		same "$WORK/files/$f" "$D/$f"
	done

	step "s3cmd sync up"
	"${S[@]}" sync "$WORK/tree/" "s3://$B/tree/"
	step "s3cmd sync up again transfers nothing"
	local again
	again=$("${S[@]}" sync --stats "$WORK/tree/" "s3://$B/tree/")
	echo "$again"
	[[ $again == *"Done. Uploaded 0 bytes"* ]] || fail "second s3cmd sync uploaded data"
	step "s3cmd sync down"
	"${S[@]}" sync "s3://$B/tree/" "$D/tree/"
	diff -r "$WORK/tree" "$D/tree"
	echo "ok: synced tree matches"

	step "s3cmd ls -r"
	local listed
	listed=$("${S[@]}" ls -r "s3://$B/tree/" | sed -E "s|^.*s3://$B/||" | LC_ALL=C sort)
	expect_eq "recursive listing" "$listed" "$(tree_keys tree/)"

	step "s3cmd info"
	"${S[@]}" info "s3://$B/files/200k.bin" | tee "$WORK/s3cmd/info"
	grep -q "MD5 sum: *$(md5sum <"$WORK/files/200k.bin" | cut -d' ' -f1)" "$WORK/s3cmd/info" || fail "s3cmd info shows the wrong MD5"

	step "s3cmd del -r"
	"${S[@]}" del -r --force "s3://$B/"
	listed=$("${S[@]}" ls -r "s3://$B/")
	expect_eq "listing after del -r" "$listed" ""

	step "s3cmd rb"
	"${S[@]}" rb "s3://$B"
	if "${S[@]}" ls | grep -q "s3://$B\$"; then
		fail "bucket $B still listed after rb"
	fi
	echo "ok: bucket removed"

	# Older setups sign with Signature V2: the same operations must work,
	# including a multipart upload (20m.bin is above s3cmd's threshold).
	local V=(s3cmd -c "$cfg" --no-progress --signature-v2)
	local B2=s3cmd-sigv2
	step "s3cmd --signature-v2 mb/put/get/ls/del/rb"
	"${V[@]}" mb "s3://$B2"
	local f
	for f in 1k.bin 20m.bin; do
		"${V[@]}" put "$WORK/files/$f" "s3://$B2/v2/$f"
		"${V[@]}" get "s3://$B2/v2/$f" "$D/v2-$f"
		same "$WORK/files/$f" "$D/v2-$f"
	done
	listed=$("${V[@]}" ls -r "s3://$B2/" | awk '{print $4}' | LC_ALL=C sort | tr '\n' ' ')
	expect_eq "signature-v2 listing" "$listed" "s3://$B2/v2/1k.bin s3://$B2/v2/20m.bin "
	"${V[@]}" del -r --force "s3://$B2/"
	"${V[@]}" rb "s3://$B2"
	echo "ok: signature v2"
}

run_rclone() {
	step "rclone: setup"
	command -v rclone >/dev/null || fail "rclone not on PATH"
	export RCLONE_CONFIG="$WORK/rclone.conf"
	: >"$RCLONE_CONFIG"
	export RCLONE_CONFIG_COFFER_TYPE=s3 RCLONE_CONFIG_COFFER_PROVIDER=Other
	export RCLONE_CONFIG_COFFER_ENDPOINT="$COFFER_ENDPOINT" RCLONE_CONFIG_COFFER_REGION=us-east-1
	export RCLONE_CONFIG_COFFER_ACCESS_KEY_ID="$COFFER_ACCESS_KEY" RCLONE_CONFIG_COFFER_SECRET_ACCESS_KEY="$COFFER_SECRET_KEY"
	export RCLONE_CONFIG_COFFER_FORCE_PATH_STYLE=true
	# Debian's rclone fails every call when AWS_CA_BUNDLE is set (NOTES.md).
	# One retry only, so a server error is not papered over.
	local R=(env -u AWS_CA_BUNDLE rclone --retries 1 --low-level-retries 1)
	local B=rclone-bucket D="$WORK/rclone/down"
	mkdir -p "$D"
	"${R[@]}" version | sed -n 1p

	step "rclone mkdir"
	"${R[@]}" mkdir "coffer:$B"
	"${R[@]}" lsd coffer: | grep -q " $B\$" || fail "bucket $B not in rclone lsd"

	step "rclone copy tree up"
	"${R[@]}" copy "$WORK/tree" "coffer:$B/tree"
	"${R[@]}" copy "$WORK/files" "coffer:$B/files"

	step "rclone lsf -R"
	local listed
	listed=$("${R[@]}" lsf -R --files-only "coffer:$B/tree" | sed 's|^|tree/|' | LC_ALL=C sort)
	expect_eq "recursive listing" "$listed" "$(tree_keys tree/)"
	"${R[@]}" ls "coffer:$B"

	step "rclone check (sizes and MD5s)"
	"${R[@]}" check "$WORK/tree" "coffer:$B/tree"
	"${R[@]}" check "$WORK/files" "coffer:$B/files"

	step "rclone copy down"
	"${R[@]}" copy "coffer:$B/tree" "$D/tree"
	"${R[@]}" copy "coffer:$B/files" "$D/files"
	diff -r "$WORK/tree" "$D/tree"
	diff -r "$WORK/files" "$D/files"
	echo "ok: copied trees match"

	step "rclone cat with offset and count"
	"${R[@]}" cat --offset 4096 --count 10000 "coffer:$B/files/200k.bin" >"$D/part.bin"
	slice "$WORK/files/200k.bin" 4096 10000 >"$D/part.want"
	same "$D/part.want" "$D/part.bin"

	step "rclone delete"
	"${R[@]}" delete "coffer:$B"
	listed=$("${R[@]}" lsf -R "coffer:$B")
	expect_eq "listing after delete" "$listed" ""

	step "rclone rmdir"
	"${R[@]}" rmdir "coffer:$B"
	if "${R[@]}" lsd coffer: | grep -q " $B\$"; then
		fail "bucket $B still listed after rmdir"
	fi
	echo "ok: bucket removed"
}

make_data
case "${1:-all}" in
aws) run_aws ;;
s3cmd) run_s3cmd ;;
rclone) run_rclone ;;
all)
	run_aws
	run_s3cmd
	run_rclone
	;;
*) fail "unknown client ${1}: want aws, s3cmd, rclone or all" ;;
esac
step "PASS ${1:-all}"
