# Sourced by the engram-cli test scripts: `expect <code> <text in output> <args...>` runs "$cli" with the
# args and counts a pass when it exits with <code> and its output holds <text>, a failure (shown) otherwise.
fail=0; pass=0
expect() {
  local code=$1 text=$2; shift 2
  local output; output=$("$cli" "$@" 2>&1); local rc=$?
  if [ $rc -ne "$code" ] || ! grep -qF -- "$text" <<<"$output"; then
    echo "FAIL: engram-cli $* -> exit $rc (expected $code, text '$text')"; echo "$output" | head -5; fail=$((fail+1))
  else pass=$((pass+1)); fi
}
