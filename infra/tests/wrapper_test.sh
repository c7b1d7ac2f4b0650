#!/usr/bin/env bash
# Tests of infra/terraform/tf with stand-in terraform and aws commands:
# the .env checks, the state key per environment and sandbox owner, the
# saved-plan apply, the variable file and data directory per environment,
# and the prod confirmation. Nothing reaches AWS.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wrapper="$here/../terraform/tf"
work="$(mktemp -d)"
trap 'rm -rf "$work"; rm -rf "$here/../terraform/.plans"' EXIT

mkdir -p "$work/bin"
cat > "$work/bin/terraform" <<'STUB'
#!/usr/bin/env bash
echo "terraform $* data_dir=${TF_DATA_DIR:-}" >> "$STUB_LOG"
for arg in "$@"; do
  case "$arg" in -out=*) touch "${arg#-out=}" ;; esac
done
STUB
cat > "$work/bin/aws" <<'STUB'
#!/usr/bin/env bash
echo "${STUB_ACCOUNT:-123456789012}"
STUB
chmod +x "$work/bin/terraform" "$work/bin/aws"
export PATH="$work/bin:$PATH" STUB_LOG="$work/log" TF_ENV_FILE="$work/.env"

passed=0
fail() { echo "wrapper_test: FAIL: $*" >&2; exit 1; }
ok() { passed=$((passed + 1)); }
write_env() {
  printf 'AWS_ACCOUNT_ID=123456789012\nAWS_REGION=eu-west-1\nENVIRONMENT=%s\nTF_STATE_BUCKET=acme-tfstate\nBUCKET_PREFIX=acme-userhub\n' "$1" > "$TF_ENV_FILE"
}

# No .env: refused before terraform runs.
: > "$STUB_LOG"
if "$wrapper" plan 2>"$work/err"; then fail "ran without .env"; fi
grep -q "is missing" "$work/err" || fail "no message about the missing .env"
[[ ! -s "$STUB_LOG" ]] || fail "terraform ran without .env"; ok

# A malformed account id is refused.
write_env staging; sed -i 's/^AWS_ACCOUNT_ID=.*/AWS_ACCOUNT_ID=12345/' "$TF_ENV_FILE"
if "$wrapper" init 2>"$work/err"; then fail "accepted a 5-digit account"; fi
grep -q "12 digits" "$work/err" || fail "no message about the account id"; ok

# Credentials of another account are refused.
write_env staging
if STUB_ACCOUNT=999999999999 "$wrapper" init 2>"$work/err"; then fail "accepted foreign credentials"; fi
grep -q "belong to account 999999999999" "$work/err" || fail "no message about the account mismatch"; ok

# staging: the one root module with envs/staging.tfvars, state key
# envs/staging, its own data directory, names userhub-staging.
: > "$STUB_LOG"
"$wrapper" init >/dev/null
grep -q -- "-chdir=.*/terraform init .*data_dir=.*/terraform/.terraform/staging$" "$STUB_LOG" || fail "init not in the root module with the staging data directory"
grep -q "key=envs/staging/terraform.tfstate" "$STUB_LOG" || fail "staging state key"
"$wrapper" plan >/dev/null
grep -q -- "plan .*-var-file=.*/envs/staging.tfvars .*data_dir=.*/.terraform/staging$" "$STUB_LOG" || fail "staging plan without envs/staging.tfvars"
grep -q "name=userhub-staging" "$STUB_LOG" || fail "staging name"; ok

# sandbox: the staging code, a private state and names per developer.
write_env sandbox; : > "$STUB_LOG"
SANDBOX_OWNER=alice "$wrapper" init >/dev/null
grep -q "key=sandbox/alice/terraform.tfstate" "$STUB_LOG" || fail "sandbox state key"
SANDBOX_OWNER=alice "$wrapper" plan >/dev/null
grep -q "name=userhub-sbx-alice" "$STUB_LOG" || fail "sandbox name"
grep -q "force_destroy=true" "$STUB_LOG" || fail "sandbox buckets not destroyable"
grep -q -- "plan .*-var-file=.*/envs/staging.tfvars .*data_dir=.*/.terraform/sandbox-alice$" "$STUB_LOG" || fail "sandbox is not staging's variables in a private data directory"; ok

# prod: apply needs a saved plan, then refuses without confirmation.
write_env prod; : > "$STUB_LOG"
if "$wrapper" apply </dev/null 2>"$work/err"; then fail "applied without a plan"; fi
grep -q "run 'tf plan' first" "$work/err" || fail "no message about the missing plan"
"$wrapper" plan >/dev/null
grep -q -- "plan .*-var-file=.*/envs/prod.tfvars .*data_dir=.*/.terraform/prod$" "$STUB_LOG" || fail "prod plan without envs/prod.tfvars and its data directory"
! grep -q "staging" "$STUB_LOG" || fail "a prod command touched staging's variables or data"
if "$wrapper" apply </dev/null 2>"$work/err"; then fail "applied prod without confirmation"; fi
grep -q "refusing to apply prod" "$work/err" || fail "no refusal message"
! grep -q " apply " "$STUB_LOG" || fail "terraform apply ran for prod without confirmation"
if CONFIRM_PROD=000000000000 "$wrapper" destroy </dev/null 2>"$work/err"; then fail "wrong confirmation accepted"; fi
CONFIRM_PROD=123456789012 "$wrapper" apply </dev/null >/dev/null
grep -q " apply -input=false .*prod.tfplan" "$STUB_LOG" || fail "confirmed apply did not apply the saved plan"; ok

echo "wrapper_test: $passed scenarios passed"
